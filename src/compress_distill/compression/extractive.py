"""Rule-based extractive compression: keep the computation, drop the talk around it.

The trace is cut into units (sentences, lines, display-math blocks) and each unit is kept or
dropped by surface cues that reasoning models use consistently:

- computation (equations, arithmetic between numbers, LaTeX math, digit-level column work) is kept,
  and so are conclusions that carry a value, definitions ("Let x be ...") and the final box;
- restatements of the problem at the start, hedges and filler are dropped;
- re-verification ("Wait, let me double-check", "Let me verify", recaps, "Alternatively, ...") is
  dropped up to the end of its paragraph or up to a confirmation ("Yes, that matches.");
- a caught mistake ("I made a slip", "that's wrong", "let me redo") retracts the attempt it refers
  to (the units kept since the previous paragraph boundary, but a "Step k:" header) and keeps the
  corrected computation that follows.

These are heuristics: they never touch the final box, and any answer they lose is restored or the
trace dropped by the answer policy (targets.preserve_answer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compress_distill.compression.base import (
    Compressor,
    Piece,
    check_batch,
    join_pieces,
    last_box_span,
)

_APOS = "['’]"
# Interjections that open a sentence without adding anything ("Hmm, ...", "Okay, so ...").
_FILLER_PREFIX_RE = re.compile(
    rf"^(?:(?:hmm+|hm+|okay|ok|alright|all right|well|wait|um+|uh+|oh|ah|actually|now"
    rf"|but|so|also|and|then|first|next|let{_APOS}s see|let me see)[,.!:;]?\s+)+",
    re.IGNORECASE,
)
# Re-verification openers; they start a segment that is dropped.
_VERIFY_RE = re.compile(
    rf"^(?:(?:let me|let{_APOS}s|i (?:should|will|{_APOS}ll|need to|want to|can|must)"
    rf"|we (?:can|should|need to|must))\s+(?:just\s+|quickly\s+|also\s+)?"
    r"(?:double[- ]?check|check|verify|confirm|recap|summari[sz]e|re-?check|re-?verify"
    r"|re-?examine|make sure|sanity[- ]check|cross[- ]check|plug|go (?:back|over))"
    r"|(?:to\s+)?(?:double[- ]?check|verify|confirm|recap|summari[sz]e|cross[- ]check)\b"
    r"|(?:double[- ]?checking|checking|verifying|verification|recap|summary|sanity check)\b"
    r"|alternatively|another (?:way|approach|method)|in summary"
    r"|(?:plugging|substituting) (?:\w+ )?back)",
    re.IGNORECASE,
)
# "Yes, that matches." ends a re-verification segment.
_CONFIRM_RE = re.compile(
    rf"^(?:yes|yep|yeah|correct|right|good|great|perfect|okay|ok"
    rf"|(?:that|this|it){_APOS}?s? (?:is )?(?:correct|right|consistent|confirmed)"
    r"|(?:that|this|it) (?:matches|checks out|works|confirms)|which (?:matches|confirms)"
    r"|so (?:that|this|it) (?:checks out|matches|works))\b",
    re.IGNORECASE,
)
# A caught mistake. Only affirmative forms: "make sure I didn't make a mistake" is no slip.
_SLIP_RE = re.compile(
    rf"(?:\bi made (?:a|an) (?:slip|mistake|error|typo)\b|\b(?:that|this|it)(?:{_APOS}s| is| was)"
    r" (?:wrong|incorrect|not right|a mistake)\b|\boops\b|\bmy (?:mistake|bad)\b"
    r"|\bi miscalculated\b|\blet me (?:redo|recompute|recalculate|correct|fix)\b"
    r"|\bi (?:need|have) to (?:redo|recompute|recalculate|correct)\b)",
    re.IGNORECASE,
)
# Restatements open a trace: "Okay, let me restate the problem", "So I need to find ...".
_RESTATE_RE = re.compile(
    rf"^(?:let me (?:restate|re-?read|rephrase|parse|understand)|restating"
    r"|the (?:problem|question) (?:says|states|asks|is asking|gives|tells|is)"
    rf"|we{_APOS}?(?: a)?re (?:given|asked|told)|we are (?:given|asked|told)"
    rf"|i(?:{_APOS}m| am)? (?:need|asked|supposed|have) to|i{_APOS}ve (?:been asked|got) to"
    r"|i need the|so the problem|this problem|the task)",
    re.IGNORECASE,
)
# Math between operands, an equation, or LaTeX math.
_COMPUTE_RE = re.compile(
    r"[=≈≠≤≥]|\d\s*[-+×*/÷^·%]\s*[\d(]|\)\s*[-+×*/÷^·]\s*[\d(]|[\d)]\s*[<>]\s*[\d(]"
    r"|\\(?:frac|dfrac|tfrac|times|cdot|div|sqrt|sum|prod|int|pm|le|ge|leq|geq|neq|approx|equiv"
    r"|pmod|binom|lfloor|lceil)\b|\d\s+(?:times|plus|minus|divided by|multiplied by|over)\s+\d"
    r"|\$[^$]*[=\\^_+\-*/<>][^$]*\$|\\\(",
    re.IGNORECASE,
)
# Digit-level column work: "tens: 4 × 5 + 2 = 22, write 2, carry 2", "The final carry 2 ...".
_DIGIT_STEP_RE = re.compile(
    r"^(?:ones|units|tens|hundreds|thousands|ten-thousands|hundred-thousands|millions"
    r"|digit \d+)\b[^:]*:|\b(?:carry|carries|carried|carrying|borrow|borrowed|borrowing)\b",
    re.IGNORECASE,
)
_CONCLUDE_RE = re.compile(
    r"\b(?:therefore|thus|hence|so|answer|result|total|altogether|in all|final)\b", re.IGNORECASE
)
_DEFINE_RE = re.compile(
    rf"^(?:let (?!me\b|us\b|{_APOS}s\b)\$?\\?[A-Za-z]|denote\b|define\b|set \$?[A-Za-z]\b)",
    re.IGNORECASE,
)
_HEADER_RE = re.compile(
    r"^(?:#+\s|\*\*)?\s*(?:step|part|case|stage)\s*\d+\b|^#+\s|^\*\*[^*]+\*\*:?$", re.IGNORECASE
)
_LEAD_IN_RE = re.compile(r"^[^:\d=$\\]{0,40}:\s*")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_THINK_TAG_RE = re.compile(r"</?think>")
_PARAGRAPH_RE = re.compile(r"\n[ \t]*\n")
_DISPLAY_RE = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]|\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.DOTALL)
_SENTENCE_RE = re.compile(r"[^\n]+?(?:[.!?](?=\s+[A-Z0-9\\$(*\[])|$)", re.MULTILINE)


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    text: str
    paragraph: int
    first_in_paragraph: bool
    display: bool


@dataclass(frozen=True)
class _Kept:
    piece: Piece
    paragraph: int
    protected: bool  # a step header or the final box: never retracted


def _units(text: str) -> list[_Unit]:
    """Sentences (within lines) and display-math blocks with their spans, paragraph by paragraph."""
    spans: list[tuple[int, int, bool]] = []
    position = 0
    for block in [*_DISPLAY_RE.finditer(text), None]:
        stop = block.start() if block else len(text)
        for sentence in _SENTENCE_RE.finditer(text, position, stop):
            if sentence.group().strip():
                start = sentence.start() + len(sentence.group()) - len(sentence.group().lstrip())
                spans.append((start, sentence.end(), False))
        if block:
            spans.append((block.start(), block.end(), True))
            position = block.end()
    units = []
    paragraph, previous_end = 0, 0
    for start, end, display in spans:
        new_paragraph = bool(_PARAGRAPH_RE.search(text, previous_end, start))
        if new_paragraph and units:
            paragraph += 1
        first = not units or new_paragraph
        units.append(_Unit(start, end, text[start:end].strip(), paragraph, first, display))
        previous_end = end
    return units


def _capitalised(text: str) -> str:
    """Capitalise a leading word, never a variable ("so n = 6" -> "n = 6", not "N = 6")."""
    return text[:1].upper() + text[1:] if re.match(r"[a-z]{2,}\b", text) else text


def _strip_filler(sentence: str) -> str:
    body = _FILLER_PREFIX_RE.sub("", sentence, count=1)
    return body if body == sentence else _capitalised(body)


class ExtractiveCompressor(Compressor):
    kind = "extractive"

    def __init__(self, name: str | None = None, keep_digit_steps: bool = True) -> None:
        super().__init__(name)
        self.keep_digit_steps = keep_digit_steps

    def settings(self) -> dict[str, Any]:
        return {"keep_digit_steps": self.keep_digit_steps}

    def compress(self, traces: Sequence[str], contexts: Sequence[dict[str, Any]]) -> list[str]:
        check_batch(traces, contexts)
        return [
            self.compress_one(trace, str(context.get("question", "")))
            for trace, context in zip(traces, contexts, strict=True)
        ]

    def compress_one(self, trace: str, question: str = "") -> str:
        text = _THINK_TAG_RE.sub("", trace.replace("\r\n", "\n"))
        return _Extraction(text, question, self.keep_digit_steps).run()


class _Extraction:
    """The state of one pass over a trace."""

    def __init__(self, text: str, question: str, keep_digit_steps: bool) -> None:
        self.text = text
        self.keep_digit_steps = keep_digit_steps
        self.question_numbers = set(_NUMBER_RE.findall(question))
        self.box = last_box_span(text)
        self.kept: list[_Kept] = []
        self.segment: str | None = None  # "verify" or "restate" while one is being dropped
        self.computed = False  # a computation was kept: restatements are over
        self.retracted_in: int | None = None  # paragraph whose slip already retracted an attempt
        self.redo_follows_header = False  # the next kept line continues a retracted step

    def run(self) -> str:
        previous: _Unit | None = None
        for unit in _units(self.text):
            if unit.first_in_paragraph:
                self._enter_paragraph(unit, previous)
            self._visit(unit)
            previous = unit
        return join_pieces(self.text, [kept.piece for kept in self.kept])

    def _enter_paragraph(self, unit: _Unit, previous: _Unit | None) -> None:
        # A check announced with a colon, or followed by a display block, goes on past the break.
        carries_on = unit.display or (previous is not None and previous.text.endswith(":"))
        if self.segment == "restate" or not carries_on:
            self.segment = None

    def _keep(self, unit: _Unit, text: str, protected: bool = False) -> None:
        gap = "\n" if self.redo_follows_header else None
        piece = Piece(unit.start, unit.end, text, gap)
        self.kept.append(_Kept(piece, unit.paragraph, protected))
        self.redo_follows_header = False

    def _visit(self, unit: _Unit) -> None:
        if self.box and unit.start < self.box[1] and self.box[0] < unit.end:
            self._keep(unit, unit.text, protected=True)
            return
        body = unit.text if unit.display else _strip_filler(unit.text)
        if self.segment == "verify":
            if slip := _SLIP_RE.search(body):
                self._correct(unit, body, slip)
            elif _CONFIRM_RE.match(body):
                self.segment = None
            return
        if _VERIFY_RE.match(body):
            self.segment = "verify"
            return
        if slip := _SLIP_RE.search(body):
            self._correct(unit, body, slip)
            return
        if not self.computed and _RESTATE_RE.match(body):
            self.segment = "restate"
        if self.segment == "restate":
            if not self._has_new_number(body):
                return
            self.segment = None
        self._classify(unit, body)

    def _classify(self, unit: _Unit, body: str) -> None:
        digit_step = bool(_DIGIT_STEP_RE.search(body))
        if digit_step and not self.keep_digit_steps:
            return
        if digit_step or unit.display or _COMPUTE_RE.search(body):
            header = unit.first_in_paragraph and bool(_HEADER_RE.match(body))
            self._keep(unit, body, protected=header)
            self.computed = True
        elif (_CONCLUDE_RE.search(unit.text) and _NUMBER_RE.search(body)) or _DEFINE_RE.match(body):
            self._keep(unit, body)

    def _has_new_number(self, body: str) -> bool:
        return any(n not in self.question_numbers for n in _NUMBER_RE.findall(body))

    def _correct(self, unit: _Unit, body: str, slip: re.Match[str]) -> None:
        """Retract the attempt the slip refers to; keep a correction in the same sentence."""
        self.segment = None
        # "I made a slip. Let me redo this: ..." is one slip: retract once per paragraph.
        if self.kept and self.retracted_in != unit.paragraph:
            paragraph = self.kept[-1].paragraph
            self.kept = [k for k in self.kept if k.paragraph != paragraph or k.protected]
            self.retracted_in = unit.paragraph
            # The redone lines read as the body of the retracted step, under its header.
            self.redo_follows_header = bool(self.kept) and self.kept[-1].paragraph == paragraph
        # "Let me redo this: n = 6" keeps "n = 6".
        rest = _LEAD_IN_RE.sub("", body[slip.end() :].lstrip(" :,;.-—"), count=1)
        if _COMPUTE_RE.search(rest):
            self._keep(unit, _capitalised(rest))
