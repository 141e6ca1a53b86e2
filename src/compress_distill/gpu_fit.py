"""Will each GPU job fit its GPU? Peak GPU memory, estimated before anything is submitted.

The workflow runs `check_config` at parse time (rules/common.smk), in dry runs too: a job whose
estimate exceeds its GPU's memory stops the workflow with one message naming the job, the estimate
by part and what to change; one above `gpu_fit.warn_fraction` gets a warning. The estimates are
upper bounds built from the formulas below; where a GPU is available, compare them with the peak
that train_metrics.json records (`peak_memory`) and correct the constants.

Training (rule train; one process per GPU, every process holds the same):

    states      = P x 16 B / S                      full: fp32 weights 4, fp32 grads 4, Adam m+v 8
                = P x 4 B / S + A x 16 B / S        lora: frozen fp32 base, the adapter as full
    activations = L x T x (17 h + 8 I [+ 5 a s]) B  no checkpointing
                = L x T x h x 4 B + one layer's     gradient_checkpointing (each layer's fp32 input)
    mask        = T x s x 1 B                       packing without flash_attention_2: the boolean
                                                    block-diagonal mask, one s x s per row
    loss        = 2 x 4096 x min(V, 32768) x 4 B    TRL's fused LM head: logit tiles, fp32
                  + T x h x 4 B + V x h x 4 B       fp32 gradients of hidden states and head
    overhead    = 1 GiB                             CUDA context, cuBLAS/NCCL workspaces

where P is the parameter count, S the number of GPUs for strategy fsdp (FSDP shards weights,
gradients and optimizer state) and 1 for ddp (every GPU holds all), A the LoRA adapter's parameters
(r x (in + out) summed over each layer's seven linear layers: r x L x (9 h + 2 kv + 3 I), kv the
key/value width), L the layers, h the hidden size, I the MLP's intermediate size, a the attention
heads, V the vocabulary and T = per_device_batch_size x max_length the tokens of one micro-batch
(packing fills every row; unpacked rows are padded up to at most max_length, so T is an upper
bound either way) and s the max_length.

ASSUMPTIONS: the weights load in float32 and train under bf16 autocast (load_causal_lm; without
bf16 the activations double); AdamW. The activation constant is Korthikanti et al. 2022
("Reducing Activation Recomputation in Large Transformer Models", eq. 1) per token and layer in
2-byte precision, 11 h for attention and 4 h for the two layer norms, with a SwiGLU MLP (2 h
input, 8 I for gate, up, activation and product) instead of their GELU one; sdpa and
flash_attention_2 never store the a x s attention scores, eager does. use_liger_kernel's layer
kernels save activation memory that this does not count. The loss never holds the T x V logits:
TRL's SFTTrainer (1.16, as envs/train.yaml pins) scores tokens with a fused LM head in tiles of
4096 tokens x 32768 vocabulary entries, recomputed in the backward pass (trl.kernels.
chunked_logprob); the logits whole would take T x V x 8 B. Not yet checked against a measured
peak: no GPU was available where this was written.

vLLM (teachers and llm compressors with engine vllm, evaluation with engine vllm):

    weights  = P x b / tp                 b: bytes_per_parameter (2 for bf16; quantized: less)
    kv cache = max_model_len x 2 x L_kv x ceil(kv_heads / tp) x head_dim x kv_bytes
    overhead = 3 GiB                      activation profile, CUDA graphs, sampler
    budget   = gpu_memory_utilization x GPU memory

vLLM refuses to start when its budget cannot hold one sequence of max_model_len, so that is the
fit; the table adds how many such sequences fit at once (what batches at full length can use).

GPU memory is the table GPU_MEMORY_GIB of the job's `resources.gpu_model`, `resources.gpu_memory_gb`
where stated (an unknown model, or to override), else `gpu_fit.gpu_memory_gb`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compress_distill.grid import config_runs, run_settings
from compress_distill.io import read_json
from compress_distill.local_models import local_model_dir
from compress_distill.training.settings import TrainSettings

GIB = 1024**3
# Nominal memory of common data-centre GPUs, in GiB, by the names Slurm's gres types usually use.
# A name carrying its size (a100_80gb, a100-40g) is read from the name.
GPU_MEMORY_GIB = {
    "h200": 141,
    "gh200": 96,
    "h100": 80,
    "b200": 180,
    "a100": 40,  # the smaller of the two, unless the name says 80gb
    "l40s": 48,
    "l40": 48,
    "a40": 48,
    "a6000": 48,
    "a10": 24,
    "a10g": 24,
    "l4": 24,
    "v100": 16,  # the smaller of the two, unless the name says 32gb
    "t4": 16,
    "mi300x": 192,
    "mi250x": 128,
}
STATE_BYTES_FULL = 16  # fp32 weights, fp32 gradients, Adam's two fp32 moments
FROZEN_WEIGHT_BYTES = 4  # the LoRA base, loaded in fp32
# TRL's fused LM head (trl.kernels.chunked_logprob): the logit tile it projects at a time.
LOSS_TILE_TOKENS, LOSS_TILE_VOCAB = 4096, 32768
TRAIN_OVERHEAD = 1 * GIB
VLLM_OVERHEAD = 3 * GIB
VLLM_UTILIZATION = 0.9  # vLLM's default gpu_memory_utilization
# The keys of a model's size, as its config.json names them.
SIZE_KEYS = (
    "parameters",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
)


@dataclass(frozen=True)
class ModelSize:
    """What the estimates need of a model: a config entry's `size`, or its config.json."""

    parameters: float
    hidden_size: int | None = None
    num_hidden_layers: int | None = None
    num_attention_heads: int | None = None
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    intermediate_size: int | None = None
    vocab_size: int | None = None
    # Bytes of one weight as vLLM loads it: 2 for bf16 checkpoints; quantized ones store less.
    bytes_per_parameter: float = 2.0

    @property
    def kv_heads(self) -> int:
        return self.num_key_value_heads or self.num_attention_heads or 0

    @property
    def head_size(self) -> int:
        if self.head_dim:
            return self.head_dim
        return (self.hidden_size or 0) // (self.num_attention_heads or 1)

    def missing(self, keys: tuple[str, ...]) -> list[str]:
        return [key for key in keys if not getattr(self, key)]


