"""A problem set from its config entry: the synthetic task, a local JSONL file or an HF dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from compress_distill.problems import load_hf_problems, load_jsonl_problems
from compress_distill.tasks.arithmetic import ArithmeticSpec, make_problems


def build_problemset(name: str, spec: dict[str, Any], basedir: str | Path) -> list[dict[str, Any]]:
    """Problem records for the entry `problemsets.<name>`; relative paths are taken from basedir."""
    kind = spec["kind"]
    if kind == "synthetic":
        task = ArithmeticSpec(
            min_operations=spec["min_operations"],
            max_operations=spec["max_operations"],
            digits=spec["digits"],
            operators=tuple(spec["operators"]),
            form=spec["form"],
            test_fraction=spec["test_fraction"],
        )
        return make_problems(task, spec["split"], spec["size"], spec["seed"])
    fields = {
        "question_field": spec["question_field"],
        "answer_field": spec["answer_field"],
        "answer_format": spec["answer_format"],
        "id_field": spec.get("id_field"),
        "id_prefix": name,
        "limit": spec.get("limit"),
    }
    if kind == "jsonl":
        return load_jsonl_problems(Path(basedir) / spec["path"], **fields)
    if kind == "hf":
        name_or_path = spec["name"]
        local = Path(basedir) / name_or_path
        source = str(local) if local.exists() else name_or_path
        return load_hf_problems(source, spec.get("config"), spec["split"], **fields)
    raise ValueError(f"unknown problem set kind {kind!r}")
