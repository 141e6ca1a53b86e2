"""Students' training: supervised fine-tuning (full or LoRA) on a prompt/completion training set.

One run trains one student on one training set with TRL's SFTTrainer: the loss falls on the
completion tokens only, the tokenizer's chat template (shared with evaluation) renders the turns,
and optional packing keeps examples apart (position ids restart at each example; transformers turns
them into a block-diagonal mask, or flash-attention's varlen kernel on GPUs that have it).

Checkpoints go to a checkpoint folder outside the rule's output; a rerun after a crash resumes from
the latest complete one. The output folder (model or adapter, tokenizer, train_metrics.json,
loss.csv) appears all at once, renamed from a temporary folder beside it.

Several GPUs: `launch_command` starts `python -m compress_distill.training --spec spec.json` under
`accelerate launch` (DDP or FSDP); only the main process writes.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from compress_distill.io import (
    AppendLog,
    atomic_writer,
    read_json,
    read_jsonl,
    sha256_file,
    write_json,
)

Mode = Literal["full", "lora"]
MODES = ("full", "lora")
STRATEGIES = ("ddp", "fsdp")
LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets")
BASE_MODEL_FILE = "base_model.json"
METRICS_FILE = "train_metrics.json"
LOSS_FILE = "loss.csv"
RUN_FILE = "run.json"  # in the checkpoint folder: what its checkpoints were trained on
ATTEMPTS_FILE = "attempts.jsonl"  # in the checkpoint folder: wall time of every attempt
CHECKPOINT_PREFIX = "checkpoint-"
LOSS_COLUMNS = ("step", "epoch", "loss", "learning_rate", "grad_norm", "mean_token_accuracy")
FLOAT_SETTINGS = ("learning_rate", "epochs", "warmup_ratio", "weight_decay", "lora_dropout")
POSITIVE_INT_SETTINGS = (
    "per_device_batch_size",
    "gradient_accumulation_steps",
    "max_length",
    "logging_steps",
    "save_steps",
)


@dataclass(frozen=True)
class TrainSettings:
    """Hyperparameters of one training run (config key `training`, per student and mode)."""

    learning_rate: float = 1e-4
    epochs: float = 1.0
    # When set, overrides epochs: every training set gets the same number of optimizer steps.
    max_steps: int | None = None
    # Examples per device and step; with packing, packed rows of max_length tokens each.
    per_device_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    # Longer examples are cut (train_metrics.json counts them); with packing, the packed row length.
    max_length: int = 2048
    packing: bool = False
    # Batches of examples of similar length (transformers' LengthGroupedSampler: a shuffled order
    # cut into groups of up to 50 batches, each sorted by length), so less compute goes to padding.
    group_by_length: bool = False
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    lr_scheduler: str = "cosine"
    seed: int = 0
    logging_steps: int = 10
    save_steps: int = 200
    # "auto": bf16 mixed precision on GPUs that support it, never on CPU.
    bf16: bool | str = "auto"
    gradient_checkpointing: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    # "all-linear": every linear layer but the output head, whatever the architecture calls them.
    lora_target_modules: str | list[str] = "all-linear"

    def __post_init__(self) -> None:
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(
                f"training setting max_steps must be >= 1 or null, got {self.max_steps}"
            )
        if self.max_steps is None and self.epochs <= 0:
            raise ValueError(f"training setting epochs must be > 0, got {self.epochs}")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(
                f"training setting warmup_ratio must be in [0, 1), got {self.warmup_ratio}"
            )
        if self.bf16 not in ("auto", True, False):
            raise ValueError(
                f"training setting bf16 must be 'auto', true or false, got {self.bf16!r}"
            )
        for name in POSITIVE_INT_SETTINGS:
            if getattr(self, name) < 1:
                raise ValueError(f"training setting {name} must be >= 1, got {getattr(self, name)}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> TrainSettings:
        """Settings from a config dict; an unknown key is an error that names it and the valid ones.

        Numbers written as strings are converted: YAML 1.1 reads `1e-3` (no dot) as a string.
        """
        config = dict(config or {})
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - set(fields))
        if unknown:
            raise ValueError(
                f"unknown training setting(s) {unknown}; valid settings: {sorted(fields)}"
            )
        for name, value in config.items():
            if name in FLOAT_SETTINGS and isinstance(value, str):
                try:
                    config[name] = float(value)
                except ValueError:
                    raise ValueError(f"training setting {name}: not a number: {value!r}") from None
        return cls(**config)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------
# Checkpoints and bookkeeping


def latest_checkpoint(checkpoint_dir: str | Path) -> Path | None:
    """The highest-step checkpoint whose trainer_state.json parses.

    The Trainer writes that file last (after weights, optimizer and RNG states), so a checkpoint
    cut short by a kill has none or a truncated one and is skipped.
    """
    folder = Path(checkpoint_dir)
    if not folder.is_dir():
        return None
    candidates = []
    for path in folder.glob(f"{CHECKPOINT_PREFIX}*"):
        step = path.name[len(CHECKPOINT_PREFIX) :]
        if path.is_dir() and step.isdigit():
            candidates.append((int(step), path))
    for _, path in sorted(candidates, reverse=True):
        try:
            json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        return path
    return None


def weights_sha256(model_dir: str | Path) -> dict[str, str]:
    """sha256 of each safetensors weights file of a saved model (several when sharded)."""
    files = sorted(Path(model_dir).glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{model_dir}: no *.safetensors weights file")
    return {path.name: sha256_file(path) for path in files}


def library_versions() -> dict[str, str]:
    return {name: metadata.version(name) for name in LIBRARIES}


def peak_memory() -> dict[str, Any]:
    """Peak memory of this process: GPU memory allocated by torch on GPUs, else the peak RSS."""
    import torch

    if torch.cuda.is_available():
        return {
            "bytes": int(torch.cuda.max_memory_allocated()),
            "kind": "cuda_max_memory_allocated",
        }
    # Linux reports ru_maxrss in KiB.
    return {
        "bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "kind": "cpu_max_rss",
    }


def resolve_bf16(setting: bool | str) -> bool:
    import torch

    gpu_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if setting == "auto":
        return gpu_bf16
    if setting and not gpu_bf16:
        raise ValueError("training setting bf16: true needs a GPU with bf16 support; use 'auto'")
    return bool(setting)


def loss_rows(log_history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The training-loss entries of a Trainer log history (one per logging window)."""
    return [
        {column: entry.get(column) for column in LOSS_COLUMNS}
        for entry in log_history
        if "loss" in entry and "step" in entry
    ]


