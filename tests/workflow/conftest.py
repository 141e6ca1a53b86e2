"""Run the workflow through the snakemake command line, as users do, in a scratch folder."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from compress_distill.io import write_json
from compress_distill.provenance import COMMIT_FILE, code_version

from ..conftest import ROOT

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
# The verbose teacher's first raw shard, and where its job records the samples done so far.
SHARD = "results/traces/verbose/raw/000.jsonl"
PROGRESS = "results/traces/verbose/raw/.progress"


class Workflow:
    def __init__(self, workdir: Path, configfile: Path, code: Path = ROOT) -> None:
        self.workdir = workdir
        self.configfile = configfile
        self.code = code  # the workflow folder (Snakefile, rules, scripts, src)

    def command(self, *args: str) -> list[str]:
        return [
            SNAKEMAKE,
            "--snakefile",
            str(self.code / "Snakefile"),
            "--directory",
            str(self.workdir),
            "--configfile",
            str(self.configfile),
            "--cores",
            "2",
            *args,
        ]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(self.command(*args), capture_output=True, text=True)
        if check and done.returncode != 0:
            raise AssertionError(
                f"snakemake {' '.join(args)} failed:\n{(done.stdout + done.stderr)[-4000:]}"
            )
        return done

    def planned_jobs(self, *args: str) -> dict[str, int]:
        """Jobs per rule that a dry run would execute (empty when nothing is to be done)."""
        output = self.run("-n", *args).stdout
        stats = output.split("Job stats:")[-1] if "Job stats:" in output else ""
        return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)} | {}

    def edit_config(self, edit: Callable[[dict], None]) -> None:
        config = yaml.safe_load(self.configfile.read_text())
        edit(config)
        self.configfile.write_text(yaml.safe_dump(config, sort_keys=False))

    def path(self, relative: str) -> Path:
        return self.workdir / relative


def make_workflow(
    tmp_path: Path, base: str = "configs/tiny.yaml", name: str = "run", code: Path = ROOT
) -> Workflow:
    workdir = tmp_path / name
    workdir.mkdir()
    configfile = tmp_path / f"{name}.yaml"
    configfile.write_text((ROOT / base).read_text())
    return Workflow(workdir, configfile, code)


def snapshot_code(dest: Path) -> Path:
    """A copy of the workflow's files (tracked and new): a run of it does not go out of date when
    the checkout changes under a test session, and a test may edit its code."""
    names = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, names.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    # The copy has no .git: provenance records the checkout's commit from here, as in a bundle.
    write_json(dest / COMMIT_FILE, code_version(ROOT))
    return dest


@pytest.fixture
def new_workflow(tmp_path: Path) -> Callable[..., Workflow]:
    """Makes workflows in the test's own folder: `new_workflow("reference", edit=...)` copies the
    base config to tmp_path/reference.yaml, applies the edit, and runs in tmp_path/reference/."""

    def make(
        name: str = "run",
        base: str = "configs/tiny.yaml",
        edit: Callable[[dict], None] | None = None,
    ) -> Workflow:
        workflow = make_workflow(tmp_path, base, name)
        if edit is not None:
            workflow.edit_config(edit)
        return workflow

    return make


@pytest.fixture
def tiny_workflow(new_workflow: Callable[..., Workflow]) -> Workflow:
    return new_workflow()


def one_slow_teacher(latency_s: float) -> Callable[[dict], None]:
    """A config edit: only the verbose (scripted) teacher, in one shard of 60 samples, each taking
    `latency_s`, so that its job can be killed in the middle of the shard."""

    def edit(config: dict) -> None:
        config["teachers"] = {"verbose": config["teachers"]["verbose"]}
        config["teachers"]["verbose"]["engine_args"]["latency_s"] = latency_s
        config["teachers"]["verbose"]["shards"] = 1

    return edit


def wait_for_progress(
    workflow: Workflow,
    process: subprocess.Popen,
    samples: int,
    timeout_s: float,
    progress: str = PROGRESS,
) -> None:
    """Waits until a job has recorded `samples` finished results in the `progress` folder (by
    default, the job generating SHARD)."""
    deadline = time.monotonic() + timeout_s
    while not any(
        len(path.read_text().splitlines()) >= samples
        for path in workflow.path(progress).glob("*.jsonl")
    ):
        assert process.poll() is None, "the run ended before the shard was part done"
        assert time.monotonic() < deadline, f"no {samples} samples done in {timeout_s} s"
        time.sleep(0.05)


def clone(workflow: Workflow, tmp_path: Path, name: str = "clone") -> Workflow:
    """A copy of a finished run (outputs, mtimes and Snakemake's metadata) to change and rerun."""
    workdir = tmp_path / name
    shutil.copytree(workflow.workdir, workdir, symlinks=True)
    configfile = tmp_path / f"{name}.yaml"
    shutil.copy2(workflow.configfile, configfile)
    return Workflow(workdir, configfile, workflow.code)


@pytest.fixture(scope="session")
def finished_tiny(tmp_path_factory: pytest.TempPathFactory) -> Workflow:
    """configs/tiny.yaml run to completion once per test session, from a snapshot of the code."""
    code = snapshot_code(tmp_path_factory.mktemp("code"))
    workflow = make_workflow(tmp_path_factory.mktemp("finished"), code=code)
    workflow.run()
    return workflow
