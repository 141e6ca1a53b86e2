"""Compression and evaluation jobs SIGKILLed in the middle resume from their progress files: the
rerun's outputs are byte-identical to an uninterrupted run's, nothing lost or duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ..engines import test_openai_engine
from .conftest import Workflow, clone, one_slow_teacher, wait_for_progress

pytestmark = pytest.mark.slow

VERIFIED = "results/traces/verbose/verified/000.jsonl"
COMPRESSED = "results/traces/verbose/slow/000.jsonl"
PREDICTIONS = "results/evals/verbose/raw/tiny/full/10/arith_test.jsonl"
MODEL = "results/runs/verbose/raw/tiny/full/10/model"


def timed_run(workflow: Workflow, *args: str) -> float:
    started = time.monotonic()
    workflow.run(*args)
    return time.monotonic() - started


def kill_mid_job(workflow: Workflow, target: str, progress: str, done: int) -> int:
    """Runs the workflow for `target`, SIGKILLs it once `done` results are in its progress file,
    and returns how many there were."""
    process = subprocess.Popen(
        workflow.command(target),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for_progress(workflow, process, done, timeout_s=300, progress=progress)
    os.killpg(process.pid, signal.SIGKILL)  # the whole job, engine and Snakemake alike
    process.wait()
    assert not workflow.path(target).exists()
    (path,) = workflow.path(progress).glob("*.jsonl")
    workflow.run("--unlock")
    return len(path.read_text().splitlines())


def resume_and_compare(
    base: Workflow, tmp_path: Path, needs: str, target: str, log: str, done: int
) -> None:
    """Run `base` up to `needs`; then in one copy run `target`'s job, in another kill it once
    `done` results are in its progress file (in .progress beside the target) and rerun it. The
    outputs (the target and its summary or metrics file) must be the same."""
    base.run(needs)
    reference, killed = clone(base, tmp_path, "reference"), clone(base, tmp_path, "killed")
    progress = str(Path(target).parent / ".progress")
    uninterrupted_s = timed_run(reference, target)
    done_before = kill_mid_job(killed, target, progress, done)
    resumed_s = timed_run(killed, "--rerun-incomplete", target)
    total = len(reference.path(target).read_text().splitlines())
    assert done <= done_before < total
    assert f"resuming: {done_before} of {total} " in killed.path(log).read_text()
    # The target and its summary or metrics (provenance records differ: they hold times).
    stem = Path(target).name.removesuffix(".jsonl")
    for path in reference.path(target).parent.glob(f"{stem}.*"):
        if not path.name.endswith(".prov.json"):
            twin = killed.path(str(Path(target).parent / path.name))
            assert twin.read_bytes() == path.read_bytes(), path.name
    assert not list(killed.path(progress).glob("*.jsonl"))
    print(f"{target}: uninterrupted {uninterrupted_s:.1f} s, resumed {resumed_s:.1f} s")


chat_server = test_openai_engine.chat_server  # a fixture: the fake chat-completions server


# An llm compressor whose server answers each call in 0.1 s: slow enough to kill mid-shard.
@pytest.mark.parametrize("chat_server", [{"delay_s": lambda text: 0.1}], indirect=True)
def test_compress_killed_mid_shard_resumes_with_identical_outputs(
    new_workflow, tmp_path, chat_server
):
    def edit(config: dict) -> None:
        one_slow_teacher(0.0)(config)
        config["compressors"]["slow"] = {
            "kind": "llm",
            "engine": "openai",
            "model": "echo",
            "engine_args": {"base_url": chat_server.base_url, "progress": False},
            "answer_policy": "append",  # the server echoes the prompt reversed: no answer kept
            "batch_size": 1,
        }

    resume_and_compare(
        new_workflow("base", edit=edit),
        tmp_path,
        VERIFIED,
        COMPRESSED,
        "results/logs/compress/verbose/slow/000.log",
        done=5,
    )


def test_evaluate_killed_mid_benchmark_resumes_with_identical_outputs(new_workflow, tmp_path):
    def edit(config: dict) -> None:
        one_slow_teacher(0.0)(config)
        # Sampled, two seeds, one problem per chunk: 40 chunks of answers to kill among.
        config["benchmarks"]["arith_test"] |= {"temperature": 0.7, "seeds": [0, 1]}
        config["evaluation"]["engine_args"]["batch_size"] = 1

    resume_and_compare(
        new_workflow("base", edit=edit),
        tmp_path,
        MODEL,
        PREDICTIONS,
        "results/logs/evaluate/verbose/raw/tiny/full/10/arith_test.log",
        done=8,
    )
