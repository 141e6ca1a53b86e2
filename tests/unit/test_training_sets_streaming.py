"""The streamed training-set code writes the bytes the one-shot code wrote (issue 19): a set made
from shards on disk, one trace at a time, equals the set built in memory and written at once; token
statistics in batches equal those of one call over the whole set; token-unit truncation that stops
at the first exact cut point cuts where trying all of them did."""

from __future__ import annotations

import random

import pytest

from compress_distill import training_sets
from compress_distill.compression import (
    answer_suffix,
    compress_rows,
    make_compressor,
    measure,
    truncate_to_match,
)
from compress_distill.engines.scripted import STYLES, ScriptedTeacher
from compress_distill.io import dumps, read_jsonl, write_jsonl
from compress_distill.students.tokenizers import build_bpe_tokenizer, rendered_lengths
from compress_distill.tasks.arithmetic import ArithmeticSpec, make_problems
from compress_distill.training_sets import (
    build_training_set,
    length_stats,
    token_stats,
    training_set_token_stats,
    write_training_set,
)

PROMPT = "Solve: {question}"
OFFSETS = {"return_offsets_mapping": True}


@pytest.fixture(scope="module")
def demo_rows() -> tuple[list[dict], list[dict]]:
    """Verified rows like the demo's (scripted teacher traces, two samples of some problems, the
    second listed first) and their extractive compressions."""
    problems = make_problems(ArithmeticSpec(digits=2), "train", 40, seed=3)
    teacher = ScriptedTeacher(STYLES["verbose"], error_rate=0.0)
    rows = []
    for sample in (1, 0):
        for problem in problems[: 10 if sample else None]:
            trace = teacher.trace(problem, random.Random(f"{problem['id']}:{sample}"))
            rows.append(
                {
                    "problem_id": problem["id"],
                    "sample_index": sample,
                    "question": problem["question"],
                    "gold": problem["answer"],
                    "completion": trace,
                    "extracted_answer": problem["answer"],
                }
            )
    compressed, _ = compress_rows(
        rows, make_compressor({"kind": "extractive"}, "extractive"), "append", progress=False
    )
    return rows, compressed


@pytest.fixture(scope="module")
def bpe(demo_rows):
    return build_bpe_tokenizer([row["completion"] for row in demo_rows[0]], vocab_size=400)


def _shards(tmp_path, rows, name, parts=2):
    """`rows` split over `parts` JSONL shards, a blank line at the end of the first."""
    paths = []
    for index in range(parts):
        path = tmp_path / f"{name}-{index}.jsonl"
        write_jsonl(path, rows[index::parts])
        paths.append(path)
    with paths[0].open("a", encoding="utf-8") as handle:
        handle.write("\n")
    return paths


@pytest.mark.parametrize(
    ("variant", "unit"),
    [
        ("raw", "chars"),
        ("extractive", "chars"),
        ("truncated-extractive", "chars"),
        ("truncated-extractive", "tokens"),
        ("answer-only", "chars"),
    ],
)
def test_streamed_set_has_the_one_shot_bytes(tmp_path, demo_rows, bpe, variant, unit):
    verified, compressed = demo_rows
    # A problem compressed twice: the later row wins, in both.
    compressed = [*compressed, compressed[-1] | {"completion": "\\boxed{0}"}]
    tokenizer = bpe if unit == "tokens" else None
    available = [{row["problem_id"] for row in verified[:-3]}]
    args = (available, variant, 30, 7, PROMPT)

    examples, origins = build_training_set(verified, compressed, *args, unit, tokenizer)
    one_shot = tmp_path / "one_shot.jsonl"
    write_jsonl(one_shot, examples)

    streamed = tmp_path / "streamed.jsonl"
    stats, streamed_origins = write_training_set(
        _shards(tmp_path, verified, "verified"),
        _shards(tmp_path, compressed, "compressed", parts=1),
        *args,
        streamed,
        unit,
        tokenizer,
    )
    assert streamed.read_bytes() == one_shot.read_bytes()
    assert dumps(stats | {"origins": streamed_origins}) == dumps(
        length_stats(examples) | {"origins": origins}
    )
    assert len(examples) == 30 and sum(origins.values()) == 30


