"""The demo's synthetic task: multi-step integer arithmetic, deterministic by seed.

A problem starts from a number and applies a chain of operations left to right. Splits are disjoint
by construction: a problem's split is a function of its own content (a hash bucket), so train and
test never share a problem, whatever their sizes or seeds.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

OPERATORS = ("+", "-", "*")
FORMS = ("word", "bare", "mixed")
SPLITS = ("train", "test")

_NAMES = ("Ava", "Ben", "Chloe", "Dev", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jun")
_ITEMS = ("apples", "marbles", "stickers", "coins", "cards", "shells", "pencils", "stamps")
_WORD_STEP = {
    "+": ("gets {n} more", "finds {n} more", "buys {n} more"),
    "-": ("gives away {n}", "sells {n}", "loses {n}"),
    "*": ("ends up with {n} times as many", "multiplies the collection by {n}"),
}


@dataclass(frozen=True)
class ArithmeticSpec:
    """Difficulty knobs: number of operations, operand digits, operators, surface form."""

    min_operations: int = 2
    max_operations: int = 3
    digits: int = 2
    operators: tuple[str, ...] = OPERATORS
    form: str = "mixed"
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        if not 1 <= self.min_operations <= self.max_operations:
            raise ValueError("need 1 <= min_operations <= max_operations")
        if not 1 <= self.digits <= 6:
            raise ValueError("digits must be between 1 and 6")
        if not self.operators or set(self.operators) - set(OPERATORS):
            raise ValueError(f"operators must be a non-empty subset of {OPERATORS}")
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}")
        if not 0 < self.test_fraction < 1:
            raise ValueError("test_fraction must be in (0, 1)")


def apply(value: int, op: str, operand: int) -> int:
    if op == "+":
        return value + operand
    if op == "-":
        return value - operand
    return value * operand


def _expression(start: int, steps: list[tuple[str, int]]) -> str:
    text = str(start)
    for op, operand in steps:
        text = f"({text} {op} {operand})"
    return text[1:-1] if steps else text


def _split_of(expression: str, test_fraction: float) -> str:
    bucket = int(hashlib.sha256(expression.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if bucket < test_fraction else "train"


def _sample_chain(rng: random.Random, spec: ArithmeticSpec) -> tuple[int, list[tuple[str, int]]]:
    low, high = 10 ** (spec.digits - 1), 10**spec.digits - 1
    start = rng.randint(low, high)
    value, steps = start, []
    for _ in range(rng.randint(spec.min_operations, spec.max_operations)):
        op = rng.choice(spec.operators)
        if op == "-" and value < low:
            op = "+" if "+" in spec.operators else "*"
        if op == "*":
            operand = rng.randint(2, 9)  # one-digit multipliers keep the digit-level steps short
        elif op == "-":
            operand = rng.randint(low, min(high, value))
        else:
            operand = rng.randint(low, high)
        steps.append((op, operand))
        value = apply(value, op, operand)
    return start, steps


def _word_question(rng: random.Random, start: int, steps: list[tuple[str, int]]) -> str:
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    sentences = [f"{name} has {start} {item}."]
    for index, (op, operand) in enumerate(steps):
        subject = name if index == 0 else f"Then {name}"
        sentences.append(f"{subject} {rng.choice(_WORD_STEP[op]).format(n=operand)}.")
    sentences.append(f"How many {item} does {name} have now?")
    return " ".join(sentences)


def make_problems(spec: ArithmeticSpec, split: str, size: int, seed: int) -> list[dict[str, Any]]:
    """`size` distinct problems of one split. Same arguments, same problems, in the same order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rng = random.Random(f"arithmetic:{seed}:{split}")
    seen: set[str] = set()
    problems: list[dict[str, Any]] = []
    attempts = 0
    while len(problems) < size:
        attempts += 1
        if attempts > 200 * size + 10_000:
            raise ValueError(f"cannot draw {size} distinct {split} problems from {spec}")
        start, steps = _sample_chain(rng, spec)
        expression = _expression(start, steps)
        if expression in seen or _split_of(expression, spec.test_fraction) != split:
            continue
        seen.add(expression)
        form = spec.form if spec.form != "mixed" else rng.choice(("word", "bare"))
        question = _word_question(rng, start, steps) if form == "word" else f"Compute {expression}."
        value = start
        for op, operand in steps:
            value = apply(value, op, operand)
        problems.append(
            {
                "id": f"arith-{split}-{len(problems):05d}",
                "question": question,
                "answer": str(value),
                "source": "synthetic-arithmetic",
                "start": start,
                "steps": [[op, operand] for op, operand in steps],
            }
        )
    return problems
