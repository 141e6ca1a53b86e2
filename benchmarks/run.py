"""Run the benchmarks and write RESULTS.md and results.json (`make bench`).

    python -m benchmarks.run                      # all seven, about 35-40 minutes on 2 cores
    python -m benchmarks.run --only engine,training
    python -m benchmarks.run --smoke --out /tmp/b # tiny sizes: checks the harness, not the speed

Benchmarks measure and report; nothing here fails for slowness. A benchmark that raises is
reported as failed (the others still run) and the exit status is 1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import decoding, engine, scale, training, verification, workflow
from benchmarks.common import DEMO_CONFIG, machine_info, table

HERE = Path(__file__).resolve().parent


def _ratios(workdir: Path, smoke: bool, results: dict[str, Any], metrics: Path | None) -> Any:
    """Item 5 reads the metrics table of the workflow run of item 1 (or --metrics)."""
    if metrics is not None:
        return workflow.ratios(metrics) | {"source": f"--metrics {metrics}"}
    ran = results.get("workflow", {})
    if ran.get("status") != "ok":
        raise RuntimeError("needs the workflow benchmark's demo run (or --metrics PATH)")
    source = f"the {ran['result']['config']} run of benchmark 1"
    return workflow.ratios(Path(ran["result"]["metrics_csv"])) | {"source": source}


def _demo(results: dict[str, Any]) -> Path | None:
    """The folder of item 1's demo run, where item 6 finds trained students (None: not run)."""
    ran = results.get("workflow", {})
    return Path(ran["result"]["workdir"]) if ran.get("status") == "ok" else None


# name -> (title, measure, render), in the order they run and appear.
BENCHMARKS: dict[str, tuple[str, Callable[..., Any], Callable[[Any], str]]] = {
    "workflow": ("1. Workflow overhead", workflow.measure, workflow.render),
    "engine": ("2. Generation engine overhead (vLLM)", engine.measure, engine.render),
    "verification": ("3. Verification throughput", verification.measure, verification.render),
    "training": ("4. Training throughput", training.measure, training.render),
    "ratios": ("5. The study's efficiency ratios on the demo", _ratios, workflow.render_ratios),
    "decoding": ("6. Evaluation decoding (transformers on CPU)", decoding.measure, decoding.render),
    "scale": ("7. The paper's scale, rehearsed (CPU stages)", scale.measure, scale.render),
}


