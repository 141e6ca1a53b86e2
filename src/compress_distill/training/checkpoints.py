"""Checkpoints of a run and resuming from them.

A run checkpoints to its own folder outside the rule's output (Snakemake deletes the outputs of a
failed job, not that folder). run.json there says what the checkpoints were trained on: a rerun
resumes from the latest complete checkpoint only when data, base model, mode and settings are the
same. attempts.jsonl logs the wall time of every attempt, so a run killed and resumed reports the
time all its attempts took.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from compress_distill.io import AppendLog, read_json, sha256_file, write_json
from compress_distill.training.records import weights_sha256
from compress_distill.training.settings import TrainJob

RUN_FILE = "run.json"  # in the checkpoint folder: what its checkpoints were trained on
ATTEMPTS_FILE = "attempts.jsonl"  # in the checkpoint folder: wall time of every attempt
CHECKPOINT_PREFIX = "checkpoint-"


def latest_checkpoint(checkpoint_dir: str | Path) -> Path | None:
    """The highest-step checkpoint whose trainer_state.json parses.

    The Trainer writes that file last (after weights, optimizer and RNG states), so a checkpoint
    cut short by a kill has none or a truncated one and is skipped.
    """
    folder = Path(checkpoint_dir)
    if not folder.is_dir():
        return None
    candidates = []
    for path in folder.glob(f"{CHECKPOINT_PREFIX}*"):
        step = path.name[len(CHECKPOINT_PREFIX) :]
        if path.is_dir() and step.isdigit():
            candidates.append((int(step), path))
    for _, path in sorted(candidates, reverse=True):
        try:
            json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        return path
    return None


def checkpoint_step(checkpoint: Path | None) -> int:
    """The optimizer step a checkpoint was saved at; 0 for none (a fresh start)."""
    return int(checkpoint.name[len(CHECKPOINT_PREFIX) :]) if checkpoint else 0


def run_identity(job: TrainJob) -> dict[str, Any]:
    """What a run's checkpoints depend on: data and base model (with checksums), mode, settings."""
    return {
        "dataset": str(job.dataset_path),
        "dataset_sha256": sha256_file(job.dataset_path),
        "base_model": str(job.base_model_dir),
        "base_weights_sha256": weights_sha256(job.base_model_dir),
        "mode": job.mode,
        "settings": job.settings.to_dict(),
    }


def prepare_checkpoint_dir(checkpoint_dir: Path, identity: dict[str, Any]) -> None:
    """Keep checkpoints only when they were trained on the same data, base and settings."""
    run_file = checkpoint_dir / RUN_FILE
    identity = json.loads(json.dumps(identity))  # as read back: tuples become lists
    if run_file.exists():
        if read_json(run_file) == identity:
            return
        print(
            f"{checkpoint_dir}: checkpoints are from another training set, base model or settings; "
            "starting afresh",
            file=sys.stderr,
        )
        shutil.rmtree(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_file, identity)


class Attempts:
    """This attempt at a run in the checkpoint folder's attempts log: `heartbeat` appends its wall
    time so far (at each log and save), so the time of an attempt that is killed still counts."""

    def __init__(self, checkpoint_dir: Path, started: float) -> None:
        self.started = started
        self._log = AppendLog(checkpoint_dir / ATTEMPTS_FILE)
        # The last heartbeat of each earlier attempt.
        last: dict[int, float] = {}
        for record in self._log.records():
            last[record["attempt"]] = max(last.get(record["attempt"], 0.0), record["elapsed_s"])
        self.number = len(last) + 1
        self.previous_wall_s = sum(last.values())

    def heartbeat(self) -> None:
        elapsed = round(time.perf_counter() - self.started, 3)
        self._log.append([{"attempt": self.number, "elapsed_s": elapsed}])

    def close(self) -> None:
        self._log.close()
