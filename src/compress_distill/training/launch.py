"""Where a training job runs: in this process on one device or none, or on several GPUs of one
node under `accelerate launch`, one process each, with DDP or FSDP (without CUDA: DDP on the CPU,
the processes joined over gloo).

The launcher's settings for each strategy are accelerate config files (accelerate's own format,
`accelerate launch --config_file`) in the workflow folder, configs/accelerate/<strategy>.yaml, where
a cluster user can read and change them. They are not package data: the rule script passes the
workflow folder in, so an installed package finds them too. Only the number of processes comes from
the job; the rendezvous port is a free one, picked per launch.

    python -m compress_distill.training --spec spec.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from compress_distill.training.run import train
from compress_distill.training.settings import TrainJob
from compress_distill.training.trainer import on_cpu

STRATEGIES = ("ddp", "fsdp")
ACCELERATE_CONFIGS = Path("configs", "accelerate")  # in the workflow folder
SPEC_FILE = "launch.json"  # in the checkpoint folder: the job the launched processes run


def accelerate_config(workflow_dir: str | Path, strategy: str) -> Path:
    """The accelerate config file of a strategy (configs/accelerate/<strategy>.yaml)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"training strategy must be one of {STRATEGIES}, got {strategy!r}")
    return Path(workflow_dir) / ACCELERATE_CONFIGS / f"{strategy}.yaml"


def launch_command(
    spec_path: str | Path, processes: int, strategy: str, workflow_dir: str | Path
) -> list[str]:
    """The command that runs a training spec (TrainJob.to_json) in `processes` processes, one per
    GPU (on a machine without CUDA, on the CPU over gloo: see trainer.on_cpu).

    One process: this Python, no launcher. More: `accelerate launch` with the strategy's config
    file, run as a module of this Python (no `accelerate` on PATH needed, and the same packages).
    """
    config = accelerate_config(workflow_dir, strategy)
    module_args = ["-m", "compress_distill.training", "--spec", str(spec_path)]
    if processes <= 1:
        return [sys.executable, *module_args]
    if not config.is_file():
        raise FileNotFoundError(f"{config}: no accelerate config for training strategy {strategy}")
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config)]
    # Port 0: right before starting torchrun, the launcher binds port 0 for a free port, checks it
    # is still free (else it falls back to torchrun's standalone rendezvous, which binds port 0
    # itself), and torchrun's agent binds it for the rendezvous store milliseconds later. So jobs
    # started together on one node get distinct ports, where with the fixed default both find it
    # free and the second fails. A port taken within those milliseconds fails the launch before
    # any training step; the rerun resumes as after any failure.
    launcher += ["--num_processes", str(processes), "--main_process_port", "0"]
    return launcher + module_args


def run_job(job: TrainJob, processes: int, strategy: str, workflow_dir: str | Path) -> None:
    """Train `job` in this process, or in `processes` processes under `accelerate launch`.

    Several processes read the job from launch.json in its checkpoint folder, written once (and
    atomically) here before the launch; each reads it before the process group forms, so the run
    may later clear that folder (new settings, or done).
    """
    if processes <= 1:
        train(job)
        return
    if strategy == "fsdp" and on_cpu():
        # accelerate turns FSDP on only for GPU-like devices: on the CPU it would quietly run DDP.
        raise ValueError("training strategy fsdp needs GPUs; on the CPU use ddp")
    spec = job.checkpoint_dir / SPEC_FILE
    job.to_json(spec)
    subprocess.run(launch_command(spec, processes, strategy, workflow_dir), check=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m compress_distill.training",
        description="Run one training job, as the train rule does on several GPUs.",
    )
    parser.add_argument("--spec", required=True, help="JSON spec written by TrainJob.to_json")
    args = parser.parse_args(argv)
    metrics = train(TrainJob.from_json(args.spec))
    if metrics:
        summary = {k: metrics[k] for k in ("steps", "final_loss", "wall_time_s", "train_tokens")}
        print(json.dumps(summary), file=sys.stderr)
    return 0
