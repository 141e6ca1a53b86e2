"""Which GPUs of a workstation a job uses: its own, for its lifetime.

Under the local profile every job runs on one machine, and the `gpu` resource only caps how many
GPUs the running jobs ask for in all; without more, every job would land on device 0. A job that
asks for k GPUs claims k devices no other job holds, with one lock file per device (fcntl.flock)
in a folder per user and machine, and sets CUDA_VISIBLE_DEVICES to them before any CUDA library
starts. A lock belongs to the open file, so it goes when the job ends, however it ends: a killed
job's devices are free again. A job that finds too few devices free waits for them; one that asks
for more than the machine has fails at once.

Under Slurm the job's allocation already sets CUDA_VISIBLE_DEVICES (often numbering its devices
from 0 in every job, so names would clash across jobs), so nothing is claimed there; nor on a
machine without GPUs, where the `gpu` resource only caps concurrency.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

VISIBLE = "CUDA_VISIBLE_DEVICES"


def default_lock_dir() -> Path:
    """One folder per user and machine, shared by all of that user's workflows (/tmp, not
    TMPDIR, which may differ between jobs)."""
    return Path("/tmp", f"compress-distill-gpus-{os.getuid()}")


def machine_devices() -> list[str]:
    """The machine's GPUs as CUDA_VISIBLE_DEVICES names them: its value when set, else the indices
    of the GPUs `nvidia-smi -L` lists. Neither touches CUDA, which reads CUDA_VISIBLE_DEVICES only
    when it starts."""
    visible = os.environ.get(VISIBLE)
    if visible is not None:
        return [device.strip() for device in visible.split(",") if device.strip()]
    if shutil.which("nvidia-smi") is None:
        return []
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    count = sum(line.startswith("GPU ") for line in listed.stdout.splitlines())
    return [str(index) for index in range(count)]


def _try_lock(lock_dir: Path, device: str) -> int | None:
    """An open, locked file descriptor of the device's lock file, or None if another holds it."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in device)
    fd = os.open(lock_dir / f"gpu-{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _claim(lock_dir: Path, devices: Sequence[str], count: int) -> dict[str, int] | None:
    """`count` free devices, locked, or None (and none held) if fewer are free. Taking all or
    none means two jobs waiting for the same devices never each hold a part."""
    held: dict[str, int] = {}
    for device in devices:
        fd = _try_lock(lock_dir, device)
        if fd is not None:
            held[device] = fd
            if len(held) == count:
                return held
    for fd in held.values():
        os.close(fd)
    return None


@contextlib.contextmanager
def claimed_gpus(
    count: int,
    devices: Sequence[str] | None = None,
    lock_dir: Path | None = None,
    timeout_s: float | None = None,
    poll_s: float = 1.0,
) -> Iterator[list[str]]:
    """Hold `count` GPUs of this machine that no other job holds, visible to this process and its
    children as CUDA_VISIBLE_DEVICES; yields their names ([] where nothing is claimed: count < 1,
    under Slurm, or no GPUs). Waits while too few are free (forever, or up to timeout_s, then
    TimeoutError); more than the machine has is a ValueError.

    `devices` defaults to machine_devices(), `lock_dir` to default_lock_dir().
    """
    # Listing the devices may start nvidia-smi: not for CPU jobs nor under Slurm, which chose them.
    if count < 1 or "SLURM_JOB_ID" in os.environ:
        yield []
        return
    devices = machine_devices() if devices is None else list(devices)
    if not devices:
        yield []
        return
    if count > len(devices):
        raise ValueError(
            f"the job needs {count} GPUs, this machine has {len(devices)} ({','.join(devices)}): "
            "lower its resources.gpus"
        )
    lock_dir = default_lock_dir() if lock_dir is None else lock_dir
    lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    started = time.monotonic()
    held = _claim(lock_dir, devices, count)
    if held is None:
        print(f"waiting for {count} free GPUs of {','.join(devices)}", file=sys.stderr, flush=True)
    while held is None:
        if timeout_s is not None and time.monotonic() - started >= timeout_s:
            raise TimeoutError(f"{count} of GPUs {','.join(devices)} not free after {timeout_s} s")
        time.sleep(poll_s)
        held = _claim(lock_dir, devices, count)
    before = os.environ.get(VISIBLE)
    os.environ[VISIBLE] = ",".join(held)
    print(f"GPUs {os.environ[VISIBLE]} claimed", file=sys.stderr, flush=True)
    try:
        yield list(held)
    finally:
        if before is None:
            os.environ.pop(VISIBLE, None)
        else:
            os.environ[VISIBLE] = before
        for fd in held.values():
            os.close(fd)
