"""Compression, training sets, training and evaluation through the snakemake CLI, and what a change
reruns."""

import csv

import pytest

from compress_distill.io import read_jsonl

from .conftest import clone

pytestmark = pytest.mark.slow

VARIANTS = ["raw", "extractive", "prune", "truncated-extractive", "truncated-prune", "answer-only"]


def test_summary_has_every_set_with_ratios_against_raw(finished_tiny):
    with finished_tiny.path("results/tables/training_sets.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["teacher"], r["variant"], r["regime"]) for r in rows} == {
        (t, v, g) for t in ("verbose", "concise") for v in VARIANTS for g in ("10", "20")
    }
    by_key = {(r["teacher"], r["variant"], r["regime"]): r for r in rows}
    for teacher in ("verbose", "concise"):
        assert float(by_key[teacher, "raw", "20"]["chars_ratio"]) == 1.0
        for variant in VARIANTS[1:]:
            assert float(by_key[teacher, variant, "20"]["tokens_ratio_tiny"]) < 1.0
        # length-matched: truncated sets have exactly their compressed twins' token counts
        for name in ("extractive", "prune"):
            twins = by_key[teacher, name, "20"], by_key[teacher, f"truncated-{name}", "20"]
            assert twins[0]["tokens_tiny"] == twins[1]["tokens_tiny"]


def test_variants_share_problem_ids_and_regimes_nest(finished_tiny):
    def ids(variant, regime):
        path = f"results/datasets/verbose/{variant}/{regime}.jsonl"
        return [example["id"] for example in read_jsonl(finished_tiny.path(path))]

    for variant in VARIANTS:
        assert ids(variant, 20) == ids("raw", 20)
        assert ids(variant, 20)[:10] == ids(variant, 10)


def test_changing_an_append_compressor_reruns_only_its_branch(finished_tiny, tmp_path):
    run = clone(finished_tiny, tmp_path)
    run.edit_config(lambda c: c["compressors"]["extractive"].update(keep_digit_steps=False))
    # 3 shards; training sets: (extractive, truncated-extractive) x 2 teachers x 2 regimes;
    # runs and evaluations: those 2 variants x full/LoRA of the grid's one teacher; aggregates
    assert run.planned_jobs() == {
        "compress": 3,
        "training_set": 8,
        "training_set_tokens": 1,  # the student's token counts of the training sets
        "training_sets_summary": 1,
        "compression_summary": 1,
        "train": 4,
        "evaluate": 4,
        "metrics_table": 1,
        "paper_tables": 1,
        "figures": 1,
        "findings": 1,
        "cost_ledger": 1,
        "resolved_config": 1,
        "provenance_table": 1,
        "report": 1,
        "all": 1,
        "total": 31,
    }


def test_changing_a_drop_compressor_reruns_every_set_of_the_grid(finished_tiny, tmp_path):
    # prune drops examples that lose their answer, so every variant trains on its survivors.
    run = clone(finished_tiny, tmp_path)
    run.edit_config(lambda c: c["compressors"]["prune"].update(ratio=0.4))
    jobs = run.planned_jobs()
    assert jobs["compress"] == 3 and jobs["training_set"] == 24
    assert jobs["train"] == 8 and jobs["evaluate"] == 8  # the whole grid
    assert "generate" not in jobs and "verify" not in jobs and "base_model" not in jobs


def test_a_student_of_the_same_tokenizer_reuses_the_counts_once_checked(finished_tiny, tmp_path):
    run = clone(finished_tiny, tmp_path)
    counts = "results/students/{}/training_set_tokens.json"

    def add_twin(config, **entry):
        config["grid"]["students"] = ["tiny"]
        twin = config["students"]["tiny"] | {"same_tokenizer_as": "tiny"}
        config["students"]["twin"] = twin | entry

    run.edit_config(add_twin)
    assert run.planned_jobs(counts.format("twin")) == {
        "student_tokenizer": 1,
        "shared_training_set_tokens": 1,
        "total": 2,
    }
    run.run(counts.format("twin"))
    twin, tiny = (run.path(counts.format(s)).read_text() for s in ("twin", "tiny"))
    assert twin == tiny

    # Another chat template counts other tokens: the job stops and says which key to remove.
    run.edit_config(lambda c: add_twin(c, chat_template="data/chat_templates/qwen3.jinja"))
    failed = run.run(counts.format("twin"), check=False)
    assert failed.returncode != 0
    log = run.path("results/logs/shared_training_set_tokens/twin.log").read_text()
    assert "config key 'students.twin.same_tokenizer_as'" in log
    assert "their chat templates differ" in log
