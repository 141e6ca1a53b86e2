import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from compress_distill import checking
from compress_distill.answers import (
    choice_letter,
    extract_answer,
    gold_from_gsm8k,
    gold_from_latex,
    is_choice_gold,
)
from compress_distill.checking import (
    CHECKER,
    MATH_VERIFY_VERSION,
    Sandbox,
    Verdict,
    check_answer,
    check_pairs,
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
        "from compress_distill.checking import check_answer\n"
        "print('ran', flush=True)\n"
        "print(check_answer('0.5', '1/2').value)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["ran", "correct"]


# --- the conventions real models write: reasoning, then the final line ----------------------------

R1_STYLE = r"""Okay, so I need to find $f(-2) + f(-1) + f(0)$ for $f(x) = \frac{3x-2}{x-2}$.

First, $f(-2) = \frac{-8}{-4} = 2$. Then $f(-1) = \frac{-5}{-3} = \frac{5}{3}$, and $f(0) = 1$.

Adding them up: $2 + \frac{5}{3} + 1 = \frac{14}{3}$.

**Final Answer**
\[
\boxed{\dfrac{14}{3}}
\]"""
LLAMA_STYLE = r"""## Step 1: Write the sum
The sum is $2 + \frac{5}{3} + 1$.

## Step 2: Add
$2 + \frac{5}{3} + 1 = \frac{14}{3}$.

Therefore, the final answer is: $\boxed{\frac{14}{3}}$. I hope it is correct."""
MINERVA_STYLE = r"""We have $f(-2) = 2$, $f(-1) = \frac{5}{3}$ and $f(0) = 1$,
so the sum is $\frac{14}{3}$.
Final Answer: The final answer is $\frac{14}{3}$. I hope it is correct."""
FBOX_STYLE = r"""Substituting $x = 3$ gives $9 + 3 = 12$.
So the value is \fbox{12}."""
BOLD_FINAL = r"""Expanding, $(x+1)^2 - 2x = x^2 + 1$.

**Final Answer:** $x^2+1$"""
HEADING_FINAL = r"""The two lines meet where $2x + y = 5$ and $x - y = 4$, so $x = 3$ and $y = -1$.

### Final Answer

$$
(3, -1)
$$"""
RETHOUGHT = r"""At first I thought the answer is 5. But I forgot the carry.
Redoing the sum: $27 + 39 = 66$, and $66 / 11 = 6$.

**Final Answer:** 6"""
GSM8K_STYLE = """Natalia sold 48 / 2 = <<48/2=24>>24 clips in May.
Natalia sold 48 + 24 = <<48+24=72>>72 clips altogether in April and May.
#### 72"""
PROSE_STYLE = """Each box holds 6 eggs and there are 7 boxes, so 6 * 7 = 42 eggs.
So the answer is 42."""
ANSWER_LINE = """The photon energy is E = hc / lambda = 1240 eV nm / 600 nm, about 2.07 eV.
That matches option C.

Answer: C"""
CORRECT_ANSWER_IS = """Option A confuses enthalpy with free energy, and B has the wrong sign.
Option D would need a second chiral centre.

The correct answer is **(B)**."""
BOLD_ANSWER_LINE = """Only the third compound has an aromatic ring that survives the reduction.

**Answer: (C) 3-methylphenol**"""
LAST_LINE_LETTER = """Comparing the four options, only one keeps the spin state.

**D**"""
NO_ANSWER = """Let me set up the equations. If the train leaves at 3 pm and travels at 60 km/h,
then after 2 hours it has covered 120 km, and the second train"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (R1_STYLE, r"\dfrac{14}{3}"),
        (LLAMA_STYLE, r"\frac{14}{3}"),
        (MINERVA_STYLE, r"\frac{14}{3}"),
        (FBOX_STYLE, "12"),
        (BOLD_FINAL, "x^2+1"),
        (HEADING_FINAL, "(3, -1)"),
        (RETHOUGHT, "6"),  # the last anchor wins, not the first kind of anchor
        (GSM8K_STYLE, "72"),
        (PROSE_STYLE, "42"),
        (ANSWER_LINE, "C"),
        (CORRECT_ANSWER_IS, "(B)"),
        (BOLD_ANSWER_LINE, "(C) 3-methylphenol"),
        (LAST_LINE_LETTER, None),  # a bare letter is an answer only for multiple choice
        (NO_ANSWER, None),
        ("Answer the question first.\nThen check.", None),  # "Answer" without a colon is prose
        ("Let me check it before the final answer\nWe have 3 + 4 = 7, fine.", None),
    ],
)
def test_extract_answer_in_real_model_outputs(text, expected):
    assert extract_answer(text) == expected


def test_last_resorts_only_where_the_convention_says_so():
    flexible = "She sells 16 - 3 - 4 = 9 eggs, at $2 each: 9 * 2 = 18 dollars a day."
    assert extract_answer(flexible) is None
    assert extract_answer(flexible, fallback="number") == "18"
    assert extract_answer("It costs 1,250 dollars in all", fallback="number") == "1,250"
    assert extract_answer("no digits here", fallback="number") is None
    assert extract_answer(LAST_LINE_LETTER, fallback="letter") == "D"
    assert extract_answer("...so it is\n(C)\n\n", fallback="letter") == "C"
    assert extract_answer(NO_ANSWER, fallback="letter") is None
    # an anchor or a box still wins over a last resort
    assert extract_answer(ANSWER_LINE + "\n12", fallback="number") == "C"
    with pytest.raises(ValueError, match="fallback"):
        extract_answer("42", fallback="last")


@pytest.mark.parametrize(
    ("answer", "letter"),
    [
        ("C", "C"),
        ("(C)", "C"),
        (r"\text{(C)}", "C"),
        (r"\textbf{(C)}", "C"),
        ("**C**", "C"),
        ("$C$", "C"),
        ("C.", "C"),
        ("(C) 3-methylphenol", "C"),
        ("C) 3-methylphenol", "C"),
        ("C: 2.07 eV", "C"),
        ("Option C", "C"),
        ("B is correct", "B"),
        ("c", None),
        ("2.07 eV", None),
        ("A + B", None),
        ("AB", None),
        ("", None),
    ],
)
def test_choice_letter(answer, letter):
    assert choice_letter(answer) == letter


def test_gold_letters_are_only_letters():
    assert [choice_letter(a, strict=True) for a in ("C", "(C)", r"\text{(B)}", "**D**")] == [
        "C",
        "C",
        "B",
        "D",
    ]
    assert choice_letter("(C) 3-methylphenol", strict=True) is None
    assert not is_choice_gold("x") and not is_choice_gold("42") and is_choice_gold("A")


@pytest.mark.parametrize(
    ("field", "gold"),
    [
        (r"\frac{14}{3}", r"\frac{14}{3}"),
        (r"$\frac{14}{3}$", r"\frac{14}{3}"),
        (r"\( (3, -1) \)", "(3, -1)"),
        (r"$$10\%$$", r"10\%"),
        (r"\$32,\!348", r"\$32,\!348"),  # an escaped dollar is not a delimiter
        (r"Add: $2 + \frac53 + 1 = \boxed{\frac{14}{3}}$.", r"\frac{14}{3}"),
    ],
)
def test_gold_from_latex(field, gold):
    assert gold_from_latex(field) == gold


def test_gold_from_latex_rejects_an_empty_answer():
    with pytest.raises(ValueError, match="empty"):
        gold_from_latex("$ $")


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [
        ("0.75", r"\frac{3}{4}"),
        (r"\frac34", r"\frac{3}{4}"),
        (r"\dfrac{3}{4}", r"\frac{3}{4}"),
        (r"2^{1/2}", r"\sqrt{2}"),
        (r"\sqrt{117}", r"3\sqrt{13}"),
        ("(3,-1)", "(3, -1)"),
        (r"\left( 3, \frac{\pi}{2} \right)", r"\left( 3, \frac{\pi}{2} \right)"),
        (r"(3, \pi/2)", r"\left( 3, \frac{\pi}{2} \right)"),
        ("1+x^2", "x^2+1"),
        (r"10\%", r"10\%"),
        ("[2,5)", "[2, 5)"),
        (r"x \in (-\infty, 3]", r"(-\infty,3]"),
        (r"(-\infty,-2] \cup [3,\infty)", r"(-\infty, -2] \cup [3, \infty)"),
        ("32348", r"\$32,\!348"),
        (r"\text{Evelyn}", r"\text{Evelyn}"),
        ("p - q", "p - q"),
    ],
)
def test_latex_equivalents_are_correct(sandbox, predicted, gold):
    assert sandbox.check([(predicted, gold)], timeout_s=5.0) == [Verdict.CORRECT]


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [
        ("(-1,3)", "(3, -1)"),
        ("[2,5]", "[2, 5)"),
        ("x^2+2", "x^2+1"),
        (r"\frac{4}{3}", r"\frac{3}{4}"),
        ("q - p", "p - q"),
    ],
)
def test_latex_differences_are_incorrect(sandbox, predicted, gold):
    assert sandbox.check([(predicted, gold)], timeout_s=5.0) == [Verdict.INCORRECT]


@pytest.mark.parametrize(
    ("predicted", "gold", "verdict"),
    [
        ("C", "C", Verdict.CORRECT),
        ("(C)", "C", Verdict.CORRECT),
        (r"\text{(C)}", "C", Verdict.CORRECT),
        ("(C) 3-methylphenol", "C", Verdict.CORRECT),
        ("B", r"\text{(B)}", Verdict.CORRECT),  # MATH's own multiple choice
        ("D", "C", Verdict.INCORRECT),
        (r"\text{(A)}", r"\text{(B)}", Verdict.INCORRECT),
        ("3-methylphenol", "C", Verdict.INCORRECT),  # the option's text, not its letter
        ("c", "C", Verdict.INCORRECT),
    ],
)
def test_letters_are_checked_by_letter(sandbox, predicted, gold, verdict):
    assert sandbox.check([(predicted, gold)], timeout_s=5.0) == [verdict]


def test_letters_never_reach_math_verify(monkeypatch):
    import math_verify

    def refuse(*args, **kwargs):
        raise AssertionError("Math-Verify was called on a letter")

    monkeypatch.setattr(math_verify, "parse", refuse)
    monkeypatch.setattr(math_verify, "verify", refuse)
    judge = checking._judge.__wrapped__
    assert judge("(C)", "C") is Verdict.CORRECT
    assert judge("A", "C") is Verdict.INCORRECT
    assert judge("12", "C") is Verdict.INCORRECT


def test_check_pairs_in_order_with_workers():
    pairs = [(str(i % 7), str(i % 5)) for i in range(150)] + [("B", "B")]
    one = check_pairs(pairs, workers=1)
    assert one == check_pairs(pairs, workers=2)
    assert one == [Verdict.CORRECT if p == g else Verdict.INCORRECT for p, g in pairs]
    with pytest.raises(ValueError, match="workers"):
        check_pairs(pairs, workers=0)
