"""Verification of teacher traces against gold answers, and pass-rate / length statistics."""

from __future__ import annotations

import statistics
import sys
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tqdm import tqdm

from compress_distill.answers import CHECKER, Sandbox, Verdict, extract_answer
from compress_distill.io import InputError, iter_jsonl, require_fields, write_jsonl

TRACE_FIELDS = ("problem_id", "sample_index", "question", "gold", "completion")
DEFAULT_TIMEOUT_S = 5.0
CHUNK_SIZE = 64


def verify_rows(
    rows: Sequence[dict[str, Any]],
    workers: int = 1,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Copies of `rows`, in order, with `extracted_answer`, `verdict`, `correct` and `checker`.

    Each of `workers` threads drives its own sandbox process (answers.Sandbox), so `workers`
    processes check in parallel; the threads only extract answers and wait on their sandboxes.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    for index, row in enumerate(rows):
        require_fields(
            row, ("gold", "completion"), f"row {index} (problem {row.get('problem_id')})"
        )
    extracted = [extract_answer(row["completion"]) for row in rows]
    verdicts: list[Verdict] = [Verdict.NO_ANSWER] * len(rows)
    # Only rows with an answer go to Math-Verify; "no answer" needs no checking.
    todo = [i for i, answer in enumerate(extracted) if answer is not None]
    chunks = [todo[start : start + CHUNK_SIZE] for start in range(0, len(todo), CHUNK_SIZE)]
    next_chunk = iter(chunks)
    lock = threading.Lock()

    with tqdm(
        total=len(todo), desc="verify", unit="trace", file=sys.stderr, disable=not progress
    ) as bar:

        def drain() -> None:
            with Sandbox() as sandbox:
                while True:
                    with lock:
                        chunk = next(next_chunk, None)
                    if chunk is None:
                        return
                    pairs = [(extracted[i], str(rows[i]["gold"])) for i in chunk]
                    for i, verdict in zip(chunk, sandbox.check(pairs, timeout_s), strict=True):
                        verdicts[i] = verdict
                    bar.update(len(chunk))

        n_threads = min(workers, len(chunks))
        if n_threads == 1:
            drain()
        elif n_threads > 1:
            with ThreadPoolExecutor(n_threads, thread_name_prefix="verify") as pool:
                for future in [pool.submit(drain) for _ in range(n_threads)]:
                    future.result()

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
