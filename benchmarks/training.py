"""Training throughput of the demo students: padded batches in random order, padded batches
grouped by length, and packed rows; full and LoRA.

Each student (config.yaml `students`) is built from its config entry as the workflow builds it (a
from_config student without its brief pretraining, which does not change the speed; a pretrained
one copied from its folder) and fine-tuned with the project's `train()` on raw demo traces,
for one epoch over the same examples, in the six settings. tokens/s counts real (non-padding)
tokens over the trainer's runtime; the padding fraction is the share of padding in the batches.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.common import (
    DEMO_CONFIG,
    ROOT,
    cores,
    demo_traces,
    load_config,
    local_model,
    num,
    student_base,
    table,
)
from compress_distill.grid import MODES
from compress_distill.io import write_jsonl
from compress_distill.training.run import train
from compress_distill.training.settings import TrainJob, TrainSettings
from compress_distill.training_sets import make_example


def _dataset(config: dict[str, Any], examples: int, workdir: Path) -> Path:
    """A raw-trace training set in the workflow's format (student prompt, teacher trace)."""
    template = (ROOT / config["training_sets"]["prompt"]).read_text(encoding="utf-8")
    path = workdir / "train.jsonl"
    traces = demo_traces(config, examples, workdir)
    write_jsonl(
        path,
        [make_example(r["problem_id"], r["question"], template, r["completion"]) for r in traces],
    )
    return path


# How examples become batches: the training settings each batching sets.
BATCHINGS = {
    "padded": {"packing": False, "group_by_length": False},
    "grouped": {"packing": False, "group_by_length": True},
    "packed": {"packing": True, "group_by_length": False},
}


def measure(workdir: Path, smoke: bool = False, config_path: Path = DEMO_CONFIG) -> dict[str, Any]:
    config = load_config(config_path)
    # One epoch over the same examples in every setting: the same tokens, padded or packed.
    # 96 raw traces in batches of 4 make length groups of 6 batches (the demo's 400: 25).
    examples = 8 if smoke else 96
    # Smoke runs only check the harness: small batches. (Not shorter rows: an example longer than
    # max_length is left out of training, not cut, and the demo's traces are the examples.)
    shrink = {"per_device_batch_size": 2} if smoke else {}
    dataset = _dataset(config, examples, workdir)
    results = []
    for name, entry in config["students"].items():
        student = local_model(entry)
        base = student_base(name, student, workdir)
        settings_grid = list(itertools.product(MODES, BATCHINGS))
        for mode, batching in tqdm(settings_grid, desc=f"training {name}"):
            settings = student["training"] | student[mode] | {"epochs": 1.0, "max_steps": None}
            settings |= shrink | BATCHINGS[batching] | {"save_steps": 10_000}
            tag = f"{name}-{mode}-{batching}"
            job = TrainJob(
                dataset,
                base,
                workdir / tag / "model",
                workdir / tag / "checkpoints",
                mode,
                TrainSettings.from_config(settings),
                # As the workflow's train rule: the student's cpus.
                threads=min(student["resources"]["cpus"], cores()),
            )
            metrics = train(job)
            results.append(
                {
                    "student": name,
                    "mode": mode,
                    "batching": batching,
                    "steps": metrics["steps"],
                    "train_tokens": metrics["train_tokens"],
                    "padded_tokens": metrics["train_padded_tokens"],
                    "padding_fraction": metrics["padding_fraction"],
                    "train_runtime_s": metrics["train_runtime_s"],
                    "wall_time_s": metrics["wall_time_s"],
                    "tokens_per_second": metrics["tokens_per_second"],
                    "trainable_parameters": metrics["trainable_parameters"],
                    "parameters": metrics["parameters"],
                    "batch_size": settings["per_device_batch_size"],
                    "max_length": settings["max_length"],
                    "torch_threads": metrics["torch_threads"],
                }
            )
    import torch

    mfu = (
        "not measured by this harness yet (a GPU was present)"
        if torch.cuda.is_available()
        else "not measured: no GPU on this machine (MFU only when a GPU is lent)"
    )
    return {"examples": examples, "runs": results, "gpu_mfu": mfu}


def render(result: dict[str, Any]) -> str:
    rows = []
    for r in result["runs"]:
        rows.append(
            [
                r["student"],
                r["mode"],
                r["batching"],
                str(r["steps"]),
                f"{r['trainable_parameters']:,} / {r['parameters']:,}",
                f"{r['train_tokens']:,}",
                "0 (packed)"
                if r["batching"] == "packed"
                else num(100 * r["padding_fraction"]) + " %",
                num(r["train_runtime_s"], 2),
                num(r["tokens_per_second"], 0),
            ]
        )
    text = table(
        f"Training: one epoch over {result['examples']} raw demo traces in each setting",
        [
            "student",
            "mode",
            "batches",
            "steps",
            "trainable / all params",
            "tokens",
            "padding",
            "seconds",
            "tokens/s",
        ],
        rows,
    )
    speed = {
        (r["student"], r["mode"], r["batching"]): r["tokens_per_second"] for r in result["runs"]
    }
    notes = []
    for student, mode, _ in speed:
        padded = speed[(student, mode, "padded")]
        line = f"{student} {mode}: " + ", ".join(
            f"{batching} {num(speed[(student, mode, batching)] / padded, 2)}x"
            for batching in ("grouped", "packed")
        )
        line += " the tokens/s of padded batches in random order"
        if mode == "lora" and (student, "full", "padded") in speed:
            ratio = padded / speed[(student, "full", "padded")]
            line += f"; LoRA {num(ratio, 2)}x the tokens/s of full fine-tuning (padded)"
        if line not in notes:
            notes.append(line)
    text += "\n" + "\n".join(f"- {line}" for line in notes) + "\n"
    text += (
        "\ntokens/s: real (non-padding) tokens over the trainer's runtime, on "
        f"{result['runs'][0]['torch_threads']} torch threads. With packing, examples are laid "
        "end to end in rows of max_length tokens (position ids restart per example), so no "
        "padding is computed; grouped batches (`group_by_length`) take each group of batches in "
        f"order of length. GPU MFU: {result['gpu_mfu']}.\n"
    )
    return text
