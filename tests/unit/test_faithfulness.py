"""Faithfulness of a compression to its raw trace, the outcomes it and the length check give, and
their distributions in the compression summary."""

from __future__ import annotations

from typing import Any

import pytest

from compress_distill.compression import OUTCOMES, compress_rows
from compress_distill.compression.faithfulness import (
    equations,
    equations_correct,
    evaluate,
    faithfulness,
    results_kept,
)
from compress_distill.compression.summary import compression_summary, distribution, shard_summary
from compress_distill.compression.targets import answer_suffix, apply_policy, judge_compression

from .test_compression import _Scripted

# GSM8K's robe problem as its worked solution states it (calculator annotations removed), and the
# "kept" compression SmolLM2-135M-Instruct wrote of it: the right answer, wrong arithmetic.
ROBE = (
    "It takes 2/2 = 1 bolt of white fiber\nSo the total amount of fabric is 2+1 = 3 bolts of fabric"
)
ROBE_WRONG = (
    "The robe takes 2*1/2 = 1.5 bolts of white fiber.\n2*2 = 4 bolts in total.\n\n\\boxed{3}"
)
CLIPS = (
    "Natalia sold 48/2 = 24 clips in May.\n"
    "Natalia sold 48+24 = 72 clips altogether in April and May."
)


def test_a_faithful_compression_keeps_steps_and_arithmetic() -> None:
    assert faithfulness(CLIPS, "48/2 = 24 in May; 48 + 24 = 72.", "72") == {
        "results_kept": 1.0,
        "equations_correct": 1.0,
    }
    # the same result in prose, another form of the number, or a LaTeX fraction
    assert results_kept(CLIPS, "May: 24.0 clips. Total 72.", "72") == 1.0
    assert results_kept("1/2 = 0.5 of it, so 0.5*4 = 2", "$\\frac{1}{2}$ of 4 is 2", "2") == 1.0


def test_a_dropped_step_loses_its_result() -> None:
    # 24 is only an operand now: the step that made it is gone
    assert results_kept(CLIPS, "48 + 24 = 72.", "72") == 0.0
    assert results_kept(CLIPS, "\\boxed{72}", "72") == 0.0
    # the final answer is not an intermediate result: a one-step trace has none to keep
    assert results_kept("48 + 24 = 72 clips.", "\\boxed{72}", "72") is None
    # without the answer, every result counts
    assert results_kept(CLIPS, "48 + 24 = 72.") == 0.5


def test_wrong_arithmetic_is_found() -> None:
    scores = faithfulness(ROBE, ROBE_WRONG, "3")
    # 2*1/2 = 1.5 is wrong, 2*2 = 4 is right arithmetic (of the wrong step); the 1 is an operand
    assert scores == {"results_kept": 0.0, "equations_correct": 0.5}
    assert [eq.left.value for eq in equations(ROBE_WRONG)] == [1, 4]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$2 \\times 3 = 6$", 1.0),
        ("\\frac{1}{2} \\cdot 4 = 2 and \\dfrac{3}{4} = 0.75", 1.0),
        ("\\left(2 + 3\\right) \\times 2 = 11", 0.0),
        ("0.2 x 50 = $10, 12 ÷ 4 = 3, 6 × 7 = 42, 5 − 7 = -2", 1.0),
        ("1,000 * 2 = 2,000 and (2+3)*4 = 5*4 = 20", 1.0),
        ("10/3 = 3.33 but 10/3 = 3.4", 0.5),  # rounded to its last written place, not beyond
        ("1000/3 ≈ 333, 1000/3 = 333", 0.5),  # ≈ allows a whole-number rounding, = does not
        ("(so 3 + 4 = 7).", 1.0),
    ],
)
def test_equations_correct(text: str, expected: float) -> None:
    assert equations_correct(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "No equations here, only 3 apples and 4 pears.",
        "x = 5 and y = 7",  # no computation on either side
        "half of 20 = 10",  # the words are part of the computation
        "3 apples + 2 = 5",
        "apples - 2 = 5",
        "2x + 3 = 7",
        "5^2 = 25",
        "a <= 3+4, 2*3 != 7, 2 + 2 => 4",
        "1/0 = 5",
    ],
)
def test_no_evaluable_equation_is_none(text: str) -> None:
    assert equations_correct(text) is None


def test_evaluate_reads_arithmetic_only() -> None:
    assert evaluate("(1 + 2) * 3 / 4 - -1") == pytest.approx(13 / 4)
    for unsafe in ("__import__('os')", "2 ** 10", "abs(-1)", "x + 1", "1 if 1 else 2", ""):
        assert evaluate(unsafe) is None


# --- outcomes ------------------------------------------------------------------------------------

RAW = "First 48/2 = 24 clips in May, then 48+24 = 72 clips in all."


