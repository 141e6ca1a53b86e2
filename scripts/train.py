"""Rule train: fine-tune one student (full or LoRA) on one training set.

On one device it trains in this process; given several GPUs it starts one process per GPU with
accelerate (DDP or FSDP, from the student's config entry).
"""

import subprocess
from pathlib import Path

from compress_distill.provenance import recorded
from compress_distill.training import TrainSettings, launch_command, train, write_spec


def main(smk) -> None:
    run = {
        "dataset_path": smk.input.dataset,
        "base_model_dir": smk.input.base,
        "out_dir": smk.output.model,
        "checkpoint_dir": smk.params.checkpoint_dir,
        "mode": smk.wildcards.mode,
        "settings": TrainSettings.from_config(smk.params.settings),
        "threads": smk.threads,
        "metrics_path": smk.output.metrics,
        "loss_path": smk.output.loss,
    }
    with recorded(smk):
        if smk.resources.gpu <= 1:
            train(**run)
            return
        spec = Path(smk.params.checkpoint_dir) / "launch.json"
        write_spec(spec, **run)
        subprocess.run(launch_command(spec, smk.resources.gpu, smk.params.strategy), check=True)


if __name__ == "__main__":
    main(snakemake)
