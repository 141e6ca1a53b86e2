"""The llm compressor end to end on a real instruct model: SmolLM2-135M-Instruct through the
transformers engine compresses GSM8K worked solutions (as the imported teacher reads them: the
steps are the reasoning, the `#### <answer>` line the response) with prompts/compress.txt.

A model this small often writes more than it was given or rewrites the steps with wrong
arithmetic, so the test checks that every outcome is counted and handled per policy, not what the
model writes. Greedy decoding, generated once and replayed for the second policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from compress_distill.answers import extract_answer
from compress_distill.compression import OUTCOMES, LLMCompressor, answer_suffix, compress_rows
from compress_distill.compression.faithfulness import MEASURES
from compress_distill.compression.summary import compression_summary, shard_summary
from compress_distill.engines import Request, SamplingSettings
from compress_distill.engines.imported import ImportedEngine
from compress_distill.generation import completion_fields
from compress_distill.problems import load_jsonl_problems

from ..conftest import ROOT

pytestmark = pytest.mark.slow

PROBLEMS = 8
# Short replies keep the test near a minute on 2 CPU cores; a reply cut at the limit still counts.
MAX_TOKENS = 96
MIN_FAITHFULNESS = {"equations_correct": 0.8}


def _rows() -> list[dict[str, Any]]:
    """Verified rows of the first GSM8K training problems, built as the imported teacher and
    verification build them."""
    problems = load_jsonl_problems(
        ROOT / "data/gsm8k/train-500.jsonl", answer_format="gsm8k", limit=PROBLEMS
    )
    engine = ImportedEngine(reasoning_field="solution", split="gsm8k")
    completions = engine.generate([Request([], p) for p in problems], SamplingSettings())
    return [
        {
            "problem_id": p["id"],
            "sample_index": 0,
            "question": p["question"],
            "gold": p["answer"],
            "extracted_answer": extract_answer(c.text),
            **completion_fields(c),
        }
        for p, c in zip(problems, completions, strict=True)
    ]


class _Memo(LLMCompressor):
    """Generates each trace's compression once; the second policy replays it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.memo: dict[str, str] = {}

    def compress(self, traces: Sequence[str], contexts: Sequence[dict[str, Any]]) -> list[str]:
        todo = [i for i, trace in enumerate(traces) if trace not in self.memo]
        fresh = super().compress([traces[i] for i in todo], [contexts[i] for i in todo])
        self.memo |= {traces[i]: text for i, text in zip(todo, fresh, strict=True)}
        return [self.memo[trace] for trace in traces]


@pytest.fixture(scope="module")
def compressor(smollm2_dir: Path) -> Iterator[_Memo]:
    built = _Memo(
        engine="transformers",
        model=str(smollm2_dir),
        prompt=(ROOT / "prompts/compress.txt").read_text(encoding="utf-8"),
        engine_args={"batch_size": PROBLEMS, "dtype": "float32"},
        sampling={"max_tokens": MAX_TOKENS},
        name="smollm2",
    )
    yield built
    built.close()


def _check_rows(rows: list[dict], out: list[dict], counts: dict[str, int], policy: str) -> None:
    assert set(counts) == set(OUTCOMES) and sum(counts.values()) == len(rows)
    raw = {row["problem_id"]: row for row in rows}
    for row in out:
        source = raw[row["problem_id"]]
        assert row["compressed_field"] == "reasoning" and row["response"] == source["response"]
        assert set(row["faithfulness"]) == set(MEASURES)
        assert all(v is None or 0 <= v <= 1 for v in row["faithfulness"].values())
        if row["outcome"] in ("kept", "appended"):
            assert row["compressed_chars"] < row["raw_chars"]
        if row["outcome"] == "appended":
            assert row["reasoning"].endswith(answer_suffix(row["answer"]))
        if row["outcome"] in ("not_shorter", "unfaithful"):
            assert row["completion"] == source["completion"]  # the raw trace stands in
    written = {"append": len(rows), "drop": counts["kept"]}[policy]
    assert len(out) == written


def test_compress_rows_on_a_real_instruct_model(compressor: _Memo) -> None:
    rows = _rows()
    assert all(row["reasoning"] and row["response"].startswith("####") for row in rows)
    runs, outs = {}, {}
    for policy in ("append", "drop"):
        out, counts = compress_rows(
            rows, compressor, policy, progress=False, min_faithfulness=MIN_FAITHFULNESS
        )
        _check_rows(rows, out, counts, policy)
        runs[policy], outs[policy] = counts, out
        summary = compression_summary("gsm8k", "smollm2", [shard_summary(out, counts)])
        print(f"\n{policy}: {summary}")
    append, drop = runs["append"], runs["drop"]
    assert append["dropped"] == drop["appended"] == 0
    for outcome in ("kept", "empty"):
        assert append[outcome] == drop[outcome]
    # an output that lost its answer is dropped under drop before its length is looked at
    assert drop["dropped"] >= append["appended"]
    assert outs["append"][0]["compressor"]["engine_info"]["engine"] == "transformers"