@pytest.mark.parametrize(
    ("policy", "compressed", "has_answer", "expected"),
    [
        ("append", "48/2 = 24; 48+24 = 72. \\boxed{72}", True, "kept"),
        ("append", "48/2 = 24; 48+24 = 72.", False, "appended"),
        # longer than the raw trace: the raw trace stands in under append
        ("append", RAW + " Indeed. \\boxed{72}", True, "not_shorter"),
        ("drop", RAW + " Indeed. \\boxed{72}", True, "not_shorter"),
        # shorter, but not once the answer is appended
        ("append", RAW[:-3], False, "not_shorter"),
        ("drop", RAW[:-3], False, "dropped"),
        ("append", "", False, "empty"),
    ],
)
def test_outcomes_of_the_length_check(
    policy: str, compressed: str, has_answer: bool, expected: str
) -> None:
    text, outcome = apply_policy(compressed, "72", policy, has_answer, source=RAW)
    assert outcome == expected
    if expected == "not_shorter":
        assert text == (RAW if policy == "append" else None)
    if expected == "appended":
        assert text is not None and text.endswith(answer_suffix("72"))


def test_apply_policy_needs_the_source_to_replace_an_unfaithful_compression() -> None:
    with pytest.raises(ValueError, match="source"):
        apply_policy("\\boxed{72}", "72", "append", True, faithful=False)


@pytest.mark.parametrize("policy", ["append", "drop"])
def test_judge_compression_applies_the_minimums(policy: str) -> None:
    wrong = "48/2 = 25; 48+24 = 72. \\boxed{72}"
    off = judge_compression(wrong, RAW, "72", policy, True, {})
    assert off == (wrong, "kept", {"results_kept": 0.0, "equations_correct": 0.5})
    text, outcome, _ = judge_compression(wrong, RAW, "72", policy, True, {"equations_correct": 0.8})
    assert outcome == "unfaithful" and text == (RAW if policy == "append" else None)
    # a measure with nothing to measure passes its minimum
    bare = "\\boxed{72}"
    assert judge_compression(bare, "48+24 = 72.", "72", policy, True, {"results_kept": 1.0})[1] == (
        "kept"
    )


def _row(index: int, reasoning: str) -> dict[str, Any]:
    return {
        "problem_id": f"p{index}",
        "sample_index": 0,
        "question": "How many clips did Natalia sell?",
        "gold": "72",
        "reasoning": reasoning,
        "response": "#### 72",
        "completion": f"{reasoning}\n\n#### 72",
        "extracted_answer": "72",
    }


@pytest.mark.parametrize("policy", ["append", "drop"])
def test_compress_rows_records_and_thresholds_faithfulness(policy: str) -> None:
    rows = [_row(i, RAW) for i in range(4)]
    outputs = [
        "48/2 = 24; 48+24 = 72.",  # faithful
        "48/2 = 25; 48+24 = 72.",  # wrong arithmetic
        "48+24 = 72.",  # a dropped step
        RAW + " That is all.",  # expanded
    ]
    out, counts = compress_rows(
        rows,
        _Scripted(outputs),
        policy,
        progress=False,
        min_faithfulness={"equations_correct": 0.8},
    )
    assert counts == dict.fromkeys(OUTCOMES, 0) | {"kept": 2, "unfaithful": 1, "not_shorter": 1}
    by_id = {row["problem_id"]: row for row in out}
    assert by_id["p0"]["faithfulness"] == {"results_kept": 1.0, "equations_correct": 1.0}
    assert by_id["p2"]["faithfulness"] == {"results_kept": 0.0, "equations_correct": 1.0}
    if policy == "drop":
        assert sorted(by_id) == ["p0", "p2"]
    else:
        # the raw trace stands in, and the row still records what the compressor wrote
        for pid, outcome in (("p1", "unfaithful"), ("p3", "not_shorter")):
            assert by_id[pid]["outcome"] == outcome
            assert by_id[pid]["completion"] == rows[0]["completion"]
            assert by_id[pid]["reasoning"] == RAW and by_id[pid]["ratio"] == 1.0
        assert by_id["p1"]["faithfulness"]["equations_correct"] == 0.5
    with pytest.raises(ValueError, match="faithfulness measure"):
        compress_rows(rows, _Scripted([]), policy, min_faithfulness={"steps": 0.5})


# --- summaries -----------------------------------------------------------------------------------


def test_distribution() -> None:
    assert distribution([]) == {"traces": 0, "mean": None, "median": None, "p10": None}
    assert distribution([1.0]) == {"traces": 1, "mean": 1.0, "median": 1.0, "p10": 1.0}
    values = [i / 10 for i in range(11)]  # 0.0 .. 1.0
    assert distribution(values) == {"traces": 11, "mean": 0.5, "median": 0.5, "p10": 0.1}


def test_summaries_pool_faithfulness_per_compressor() -> None:
    def row(kept: float | None, correct: float | None) -> dict[str, Any]:
        scores = {"results_kept": kept, "equations_correct": correct}
        return {"raw_chars": 10, "compressed_chars": 5, "ratio": 0.5, "faithfulness": scores}

    first = shard_summary([row(1.0, None), row(0.5, 1.0)], {"kept": 2})
    assert first["faithfulness"] == {"results_kept": [1.0, 0.5], "equations_correct": [1.0]}
    second = shard_summary([row(None, 0.0)], {"unfaithful": 1})
    summary = compression_summary("t", "c", [first, second])
    assert summary["traces"] == 3 and summary["unfaithful"] == 1
    assert {k: v for k, v in summary.items() if k.startswith("results_kept")} == {
        "results_kept_traces": 2,
        "results_kept_mean": 0.75,
        "results_kept_median": 0.75,
        "results_kept_p10": 0.55,
    }
    assert summary["equations_correct_traces"] == 2
    assert summary["equations_correct_mean"] == 0.5
