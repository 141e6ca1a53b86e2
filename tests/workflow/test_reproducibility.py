"""Reproducibility: precise rebuilds, provenance on every artifact, the bundle and regeneration."""

import json
import os
import shutil
import subprocess
import tarfile
import time
import uuid

import pytest
import yaml

from compress_distill import bundle
from compress_distill.io import stable_hash
from compress_distill.provenance import records, sidecar

from .conftest import clone

pytestmark = pytest.mark.slow

# What follows a change to any run: its evaluations' tables and figures, and the report (with the
# provenance table). resolved_config holds the whole config, so it reruns on any config change.
AGGREGATES = {
    "metrics_table": 1,
    "findings": 1,
    "paper_tables": 1,
    "figures": 1,
    "cost_ledger": 1,
    "provenance_table": 1,
    "report": 1,
    "all": 1,
}
CONFIG_CHANGED = {"resolved_config": 1}
# Made at run time, so the literal is not in this file (which the bundle holds).
SECRET = f"sk-test-{uuid.uuid4().hex}"


def _expected(**jobs: int) -> dict[str, int]:
    counts = {name: n for name, n in jobs.items() if n}
    return counts | {"total": sum(counts.values())}


def test_a_second_run_has_nothing_to_do(finished_tiny):
    assert finished_tiny.planned_jobs() == {}


def test_b_a_students_learning_rate_reruns_only_its_runs(finished_tiny, tmp_path):
    run = clone(finished_tiny, tmp_path)
    run.edit_config(lambda c: c["students"]["tiny"]["training"].update(learning_rate=0.001))
    # Not its tokenizer, base model or the training sets: they do not depend on fine-tuning.
    assert run.planned_jobs() == _expected(train=8, evaluate=8, **AGGREGATES, **CONFIG_CHANGED)

    def lora_only(config):
        config["students"]["tiny"]["training"]["learning_rate"] = 0.003  # as it ran
        config["students"]["tiny"]["lora"]["learning_rate"] = 0.01

    run.edit_config(lora_only)
    assert run.planned_jobs() == _expected(train=4, evaluate=4, **AGGREGATES, **CONFIG_CHANGED)


def test_c_a_figure_option_reruns_only_figures_and_report(finished_tiny, tmp_path):
    run = clone(finished_tiny, tmp_path)
    run.edit_config(lambda c: c.setdefault("figures", {}).update(dpi=120))
    figures_only = {"figures": 1, "cost_ledger": 1, "provenance_table": 1, "report": 1, "all": 1}
    assert run.planned_jobs() == _expected(**figures_only, **CONFIG_CHANGED)


def test_c_the_plotting_code_reruns_only_figures_and_report(finished_tiny):
    plots = finished_tiny.code / "src/compress_distill/plots/figures.py"
    original, stat = plots.read_text(), plots.stat()
    try:
        plots.write_text(original + "\n# a change to the plotting code\n")
        jobs = finished_tiny.planned_jobs()
    finally:  # the snapshot is the session's: put it back as it was, mtime included
        plots.write_text(original)
        os.utime(plots, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert jobs == _expected(figures=1, cost_ledger=1, provenance_table=1, report=1, all=1)


def test_d_adding_a_benchmark_runs_only_its_evaluations(finished_tiny, tmp_path):
    run = clone(finished_tiny, tmp_path)

    def add_benchmark(config):
        config["problemsets"]["arith_hard"] = {
            "kind": "synthetic",
            "split": "test",
            "size": 10,
            "seed": 4,
            "min_operations": 3,
        }
        config["benchmarks"]["arith_hard"] = {"problemset": "arith_hard", "max_new_tokens": 48}

    run.edit_config(add_benchmark)
    assert run.planned_jobs() == _expected(problems=1, evaluate=8, **AGGREGATES, **CONFIG_CHANGED)


def test_e_adding_a_student_runs_only_its_work(finished_tiny, tmp_path):
    run = clone(finished_tiny, tmp_path)
    run.edit_config(lambda c: c["students"].update(tiny2=dict(c["students"]["tiny"])))
    # Its tokenizer and base, its token counts of the training sets, its 8 runs and their
    # evaluations; the training sets themselves stay.
    assert run.planned_jobs() == _expected(
        student_tokenizer=1,
        base_model=1,
        training_set_tokens=1,
        training_sets_summary=1,
        train=8,
        evaluate=8,
        **AGGREGATES,
        **CONFIG_CHANGED,
    )


def _reversed_keys(value):
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(value)}
    return [_reversed_keys(item) for item in value] if isinstance(value, list) else value


