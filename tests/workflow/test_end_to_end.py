"""Every stage of configs/tiny.yaml, from problems to the paper's tables and figures."""

import csv
import json

import pytest

from compress_distill.costs import STAGE_ORDER, STAGES
from compress_distill.findings import CANNOT_TELL, CLAIMS, CONTRADICTS, SUPPORTS
from compress_distill.inference import wilson_interval
from compress_distill.io import read_jsonl
from compress_distill.provenance import records

pytestmark = pytest.mark.slow

GRID_VARIANTS = ["raw", "extractive", "truncated-extractive", "answer-only"]


def test_every_run_trained_with_its_metrics(finished_tiny):
    for variant in GRID_VARIANTS:
        for mode in ("full", "lora"):
            run = finished_tiny.path(f"results/runs/verbose/{variant}/tiny/{mode}/10")
            metrics = json.loads((run / "train_metrics.json").read_text())
            assert metrics["steps"] == 3 and metrics["mode"] == mode
            assert metrics["train_tokens"] > 0 and metrics["wall_time_s"] > 0
            assert (run / "loss.csv").read_text().startswith("step")
            adapter = (run / "model/base_model.json").exists()
            assert adapter == (mode == "lora")


def test_predictions_have_the_evaluation_fields(finished_tiny):
    path = "results/evals/verbose/raw/tiny/full/10/arith_test.jsonl"
    rows = read_jsonl(finished_tiny.path(path))
    assert len(rows) == 20  # tiny.yaml's arith_test size, greedy: one seed
    for row in rows:
        assert {"output", "extracted_answer", "verdict", "output_tokens", "hit_limit"} <= set(row)


def test_every_accuracy_has_its_interval_and_every_claim_a_verdict(finished_tiny):
    rows = json.loads(finished_tiny.path("results/tables/metrics.json").read_text())
    for row in rows:
        # One seed: the Wilson interval over tiny.yaml's 20 test problems.
        expected = wilson_interval(row["accuracy"] * 20, 20, 0.05)
        assert (row["accuracy_low"], row["accuracy_high"]) == pytest.approx(expected)
        tested = row["variant"] != "raw"
        assert (row["test_vs_raw"] == "mcnemar") == tested
        assert (row["p_vs_truncated"] is not None) == (row["variant"] == "extractive")
    with finished_tiny.path("results/tables/findings.csv").open() as handle:
        found = list(csv.DictReader(handle))
    assert [f["claim"] for f in found] == [claim.text for claim in CLAIMS.values()]
    assert {f["verdict"] for f in found} <= {SUPPORTS, CONTRADICTS, CANNOT_TELL}
    assert "**Findings**" in finished_tiny.path("results/tables/findings.md").read_text()
    # The report's menu sorts categories by name: the numbered findings come first.
    report = finished_tiny.path("results/report.html").read_text()
    assert "1. Findings" in report and "2. Tables" in report


def test_tables_and_figures_hold_the_grid(finished_tiny):
    with finished_tiny.path("results/tables/metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["variant"], r["mode"]) for r in rows) == sorted(
        (v, m) for v in GRID_VARIANTS for m in ("full", "lora")
    )
    raw = next(r for r in rows if r["variant"] == "raw" and r["mode"] == "full")
    assert float(raw["training_token_ratio"]) == 1.0
    main = finished_tiny.path("results/tables/main.md").read_text()
    assert all(variant in main for variant in GRID_VARIANTS)
    assert "\\toprule" in finished_tiny.path("results/tables/truncation.tex").read_text()
    for name in ("accuracy_vs_length", "training_cost", "compression_ratios"):
        for ext in ("pdf", "png"):
            assert finished_tiny.path(f"results/figures/{name}.{ext}").stat().st_size > 1000


def test_the_cost_ledger_sums_the_provenance_records(finished_tiny):
    results = finished_tiny.path("results")
    stage_records = [r for _, r in records(results) if r["rule"] in STAGES]
    with (results / "tables/cost_ledger.csv").open() as handle:
        ledger = list(csv.DictReader(handle))
    assert sum(int(row["jobs"]) for row in ledger) == len(stage_records)
    core_s = sum(r["wall_time_s"] * r["held"]["threads"] for r in stage_records)
    assert sum(float(row["core_h"]) for row in ledger) * 3600 == pytest.approx(core_s, abs=0.01)
    # Every stage rule ran and is counted, but the one for a second student of one tokenizer
    # (test_compression_stage.py runs it).
    for rule in set(STAGES) - {"shared_training_set_tokens"}:
        jobs = sum(int(row["jobs"]) for row in ledger if row["rule"] == rule)
        assert jobs == sum(r["rule"] == rule for r in stage_records) > 0, rule
    with (results / "tables/costs.csv").open() as handle:
        costs = {(row["teacher"], row["variant"]): row for row in csv.DictReader(handle)}
    # The grid's one teacher trains; the other's training sets are made (and counted) too.
    trained = {key: row for key, row in costs.items() if int(row["runs"])}
    assert sorted(trained) == sorted(("verbose", v) for v in GRID_VARIANTS)
    for row in costs.values():
        total = sum(float(row[stage]) for stage in STAGE_ORDER)
        assert float(row["total"]) == pytest.approx(total, abs=1e-6)
    assert trained["verbose", "raw"]["break_even_runs"] == ""
    assert float(trained["verbose", "extractive"]["compression"]) > 0
    assert trained["verbose", "extractive"]["break_even_runs"] != ""
    assert "break-even" in finished_tiny.path("results/tables/costs.md").read_text()
    for ext in ("pdf", "png"):
        assert finished_tiny.path(f"results/figures/costs.{ext}").stat().st_size > 1000
