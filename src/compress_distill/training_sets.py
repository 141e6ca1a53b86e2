"""Training sets: one per (teacher, variant, regime), as chat prompt/completion examples.

Variants of one teacher: `raw` (the verified trace), one per compressor, `truncated-<compressor>`
(the raw trace cut to the length of its compressed counterpart) and `answer-only`. All variants of a
teacher train on the same problems: a regime of N takes the first N of one seeded order of the
problems that every variant has, so smaller regimes are subsets of larger ones.
"""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
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
    rendered_ids,
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
    """Total and mean completion tokens in one student's tokenizer, as training counts them, and
    how many examples training will leave out for being longer than its max_length.

    Each example is tokenized once, prompt and completion through the student's chat template;
    its completion is what follows the tokens it shares with its prompt rendered alone (TRL's
    prompt/completion split: the tokens the loss falls on, the template's end of turn included).
    Tokenized `batch_size` examples at a time.
    """
    return _with_mean(_token_sums(examples, tokenizer, max_length, batch_size))


def _token_sums(
    examples: Iterable[dict[str, Any]], tokenizer: Any, max_length: int, batch_size: int
) -> tuple[int, int, int]:
    """(completion tokens, examples, examples too long) of token_stats."""
    total = count = too_long = 0
    items = iter(examples)
    while batch := list(islice(items, batch_size)):
        read = as_student_reads(batch, tokenizer)
        wholes = rendered_ids(read, tokenizer)
        prompts = tokenizer.apply_chat_template(
            [e["prompt"] for e in read], add_generation_prompt=True, return_dict=False
        )
        for whole, prompt in zip(wholes, prompts, strict=True):
            total += len(whole) - common_prefix_length(prompt, whole)
            too_long += len(whole) > max_length
        count += len(batch)
    return total, count, too_long


def _with_mean(sums: tuple[int, int, int]) -> dict[str, Any]:
    total, count, too_long = sums
    # total / count is fmean's value: the sum of integers is exact in both.
    return {"total": total, "mean": total / count if count else 0.0, "too_long": too_long}


def common_prefix_length(first: Sequence[int], second: Sequence[int]) -> int:
    """How many leading tokens two sequences share."""
    for index, (a, b) in enumerate(zip(first, second, strict=False)):
        if a != b:
            return index
    return min(len(first), len(second))


# The tokenizer of a pool's process: the parent's, handed over once at the process's start.
_worker_tokenizer: Any = None


def _start_worker(tokenizer: Any) -> None:
    global _worker_tokenizer
    _worker_tokenizer = tokenizer


def _tokenizing_pool(workers: int, tokenizer: Any) -> ProcessPoolExecutor:
    """Processes that each hold `tokenizer` (as _worker_tokenizer)."""
    return ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(tokenizer,))


def _part_rows(path: str, part: int, parts: int) -> Iterator[dict[str, Any]]:
    """Every `parts`-th row of a JSONL file from the `part`-th."""
    return islice((row for _, row in iter_jsonl(path)), part, None, parts)


def _part_token_sums_in_worker(task: tuple[str, int, int, int]) -> tuple[int, int, int]:
    """_token_sums of one part of a training set file, in a pool's process."""
    path, max_length, part, parts = task
    return _token_sums(_part_rows(path, part, parts), _worker_tokenizer, max_length, TOKEN_BATCH)


def training_set_token_stats(
    sets: Mapping[str, str | Path], tokenizer_dir: str | Path, max_length: int, workers: int = 1
) -> dict[str, dict[str, Any]]:
    """token_stats of each named training set file, by `workers` processes: each set in parts
    (every k-th example), about four parts per worker so that unequal sets even out, the parts'
    sums added up. The counts are the same for any number of workers."""
    tokenizer = load_tokenizer(tokenizer_dir)
    parts = math.ceil(4 * workers / len(sets)) if workers > 1 and sets else 1
    tasks = [
        (str(path), max_length, part, parts) for path in sets.values() for part in range(parts)
    ]
    if workers <= 1:
        counted = [
            _token_sums(_part_rows(path, part, parts), tokenizer, max_length, TOKEN_BATCH)
            for path, _, part, _ in tasks
        ]
    else:
        with _tokenizing_pool(min(workers, len(tasks)), tokenizer) as pool:
            counted = list(pool.map(_part_token_sums_in_worker, tasks))
    results = {}
    for index, name in enumerate(sets):
        shares = counted[index * parts : (index + 1) * parts]
        total, count, too_long = (sum(column) for column in zip(*shares, strict=True))
        results[name] = _with_mean((total, count, too_long))
    return results


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
    recipe = ExampleRecipe(variant, prompt_template, unit)
    examples = list(_examples(raw, compressed, ids, recipe, tokenizer, origins))
    return examples, dict(origins)