@pytest.mark.parametrize("variant", ["truncated-extractive", "raw"])
def test_a_set_made_by_worker_processes_has_the_same_bytes(
    tmp_path, demo_rows, bpe, variant, monkeypatch
):
    """training_set's processes (token-unit truncation, resources.training_set.cpus), handed
    batches of 7 problems, write what one process writes."""
    monkeypatch.setattr(training_sets, "POOL_BATCH", 7)
    verified, compressed = demo_rows
    shards = _shards(tmp_path, verified, "verified"), _shards(tmp_path, compressed, "compressed")
    made = {}
    for workers in (1, 2):
        out = tmp_path / f"{workers}.jsonl"
        made[workers] = write_training_set(
            *shards, [], variant, 30, 7, PROMPT, out, "tokens", bpe, workers=workers
        )
        assert len(out.read_bytes().splitlines()) == 30
    assert (tmp_path / "2.jsonl").read_bytes() == (tmp_path / "1.jsonl").read_bytes()
    assert dumps(made[2]) == dumps(made[1])


def test_streamed_set_names_a_malformed_line(tmp_path, demo_rows):
    path = _shards(tmp_path, demo_rows[0], "verified", parts=1)[0]
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    lineno = len(demo_rows[0]) + 2  # after the rows and the blank line
    with pytest.raises(ValueError, match=rf"{path.name}:{lineno}: malformed JSON"):
        write_training_set([path], [], [], "raw", 5, 0, PROMPT, tmp_path / "out.jsonl")


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_batched_token_stats_equal_one_call(demo_rows, bpe, batch_size):
    examples, _ = build_training_set(demo_rows[0], [], [], "raw", 40, 0, PROMPT)
    limit = sorted(rendered_lengths(examples, bpe))[len(examples) // 2]  # some fit, some do not
    whole = token_stats(examples, bpe, limit, batch_size=len(examples))
    assert dumps(token_stats(iter(examples), bpe, limit, batch_size=batch_size)) == dumps(whole)
    assert whole["total"] > 0 and 0 < whole["too_long"] < len(examples)


def test_sets_counted_in_parallel_equal_one_by_one(demo_rows, bpe, tmp_path):
    """training_set_tokens' processes, each counting every k-th example of a set, count what one
    process counts, with as many parts as sets or more."""
    bpe.save_pretrained(tmp_path / "tokenizer")
    sets = {}
    for variant, regime in (("raw", 30), ("answer-only", 20), ("raw", 10)):
        examples, _ = build_training_set(demo_rows[0], [], [], variant, regime, 0, PROMPT)
        sets[f"{variant}/{regime}"] = tmp_path / f"{variant}-{regime}.jsonl"
        write_jsonl(sets[f"{variant}/{regime}"], examples)
    serial = training_set_token_stats(sets, tmp_path / "tokenizer", 300)
    assert list(serial) == list(sets) and all(stats["total"] > 0 for stats in serial.values())
    for workers in (2, 3):
        assert training_set_token_stats(sets, tmp_path / "tokenizer", 300, workers) == serial
    assert dumps(serial["raw/30"]) == dumps(token_stats(read_jsonl(sets["raw/30"]), bpe, 300))


def _best_of_all_cut_points(raw, target, answer, tokenizer):
    """The token-unit cut as it was first written: every nearby cut point tokenized, the best
    taken (nearest the estimate among equals)."""
    ends = [end for _, end in tokenizer(raw, add_special_tokens=False, **OFFSETS)["offset_mapping"]]
    suffix = answer_suffix(answer)
    room = target - measure(suffix, "tokens", tokenizer)
    counts = range(max(1, room - 3), min(len(ends) - 1, room + 3) + 1)
    texts = [raw[: ends[n - 1]] + suffix for n in sorted(counts, key=lambda n: abs(n - room))]

    def miss(text):
        excess = measure(text, "tokens", tokenizer) - target
        return abs(excess), excess > 0

    return min(texts, key=miss)


def test_token_truncation_cuts_where_trying_every_cut_point_did(demo_rows, bpe):
    exact = 0
    for row in demo_rows[0][:12]:
        raw, answer = row["completion"], row["extracted_answer"]
        length = measure(raw, "tokens", bpe)
        for target in range(12, length, max(1, length // 9)):
            text, outcome = truncate_to_match(raw, target, answer, "tokens", bpe)
            assert outcome == "truncated"
            assert text == _best_of_all_cut_points(raw, target, answer, bpe)
            exact += measure(text, "tokens", bpe) == target
    assert exact > 0