def measure_all(
    names: Sequence[str], workdir: Path, smoke: bool, metrics: Path | None, config: Path
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        print(f"== benchmark {name}", file=sys.stderr, flush=True)
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        _, function, _ = BENCHMARKS[name]
        started = time.perf_counter()
        try:
            if name == "ratios":
                result = function(folder, smoke, results, metrics)
            elif name == "decoding":
                result = function(folder, smoke=smoke, config_path=config, trained=_demo(results))
            else:
                result = function(folder, smoke=smoke, config_path=config)
            results[name] = {"status": "ok", "result": result}
        except Exception as error:
            traceback.print_exc()
            results[name] = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
        results[name]["seconds"] = time.perf_counter() - started
    return results


def _result(report: dict[str, Any], name: str) -> dict[str, Any] | None:
    entry = report["benchmarks"].get(name)
    return entry["result"] if entry and entry["status"] == "ok" else None


def goals(report: dict[str, Any]) -> list[list[str]]:
    """The issue's goals beside what this run measured ("not run" where a benchmark was not)."""

    def row(goal: str, measured: str | None, met: bool | None) -> list[str]:
        verdict = "not run" if measured is None else ("met" if met else "not met")
        return [goal, measured or "–", verdict]

    flow, eng, ver, big = (
        _result(report, n) for n in ("workflow", "engine", "verification", "scale")
    )
    rows = [
        row(
            "no-op rerun under 5 s",
            flow and f"{flow['noop']['seconds']:.1f} s",
            flow and flow["noop"]["seconds"] < 5,
        ),
        row(
            "one-compressor rerun under 40% of the full demo",
            flow and f"{flow['rerun_fraction']:.0%}",
            flow and flow["rerun_fraction"] < 0.4,
        ),
        row(
            "project vLLM engine at 95% or more of direct vLLM",
            eng and f"{eng['ratio']:.1%}",
            eng and eng["ratio"] >= 0.95,
        ),
        row(
            "verification scales with cores",
            ver and f"{ver['speedup_all_cores']:.2f}x on {ver['levels'][-1]['workers']} cores",
            ver and ver["speedup_all_cores"] > 1,
        ),
        row(
            "283k traces verified within 15 min on 16 cores (extrapolated)",
            ver and f"{ver['extrapolation']['seconds'] / 60:.1f} min",
            ver and ver["extrapolation"]["seconds"] <= ver["extrapolation"]["budget_seconds"],
        ),
        *scale.goals(big, row),
    ]
    return rows


def render(report: dict[str, Any]) -> str:
    machine = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    facts = [
        ["date (UTC)", report["date"]],
        [
            "commit",
            f"{machine['commit']}{' (with uncommitted changes)' if machine['dirty'] else ''}",
        ],
        ["command", report["command"]],
        ["demo config", report.get("config", "config.yaml")],
        ["CPU", f"{machine['cpu_model']}, {machine['cores_usable']} cores usable"],
        ["memory", f"{machine['memory_gib']:.1f} GiB"],
        ["GPU", machine["gpu"] or "none"],
        ["load average at start", ", ".join(f"{x:.2f}" for x in machine["load_average_at_start"])],
        ["software", f"Python {machine['python']}, {versions}"],
        ["total time", f"{report['seconds']:.0f} s"],
    ]
    parts = [
        "# Benchmark results\n",
        "Written by `make bench` (`benchmarks/run.py`); raw figures in `results.json`. Every "
        "figure below comes from the run described here. Benchmarks measure and assert nothing "
        "about time.\n",
    ]
    skipped = [BENCHMARKS[n][0] for n in BENCHMARKS if n not in report["benchmarks"]]
    if skipped:
        parts.append(
            f"**Partial run: not run in this invocation: {', '.join(skipped)}.** "
            "`make bench` runs them all.\n"
        )
    if report["smoke"]:
        parts.append("**Smoke run: tiny sizes, for checking the harness; not measurements.**\n")
    parts.append(table("Machine and run", ["", "value"], facts))
    parts.append(
        table("Goals of the benchmarks (issues 8, 19)", ["goal", "measured", ""], goals(report))
    )
    for name, (title, _, render_one) in BENCHMARKS.items():
        parts.append(f"## {title}\n")
        entry = report["benchmarks"].get(name)
        if entry is None:
            parts.append("_Not run in this invocation._\n")
        elif entry["status"] != "ok":
            parts.append(f"_Failed_: `{entry['error']}`\n")
        else:
            parts.append(render_one(entry["result"]))
            parts.append(f"\n_Benchmark time: {entry['seconds']:.0f} s._\n")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", help=f"comma-separated benchmarks (default: all): {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the harness")
    parser.add_argument("--out", type=Path, default=HERE, help="where RESULTS.md and JSON go")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--config",
        type=Path,
        default=DEMO_CONFIG,
        help="the demo config to measure (default: config.yaml as it is now)",
    )
    parser.add_argument(
        "--metrics", type=Path, help="metrics.csv for the ratios benchmark (default: item 1's)"
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite RESULTS.md from the results.json in --out, running nothing",
    )
    args = parser.parse_args(argv)
    if args.render_only:
        saved = json.loads((args.out / "results.json").read_text(encoding="utf-8"))
        (args.out / "RESULTS.md").write_text(render(saved), encoding="utf-8")
        return 0
    names = list(BENCHMARKS) if not args.only else [n.strip() for n in args.only.split(",")]
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    names = [n for n in BENCHMARKS if n in names]

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="compress-distill-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
        "command": "python -m benchmarks.run " + " ".join(argv or sys.argv[1:]),
        "smoke": args.smoke,
        "config": str(args.config),
        "machine": machine_info(),
    }
    started = time.perf_counter()
    try:
        report["benchmarks"] = measure_all(
            names, workdir, args.smoke, args.metrics, args.config.resolve()
        )
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report["seconds"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (args.out / "RESULTS.md").write_text(render(report), encoding="utf-8")
    print(f"wrote {args.out / 'RESULTS.md'} and results.json", file=sys.stderr)
    return 0 if all(e["status"] == "ok" for e in report["benchmarks"].values()) else 1


# vLLM starts worker processes that re-import the main module: the guard keeps them out of main().
if __name__ == "__main__":
    sys.exit(main())
