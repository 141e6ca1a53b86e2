"""Rule train: fine-tune one student (full or LoRA) on one training set.

On one device it trains in this process; given several GPUs it starts one process per GPU with
accelerate (DDP or FSDP, from the student's config entry; configs/accelerate/ holds their settings).
"""

from pathlib import Path

from compress_distill.provenance import recorded
from compress_distill.training.launch import run_job
from compress_distill.training.settings import TrainJob, TrainSettings


def main(smk) -> None:
    job = TrainJob(
        dataset_path=smk.input.dataset,
        base_model_dir=smk.input.base,
        out_dir=smk.output.model,
        checkpoint_dir=smk.params.checkpoint_dir,
        mode=smk.params.mode,
        settings=TrainSettings.from_config(smk.params.settings),
        threads=smk.threads,
        metrics_path=smk.output.metrics,
        loss_path=smk.output.loss,
    )
    with recorded(smk):
        # Scripts live in <workflow>/scripts/; the accelerate configs in <workflow>/configs/.
        workflow_dir = Path(smk.scriptdir).parent
        run_job(job, smk.resources.gpu, smk.params.strategy, workflow_dir)


if __name__ == "__main__":
    main(snakemake)