def dense_parameters(config: Mapping[str, Any]) -> float | None:
    """A dense decoder's parameter count from its config.json; None for mixtures of experts."""
    if any(key in config for key in ("num_experts", "num_local_experts", "n_routed_experts")):
        return None
    try:
        h, layers = config["hidden_size"], config["num_hidden_layers"]
        heads, inter, vocab = (
            config["num_attention_heads"],
            config["intermediate_size"],
            config["vocab_size"],
        )
    except KeyError:
        return None
    head_dim = config.get("head_dim") or h // heads
    kv = config.get("num_key_value_heads") or heads
    attention = 2 * h * heads * head_dim + 2 * h * kv * head_dim
    embeddings = vocab * h * (1 if config.get("tie_word_embeddings", False) else 2)
    return float(layers * (attention + 3 * h * inter + 2 * h) + embeddings + h)


def model_size(entry: Mapping[str, Any], workflow_dir: str | Path) -> ModelSize | None:
    """The entry's `size` (for hub ids; it wins), or what its local folder's config.json says;
    None when neither gives the parameter count."""
    stated = dict(entry.get("size") or {})
    folder = local_model_dir(entry, workflow_dir)
    found: dict[str, Any] = {}
    if folder is not None and (folder / "config.json").is_file():
        hf_config = read_json(folder / "config.json")
        hf_config = hf_config.get("text_config", hf_config)  # multimodal wrappers
        found = {key: hf_config[key] for key in SIZE_KEYS[1:] if hf_config.get(key)}
        parameters = dense_parameters(hf_config)
        if parameters:
            found["parameters"] = parameters
    size = found | stated
    if not size.get("parameters"):
        return None
    return ModelSize(**size)


