"""TransformersEngine on the tiny random Llama (CPU, float32)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compress_distill.engines import SamplingSettings, make_engine
from compress_distill.engines.hf_engine import TransformersEngine

from .conftest import requests, user

pytestmark = pytest.mark.slow

PROMPTS = [f"What is {i} + {i * 3}?" + " Think." * (i % 3) for i in range(6)]


def test_batched_equals_unbatched_greedy(hf_engine: TransformersEngine) -> None:
    sampling = SamplingSettings(max_tokens=24)
    hf_engine.batch_size = 4  # prompts of different lengths: left padding inside a batch
    batched = hf_engine.generate(requests(PROMPTS), sampling)
    hf_engine.batch_size = 1
    try:
        single = hf_engine.generate(requests(PROMPTS), sampling)
    finally:
        hf_engine.batch_size = 4
    assert batched == single
    assert len(batched) == len(PROMPTS)
    for c in batched:
        assert c.output_tokens <= 24
        assert (c.finish_reason == "length") == (c.output_tokens == 24)


@pytest.mark.parametrize(
    "speed_args",
    [{"attn_implementation": "eager"}, {"cache_implementation": "static"}],
    ids=["eager-attention", "static-cache"],
)
def test_speed_settings_keep_greedy_outputs(
    hf_engine: TransformersEngine, tiny_model_dir: Path, speed_args: dict[str, str]
) -> None:
    other = make_engine("transformers", str(tiny_model_dir), {"batch_size": 4, **speed_args})
    assert isinstance(other, TransformersEngine)
    if "attn_implementation" in speed_args:
        assert other._model.config._attn_implementation == speed_args["attn_implementation"]
    try:
        assert other.generate(
            requests(PROMPTS), SamplingSettings(max_tokens=24)
        ) == hf_engine.generate(requests(PROMPTS), SamplingSettings(max_tokens=24))
    finally:
        other.close()


def test_stop_strings_are_honoured(hf_engine: TransformersEngine) -> None:
    free = hf_engine.generate(requests(PROMPTS), SamplingSettings(max_tokens=24))
    # Stop on a piece that the free run produced, after its first characters.
    stop = next(c.text[3:5] for c in free if len(c.text) >= 5)
    stopped = hf_engine.generate(requests(PROMPTS), SamplingSettings(max_tokens=24, stop=(stop,)))
    for f, s in zip(free, stopped, strict=True):
        if stop in f.text:
            assert s.text == f.text[: f.text.index(stop)]
            assert s.finish_reason == "stop"
            assert s.output_tokens <= f.output_tokens
        else:
            assert s == f
    assert any(stop in f.text for f in free)


def test_sampling_is_seeded(hf_engine: TransformersEngine) -> None:
    sampling = SamplingSettings(temperature=1.0, max_tokens=12, seed=7)
    first = hf_engine.generate(requests(PROMPTS), sampling)
    assert first == hf_engine.generate(requests(PROMPTS), sampling)
    other = hf_engine.generate(
        requests(PROMPTS), SamplingSettings(temperature=1.0, max_tokens=12, seed=8)
    )
    assert first != other
    # A batch samples the same wherever it falls: alone, as a resumed job's chunk sends it, or
    # after others in one call. Another sample of the same prompts draws another stream.
    assert hf_engine.generate(requests(PROMPTS[4:8]), sampling) == first[4:8]
    again = [user(p, sample_index=1) for p in PROMPTS[:4]]
    assert hf_engine.generate(requests(PROMPTS[:4]) + again, sampling)[4:] != first[:4]


def test_info_and_empty_input(hf_engine: TransformersEngine, tiny_model_dir: Path) -> None:
    info = hf_engine.info()
    assert info["engine"] == "transformers" and info["model"] == str(tiny_model_dir)
    assert info["engine_version"]
    assert hf_engine.generate([], SamplingSettings()) == []
