"""Students: small models initialised from a config (the demo) or pretrained checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compress_distill.models import DEFAULT_ALPHABET, build_char_tokenizer


def load_tokenizer(path: str | Path) -> Any:
    """A saved tokenizer. The fast class loads in a quarter of AutoTokenizer's time, which adds up
    over many short jobs; slow-only tokenizers (no tokenizer.json) fall back to AutoTokenizer."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if (Path(path) / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(path)
    return AutoTokenizer.from_pretrained(path)


def with_local_model(student: dict[str, Any], local_model: Any) -> dict[str, Any]:
    """The student's entry with `model` pointing at the folder the workflow resolved (the rule's
    `model` input, empty for from_config students and hub ids)."""
    return student | {"model": str(local_model)} if local_model else student


def save_student_tokenizer(student: dict[str, Any], out_dir: str | Path) -> Any:
    """The student's tokenizer, saved to out_dir: built here (from_config) or the checkpoint's."""
    if student["kind"] == "from_config":
        return build_char_tokenizer(DEFAULT_ALPHABET, out_dir)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(student["model"])
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def pretrain_texts(path: str | Path) -> list[str]:
    """Task-neutral text for a from_config student's brief pretraining: each record's question and
    worked solution (GSM8K's fields), real English math in another format than the demo's task."""
    from compress_distill.io import iter_jsonl, require_fields

    texts = []
    for lineno, record in iter_jsonl(path):
        require_fields(record, ("question", "answer"), f"{path}:{lineno}")
        texts.append(f"{record['question']}\n{record['answer']}")
    return texts