def gpu_memory(resources: Mapping[str, Any], default_gb: float) -> tuple[float, str]:
    """(bytes, label) of one GPU of a job: `gpu_memory_gb` where stated, else its `gpu_model`
    from GPU_MEMORY_GIB (a size in the name, as in a100_80gb, wins), else `default_gb`."""
    model = str(resources.get("gpu_model") or "")
    if resources.get("gpu_memory_gb"):
        gib = float(resources["gpu_memory_gb"])
        return gib * GIB, f"{model or 'GPU'} {gib:g} GiB (gpu_memory_gb)"
    if model:
        family, *rest = re.split(r"[-_ ]", re.sub(r"^nvidia[-_ ]?", "", model.lower()))
        stated = re.search(r"(\d+)\s*g", " ".join(rest))
        if stated:
            return int(stated.group(1)) * GIB, f"{model} {stated.group(1)} GiB"
        if family in GPU_MEMORY_GIB:
            return GPU_MEMORY_GIB[family] * GIB, f"{model} {GPU_MEMORY_GIB[family]} GiB"
        raise ValueError(
            f"resources.gpu_model {model!r}: memory unknown (known: {sorted(GPU_MEMORY_GIB)}); "
            "state it with resources.gpu_memory_gb"
        )
    return default_gb * GIB, f"any GPU, {default_gb:g} GiB (gpu_fit.gpu_memory_gb)"


def lora_parameters(size: ModelSize, r: int) -> float:
    """A LoRA adapter on every linear layer of each decoder layer (q, k, v, o, gate, up, down):
    r x (in + out) each."""
    h, inter = size.hidden_size or 0, size.intermediate_size or 0
    q = size.head_size * (size.num_attention_heads or 0) or h
    kv = size.head_size * size.kv_heads
    widths = (h + q) + 2 * (h + kv) + (q + h) + 2 * (h + inter) + (inter + h)
    return float(r * (size.num_hidden_layers or 0) * widths)


TRAIN_KEYS = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "vocab_size",
)


def training_parts(
    size: ModelSize, settings: TrainSettings, mode: str, strategy: str, gpus: int
) -> dict[str, float]:
    """Peak memory of one GPU of a training job, in bytes, by part (see the module's formula)."""
    shards = gpus if strategy == "fsdp" and gpus > 1 else 1
    params = size.parameters
    if mode == "lora":
        adapter = lora_parameters(size, settings.lora_r)
        weights = (params * FROZEN_WEIGHT_BYTES + adapter * 4) / shards
        optimizer = adapter * 12 / shards  # fp32 gradients and Adam's two moments
    else:
        weights = params * 4 / shards
        optimizer = params * (STATE_BYTES_FULL - 4) / shards
    h, layers = size.hidden_size or 0, size.num_hidden_layers or 0
    tokens = settings.per_device_batch_size * settings.max_length
    # bf16 "auto" is bf16 on the GPUs this checks; without it every activation is fp32.
    scale = 2.0 if settings.bf16 is False else 1.0
    per_layer = 17 * h + 8 * (size.intermediate_size or 0)
    if settings.attn_implementation == "eager":
        per_layer += 5 * (size.num_attention_heads or 0) * settings.max_length
    one_layer = tokens * per_layer * scale
    if settings.gradient_checkpointing:
        activations = layers * tokens * h * 4 + one_layer
    else:
        activations = layers * one_layer
    # Packed rows under sdpa or eager attend through a materialized (b, 1, s, s) boolean mask;
    # flash_attention_2 reads the examples' boundaries from the position ids instead.
    packed_mask = settings.packing and settings.attn_implementation != "flash_attention_2"
    mask = tokens * settings.max_length if packed_mask else 0
    vocab = size.vocab_size or 0
    tile = min(tokens, LOSS_TILE_TOKENS) * min(vocab, LOSS_TILE_VOCAB) * 4
    loss = 2 * tile + tokens * h * 4 + vocab * h * 4
    return {
        "weights": weights,
        "grads+optimizer": optimizer,
        "activations": activations,
        "mask": mask,
        "loss": loss,
        "overhead": TRAIN_OVERHEAD,
    }


