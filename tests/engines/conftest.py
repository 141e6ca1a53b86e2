"""Shared by the engine tests: requests, the settings under which vLLM agrees with transformers, the
transformers engine on the tiny random Llama, and a tiny random model that renders prompts like
Qwen3.5 (`qwen_like_dir`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import trl

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


# The real Qwen3.5 template as TRL ships it: thinking on by default, it opens <think> in the prompt
# (the completion starts inside the reasoning); enable_thinking=False writes an empty think block.
QWEN35_TEMPLATE = Path(trl.__file__).parent / "chat_templates" / "qwen3_5_think.jinja"


@pytest.fixture(scope="session")
def qwen_like_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama whose tokenizer is Qwen-like: the character tokenizer plus Qwen's turn
    markers (special, <|im_end|> its EOS) and <think>, </think> as single ordinary tokens (as in
    Qwen's tokenizer), with the Qwen3.5 chat template. Random weights write </think> now and then
    (one token of about a hundred), so engines meet real splits."""
    from compress_distill.students.tiny_llama import build_tiny_llama
    from compress_distill.students.tokenizers import build_char_tokenizer

    tokenizer = build_char_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.add_tokens(["<think>", "</think>"])
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.chat_template = QWEN35_TEMPLATE.read_text(encoding="utf-8")
    return build_tiny_llama(tmp_path_factory.mktemp("qwen_like"), tokenizer, seed=1)
