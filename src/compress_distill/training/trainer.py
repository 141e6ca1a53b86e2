"""The glue around TRL's SFTTrainer: one run's trainer, its token counts, and its saved model.

The loss falls on the completion tokens only, the tokenizer's chat template (shared with
evaluation) renders the turns, and optional packing keeps examples apart (position ids restart at
each example; transformers turns them into a block-diagonal mask, or flash-attention's varlen
kernel on GPUs that have it). transformers, TRL and peft are imported only by the functions that
use them, so that importing this module stays cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compress_distill.io import read_json, read_jsonl, write_json
from compress_distill.students.base import load_causal_lm
from compress_distill.students.tokenizers import (
    as_student_reads,
    load_tokenizer,
    rendered_lengths,
)
from compress_distill.training import BASE_MODEL_FILE
from compress_distill.training.records import weights_sha256
from compress_distill.training.settings import TrainSettings, check_mode


@functools.cache
def token_counter_class() -> type:
    """Defined lazily (and once): transformers is imported only by the functions that train."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import ExportableState

    class TokenCounter(TrainerCallback, ExportableState):
        """Tokens trained on, kept in each checkpoint's trainer_state.json (written with it, so the
        counts always match the checkpoint a resumed run continues from); also calls `heartbeat`
        (the attempts log's) at each log and save."""

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


def restored_token_counter(checkpoint: Path | None) -> Any:
    """A TokenCounter with the counts saved in `checkpoint` (zero without one)."""
    counter_cls = token_counter_class()
    saved_counts = {}
    if checkpoint is not None:
        callbacks_state = read_json(checkpoint / "trainer_state.json").get("stateful_callbacks", {})
        saved_counts = callbacks_state.get(counter_cls.__name__, {}).get("args", {})
    return counter_cls(**saved_counts)


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


def on_cpu() -> bool:
    """Whether training runs on the CPU: no CUDA device. Several processes then form their group
    over gloo (accelerate's MULTI_CPU), not as independent runs that each think they are alone."""
    import torch

    return not torch.cuda.is_available()


def resolve_bf16(setting: bool | str) -> bool:
    import torch

    gpu_bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if setting == "auto":
        return gpu_bf16
    if setting and not gpu_bf16:
        raise ValueError("training setting bf16: true needs a GPU with bf16 support; use 'auto'")
    return bool(setting)


def check_kernels(settings: TrainSettings) -> None:
    """Refuse, with the setting's name, the kernels that need a GPU or a package not installed."""
    import importlib.util

    needs = []
    if settings.attn_implementation == "flash_attention_2":
        needs.append(("attn_implementation: flash_attention_2", "flash_attn", "flash-attn"))
    if settings.use_liger_kernel:
        needs.append(("use_liger_kernel: true", "liger_kernel", "liger-kernel"))
    for setting, module, package in needs:
        if on_cpu():
            raise ValueError(f"training setting {setting} needs a CUDA GPU; this job has none")
        if importlib.util.find_spec(module) is None:
            raise ValueError(
                f"training setting {setting} needs the {package} package, not installed here "
                f"(add it to envs/train.yaml, or drop the setting)"
            )


def saved_dtype(settings: TrainSettings, bf16: bool) -> str:
    """The dtype the weights are saved in: save_dtype, or for auto that of training."""
    if settings.save_dtype != "auto":
        return settings.save_dtype
    return "bfloat16" if bf16 else "float32"


def cast_saved_weights(model_dir: str | Path, dtype: str) -> None:
    """Cast the floating-point tensors of a saved model's (or adapter's) safetensors files to dtype,
    one file at a time, each replaced atomically; config.json then records the dtype. A sharded
    checkpoint's index keeps the training dtype's byte total: loaders read only its weight map."""
    import torch
    from safetensors.torch import load_file, save_file

    target = getattr(torch, dtype)
    model_dir = Path(model_dir)
    cast_any = False
    for path in sorted(model_dir.glob("*.safetensors")):
        tensors = load_file(str(path))
        if all(not t.is_floating_point() or t.dtype == target for t in tensors.values()):
            continue
        cast = {k: t.to(target) if t.is_floating_point() else t for k, t in tensors.items()}
        tmp = path.with_name(f".{path.name}.tmp")
        save_file(cast, str(tmp), metadata={"format": "pt"})
        tmp.replace(path)
        cast_any = True
    config_path = model_dir / "config.json"
    if cast_any and config_path.is_file():
        write_json(config_path, read_json(config_path) | {"dtype": dtype})


def _sft_config(settings: TrainSettings, output_dir: Path) -> Any:
    """TRL's config of a run: loss on completions only, checkpoints every save_steps."""
    from trl import SFTConfig

    bf16, cpu = resolve_bf16(settings.bf16), on_cpu()
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
        completion_only_loss=True,
        warmup_steps=settings.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=settings.weight_decay,
        lr_scheduler_type=settings.lr_scheduler,
        seed=settings.seed,
        data_seed=settings.seed,
        logging_steps=settings.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=settings.save_steps,
        # Two, so a checkpoint being written never replaces the last complete one.
        save_total_limit=2,
        bf16=bf16,
        fp16=False,
        # TRL turns it on by default; it only pays off for models that fill the GPU. Non-reentrant:
        # the reentrant kind loses the gradient where a layer's inputs need none (LoRA's base).
        gradient_checkpointing=settings.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
        use_liger_kernel=settings.use_liger_kernel,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=not cpu,
        use_cpu=cpu,
        eval_strategy="no",
    )