def vllm_parts(
    size: ModelSize, engine_args: Mapping[str, Any], max_model_len: int
) -> dict[str, float]:
    """Memory of one GPU of a vLLM job holding one sequence of max_model_len, by part."""
    tp = int(engine_args.get("tensor_parallel_size", 1))
    kv_bytes = 1 if str(engine_args.get("kv_cache_dtype", "auto")).startswith("fp8") else 2
    weight_bytes = (
        4 if engine_args.get("dtype") in ("float32", "float") else size.bytes_per_parameter
    )
    kv_per_token = 2 * (size.num_hidden_layers or 0) * math.ceil(size.kv_heads / tp)
    kv_per_token *= size.head_size * kv_bytes
    return {
        "weights": size.parameters * weight_bytes / tp,
        "kv cache": max_model_len * kv_per_token,
        "overhead": VLLM_OVERHEAD,
    }


@dataclass(frozen=True)
class Estimate:
    """One GPU job's estimate against its GPU: `budget` is what it may use of `gpu` (vLLM: its
    gpu_memory_utilization share)."""

    job: str
    parts: dict[str, float]
    budget: float
    gpu: str
    advice: str
    warn_fraction: float
    note: str = ""
    unknown: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    @property
    def fraction(self) -> float:
        return self.total / self.budget

    @property
    def verdict(self) -> str:
        if self.unknown:
            return "unchecked"
        if self.fraction > 1:
            return "DOES NOT FIT"
        return "narrow" if self.fraction > self.warn_fraction else "fits"

    def describe(self) -> str:
        if self.unknown:
            return f"{self.job}: not checked, state {', '.join(self.unknown)}"
        parts = ", ".join(f"{name} {value / GIB:.1f}" for name, value in self.parts.items())
        line = (
            f"{self.job}: {self.total / GIB:.1f} GiB ({parts}) of {self.budget / GIB:.1f} GiB "
            f"[{self.gpu}], {self.fraction:.0%}"
        )
        return line + (f"; {self.note}" if self.note else "")


def _train_advice(settings: TrainSettings, strategy: str, gpus: int) -> str:
    advice = []
    if not settings.gradient_checkpointing:
        advice.append("gradient_checkpointing: true")
    if settings.per_device_batch_size > 1:
        advice.append("a smaller per_device_batch_size with a larger gradient_accumulation_steps")
    advice.append("a shorter max_length")
    if strategy != "fsdp":
        advice.append("strategy: fsdp over more GPUs (resources.gpus)")
    elif gpus:
        advice.append("more GPUs (resources.gpus)")
    advice.append("a GPU with more memory (resources.gpu_model)")
    return "; or ".join(advice)


VLLM_ADVICE = (
    "a larger engine_args.tensor_parallel_size (and resources.gpus), a shorter max_model_len, "
    "kv_cache_dtype: fp8, a higher gpu_memory_utilization, or a GPU with more memory "
    "(resources.gpu_model)"
)


def _training_estimates(
    config: Mapping[str, Any], workflow_dir: str | Path, default_gb: float, warn: float
) -> Iterator[Estimate]:
    runs: dict[tuple[str, str], int] = {}
    for run in config_runs(config):
        runs[run.student, run.mode] = runs.get((run.student, run.mode), 0) + 1
    for (name, mode), count in runs.items():
        student = config["students"][name]
        resources = student.get("resources", {})
        gpus = int(resources.get("gpus", 0))
        if gpus < 1:
            continue
        job = f"train (student={name}, mode={mode}; {count} jobs)"
        settings = TrainSettings.from_config(
            run_settings(student, mode, config["training"]["budget"])
        )
        strategy = student.get("strategy", "ddp")
        size = model_size(student, workflow_dir)
        missing = size.missing(TRAIN_KEYS) if size else ["parameters", *TRAIN_KEYS]
        budget, gpu = gpu_memory(resources, default_gb)
        if missing:
            unknown = [f"students.{name}.size.{key}" for key in missing]
            yield Estimate(job, {}, budget, gpu, "", warn, unknown=unknown)
            continue
        parts = training_parts(size, settings, mode, strategy, gpus)
        advice = _train_advice(settings, strategy, gpus)
        yield Estimate(job, parts, budget, gpu, advice, warn, note=f"{strategy} x {gpus}")


