"""Per-rule logs: what a job prints, and why it failed, land in its log."""

from __future__ import annotations

import subprocess
import sys

JOB = """
from compress_distill.logs import log_to
with log_to({log!r}):
    print("started")
    raise ValueError("config key 'x': wrong")
"""


def test_a_failed_jobs_log_says_why(tmp_path):
    # A job of its own, as a rule script runs: its file descriptors, not pytest's capture.
    log = tmp_path / "logs" / "job.log"
    done = subprocess.run([sys.executable, "-c", JOB.format(log=str(log))], capture_output=True)
    assert done.returncode != 0
    text = log.read_text()
    assert "started" in text and "ValueError: config key 'x': wrong" in text
