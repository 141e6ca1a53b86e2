import random
import re

import pytest

from compress_distill.tasks.arithmetic import ArithmeticSpec, apply, make_problems
from compress_distill.tasks.solutions import place_work, varied_solution


@pytest.mark.parametrize(
    ("a", "op", "b", "expected"),
    [
        (8, "+", 9, ["units: 8 + 9 = 17, keep 7, carry 1", "the carry 1 goes in front"]),
        (17, "+", 6, ["units: 7 + 6 = 13, keep 3, carry 1", "tens: 1 + 0 + 1 = 2"]),
        (23, "-", 5, ["units: 3 - 5 needs a borrow, 13 - 5 = 8", "tens: 2 - 1 - 0 = 1"]),
        (9, "-", 4, ["units: 9 - 4 = 5"]),
        (
            27,
            "*",
            4,
            [
                "units: 7 * 4 = 28, keep 8, carry 2",
                "tens: 2 * 4 + 2 = 10, keep 0, carry 1",
                "the carry 1 goes in front",
            ],
        ),
    ],
)
def test_place_work_writes_each_digit_with_its_carry_or_borrow(a, op, b, expected):
    assert place_work(a, op, b) == expected


def test_every_layout_ends_in_the_right_answer_and_shows_each_step():
    spec = ArithmeticSpec(digits=2, operators=("+", "-", "*"))
    rng = random.Random(0)
    solutions = []
    for problem in make_problems(spec, "train", 200, seed=1):
        solution = varied_solution(problem, rng)
        assert solution.endswith(f"\\boxed{{{problem['answer']}}}")
        value = problem["start"]
        for op, operand in problem["steps"]:
            assert re.search(rf"\b{value} [{re.escape(op)}] {operand}\b", solution)
            value = apply(value, op, operand)
        solutions.append(solution)
    lengths = [len(s) for s in solutions]
    assert max(lengths) > 3 * min(lengths), "terse and spelled-out layouts both occur"
    assert any("units:" in s for s in solutions) and any("Check" in s for s in solutions)


def test_a_long_layouts_summary_lists_every_step_in_order():
    problems = make_problems(ArithmeticSpec(min_operations=3, max_operations=3), "train", 100, 2)
    summaries = 0
    for problem in problems:
        solution = varied_solution(problem, random.Random(problem["id"]), long_form=0.5)
        summary = re.search(r"(?:In short|All the work|Summary of the steps): (.*)\.", solution)
        if summary is None:
            continue
        summaries += 1
        value, expected = problem["start"], []
        for op, operand in problem["steps"]:
            result = apply(value, op, operand)
            expected.append(f"{value} {op} {operand} = {result}")
            value = result
        assert summary.group(1) == "; ".join(expected)
    assert 0 < summaries < len(problems), "some layouts summarize, others do not"


def test_short_layouts_only_unless_asked_for_long_ones():
    problems = make_problems(ArithmeticSpec(min_operations=3, max_operations=3), "train", 50, 3)
    short = [varied_solution(p, random.Random(p["id"])) for p in problems]
    long = [varied_solution(p, random.Random(p["id"]), long_form=1.0) for p in problems]
    assert not any("Summary of the steps" in s or "In short" in s for s in short)
    assert all(len(b) > len(a) for a, b in zip(short, long, strict=True))


def test_the_layout_is_a_function_of_the_random_state():
    problem = make_problems(ArithmeticSpec(), "train", 1, seed=0)[0]
    assert varied_solution(problem, random.Random(4)) == varied_solution(problem, random.Random(4))
