import statistics
from pathlib import Path

import pytest

from compress_distill.checking import CHECKER
from compress_distill.io import InputError, read_jsonl, write_jsonl
from compress_distill.problems import load_jsonl_problems
from compress_distill.verify import (
    merge_stats,
    shard_stats,
    teacher_stats,
    verify_rows,
    verify_shard,
)

ROOT = Path(__file__).resolve().parents[2]
GSM8K_TEST = ROOT / "data/gsm8k/test-200.jsonl"


def _traces(n_problems=40):
    """Four samples per real GSM8K problem: right, wrong, no answer, right in another form."""
    rows = []
    for problem in load_jsonl_problems(GSM8K_TEST, answer_format="gsm8k", limit=n_problems):
        gold = problem["answer"]
        completions = [
            f"Let me think.\nSo the answer is \\boxed{{{gold}}}.",
            f"Let me think.\nSo the answer is \\boxed{{{int(gold) + 1}}}.",
            "Let me think. I am not sure.",
            f"Working...\nThe final answer is ${gold}.00$. I hope it is correct.",
        ]
        for index, completion in enumerate(completions):
            rows.append(
                {
                    "problem_id": problem["id"],
                    "sample_index": index,
                    "question": problem["question"],
                    "gold": gold,
                    "completion": completion,
                    "teacher": "scripted",
                }
            )
    return rows


def test_verify_rows_adds_fields_in_order():
    rows = _traces(10)
    verified = verify_rows(rows, workers=1, progress=False)
    assert [r["verdict"] for r in verified[:4]] == ["correct", "incorrect", "no_answer", "correct"]
    assert [r["correct"] for r in verified[:4]] == [True, False, False, True]
    assert verified[0]["extracted_answer"] == rows[0]["gold"]
    assert verified[2]["extracted_answer"] is None
    assert all(r["checker"] == CHECKER for r in verified)
    # input rows are passed through unchanged and not modified
    assert all(v["teacher"] == "scripted" for v in verified)
    assert "verdict" not in rows[0]
    assert [(v["problem_id"], v["sample_index"]) for v in verified] == [
        (r["problem_id"], r["sample_index"]) for r in rows
    ]


def test_two_workers_equal_one_worker():
    rows = _traces(40)
    rows.insert(5, {**rows[0], "sample_index": 99, "completion": r"\boxed{9^{9^{9}}}"})
    one = verify_rows(rows, workers=1, timeout_s=1.0, progress=False)
    two = verify_rows(rows, workers=2, timeout_s=1.0, progress=False)
    assert one == two
    assert one[5]["verdict"] == "timeout"
    assert sum(r["correct"] for r in one) == 80


def test_verify_rows_requires_a_completion():
    with pytest.raises(InputError, match=r"row 1 .*'completion'"):
        verify_rows([_traces(1)[0], {"problem_id": "p", "gold": "1"}], progress=False)


def test_verify_shard_writes_all_and_correct(tmp_path):
    rows = _traces(20)
    write_jsonl(tmp_path / "shard.jsonl", rows)
    counts = verify_shard(
        tmp_path / "shard.jsonl", tmp_path / "all.jsonl", tmp_path / "correct.jsonl", workers=2
    )
    every = read_jsonl(tmp_path / "all.jsonl")
    correct = read_jsonl(tmp_path / "correct.jsonl")
    assert len(every) == 80
    assert len(correct) == 40 and all(r["correct"] for r in correct)
    assert counts["samples"] == 80 and counts["correct"] == 40
    assert counts["incorrect"] == 20 and counts["no_answer"] == 20 and counts["errors"] == 0
    assert counts["pass_rate"] == 0.5
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_verify_shard_names_the_line_of_a_bad_row(tmp_path):
    rows = _traces(1)
    del rows[2]["gold"]
    write_jsonl(tmp_path / "shard.jsonl", rows)
    with pytest.raises(InputError, match=r"shard\.jsonl:3: record has no 'gold' field"):
        verify_shard(tmp_path / "shard.jsonl", tmp_path / "a.jsonl", tmp_path / "c.jsonl")
    assert not (tmp_path / "a.jsonl").exists()


def _row(verdict, length):
    return {"problem_id": "p", "verdict": verdict, "completion": "x" * length}


