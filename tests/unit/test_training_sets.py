import csv

import pytest

from compress_distill.compression.summary import compression_summary, shard_summary
from compress_distill.grid import variant_names
from compress_distill.students.tokenizers import build_char_tokenizer
from compress_distill.tables import write_csv
from compress_distill.training_sets import (
    add_ratios,
    build_training_set,
    completion_text,
    first_sample_per_problem,
    length_stats,
    select_problems,
    summary_rows,
    token_stats,
)

IDS = [f"p{i:02d}" for i in range(30)]


def _verified(ids=IDS):
    return [
        {
            "problem_id": pid,
            "sample_index": 0,
            "question": f"What is {i} + {i}?",
            "completion": f"Let me think. {i} + {i} = {2 * i}. So the final answer is {2 * i}.\n\n"
            f"\\boxed{{{2 * i}}}",
            "extracted_answer": str(2 * i),
        }
        for i, pid in enumerate(ids)
    ]


def _compressed(ids=IDS):
    return [
        {
            "problem_id": pid,
            "sample_index": 0,
            "completion": f"{i}+{i}={2 * i}. \\boxed{{{2 * i}}}",
            "outcome": "kept",
        }
        for i, pid in enumerate(ids)
    ]


def test_variant_names():
    assert variant_names(["a", "b"], ["a"]) == ["raw", "a", "b", "truncated-a", "answer-only"]


def test_first_sample_per_problem_takes_the_lowest_index():
    rows = [{"problem_id": "x", "sample_index": 2}, {"problem_id": "x", "sample_index": 1}]
    assert first_sample_per_problem(rows)["x"]["sample_index"] == 1


def test_regimes_are_nested_and_respect_drops():
    dropped = {"p03", "p07"}
    available = [set(IDS) - dropped]
    small = select_problems(IDS, available, 10, seed=0)
    large = select_problems(IDS, available, 20, seed=0)
    assert large[:10] == small and not dropped & set(large)
    assert select_problems(IDS, available, 10, seed=1) != small
    with pytest.raises(ValueError, match=r"training_sets\.regimes"):
        select_problems(IDS, available, 29, seed=0)


@pytest.mark.parametrize("variant", ["raw", "c", "truncated-c", "answer-only"])
def test_every_variant_uses_the_same_problems(variant):
    examples = build_training_set(_verified(), _compressed(), [], variant, 12, 0, "Q: {question}")[
        0
    ]
    reference = build_training_set(_verified(), _compressed(), [], "raw", 12, 0, "Q: {question}")[0]
    assert [e["id"] for e in examples] == [e["id"] for e in reference]
    assert examples[0]["prompt"][0]["content"].startswith("Q: What is")
    assert completion_text(examples[0]).rstrip().endswith("}")


@pytest.mark.parametrize("unit", ["chars", "tokens"])
def test_truncated_targets_match_compressed_length_per_example(unit):
    tokenizer = build_char_tokenizer() if unit == "tokens" else None
    compressed, _ = build_training_set(_verified(), _compressed(), [], "c", 30, 0, "{question}")
    truncated, origins = build_training_set(
        _verified(), _compressed(), [], "truncated-c", 30, 0, "{question}", unit, tokenizer
    )
    assert origins == {"truncated": 30}

    def size(text):
        if unit == "chars":
            return len(text)
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    for short, cut in zip(compressed, truncated, strict=True):
        assert size(completion_text(cut)) == size(completion_text(short))


def test_stats_and_ratios(tmp_path):
    tokenizer = build_char_tokenizer()
    raw, origins = build_training_set(_verified(), [], [], "raw", 30, 0, "{question}")
    assert origins == {"raw": 30}
    short, _ = build_training_set(_verified(), _compressed(), [], "c", 30, 0, "{question}")
    raw_stats = length_stats(raw) | {"tokens": {"tiny": token_stats(raw, tokenizer)}}
    stats = length_stats(short) | {"tokens": {"tiny": token_stats(short, tokenizer)}}
    stats = add_ratios(stats, raw_stats)
    chars = sum(len(completion_text(e)) for e in short)
    assert stats["total_chars"] == chars and stats["examples"] == 30
    assert stats["tokens"]["tiny"]["total"] == chars  # one token per character
    assert stats["chars_ratio"] == pytest.approx(chars / raw_stats["total_chars"])
    assert 0 < stats["tokens_ratio"]["tiny"] < 1
    assert add_ratios(raw_stats, raw_stats)["chars_ratio"] == 1.0

    path = tmp_path / "summary.csv"
    write_csv(summary_rows([{"teacher": "t", "variant": "c", "regime": "30"} | stats]), str(path))
    (row,) = csv.DictReader(path.open())
    assert row["variant"] == "c" and float(row["tokens_ratio_tiny"]) < 1


def test_compression_summary_pools_shards():
    rows = [{"raw_chars": 100, "compressed_chars": 20, "ratio": 0.2}]
    first = shard_summary(rows, {"kept": 1})
    second = shard_summary(rows * 2, {"kept": 1, "appended": 1})
    summary = compression_summary("t", "c", [first, second])
    assert summary == {
        "teacher": "t",
        "compressor": "c",
        "traces": 3,
        "appended": 1,
        "kept": 2,
        "chars_ratio": pytest.approx(0.2),
    }