def write_loss_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    with atomic_writer(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(LOSS_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def mean_loss_over_steps(rows: Sequence[Mapping[str, Any]]) -> float | None:
    """Mean loss over all steps of the log history, each window weighted by its steps.

    Unlike the Trainer's train_loss, it covers the steps of earlier attempts after a resume.
    """
    total, steps, previous = 0.0, 0, 0
    for row in rows:
        width = row["step"] - previous
        if width > 0:
            total += row["loss"] * width
            steps += width
        previous = row["step"]
    return total / steps if steps else None


# --------------------------------------------------------------------------------------------
# Trainer plumbing


@functools.cache
def _token_counter_class() -> type:
    """Defined lazily (and once): transformers is imported only by the functions that train."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import ExportableState

    class TokenCounter(TrainerCallback, ExportableState):
        """Tokens trained on, kept in each checkpoint's trainer_state.json (written with it, so the
        counts always match the checkpoint a resumed run continues from); also writes a wall-time
        heartbeat to the checkpoint folder's attempts log at each log and save."""

        def __init__(
            self, tokens: int = 0, padded_tokens: int = 0, completion_tokens: int = 0
        ) -> None:
            self.tokens = tokens
            self.padded_tokens = padded_tokens
            self.completion_tokens = completion_tokens
            self.heartbeat: Any = None  # callable(), set by the run on the main process

        def counts(self) -> dict[str, int]:
            return {
                "tokens": self.tokens,
                "padded_tokens": self.padded_tokens,
                "completion_tokens": self.completion_tokens,
            }

        def state(self) -> dict[str, Any]:
            return {"args": self.counts(), "attributes": {}}

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.heartbeat is not None:
                self.heartbeat()

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.heartbeat is not None:
                self.heartbeat()

    return TokenCounter


@functools.cache
def _counting_trainer_class() -> type:
    from trl import SFTTrainer

    class CountingSFTTrainer(SFTTrainer):
        """SFTTrainer that also counts the tokens of every training micro-batch."""

        counter: Any = None

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.model.training and self.counter is not None:
                self._count(inputs)
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)

        def _count(self, inputs: Mapping[str, Any]) -> None:
            import torch

            ids = inputs["input_ids"]
            # Padded batches carry an attention mask; padding-free (packed) ones are all tokens.
            mask = inputs.get("attention_mask")
            real = mask.sum() if mask is not None else torch.tensor(ids.numel(), device=ids.device)
            # Next-token targets: label t+1 is predicted at t (the collator's -100 mark the rest).
            completion = (inputs["labels"][..., 1:] != -100).sum()
            counts = torch.stack([real, torch.tensor(ids.numel(), device=ids.device), completion])
            if self.accelerator.num_processes > 1:
                counts = self.accelerator.reduce(counts, reduction="sum")
            real_n, padded_n, completion_n = (int(x) for x in counts.tolist())
            self.counter.tokens += real_n
            self.counter.padded_tokens += padded_n
            self.counter.completion_tokens += completion_n

    return CountingSFTTrainer


