"""What the benchmarks share: the demo config, the machine's description, demo traces, tables."""

from __future__ import annotations

import copy
import os
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from compress_distill.config import validate_config
from compress_distill.local_models import local_model_dir, with_local_model
from compress_distill.provenance import distribution_versions
from compress_distill.tables import Table, format_number, to_markdown

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "config.yaml"
SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def load_config(path: str | Path = DEMO_CONFIG) -> dict[str, Any]:
    """A config as the workflow sees it: validated, with the schema's defaults filled in."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return validate_config(raw, SCHEMA, ROOT)


def cores() -> int:
    """CPU cores this process may use (the affinity mask, not the machine's total)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """Machine, software and commit that produced the figures."""
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover - torch is a dependency
        gpu = None
    return {
        "cpu_model": _cpu_model(),
        "cores_usable": cores(),
        "cores_total": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "gpu": gpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": distribution_versions(),
        "commit": _git("rev-parse", "HEAD") or None,
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def demo_traces(
    config: dict[str, Any],
    count: int,
    workdir: Path,
    teacher_name: str | None = None,
    problems: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """`count` traces of one demo teacher (the first by default) on its training problem set
    (with `problems` overriding keys of its entry), made by the workflow's own generation code
    (problem set, prompt, engine, shard writer)."""
    from compress_distill.io import read_jsonl

    return read_jsonl(demo_trace_file(config, count, workdir, teacher_name, problems))


def demo_trace_file(
    config: dict[str, Any],
    count: int,
    workdir: Path,
    teacher_name: str | None = None,
    problems: dict[str, Any] | None = None,
    teacher_keys: dict[str, Any] | None = None,
) -> Path:
    """The JSONL shard of `demo_traces`, left on disk; `teacher_keys` override keys of the teacher's
    entry (engine_args, sampling)."""
    from compress_distill.engines import make_engine
    from compress_distill.generation import generate_shard
    from compress_distill.problems import build_problemset

    teacher_name = teacher_name or next(iter(config["teachers"]))
    teacher = copy.deepcopy(config["teachers"][teacher_name]) | (teacher_keys or {}) | {"shards": 1}
    spec = config["problemsets"][teacher["problemset"]] | (problems or {}) | {"size": count}
    out = workdir / f"traces-{teacher_name}-{count}.jsonl"
    generate_shard(
        problems=build_problemset(teacher["problemset"], spec, ROOT),
        make_engine=lambda: make_engine(
            teacher["engine"], teacher.get("model"), teacher["engine_args"]
        ),
        teacher_name=teacher_name,
        teacher=teacher,
        prompt_template=(ROOT / teacher["prompt"]).read_text(encoding="utf-8"),
        shard=0,
        out_path=out,
        progress_dir=workdir / "progress",
    )
    return out


def local_model(student: dict[str, Any]) -> dict[str, Any]:
    """A student entry whose `model` folder, given relative to the repository (as the workflow
    reads it), is made absolute; hub ids and absolute paths stay as they are."""
    return with_local_model(student, local_model_dir(student, ROOT))


def student_base(name: str, student: dict[str, Any], workdir: Path) -> Path:
    """The student's base model, built from its config entry as the workflow builds it (a
    from_config student without its brief pretraining; a pretrained one copied from its folder)."""
    from compress_distill.students.base import build_base_model
    from compress_distill.students.tokenizers import save_student_tokenizer

    tokenizer_dir = workdir / name / "tokenizer"
    save_student_tokenizer(student, tokenizer_dir)
    base = workdir / name / "base"
    build_base_model({k: v for k, v in student.items() if k != "pretrain"}, tokenizer_dir, base)
    return base


def num(value: Any, digits: int = 1) -> str:
    return format_number(value, digits)


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """One Markdown table with a bold title (the project's table writer)."""
    align = "l" + "r" * (len(columns) - 1)
    return to_markdown(Table(list(columns), align, [(title, [list(r) for r in rows])]))
