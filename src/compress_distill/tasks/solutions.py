"""Worked arithmetic solutions in many layouts: the pretraining text of the demo's student base.

A pretrained LLM has read arithmetic written in countless ways. The demo's base stands in for one,
so each problem's solution is drawn from a family of layouts: terse or spelled out, with or without
a restatement of the problem, digit-by-digit place work, checks by the inverse operation and a
closing line. Long layouts add remarks between steps, every check and a summary of all the steps,
hundreds of tokens from the question, as a reasoning model's traces are. The phrasing is its own,
not the demo teachers': distillation still has to teach their way of writing. What the variety buys
is a base that reads numbers off a question after any cue and at any distance; a base that knows a
single short layout loses that skill as soon as it is fine-tuned on a long, differently worded one.
"""

from __future__ import annotations

import random
from typing import Any

from compress_distill.tasks.arithmetic import apply

_OPENINGS = (
    "We begin with {start}.",
    "Starting value: {start}.",
    "The first number is {start}.",
    "Begin at {start}.",
    "Initial amount: {start}.",
)
_PLAN = {
    "+": ("add {n}", "plus {n}", "increase by {n}"),
    "-": ("take away {n}", "minus {n}", "decrease by {n}"),
    "*": ("times {n}", "multiply by {n}"),
}
_STEPS = (
    "{a} {op} {b} = {r}",
    "Step {i}: {a} {op} {b} = {r}.",
    "{i}) {a} {op} {b} -> {r}",
    "Now {a} {op} {b}, which is {r}.",
    "{a} {op} {b} makes {r}.",
)
_CHECKS = ("Check: {check}, good.", "Verify: {check}, correct.")
_CLOSINGS = ("The answer is {v}.", "Final result: {v}.", "So we get {v}.", "That leaves {v}.")
# Long layouts: remarks between steps and a summary at the end put hundreds of tokens between the
# question and the last step, as a reasoning model's own traces do.
_ASIDES = (
    "Next operation.",
    "Keep the running total in mind.",
    "Look back at the question for the next number.",
    "Nothing tricky so far, but go slowly.",
    "One operation at a time.",
    "That part is done; what comes after it?",
)
_SUMMARIES = ("In short: {steps}.", "All the work: {steps}.", "Summary of the steps: {steps}.")
_PLACES = ("units", "tens", "hundreds", "thousands")


def _place(index: int) -> str:
    return _PLACES[index] if index < len(_PLACES) else f"place {index + 1}"


def place_work(a: int, op: str, b: int) -> list[str]:
    """Digit-by-digit working of a op b, lowest place first ("units: 8 + 9 = 17, keep 7, ...")."""
    if op == "*":
        return _multiply_places(a, b)
    top, bottom = str(a)[::-1], str(b)[::-1]
    lines, carry = [], 0
    for index in range(max(len(top), len(bottom))):
        x = int(top[index]) if index < len(top) else 0
        y = int(bottom[index]) if index < len(bottom) else 0
        place = _place(index)
        carried = f" {op} {carry}" if carry else ""
        if op == "+":
            value = x + y + carry
            carry = value // 10
            kept = f", keep {value % 10}, carry {carry}" if carry else ""
            lines.append(f"{place}: {x} + {y}{carried} = {value}{kept}")
        elif x - y - carry < 0:
            value = x + 10 - y - carry
            lines.append(
                f"{place}: {x}{carried} - {y} needs a borrow, {x + 10}{carried} - {y} = {value}"
            )
            carry = 1
        else:
            lines.append(f"{place}: {x}{carried} - {y} = {x - y - carry}")
            carry = 0
    if op == "+" and carry:
        lines.append(f"the carry {carry} goes in front")
    return lines


def _multiply_places(a: int, b: int) -> list[str]:
    lines, carry = [], 0
    for index, digit in enumerate(int(d) for d in str(a)[::-1]):
        value = digit * b + carry
        place = _place(index)
        carried = f" + {carry}" if carry else ""
        carry = value // 10
        lines.append(f"{place}: {digit} * {b}{carried} = {value}, keep {value % 10}, carry {carry}")
    if carry:
        lines.append(f"the carry {carry} goes in front")
    return lines


def _inverse(a: int, op: str, b: int, result: int) -> str:
    if op == "+":
        return f"{result} - {b} = {a}"
    if op == "-":
        return f"{result} + {b} = {a}"
    return f"{result} / {b} = {a}"


def varied_solution(problem: dict[str, Any], rng: random.Random, long_form: float = 0.0) -> str:
    """A correct worked solution of `problem`, its layout drawn from `rng`, ending in \\boxed{}.

    `long_form`: the chance of a long layout (remarks between steps, every check, a summary).
    """
    start, steps = int(problem["start"]), [(op, int(n)) for op, n in problem["steps"]]
    step_template = rng.choice(_STEPS)
    show_places, check_rate = rng.random() < 0.35, rng.choice((0.0, 0.0, 0.5, 1.0))
    # No draw at 0, so that short-only text stays the same for a given seed.
    long_form = long_form > 0 and rng.random() < long_form
    if long_form:
        show_places, check_rate = True, 1.0
    parts = []
    if long_form and rng.random() < 0.5:
        parts.append(f"The question: {problem['question']}")
    if rng.random() < 0.3:
        plan = ", then ".join(rng.choice(_PLAN[op]).format(n=n) for op, n in steps)
        parts.append(f"The problem: start from {start}, then {plan}.")
    if rng.random() < 0.5:
        parts.append(rng.choice(_OPENINGS).format(start=start))
    value, done = start, []
    for index, (op, operand) in enumerate(steps, start=1):
        if long_form:
            parts += [rng.choice(_ASIDES) for _ in range(rng.randint(1, 3))]
        result = apply(value, op, operand)
        done.append(f"{value} {op} {operand} = {result}")
        lines = [step_template.format(i=index, a=value, op=op, b=operand, r=result)]
        if show_places:
            lines += place_work(value, op, operand)
        if rng.random() < check_rate:
            lines.append(rng.choice(_CHECKS).format(check=_inverse(value, op, operand, result)))
        parts.append("\n".join(lines))
        value = result
    if long_form and rng.random() < 0.7:
        parts.append(rng.choice(_SUMMARIES).format(steps="; ".join(done)))
    if rng.random() < 0.6:
        parts.append(rng.choice(_CLOSINGS).format(v=value))
    parts.append(f"\\boxed{{{value}}}")
    return rng.choice(("\n", "\n\n")).join(parts)
