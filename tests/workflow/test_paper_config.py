"""The paper's configuration on the Slurm profile, without a cluster: a dry run."""

import re

import pytest
import yaml

from compress_distill.config import validate_config
from compress_distill.resources import (
    problemset_size,
    scaled_request,
    shard_traces,
    teacher_traces,
)

from ..conftest import ROOT
from .conftest import make_workflow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    workflow = make_workflow(tmp_path_factory.mktemp("paper"), base="configs/paper.yaml")
    profile = ("--profile", str(ROOT / "profiles/slurm"))
    done = workflow.run("-n", *profile)
    return workflow.planned_jobs(*profile), done.stdout, done.stderr


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
    jobs, _, _ = dry_run
    # 48 main runs (2 teachers x 4 students x 3 variants x 2 modes) + 7 truncation ablations
    assert jobs["train"] == 48 + 7
    assert jobs["evaluate"] == 55 * 4  # four benchmarks
    assert jobs["generate"] == jobs["verify"] == 2 * 40  # shards per teacher
    assert jobs["compress"] == 2 * 2 * 40  # two LLM compressors over every shard
    assert jobs["base_model"] == 4 and jobs["teacher_stats"] == 2
    # raw, 2 compressors, 2 truncations, answer-only; one regime; both teachers
    assert jobs["training_set"] == 2 * 6
    # The four students share one tokenizer: one job counts, three reuse its counts.
    assert jobs["training_set_tokens"] == 1 and jobs["shared_training_set_tokens"] == 3


def test_gpu_jobs_request_what_their_config_entry_says(dry_run):
    _, output, _ = dry_run
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


def test_every_gpu_job_fits_and_the_dry_run_shows_its_verdict(dry_run):
    _, _, log = dry_run
    verdicts = {
        job: verdict for verdict, job in re.findall(r"^  \[([^\]]+)\] (\w+ \([^;)]*)", log, re.M)
    }
    config = _paper_config()
    expected = {
        f"train (student={s}, mode={m}" for s in config["students"] for m in ("full", "lora")
    }
    expected |= {f"generate (teacher={t}" for t in config["teachers"]}
    expected |= {f"compress (compressor={c}" for c in config["compressors"]}
    expected |= {f"evaluate (student={s}" for s in config["students"]}
    assert set(verdicts) == expected
    assert set(verdicts.values()) == {"fits"}


def _paper_config():
    config = yaml.safe_load((ROOT / "configs/paper.yaml").read_text())
    return validate_config(config, ROOT / "schemas/config.schema.yaml", ROOT)


def test_cpu_jobs_ask_for_their_rules_resources_grown_by_their_traces(dry_run):
    _, output, _ = dry_run
    config = _paper_config()
    traces = {
        "verify": lambda w: shard_traces(config, w["teacher"]),
        "teacher_stats": lambda w: teacher_traces(config, w["teacher"]),
        "training_set": lambda w: int(w["regime"]),
        "problems": lambda w: problemset_size(config, w["problemset"]),
        "figures": lambda w: 0,
    }
    for rule, count in traces.items():
        jobs = _requests(output, rule)
        assert jobs, rule
        for wildcards, request in jobs:
            expected = scaled_request(config["resources"][rule], count(wildcards))
            assert (int(request["mem_mb"]), int(request["runtime"])) == (
                expected["mem_mb"],
                expected["runtime"],
            ), (rule, wildcards)
    # A shard of 10k traces, a training set of 280k: the set's job asks for more.
    verify, training_set = (
        _requests(output, "verify")[0][1],
        _requests(output, "training_set")[0][1],
    )
    assert int(training_set["mem_mb"]) > int(verify["mem_mb"])
    workers = str(config["verification"]["workers"])
    assert {r["cpus_per_task"] for _, r in _requests(output, "verify")} == {workers}
    # Token-unit truncation tokenizes in resources.training_set.cpus processes, other sets in one.
    cpus = {w["variant"]: r["cpus_per_task"] for w, r in _requests(output, "training_set")}
    truncating = str(config["resources"]["training_set"]["cpus"])
    assert {v: c for v, c in cpus.items() if v.startswith("truncated-")} == {
        "truncated-qwen_instruct": truncating,
        "truncated-llama_instruct": truncating,
    }
    assert {c for v, c in cpus.items() if not v.startswith("truncated-")} == {"1"}
    (_, counting), *_ = _requests(output, "training_set_tokens")
    assert counting["cpus_per_task"] == str(config["resources"]["training_set_tokens"]["cpus"])
