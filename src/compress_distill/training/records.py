"""What a training run records beside its weights: the loss curve (loss.csv), peak memory, device,
library versions and the sha256 of weights, for train_metrics.json and base_metrics.json."""

from __future__ import annotations

import csv
import resource
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compress_distill.io import atomic_writer, sha256_file
from compress_distill.provenance import TRAINING_DISTRIBUTIONS, distribution_versions

METRICS_FILE = "train_metrics.json"
LOSS_FILE = "loss.csv"
LOSS_COLUMNS = ("step", "epoch", "loss", "learning_rate", "grad_norm", "mean_token_accuracy")


def weights_sha256(model_dir: str | Path) -> dict[str, str]:
    """sha256 of each safetensors weights file of a saved model (several when sharded)."""
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{model_dir}: no *.safetensors weights file")
    return {path.name: sha256_file(path) for path in files}


def library_versions() -> dict[str, str]:
    """Versions of the libraries that train (provenance.TRAINING_DISTRIBUTIONS)."""
    return distribution_versions(TRAINING_DISTRIBUTIONS)


def peak_memory() -> dict[str, Any]:
    """Peak memory of this process: GPU memory allocated by torch on GPUs, else the peak RSS."""
    import torch

    if torch.cuda.is_available():
        return {
            "bytes": int(torch.cuda.max_memory_allocated()),
            "kind": "cuda_max_memory_allocated",
        }
    # Linux reports ru_maxrss in KiB.
    return {
        "bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "kind": "cpu_max_rss",
    }


def device_name(device: Any) -> str:
    """A torch device, with the GPU's model name for CUDA devices."""
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def loss_rows(log_history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The training-loss entries of a Trainer log history (one per logging window)."""
    return [
        {column: entry.get(column) for column in LOSS_COLUMNS}
        for entry in log_history
        if "loss" in entry and "step" in entry
    ]


def write_loss_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    with atomic_writer(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(LOSS_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def mean_loss_over_steps(rows: Sequence[Mapping[str, Any]]) -> float | None:
    """Mean loss over all steps of the log history, each window weighted by its steps.

    Unlike the Trainer's train_loss, it covers the steps of earlier attempts after a resume.
    """
    total, steps, previous = 0.0, 0, 0
    for row in rows:
        width = row["step"] - previous
        if width > 0:
            total += row["loss"] * width
            steps += width
        previous = row["step"]
    return total / steps if steps else None
