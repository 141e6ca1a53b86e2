"""Evaluation decoding: the transformers engine's attention and KV-cache settings on CPU.

The raw-trace students of benchmark 1's demo run (the evaluation stage's work as it runs; without
that run, the base of the config's first student, built as the workflow builds it) answer the demo
benchmark's test problems through TransformersEngine, with the config's batch size and
max_new_tokens, once per setting: SDPA or eager attention, each over a static (preallocated) or
transformers' default dynamic KV cache. The order of the settings alternates between models, so a
drift in the shared machine's speed falls on all of them alike. Greedy outputs are compared.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.common import (
    DEMO_CONFIG,
    ROOT,
    load_config,
    local_model,
    num,
    student_base,
    table,
)
from compress_distill.engines import Request, SamplingSettings, make_engine
from compress_distill.evaluation import build_messages, resolve_model
from compress_distill.problems import build_problemset

# (attention, cache): None is transformers' default dynamic cache.
SETTINGS = [("sdpa", "static"), ("sdpa", None), ("eager", "static"), ("eager", None)]


def _label(attention: str, cache: str | None) -> str:
    return f"{attention}, {cache or 'dynamic'} cache"


def _models(config: dict[str, Any], workdir: Path, trained: Path | None) -> list[dict[str, Any]]:
    """What to decode with: the raw-trace students of the workflow run in `trained` (the demo's
    evaluation as it runs), else the base of the config's first student."""
    if trained is not None:
        found = []
        for model_dir in sorted(trained.glob("results/runs/*/raw/*/*/*/model")):
            base, adapter = resolve_model(model_dir)
            found.append(
                {
                    "name": "/".join(model_dir.relative_to(trained / "results/runs").parts[:-1]),
                    # An adapter's base is named relative to the workflow's folder.
                    "model": str(trained / base) if adapter else base,
                    "lora_path": adapter,
                }
            )
        if found:
            return found
    name, student = next(iter(config["students"].items()))
    base = student_base(name, local_model(student), workdir)
    return [{"name": f"{name} base, before fine-tuning", "model": str(base)}]


def measure(
    workdir: Path,
    smoke: bool = False,
    config_path: Path = DEMO_CONFIG,
    trained: Path | None = None,
) -> dict[str, Any]:
    config = load_config(config_path)
    models = _models(config, workdir, trained)
    benchmark_name, benchmark = next(iter(config["benchmarks"].items()))
    spec = config["problemsets"][benchmark["problemset"]]
    problems = build_problemset(benchmark["problemset"], spec, ROOT)
    template = (ROOT / config["training_sets"]["prompt"]).read_text(encoding="utf-8")
    count, max_tokens = (4, 16) if smoke else (len(problems), benchmark["max_new_tokens"])
    requests = [Request(build_messages(p["question"], template)) for p in problems[:count]]
    sampling = SamplingSettings(max_tokens=max_tokens)
    engine_args = dict(config["evaluation"]["engine_args"])
    for key in ("attn_implementation", "cache_implementation"):
        engine_args.pop(key, None)
    labels = [_label(*setting) for setting in SETTINGS]
    totals = {label: {"tokens": 0, "seconds": 0.0} for label in labels}
    same_outputs = True
    for index, entry in enumerate(tqdm(models, desc="decoding models")):
        order = SETTINGS if index % 2 == 0 else SETTINGS[::-1]
        outputs = {}
        for attention, cache in order:
            args = engine_args | {"attn_implementation": attention, "cache_implementation": cache}
            if entry.get("lora_path"):
                args["lora_path"] = entry["lora_path"]
            engine = make_engine("transformers", entry["model"], args)
            try:
                started = time.perf_counter()
                completions = engine.generate(requests, sampling)
                seconds = time.perf_counter() - started
            finally:
                engine.close()
            label = _label(attention, cache)
            totals[label]["seconds"] += seconds
            totals[label]["tokens"] += sum(c.output_tokens for c in completions)
            outputs[label] = [c.text for c in completions]
        same_outputs &= all(texts == outputs[labels[0]] for texts in outputs.values())
    configured = config["evaluation"]["engine_args"]
    return {
        "models": [entry["name"] for entry in models],
        "benchmark": benchmark_name,
        "problems": count,
        "max_tokens": max_tokens,
        "engine_args": engine_args,
        "configured": _label(
            configured.get("attn_implementation", "sdpa"), configured.get("cache_implementation")
        ),
        "totals": totals,
        "tokens_per_second": {k: t["tokens"] / t["seconds"] for k, t in totals.items()},
        "same_outputs": same_outputs,
    }


def render(result: dict[str, Any]) -> str:
    baseline = result["tokens_per_second"][_label(*SETTINGS[0])]
    rows = [
        [
            label + (" (config)" if label == result["configured"] else ""),
            f"{totals['tokens']:,}",
            num(totals["seconds"], 2),
            num(result["tokens_per_second"][label], 0),
            f"{result['tokens_per_second'][label] / baseline:.2f}x",
        ]
        for label, totals in result["totals"].items()
    ]
    text = table(
        f"transformers engine on CPU: {result['problems']} {result['benchmark']} problems x up to "
        f"{result['max_tokens']} new tokens, greedy, {len(result['models'])} model(s)",
        ["attention, KV cache", "output tokens", "seconds", "tokens/s", "vs sdpa, static"],
        rows,
    )
    text += (
        f"\nModels: {', '.join(result['models'])}; engine arguments {result['engine_args']} "
        "besides the two compared. Each model decodes once per setting, in alternating order. "
        f"Same greedy outputs in every setting: {'yes' if result['same_outputs'] else 'no'}.\n"
    )
    return text
