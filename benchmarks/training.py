"""Training throughput of the demo students: with and without packing, full and LoRA.

Each student (config.yaml `students`) is built from its config entry as the workflow builds it (a
from_config student without its brief pretraining, which does not change the speed; a pretrained
one copied from its folder) and fine-tuned with the project's `train()` on raw demo traces,
for one epoch over the same examples, in the four settings. tokens/s counts real (non-padding)
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
from compress_distill.io import write_jsonl
from compress_distill.training import MODES, TrainSettings, train
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


def run(workdir: Path, smoke: bool = False, config_path: Path = DEMO_CONFIG) -> dict[str, Any]:
    config = load_config(config_path)
    # One epoch over the same examples in every setting: the same tokens, padded or packed.
    examples = 8 if smoke else 48
    # Smoke runs only check the harness: short rows, small batches.
    shrink = {"max_length": 128, "per_device_batch_size": 2} if smoke else {}
    dataset = _dataset(config, examples, workdir)
    results = []
    for name, entry in config["students"].items():
        student = local_model(entry)
        base = student_base(name, student, workdir)
        settings_grid = list(itertools.product(MODES, (False, True)))
        for mode, packing in tqdm(settings_grid, desc=f"training {name}"):
            settings = student["training"] | student[mode] | {"epochs": 1.0, "max_steps": None}
            settings |= shrink | {"packing": packing, "save_steps": 10_000}
            tag = f"{name}-{mode}-{'packed' if packing else 'padded'}"
            metrics = train(
                dataset,
                base,
                workdir / tag / "model",
                workdir / tag / "checkpoints",
                mode,
                TrainSettings.from_config(settings),
                # As the workflow's train rule: the student's cpus.
                threads=min(student["resources"]["cpus"], cores()),
            )
            results.append(
                {
                    "student": name,
                    "mode": mode,
                    "packing": packing,
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
                "packed" if r["packing"] else "padded",
                str(r["steps"]),
                f"{r['trainable_parameters']:,} / {r['parameters']:,}",
                f"{r['train_tokens']:,}",
                num(100 * r["padding_fraction"]) + " %" if not r["packing"] else "0 (packed)",
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
        (r["student"], r["mode"], r["packing"]): r["tokens_per_second"] for r in result["runs"]
    }
    notes = []
    for student, mode, _ in speed:
        packed, padded = speed.get((student, mode, True)), speed.get((student, mode, False))
        line = f"{student} {mode}: packing {num(packed / padded, 2)}x the tokens/s of padding"
        if mode == "lora" and (student, "full", True) in speed:
            padded_ratio = speed[(student, "lora", False)] / speed[(student, "full", False)]
            packed_ratio = speed[(student, "lora", True)] / speed[(student, "full", True)]
            line += (
                f"; LoRA {num(padded_ratio, 2)}x the tokens/s of full fine-tuning padded, "
                f"{num(packed_ratio, 2)}x packed"
            )
        if line not in notes:
            notes.append(line)
    text += "\n" + "\n".join(f"- {line}" for line in notes) + "\n"
    text += (
        "\ntokens/s: real (non-padding) tokens over the trainer's runtime, on "
        f"{result['runs'][0]['torch_threads']} torch threads. With packing, examples are laid "
        "end to end in rows of max_length tokens (position ids restart per example), so no "
        f"padding is computed. GPU MFU: {result['gpu_mfu']}.\n"
    )
    return text
