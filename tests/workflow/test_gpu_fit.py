"""The GPU fit check stops a dry run whose GPU job cannot fit, before anything is submitted."""

import pytest

pytestmark = pytest.mark.slow


def _student_on_a_small_gpu(config: dict) -> None:
    """The tiny config's student as a 7B model on one 24 GB A10."""
    student = config["students"]["tiny"]
    student["resources"] = {"gpus": 1, "gpu_model": "a10"}
    student["size"] = {
        "parameters": 7.0e9,
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "intermediate_size": 11008,
        "vocab_size": 32000,
    }


def test_an_oversized_job_stops_the_dry_run_with_one_message(new_workflow):
    workflow = new_workflow(edit=_student_on_a_small_gpu)
    done = workflow.run("-n", check=False)
    log = done.stdout + done.stderr
    assert done.returncode != 0
    assert "GPU job(s) will not fit in GPU memory" in log
    assert "train (student=tiny, mode=full" in log and "a10 24 GiB" in log
    assert "change: gradient_checkpointing: true" in log
    assert "Job stats:" not in log  # nothing planned, let alone submitted
