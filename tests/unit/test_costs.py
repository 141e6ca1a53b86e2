"""The cost ledger on hand-made provenance records: sums, end-to-end costs and break-even."""

import csv
import math
import re

import pytest

from compress_distill.costs import (
    STAGES,
    Grid,
    Job,
    Scale,
    break_even,
    costs_table,
    jobs,
    ledger,
    variant_costs,
    write_costs,
)
from compress_distill.io import write_json
from compress_distill.provenance import sidecar
from compress_distill.tables import to_markdown
from tests.conftest import ROOT

SCALE = Scale(traces_per_teacher=1000, runs_per_variant=8)


def record(rule, wall_s, threads=1, gpus=0, **wildcards):
    return {
        "rule": rule,
        "wildcards": wildcards,
        "wall_time_s": wall_s,
        "held": {"threads": threads, "gpus": gpus},
        "hardware": {"gpu_count": gpus},
    }


def run_record(rule, variant, wall_s, student="s", mode="full", regime="50", **extra):
    wildcards = dict(teacher="t", variant=variant, student=student, mode=mode, regime=regime)
    return record(rule, wall_s, **wildcards, **extra)


# One teacher, compressor c: raw trains in 100 s a run, c in 40 s, truncated-c in 70 s.
RECORDS = [
    record("problems", 2, problemset="p"),
    record("base_model", 8, student="s"),
    record("generate", 30, threads=2, teacher="t", shard="000"),
    record("verify", 5, threads=2, teacher="t", shard="000"),
    record("teacher_stats", 1, teacher="t"),
    record("compress", 90, teacher="t", compressor="c", shard="000"),
    *(record("training_set", 1, teacher="t", variant=v, regime="50") for v in ("raw", "c")),
    record("training_set", 1, teacher="t", variant="truncated-c", regime="50"),
    run_record("train", "raw", 100),
    run_record("train", "c", 40),
    run_record("train", "truncated-c", 70),
    run_record("evaluate", "raw", 20, benchmark="b"),
    run_record("evaluate", "c", 10, benchmark="b"),
    # Aggregates are not counted: an unpacked bundle reruns them.
    record("metrics_table", 3),
]
GRID = Grid(
    values={"teacher": ["t"], "variant": ["raw", "c", "truncated-c"], "student": ["s"]},
    runs=[f"t/{v}/s/full/50" for v in ("raw", "c", "truncated-c")],
)


def counted(records=RECORDS):
    return [Job.from_record(r) for r in records if r["rule"] in STAGES]


def by_variant(rows):
    return {row["variant"]: row for row in rows}


def test_the_ledger_sums_equal_the_records():
    rows = ledger(counted())
    stage_records = [r for r in RECORDS if r["rule"] in STAGES]
    assert sum(row["jobs"] for row in rows) == len(stage_records)
    core_s = sum(r["wall_time_s"] * r["held"]["threads"] for r in stage_records)
    assert sum(row["core_h"] for row in rows) * 3600 == pytest.approx(core_s)
    assert sum(row["gpu_h"] for row in rows) == 0
    compress = next(row for row in rows if row["rule"] == "compress")
    assert compress["stage"] == "compression" and compress["compressor"] == "c"
    train_c = next(r for r in rows if r["rule"] == "train" and r["variant"] == "c")
    assert train_c["compressor"] == "c"  # a run's compressor is its variant's
    assert [row["stage"] for row in rows][:2] == ["setup", "setup"]


def test_gpu_jobs_count_gpu_hours_and_cpu_jobs_none():
    jobs_ = [Job.from_record(record("train", 3600, threads=8, gpus=4))]
    row = ledger(jobs_)[0]
    assert (row["gpu_h"], row["core_h"], row["wall_h"]) == (4, 8, 1)


def test_a_record_without_held_counts_one_core_and_the_gpus_it_saw():
    old = record("generate", 10, gpus=2, teacher="t", shard="000")
    del old["held"]
    job = Job.from_record(old)
    assert (job.threads, job.gpus) == (1, 2)


def test_end_to_end_cost_of_each_variant():
    rows = by_variant(variant_costs(counted(), {"t": 100}, SCALE))
    assert list(rows) == ["raw", "c", "truncated-c"]  # the study's order
    hours = 1 / 3600
    setup = 10 * hours
    shared = {"generation": 60 * hours, "verification": 11 * hours}
    for row in rows.values():
        assert row["unit"] == "CPU core-h" and row["setup"] == pytest.approx(setup)
        assert all(row[stage] == pytest.approx(h) for stage, h in shared.items())
    assert rows["raw"]["compression"] == 0
    # truncated-c is cut to c's compressed lengths: it needs c's compression too.
    assert (
        rows["c"]["compression"] == rows["truncated-c"]["compression"] == pytest.approx(90 * hours)
    )
    assert rows["c"]["total"] == pytest.approx(setup + 71 * hours + 90 * hours + 51 * hours)
    assert rows["truncated-c"]["evaluation"] == 0


