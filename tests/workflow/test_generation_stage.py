"""The first stage through the snakemake CLI: problems -> raw traces -> verified traces -> stats."""

import json
import os
import signal
import subprocess

import pytest

from compress_distill.io import read_jsonl

from .conftest import PROGRESS, SHARD, one_slow_teacher, wait_for_progress

pytestmark = pytest.mark.slow


def test_dry_run_has_one_generate_and_verify_job_per_teacher_shard(tiny_workflow):
    jobs = tiny_workflow.planned_jobs()
    # tiny.yaml: verbose has 2 shards, concise 1.
    assert jobs["generate"] == 3 and jobs["verify"] == 3
    assert jobs["teacher_stats"] == 2 and jobs["problems"] == 2


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


def test_sigkill_mid_shard_then_rerun_loses_and_duplicates_nothing(new_workflow):
    # Only the jobs that the shard needs run (its problem set, then generate): the teacher at
    # ~25 ms per sample, so the job can be killed in the middle of the shard.
    reference = new_workflow("reference", edit=one_slow_teacher(0.025))
    reference.run(SHARD)

    killed = new_workflow("killed", edit=one_slow_teacher(0.025))
    progress_dir = killed.path(PROGRESS)
    process = subprocess.Popen(
        killed.command(SHARD),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_progress(killed, process, samples=16, timeout_s=120)
    os.killpg(process.pid, signal.SIGKILL)  # the whole job, engine and Snakemake alike
    process.wait()

    assert not killed.path(SHARD).exists()
    done_before = len(next(progress_dir.glob("*.jsonl")).read_text().splitlines())
    assert 16 <= done_before < 60

    killed.run("--unlock")
    killed.run("--rerun-incomplete", SHARD)
    log = killed.path("results/logs/generate/verbose/000.log").read_text()
    assert f"resuming: {done_before} of 60 samples already done" in log
    assert killed.path(SHARD).read_bytes() == reference.path(SHARD).read_bytes()
    assert not list(progress_dir.glob("*.jsonl"))
