"""What one training run is given: its hyperparameters (TrainSettings, config key `training`) and
its job (TrainJob: data, base model, folders, mode and settings), with their checks.

A TrainJob is the one spelling of a run's arguments: the train rule builds it, `train` runs it, and
for several GPUs it travels as a JSON spec file to the processes that `accelerate launch` starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress_distill.grid import MODES
from compress_distill.io import read_json, write_json

FLOAT_SETTINGS = ("learning_rate", "epochs", "warmup_ratio", "weight_decay", "lora_dropout")
POSITIVE_INT_SETTINGS = (
    "per_device_batch_size",
    "gradient_accumulation_steps",
    "max_length",
    "logging_steps",
    "save_steps",
)

ATTN_IMPLEMENTATIONS = ("sdpa", "eager", "flash_attention_2")
SAVE_DTYPES = ("auto", "float32", "bfloat16")


def check_mode(mode: str) -> None:
    """A training mode of grid.MODES: full trains every weight, lora a LoRA adapter."""
    if mode not in MODES:
        raise ValueError(f"training mode must be one of {MODES}, got {mode!r}")


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
    # Longer examples (prompt and completion, in the chat template) are left out, never cut through
    # the answer; train_metrics.json counts them (examples_too_long). With packing, the row length.
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
    # Recompute each layer's activations in the backward pass instead of keeping them: far less
    # memory for about a third more compute (non-reentrant, which LoRA's frozen inputs need).
    gradient_checkpointing: bool = False
    # transformers' attention kernel: sdpa (PyTorch's, everywhere), eager (materializes the
    # scores), flash_attention_2 (GPU, with the flash-attn package).
    attn_implementation: str = "sdpa"
    # Liger's fused kernels, the linear layer and cross-entropy in chunks among them, so the
    # vocabulary-sized logits are never all in memory (GPU, with the liger-kernel package).
    use_liger_kernel: bool = False
    # The dtype of the saved weights: auto is bfloat16 when trained with bf16, else float32.
    save_dtype: str = "auto"
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
        if self.attn_implementation not in ATTN_IMPLEMENTATIONS:
            raise ValueError(
                f"training setting attn_implementation must be one of {ATTN_IMPLEMENTATIONS}, "
                f"got {self.attn_implementation!r}"
            )
        if self.save_dtype not in SAVE_DTYPES:
            raise ValueError(
                f"training setting save_dtype must be one of {SAVE_DTYPES}, got {self.save_dtype!r}"
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


@dataclass(frozen=True)
class TrainJob:
    """One training run: fine-tune the base model in `base_model_dir` on the JSONL training set at
    `dataset_path` in `mode`, into `out_dir`, checkpointing to `checkpoint_dir` (kept outside the
    output, so a rerun after a crash resumes from it).

    train_metrics.json and loss.csv go into out_dir unless `metrics_path` / `loss_path` name other
    files; `threads` caps torch's CPU threads (None: torch's default). Paths may be given as
    strings.
    """

    dataset_path: Path
    base_model_dir: Path
    out_dir: Path
    checkpoint_dir: Path
    mode: str
    settings: TrainSettings
    threads: int | None = None
    metrics_path: Path | None = None
    loss_path: Path | None = None

    def __post_init__(self) -> None:
        check_mode(self.mode)
        # The fields annotated Path (the annotations are strings here) take strings too.
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type not in ("Path", "Path | None"):
                continue
            if value is None and field.type == "Path | None":
                continue
            if not isinstance(value, str | Path):
                raise ValueError(f"training job {field.name} must be a path, got {value!r}")
            object.__setattr__(self, field.name, Path(value))

    def to_json(self, path: str | Path) -> None:
        """The spec file that `python -m compress_distill.training --spec` runs."""
        spec = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, TrainSettings):
                value = value.to_dict()
            spec[field.name] = value
        write_json(path, spec)

    @classmethod
    def from_json(cls, path: str | Path) -> TrainJob:
        """The job of a spec file written by to_json; an error names the file and the key."""
        spec = read_json(path)
        fields = dataclasses.fields(cls)
        required = {f.name for f in fields if f.default is dataclasses.MISSING}
        missing = sorted(required - set(spec))
        if missing:
            raise ValueError(f"{path}: spec has no {missing}")
        unknown = sorted(set(spec) - {f.name for f in fields})
        if unknown:
            raise ValueError(f"{path}: unknown spec key(s) {unknown}")
        try:
            settings = TrainSettings.from_config(spec["settings"])
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: settings: {err}") from None
        try:
            return cls(**(spec | {"settings": settings}))
        except ValueError as err:  # its message names the key
            raise ValueError(f"{path}: {err}") from None
