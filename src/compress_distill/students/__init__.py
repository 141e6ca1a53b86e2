"""Students: the small models that are fine-tuned on teacher traces, and what they start from.

    tokenizers   character-level and byte-level BPE tokenizers with the chat template, and a
                 student's tokenizer saved for the workflow (rule student_tokenizer)
    tiny_llama   a randomly initialised Llama, saved as an ordinary Hugging Face folder
    base         a student's base model (rule base_model): a tiny Llama built from its config and
                 briefly pretrained, or a pretrained checkpoint copied into the results
    demo_base    a tool, not a workflow stage: the recipe that built the demo's shipped student
                 base, data/students/tiny-arith (`make student-base`)

A student's config entry has `kind` from_config (built here) or pretrained (`model`: a hub id or a
local folder). Only this module resolves that folder, so the workflow, its scripts and the
benchmarks agree on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def local_model_dir(student: Mapping[str, Any], workflow_dir: str | Path) -> Path | None:
    """A pretrained student's own model folder: its `model`, relative to the workflow folder
    unless absolute. None for from_config students and for hub ids, which are not folders and
    load by name."""
    if student["kind"] != "pretrained":
        return None
    folder = Path(workflow_dir) / student["model"]  # an absolute `model` replaces the join
    return folder if folder.is_dir() else None


def with_local_model(student: dict[str, Any], model_dir: str | Path | None) -> dict[str, Any]:
    """The student's entry with `model` pointing at its resolved folder (local_model_dir, or a
    rule's `model` input); unchanged when there is none (empty or None)."""
    return student | {"model": str(model_dir)} if model_dir else student
