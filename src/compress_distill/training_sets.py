"""Training sets: one per (teacher, variant, regime), as chat prompt/completion examples.

Variants of one teacher: `raw` (the verified trace), one per compressor, `truncated-<compressor>`
(the raw trace cut to the length of its compressed counterpart) and `answer-only`. All variants of a
teacher train on the same problems: a regime of N takes the first N of one seeded order of the
problems that every variant has, so smaller regimes are subsets of larger ones.
"""

from __future__ import annotations

import json
import random
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, Self

from compress_distill.compression import answer_only, measure, truncate_to_match
from compress_distill.generation import build_messages
from compress_distill.grid import ANSWER_ONLY, RAW, variant_kind
from compress_distill.io import InputError, iter_jsonl, write_jsonl
from compress_distill.stats import ratio
from compress_distill.students.tokenizers import (
    as_student_reads,
    load_tokenizer,
    rendered_lengths,
)


def first_sample_per_problem(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One example per problem: its lowest-index sample, so variants compare like with like."""
    chosen: dict[str, dict[str, Any]] = {}
    for row in rows:
        current = chosen.get(row["problem_id"])
        if current is None or row["sample_index"] < current["sample_index"]:
            chosen[row["problem_id"]] = row
    return chosen


def select_problems(
    verified_ids: Sequence[str], available: Sequence[set[str]], regime: int, seed: int
) -> list[str]:
    """The regime's problem ids: a seeded order of the ids every variant has, cut to `regime`."""
    pool = sorted(i for i in set(verified_ids) if all(i in ids for ids in available))
    random.Random(seed).shuffle(pool)
    if regime > len(pool):
        raise ValueError(
            f"regime {regime} needs {regime} training problems but only {len(pool)} have a "
            "verified trace in every variant (config key 'training_sets.regimes')"
        )
    return pool[:regime]


def target_text(
    variant: str,
    raw: dict[str, Any],
    compressed: dict[str, Any] | None,
    unit: str = "chars",
    tokenizer: Any = None,
) -> tuple[str, str]:
    """The completion a student learns for one problem under one variant, and where it came from:
    raw, answer-only, the compressor's outcome (kept, appended, empty) or the truncation's
    (truncated, kept_whole when the raw trace was already short enough, answer_only).

    Raw is the row's `completion` (reasoning, blank line, response). Where the compressor
    compressed a reasoning (`compressed_field`), truncation cuts the raw reasoning to the
    compressed reasoning's length and keeps the response whole; otherwise it cuts the completion.
    """
    kind = variant_kind(variant)
    if kind == RAW:
        return raw["completion"], "raw"
    if kind == ANSWER_ONLY:
        # The answer in a box, also for a reasoning model whose final response is more than the
        # answer: a reasoning model's response (after </think>) is often a worked solution of its
        # own, which would make answer-only a short-solution variant, and one whose length and
        # content differ by teacher. The bare answer keeps the baseline the same for every teacher.
        return answer_only(raw["extracted_answer"]), "answer_only"
    if compressed is None:
        raise KeyError(f"variant {variant!r} needs the compressed trace of {raw['problem_id']}")
    if kind == "truncated":
        if compressed.get("compressed_field") == "reasoning" and _response(raw):
            # The reasoning cut to the compressed reasoning's length, the response kept whole.
            budget = measure(compressed["reasoning"], unit, tokenizer)
            return truncate_to_match(
                raw["reasoning"].strip(),
                budget,
                raw["extracted_answer"],
                unit,
                tokenizer,
                response=_response(raw),
            )
        budget = measure(compressed["completion"], unit, tokenizer)
        return truncate_to_match(
            raw["completion"], budget, raw["extracted_answer"], unit, tokenizer
        )
    return compressed["completion"], compressed["outcome"]


def _target_response(variant: str, raw: dict[str, Any], compressed: dict[str, Any] | None) -> str:
    """The final response a variant's target ends in, or "" (answer-only, no reasoning apart)."""
    if variant_kind(variant) == "compressed" and compressed is not None:
        return _response(compressed) if compressed.get("compressed_field") == "reasoning" else ""
    return "" if variant_kind(variant) == ANSWER_ONLY else _response(raw)


def _response(row: dict[str, Any]) -> str:
    """A trace's final response, where it has a reasoning apart from it; else ""."""
    if not (row.get("reasoning") or "").strip():
        return ""
    return (row.get("response") or "").strip()


def split_target(text: str, response: str) -> tuple[str | None, str]:
    """(reasoning, final response) of a target that ends in a trace's response: every stage joins
    the two as reasoning, a blank line, response. (None, text) for a target without that ending
    (answer-only, a trace without a reasoning)."""
    ending = "\n\n" + response
    if not response or not text.endswith(ending) or len(text) == len(ending):
        return None, text
    return text[: -len(ending)], response


def make_example(
    problem_id: str, question: str, prompt_template: str, text: str, reasoning: str | None = None
) -> dict[str, Any]:
    """TRL's conversational prompt/completion format: the loss falls on the completion only.

    A reasoning goes in the assistant message's `reasoning_content`, where chat templates of
    reasoning models (Qwen3's <think> block) put it; training folds it back into the content for
    a student whose template has no place for it (training.trainer.load_training_set).
    """
    message = {"role": "assistant", "content": text}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return {
        "id": problem_id,
        "prompt": build_messages(question, prompt_template),
        "completion": [message],
    }


def completion_text(example: dict[str, Any]) -> str:
    """The whole target of an example: its reasoning (if apart), a blank line, its content."""
    message = example["completion"][-1]
    reasoning = message.get("reasoning_content")
    return message["content"] if reasoning is None else f"{reasoning}\n\n{message['content']}"


def length_stats(examples: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Examples and characters of the completions."""
    return char_stats([len(completion_text(example)) for example in examples])


def char_stats(chars: Sequence[int]) -> dict[str, Any]:
    """`length_stats` of completions of these lengths."""
    return {
        "examples": len(chars),
        "total_chars": sum(chars),
        "mean_chars": statistics.fmean(chars) if chars else 0.0,
    }


# Examples tokenized per call: the token ids of one batch, never of a whole set, are in memory.
TOKEN_BATCH = 1000


def token_stats(
    examples: Iterable[dict[str, Any]],
    tokenizer: Any,
    max_length: int,
    batch_size: int = TOKEN_BATCH,
) -> dict[str, Any]:
    """Total and mean tokens of the completions in one student's tokenizer, and how many examples
    training will leave out for being longer than its max_length (prompt and completion through
    its chat template, as training measures them). Tokenized `batch_size` examples at a time."""
    total = count = too_long = 0
    items = iter(examples)
    while batch := list(islice(items, batch_size)):
        texts = [completion_text(example) for example in batch]
        total += sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])
        count += len(batch)
        lengths = rendered_lengths(as_student_reads(batch, tokenizer), tokenizer)
        too_long += sum(1 for n in lengths if n > max_length)
    # total / count is fmean's value: the sum of integers is exact in both.
    return {"total": total, "mean": total / count if count else 0.0, "too_long": too_long}


def _set_token_stats(task: tuple[str, str, int]) -> dict[str, Any]:
    """token_stats of one training set file, in a worker process (its own tokenizer)."""
    path, tokenizer_dir, max_length = task
    rows = (row for _, row in iter_jsonl(path))
    return token_stats(rows, load_tokenizer(tokenizer_dir), max_length)


def training_set_token_stats(
    sets: Mapping[str, str | Path], tokenizer_dir: str | Path, max_length: int, workers: int = 1
) -> dict[str, dict[str, Any]]:
    """token_stats of each named training set file, `workers` sets at a time: each set is one
    process's work, since the chat-template rendering that dominates runs in Python."""
    tasks = [(str(path), str(tokenizer_dir), max_length) for path in sets.values()]
    if workers <= 1 or len(tasks) <= 1:
        results = [_set_token_stats(task) for task in tasks]
    else:
        with ProcessPoolExecutor(min(workers, len(tasks))) as pool:
            results = list(pool.map(_set_token_stats, tasks))
    return dict(zip(sets, results, strict=True))


def add_ratios(stats: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """Ratios against the raw set of the same teacher and regime (1.0 for raw itself)."""
    return stats | {
        "chars_ratio": ratio(stats["total_chars"], raw["total_chars"]),
        "tokens_ratio": {
            name: ratio(counts["total"], raw["tokens"][name]["total"])
            for name, counts in stats["tokens"].items()
        },
    }


def build_training_set(
    verified_rows: Iterable[dict[str, Any]],
    compressed_rows: Iterable[dict[str, Any]],
    available: Sequence[set[str]],
    variant: str,
    regime: int,
    seed: int,
    prompt_template: str,
    unit: str = "chars",
    tokenizer: Any = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The examples of one (teacher, variant, regime) training set, in selection order, and how
    many targets had each origin (see target_text)."""
    raw = first_sample_per_problem(verified_rows)
    compressed = {(r["problem_id"], r["sample_index"]): r for r in compressed_rows}
    ids = select_problems(list(raw), available, regime, seed)
    origins: Counter[str] = Counter()
    examples = list(
        _examples(raw, compressed, ids, variant, prompt_template, unit, tokenizer, origins)
    )
    return examples, dict(origins)


def _examples(
    raw: Mapping[str, dict[str, Any]],
    compressed: Mapping[tuple[str, int], dict[str, Any]],
    ids: Sequence[str],
    variant: str,
    prompt_template: str,
    unit: str,
    tokenizer: Any,
    origins: Counter[str],
) -> Iterator[dict[str, Any]]:
    """The examples of the problems `ids`, one at a time, counting each target's origin."""
    for problem_id in ids:
        row = raw[problem_id]
        partner = compressed.get((problem_id, row["sample_index"]))
        text, origin = target_text(variant, row, partner, unit, tokenizer)
        reasoning, text = split_target(text, _target_response(variant, row, partner))
        origins[origin] += 1
        yield make_example(problem_id, row["question"], prompt_template, text, reasoning)


class RowsOnDisk(Mapping[Any, dict[str, Any]]):
    """Rows of JSONL files by key, each read back from its byte offset when asked for: the index
    holds keys and offsets, not rows, so a training set of any size holds one row at a time."""

    def __init__(self, paths: Sequence[str | Path]) -> None:
        self._paths = [Path(path) for path in paths]
        self._handles: list[BinaryIO] = []
        self._where: dict[Any, tuple[int, int]] = {}

    def __enter__(self) -> Self:
        self._handles = [path.open("rb") for path in self._paths]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.close()

    def scan(self) -> Iterator[tuple[tuple[int, int], dict[str, Any]]]:
        """Every row, in file order, with where it is: (file index, byte offset)."""
        for index, handle in enumerate(self._handles):
            handle.seek(0)
            offset = 0
            for lineno, line in enumerate(handle, start=1):
                if line.strip():
                    yield (index, offset), self._parse(line, index, lineno)
                offset += len(line)

    def keep(self, key: Any, where: tuple[int, int]) -> None:
        self._where[key] = where

    def _parse(self, line: bytes, index: int, lineno: int) -> dict[str, Any]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{self._paths[index]}:{lineno}: malformed JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise InputError(f"{self._paths[index]}:{lineno}: expected a JSON object")
        return record

    def __getitem__(self, key: Any) -> dict[str, Any]:
        index, offset = self._where[key]
        handle = self._handles[index]
        handle.seek(offset)
        return json.loads(handle.readline())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


def write_training_set(
    verified_paths: Sequence[str | Path],
    compressed_paths: Sequence[str | Path],
    available: Sequence[set[str]],
    variant: str,
    regime: int,
    seed: int,
    prompt_template: str,
    out_path: str | Path,
    unit: str = "chars",
    tokenizer: Any = None,
) -> tuple[dict[str, Any], dict[str, int]]:
    """`build_training_set` from JSONL shards, written to `out_path` as it is made: the same bytes,
    with one trace at a time in memory (the shards are indexed by offset, then read in selection
    order). Returns the set's `length_stats` and origins."""
    with RowsOnDisk(verified_paths) as raw, RowsOnDisk(compressed_paths) as compressed:
        slim = (
            {"problem_id": row["problem_id"], "sample_index": row["sample_index"], "at": where}
            for where, row in raw.scan()
        )
        for problem_id, row in first_sample_per_problem(slim).items():
            raw.keep(problem_id, row["at"])
        for where, row in compressed.scan():
            compressed.keep((row["problem_id"], row["sample_index"]), where)
        ids = select_problems(list(raw), available, regime, seed)
        origins: Counter[str] = Counter()
        chars: list[int] = []
        examples = _examples(
            raw, compressed, ids, variant, prompt_template, unit, tokenizer, origins
        )
        write_jsonl(out_path, _counted(examples, chars))
    return char_stats(chars), dict(origins)


def _counted(examples: Iterable[dict[str, Any]], chars: list[int]) -> Iterator[dict[str, Any]]:
    """The examples, passed on as they are, with each completion's characters appended to
    `chars`."""
    for example in examples:
        chars.append(len(completion_text(example)))
        yield example


def summarize(all_stats: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each set's stats with its ratios against the raw set of the same teacher and regime."""
    raw = {(s["teacher"], s["regime"]): s for s in all_stats if s["variant"] == RAW}
    missing = sorted({(s["teacher"], s["regime"]) for s in all_stats} - set(raw))
    if missing:
        raise ValueError(f"no raw training set for (teacher, regime) {missing}")
    return [add_ratios(s, raw[s["teacher"], s["regime"]]) for s in all_stats]


def summary_rows(all_stats: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flatten per-set stats into CSV rows: tokens and token ratios get one column per student."""
    rows = []
    for stats in all_stats:
        row = {
            key: stats[key]
            for key in ("teacher", "variant", "regime", "examples", "total_chars", "mean_chars")
        }
        row["chars_ratio"] = stats["chars_ratio"]
        for name, counts in stats["tokens"].items():
            row[f"tokens_{name}"] = counts["total"]
            row[f"mean_tokens_{name}"] = counts["mean"]
            row[f"tokens_ratio_{name}"] = stats["tokens_ratio"][name]
            row[f"too_long_{name}"] = counts["too_long"]
        rows.append(row)
    return rows
