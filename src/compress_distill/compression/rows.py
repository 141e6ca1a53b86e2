"""Compression of one verified shard: compress, check the answer survived, apply the policy."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from compress_distill.checking import Sandbox, Verdict
from compress_distill.compression.base import Compressor
from compress_distill.compression.faithfulness import check_minimums
from compress_distill.compression.targets import (
    OUTCOMES,
    check_policy,
    judge_compression,
    predicted_answer,
    same_answer_text,
)
from compress_distill.io import require_fields
from compress_distill.progress import ProgressFile

ROW_FIELDS = ("problem_id", "sample_index", "question", "gold", "completion", "extracted_answer")


def trace_parts(row: dict[str, Any]) -> tuple[str, str, str | None]:
    """(compressed_field, the text a compressor compresses, the response kept whole or None).

    A row with a reasoning has it compressed, its final response kept whole after it ("reasoning";
    the response is None where it is empty: the answer was read from the reasoning). Rows without
    one (the demo's plain-text traces, older shards) have their whole completion compressed.
    """
    reasoning = row.get("reasoning")
    if isinstance(reasoning, str) and reasoning.strip():
        response = (row.get("response") or "").strip()
        return "reasoning", reasoning.strip(), response or None
    return "completion", row["completion"], None


def join_response(compressed: object, response: str | None) -> object:
    """The compressed reasoning, a blank line and the response (as generation joins a trace)."""
    if response is None or not isinstance(compressed, str) or not compressed.strip():
        return compressed
    return compressed.strip() + "\n\n" + response


def compress_rows(
    rows: Sequence[dict[str, Any]],
    compressor: Compressor,
    policy: str,
    batch_size: int = 64,
    timeout_s: float = 5.0,
    progress: bool = True,
    progress_file: ProgressFile | None = None,
    min_faithfulness: dict[str, float] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Compressed rows (dropped ones left out, in input order) and outcome counts.

    With a `progress_file`, each finished batch's results (per input row: its outcome and output
    row, None where dropped) are kept there, so a killed job resumes with its counts.

    Each input row is a verified trace: `completion` is the raw trace, `extracted_answer` the
    teacher's final answer, which the compressed text must still end in (see preserve_answer).
    Where a row has a reasoning, only the reasoning is compressed (`trace_parts`) and the output
    row's `completion` is the compressed reasoning, a blank line and the whole response; the
    answer is checked in that text, and an appended answer goes after the compressed reasoning.
    Each output row records its compression's `faithfulness` to the text compressed; one not
    shorter than that text, or under a measure's minimum in `min_faithfulness`, is replaced or
    dropped (see apply_policy).
    """
    check_policy(policy)
    minimums = check_minimums(min_faithfulness)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    for index, row in enumerate(rows):
        require_fields(row, ROW_FIELDS, f"row {index} (problem {row.get('problem_id')})")
    saved = progress_file or ProgressFile.in_memory()
    saved.resumed(range(len(rows)), "traces")
    batches = saved.batches(range(len(rows)), batch_size)
    with (
        Sandbox() as sandbox,
        tqdm(
            total=sum(map(len, batches)),
            desc="compress",
            unit="trace",
            file=sys.stderr,
            disable=not progress,
        ) as bar,
    ):
        for indices in batches:
            batch = [rows[i] for i in indices]
            parts = [trace_parts(row) for row in batch]
            outputs = compressor.compress([text for _, text, _ in parts], batch)
            if len(outputs) != len(batch):
                raise RuntimeError(
                    f"compressor {compressor.name!r} returned {len(outputs)} texts for {len(batch)}"
                )
            joined = [
                join_response(output, response)
                for output, (_, _, response) in zip(outputs, parts, strict=True)
            ]
            # Only now: an engine-backed compressor knows its engine's version once started.
            info = compressor.info()
            finished = []
            for index, row, output, (_, source, response), has_answer in zip(
                indices,
                batch,
                outputs,
                parts,
                _has_answers(joined, batch, sandbox, timeout_s),
                strict=True,
            ):
                text, outcome, scores = judge_compression(
                    output, source, row["extracted_answer"], policy, has_answer, minimums
                )
                kept = None
                if text is not None:
                    kept = _output_row(row, text, outcome, response, scores, info)
                finished.append((index, {"outcome": outcome, "row": kept}))
            saved.append(finished)
            bar.update(len(batch))
    results = saved.results(range(len(rows)))
    counts = dict.fromkeys(OUTCOMES, 0)
    for result in results:
        counts[result["outcome"]] += 1
    return [result["row"] for result in results if result["row"] is not None], counts


def _has_answers(
    outputs: Sequence[object], rows: Sequence[dict[str, Any]], sandbox: Sandbox, timeout_s: float
) -> list[bool]:
    """Whether each output still ends in its row's teacher answer; Math-Verify only where the text
    differs, all in one sandbox call."""
    predicted = [predicted_answer(output) for output in outputs]
    answers = [str(row["extracted_answer"]) for row in rows]
    result = [same_answer_text(p, a) for p, a in zip(predicted, answers, strict=True)]
    todo = [i for i, p in enumerate(predicted) if p is not None and not result[i]]
    verdicts = sandbox.check([(predicted[i], answers[i]) for i in todo], timeout_s) if todo else []
    for i, verdict in zip(todo, verdicts, strict=True):
        result[i] = verdict is Verdict.CORRECT
    return result


def _output_row(
    row: dict[str, Any],
    text: str,
    outcome: str,
    response: str | None,
    scores: dict[str, float | None],
    info: dict[str, Any],
) -> dict[str, Any]:
    """The compressed row. `raw_chars` and `compressed_chars` measure whole completions (what a
    student learns); a compressed reasoning is kept as `reasoning` beside the `response`."""
    field = trace_parts(row)[0]
    parts: dict[str, Any] = {"compressed_field": field}
    if field == "reasoning":
        # An empty output kept under append is the answer alone: no reasoning is left.
        reasoning = "" if outcome == "empty" else text.strip()
        parts |= {"reasoning": reasoning, "response": response or ""}
        if reasoning:
            text = str(join_response(reasoning, response))
    raw_chars = len(row["completion"])
    return {
        "problem_id": row["problem_id"],
        "sample_index": row["sample_index"],
        "question": row["question"],
        "gold": row["gold"],
        "answer": row["extracted_answer"],
        "raw_chars": raw_chars,
        "completion": text,
        "compressed_chars": len(text),
        "ratio": len(text) / raw_chars if raw_chars else 0.0,
        "outcome": outcome,
        # the compressor's output, also where the row keeps the raw trace in its place
        "faithfulness": scores,
        "compressor": info,
        **parts,
    }
