"""The benchmark harness (`make bench`) runs and writes its report: a smoke run at tiny sizes.

Timing is not checked: benchmarks measure, they do not pass or fail on speed. The workflow and vLLM
benchmarks are left out here (minutes); their code paths are the ones the other workflow and engine
tests exercise, and the ratios benchmark reads the finished tiny run's metrics table.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ..conftest import ROOT

pytestmark = pytest.mark.slow

TITLES = (
    "## 1. Workflow overhead",
    "## 2. Generation engine overhead (vLLM)",
    "## 3. Verification throughput",
    "## 4. Training throughput",
    "## 5. The study's efficiency ratios on the demo",
    "## 6. Evaluation decoding (transformers on CPU)",
    "## 7. The paper's scale, rehearsed (CPU stages)",
)


def test_smoke_run_writes_results(tmp_path, finished_tiny):
    metrics = finished_tiny.path("results/tables/metrics.csv")
    command = [sys.executable, "-m", "benchmarks.run", "--smoke", "--out", str(tmp_path)]
    command += ["--only", "verification,training,ratios,decoding,scale"]
    command += ["--metrics", str(metrics)]
    command += ["--config", str(ROOT / "configs/tiny.yaml")]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads((tmp_path / "results.json").read_text())
    assert report["smoke"] is True
    assert report["machine"]["cores_usable"] >= 1 and report["machine"]["commit"]
    runs = report["benchmarks"]
    assert set(runs) == {"verification", "training", "ratios", "decoding", "scale"}
    assert all(entry["status"] == "ok" for entry in runs.values())
    assert runs["verification"]["result"]["levels"][0]["workers"] == 1
    settings = {(r["mode"], r["batching"]) for r in runs["training"]["result"]["runs"]}
    assert settings == {
        (mode, batching)
        for mode in ("full", "lora")
        for batching in ("padded", "grouped", "packed")
    }
    assert "raw" in runs["ratios"]["result"]["variants"]
    decoded = runs["decoding"]["result"]
    assert len(decoded["totals"]) == 4 and decoded["same_outputs"] is True
    assert all(t["tokens"] > 0 for t in decoded["totals"].values())
    scaled = runs["scale"]["result"]
    assert set(scaled["fits"]) == set(scaled["points"]) and scaled["extrapolation"]["seconds"] > 0
    assert all(
        len(p) == len(scaled["sizes"]) for n, p in scaled["points"].items() if n != "metrics"
    )

    text = (tmp_path / "RESULTS.md").read_text()
    positions = [text.index(title) for title in TITLES]
    assert positions == sorted(positions)
    assert text.count("_Not run in this invocation._") == 2  # workflow and engine
    for heading in ("Machine and run", "traces/s", "tokens/s", "paper (compressed)"):
        assert heading in text
