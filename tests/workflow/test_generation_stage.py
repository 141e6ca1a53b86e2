"""The first stage through the snakemake CLI: problems -> raw traces -> verified traces -> stats."""

import json
import os
import signal
import subprocess
import time

import pytest

from compress_distill.io import read_jsonl

from .conftest import make_workflow

pytestmark = pytest.mark.slow


def test_dry_run_has_one_generate_and_verify_job_per_teacher_shard(tiny_workflow):
    jobs = tiny_workflow.planned_jobs()
    # tiny.yaml: verbose has 2 shards, concise 1.
    assert jobs["generate"] == 3 and jobs["verify"] == 3
    assert jobs["teacher_stats"] == 2 and jobs["problemset"] == 2


def test_stage_outputs_and_second_run_has_nothing_to_do(finished_tiny):
    stats = json.loads(finished_tiny.path("results/traces/verbose/stats.json").read_text())
    assert stats["samples"] == 60 and 0 < stats["correct"] < 60  # real slips were filtered
    verified = read_jsonl(finished_tiny.path("results/traces/verbose/verified/000.jsonl"))
    assert verified and all(row["verdict"] == "correct" for row in verified)
    checked = read_jsonl(finished_tiny.path("results/traces/verbose/checked/000.jsonl"))
    assert {row["checker"].split("==")[0] for row in checked} == {"math-verify"}
    assert finished_tiny.planned_jobs() == {}


def test_bad_config_key_stops_the_run_with_its_path(tiny_workflow):
    tiny_workflow.edit_config(lambda c: c["teachers"]["verbose"].update(sampels=2))
    done = tiny_workflow.run("-n", check=False)
    assert done.returncode != 0
    assert "config key 'teachers.verbose.sampels': unknown key" in done.stdout + done.stderr


def _slow_teacher(config):
    # The scripted teacher at ~25 ms per sample, so the job can be killed in the middle of a shard.
    config["teachers"] = {"verbose": config["teachers"]["verbose"]}
    config["teachers"]["verbose"]["engine_args"]["latency_s"] = 0.025
    config["teachers"]["verbose"]["shards"] = 1


def test_sigkill_mid_shard_then_rerun_loses_and_duplicates_nothing(tmp_path):
    reference = make_workflow(tmp_path, name="reference")
    reference.edit_config(_slow_teacher)
    reference.run()

    killed = make_workflow(tmp_path, name="killed")
    killed.edit_config(_slow_teacher)
    progress_dir = killed.path("results/traces/verbose/raw/.progress")
    process = subprocess.Popen(
        killed.command(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        files = list(progress_dir.glob("*.jsonl")) if progress_dir.exists() else []
        if files and len(files[0].read_text().splitlines()) >= 16:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the whole job, engine and Snakemake alike
    process.wait()

    shard = "results/traces/verbose/raw/000.jsonl"
    assert not killed.path(shard).exists()
    done_before = len(next(progress_dir.glob("*.jsonl")).read_text().splitlines())
    assert 16 <= done_before < 60

    killed.run("--unlock")
    killed.run("--rerun-incomplete")
    log = killed.path("results/logs/generate/verbose/000.log").read_text()
    assert f"resuming: {done_before} of 60 samples already done" in log
    assert killed.path(shard).read_bytes() == reference.path(shard).read_bytes()
    assert not list(progress_dir.glob("*.jsonl"))
