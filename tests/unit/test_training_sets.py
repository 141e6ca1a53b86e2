import csv

import pytest

from compress_distill.compression.faithfulness import MEASURES
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
    raw_stats = length_stats(raw) | {"tokens": {"tiny": token_stats(raw, tokenizer, 4096)}}
    stats = length_stats(short) | {"tokens": {"tiny": token_stats(short, tokenizer, 4096)}}
    stats = add_ratios(stats, raw_stats)
    chars = sum(len(completion_text(e)) for e in short)
    assert stats["total_chars"] == chars and stats["examples"] == 30
    # One token per character, and each completion's end of turn (EOS), as the loss counts it.
    assert stats["tokens"]["tiny"]["total"] == chars + 30
    assert stats["chars_ratio"] == pytest.approx(chars / raw_stats["total_chars"])
    assert 0 < stats["tokens_ratio"]["tiny"] < 1
    assert add_ratios(raw_stats, raw_stats)["chars_ratio"] == 1.0

    path = tmp_path / "summary.csv"
    write_csv(summary_rows([{"teacher": "t", "variant": "c", "regime": "30"} | stats]), str(path))
    (row,) = csv.DictReader(path.open())
    assert row["variant"] == "c" and float(row["tokens_ratio_tiny"]) < 1
    assert row["too_long_tiny"] == "0"
    # The raw examples are longer than the compressed ones: a max_length between them leaves
    # out exactly the raw examples that do not fit, measured through the chat template.
    lengths = [
        len(tokenizer.apply_chat_template(e["prompt"] + e["completion"])["input_ids"]) for e in raw
    ]
    limit = min(lengths)
    assert token_stats(raw, tokenizer, limit)["too_long"] == sum(n > limit for n in lengths) > 0


def test_compression_summary_pools_shards():
    rows = [{"raw_chars": 100, "compressed_chars": 20, "ratio": 0.2}]
    first = shard_summary(rows, {"kept": 1})
    second = shard_summary(rows * 2, {"kept": 1, "appended": 1})
    summary = compression_summary("t", "c", [first, second])
    # rows without faithfulness measures (see tests/unit/test_faithfulness.py for those)
    measured = {key: summary.pop(key) for key in list(summary) if key.startswith(MEASURES)}
    assert set(measured.values()) == {0, None}
    assert summary == {
        "teacher": "t",
        "compressor": "c",
        "traces": 3,
        "appended": 1,
        "kept": 2,
        "chars_ratio": pytest.approx(0.2),
    }


# --- reasoning and the final response ------------------------------------------------------------


def _reasoning_rows(ids=IDS):
    """Verified rows of a reasoning teacher, and their compressed reasoning (response kept)."""
    verified, compressed = [], []
    for i, pid in enumerate(ids):
        reasoning = f"Hmm, let me think. {i} + {i}: that is {2 * i}. Let me check: {2 * i}."
        response = f"{i} + {i} = {2 * i}.\n\n\\boxed{{{2 * i}}}"
        verified.append(
            {
                "problem_id": pid,
                "sample_index": 0,
                "question": f"What is {i} + {i}?",
                "reasoning": reasoning,
                "response": response,
                "finish_reason": "stop",
                "completion": f"{reasoning}\n\n{response}",
                "extracted_answer": str(2 * i),
                "answer_source": "response",
            }
        )
        short = f"{i} + {i} = {2 * i}."
        compressed.append(
            {
                "problem_id": pid,
                "sample_index": 0,
                "compressed_field": "reasoning",
                "reasoning": short,
                "response": response,
                "completion": f"{short}\n\n{response}",
                "outcome": "kept",
            }
        )
    return verified, compressed


@pytest.mark.parametrize("unit", ["chars", "tokens"])
def test_truncation_of_a_reasoning_keeps_the_response(unit):
    tokenizer = build_char_tokenizer() if unit == "tokens" else None
    verified, compressed = _reasoning_rows()
    raw = {row["problem_id"]: row for row in verified}
    short = {row["problem_id"]: row for row in compressed}
    examples, origins = build_training_set(
        verified, compressed, [], "truncated-c", 30, 0, "{question}", unit, tokenizer
    )
    assert origins == {"truncated": 30}
    for example in examples:
        row, partner = raw[example["id"]], short[example["id"]]
        text = completion_text(example)
        cut = text.removesuffix("\n\n" + row["response"])
        assert cut != text and row["reasoning"].startswith(cut)
        assert len(cut) == len(partner["reasoning"])  # one token per character either way
        assert len(text) == len(partner["completion"])

    compressed_set, origins = build_training_set(verified, compressed, [], "c", 30, 0, "{q}")
    assert origins == {"kept": 30}
    assert {completion_text(e) for e in compressed_set} <= {r["completion"] for r in compressed}
    raw_set, _ = build_training_set(verified, compressed, [], "raw", 30, 0, "{q}")
    assert {completion_text(e) for e in raw_set} <= {r["completion"] for r in verified}
    # answer-only is the answer in a box, for a reasoning teacher as for any other
    answers, origins = build_training_set(verified, compressed, [], "answer-only", 30, 0, "{q}")
    assert origins == {"answer_only": 30}
    assert {completion_text(e) for e in answers} <= {
        f"\\boxed{{{r['extracted_answer']}}}" for r in verified
    }


def test_truncation_without_a_response_or_a_compressed_reasoning():
    verified, compressed = _reasoning_rows(IDS[:3])
    # an empty compression (answer alone, under append): the truncated twin is the answer alone
    compressed[0] |= {"reasoning": "", "completion": "\\boxed{0}", "outcome": "empty"}
    # the answer was read from the reasoning: no response; the completion is cut as before
    verified[1] |= {"response": "", "completion": verified[1]["reasoning"]}
    compressed[1] |= {"response": "", "completion": "1 + 1 = 2.\n\n\\boxed{2}"}
    # a compressed row of an older shard (no compressed_field): the completion is cut as before
    del compressed[2]["compressed_field"]
    examples, origins = build_training_set(verified, compressed, [], "truncated-c", 3, 0, "{q}")
    assert origins == {"answer_only": 1, "truncated": 2}
    texts = {e["id"]: completion_text(e) for e in examples}
    assert texts[IDS[0]] == "\\boxed{0}"
    assert texts[IDS[1]].endswith("\n\n\\boxed{2}")
    assert len(texts[IDS[1]]) == len(compressed[1]["completion"])
    assert len(texts[IDS[2]]) == len(compressed[2]["completion"])
    assert texts[IDS[2]].endswith("\n\n\\boxed{4}") and verified[2]["response"] not in texts[IDS[2]]


def test_a_reasoning_trace_keeps_its_reasoning_apart_in_every_variant_but_answer_only():
    verified = [
        row
        | {
            "reasoning": row["completion"].split("\n\n")[0],
            "response": row["completion"].split("\n\n")[1],
        }
        for row in _verified()
    ]
    by_id = {row["problem_id"]: row for row in verified}
    raw, _ = build_training_set(verified, [], [], "raw", 30, 0, "{question}")
    for example in raw:
        row, (message,) = by_id[example["id"]], example["completion"]
        assert message["reasoning_content"] == row["reasoning"]
        assert message["content"] == row["response"]
        assert completion_text(example) == row["completion"]
    answers, _ = build_training_set(verified, [], [], "answer-only", 30, 0, "{question}")
    assert all("reasoning_content" not in e["completion"][0] for e in answers)
