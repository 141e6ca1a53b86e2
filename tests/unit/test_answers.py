import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from compress_distill.answers import (
    CHECKER,
    MATH_VERIFY_VERSION,
    Sandbox,
    Verdict,
    check_answer,
    extract_answer,
    gold_from_gsm8k,
)
from compress_distill.io import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
GSM8K_TEST = ROOT / "data/gsm8k/test-200.jsonl"
# sympy evaluates 9^(9^9) exactly: minutes of C-level big-integer work no signal can interrupt.
PATHOLOGICAL = "9^{9^{9}}"


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as box:
        yield box


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"First \boxed{3}, then corrected: \boxed{4}.", "4"),
        (r"So $x = \boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),
        (r"\boxed{\dfrac{3}{4}}", r"\dfrac{3}{4}"),
        (r"\boxed{\frac{\sqrt{2}}{2}}", r"\frac{\sqrt{2}}{2}"),
        (r"\boxed{\$18}", r"\$18"),
        (r"\boxed{18 \text{ dollars}}", r"18 \text{ dollars}"),
        (r"\boxed{50\%}", r"50\%"),
        (r"\boxed{-7}", "-7"),
        (r"\boxed{1,000}", "1,000"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\fbox{12}", "12"),
        (r"\boxed {5}", "5"),
        (r"Nested \boxed{\boxed{6}}", "6"),
        # an unclosed last box (truncated output) is skipped; the earlier complete one counts
        (r"\boxed{3} and then \boxed{12", "3"),
        (r"The answer is \boxed{12", None),
        (r"\boxed{}", None),
        ("The answer is 42.", "42"),
        ("The final answer is $18$. I hope it is correct.", "18"),
        ("The answer is 7. Then later: the answer is **8**.", "8"),
        ("the answer is: -3.5", "-3.5"),
        ("The answer is 18 dollars.", "18 dollars"),
        ("She makes 9 * 2 = 18 dollars.\n#### 18", "18"),
        ("#### 1,000\n", "1,000"),
        ("Final Answer: 42", "42"),
        ("**Final Answer:** $\\frac{1}{3}$", r"\frac{1}{3}"),
        ("She sells 9 eggs a day, which makes 18 dollars.", None),
        ("", None),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_extraction_is_linear_on_degenerate_boxes():
    start = time.monotonic()
    assert extract_answer(r"\boxed{" * 20_000) is None
    assert extract_answer(r"\boxed{5} " + r"\boxed{\boxed{" * 10_000) == "5"
    assert time.monotonic() - start < 2


def test_gold_from_gsm8k():
    assert gold_from_gsm8k("Some work <<2*3=6>>6.\n#### 1,000") == "1000"
    assert gold_from_gsm8k("a #### b\n#### -4") == "-4"
    with pytest.raises(ValueError, match="####"):
        gold_from_gsm8k("no final line")


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [
        ("18", "18"),
        (r"\$18", "18"),
        ("$18", "18"),
        ("18 dollars", "18"),
        (r"18 \text{ dollars}", "18"),
        ("18 eggs", "18"),
        ("18.00", "18"),
        ("18.", "18"),
        ("1,000", "1000"),
        (r"1\,000", "1000"),
        ("-5", "-5"),
        ("1/2", "1/2"),
        (r"\frac{1}{2}", "1/2"),
        (r"\dfrac{1}{2}", "1/2"),
        ("0.5", "1/2"),
        (r"50\%", "1/2"),
        (r"\frac{1}{2}", r"\frac{1}{2}"),
        (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}"),
        ("x = 18", "18"),
    ],
)
def test_equivalent_answers_are_correct(sandbox, predicted, gold):
    assert sandbox.check([(predicted, gold)], timeout_s=5.0) == [Verdict.CORRECT]


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [("17", "18"), ("-18", "18"), ("0.5", "5"), ("1,000", "100"), ("1/3", "1/2"), ("hello", "18")],
)
def test_different_answers_are_incorrect(sandbox, predicted, gold):
    assert sandbox.check([(predicted, gold)], timeout_s=5.0) == [Verdict.INCORRECT]


def test_unparseable_gold_is_an_error_not_incorrect(sandbox):
    assert sandbox.check([("18", "")], timeout_s=5.0) == [Verdict.ERROR]


def test_check_answer_without_an_answer():
    assert check_answer(None, "18") is Verdict.NO_ANSWER


def test_all_gsm8k_golds_check_correct_and_off_by_one_incorrect(sandbox):
    golds = [gold_from_gsm8k(record["answer"]) for record in read_jsonl(GSM8K_TEST)]
    assert len(golds) == 200
    right = [extract_answer(f"Step by step... so the total is \\boxed{{{g}}}.") for g in golds]
    wrong = [extract_answer(f"Step by step... \\boxed{{{Decimal(g) + 1}}}.") for g in golds]
    verdicts = sandbox.check(
        [*zip(right, golds, strict=True), *zip(wrong, golds, strict=True)], timeout_s=5.0
    )
    assert verdicts[:200] == [Verdict.CORRECT] * 200
    assert verdicts[200:] == [Verdict.INCORRECT] * 200


def test_timeout_from_a_non_main_thread_and_recovery():
    results = {}

    def run():
        start = time.monotonic()
        results["slow"] = check_answer(PATHOLOGICAL, "18", timeout_s=1.0)
        results["elapsed"] = time.monotonic() - start
        results["after"] = check_answer("18", "18", timeout_s=5.0)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert results["slow"] is Verdict.TIMEOUT
    assert results["elapsed"] < 10
    assert results["after"] is Verdict.CORRECT  # a fresh sandbox took over


def test_timeout_mid_batch_keeps_order(sandbox):
    pairs = [("1", "1"), (PATHOLOGICAL, "18"), ("2", "3"), ("4", "4")]
    restarts = sandbox.restarts
    verdicts = sandbox.check(pairs, timeout_s=1.0)
    assert verdicts == [Verdict.CORRECT, Verdict.TIMEOUT, Verdict.INCORRECT, Verdict.CORRECT]
    assert sandbox.restarts == restarts + 1


def test_checker_names_the_math_verify_version():
    assert MATH_VERIFY_VERSION == "0.9.0"
    assert CHECKER == "math-verify==0.9.0"


def test_works_from_a_script_without_a_main_guard(tmp_path):
    # multiprocessing's spawn/forkserver would re-run such a script (e.g. a Snakemake script) in
    # the child; the sandbox must not.
    script = tmp_path / "script.py"
    script.write_text(
        "from compress_distill.answers import check_answer\n"
        "print('ran', flush=True)\n"
        "print(check_answer('0.5', '1/2').value)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["ran", "correct"]
