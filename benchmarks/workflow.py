"""Workflow overhead (the demo from clean, a no-op rerun, a one-compressor rerun, the paper DAG)
and the study's own efficiency ratios as the demo run measured them.

The demo runs in a scratch folder (snakemake --directory) on a copy of config.yaml as it is at run
time, so the repository's results/ is never touched.
"""

from __future__ import annotations

import csv
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import DEMO_CONFIG, ROOT, cores, num, table
from compress_distill.grid import RUN_KEYS

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
PAPER_CONFIG = ROOT / "configs" / "paper.yaml"
SMOKE_CONFIG = ROOT / "configs" / "tiny.yaml"
METRICS = Path("results/tables/metrics.csv")
# The paper's headline ranges (DESIGN.md): compressed against raw.
PAPER = {
    "training_token_ratio": (0.12, 0.30),
    "training_speedup": (2.0, 7.6),
    "inference_length_reduction": (3.0, 19.0),
}


def snakemake(workdir: Path, configfile: Path, *args: str, log: Path) -> dict[str, Any]:
    """One timed snakemake run; its output goes to `log`, its job counts come back."""
    command = [
        SNAKEMAKE,
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        str(cores()),
        *args,
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    log.write_text(output, encoding="utf-8")
    if done.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed (see {log}):\n{output[-3000:]}")
    return {"seconds": seconds, "jobs": job_counts(output), "log": str(log)}


def job_counts(output: str) -> dict[str, int]:
    """Jobs per rule from the first "Job stats" table of a snakemake output (empty: none)."""
    if "Job stats:" not in output:
        return {}
    stats = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    counts = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}
    counts.pop("total", None)
    return counts


def _edit_compressor(configfile: Path) -> dict[str, Any]:
    """Change one compressor's setting in the config copy: prune's ratio when there is one,
    else the first compressor with a numeric ratio. Returns what changed."""
    config = yaml.safe_load(configfile.read_text(encoding="utf-8"))
    compressors = config.get("compressors") or {}
    candidates = ["prune", *compressors]
    name = next(
        (n for n in candidates if isinstance((compressors.get(n) or {}).get("ratio"), int | float)),
        None,
    )
    if name is None:
        raise ValueError(f"{configfile}: no compressor with a numeric 'ratio' to change")
    old = compressors[name]["ratio"]
    new = round(old * 0.8, 3)
    compressors[name]["ratio"] = new
    configfile.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    policy = compressors[name].get("answer_policy", "append")
    return {"compressor": name, "key": "ratio", "from": old, "to": new, "answer_policy": policy}


def measure(workdir: Path, smoke: bool = False, config_path: Path = DEMO_CONFIG) -> dict[str, Any]:
    """Demo from clean, no-op rerun, one-compressor rerun (in that order), then the paper DAG."""
    base = SMOKE_CONFIG if smoke else config_path
    demo, logs = workdir / "demo", workdir / "logs"
    demo.mkdir(parents=True)
    logs.mkdir()
    configfile = workdir / "config.yaml"
    configfile.write_text(base.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"workflow: {base.name} from clean in {demo}", file=sys.stderr, flush=True)
    full = snakemake(demo, configfile, log=logs / "full.log")
    # The ratios (benchmark 5) come from the demo as configured, before the compressor changes.
    metrics = workdir / "metrics.csv"
    if (demo / METRICS).is_file():
        shutil.copy2(demo / METRICS, metrics)
    noop = snakemake(demo, configfile, log=logs / "noop.log")
    change = _edit_compressor(configfile)
    rerun = snakemake(demo, configfile, log=logs / "rerun.log")

    paper_runs = []
    for index in range(1 if smoke else 3):
        paper_dir = workdir / f"paper-{index}"
        paper_dir.mkdir()
        paper_runs.append(
            snakemake(paper_dir, PAPER_CONFIG, "-n", log=logs / f"paper-dag-{index}.log")
        )
    return {
        "config": str(base.relative_to(ROOT) if base.is_relative_to(ROOT) else base),
        "workdir": str(demo),
        "cores": cores(),
        "full": full,
        "noop": noop,
        "change": change,
        "rerun": rerun,
        "rerun_fraction": rerun["seconds"] / full["seconds"],
        "paper_dag": {
            "seconds": statistics.median(r["seconds"] for r in paper_runs),
            "seconds_all": [r["seconds"] for r in paper_runs],
            "jobs": sum(paper_runs[0]["jobs"].values()),
        },
        "metrics_csv": str(metrics),
    }


