"""Final answers: extracted from completions in the conventions real models write, and gold
answers read from the formats data sets store them in (GSM8K's `####`, LaTeX, option letters).

Checking a predicted answer against the gold is `checking.py`'s (Math-Verify in a sandbox).
"""

from __future__ import annotations

import re
from typing import Literal

# --- extraction ---------------------------------------------------------------------------------

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Anchors of the fallback phrases; the answer follows the anchor, on its line or (a heading such as
# "**Final Answer**" or "Answer:" alone on its line) on the next line that is not a bare `$$`/`\[`.
_PHRASE_RES = (
    # "The answer is 42.", "The final answer is $18$.", "The correct answer is (C)."
    re.compile(r"the\s+(?:final\s+|correct\s+|best\s+|right\s+)?answer\s+is\s*:?", re.IGNORECASE),
    re.compile(r"^[ \t]*####", re.MULTILINE),  # GSM8K's worked solutions
    # "Final Answer: 42", "**Final Answer:** $\frac13$"; a "### Final Answer" heading alone on its
    # line (then the next line), but not "... before the final answer" ending a line of prose
    re.compile(
        r"final\s+answer[*_ \t]*:|^[ \t>#*_]*final\s+answer[*_ \t]*$", re.IGNORECASE | re.MULTILINE
    ),
    # "Answer: C", "**Answer:** 42", "## Answer" at the start of a line (mid-sentence is prose)
    re.compile(r"^[ \t>#*_]*answer[*_ \t]*(?::|$)", re.IGNORECASE | re.MULTILINE),
)
# A sentence ends at a full stop and whitespace ("18. I hope it is correct"); "3.5" does not.
_SENTENCE_END_RE = re.compile(r"\.\s")
# Lines that only open or close display math around an answer on the next line.
_MATH_FENCE_RE = re.compile(r"^\s*(?:\$\$|\\\[|\\\]|\\\(|\\\))?\s*$")
_LAST_NUMBER_RE = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")
FALLBACKS = ("number", "letter")


def clean_answer(value: str) -> str:
    """Drop markdown bold, math-mode dollars and trailing punctuation around an answer."""
    value = value.strip().lstrip("*$ \t").rstrip("*$ \t.,;:")
    if value.endswith("\\"):  # we cut the dollar off an escaped `\$`
        value += "$"
    return value


def _balanced_end(text: str, start: int, limit: int) -> int | None:
    """Index of the brace closing the group opened just before `start`, if it is before `limit`."""
    depth = 1
    i = start
    while i < limit:
        char = text[i]
        if char == "\\":  # skip the escaped character: `\{` and `\}` are literal braces
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _last_boxed(text: str) -> str | None:
    limit = len(text)
    for match in reversed(list(_BOX_RE.finditer(text))):
        end = _balanced_end(text, match.end(), limit)
        if end is None:
            # An unclosed box (a truncated completion) is no answer. A box before it that is still
            # open where it starts never closes, so scans stop there: linear in degenerate loops.
            limit = match.start()
        elif content := text[match.end() : end].strip():  # an empty box is no answer either
            return content
    return None


def _phrase_value(text: str, end: int) -> str | None:
    """The answer after an anchor ending at `end`: the rest of its line, else the next line with
    text (past display-math fences), up to the end of its first sentence."""
    lines = text[end:].split("\n", 4)
    line = lines[0]
    if not clean_answer(line):
        line = next((rest for rest in lines[1:4] if not _MATH_FENCE_RE.match(rest)), "")
    value = clean_answer(_SENTENCE_END_RE.split(line.strip(), maxsplit=1)[0])
    # A box here is an unclosed one (`_last_boxed` found no complete box): no answer.
    return value if value and not _BOX_RE.search(value) else None


def _last_phrase(text: str) -> str | None:
    """The answer after the last anchor (of any kind) that is followed by one."""
    anchors = sorted(
        (match.start(), match.end()) for pattern in _PHRASE_RES for match in pattern.finditer(text)
    )
    for _, end in reversed(anchors):
        if (value := _phrase_value(text, end)) is not None:
            return value
    return None


def _last_line_letter(text: str) -> str | None:
    """An option letter standing alone on the last line with text: `**C**`, `(C)`."""
    for line in reversed(text.splitlines()):
        if line.strip():
            return choice_letter(line.strip(" \t#>"), strict=True)
    return None


def extract_answer(text: str, fallback: Literal["number", "letter"] | None = None) -> str | None:
    """The final answer of a completion, or None when it states none.

    The last `\\boxed{}`/`\\fbox{}` wins; without one, the answer after the last anchor phrase:
    "the (final/correct) answer is X", a GSM8K `#### X` line, "Final Answer: X", an "Answer: X"
    line. Last resorts, only for the conventions that use them: `fallback="number"` takes the
    last number of the text (GSM8K's "flexible" extraction), `fallback="letter"` an option letter
    alone on the last line (`**C**`, multiple choice).
    """
    if fallback not in (None, *FALLBACKS):
        raise ValueError(f"fallback must be one of {FALLBACKS} or None, got {fallback!r}")
    if (boxed := _last_boxed(text)) is not None:
        return boxed
    if (value := _last_phrase(text)) is not None:
        return value
    if fallback == "number":
        numbers = _LAST_NUMBER_RE.findall(text)
        return numbers[-1] if numbers else None
    if fallback == "letter":
        return _last_line_letter(text)
    return None


# --- gold answers -------------------------------------------------------------------------------

# `\text{(C)}`, `\textbf{C}`: the letter inside; bold markers and math dollars around it.
_TEXT_WRAPPER_RE = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_LETTER_ONLY_RE = re.compile(r"\(([A-Z])\)|([A-Z])")
# A letter that starts an answer: "(C) 4.2 eV", "C) 4.2 eV", "C. 4.2 eV", "C: ...", "C is right",
# optionally after "Option"/"Choice". Not "A + B", which is algebra.
_LETTER_LEAD_RE = re.compile(
    r"(?:(?i:option|choice)\s*)?(?:\(([A-Z])\)|([A-Z])(?:[).:,]|\s+(?=[a-z])|$))"
)


def choice_letter(answer: str, strict: bool = False) -> str | None:
    """The option letter an answer names (`C`, `(C)`, `\\text{(C)}`, `**C**`), or None.

    `strict`: the answer is the letter and nothing else (how a gold letter is recognised);
    otherwise a letter may lead an option's text, as in "(C) 4.2 eV" or "Option C".
    """
    value = answer
    while (unwrapped := _TEXT_WRAPPER_RE.sub(r"\1", value)) != value:
        value = unwrapped
    value = value.replace("*", "").replace("{", "").replace("}", "").strip("$ \t\n").rstrip(".")
    if match := _LETTER_ONLY_RE.fullmatch(value):
        return match.group(1) or match.group(2)
    if strict:
        return None
    if match := _LETTER_LEAD_RE.match(value):
        return match.group(1) or match.group(2)
    return None


def is_choice_gold(gold: object) -> bool:
    """Whether a gold answer is an option letter, checked by letter (never by Math-Verify)."""
    return choice_letter(str(gold), strict=True) is not None


def gold_from_gsm8k(answer_field: str) -> str:
    """The gold answer of a GSM8K worked solution: the number after the last `####`."""
    _, sep, tail = answer_field.rpartition("####")
    gold = tail.strip().replace(",", "")
    if not sep or not gold:
        raise ValueError("GSM8K answer has no '#### <answer>' line")
    return gold


_MATH_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\[", "\\]"), ("\\(", "\\)"))


def gold_from_latex(answer_field: str) -> str:
    """The gold answer of a LaTeX answer field (MATH, AIME): the last `\\boxed{}` of a worked
    solution, else the field itself without the math delimiters around it (`$\\frac34$`)."""
    if (boxed := _last_boxed(answer_field)) is not None:
        return boxed
    gold = answer_field.strip()
    for opening, closing in _MATH_DELIMITERS:
        if len(gold) > len(opening) + len(closing) and gold.startswith(opening):
            if gold.endswith(closing):
                gold = gold[len(opening) : -len(closing)].strip()
            break
    if not gold:
        raise ValueError("empty LaTeX answer")
    return gold
