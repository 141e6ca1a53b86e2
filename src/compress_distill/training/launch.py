"""Where a training job runs: in this process on one device or none, or on several GPUs of one
node under `accelerate launch`, one process each, with DDP or FSDP.

The launcher's settings for each strategy are accelerate config files (accelerate's own format,
`accelerate launch --config_file`) in the workflow folder, configs/accelerate/<strategy>.yaml, where
a cluster user can read and change them. They are not package data: the rule script passes the
workflow folder in, so an installed package finds them too. Only the number of processes and the
port come from the job.

    python -m compress_distill.training --spec spec.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from compress_distill.training.run import train
from compress_distill.training.settings import TrainJob

STRATEGIES = ("ddp", "fsdp")
ACCELERATE_CONFIGS = Path("configs", "accelerate")  # in the workflow folder


def accelerate_config(workflow_dir: str | Path, strategy: str) -> Path:
    """The accelerate config file of a strategy (configs/accelerate/<strategy>.yaml)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"training strategy must be one of {STRATEGIES}, got {strategy!r}")
    return Path(workflow_dir) / ACCELERATE_CONFIGS / f"{strategy}.yaml"


def launch_command(
    spec_path: str | Path,
    gpus: int,
    strategy: str,
    workflow_dir: str | Path,
    main_process_port: int | None = None,
) -> list[str]:
    """The command that runs a training spec (TrainJob.to_json) on `gpus` GPUs (one process each).

    One GPU or none: this Python, no launcher. More: `accelerate launch` with the strategy's config
    file. Give concurrent multi-GPU jobs on one node distinct `main_process_port`s.
    """
    config = accelerate_config(workflow_dir, strategy)
    module_args = ["-m", "compress_distill.training", "--spec", str(spec_path)]
    if gpus <= 1:
        return [sys.executable, *module_args]
    if not config.is_file():
        raise FileNotFoundError(f"{config}: no accelerate config for training strategy {strategy}")
    command = ["accelerate", "launch", "--config_file", str(config), "--num_processes", str(gpus)]
    if main_process_port is not None:
        command += ["--main_process_port", str(main_process_port)]
    return command + module_args


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
