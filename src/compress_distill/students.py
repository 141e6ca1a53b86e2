"""Students: small models initialised from a config (the demo) or pretrained checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compress_distill.models import DEFAULT_ALPHABET, build_char_tokenizer


def save_student_tokenizer(student: dict[str, Any], out_dir: str | Path) -> Any:
    """The student's tokenizer, saved to out_dir: built locally (from_config) or the checkpoint's."""
    if student["kind"] == "from_config":
        return build_char_tokenizer(DEFAULT_ALPHABET, out_dir)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(student["model"])
    tokenizer.save_pretrained(out_dir)
    return tokenizer
