"""A student's base model, the one all its runs start from (rule base_model).

kind from_config: a random tiny Llama with the student's tokenizer, optionally pretrained briefly
as a plain causal LM so that LoRA adapts a model that already knows the characters. kind
pretrained: the checkpoint copied into the results, so adapters and evaluation refer to a local
folder whose weights can be hashed. Either way the folder appears all at once, with
base_metrics.json.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress_distill.io import iter_jsonl, partial_dir, publish_dir, require_fields, write_json
from compress_distill.students.tiny_llama import build_tiny_llama
from compress_distill.students.tokenizers import load_tokenizer
from compress_distill.training.records import library_versions, peak_memory, weights_sha256

ARCHITECTURE_KEYS = (
    "hidden_size",
    "num_layers",
    "num_heads",
    "intermediate_size",
    "max_position_embeddings",
)
PRETRAIN_KEYS = ("steps", "learning_rate", "batch_size", "max_length")


@dataclass(frozen=True)
class PretrainSettings:
    """Brief plain causal-LM pretraining of a from-config student on task-neutral text."""

    steps: int
    learning_rate: float = 1e-3
    batch_size: int = 1  # packed rows of max_length tokens each
    max_length: int = 1024

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PretrainSettings:
        unknown = sorted(set(config) - set(PRETRAIN_KEYS))
        if unknown:
            raise ValueError(
                f"unknown pretrain setting(s) {unknown}; valid settings: {list(PRETRAIN_KEYS)}"
            )
        if "steps" not in config:
            raise ValueError("pretrain settings need 'steps'")
        values = dict(config)
        if isinstance(values.get("learning_rate"), str):
            values["learning_rate"] = float(values["learning_rate"])
        return cls(**values)


def gsm8k_texts(path: str | Path) -> list[str]:
    """Task-neutral text for a from_config student's brief pretraining: each record's question and
    worked solution (GSM8K's fields), real English math in another format than the demo's task."""
    texts = []
    for lineno, record in iter_jsonl(path):
        require_fields(record, ("question", "answer"), f"{path}:{lineno}")
        texts.append(f"{record['question']}\n{record['answer']}")
    return texts


def load_causal_lm(path: str | Path) -> Any:
    """A saved model in float32: mixed precision (bf16 autocast) keeps float32 master weights."""
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)


def build_base_model(
    student: Mapping[str, Any],
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    pretrain_texts: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The student's base model, saved to out_dir (atomically) with base_metrics.json.

    kind "from_config": a random tiny Llama (student["architecture"]: hidden_size, num_layers,
    num_heads, intermediate_size, max_position_embeddings; seed 0) with the tokenizer of
    tokenizer_dir, then, when student["pretrain"] is given, pretrained briefly as a plain causal LM
    on `pretrain_texts`, so LoRA adapts a model that already knows the characters.
    kind "pretrained": student["model"] (hub id or folder) copied to out_dir in its own dtype, so
    adapters and evaluation refer to a local folder whose weights can be hashed.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    tmp = partial_dir(out_dir)
    if tmp.exists():
        shutil.rmtree(tmp)
    tokenizer = load_tokenizer(tokenizer_dir)
    kind = student.get("kind")
    metrics: dict[str, Any] = {"kind": kind}
    if kind == "from_config":
        metrics |= _build_from_config(student, tokenizer, tmp, pretrain_texts)
    elif kind == "pretrained":
        metrics |= _copy_pretrained(student["model"], tokenizer, tmp)
    else:
        raise ValueError(f"student kind must be 'from_config' or 'pretrained', got {kind!r}")
    metrics |= {
        "weights_sha256": weights_sha256(tmp),
        "wall_time_s": time.perf_counter() - started,
        "peak_memory": peak_memory(),
        "versions": library_versions(),
    }
    write_json(tmp / "base_metrics.json", metrics)
    publish_dir(tmp, out_dir)
    return metrics


def _build_from_config(
    student: Mapping[str, Any],
    tokenizer: Any,
    tmp: Path,
    pretrain_texts: Sequence[str] | None,
) -> dict[str, Any]:
    architecture = dict(student.get("architecture") or {})
    unknown = sorted(set(architecture) - set(ARCHITECTURE_KEYS))
    if unknown:
        raise ValueError(
            f"unknown student architecture key(s) {unknown}; valid keys: {list(ARCHITECTURE_KEYS)}"
        )
    build_tiny_llama(tmp, tokenizer, **architecture)
    model = load_causal_lm(tmp)
    metrics: dict[str, Any] = {
        "architecture": architecture,
        "parameters": sum(p.numel() for p in model.parameters()),
        "pretrain": None,
    }
    if student.get("pretrain"):
        if not pretrain_texts:
            raise ValueError("student has 'pretrain' settings but no pretraining texts were given")
        settings = PretrainSettings.from_config(student["pretrain"])
        metrics["pretrain"] = pretrain_causal_lm(model, tokenizer, pretrain_texts, settings, tmp)
    return metrics


def pretrain_causal_lm(
    model: Any, tokenizer: Any, texts: Sequence[str], settings: PretrainSettings, out_dir: Path
) -> dict[str, Any]:
    """Plain causal-LM pretraining of `model`, saved to out_dir: random windows of max_length tokens
    over the texts joined into one stream (EOS between texts), AdamW with warmup and cosine decay.

    A bare loop rather than TRL: SFT machinery (chat formatting, packing with per-example position
    ids, token statistics) costs 8x the step time of this loop on CPU, and pretraining needs none
    of it. Seeded: the same texts and settings give the same weights on the same machine.
    """
    import torch
    from tqdm import tqdm
    from transformers import get_cosine_schedule_with_warmup

    started = time.perf_counter()
    stream: list[int] = []
    for text in texts:
        stream += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    data = torch.tensor(stream)
    length = min(settings.max_length, len(stream) - 1)
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.0)
    schedule = get_cosine_schedule_with_warmup(optimizer, settings.steps // 10, settings.steps)
    model.train()
    rows = []
    for step in tqdm(range(1, settings.steps + 1), desc="pretrain", unit="step", mininterval=10):
        starts = torch.randint(0, len(stream) - length, (settings.batch_size,), generator=generator)
        batch = torch.stack([data[start : start + length] for start in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step == 1 or step % max(1, settings.steps // 20) == 0 or step == settings.steps:
            rows.append({"step": step, "loss": loss.item()})
            print(f"pretrain step {step}: loss {loss.item():.4f}", flush=True)
    # Overwrite the earlier weights; the tokenizer and generation config stay.
    model.save_pretrained(str(out_dir))
    return {
        "settings": dataclasses.asdict(settings),
        "texts": len(texts),
        "stream_tokens": len(stream),
        "steps": settings.steps,
        "tokens": settings.steps * settings.batch_size * length,
        "first_loss": rows[0]["loss"],
        "final_loss": rows[-1]["loss"],
        "train_runtime_s": time.perf_counter() - started,
        "loss_curve": rows,
    }


def _copy_pretrained(model_id: str, tokenizer: Any, tmp: Path) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_id, dtype="auto")
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    return {
        "model": model_id,
        "dtype": str(model.dtype),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
