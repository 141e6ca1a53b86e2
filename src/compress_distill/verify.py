"""Verification of teacher traces against gold answers, and pass-rate / length statistics."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from compress_distill.answers import extract_answer, is_choice_gold
from compress_distill.checking import CHECKER, Verdict, check_pairs
from compress_distill.io import InputError, iter_jsonl, require_fields, write_jsonl

TRACE_FIELDS = ("problem_id", "sample_index", "question", "gold", "completion")
DEFAULT_TIMEOUT_S = 5.0


def answer_text(row: dict[str, Any]) -> tuple[str | None, str | None]:
    """(answer_source, the text the final answer is read from) of a trace row.

    The final `response` where it has text; the `reasoning` where the response is empty (a model
    that stated its answer while thinking); `completion` for rows without those fields (shards
    written before generation kept them apart). A trace that stopped at the length limit without
    a final response has none, (None, None): its reasoning was cut mid-thought, and a number there
    is no final answer.
    """
    if "response" not in row:
        return "completion", row["completion"]
    response = row["response"] or ""
    if response.strip():
        return "response", response
    if length_limited(row):
        return None, None
    reasoning = row.get("reasoning") or ""
    if reasoning.strip():
        return "reasoning", reasoning
    return "response", response


def length_limited(row: dict[str, Any]) -> bool:
    """Whether generation stopped at the token limit (`finish_reason` "length")."""
    return row.get("finish_reason") == "length"


def no_final_response(row: dict[str, Any]) -> bool:
    """A length-limited trace cut off before its final response."""
    return length_limited(row) and "response" in row and not (row["response"] or "").strip()


def verify_rows(
    rows: Sequence[dict[str, Any]],
    workers: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Copies of `rows`, in order, with `answer_source`, `extracted_answer`, `verdict`, `correct`
    and `checker`.

    The answer is read from the text `answer_text` names (recorded as `answer_source`: response,
    reasoning, completion, or None for a length-limited trace without a response, which has no
    answer). `workers` sandbox processes check the answers in parallel (answers.check_pairs).
    """
    for index, row in enumerate(rows):
        require_fields(
            row, ("gold", "completion"), f"row {index} (problem {row.get('problem_id')})"
        )
    sources = [answer_text(row) for row in rows]
    # A multiple-choice gold (a letter) also takes an option letter alone on the last line.
    extracted = [
        None
        if text is None
        else extract_answer(text, "letter" if is_choice_gold(row["gold"]) else None)
        for row, (_, text) in zip(rows, sources, strict=True)
    ]
    verdicts: list[Verdict] = [Verdict.NO_ANSWER] * len(rows)
    # Only rows with an answer go to Math-Verify; "no answer" needs no checking.
    todo = [i for i, answer in enumerate(extracted) if answer is not None]
    checked = check_pairs(
        [(extracted[i], str(rows[i]["gold"])) for i in todo],
        workers=workers,
        timeout_s=timeout_s,
        progress=progress,
        desc="verify",
    )
    for i, verdict in zip(todo, checked, strict=True):
        verdicts[i] = verdict

    return [
        {
            **row,
            "answer_source": source,
            "extracted_answer": answer,
            "verdict": verdict.value,
            "correct": verdict is Verdict.CORRECT,
            "checker": CHECKER,
        }
        for row, (source, _), answer, verdict in zip(
            rows, sources, extracted, verdicts, strict=True
        )
    ]


def verify_shard(
    in_path: str | Path,
    out_all_path: str | Path,
    out_correct_path: str | Path,
    workers: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """Verify a JSONL shard of traces; write all verified rows and the correct ones (atomically).

    Returns the shard's statistics (`shard_stats`).
    """
    rows = []
    for lineno, row in iter_jsonl(in_path):
        require_fields(row, TRACE_FIELDS, f"{in_path}:{lineno}")
        rows.append(row)
    verified = verify_rows(rows, workers=workers, timeout_s=timeout_s)
    write_jsonl(out_all_path, verified)
    write_jsonl(out_correct_path, (row for row in verified if row["correct"]))
    return shard_stats(verified)


class _StatsAccumulator:
    """Counts and completion lengths; lengths are kept because medians do not merge."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(Verdict, 0)
        self.lengths: list[int] = []
        self.correct_lengths: list[int] = []
        self.length_limited = 0
        self.length_limited_no_response = 0

    def add(self, row: dict[str, Any], where: str) -> None:
        require_fields(row, ("verdict", "completion"), where)
        try:
            verdict = Verdict(row["verdict"])
        except ValueError:
            raise InputError(f"{where}: unknown verdict {row['verdict']!r}") from None
        self.counts[verdict] += 1
        self.length_limited += length_limited(row)
        self.length_limited_no_response += no_final_response(row)
        self.lengths.append(len(row["completion"]))
        if verdict is Verdict.CORRECT:
            self.correct_lengths.append(len(row["completion"]))

    def stats(self) -> dict[str, Any]:
        samples = len(self.lengths)
        return {
            "samples": samples,
            "correct": self.counts[Verdict.CORRECT],
            "incorrect": self.counts[Verdict.INCORRECT],
            "no_answer": self.counts[Verdict.NO_ANSWER],
            "timeouts": self.counts[Verdict.TIMEOUT],
            # timeouts count as errors too: neither says anything about the teacher
            "errors": self.counts[Verdict.TIMEOUT] + self.counts[Verdict.ERROR],
            "pass_rate": self.counts[Verdict.CORRECT] / samples if samples else None,
            # Traces that stopped at the token limit; of those, the ones cut off before their final
            # response (no answer, never correct).
            "hit_length_limit": self.length_limited,
            "hit_length_limit_no_answer": self.length_limited_no_response,
            "total_chars": sum(self.lengths),
            "total_chars_correct": sum(self.correct_lengths),
            "mean_chars": statistics.fmean(self.lengths) if self.lengths else None,
            "median_chars": statistics.median(self.lengths) if self.lengths else None,
            "mean_chars_correct": (
                statistics.fmean(self.correct_lengths) if self.correct_lengths else None
            ),
            "median_chars_correct": (
                statistics.median(self.correct_lengths) if self.correct_lengths else None
            ),
        }


def shard_stats(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts per verdict, pass rate, and mean/median completion characters (all and correct)."""
    acc = _StatsAccumulator()
    for index, row in enumerate(rows):
        acc.add(row, f"row {index} (problem {row.get('problem_id')})")
    return acc.stats()


_COUNT_KEYS = (
    "samples",
    "correct",
    "incorrect",
    "no_answer",
    "timeouts",
    "errors",
    "hit_length_limit",
    "hit_length_limit_no_answer",
    "total_chars",
    "total_chars_correct",
)


def merge_stats(stats: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum per-shard statistics. Counts, pass rate and means merge exactly; medians cannot, so
    the result has none (use `teacher_stats` on the verified rows for medians)."""
    merged = dict.fromkeys(_COUNT_KEYS, 0)
    for part in stats:
        for key in _COUNT_KEYS:
            merged[key] += part[key]
    samples, correct = merged["samples"], merged["correct"]
    return {
        **merged,
        "pass_rate": correct / samples if samples else None,
        "mean_chars": merged["total_chars"] / samples if samples else None,
        "mean_chars_correct": merged["total_chars_correct"] / correct if correct else None,
    }


def teacher_stats(verified_paths: Iterable[str | Path]) -> dict[str, Any]:
    """Statistics over all rows of a teacher's verified shards (medians included)."""
    acc = _StatsAccumulator()
    for path in verified_paths:
        for lineno, row in iter_jsonl(path):
            acc.add(row, f"{path}:{lineno}")
    return acc.stats()
