"""VLLMEngine with a LoRA adapter equals transformers on the merged model (greedy, float32)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compress_distill.engines import SamplingSettings, make_engine
from compress_distill.engines.hf_engine import TransformersEngine

from .conftest import VLLM_ARGS, requests

pytest.importorskip("vllm")
pytest.importorskip("peft")
pytestmark = pytest.mark.slow

PROMPTS = [f"Q{i}: what is {i} + {2 * i}?" for i in range(8)]
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def test_lora_adapter_is_applied(
    tiny_model_dir: Path, hf_engine: TransformersEngine, tmp_path: Path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # A random (not identity-initialised) adapter, so that it visibly changes the outputs.
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        peft_model = get_peft_model(
            base,
            LoraConfig(r=8, lora_alpha=16, target_modules=MODULES, init_lora_weights=False),
        )
    peft_model.save_pretrained(tmp_path / "adapter")
    peft_model.merge_and_unload().save_pretrained(tmp_path / "merged")
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(tmp_path / "merged")

    sampling = SamplingSettings(max_tokens=24)
    with make_engine(
        "vllm", str(tiny_model_dir), VLLM_ARGS | {"lora_path": str(tmp_path / "adapter")}
    ) as eng:
        assert eng.info()["lora_path"] == str(tmp_path / "adapter")
        with_lora = eng.generate(requests(PROMPTS), sampling)
    with make_engine("transformers", str(tmp_path / "merged"), {"batch_size": 8}) as hf:
        merged = hf.generate(requests(PROMPTS), sampling)
    plain = hf_engine.generate(requests(PROMPTS), sampling)
    assert [c.text for c in with_lora] == [c.text for c in merged]
    assert [c.text for c in with_lora] != [c.text for c in plain]