def test_f_the_same_config_in_another_key_order_reruns_nothing(finished_tiny, tmp_path):
    """Every mapping's keys in reverse order, as a YAML formatter might write them; only the order
    of the named entries (teachers, compressors, ...) stays, since it orders tables and colours."""
    run = clone(finished_tiny, tmp_path)
    config = yaml.safe_load(run.configfile.read_text())
    named = ("problemsets", "teachers", "compressors", "students", "benchmarks")
    reordered = {
        section: (
            {name: _reversed_keys(entry) for name, entry in config[section].items()}
            if section in named
            else _reversed_keys(config[section])
        )
        for section in reversed(config)
    }
    run.configfile.write_text(yaml.safe_dump(reordered, sort_keys=False))
    assert run.planned_jobs() == {}


def test_f_a_parallelism_setting_reruns_no_job_it_does_not_describe(finished_tiny, tmp_path):
    run = clone(finished_tiny, tmp_path)
    run.edit_config(lambda c: c["evaluation"].update(workers=2))
    # The resolved config records it (with the report that shows the config); no evaluation reruns.
    assert run.planned_jobs() == _expected(report=1, all=1, **CONFIG_CHANGED)


# --- provenance -------------------------------------------------------------------------------


def _artifacts(workflow) -> dict[str, str]:
    """Every output file of the run and its rule, as `snakemake --summary` lists them."""
    lines = workflow.run("--summary").stdout.splitlines()
    rows = [line.split("\t") for line in lines if "\t" in line][1:]
    return {row[0]: row[2] for row in rows}


def _records(workflow) -> dict[str, dict]:
    """Provenance records by the outputs they describe."""
    return {
        output: record
        for _, record in records(workflow.path("results"))
        for output in record["outputs"]
    }


def test_every_artifact_has_its_provenance_record(finished_tiny):
    artifacts = _artifacts(finished_tiny)
    by_output = _records(finished_tiny)
    assert len(artifacts) > 100 and set(artifacts) <= set(by_output)
    for output, rule in artifacts.items():
        record = by_output[output]
        assert record["rule"] == rule
        assert record["outputs"][output], output  # a checksum
        assert all(record["inputs"].values()), output
        assert record["config_hash"] == stable_hash(record["config"])
        assert record["code"]["commit"] and record["code"]["package_hash"]
        assert record["versions"]["snakemake"] and record["hardware"]["cpu_count"]
        assert record["started"] <= record["finished"] and "slurm_job_id" in record
    model = by_output["results/runs/verbose/raw/tiny/full/10/model"]
    assert model["versions"]["torch"] and model["wildcards"]["mode"] == "full"
    assert model["config"]["settings"]["learning_rate"] == 0.003
    # A job's record sits beside its first output.
    assert sidecar("results/tables/main.md") in {
        path.relative_to(finished_tiny.workdir) for path, _ in records(finished_tiny.workdir)
    }


