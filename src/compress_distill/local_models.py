"""Models in local folders: where a config entry's `model` is one.

A config entry's `model` (a teacher's, an llm compressor's, a pretrained student's) is a hub id or a
folder relative to the workflow folder. Only `local_model_dir` resolves that folder, so the rules,
their scripts and the benchmarks agree on it: the rules take the folder as an input (rebuilding it
reruns what depends on it) and the scripts load it (`with_local_model`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def local_model_dir(entry: Mapping[str, Any], workflow_dir: str | Path) -> Path | None:
    """The entry's `model` as a folder, relative to the workflow folder unless absolute; None
    where it names none (a hub id, which loads by name, a scripted teacher's label, no model)."""
    model = entry.get("model")
    if not model:
        return None
    folder = Path(workflow_dir) / model  # an absolute `model` replaces the join
    return folder if folder.is_dir() else None


def with_local_model(entry: dict[str, Any], model_dir: str | Path | None) -> dict[str, Any]:
    """The entry with `model` pointing at its resolved folder (local_model_dir, or a rule's `model`
    input); unchanged when there is none (empty or None)."""
    return entry | {"model": str(model_dir)} if model_dir else entry