def load_training_set(dataset_path: str | Path, tokenizer: Any, max_length: int) -> tuple[Any, int]:
    """The JSONL training set as an in-memory HF dataset (no cache files beside the input), and how
    many examples were left out for being longer than max_length.

    An example is measured as the student reads it: prompt and completion through its chat
    template. One that does not fit is left out rather than cut, since a cut falls on the end of
    the completion, where the answer is. A reasoning kept apart (`reasoning_content`) stays apart
    where the template has a place for it, and otherwise opens the content, as in the trace.
    """
    from datasets import Dataset

    rows = read_jsonl(dataset_path)
    if not rows:
        raise ValueError(f"{dataset_path}: empty training set")
    for column in ("prompt", "completion"):
        if column not in rows[0]:
            raise ValueError(f"{dataset_path}:1: a training example needs '{column}'")
    rows = as_student_reads(rows, tokenizer)
    lengths = rendered_lengths(rows, tokenizer)
    kept = [r for r, n in zip(rows, lengths, strict=True) if n <= max_length]
    if not kept:
        raise ValueError(
            f"{dataset_path}: all {len(rows)} examples are longer than the student's max_length "
            f"({max_length} tokens, longest {max(lengths)}): raise training.max_length"
        )
    examples = [{"prompt": r["prompt"], "completion": r["completion"]} for r in kept]
    return Dataset.from_list(examples), len(rows) - len(kept)


def dataset_token_stats(dataset: Any, packing: bool) -> dict[str, int]:
    """Tokens (all, completion) of one pass over the prepared dataset: what the model trains on."""
    stats = {"examples": 0, "tokens_per_epoch": 0, "completion_tokens_per_epoch": 0}
    stats["rows"] = len(dataset)
    column = "seq_lengths" if packing else "input_ids"
    # In batches: a large training set's token lists do not fit in memory as Python ints.
    for batch in dataset.select_columns([column, "labels"]).iter(batch_size=1024):
        if packing:
            lengths = [n for row in batch[column] for n in row]
        else:
            lengths = [len(ids) for ids in batch[column]]
        stats["examples"] += len(lengths)
        stats["tokens_per_epoch"] += sum(lengths)
        stats["completion_tokens_per_epoch"] += sum(
            sum(1 for x in labels[1:] if x != -100) for labels in batch["labels"]
        )
    return stats


def make_trainer(
    dataset_path: str | Path,
    base_model_dir: str | Path,
    checkpoint_dir: str | Path,
    mode: str,
    settings: TrainSettings,
    callbacks: Sequence[Any] = (),
) -> Any:
    """The SFTTrainer of one run (checkpoints to checkpoint_dir), not yet trained.

    Its `counter` (a TokenCounter) counts the tokens of every training batch;
    `examples_too_long` is how many examples were left out for not fitting max_length.
    """
    from peft import LoraConfig

    check_mode(mode)
    check_kernels(settings)
    peft_config = None
    if mode == "lora":
        peft_config = LoraConfig(
            r=settings.lora_r,
            lora_alpha=settings.lora_alpha,
            lora_dropout=settings.lora_dropout,
            target_modules=settings.lora_target_modules,
            task_type="CAUSAL_LM",
        )
    counter_cls = token_counter_class()
    counter = next((cb for cb in callbacks if isinstance(cb, counter_cls)), None)
    if counter is None:
        counter = counter_cls()
        callbacks = [*callbacks, counter]
    tokenizer = load_tokenizer(base_model_dir)
    dataset, too_long = load_training_set(dataset_path, tokenizer, settings.max_length)
    model = load_causal_lm(base_model_dir)
    model.set_attn_implementation(settings.attn_implementation)
    trainer = _counting_trainer_class()(
        model=model,
        args=_sft_config(settings, Path(checkpoint_dir)),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=list(callbacks),
    )
    trainer.counter = counter
    trainer.examples_too_long = too_long
    return trainer


def save_trained_model(
    trainer: Any, out_dir: str | Path, base_model_dir: str | Path, dtype: str = "float32"
) -> None:
    """Save the trained model, or the LoRA adapter with base_model.json, and the tokenizer, with
    the weights in `dtype` (saved_dtype).

    Every process must call it (FSDP gathers the full weights); the main process writes.
    """
    from peft import PeftModel

    trainer.save_model(str(out_dir))
    if trainer.accelerator.is_main_process:
        cast_saved_weights(out_dir, dtype)
    if trainer.accelerator.is_main_process and isinstance(trainer.model, PeftModel):
        pointer = {
            "base_model": str(base_model_dir),
            "weights_sha256": weights_sha256(base_model_dir),
        }
        write_json(Path(out_dir) / BASE_MODEL_FILE, pointer)


def load_trained_model(model_dir: str | Path, verify: bool = True) -> tuple[Any, Any]:
    """(model, tokenizer) of a training output: a full model, or a LoRA adapter on its base.

    For an adapter, base_model.json names the base folder; with `verify`, its weights must still
    have the sha256 recorded at training time.
    """
    from peft import PeftModel

    model_dir = Path(model_dir)
    tokenizer = load_tokenizer(model_dir)
    pointer = model_dir / BASE_MODEL_FILE
    if not pointer.exists():
        return load_causal_lm(model_dir).eval(), tokenizer
    base = read_json(pointer)
    base_dir = base["base_model"]
    if verify and weights_sha256(base_dir) != base["weights_sha256"]:
        raise ValueError(
            f"{pointer}: the base model at {base_dir} changed since the adapter was trained"
        )
    model = PeftModel.from_pretrained(load_causal_lm(base_dir), str(model_dir))
    return model.eval(), tokenizer
