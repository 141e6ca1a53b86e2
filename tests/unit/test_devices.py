"""A workstation's GPUs shared out among jobs (devices.claimed_gpus), with fake device lists."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from compress_distill.devices import VISIBLE, claimed_gpus, machine_devices

FOUR = ["0", "1", "2", "3"]


@pytest.fixture(autouse=True)
def _workstation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not under Slurm, whatever runs the tests; CUDA_VISIBLE_DEVICES as the test sets it."""
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv(VISIBLE, raising=False)


def test_concurrent_claimants_get_disjoint_devices_and_see_only_theirs(tmp_path: Path) -> None:
    with claimed_gpus(2, FOUR, tmp_path) as first:
        assert os.environ[VISIBLE] == ",".join(first)
        with claimed_gpus(1, FOUR, tmp_path) as second:
            assert os.environ[VISIBLE] == ",".join(second)
            with claimed_gpus(1, FOUR, tmp_path) as third:
                assert len(first) == 2 and sorted(first + second + third) == FOUR
                with (
                    pytest.raises(TimeoutError, match="not free"),
                    claimed_gpus(1, FOUR, tmp_path, timeout_s=0.2, poll_s=0.05),
                ):
                    pass
            assert os.environ[VISIBLE] == ",".join(second)  # restored as each one ends
        with claimed_gpus(2, FOUR, tmp_path) as again:  # the released ones
            assert not set(again) & set(first)
    assert VISIBLE not in os.environ


def test_a_claimant_waits_for_a_release_and_takes_all_or_nothing(tmp_path: Path) -> None:
    devices = ["0", "1"]
    got: list[str] = []
    with claimed_gpus(1, devices, tmp_path) as holder:

        def claim_two() -> None:
            with claimed_gpus(2, devices, tmp_path, timeout_s=10, poll_s=0.05) as both:
                got.extend(both)

        waiter = threading.Thread(target=claim_two)
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive() and not got
        # While it waits it holds nothing: the free device can still be taken.
        with claimed_gpus(1, devices, tmp_path, timeout_s=0) as other:
            assert other != holder
    waiter.join(10)
    assert sorted(got) == devices


def test_a_killed_holders_devices_are_free(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from compress_distill.devices import claimed_gpus\n"
            f"with claimed_gpus(2, ['0', '1'], Path({str(tmp_path)!r})) as held:\n"
            "    print(','.join(held), flush=True)\n"
            "    time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "0,1"
        with (
            pytest.raises(TimeoutError),
            claimed_gpus(1, ["0", "1"], tmp_path, timeout_s=0.2, poll_s=0.05),
        ):
            pass
    finally:
        holder.kill()  # SIGKILL: no cleanup runs
        holder.wait()
    with claimed_gpus(2, ["0", "1"], tmp_path, timeout_s=0) as held:
        assert held == ["0", "1"]


def test_more_than_the_machine_has_is_an_error(tmp_path: Path) -> None:
    with (
        pytest.raises(ValueError, match="needs 3 GPUs, this machine has 2"),
        claimed_gpus(3, ["0", "1"], tmp_path),
    ):
        pass


def test_nothing_is_claimed_without_gpus_under_slurm_or_for_cpu_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for count, devices in ((0, FOUR), (2, [])):
        with claimed_gpus(count, devices, tmp_path) as held:
            assert held == [] and VISIBLE not in os.environ
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv(VISIBLE, "0")  # Slurm's choice stands
    with claimed_gpus(1, FOUR, tmp_path) as held:
        assert held == [] and os.environ[VISIBLE] == "0"
    assert not any(tmp_path.iterdir())


def test_machine_devices_from_the_environment_or_nvidia_smi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VISIBLE, "2, 5")
    assert machine_devices() == ["2", "5"]
    monkeypatch.setenv(VISIBLE, "")  # no GPU visible
    assert machine_devices() == []
    monkeypatch.delenv(VISIBLE)
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'GPU 0: NVIDIA H100 (UUID: GPU-a)'\n"
        "echo 'GPU 1: NVIDIA H100 (UUID: GPU-b)'\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    assert machine_devices() == ["0", "1"]
    monkeypatch.setenv("PATH", str(tmp_path))
    assert machine_devices() == []


def test_every_rule_script_runs_on_its_jobs_own_gpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """recorded(snakemake), which every rule script enters first, claims the job's `gpu`."""
    from compress_distill import devices, provenance

    monkeypatch.setattr(devices, "default_lock_dir", lambda: tmp_path / "locks")
    monkeypatch.setattr(provenance, "make_record", lambda **_: {})
    monkeypatch.setenv(VISIBLE, "0,1,2")

    def job(gpu: int) -> SimpleNamespace:
        return SimpleNamespace(
            log=[tmp_path / f"{gpu}.log"],
            resources=SimpleNamespace(gpu=gpu),
            threads=1,
            rule="r",
            wildcards={},
            params={},
            input=[],
            output=[tmp_path / f"{gpu}.out"],
            scriptdir=str(tmp_path),
        )

    with provenance.recorded(job(2)):
        assert os.environ[VISIBLE] == "0,1"
        # Another job, in its own process as Snakemake runs it, sees the machine's devices.
        with claimed_gpus(1, ["0", "1", "2"], timeout_s=0) as other:
            assert other == ["2"]
    with provenance.recorded(SimpleNamespace(**{**vars(job(0)), "resources": SimpleNamespace()})):
        assert os.environ[VISIBLE] == "0,1,2"  # a job without GPUs is left as it was
