"""The tiny configuration on a real one-node Slurm cluster, through profiles/slurm.

The cluster is Debian's slurm-wlm and munge on this host (`apt-get install slurm-wlm munge`, as
root, which .ci/run does); without them the tests are skipped and say why.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import ROOT
from .conftest import SHARD, Workflow, one_slow_teacher, wait_for_progress

pytestmark = pytest.mark.slow

SLURM_CONF = Path("/etc/slurm/slurm.conf")
GRES_CONF = SLURM_CONF.with_name("gres.conf")
GPUS = 2  # generic resources the test node declares, backed by plain files: no CUDA behind them
MARKER = "# compress-distill test cluster"
DAEMONS = ("slurmctld", "slurmd", "munged")
# The test overlay: no accounting daemon here, so no account and squeue for job status; fast polls.
OVERLAY = (
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "2",
)


def _binary(name: str) -> str | None:
    sbin = Path("/usr/sbin") / name  # daemons live in sbin, which a user's PATH may lack
    return shutil.which(name) or (str(sbin) if sbin.exists() else None)


def _config(state: Path) -> str:
    host = socket.gethostname()
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 * 8 // 10
    return f"""{MARKER}
ClusterName=cdtest
SlurmctldHost={host}
SlurmUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation={state}/state
SlurmdSpoolDir={state}/spool
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
GresTypes=gpu
NodeName={host} CPUs={os.cpu_count()} RealMemory={memory_mb} Gres=gpu:{GPUS} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    missing = [name for name in (*DAEMONS, "sbatch", "squeue", "scancel") if not _binary(name)]
    if missing or os.geteuid() != 0:
        pytest.skip(f"needs root and Slurm (apt-get install slurm-wlm munge); missing: {missing}")
    if SLURM_CONF.exists() and MARKER not in SLURM_CONF.read_text():
        pytest.skip(f"{SLURM_CONF} belongs to a real cluster; not touching it")
    state = tmp_path_factory.mktemp("slurm")
    for folder in ("state", "spool"):
        (state / folder).mkdir()
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SLURM_CONF.write_text(_config(state))
    devices = [state / f"gpu{i}" for i in range(GPUS)]
    for device in devices:
        device.touch()
    GRES_CONF.write_text(
        f"NodeName={socket.gethostname()} Name=gpu File={state}/gpu[0-{GPUS - 1}]\n"
    )
    started = []
    if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
        Path("/run/munge").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/munge", "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", _binary("munged")], check=True)
        started.append("munged")
    for daemon in ("slurmctld", "slurmd"):
        subprocess.run([_binary(daemon)], check=True)
        started.append(daemon)
    deadline = time.time() + 60
    while "idle" not in subprocess.run(["sinfo", "-h"], capture_output=True, text=True).stdout:
        if time.time() > deadline:
            pytest.fail(f"the test cluster did not come up; see {state}/slurmctld.log")
        time.sleep(1)
    yield
    for daemon in reversed(started):
        subprocess.run(["pkill", "-x", daemon], check=False)
    SLURM_CONF.unlink()
    GRES_CONF.unlink()


def _on_slurm(workflow: Workflow) -> list[str]:
    return workflow.command("--profile", str(ROOT / "profiles/slurm"), *OVERLAY, "--jobs", "4")


def test_tiny_config_end_to_end_on_slurm_equals_local(slurm_cluster, finished_tiny, new_workflow):
    remote = new_workflow("slurm", edit=_students_on_one_gpu)
    # Local rules (the report and the small files it reads; `all`) run on the head node.
    local = _local_rules() | {"all", "total"}
    expected = sum(n for rule, n in remote.planned_jobs().items() if rule not in local)
    done = subprocess.run(_on_slurm(remote), capture_output=True, text=True)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/", log)
    assert len(submitted) == expected  # every job but the local ones went through sbatch
    # The scheduler itself granted each student job the GPU its config entry asks for.
    for job_id, rule in submitted:
        granted = subprocess.run(
            ["scontrol", "show", "job", job_id], capture_output=True, text=True
        )
        on_gpu = rule in ("base_model", "train", "evaluate")
        assert ("gres/gpu=1" in granted.stdout or "gres:gpu:1" in granted.stdout) == on_gpu, rule
    for path in (
        "results/traces/verbose/raw/000.jsonl",
        "results/traces/verbose/verified/001.jsonl",
        "results/datasets/verbose/truncated-extractive/20.jsonl",
        "results/tables/training_sets.csv",
        "results/tables/compression.csv",
        "results/evals/verbose/raw/tiny/full/10/arith_test.jsonl",
    ):
        assert remote.path(path).read_bytes() == finished_tiny.path(path).read_bytes(), path


def test_scancel_mid_generation_then_the_workflow_completes(slurm_cluster, new_workflow):
    reference = new_workflow("reference", edit=one_slow_teacher(0.05))
    killed = new_workflow("killed", edit=one_slow_teacher(0.05))
    target = ("results/traces/verbose/stats.json",)
    reference.run(*target)
    process = subprocess.Popen(
        [*_on_slurm(killed), *target], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    wait_for_progress(killed, process, samples=8, timeout_s=300)
    jobs = subprocess.run(["squeue", "-h", "-o", "%i %j"], capture_output=True, text=True).stdout
    subprocess.run(["scancel", *(line.split()[0] for line in jobs.splitlines())], check=True)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-4000:]  # the profile's retry reran the job
    assert killed.path(SHARD).read_bytes() == reference.path(SHARD).read_bytes()
    assert "resuming:" in killed.path("results/logs/generate/verbose/000.log").read_text()


def _local_rules() -> set[str]:
    blocks = "".join(path.read_text() for path in (ROOT / "rules").glob("*.smk")).split("\nrule ")
    return {block.split(":", 1)[0] for block in blocks if "\n    localrule: True" in block}


def _students_on_one_gpu(config: dict) -> None:
    for entry in (*config["students"].values(), config.setdefault("evaluation", {})):
        entry["resources"] = entry.get("resources", {}) | {"gpus": 1}
