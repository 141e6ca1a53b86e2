"""One training run, start to finish: `train(job)`.

Checkpoints go to the job's checkpoint folder, outside the rule's output; a rerun after a crash
resumes from the latest complete one. The output folder (model or adapter, tokenizer, and unless
the job names other files train_metrics.json and loss.csv) appears all at once, renamed from a
temporary folder beside it. Under `accelerate launch` every process runs this; only the main
process writes.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

from compress_distill.io import partial_dir, publish_dir, write_json
from compress_distill.training.checkpoints import (
    Attempts,
    checkpoint_step,
    latest_checkpoint,
    prepare_checkpoint_dir,
    run_identity,
)
from compress_distill.training.records import (
    LOSS_FILE,
    METRICS_FILE,
    device_name,
    library_versions,
    loss_rows,
    mean_loss_over_steps,
    peak_memory,
    write_loss_csv,
)
from compress_distill.training.settings import TrainJob
from compress_distill.training.trainer import (
    dataset_token_stats,
    make_trainer,
    on_cpu,
    restored_token_counter,
    save_trained_model,
    saved_dtype,
)


def train(job: TrainJob) -> dict[str, Any]:
    """Fine-tune the job's base model on its training set; returns the metrics it writes (empty
    on processes other than the main one).

    mode "full" trains every weight and saves the model; "lora" trains a LoRA adapter and saves
    it with base_model.json (base folder and weights sha256) for `load_trained_model`. The
    checkpoint folder is removed once the outputs are written.
    """
    started = time.perf_counter()
    import torch
    from accelerate import PartialState

    if job.threads is not None:
        torch.set_num_threads(job.threads)
    state = PartialState(cpu=on_cpu())
    main = state.is_main_process
    if main:
        prepare_checkpoint_dir(job.checkpoint_dir, run_identity(job))
    state.wait_for_everyone()
    resume = latest_checkpoint(job.checkpoint_dir)
    tmp = partial_dir(job.out_dir)
    if main:
        if resume is not None:
            print(f"resuming from {resume}", file=sys.stderr, flush=True)
        if tmp.exists():
            shutil.rmtree(tmp)

    counter = restored_token_counter(resume)
    counted_before = counter.counts()
    attempts = Attempts(job.checkpoint_dir, started) if main else None  # the main process logs
    if attempts is not None:
        counter.heartbeat = attempts.heartbeat
        attempts.heartbeat()

    trainer = make_trainer(
        job.dataset_path,
        job.base_model_dir,
        job.checkpoint_dir,
        job.mode,
        job.settings,
        callbacks=[counter],
    )
    data_stats = dataset_token_stats(trainer.train_dataset, job.settings.packing)
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    dtype = saved_dtype(job.settings, bool(trainer.args.bf16))
    save_trained_model(trainer, tmp, job.base_model_dir, dtype)
    metrics: dict[str, Any] = {}
    if attempts is not None:
        rows = loss_rows(trainer.state.log_history)
        metrics = _metrics(job, trainer, output, data_stats, rows, resume, attempts, counted_before)
        _publish(job, tmp, metrics, rows)
        attempts.close()
        # The output is complete: its checkpoints (weights and optimizer state) are not needed.
        shutil.rmtree(job.checkpoint_dir)
    state.wait_for_everyone()
    return metrics


def _metrics(
    job: TrainJob,
    trainer: Any,
    output: Any,
    data_stats: dict[str, int],
    rows: list[dict[str, Any]],
    resume: Path | None,
    attempts: Attempts,
    counted_before: dict[str, int],
) -> dict[str, Any]:
    """train_metrics.json: the data, the trajectory (over all attempts), this attempt's cost.
    `counted_before` are the token counts the run resumed with."""
    import torch

    counter, settings, model = trainer.counter, job.settings, trainer.model
    steps_this_attempt = trainer.state.global_step - checkpoint_step(resume)
    runtime = output.metrics.get("train_runtime")
    tokens_now = counter.tokens - counted_before["tokens"]
    completion_now = counter.completion_tokens - counted_before["completion_tokens"]
    wall = time.perf_counter() - attempts.started
    return {
        "mode": job.mode,
        "dataset": str(job.dataset_path),
        "base_model": str(job.base_model_dir),
        "examples": data_stats["examples"],
        # Left out, not cut: longer than max_length in the student's chat template.
        "examples_too_long": trainer.examples_too_long,
        "packed_rows": data_stats["rows"] if settings.packing else None,
        "dataset_tokens_per_epoch": data_stats["tokens_per_epoch"],
        "dataset_completion_tokens_per_epoch": data_stats["completion_tokens_per_epoch"],
        "steps": trainer.state.global_step,
        "planned_steps": trainer.state.max_steps,
        "epochs": trainer.state.epoch,
        # Over all steps of the final model's trajectory (earlier attempts included).
        "train_tokens": counter.tokens,
        "train_completion_tokens": counter.completion_tokens,
        "train_padded_tokens": counter.padded_tokens,
        "padding_fraction": (
            1 - counter.tokens / counter.padded_tokens if counter.padded_tokens else None
        ),
        "final_loss": rows[-1]["loss"] if rows else None,
        "mean_loss_all_steps": mean_loss_over_steps(rows),
        "train_loss_this_attempt": output.training_loss if steps_this_attempt else None,
        "steps_this_attempt": steps_this_attempt,
        "wall_time_s": wall,
        "train_runtime_s": runtime,
        "wall_time_all_attempts_s": attempts.previous_wall_s + wall,
        "attempts": attempts.number,
        "resumed_from": str(resume) if resume else None,
        "tokens_per_second": tokens_now / runtime if runtime and tokens_now else None,
        "completion_tokens_per_second": (
            completion_now / runtime if runtime and completion_now else None
        ),
        "peak_memory": peak_memory(),
        "device": device_name(trainer.args.device),
        "num_processes": trainer.accelerator.num_processes,
        # NO, MULTI_GPU (DDP), FSDP, or MULTI_CPU (several CPU processes over gloo).
        "distributed_type": trainer.accelerator.distributed_type.value,
        "torch_threads": torch.get_num_threads(),
        "bf16": bool(trainer.args.bf16),
        "saved_dtype": saved_dtype(settings, bool(trainer.args.bf16)),
        "seed": settings.seed,
        "parameters": sum(p.numel() for p in model.parameters()),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "settings": settings.to_dict(),
        "versions": library_versions(),
    }


def _publish(job: TrainJob, tmp: Path, metrics: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Write the loss curve and metrics, in the output folder or where the job names, and rename
    the folder into place. Files outside it come after it, the metrics last: they say the run is
    complete."""
    if job.loss_path is None:
        write_loss_csv(tmp / LOSS_FILE, rows)
    if job.metrics_path is None:
        write_json(tmp / METRICS_FILE, metrics)
    publish_dir(tmp, job.out_dir)
    if job.loss_path is not None:
        write_loss_csv(job.loss_path, rows)
    if job.metrics_path is not None:
        write_json(job.metrics_path, metrics)
