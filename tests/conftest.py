"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny Llama (char tokenizer, ~1 M parameters) saved once per test session."""
    from compress_distill.models import build_char_tokenizer, build_tiny_llama

    out = tmp_path_factory.mktemp("tiny_llama")
    return build_tiny_llama(out, build_char_tokenizer(), seed=0)