def _sft_config(
    settings: TrainSettings,
    output_dir: Path,
    *,
    save: bool,
    completion_only_loss: bool,
) -> Any:
    import torch
    from trl import SFTConfig

    bf16 = resolve_bf16(settings.bf16)
    return SFTConfig(
        output_dir=str(output_dir),
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps if settings.max_steps is not None else -1,
        per_device_train_batch_size=settings.per_device_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        max_length=settings.max_length,
        packing=settings.packing,
        # bfd keeps examples whole and apart (padding-free: position ids restart per example).
        packing_strategy="bfd",
        train_sampling_strategy="group_by_length" if settings.group_by_length else "random",
        completion_only_loss=completion_only_loss,
        warmup_steps=settings.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=settings.weight_decay,
        lr_scheduler_type=settings.lr_scheduler,
        seed=settings.seed,
        data_seed=settings.seed,
        logging_steps=settings.logging_steps,
        logging_first_step=True,
        save_strategy="steps" if save else "no",
        save_steps=settings.save_steps,
        # Two, so a checkpoint being written never replaces the last complete one.
        save_total_limit=2,
        bf16=bf16,
        fp16=False,
        # TRL turns it on by default; it only pays off for models that fill the GPU.
        gradient_checkpointing=settings.gradient_checkpointing,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        eval_strategy="no",
    )


def _load_dataset(dataset_path: str | Path) -> Any:
    """The JSONL training set as an in-memory HF dataset (no cache files beside the input)."""
    from datasets import Dataset

    rows = read_jsonl(dataset_path)
    if not rows:
        raise ValueError(f"{dataset_path}: empty training set")
    for column in ("prompt", "completion"):
        if column not in rows[0]:
            raise ValueError(f"{dataset_path}:1: a training example needs '{column}'")
    return Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])


def _dataset_token_stats(dataset: Any, max_length: int, packing: bool) -> dict[str, int]:
    """Tokens (all, completion) of one pass over the prepared dataset, and examples at max_length.

    Counted after truncation, i.e. what the model is trained on; an example of exactly
    max_length tokens counts as truncated (indistinguishable here, and rare).
    """
    stats = {"examples": 0, "tokens_per_epoch": 0, "completion_tokens_per_epoch": 0}
    stats |= {"examples_truncated": 0, "rows": len(dataset)}
    column = "seq_lengths" if packing else "input_ids"
    # In batches: a large training set's token lists do not fit in memory as Python ints.
    for batch in dataset.select_columns([column, "labels"]).iter(batch_size=1024):
        if packing:
            lengths = [n for row in batch[column] for n in row]
        else:
            lengths = [len(ids) for ids in batch[column]]
        stats["examples"] += len(lengths)
        stats["tokens_per_epoch"] += sum(lengths)
        stats["examples_truncated"] += sum(1 for n in lengths if n >= max_length)
        stats["completion_tokens_per_epoch"] += sum(
            sum(1 for x in labels[1:] if x != -100) for labels in batch["labels"]
        )
    return stats


