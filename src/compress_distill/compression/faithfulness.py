"""Faithfulness of a compressed trace to its raw trace, measured without a model.

A compression can end in the teacher's answer and still be wrong on the way there: steps dropped,
or steps rewritten with wrong arithmetic (`2*1/2 = 1.5`). Two shares, each None where there is
nothing to measure:

- `results_kept`: the share of the raw trace's intermediate results that the compression still
  writes. A result is the number on one side of `=` (or `≈`) whose other side, before it, is a
  computation: `48/2 = 24 clips` yields 24, `100 - 50 - 30 - 15 = $5` yields 5, the chain
  `(2+3)*4 = 5*4 = 20` yields 20. The intermediate results are the distinct ones other than the
  final answer (answer preservation checks that one). A result is kept where the compression
  writes the same number other than as an operand of a computation: as a result, or in prose
  (`\\frac{1}{2}` is 0.5). So `2*1/2 = 1.5` does not keep the result 1, nor does `2 + 1 = 3`
  without the step that made the 1. 24 and 24.0 are the same number, 3.33 and 3.333 are not,
  signs are ignored. None where the raw trace has no intermediate result.
- `equations_correct`: the share of the compression's own equations that are arithmetically
  correct. An equation is two neighbouring sides of `=` or `≈` on one line, both arithmetic
  (numbers, + - * / x × ÷ \\times \\cdot \\div, parentheses, \\frac) and at least one with an
  operator; a side running on into words or symbols (`3 apples + 2`, `2x + 3`, `5^2`) is not
  arithmetic, so that equation is not checked. Sides are evaluated exactly in fractions from a
  whitelist of Python syntax nodes (never eval). A result may be rounded: an equation is correct
  within half a unit in the last decimal place written on its result side (10/3 = 3.33; whole
  numbers are exact), and under `≈` within 1% of the result or 0.5, whichever is more (1000/3 ≈
  333). None where no equation can be evaluated.

Text is read after removing dollar signs (GSM8K's currency, LaTeX's math delimiters) and commas
that group thousands (1,000).
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction
from typing import NamedTuple

MEASURES = ("results_kept", "equations_correct")

_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_REPLACEMENTS = (
    (re.compile(r"\\?\$"), ""),
    (re.compile(r"\\(?:times|cdot)|[×·∙]"), "*"),
    (re.compile(r"\\div|÷"), "/"),
    (re.compile("\u2212"), "-"),  # the Unicode minus sign
    (re.compile(r"\\(?:approx|simeq)|≃"), "≈"),
    (re.compile(r"\\(?:left|right)\b|\\[()\[\]]"), " "),
    (re.compile(r"\\[,;:! ]"), " "),
    # "0.2 x 50": a letter x between numbers multiplies them
    (re.compile(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])"), " * "),
    (re.compile(r"(?<=\d),(?=\d{3}(?!\d))"), ""),
    (re.compile(r"[ \t]+"), " "),
)
_NUMBER = r"(?:\d+(?:\.\d+)?|\.\d+)"
_NUMBER_RE = re.compile(_NUMBER)
_OPERAND = rf"(?:\(\s?)*-?{_NUMBER}(?:\s?\))*"
_EXPRESSION = rf"{_OPERAND}(?:\s?[-+*/]\s?{_OPERAND})*"
_EXPRESSION_RE = re.compile(_EXPRESSION)
_COMPUTATION_RE = re.compile(r"\d\s*\)*\s*[-+*/]")  # an operator after a number: not a sign
_LEADING_RE = re.compile(rf"\s?({_EXPRESSION})")
_TRAILING_RE = re.compile(rf"({_EXPRESSION})\s?$")
# `=` and `≈`, not `==`, `<=`, `>=`, `!=` or `=>`.
_RELATION_RE = re.compile(r"(?<![<>!=])(=|≈)(?![=>])")
# What a side runs on into when it is more than arithmetic (`3 apples + 2`, `2 + x`, `5^2`).
_RUNS_ON = tuple("+-*/^(")
_MAX_SIDE = 200
_MAX_SEGMENT = 400


class Side(NamedTuple):
    value: Fraction
    computed: bool  # holds an operator (a computation), not a number alone
    decimals: int  # the most decimal places of a number written on it


class Equation(NamedTuple):
    left: Side
    relation: str  # "=" or "≈"
    right: Side


def normalize(text: str) -> str:
    """`text` with LaTeX fractions and operators as plain arithmetic (see the module doc)."""
    while (frac := _FRAC_RE.sub(r"((\1)/(\2))", text)) != text:
        text = frac
    for pattern, replacement in _REPLACEMENTS:
        text = pattern.sub(replacement, text)
    return text


def evaluate(expression: str) -> Fraction | None:
    """The exact value of simple arithmetic (numbers, + - * /, unary minus, parentheses), or None
    where `expression` is anything else or divides by zero."""
    expression = _balance(expression.strip())
    if not expression or len(expression) > _MAX_SIDE:
        return None
    try:
        return _value(ast.parse(expression, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError):
        return None


def _balance(expression: str) -> str:
    """Unmatched outer parentheses removed: a side cut from `(so 3 + 4 = 7)` is `7)`."""
    while expression.count("(") > expression.count(")") and expression.startswith("("):
        expression = expression[1:].lstrip()
    while expression.count(")") > expression.count("(") and expression.endswith(")"):
        expression = expression[:-1].rstrip()
    return expression


_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def _value(node: ast.expr) -> Fraction:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        # repr is the shortest text of the float, so 0.1 is 1/10 exactly
        return Fraction(repr(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _value(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_value(node.left), _value(node.right))
    raise ValueError(f"not simple arithmetic: {ast.dump(node)}")


def _side(expression: str | None) -> Side | None:
    if expression is None or (value := evaluate(expression)) is None:
        return None
    numbers = _NUMBER_RE.findall(expression)
    decimals = max((len(n.partition(".")[2]) for n in numbers), default=0)
    return Side(value, bool(_COMPUTATION_RE.search(expression)), decimals)


def _leading(segment: str) -> str | None:
    """The arithmetic that opens `segment` (the right side of a relation), if it ends there."""
    match = _LEADING_RE.match(segment[:_MAX_SEGMENT])
    if match is None:
        return None
    rest = segment[match.end() :]
    if re.match(r"\w", rest) or rest.lstrip().startswith(_RUNS_ON):
        return None
    return match.group(1)


def _trailing(segment: str) -> str | None:
    """The arithmetic that closes `segment` (the left side of a relation), if it starts there."""
    segment = segment[-_MAX_SEGMENT:]
    match = _TRAILING_RE.search(segment)
    if match is None:
        return None
    before = segment[: match.start(1)]
    if re.search(r"[\w.]$", before):
        return None
    last = before.rstrip()[-1:]
    # A leading minus after a word or a number is an operator (`apples - 2`), not a sign.
    signed = match.group(1).lstrip("( ").startswith("-")
    if last and (last.endswith(_RUNS_ON) or (signed and last.isalnum())):
        return None
    return match.group(1)


def equations(text: str) -> list[Equation]:
    """The equations of `text` whose two sides are both arithmetic, at least one a computation."""
    found = []
    for line in normalize(text).splitlines():
        parts = _RELATION_RE.split(line)
        for index in range(1, len(parts) - 1, 2):
            left = _side(_trailing(parts[index - 1]))
            right = _side(_leading(parts[index + 1]))
            if left is not None and right is not None and (left.computed or right.computed):
                found.append(Equation(left, parts[index], right))
    return found


def is_correct(equation: Equation) -> bool:
    """Whether an equation holds, up to the rounding its written result allows (module doc)."""
    left, relation, right = equation
    # The result side is the number alone; where both are computations, the right one.
    computed, written = (right, left) if right.computed and not left.computed else (left, right)
    tolerance = Fraction(1, 2 * 10**written.decimals) if written.decimals else Fraction(0)
    if relation == "≈":
        tolerance = max(tolerance, Fraction(1, 2), abs(written.value) / 100)
    return abs(computed.value - written.value) <= tolerance


def intermediate_results(text: str, answer: str | None = None) -> set[Fraction]:
    """The distinct results of the computations in `text`, unsigned, less the final `answer`."""
    results = {
        abs(eq.right.value) for eq in equations(text) if eq.left.computed and not eq.right.computed
    }
    final = evaluate(normalize(answer)) if answer else None
    return results - {abs(final)} if final is not None else results


def numbers(text: str) -> set[Fraction]:
    """The numbers `text` writes other than as operands of a computation, unsigned; a LaTeX
    fraction is also its value."""
    prose = _EXPRESSION_RE.sub(
        lambda match: " " if _COMPUTATION_RE.search(match.group()) else match.group(),
        normalize(text),
    )
    found = {Fraction(n) for n in _NUMBER_RE.findall(prose)}
    for numerator, denominator in _FRAC_RE.findall(text):
        value = evaluate(normalize(f"({numerator})/({denominator})"))
        if value is not None:
            found.add(abs(value))
    return found


def results_kept(raw: str, compressed: str, answer: str | None = None) -> float | None:
    """The share of `raw`'s intermediate results that `compressed` writes (module doc)."""
    results = intermediate_results(raw, answer)
    if not results:
        return None
    return len(results & numbers(compressed)) / len(results)


def equations_correct(text: str) -> float | None:
    """The share of `text`'s evaluable equations that hold (module doc)."""
    found = equations(text)
    if not found:
        return None
    return sum(map(is_correct, found)) / len(found)


def faithfulness(raw: str, compressed: str, answer: str | None = None) -> dict[str, float | None]:
    """Both measures of one compression of `raw`, by name (MEASURES)."""
    return {
        "results_kept": results_kept(raw, compressed, answer),
        "equations_correct": equations_correct(compressed),
    }


def check_minimums(minimums: dict[str, float] | None) -> dict[str, float]:
    minimums = dict(minimums or {})
    unknown = sorted(set(minimums) - set(MEASURES))
    if unknown:
        raise ValueError(f"unknown faithfulness measure(s) {unknown}; known: {', '.join(MEASURES)}")
    return minimums


def below_minimum(scores: dict[str, float | None], minimums: dict[str, float]) -> list[str]:
    """The measures under their minimum; a measure with nothing to measure (None) passes."""
    return [
        name
        for name, minimum in minimums.items()
        if scores.get(name) is not None and scores[name] < minimum
    ]
