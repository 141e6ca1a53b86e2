"""The paper's configuration on the Slurm profile, without a cluster: a dry run."""

import re

import pytest

from ..conftest import ROOT
from .conftest import make_workflow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    workflow = make_workflow(tmp_path_factory.mktemp("paper"), base="configs/paper.yaml")
    profile = ("--profile", str(ROOT / "profiles/slurm"))
    return workflow.planned_jobs(*profile), workflow.run("-n", *profile).stdout


def _requests(output, rule):
    """(wildcards, resources) of every planned job of one rule, as dicts."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        if block.startswith((f"rule {rule}:", f"localrule {rule}:")):
            fields = dict(re.findall(r"^\s+(wildcards|resources): (.*)$", block, re.M))
            jobs.append(
                tuple(
                    dict(item.split("=", 1) for item in fields.get(key, "").split(", ") if item)
                    for key in ("wildcards", "resources")
                )
            )
    return jobs


def test_paper_grid_job_counts(dry_run):
    jobs, _ = dry_run
    # 48 main runs (2 teachers x 4 students x 3 variants x 2 modes) + 7 truncation ablations
    assert jobs["train"] == 48 + 7
    assert jobs["evaluate"] == 55 * 4  # four benchmarks
    assert jobs["generate"] == jobs["verify"] == 2 * 40  # shards per teacher
    assert jobs["compress"] == 2 * 2 * 40  # two LLM compressors over every shard
    assert jobs["base_model"] == 4 and jobs["teacher_stats"] == 2
    # raw, 2 compressors, 2 truncations, answer-only; one regime; both teachers
    assert jobs["training_set"] == 2 * 6


def test_gpu_jobs_request_what_their_config_entry_says(dry_run):
    _, output = dry_run
    teachers = {
        (w["teacher"], r["gpu"], r["cpus_per_task"], r["runtime"])
        for w, r in _requests(output, "generate")
    }
    assert teachers == {("qwen", "8", "32", "120"), ("gptoss", "2", "16", "120")}
    students = {(w["student"], r["gpu"], r["mem_mb"]) for w, r in _requests(output, "train")}
    assert students == {
        ("qwen08", "1", "120000"),
        ("qwen2", "2", "240000"),
        ("qwen4", "4", "480000"),
        ("qwen9", "8", "960000"),
    }
    compressors = {(w["compressor"], r["gpu"]) for w, r in _requests(output, "compress")}
    assert compressors == {("qwen_instruct", "2"), ("llama_instruct", "4")}
    # one task drives all of a job's GPUs
    assert all(r["tasks_per_gpu"] == "0" for _, r in _requests(output, "train"))
    assert not any(r.get("gpu") for _, r in _requests(output, "verify"))  # CPU jobs