def test_config_hash_changes_when_and_only_when_its_slice_does(finished_tiny, tmp_path):
    before = _records(finished_tiny)
    # Jobs of one rule that receive the same slice share its hash; different slices differ.
    sets = {r["config_hash"] for o, r in before.items() if r["rule"] == "training_set"}
    assert len(sets) == 1
    runs = {r["config_hash"] for r in before.values() if r["rule"] == "train"}
    assert len(runs) == 2  # full and LoRA settings
    run = clone(finished_tiny, tmp_path)
    # A resource is not part of any job's slice; the figures' resolution is the figures' only.
    run.edit_config(lambda c: c["students"]["tiny"].setdefault("resources", {}).update(cpus=2))
    run.edit_config(lambda c: c.setdefault("figures", {}).update(dpi=120))
    run.run()
    after = _records(run)
    changed = {o for o, r in after.items() if r["config_hash"] != before[o]["config_hash"]}
    # The figures, and the cost ledger's tables beside its figure.
    figures = {o for o, r in after.items() if r["rule"] in ("figures", "cost_ledger")}
    assert changed == figures | {"results/config.yaml"}
    rerun = {o for o, r in after.items() if r["started"] != before[o]["started"]}
    assert rerun - changed == {"results/tables/provenance.csv", "results/report.html"}


# --- the bundle -------------------------------------------------------------------------------


def test_bundle_verifies_and_regenerates_its_tables(finished_tiny, tmp_path, monkeypatch):
    run = clone(finished_tiny, tmp_path)
    # A key in the environment of every job that the bundle builds or reruns: it must not leak.
    monkeypatch.setenv("COMPRESS_DISTILL_TEST_API_KEY", SECRET)
    run.run("results/bundle/compress-distill.tar.gz")
    archive = run.path("results/bundle/compress-distill.tar.gz")
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    root = unpacked / bundle.BUNDLE_DIR

    manifest = (root / bundle.MANIFEST).read_text()
    assert bundle.changed_files(root) == []
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "--quiet", "-c", bundle.MANIFEST], cwd=root, check=True)
    for name in (
        "results/config.yaml",
        "results/report.html",
        "results/tables/main.md",
        "results/tables/provenance.csv",
        "results/figures/training_cost.png",
        "results/runs/verbose/raw/tiny/lora/10/train_metrics.json",
        "results/evals/verbose/raw/tiny/lora/10/arith_test.metrics.json",
        "results/runs/verbose/raw/tiny/lora/10/model.prov.json",
        "cards/problemsets/arith_train.json",
        "cards/training_sets/concise/prune/20.json",
        "workflow/Snakefile",
        "workflow/src/compress_distill/bundle.py",
        "workflow/COMMIT.json",
        "environment/requirements.lock",
    ):
        assert f"  {name}\n" in manifest, name
    # Large artifacts are listed with checksums, not packed.
    large = (root / bundle.LARGE).read_text()
    assert "results/runs/verbose/raw/tiny/full/10/model/model.safetensors" in large
    assert not (root / "results/runs/verbose/raw/tiny/full/10/model").exists()
    assert "snakemake==" in (root / "environment/requirements.lock").read_text()
    card = json.loads((root / "cards/problemsets/arith_train.json").read_text())
    assert card["problems"] == 60 and card["license"]

    started = time.perf_counter()
    assert bundle.regenerate(root) == []  # every table equals the bundled one
    seconds = time.perf_counter() - started
    print(f"regenerated in {seconds:.1f} s")
    tables = bundle.bundled_tables(root)
    assert "results/tables/main.md" in tables and "results/tables/metrics.csv" in tables
    for name in tables:
        assert (root / name).read_bytes() == run.path(name).read_bytes()
    # Only the aggregates ran: their records are new, the runs' are the bundled ones.
    bundled = json.loads(sidecar(archive).read_text())["started"]
    regenerated = {r["rule"] for _, r in records(root / "results") if r["started"] > bundled}
    assert regenerated == {
        *AGGREGATES,
        *CONFIG_CHANGED,
        "compression_summary",
        "training_sets_summary",
    } - {"all"}

    # The secret reached neither the bundle nor any record or log.
    for folder in (root, run.path("results")):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix not in (".png", ".pdf", ".safetensors", ".gz"):
                assert SECRET not in path.read_text(errors="ignore"), path