def _vllm_jobs(config: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any], Mapping]]:
    """(job, config key, entry whose model it loads, entry with engine_args and resources)."""
    for name, teacher in config["teachers"].items():
        if teacher["engine"] == "vllm":
            yield f"generate (teacher={name})", f"teachers.{name}", teacher, teacher
    for name, compressor in config.get("compressors", {}).items():
        if compressor.get("engine") == "vllm":
            yield f"compress (compressor={name})", f"compressors.{name}", compressor, compressor
    evaluation = config.get("evaluation", {})
    if evaluation.get("engine") == "vllm" and config.get("benchmarks"):
        for name in sorted({run.student for run in config_runs(config)}):
            student = config["students"][name]
            yield f"evaluate (student={name})", f"students.{name}", student, evaluation


def _vllm_estimates(
    config: Mapping[str, Any], workflow_dir: str | Path, default_gb: float, warn: float
) -> Iterator[Estimate]:
    for job, key, model_entry, entry in _vllm_jobs(config):
        resources = entry.get("resources", {})
        if int(resources.get("gpus", 0)) < 1:
            continue
        engine_args = entry.get("engine_args", {})
        memory, gpu = gpu_memory(resources, default_gb)
        utilization = float(engine_args.get("gpu_memory_utilization", VLLM_UTILIZATION))
        budget = memory * utilization
        size = model_size(model_entry, workflow_dir)
        missing = size.missing(("num_hidden_layers", "hidden_size")) if size else ["parameters"]
        max_len = engine_args.get("max_model_len")
        if missing or not max_len:
            unknown = [f"{key}.size.{k}" for k in missing]
            unknown += [] if max_len else ["engine_args.max_model_len"]
            yield Estimate(job, {}, budget, gpu, "", warn, unknown=unknown)
            continue
        parts = vllm_parts(size, engine_args, int(max_len))
        free = budget - parts["weights"] - parts["overhead"]
        sequences = max(0, int(free // parts["kv cache"])) if parts["kv cache"] else 0
        tp = engine_args.get("tensor_parallel_size", 1)
        note = f"tp {tp}, {sequences} sequences of {max_len} at once"
        yield Estimate(job, parts, budget, gpu, VLLM_ADVICE, warn, note=note)


def check_config(config: Mapping[str, Any], workflow_dir: str | Path) -> list[Estimate]:
    """Every GPU job's estimate: training per (student, mode), vLLM per teacher, compressor and
    evaluated student. Empty (and cheap) for a config without GPU jobs."""
    fit = config.get("gpu_fit", {})
    if not fit.get("enabled", True):
        return []
    default_gb, warn = fit.get("gpu_memory_gb", 80), fit.get("warn_fraction", 0.9)
    return [
        *_training_estimates(config, workflow_dir, default_gb, warn),
        *_vllm_estimates(config, workflow_dir, default_gb, warn),
    ]


def verdict_table(estimates: list[Estimate]) -> str:
    """The verdict of every GPU job, one line each, for the dry run's log."""
    lines = ["GPU fit check (estimated peak memory per GPU; compress_distill/gpu_fit.py):"]
    lines += [f"  [{e.verdict}] {e.describe()}" for e in estimates]
    return "\n".join(lines)


def failure_message(estimates: list[Estimate]) -> str | None:
    """One message for the jobs that cannot fit, with what to change; None when all fit."""
    failing = [e for e in estimates if e.verdict == "DOES NOT FIT"]
    if not failing:
        return None
    lines = [f"{len(failing)} GPU job(s) will not fit in GPU memory (an estimate, see gpu_fit.py):"]
    for estimate in failing:
        lines.append(f"  {estimate.describe()}")
        lines.append(f"    change: {estimate.advice}")
    lines.append("(to skip this check: gpu_fit: {enabled: false})")
    return "\n".join(lines)