def _run_identity(
    dataset_path: Path, base_model_dir: Path, mode: str, settings: TrainSettings
) -> dict[str, Any]:
    return {
        "dataset": str(dataset_path),
        "dataset_sha256": sha256_file(dataset_path),
        "base_model": str(base_model_dir),
        "base_weights_sha256": weights_sha256(base_model_dir),
        "mode": mode,
        "settings": settings.to_dict(),
    }


def _prepare_checkpoint_dir(checkpoint_dir: Path, identity: dict[str, Any], main: bool) -> None:
    """Keep checkpoints only when they were trained on the same data, base and settings."""
    if not main:
        return
    run_file = checkpoint_dir / RUN_FILE
    identity = json.loads(json.dumps(identity))  # as read back: tuples become lists
    if run_file.exists():
        if read_json(run_file) == identity:
            return
        print(
            f"{checkpoint_dir}: checkpoints are from another training set, base model or settings; "
            "starting afresh",
            file=sys.stderr,
        )
        shutil.rmtree(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_file, identity)


def _previous_attempts(log: AppendLog) -> tuple[int, float]:
    """(attempts so far, wall seconds they spent): the last heartbeat of each attempt."""
    last: dict[int, float] = {}
    for record in log.records():
        last[record["attempt"]] = max(last.get(record["attempt"], 0.0), record["elapsed_s"])
    return len(last), sum(last.values())


def partial_dir(out_dir: Path) -> Path:
    """Where an output folder is built before publish_dir renames it into place."""
    return out_dir.parent / f".{out_dir.name}.partial"