def test_stats_per_shard_merged_and_per_teacher(tmp_path):
    shard_a = [_row("correct", 10), _row("incorrect", 20), _row("no_answer", 30)]
    shard_b = [_row("correct", 100), _row("timeout", 5), _row("error", 5), _row("correct", 40)]
    stats_a = shard_stats(shard_a)
    assert stats_a["samples"] == 3 and stats_a["correct"] == 1
    assert stats_a["median_chars"] == 20 and stats_a["mean_chars_correct"] == 10

    write_jsonl(tmp_path / "a.jsonl", shard_a)
    write_jsonl(tmp_path / "b.jsonl", shard_b)
    teacher = teacher_stats([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    every = shard_a + shard_b
    assert teacher == shard_stats(every)
    assert teacher["samples"] == 7 and teacher["correct"] == 3 and teacher["errors"] == 2
    assert teacher["timeouts"] == 1 and teacher["no_answer"] == 1 and teacher["incorrect"] == 1
    assert teacher["pass_rate"] == pytest.approx(3 / 7)
    assert teacher["median_chars"] == statistics.median(len(r["completion"]) for r in every)
    assert teacher["median_chars_correct"] == 40
    assert teacher["mean_chars_correct"] == pytest.approx(50)

    merged = merge_stats([stats_a, shard_stats(shard_b)])
    for key in ("samples", "correct", "incorrect", "no_answer", "errors", "pass_rate"):
        assert merged[key] == pytest.approx(teacher[key])
    assert merged["mean_chars"] == pytest.approx(teacher["mean_chars"])
    assert merged["mean_chars_correct"] == pytest.approx(teacher["mean_chars_correct"])


def test_stats_of_nothing_and_bad_verdicts(tmp_path):
    assert shard_stats([])["pass_rate"] is None
    write_jsonl(tmp_path / "v.jsonl", [_row("correct", 1), _row("maybe", 1)])
    with pytest.raises(InputError, match=r"v\.jsonl:2: unknown verdict 'maybe'"):
        teacher_stats([tmp_path / "v.jsonl"])


def _rows(gold, completions):
    return [
        {"problem_id": "p", "sample_index": i, "question": "q", "gold": gold, "completion": text}
        for i, text in enumerate(completions)
    ]


def test_multiple_choice_rows_are_checked_by_letter():
    completions = [
        "The photon energy is about 2.07 eV, which is option C.\n\nAnswer: C",
        "So the correct answer is **(C)**.",
        "Comparing the options, only one fits.\n\n**C**",  # a letter alone on the last line
        "The energy is hc / lambda.\n$\\boxed{\\text{(C)}}$",
        "Answer: (C) 2.07 eV",
        "The answer is (B).",  # a wrong letter is wrong
        "Answer: 2.07 eV",  # the option's text, not its letter
        "Let me compute hc / lambda first, with h = 6.63e-34",  # no answer
    ]
    verified = verify_rows(_rows("C", completions), progress=False)
    assert [r["verdict"] for r in verified] == [
        *["correct"] * 5,
        "incorrect",
        "incorrect",
        "no_answer",
    ]
    assert verified[2]["extracted_answer"] == "C"
    # a bare last-line letter is multiple choice only: against a number it is no answer
    (number,) = verify_rows(_rows("4", completions[2:3]), progress=False)
    assert number["verdict"] == "no_answer"


def test_latex_golds_match_equivalent_forms():
    completions = [
        "Adding up: $\\frac{14}{3}$.\n\n**Final Answer**\n\\[\n\\boxed{\\dfrac{14}{3}}\n\\]",
        "Final Answer: The final answer is $4\\frac{2}{3}$. I hope it is correct.",
        "The sum is $\\boxed{14/3}$.",
        "So the answer is $\\frac{13}{3}$.",
    ]
    verified = verify_rows(_rows("\\frac{14}{3}", completions), progress=False)
    assert [r["verdict"] for r in verified] == ["correct", "correct", "correct", "incorrect"]


# --- reasoning and the final response ------------------------------------------------------------


def _trace(reasoning, response, finish_reason="stop", **extra):
    """A generated row: reasoning and response apart, `completion` joined as generation joins it."""
    completion = response if reasoning is None else f"{reasoning}\n\n{response}".strip()
    return {
        "problem_id": "p",
        "sample_index": 0,
        "question": "q",
        "gold": "72",
        "reasoning": reasoning,
        "response": response,
        "finish_reason": finish_reason,
        "completion": completion,
        **extra,
    }


def test_the_answer_is_read_from_the_response_then_the_reasoning():
    rows = [
        # the response wins over a different number boxed in the reasoning
        _trace("First guess \\boxed{70}. No: 48 + 24 = 72.", "#### 72"),
        _trace("48 + 24 = 72, so \\boxed{72}.", "#### 71"),
        # an empty response: the answer stated while thinking counts
        _trace("48 + 24 = 72, so the answer is 72.", ""),
        # nothing split out (the demo's scripted teachers): the response is the whole trace
        _trace(None, "48 + 24 = 72.\n\n\\boxed{72}"),
        # an older shard: only the completion
        {k: v for k, v in _trace(None, "\\boxed{72}").items() if k != "response"},
        _trace("", "   "),
    ]
    verified = verify_rows(rows, progress=False)
    assert [r["answer_source"] for r in verified] == [
        "response",
        "response",
        "reasoning",
        "response",
        "completion",
        "response",
    ]
    assert [r["verdict"] for r in verified] == [
        "correct",
        "incorrect",
        "correct",
        "correct",
        "correct",
        "no_answer",
    ]
    assert verified[1]["extracted_answer"] == "71"


def test_length_limited_traces_without_a_response_are_never_correct(tmp_path):
    rows = [
        # cut off while thinking, the right number boxed on the way: no final answer
        _trace("48 + 24 = 72, so \\boxed{72}. Let me double-check", "", "length"),
        _trace("48 + 24 = 72, so", None, "length"),
        # a response cut off still has its answer read (a model without a reasoning part)
        _trace(None, "48 + 24 = 72.\n\n\\boxed{72}", "length"),
        _trace("48 + 24 = 72.", "#### 72"),
    ]
    verified = verify_rows(rows, progress=False)
    assert [r["answer_source"] for r in verified] == [None, None, "response", "response"]
    assert [r["verdict"] for r in verified] == ["no_answer", "no_answer", "correct", "correct"]
    assert verified[0]["extracted_answer"] is None and not verified[0]["correct"]

    stats = shard_stats(verified)
    assert stats["hit_length_limit"] == 3 and stats["hit_length_limit_no_answer"] == 2
    assert stats["no_answer"] == 2 and stats["correct"] == 2
    write_jsonl(tmp_path / "a.jsonl", verified[:2])
    write_jsonl(tmp_path / "b.jsonl", verified[2:])
    teacher = teacher_stats([tmp_path / "a.jsonl", tmp_path / "b.jsonl"])
    assert teacher == stats
    merged = merge_stats([shard_stats(verified[:2]), shard_stats(verified[2:])])
    assert merged["hit_length_limit"] == 3 and merged["hit_length_limit_no_answer"] == 2
    # rows of older shards (no finish_reason) count as neither
    assert shard_stats([_row("correct", 3)])["hit_length_limit"] == 0