@dataclass(frozen=True)
class ExampleRecipe:
    """How a training set turns a raw trace and its compressed partner into an example."""

    variant: str
    prompt_template: str
    unit: str = "chars"

    def make(
        self, row: dict[str, Any], partner: dict[str, Any] | None, tokenizer: Any
    ) -> tuple[dict[str, Any], str]:
        """The example of one problem and its target's origin (see target_text)."""
        text, origin = target_text(self.variant, row, partner, self.unit, tokenizer)
        reasoning, text = split_target(text, _target_response(self.variant, row, partner))
        example = make_example(
            row["problem_id"], row["question"], self.prompt_template, text, reasoning
        )
        return example, origin


# Problems a pool of workers is handed at a time: the rows of one batch, never of a whole set,
# are in memory (an executor's map would read its whole input ahead).
POOL_BATCH = 512


def _make_in_worker(
    task: tuple[ExampleRecipe, dict[str, Any], dict[str, Any] | None],
) -> tuple[dict[str, Any], str]:
    recipe, row, partner = task
    return recipe.make(row, partner, _worker_tokenizer)


def _examples(
    raw: Mapping[str, dict[str, Any]],
    compressed: Mapping[tuple[str, int], dict[str, Any]],
    ids: Sequence[str],
    recipe: ExampleRecipe,
    tokenizer: Any,
    origins: Counter[str],
    workers: int = 1,
) -> Iterator[dict[str, Any]]:
    """The examples of the problems `ids`, in order, counting each target's origin: made here, or
    by `workers` processes (for token-unit truncation, which tokenizes every trace) in batches."""
    tasks = _tasks(raw, compressed, ids, recipe)
    if workers <= 1:
        made: Iterable[tuple[dict[str, Any], str]] = (
            recipe.make(row, partner, tokenizer) for _, row, partner in tasks
        )
        yield from _tallied(made, origins)
        return
    with _tokenizing_pool(workers, tokenizer) as pool:
        while batch := list(islice(tasks, POOL_BATCH)):
            chunk = max(1, len(batch) // (4 * workers))
            yield from _tallied(pool.map(_make_in_worker, batch, chunksize=chunk), origins)


def _tasks(
    raw: Mapping[str, dict[str, Any]],
    compressed: Mapping[tuple[str, int], dict[str, Any]],
    ids: Sequence[str],
    recipe: ExampleRecipe,
) -> Iterator[tuple[ExampleRecipe, dict[str, Any], dict[str, Any] | None]]:
    """Each problem's raw trace and compressed partner (None: none), read one at a time."""
    for problem_id in ids:
        row = raw[problem_id]
        yield recipe, row, compressed.get((problem_id, row["sample_index"]))


def _tallied(
    made: Iterable[tuple[dict[str, Any], str]], origins: Counter[str]
) -> Iterator[dict[str, Any]]:
    """The examples, counting each one's origin in `origins`."""
    for example, origin in made:
        origins[origin] += 1
        yield example


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
    workers: int = 1,
) -> tuple[dict[str, Any], dict[str, int]]:
    """`build_training_set` from JSONL shards, written to `out_path` as it is made: the same bytes,
    with one trace (or one batch, with `workers` processes) at a time in memory (the shards are
    indexed by offset, then read in selection order). Returns the set's `length_stats` and
    origins."""
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
        recipe = ExampleRecipe(variant, prompt_template, unit)
        examples = _examples(raw, compressed, ids, recipe, tokenizer, origins, workers)
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
