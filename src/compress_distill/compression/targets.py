"""Training targets made from a verified trace: answer-preserving compression, length-matched
truncation, and the answer alone."""

from __future__ import annotations

import re
from typing import Any

from compress_distill.answers import extract_answer
from compress_distill.checking import Verdict, check_answer
from compress_distill.compression.base import last_box_span
from compress_distill.compression.faithfulness import below_minimum, faithfulness

POLICIES = ("drop", "append")
OUTCOMES = ("kept", "appended", "not_shorter", "unfaithful", "dropped", "empty")
UNITS = ("chars", "tokens")

# What may follow a final box on its line: closing math delimiters, bold, punctuation.
_BOX_TRAILER_RE = re.compile(r"[\s.,;:!$*)\]\\]*")
_BOX_OPENER_RE = re.compile(r"(?:\$\$|\$|\\\[|\\\()\s*$")


def answer_only(answer: str) -> str:
    return f"\\boxed{{{answer}}}"


def answer_suffix(answer: str) -> str:
    """What truncation and the `append` policy put after a text: the answer in a box of its own."""
    return "\n\n" + answer_only(answer)


def check_policy(policy: str) -> None:
    if policy not in POLICIES:
        raise ValueError(f"unknown answer policy {policy!r}; known: {', '.join(POLICIES)}")


def predicted_answer(compressed: object) -> str | None:
    return extract_answer(compressed) if isinstance(compressed, str) else None


def same_answer_text(predicted: str | None, teacher_answer: str) -> bool:
    """Identical strings need no Math-Verify call (the common case for rule-based compressors)."""
    return predicted is not None and predicted.strip() == teacher_answer.strip()


def apply_policy(
    compressed: object,
    teacher_answer: str,
    policy: str,
    has_answer: bool,
    source: str | None = None,
    faithful: bool = True,
) -> tuple[str | None, str]:
    """(text to keep or None, outcome) once it is known whether `compressed` ends in the answer
    and whether it is faithful to `source`, the text it compresses.

    The first outcome that applies: "empty" (no text; under append the answer alone); "dropped"
    (the answer lost, under drop); "not_shorter" (the text to keep, the answer appended where it
    was lost, has at least as many characters as `source`: a compressed variant must never train
    on a longer trace) and "unfaithful" (`faithful` false: under a minimum of faithfulness); else
    "kept" or "appended". Under append, a not-shorter or unfaithful compression is replaced by
    `source` itself, the verified raw trace, which ends in the answer: the problem keeps a correct
    target no longer than the raw one. Under drop both are dropped. Without a `source` the length
    is not checked.
    """
    check_policy(policy)
    if not isinstance(compressed, str) or not compressed.strip():
        # Under append the example survives as answer-only, so append never drops a problem and
        # the other variants need not wait on this compressor (see training_sets).
        return (answer_only(teacher_answer) if policy == "append" else None), "empty"
    if not has_answer and policy == "drop":
        return None, "dropped"
    text, outcome = (
        (compressed, "kept")
        if has_answer
        else (with_answer(compressed, teacher_answer), "appended")
    )
    if source is None:
        if not faithful:
            raise ValueError("an unfaithful compression is replaced by its source: give it")
        return text, outcome
    replacement = source if policy == "append" else None
    if len(text.strip()) >= len(source.strip()):
        return replacement, "not_shorter"
    if not faithful:
        return replacement, "unfaithful"
    return text, outcome


def judge_compression(
    compressed: object,
    source: str,
    teacher_answer: str,
    policy: str,
    has_answer: bool,
    min_faithfulness: dict[str, float],
) -> tuple[str | None, str, dict[str, float | None]]:
    """(text to keep or None, outcome, faithfulness) of one compression of `source`: its
    faithfulness measures (compression.faithfulness), then `apply_policy`, where a measure under
    its minimum in `min_faithfulness` makes the compression unfaithful."""
    text = compressed if isinstance(compressed, str) else ""
    scores = faithfulness(source, text, teacher_answer)
    faithful = not below_minimum(scores, min_faithfulness)
    return (*apply_policy(compressed, teacher_answer, policy, has_answer, source, faithful), scores)