def test_break_even_as_measured_and_at_scale():
    rows = by_variant(variant_costs(counted(), {"t": 100}, SCALE))
    # 90 s of compression repaid at 60 s a run (raw 100 s, c 40 s).
    assert rows["c"]["break_even_runs"] == pytest.approx(1.5)
    assert rows["truncated-c"]["break_even_runs"] == pytest.approx(3.0)
    assert rows["raw"]["break_even_runs"] is None
    # At 1,000 traces: compression x10 (100 verified), training x20 (50 examples a run).
    assert rows["c"]["compression_at_scale"] == pytest.approx(900 / 3600)
    assert rows["c"]["raw_training_per_run_at_scale"] == pytest.approx(2000 / 3600)
    assert rows["c"]["break_even_runs_at_scale"] == pytest.approx(0.75)
    assert rows["c"]["runs_at_scale"] == 8


@pytest.mark.parametrize(
    ("compression", "raw", "variant", "expected"),
    [
        (90.0, 100.0, 40.0, 1.5),  # faster
        (90.0, 100.0, 100.0, math.inf),  # not faster
        (90.0, 100.0, 120.0, math.inf),  # slower
        (0.0, 100.0, 40.0, 0.0),  # nothing to repay (answer-only)
        (90.0, None, 40.0, None),  # no raw run to compare
    ],
)
def test_break_even_cases(compression, raw, variant, expected):
    assert break_even(compression, raw, variant) == expected


def test_without_a_raw_run_the_break_even_is_undefined():
    records = [r for r in RECORDS if r["wildcards"].get("variant") != "raw"]
    rows = by_variant(variant_costs(counted(records), {"t": 100}, SCALE))
    assert rows["c"]["break_even_runs"] is None and rows["c"]["raw_training_per_run"] is None
    assert rows["c"]["break_even_runs_at_scale"] is None
    assert "| c |" in to_markdown(costs_table(list(rows.values())))


def test_a_slower_variant_never_breaks_even_and_the_table_says_so():
    records = [*RECORDS[:-4], run_record("train", "c", 150), *RECORDS[-3:]]
    rows = variant_costs(counted(records), {"t": 100}, SCALE)
    assert by_variant(rows)["c"]["break_even_runs"] == math.inf
    assert "never" in to_markdown(costs_table(rows))


def test_only_the_configured_grid_is_counted(tmp_path):
    stale = run_record("train", "c", 999, student="gone")
    for i, rec in enumerate([*RECORDS, stale]):
        write_json(sidecar(tmp_path / f"{i:02d}.out"), rec)
    found = jobs(tmp_path, GRID)
    assert len(found) == len(counted())
    assert all(job.key("student") != "gone" for job in found)


def test_write_costs(tmp_path):
    for i, rec in enumerate(RECORDS):
        write_json(sidecar(tmp_path / f"{i:02d}.out"), rec)
    stats = tmp_path / "stats.json"
    write_json(stats, {"correct": 100})
    outputs = {name: tmp_path / f"out.{name}" for name in ("csv", "md", "ledger")}
    write_costs(tmp_path, GRID, {"t": stats}, SCALE, outputs | {"figure": tmp_path / "costs"})
    with open(outputs["csv"]) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["variant"] for row in rows] == ["raw", "c", "truncated-c"]
    assert float(rows[1]["break_even_runs"]) == pytest.approx(1.5)
    assert "**teacher t**" in outputs["md"].read_text()
    for ext in ("pdf", "png"):
        assert (tmp_path / f"costs.{ext}").stat().st_size > 1000


def test_every_stage_rule_of_the_workflow_is_counted():
    """A new stage rule must be given its stage; the aggregates' rules are left out."""
    aggregates = {"aggregate.smk", "report.smk", "bundle.smk", "cost.smk", "common.smk"}
    rules = {
        name
        for path in (ROOT / "rules").glob("*.smk")
        if path.name not in aggregates
        for name in re.findall(r"^\s*rule (\w+):", path.read_text(), re.M)
    }
    assert rules == set(STAGES)
