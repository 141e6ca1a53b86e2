"""The GPU fit check: its estimates on hand-computed cases, the GPU table, the verdicts, and the
configs it reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compress_distill.config import validate_config
from compress_distill.gpu_fit import (
    GIB,
    ModelSize,
    check_config,
    dense_parameters,
    failure_message,
    gpu_memory,
    lora_parameters,
    model_size,
    training_parts,
    vllm_parts,
)
from compress_distill.io import write_json
from compress_distill.training.settings import TrainSettings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas/config.schema.yaml"
# A 1B dense model: 16 layers of width 1024, 16 heads of 64, SwiGLU 4096, a 32k vocabulary.
SIZE = ModelSize(
    parameters=1e9,
    hidden_size=1024,
    num_hidden_layers=16,
    num_attention_heads=16,
    num_key_value_heads=16,
    intermediate_size=4096,
    vocab_size=32000,
)
ONE_ROW = TrainSettings(per_device_batch_size=1, max_length=1024)
# Per token and layer: 17 h + 8 I bytes = 17 * 1024 + 8 * 4096.
LAYER_BYTES = 50176
# The fused loss: two 1024 x 32000 fp32 tiles, fp32 gradients of 1024 hidden states and the head.
LOSS_BYTES = 2 * 1024 * 32000 * 4 + 1024 * 1024 * 4 + 32000 * 1024 * 4


def test_full_fine_tuning_on_one_gpu_by_hand() -> None:
    parts = training_parts(SIZE, ONE_ROW, "full", "ddp", 1)
    assert parts == {
        "weights": 4e9,
        "grads+optimizer": 12e9,
        "activations": 16 * 1024 * LAYER_BYTES,
        "mask": 0,  # no packing
        "loss": LOSS_BYTES,
        "overhead": GIB,
    }
    total = 16e9 + 16 * 1024 * LAYER_BYTES + LOSS_BYTES + GIB  # 17.04 GiB
    assert sum(parts.values()) == total


def test_gradient_checkpointing_keeps_each_layers_input_and_one_layer() -> None:
    settings = TrainSettings(per_device_batch_size=1, max_length=1024, gradient_checkpointing=True)
    parts = training_parts(SIZE, settings, "full", "ddp", 1)
    assert parts["activations"] == 16 * 1024 * 1024 * 4 + 1024 * LAYER_BYTES


def test_eager_attention_adds_the_scores_and_fp32_doubles_activations() -> None:
    eager = TrainSettings(per_device_batch_size=1, max_length=1024, attn_implementation="eager")
    parts = training_parts(SIZE, eager, "full", "ddp", 1)
    assert parts["activations"] == 16 * 1024 * (LAYER_BYTES + 5 * 16 * 1024)
    fp32 = TrainSettings(per_device_batch_size=1, max_length=1024, bf16=False)
    assert (
        training_parts(SIZE, fp32, "full", "ddp", 1)["activations"] == 2 * 16 * 1024 * LAYER_BYTES
    )


def test_packed_rows_hold_a_square_mask_unless_flash_attention() -> None:
    packed = TrainSettings(per_device_batch_size=2, max_length=1024, packing=True)
    assert training_parts(SIZE, packed, "full", "ddp", 1)["mask"] == 2 * 1024 * 1024
    flash = TrainSettings(
        per_device_batch_size=2, max_length=1024, packing=True,
        attn_implementation="flash_attention_2",
    )  # fmt: skip
    assert training_parts(SIZE, flash, "full", "ddp", 1)["mask"] == 0


def test_lora_keeps_a_frozen_fp32_base_and_trains_a_small_adapter() -> None:
    settings = TrainSettings(per_device_batch_size=1, max_length=1024, lora_r=8)
    # r x layers x (9 h + 2 kv + 3 I), kv = 16 heads x 64 = 1024.
    adapter = 8 * 16 * (9 * 1024 + 2 * 1024 + 3 * 4096)
    assert lora_parameters(SIZE, 8) == adapter == 3_014_656
    lora = training_parts(SIZE, settings, "lora", "ddp", 1)
    full = training_parts(SIZE, settings, "full", "ddp", 1)
    assert lora["weights"] == 4e9 + adapter * 4
    assert lora["grads+optimizer"] == adapter * 12
    assert lora["activations"] == full["activations"]  # the backward still runs through the base
    assert (
        full["weights"] + full["grads+optimizer"] - lora["weights"] - lora["grads+optimizer"] > 11e9
    )


def test_fsdp_shards_the_states_over_the_gpus_and_ddp_does_not() -> None:
    fsdp = training_parts(SIZE, ONE_ROW, "full", "fsdp", 4)
    ddp = training_parts(SIZE, ONE_ROW, "full", "ddp", 4)
    assert (fsdp["weights"], fsdp["grads+optimizer"]) == (1e9, 3e9)
    assert (ddp["weights"], ddp["grads+optimizer"]) == (4e9, 12e9)
    assert fsdp["activations"] == ddp["activations"]  # each GPU runs its own micro-batch


def test_vllm_weights_split_over_tensor_parallel_gpus_and_one_sequence_of_kv() -> None:
    size = ModelSize(
        parameters=7e9, hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,
        num_key_value_heads=8,
    )  # fmt: skip
    parts = vllm_parts(size, {"tensor_parallel_size": 2}, 8192)
    # K and V, 32 layers, 8 / 2 heads of 128, bf16: 65,536 bytes per token.
    assert parts == {"weights": 7e9, "kv cache": 8192 * 65536, "overhead": 3 * GIB}
    fp8 = vllm_parts(size, {"tensor_parallel_size": 2, "kv_cache_dtype": "fp8"}, 8192)
    assert fp8["kv cache"] == parts["kv cache"] / 2


@pytest.mark.parametrize(
    ("resources", "gib"),
    [
        ({"gpu_model": "h200"}, 141),
        ({"gpu_model": "A100"}, 40),
        ({"gpu_model": "a100_80gb"}, 80),
        ({"gpu_model": "nvidia_h100_80gb_hbm3"}, 80),
        ({"gpu_model": "l40s"}, 48),
        ({"gpu_model": "mystery", "gpu_memory_gb": 32}, 32),
        ({}, 80),
    ],
)
def test_gpu_memory_from_the_model_name_or_the_config(resources: dict, gib: float) -> None:
    assert gpu_memory(resources, 80)[0] == gib * GIB


def test_an_unknown_gpu_model_names_the_key_to_state() -> None:
    with pytest.raises(ValueError, match="gpu_memory_gb"):
        gpu_memory({"gpu_model": "mystery"}, 80)


@pytest.mark.parametrize("tied", [True, False])
def test_parameter_count_of_a_config_json_matches_the_model(tied: bool) -> None:
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        vocab_size=300, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=96, tie_word_embeddings=tied,
    )  # fmt: skip
    model = transformers.LlamaForCausalLM(config)
    assert dense_parameters(config.to_dict()) == sum(p.numel() for p in model.parameters())


def test_model_size_reads_a_local_config_json_and_stated_keys_win(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    write_json(
        folder / "config.json", {"hidden_size": 64, "num_hidden_layers": 2, "num_experts": 8}
    )
    assert model_size({"model": str(folder)}, tmp_path) is None  # a mixture of experts: state it
    size = model_size({"model": str(folder), "size": {"parameters": 5e8}}, tmp_path)
    assert size == ModelSize(parameters=5e8, hidden_size=64, num_hidden_layers=2)


def _config(path: str, edit=None) -> dict:
    config = yaml.safe_load((ROOT / path).read_text())
    if edit:
        edit(config)
    return validate_config(config, SCHEMA, ROOT)


def test_the_cpu_demo_has_no_gpu_job_to_check() -> None:
    assert check_config(_config("config.yaml"), ROOT) == []


def _oversized(config: dict) -> None:
    student = next(iter(config["students"].values()))
    student["resources"] = {"gpus": 1, "gpu_model": "a10"}
    student["size"] = {
        "parameters": 7e9, "hidden_size": 4096, "num_hidden_layers": 32,
        "num_attention_heads": 32, "intermediate_size": 11008, "vocab_size": 32000,
    }  # fmt: skip


def test_a_job_that_cannot_fit_gets_one_message_with_what_to_change() -> None:
    estimates = check_config(_config("configs/tiny.yaml", _oversized), ROOT)
    assert estimates and all(e.verdict == "DOES NOT FIT" for e in estimates)
    message = failure_message(estimates)
    assert message is not None
    assert "train (student=" in message and "mode=full" in message and "a10 24 GiB" in message
    assert "gradient_checkpointing: true" in message and "strategy: fsdp" in message
    assert message.count("\n    change: ") == len(estimates)


def test_a_narrow_fit_is_a_warning_not_a_failure() -> None:
    full = check_config(_config("configs/tiny.yaml", _oversized), ROOT)[0]
    assert "mode=full" in full.job
    total = full.total

    def edit(config: dict) -> None:
        _oversized(config)
        # The job fills 95% of its GPU: above gpu_fit.warn_fraction's default 0.9.
        gpu = {"gpus": 1, "gpu_memory_gb": total / 0.95 / GIB}
        config["students"][next(iter(config["students"]))]["resources"] = gpu

    estimates = check_config(_config("configs/tiny.yaml", edit), ROOT)
    verdicts = {e.job.split("mode=")[1][:4]: e.verdict for e in estimates}
    assert verdicts == {"full": "narrow", "lora": "fits"}  # LoRA holds less
    assert failure_message(estimates) is None


def test_a_gpu_job_of_unknown_size_is_named_unchecked() -> None:
    def edit(config: dict) -> None:
        _oversized(config)
        del config["students"][next(iter(config["students"]))]["size"]

    estimates = check_config(_config("configs/tiny.yaml", edit), ROOT)
    assert {e.verdict for e in estimates} == {"unchecked"}
    assert ".size.parameters" in estimates[0].describe()


def test_the_paper_config_fits_and_without_checkpointing_it_does_not() -> None:
    estimates = check_config(_config("configs/paper.yaml"), ROOT)
    assert estimates and all(e.verdict == "fits" for e in estimates)
    assert {e.job.split(" (")[0] for e in estimates} == {
        "train",
        "generate",
        "compress",
        "evaluate",
    }

    def no_checkpointing(config: dict) -> None:
        for student in config["students"].values():
            student["training"]["gradient_checkpointing"] = False

    unfixed = check_config(_config("configs/paper.yaml", no_checkpointing), ROOT)
    assert {e.job for e in unfixed if e.verdict == "DOES NOT FIT"} == {
        e.job for e in unfixed if e.job.startswith("train")
    }