def publish_dir(tmp: Path, out_dir: Path) -> None:
    """Rename the finished temporary folder to out_dir (replacing a stale one)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)


# --------------------------------------------------------------------------------------------
# Training


def make_trainer(
    dataset_path: str | Path,
    base_model_dir: str | Path,
    checkpoint_dir: str | Path,
    mode: Mode,
    settings: TrainSettings,
    callbacks: Sequence[Any] = (),
) -> Any:
    """The SFTTrainer of one run (checkpoints to checkpoint_dir), not yet trained.

    Its `counter` (a TokenCounter) counts the tokens of every training batch.
    """
    from peft import LoraConfig

    from compress_distill.students import load_tokenizer

    if mode not in MODES:
        raise ValueError(f"training mode must be one of {MODES}, got {mode!r}")
    peft_config = None
    if mode == "lora":
        peft_config = LoraConfig(
            r=settings.lora_r,
            lora_alpha=settings.lora_alpha,
            lora_dropout=settings.lora_dropout,
            target_modules=settings.lora_target_modules,
            task_type="CAUSAL_LM",
        )
    counter_cls = _token_counter_class()
    counter = next((cb for cb in callbacks if isinstance(cb, counter_cls)), None)
    if counter is None:
        counter = counter_cls()
        callbacks = [*callbacks, counter]
    trainer = _counting_trainer_class()(
        model=_load_causal_lm(base_model_dir),
        args=_sft_config(settings, Path(checkpoint_dir), save=True, completion_only_loss=True),
        train_dataset=_load_dataset(dataset_path),
        processing_class=load_tokenizer(base_model_dir),
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    trainer.counter = counter
    return trainer


def save_trained_model(trainer: Any, out_dir: str | Path, base_model_dir: str | Path) -> None:
    """Save the trained model, or the LoRA adapter with base_model.json, and the tokenizer.

    Every process must call it (FSDP gathers the full weights); the main process writes.
    """
    from peft import PeftModel

    trainer.save_model(str(out_dir))
    if trainer.accelerator.is_main_process and isinstance(trainer.model, PeftModel):
        pointer = {
            "base_model": str(base_model_dir),
            "weights_sha256": weights_sha256(base_model_dir),
        }
        write_json(Path(out_dir) / BASE_MODEL_FILE, pointer)


def train(
    dataset_path: str | Path,
    base_model_dir: str | Path,
    out_dir: str | Path,
    checkpoint_dir: str | Path,
    mode: Mode,
    settings: TrainSettings,
    threads: int | None = None,
    metrics_path: str | Path | None = None,
    loss_path: str | Path | None = None,
) -> dict[str, Any]:
    """Fine-tune the base model on the training set; returns the metrics it writes.

    mode "full" trains every weight and saves the model; "lora" trains a LoRA adapter and saves
    it with base_model.json (base folder and weights sha256) for `load_trained_model`. A run
    resumes from the latest complete checkpoint in checkpoint_dir, which is removed once the
    outputs are written. train_metrics.json and loss.csv go into out_dir unless `metrics_path` /
    `loss_path` name other files. `threads` caps torch's CPU threads (None: torch's default).
    """
    started = time.perf_counter()
    import torch
    from accelerate import PartialState

    if mode not in MODES:
        raise ValueError(f"training mode must be one of {MODES}, got {mode!r}")
    if threads is not None:
        torch.set_num_threads(threads)
    dataset_path, base_model_dir = Path(dataset_path), Path(base_model_dir)
    out_dir, checkpoint_dir = Path(out_dir), Path(checkpoint_dir)

    state = PartialState()
    main = state.is_main_process
    _prepare_checkpoint_dir(
        checkpoint_dir, _run_identity(dataset_path, base_model_dir, mode, settings), main
    )
    state.wait_for_everyone()
    resume = latest_checkpoint(checkpoint_dir)
    tmp = partial_dir(out_dir)
    if main:
        if resume is not None:
            print(f"resuming from {resume}", file=sys.stderr, flush=True)
        if tmp.exists():
            shutil.rmtree(tmp)

    counter_cls = _token_counter_class()
    saved_counts = {}
    if resume is not None:
        callbacks_state = read_json(resume / "trainer_state.json").get("stateful_callbacks", {})
        saved_counts = callbacks_state.get(counter_cls.__name__, {}).get("args", {})
    counter = counter_cls(**saved_counts)
    counted_before = counter.counts()

    attempts_log = AppendLog(checkpoint_dir / ATTEMPTS_FILE) if main else None
    previous_attempts, previous_wall = _previous_attempts(attempts_log) if main else (0, 0.0)
    attempt = previous_attempts + 1

    def heartbeat() -> None:
        elapsed = round(time.perf_counter() - started, 3)
        attempts_log.append([{"attempt": attempt, "elapsed_s": elapsed}])

    if main:
        counter.heartbeat = heartbeat
        heartbeat()

    trainer = make_trainer(
        dataset_path, base_model_dir, checkpoint_dir, mode, settings, callbacks=[counter]
    )
    data_stats = _dataset_token_stats(trainer.train_dataset, settings.max_length, settings.packing)
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    save_trained_model(trainer, tmp, base_model_dir)
    metrics: dict[str, Any] = {}
    if main:
        resumed_step = int(resume.name[len(CHECKPOINT_PREFIX) :]) if resume else 0
        steps_this_attempt = trainer.state.global_step - resumed_step
        runtime = output.metrics.get("train_runtime")
        tokens_now = counter.tokens - counted_before["tokens"]
        completion_now = counter.completion_tokens - counted_before["completion_tokens"]
        rows = loss_rows(trainer.state.log_history)
        wall = time.perf_counter() - started
        model = trainer.model
        metrics = {
            "mode": mode,
            "dataset": str(dataset_path),
            "base_model": str(base_model_dir),
            "examples": data_stats["examples"],
            "examples_truncated": data_stats["examples_truncated"],
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
            "wall_time_all_attempts_s": previous_wall + wall,
            "attempts": attempt,
            "resumed_from": str(resume) if resume else None,
            "tokens_per_second": tokens_now / runtime if runtime and tokens_now else None,
            "completion_tokens_per_second": (
                completion_now / runtime if runtime and completion_now else None
            ),
            "peak_memory": peak_memory(),
            "device": _device_name(trainer.args.device),
            "num_processes": trainer.accelerator.num_processes,
            "torch_threads": torch.get_num_threads(),
            "bf16": bool(trainer.args.bf16),
            "seed": settings.seed,
            "parameters": sum(p.numel() for p in model.parameters()),
            "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "settings": settings.to_dict(),
            "versions": library_versions(),
        }
        if loss_path is None:
            write_loss_csv(tmp / LOSS_FILE, rows)
        if metrics_path is None:
            write_json(tmp / METRICS_FILE, metrics)
        publish_dir(tmp, out_dir)
        # Files outside out_dir after it, the metrics last: they say the run is complete.
        if loss_path is not None:
            write_loss_csv(loss_path, rows)
        if metrics_path is not None:
            write_json(metrics_path, metrics)
        attempts_log.close()
        # The output is complete: its checkpoints (weights and optimizer state) are not needed.
        shutil.rmtree(checkpoint_dir)
    state.wait_for_everyone()
    return metrics


def _device_name(device: Any) -> str:
    import torch

    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def _load_causal_lm(path: str | Path) -> Any:
    """A saved model in float32: mixed precision (bf16 autocast) keeps float32 master weights."""
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)


def load_trained_model(model_dir: str | Path, verify: bool = True) -> tuple[Any, Any]:
    """(model, tokenizer) of a training output: a full model, or a LoRA adapter on its base.

    For an adapter, base_model.json names the base folder; with `verify`, its weights must still
    have the sha256 recorded at training time.
    """
    from peft import PeftModel

    from compress_distill.students import load_tokenizer

    model_dir = Path(model_dir)
    tokenizer = load_tokenizer(model_dir)
    pointer = model_dir / BASE_MODEL_FILE
    if not pointer.exists():
        return _load_causal_lm(model_dir).eval(), tokenizer
    base = read_json(pointer)
    base_dir = base["base_model"]
    if verify and weights_sha256(base_dir) != base["weights_sha256"]:
        raise ValueError(
            f"{pointer}: the base model at {base_dir} changed since the adapter was trained"
        )
    model = PeftModel.from_pretrained(_load_causal_lm(base_dir), str(model_dir))
    return model.eval(), tokenizer


# --------------------------------------------------------------------------------------------
# Spec files and launch commands (several GPUs)


def write_spec(
    path: str | Path,
    dataset_path: str | Path,
    base_model_dir: str | Path,
    out_dir: str | Path,
    checkpoint_dir: str | Path,
    mode: Mode,
    settings: TrainSettings,
    threads: int | None = None,
    metrics_path: str | Path | None = None,
    loss_path: str | Path | None = None,
) -> None:
    """The JSON spec that `python -m compress_distill.training --spec` runs (train's arguments)."""
    write_json(
        path,
        {
            "dataset_path": str(dataset_path),
            "base_model_dir": str(base_model_dir),
            "out_dir": str(out_dir),
            "checkpoint_dir": str(checkpoint_dir),
            "mode": mode,
            "settings": settings.to_dict(),
            "threads": threads,
            "metrics_path": None if metrics_path is None else str(metrics_path),
            "loss_path": None if loss_path is None else str(loss_path),
        },
    )


def train_from_spec(spec_path: str | Path) -> dict[str, Any]:
    spec = read_json(spec_path)
    expected = {"dataset_path", "base_model_dir", "out_dir", "checkpoint_dir", "mode", "settings"}
    missing = sorted(expected - set(spec))
    if missing:
        raise ValueError(f"{spec_path}: spec has no {missing}")
    optional = {"threads", "metrics_path", "loss_path"}
    unknown = sorted(set(spec) - expected - optional)
    if unknown:
        raise ValueError(f"{spec_path}: unknown spec key(s) {unknown}")
    return train(
        spec["dataset_path"],
        spec["base_model_dir"],
        spec["out_dir"],
        spec["checkpoint_dir"],
        spec["mode"],
        TrainSettings.from_config(spec["settings"]),
        **{key: spec.get(key) for key in optional},
    )


# FSDP2 with whole decoder layers as units (the model's _no_split_modules) and a full state dict
# at the end, so the saved model is an ordinary Hugging Face folder. Each process loads the base
# itself (no cpu-ram-efficient loading): train() loads it before the Trainer exists.
FSDP_ARGS = (
    "--use_fsdp",
    "--fsdp_version", "2",
    "--fsdp_auto_wrap_policy", "TRANSFORMER_BASED_WRAP",
    "--fsdp_state_dict_type", "FULL_STATE_DICT",
    "--fsdp_reshard_after_forward", "true",
    "--fsdp_cpu_ram_efficient_loading", "false",
)  # fmt: skip


def launch_command(
    spec_path: str | Path,
    gpus: int,
    strategy: Literal["ddp", "fsdp"] = "ddp",
    main_process_port: int | None = None,
) -> list[str]:
    """The command that runs a training spec on `gpus` GPUs (one process each).

    One GPU or none: this Python, no launcher. More: `accelerate launch` with DDP or FSDP. Give
    concurrent multi-GPU jobs on one node distinct `main_process_port`s.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"training strategy must be one of {STRATEGIES}, got {strategy!r}")
    module_args = ["-m", "compress_distill.training", "--spec", str(spec_path)]
    if gpus <= 1:
        return [sys.executable, *module_args]
    command = [
        "accelerate", "launch",
        "--num_machines", "1",
        "--num_processes", str(gpus),
        # Precision comes from the training settings (bf16), not from the launcher.
        "--mixed_precision", "no",
        "--dynamo_backend", "no",
    ]  # fmt: skip
    if main_process_port is not None:
        command += ["--main_process_port", str(main_process_port)]
    command += ["--multi_gpu"] if strategy == "ddp" else list(FSDP_ARGS)
    return command + module_args


# --------------------------------------------------------------------------------------------
# Base models


ARCHITECTURE_KEYS = (
    "hidden_size",
    "num_layers",
    "num_heads",
    "intermediate_size",
    "max_position_embeddings",
)
PRETRAIN_KEYS = ("steps", "learning_rate", "batch_size", "max_length")


@dataclass(frozen=True)
class PretrainSettings:
    """Brief plain causal-LM pretraining of a from-config student on task-neutral text."""

    steps: int
    learning_rate: float = 1e-3
    batch_size: int = 1  # packed rows of max_length tokens each
    max_length: int = 1024

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PretrainSettings:
        unknown = sorted(set(config) - set(PRETRAIN_KEYS))
        if unknown:
            raise ValueError(
                f"unknown pretrain setting(s) {unknown}; valid settings: {list(PRETRAIN_KEYS)}"
            )
        if "steps" not in config:
            raise ValueError("pretrain settings need 'steps'")
        values = dict(config)
        if isinstance(values.get("learning_rate"), str):
            values["learning_rate"] = float(values["learning_rate"])
        return cls(**values)


def build_base_model(
    student: Mapping[str, Any],
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    pretrain_texts: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The student's base model, saved to out_dir (atomically) with base_metrics.json.

    kind "from_config": a random tiny Llama (student["architecture"]: hidden_size, num_layers,
    num_heads, intermediate_size, max_position_embeddings; seed 0) with the tokenizer of
    tokenizer_dir, then, when student["pretrain"] is given, pretrained briefly as a plain causal LM
    on `pretrain_texts`, so LoRA adapts a model that already knows the characters.
    kind "pretrained": student["model"] (hub id or folder) copied to out_dir in its own dtype, so
    adapters and evaluation refer to a local folder whose weights can be hashed.
    """
    started = time.perf_counter()
    from compress_distill.students import load_tokenizer

    out_dir = Path(out_dir)
    tmp = partial_dir(out_dir)
    if tmp.exists():
        shutil.rmtree(tmp)
    tokenizer = load_tokenizer(tokenizer_dir)
    kind = student.get("kind")
    metrics: dict[str, Any] = {"kind": kind}
    if kind == "from_config":
        metrics |= _build_from_config(student, tokenizer, tmp, pretrain_texts)
    elif kind == "pretrained":
        metrics |= _copy_pretrained(student["model"], tokenizer, tmp)
    else:
        raise ValueError(f"student kind must be 'from_config' or 'pretrained', got {kind!r}")
    metrics |= {
        "weights_sha256": weights_sha256(tmp),
        "wall_time_s": time.perf_counter() - started,
        "peak_memory": peak_memory(),
        "versions": library_versions(),
    }
    write_json(tmp / "base_metrics.json", metrics)
    publish_dir(tmp, out_dir)
    return metrics


def _build_from_config(
    student: Mapping[str, Any],
    tokenizer: Any,
    tmp: Path,
    pretrain_texts: Sequence[str] | None,
) -> dict[str, Any]:
    from compress_distill.models import build_tiny_llama

    architecture = dict(student.get("architecture") or {})
    unknown = sorted(set(architecture) - set(ARCHITECTURE_KEYS))
    if unknown:
        raise ValueError(
            f"unknown student architecture key(s) {unknown}; valid keys: {list(ARCHITECTURE_KEYS)}"
        )
    build_tiny_llama(tmp, tokenizer, **architecture)
    model = _load_causal_lm(tmp)
    metrics: dict[str, Any] = {
        "architecture": architecture,
        "parameters": sum(p.numel() for p in model.parameters()),
        "pretrain": None,
    }
    if student.get("pretrain"):
        if not pretrain_texts:
            raise ValueError("student has 'pretrain' settings but no pretraining texts were given")
        settings = PretrainSettings.from_config(student["pretrain"])
        metrics["pretrain"] = pretrain_causal_lm(model, tokenizer, pretrain_texts, settings, tmp)
    return metrics


def pretrain_causal_lm(
    model: Any, tokenizer: Any, texts: Sequence[str], settings: PretrainSettings, out_dir: Path
) -> dict[str, Any]:
    """Plain causal-LM pretraining of `model`, saved to out_dir: random windows of max_length tokens
    over the texts joined into one stream (EOS between texts), AdamW with warmup and cosine decay.

    A bare loop rather than TRL: SFT machinery (chat formatting, packing with per-example position
    ids, token statistics) costs 8x the step time of this loop on CPU, and pretraining needs none
    of it. Seeded: the same texts and settings give the same weights on the same machine.
    """
    import torch
    from tqdm import tqdm
    from transformers import get_cosine_schedule_with_warmup

    started = time.perf_counter()
    stream: list[int] = []
    for text in texts:
        stream += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    data = torch.tensor(stream)
    length = min(settings.max_length, len(stream) - 1)
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=0.0)
    schedule = get_cosine_schedule_with_warmup(optimizer, settings.steps // 10, settings.steps)
    model.train()
    rows = []
    for step in tqdm(range(1, settings.steps + 1), desc="pretrain", unit="step", mininterval=10):
        starts = torch.randint(0, len(stream) - length, (settings.batch_size,), generator=generator)
        batch = torch.stack([data[start : start + length] for start in starts.tolist()])
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step == 1 or step % max(1, settings.steps // 20) == 0 or step == settings.steps:
            rows.append({"step": step, "loss": loss.item()})
            print(f"pretrain step {step}: loss {loss.item():.4f}", flush=True)
    # Overwrite the earlier weights; the tokenizer and generation config stay.
    model.save_pretrained(str(out_dir))
    return {
        "settings": dataclasses.asdict(settings),
        "texts": len(texts),
        "stream_tokens": len(stream),
        "steps": settings.steps,
        "tokens": settings.steps * settings.batch_size * length,
        "first_loss": rows[0]["loss"],
        "final_loss": rows[-1]["loss"],
        "train_runtime_s": time.perf_counter() - started,
        "loss_curve": rows,
    }


def _copy_pretrained(model_id: str, tokenizer: Any, tmp: Path) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_id, dtype="auto")
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    return {
        "model": model_id,
        "dtype": str(model.dtype),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, help="JSON spec written by write_spec")
    args = parser.parse_args(argv)
    metrics = train_from_spec(args.spec)
    if metrics:
        summary = {k: metrics[k] for k in ("steps", "final_loss", "wall_time_s", "train_tokens")}
        print(json.dumps(summary), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