def preserve_answer(
    compressed: Any,
    teacher_answer: str,
    policy: str,
    timeout_s: float = 5.0,
    source: str | None = None,
) -> tuple[str | None, str]:
    """Keep a compressed trace that still ends in the teacher's final answer; otherwise append the
    answer or drop the trace (`policy`). Empty or non-text output is "empty": under append it
    becomes the bare answer, under drop it is dropped. Given the `source` it compresses, a
    compression not shorter than it is "not_shorter" (see apply_policy).

    For many traces, `compress_rows` checks answers in one sandbox instead of one call each.
    """
    predicted = predicted_answer(compressed)
    has_answer = same_answer_text(predicted, teacher_answer) or (
        predicted is not None
        and check_answer(predicted, teacher_answer, timeout_s) is Verdict.CORRECT
    )
    return apply_policy(compressed, teacher_answer, policy, has_answer, source)


def with_answer(text: str, answer: str) -> str:
    """`text` ending in `\\boxed{answer}`: a wrong box closing the text is replaced, not kept."""
    span = last_box_span(text)
    if span is not None and _BOX_TRAILER_RE.fullmatch(text, span[1]):
        text = _BOX_OPENER_RE.sub("", text[: span[0]])
    return text.rstrip() + answer_suffix(answer)


def measure(text: str, unit: str, tokenizer: Any = None) -> int:
    """Length of `text` in chars, or in tokens of a Hugging Face tokenizer (no special tokens)."""
    if unit == "chars":
        return len(text)
    if unit == "tokens":
        if tokenizer is None:
            raise ValueError("unit 'tokens' needs a tokenizer")
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])
    raise ValueError(f"unknown length unit {unit!r}; known: {', '.join(UNITS)}")


def truncate_to_match(
    raw: str,
    target_length: int,
    answer: str,
    unit: str = "chars",
    tokenizer: Any = None,
    response: str | None = None,
) -> tuple[str, str]:
    """Cut `raw` so that the cut prefix plus `answer_suffix(answer)` is `target_length` long.

    Outcomes: "truncated"; "kept_whole" (the target is at least the raw length: raw as it is);
    "answer_only" (the target leaves no room for any prefix: the answer alone, `answer_only`).
    In chars the length is exact. In tokens the cut is on a token boundary of raw's tokenization,
    and nearby cut points are tried until the whole text re-tokenizes to exactly the target; where
    tokens merge across the cut so that no cut point gives it (rare with BPE, impossible with
    character- or word-level tokenizers), the closest is taken, preferring the shorter: ±1 token.

    With a `response` (a trace whose reasoning was compressed, its final response kept whole),
    `raw` is the reasoning and `target_length` the compressed reasoning's length: the reasoning is
    cut to it, with no answer suffix, and the whole response follows after a blank line, as in
    the compressed row. A target of nothing is the answer alone, as an empty compression's is.
    """
    if response:
        if target_length <= 0:
            return answer_only(answer), "answer_only"
        cut, outcome = _cut(raw, target_length, "", answer, unit, tokenizer)
        return cut + "\n\n" + response, outcome
    return _cut(raw, target_length, answer_suffix(answer), answer, unit, tokenizer)


def _cut(
    raw: str,
    target_length: int,
    suffix: str,
    answer: str,
    unit: str,
    tokenizer: Any,
) -> tuple[str, str]:
    """`raw`, or a prefix of it plus `suffix`, `target_length` long (see truncate_to_match)."""
    if unit == "chars":
        if target_length >= len(raw):
            return raw, "kept_whole"
        room = target_length - len(suffix)
        if room <= 0:
            return answer_only(answer), "answer_only"
        return raw[:room] + suffix, "truncated"

    measure("", unit, tokenizer)  # validates unit and tokenizer
    encoded = tokenizer(raw, add_special_tokens=False, return_offsets_mapping=True)
    ends = [end for _, end in encoded["offset_mapping"]]
    if target_length >= len(ends):
        return raw, "kept_whole"
    room = target_length - (measure(suffix, unit, tokenizer) if suffix else 0)
    if room <= 0:
        return answer_only(answer), "answer_only"

    # Cut points nearest the estimate first, so among equally good ones the nearest wins. Each is
    # tokenized only when the ones before it missed: an exact length cannot be beaten, and with
    # BPE the estimate itself is nearly always exact, so a trace is re-tokenized once, not seven
    # times (the same choice as taking the best of all seven).
    counts = range(max(1, room - 3), min(len(ends) - 1, room + 3) + 1)
    best: tuple[tuple[int, bool], str] | None = None
    for n in sorted(counts, key=lambda n: abs(n - room)):
        text = raw[: ends[n - 1]] + suffix
        excess = measure(text, unit, tokenizer) - target_length
        miss = (abs(excess), excess > 0)
        if best is None or miss < best[0]:
            best = (miss, text)
        if excess == 0:
            break
    assert best is not None  # room < len(ends): at least one cut point
    return best[1], "truncated"
