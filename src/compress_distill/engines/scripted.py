"""The demo's scripted teacher: reasoning-model-style traces for the built-in arithmetic task.

It is a stand-in for a large reasoning model, not a model: it reads the problem's structure from the
request context and writes a trace the way reasoning models do (restating the problem, digit-level
column arithmetic with carries and borrows, "wait, let me double-check" re-verification, a final
\\boxed{} answer). It slips at a configurable rate; a slip it double-checks is caught and redone,
one it does not check survives into a wrong final answer, so verification has real mistakes
to filter.
Every trace is a pure function of (seed, problem id, sample index): batching never changes it.

For rehearsing the paper's scale (benchmarks/scale.py), `min_words` makes it write traces of
thousands of tokens: before its answer it keeps going back over its own work ("wait" loops that
re-read the question and redo steps in full), as reasoning models do; `latex_answer` writes the
answer as a LaTeX fraction equal to it, which Math-Verify must parse rather than compare as text.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compress_distill import __version__
from compress_distill.engines.base import Completion, Engine, Request, SamplingSettings
from compress_distill.tasks.arithmetic import apply

_PLACES = ("ones", "tens", "hundreds", "thousands", "ten-thousands", "hundred-thousands")
_SYMBOL = {"+": "+", "-": "-", "*": "×"}
_VERB = {"+": "add", "-": "subtract", "*": "multiply by"}


@dataclass(frozen=True)
class TraceStyle:
    """How talkative the teacher is; the two demo teachers differ only here."""

    restate: bool
    double_check: float  # probability of re-verifying each step (and so of catching a slip)
    hedge: float  # probability of a filler sentence before a step
    recap: bool  # a final recap of every step before the answer


STYLES = {
    "verbose": TraceStyle(restate=True, double_check=0.8, hedge=0.6, recap=True),
    "concise": TraceStyle(restate=False, double_check=0.25, hedge=0.1, recap=False),
}

# Openings of the "wait" loops of long traces (min_words).
_LOOPS = (
    "Wait, let me go back and redo step {i} from the start, just to be sure.",
    "Hmm, wait. Before I answer, let me re-check step {i} digit by digit.",
    "Actually, hold on. I want to verify step {i} once more.",
    "Let me double-check step {i} again; a slip there would change everything after it.",
)
_REREADS = (
    "Wait, let me reread the question to make sure I have every number right: {question}",
    "Hmm, let me look at the problem again. {question}",
)

_HEDGES = (
    "Hmm, let me think about this carefully.",
    "Okay, so next.",
    "Wait, I should be careful with the digits here.",
    "Alright, moving on.",
    "Let me take this one digit at a time.",
)


def _place(index: int) -> str:
    return _PLACES[index] if index < len(_PLACES) else f"digit {index + 1}"


def _digits(value: int) -> list[int]:
    return [int(ch) for ch in reversed(str(value))]


def _from_digits(digits: list[int]) -> int:
    return int("".join(str(d) for d in reversed(digits)) or "0")


def column_steps(a: int, op: str, b: int, slip_at: int | None, slip: int) -> tuple[list[str], int]:
    """Column arithmetic for a op b, one line per digit. At column `slip_at` the column's value is
    off by `slip`, and everything after follows from that wrong value, as a human slip would."""
    lines: list[str] = []
    out: list[int] = []
    if op == "*":
        carry = 0
        for i, digit in enumerate(_digits(a)):
            value = digit * b + carry + (slip if i == slip_at else 0)
            value = max(value, 0)
            extra = f" + {carry}" if carry else ""
            lines.append(
                f"{_place(i)}: {digit} × {b}{extra} = {value}, "
                f"write {value % 10}, carry {value // 10}."
            )
            out.append(value % 10)
            carry = value // 10
        if carry:
            lines.append(f"The final carry {carry} goes in front.")
            out.extend(_digits(carry))
        return lines, _from_digits(out)
    top, bottom = _digits(a), _digits(b)
    carry = 0
    for i in range(max(len(top), len(bottom))):
        x = top[i] if i < len(top) else 0
        y = bottom[i] if i < len(bottom) else 0
        delta = slip if i == slip_at else 0
        if op == "+":
            value = max(x + y + carry + delta, 0)
            extra = f" + {carry} carried" if carry else ""
            carry_note = f", carry {value // 10}" if value >= 10 else ""
            lines.append(
                f"{_place(i)}: {x} + {y}{extra} = {value}, write {value % 10}{carry_note}."
            )
            out.append(value % 10)
            carry = value // 10
        else:
            borrowed = f" - {carry} borrowed" if carry else ""
            value = x - y - carry
            if value < 0:
                value = (value + 10 + delta) % 10
                lines.append(f"{_place(i)}: {x}{borrowed} - {y} is negative, borrow: {value}.")
                carry = 1
            else:
                value = (value + delta) % 10
                lines.append(f"{_place(i)}: {x}{borrowed} - {y} = {value}.")
                carry = 0
            out.append(value)
    if op == "+" and carry:
        lines.append(f"The final carry {carry} goes in front.")
        out.extend(_digits(carry))
    return lines, _from_digits(out)


def _inverse_check(a: int, op: str, b: int, result: int) -> tuple[str, bool]:
    """Undo the step; a mismatch exposes a slip."""
    if op == "+":
        back = result - b
        return f"{result} - {b} = {back}", back == a
    if op == "-":
        back = result + b
        return f"{result} + {b} = {back}", back == a
    if result % b == 0:
        return f"{result} ÷ {b} = {result // b}", result // b == a
    return f"{result} ÷ {b} is not a whole number", False


class ScriptedTeacher:
    def __init__(
        self,
        style: TraceStyle,
        error_rate: float,
        min_words: int = 0,
        latex_answer: bool = False,
    ) -> None:
        self.style = style
        self.error_rate = error_rate
        self.min_words = min_words
        self.latex_answer = latex_answer

    def trace(self, problem: dict[str, Any], rng: random.Random) -> str:
        start, steps = int(problem["start"]), [(op, int(n)) for op, n in problem["steps"]]
        parts: list[str] = []
        if self.style.restate:
            plan = ", then ".join(f"{_VERB[op]} {n}" for op, n in steps)
            parts.append(
                f"Okay, let me restate the problem. We start with {start}, then {plan}. "
                "I need the final value after all the steps, applied in order."
            )
        else:
            parts.append(f"Start with {start} and apply the {len(steps)} steps in order.")
        value, history = start, []
        for index, (op, operand) in enumerate(steps, start=1):
            if rng.random() < self.style.hedge:
                parts.append(rng.choice(_HEDGES))
            result = self._step(parts, index, value, op, operand, rng)
            history.append(f"{value} {_SYMBOL[op]} {operand} = {result}")
            value = result
        if self.min_words:
            self._wait_loops(parts, problem, start, steps, rng)
        if self.style.recap:
            parts.append("Let me recap every step: " + "; ".join(history) + ".")
        answer = str(value)
        if self.latex_answer:  # drawn only here, so that other traces stay as they were
            k = rng.randint(2, 9)
            answer = f"\\frac{{{value * k}}}{{{k}}}"
            parts.append(
                f"So the final answer is {value}, that is ${answer}$.\n\n\\boxed{{{answer}}}"
            )
        else:
            parts.append(f"So the final answer is {value}.\n\n\\boxed{{{answer}}}")
        return "\n\n".join(parts)

    def _wait_loops(
        self,
        parts: list[str],
        problem: dict[str, Any],
        start: int,
        steps: list[tuple[str, int]],
        rng: random.Random,
    ) -> None:
        """Go back over the work until the trace has `min_words` words: re-read the question or
        redo a whole step (correctly, so the answer stands), as a long reasoning trace does."""
        words = sum(len(part.split()) for part in parts)
        while words < self.min_words:
            if rng.random() < 0.2:
                text = rng.choice(_REREADS).format(question=problem.get("question", ""))
            else:
                index = rng.randrange(len(steps))
                value = start
                for op, operand in steps[:index]:
                    value = apply(value, op, operand)
                op, operand = steps[index]
                lines, result = column_steps(value, op, operand, None, 0)
                check, _ = _inverse_check(value, op, operand, result)
                text = "\n".join(
                    [
                        rng.choice(_LOOPS).format(i=index + 1),
                        f"Step {index + 1} was {value} {_SYMBOL[op]} {operand}.",
                        *lines,
                        f"So {value} {_SYMBOL[op]} {operand} = {result} again; and {check}. "
                        "Good, that is consistent.",
                    ]
                )
            parts.append(text)
            words += len(text.split())

    def _step(
        self, parts: list[str], index: int, a: int, op: str, b: int, rng: random.Random
    ) -> int:
        slipped = rng.random() < self.error_rate
        slip_at = rng.randrange(len(str(a))) if slipped else None
        lines, result = column_steps(a, op, b, slip_at, rng.choice((-1, 1)))
        header = f"Step {index}: {a} {_SYMBOL[op]} {b}."
        parts.append("\n".join([header, *lines, f"So {a} {_SYMBOL[op]} {b} = {result}."]))
        if rng.random() < self.style.double_check:
            check, ok = _inverse_check(a, op, b, result)
            if ok:
                parts.append(f"Wait, let me double-check: {check}. Yes, that matches.")
            else:
                lines, result = column_steps(a, op, b, None, 0)
                parts.append(
                    f"Wait, let me double-check: {check}, which does not give back {a}. "
                    "I made a slip. Let me redo this step carefully.\n"
                    + "\n".join([*lines, f"So {a} {_SYMBOL[op]} {b} = {result}."])
                )
        return result


class ScriptedEngine(Engine):
    """The Engine face of ScriptedTeacher. `latency_s` emulates a real model's time per request."""

    name = "scripted"

    def __init__(
        self,
        model: str = "scripted",
        style: str = "verbose",
        error_rate: float = 0.05,
        seed: int = 0,
        latency_s: float = 0.0,
        reasoning_parser: str = "none",
        min_words: int = 0,
        latex_answer: bool = False,
    ) -> None:
        # It writes plain text (reasoning=None, reasoning_parser "none"): nothing to split.
        if reasoning_parser not in ("auto", "none"):
            raise ValueError(
                "the scripted teacher writes plain text: engine_args.reasoning_parser must be "
                f"auto or none, got {reasoning_parser!r}"
            )
        if style not in STYLES:
            raise ValueError(f"unknown scripted style {style!r}; known: {sorted(STYLES)}")
        if not 0 <= error_rate <= 1:
            raise ValueError("error_rate must be between 0 and 1")
        if min_words < 0:
            raise ValueError(f"engine_args.min_words must be 0 or more, got {min_words}")
        self.model = model
        self.seed = seed
        self.latency_s = latency_s
        self.teacher = ScriptedTeacher(STYLES[style], error_rate, min_words, latex_answer)

    def generate(self, requests: Sequence[Request], sampling: SamplingSettings) -> list[Completion]:
        completions = []
        for request in requests:
            problem = request.context
            if "start" not in problem or "steps" not in problem:
                raise ValueError(
                    f"the scripted teacher only solves the built-in arithmetic task; problem "
                    f"{problem.get('id', '?')!r} has no 'start'/'steps' structure"
                )
            rng = random.Random(
                f"{self.seed}:{sampling.seed}:{problem['id']}:{request.sample_index}"
            )
            text = self.teacher.trace(problem, rng)
            words = text.split()
            finish = "stop"
            if len(words) > sampling.max_tokens:  # words stand in for tokens: it has no tokenizer
                text, finish = " ".join(words[: sampling.max_tokens]), "length"
            completions.append(Completion(text, min(len(words), sampling.max_tokens), finish))
            if self.latency_s:
                time.sleep(self.latency_s)
        return completions

    def info(self) -> dict[str, str]:
        return {"engine": self.name, "model": self.model, "engine_version": __version__}