def render(result: dict[str, Any]) -> str:
    full, noop, rerun = result["full"], result["noop"], result["rerun"]
    change = result["change"]
    rows = [
        ["demo from clean", f"{sum(full['jobs'].values())}", num(full["seconds"]), "", ""],
        ["no-op rerun", f"{sum(noop['jobs'].values())}", num(noop["seconds"], 2), "", "< 5 s"],
        [
            f"rerun after {change['compressor']}.{change['key']}: {change['from']} -> "
            f"{change['to']}",
            f"{sum(rerun['jobs'].values())}",
            num(rerun["seconds"]),
            f"{result['rerun_fraction']:.0%}",
            "< 40%",
        ],
        [
            "DAG of configs/paper.yaml (dry run, median)",
            f"{result['paper_dag']['jobs']}",
            num(result["paper_dag"]["seconds"], 2),
            "",
            "",
        ],
    ]
    text = table(
        f"Workflow overhead: {result['config']} on {result['cores']} cores",
        ["run", "jobs", "seconds", "of full run", "goal"],
        rows,
    )
    jobs = ", ".join(f"{rule} {n}" for rule, n in sorted(rerun["jobs"].items())) or "none"
    text += (
        f"\nJobs of the one-compressor rerun, per rule: {jobs}. The demo's wall time is "
        "`snakemake --cores N` (the default target) from an empty folder. Each time includes "
        "Snakemake's start-up and DAG build.\n"
    )
    if change.get("answer_policy") == "drop":
        text += (
            f"\n{change['compressor']} drops problems whose answer it loses (answer_policy: drop), "
            "and every variant trains on the problems all variants have, so the change reruns "
            "every training set and run, not only its own branch.\n"
        )
    return text


# --------------------------------------------------------------------------------------------
# The study's own efficiency ratios, from the demo's metrics table


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def ratios(metrics_csv: Path) -> dict[str, Any]:
    """Per variant, the range over teachers, students, modes, regimes and benchmarks of each ratio
    against raw, with the wall times and output tokens they come from."""
    with metrics_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    keys = (*PAPER, "wall_time_all_attempts_s", "train_tokens", "mean_output_tokens")
    keys += ("hit_limit_rate",)
    by_variant: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        for key in keys:
            value = _float(row.get(key))
            if value is not None:
                by_variant[row["variant"]][key].append(value)
    summary = {
        variant: {key: {"min": min(v), "max": max(v), "n": len(v)} for key, v in values.items()}
        for variant, values in by_variant.items()
    }
    runs = len({tuple(row[key] for key in RUN_KEYS) for row in rows})
    return {"metrics_csv": str(metrics_csv), "runs": runs, "variants": summary}


def _span(entry: dict[str, Any] | None, digits: int = 2, scale: float = 1.0) -> str:
    if not entry:
        return "–"
    low, high = num(entry["min"] * scale, digits), num(entry["max"] * scale, digits)
    return low if low == high else f"{low}–{high}"


def render_ratios(result: dict[str, Any]) -> str:
    rows = []
    for variant, values in result["variants"].items():
        rows.append(
            [
                variant,
                _span(values.get("train_tokens"), 0),
                _span(values.get("training_token_ratio"), 0, 100) + " %",
                _span(values.get("wall_time_all_attempts_s"), 1),
                _span(values.get("training_speedup")) + "x",
                _span(values.get("mean_output_tokens"), 0),
                _span(values.get("inference_length_reduction")) + "x",
                _span(values.get("hit_limit_rate"), 0, 100) + " %",
            ]
        )
    paper = PAPER
    rows.append(
        [
            "paper (compressed)",
            "",
            f"{paper['training_token_ratio'][0]:.0%}–{paper['training_token_ratio'][1]:.0%}",
            "",
            f"{paper['training_speedup'][0]}–{paper['training_speedup'][1]}x",
            "",
            f"{paper['inference_length_reduction'][0]:.0f}–"
            f"{paper['inference_length_reduction'][1]:.0f}x",
            "",
        ]
    )
    text = table(
        f"Study ratios against raw, measured by the workflow ({result['runs']} runs)",
        [
            "variant",
            "train tokens",
            "tokens of raw",
            "train wall s",
            "speedup",
            "output tokens",
            "outputs shorter",
            "hit max tokens",
        ],
        rows,
    )
    text += (
        f"\nRead from results/tables/metrics.csv of {result.get('source', 'a workflow run')} "
        "(ranges over teachers, students, modes, regimes and benchmarks). Speedup: raw training "
        "wall time (all attempts) over the variant's; outputs shorter: raw mean output tokens "
        "over the variant's. Where students hit the evaluation's max_new_tokens (last column), "
        "output lengths measure the limit, not the variant.\n"
    )
    return text
