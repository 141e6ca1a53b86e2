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


def verify_rows(
    rows: Sequence[dict[str, Any]],
    workers: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Copies of `rows`, in order, with `extracted_answer`, `verdict`, `correct` and `checker`.

    `workers` sandbox processes check the answers in parallel (answers.check_pairs).
    """
    for index, row in enumerate(rows):
        require_fields(
            row, ("gold", "completion"), f"row {index} (problem {row.get('problem_id')})"
        )
    # A multiple-choice gold (a letter) also takes an option letter alone on the last line.
    extracted = [
        extract_answer(row["completion"], "letter" if is_choice_gold(row["gold"]) else None)
        for row in rows
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
            "extracted_answer": answer,
            "verdict": verdict.value,
            "correct": verdict is Verdict.CORRECT,
            "checker": CHECKER,
        }
        for row, answer, verdict in zip(rows, extracted, verdicts, strict=True)
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

    def add(self, row: dict[str, Any], where: str) -> None:
        require_fields(row, ("verdict", "completion"), where)
        try:
            verdict = Verdict(row["verdict"])
        except ValueError:
            raise InputError(f"{where}: unknown verdict {row['verdict']!r}") from None
        self.counts[verdict] += 1
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
