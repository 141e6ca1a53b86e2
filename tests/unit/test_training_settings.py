"""The training settings that real GPU runs need, on their CPU paths: gradient checkpointing (with
LoRA), the attention implementation, the saved weights' dtype, and the GPU-only kernels refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from compress_distill.io import read_json, write_jsonl
from compress_distill.training.settings import TrainSettings
from compress_distill.training.trainer import (
    check_kernels,
    load_trained_model,
    make_trainer,
    save_trained_model,
    saved_dtype,
)

from .test_training import _examples

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    write_jsonl(path, _examples(8))
    return path


def test_settings_name_the_valid_values() -> None:
    with pytest.raises(ValueError, match=r"attn_implementation must be one of .*'flash'"):
        TrainSettings(attn_implementation="flash")
    with pytest.raises(ValueError, match="save_dtype must be one of"):
        TrainSettings(save_dtype="fp16")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"attn_implementation": "flash_attention_2"}, "flash_attention_2 needs a CUDA GPU"),
        ({"use_liger_kernel": True}, "use_liger_kernel: true needs a CUDA GPU"),
    ],
)
def test_gpu_kernels_are_refused_on_the_cpu_with_the_setting_named(setting, message) -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA machine: the refusal is of a missing package instead")
    with pytest.raises(ValueError, match=message):
        check_kernels(TrainSettings(**setting))


def test_the_attention_implementation_reaches_the_model(
    dataset: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    for name in ("eager", "sdpa"):
        settings = TrainSettings(max_steps=1, attn_implementation=name)
        trainer = make_trainer(dataset, tiny_model_dir, tmp_path / name, "full", settings)
        assert trainer.model.config._attn_implementation == name


def _lora_after(dataset: Path, base: Path, out: Path, checkpointing: bool) -> dict:
    settings = TrainSettings(
        learning_rate=1e-2, max_steps=2, per_device_batch_size=4, lora_r=4,
        gradient_checkpointing=checkpointing,
    )  # fmt: skip
    trainer = make_trainer(dataset, base, out, "lora", settings)
    assert trainer.args.gradient_checkpointing is checkpointing
    assert trainer.args.gradient_checkpointing_kwargs == {"use_reentrant": False}
    trainer.train()
    assert trainer.model.base_model.model.is_gradient_checkpointing is checkpointing
    return {k: v.detach().clone() for k, v in trainer.model.named_parameters() if "lora_" in k}


@pytest.mark.slow
def test_gradient_checkpointing_trains_lora_on_the_cpu_as_without_it(
    dataset: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    plain = _lora_after(dataset, tiny_model_dir, tmp_path / "plain", checkpointing=False)
    checkpointed = _lora_after(dataset, tiny_model_dir, tmp_path / "ckpt", checkpointing=True)
    # The gradient reached the adapter (lora_B starts at zero) and recomputing changed nothing.
    assert any(v.abs().sum() > 0 for k, v in checkpointed.items() if "lora_B" in k)
    for name, value in plain.items():
        torch.testing.assert_close(checkpointed[name], value, atol=1e-6, rtol=1e-5)


def test_saved_dtype_follows_training_unless_set() -> None:
    assert saved_dtype(TrainSettings(), bf16=True) == "bfloat16"
    assert saved_dtype(TrainSettings(), bf16=False) == "float32"
    assert saved_dtype(TrainSettings(save_dtype="float32"), bf16=True) == "float32"


def test_weights_saved_in_bfloat16_reload_as_bfloat16(
    dataset: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    trainer = make_trainer(
        dataset, tiny_model_dir, tmp_path / "ckpt", "full", TrainSettings(max_steps=1)
    )
    out = tmp_path / "model"
    save_trained_model(trainer, out, tiny_model_dir, "bfloat16")
    tensors = load_file(str(out / "model.safetensors"))
    assert {t.dtype for t in tensors.values()} == {torch.bfloat16}
    assert read_json(out / "config.json")["dtype"] == "bfloat16"
    reloaded, _ = load_trained_model(out)
    probe = torch.tensor([[1, 5, 35, 21, 19, 22]])
    with torch.no_grad():
        expected = trainer.model.eval()(input_ids=probe).logits
        # The bf16 weights, loaded in float32 (load_causal_lm), agree to bf16's precision.
        torch.testing.assert_close(reloaded(input_ids=probe).logits, expected, atol=0.05, rtol=0.05)


def test_the_trainers_chunked_loss_is_the_plain_loss_and_the_fit_check_knows_its_tiles(
    dataset: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """The memory-saving loss is TRL's fused LM head (logits in tiles, recomputed in the
    backward): its loss and gradients are those of the full logits' cross-entropy."""
    from trl.kernels import chunked_logprob
    from trl.trainer import utils as trl_utils

    from compress_distill.gpu_fit import LOSS_TILE_TOKENS, LOSS_TILE_VOCAB

    assert (chunked_logprob.TOKEN_CHUNK_SIZE, trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE) == (
        LOSS_TILE_TOKENS,
        LOSS_TILE_VOCAB,
    )
    trainer = make_trainer(dataset, tiny_model_dir, tmp_path, "full", TrainSettings(max_steps=1))
    model = trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))
    fused = trainer.compute_loss(model, dict(batch))
    fused.backward()
    fused_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    logits = model(input_ids=batch["input_ids"], attention_mask=batch.get("attention_mask")).logits
    plain = torch.nn.functional.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(), batch["labels"][:, 1:].flatten(), ignore_index=-100
    )
    plain.backward()
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=1e-5)
    for fused_grad, param in zip(fused_grads, model.parameters(), strict=True):
        torch.testing.assert_close(fused_grad, param.grad, atol=1e-5, rtol=1e-4)
