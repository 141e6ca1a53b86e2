"""Shared by the engine tests: requests, the settings under which vLLM agrees with transformers, and
the transformers engine on the tiny random Llama."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from compress_distill.engines import Request, make_engine
from compress_distill.engines.hf_engine import TransformersEngine

# Prompts of different lengths: batched together, they need padding.
PROMPTS = [f"Q{i}: what is {i} + {2 * i}?" + " Show work." * (i % 4) for i in range(12)]
# vLLM in float32 like the transformers engine: greedy decoding then agrees token for token.
VLLM_ARGS = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "seed": 0}


def user(text: str, sample_index: int = 0) -> Request:
    """A request of one user message."""
    return Request(messages=[{"role": "user", "content": text}], sample_index=sample_index)


def requests(prompts: Iterable[str] = PROMPTS) -> list[Request]:
    return [user(p) for p in prompts]


@pytest.fixture(scope="module")
def hf_engine(tiny_model_dir: Path) -> Iterator[TransformersEngine]:
    """The transformers engine on the tiny Llama (float32, batches of 4), one per test module."""
    engine = make_engine("transformers", str(tiny_model_dir), {"batch_size": 4})
    assert isinstance(engine, TransformersEngine)
    yield engine
    engine.close()
