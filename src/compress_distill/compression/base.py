"""The compressor interface and the text helpers its implementations share."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

from compress_distill import __version__
from compress_distill.answers import extract_answer


class Compressor(ABC):
    """compress(traces, contexts) -> one compressed text per trace, in order.

    `contexts` are the traces' rows (at least "question"); batch-oriented so that model-based
    compressors can batch. A compressor that cannot produce anything returns "" for that trace.
    """

    kind: ClassVar[str]

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.kind

    @abstractmethod
    def compress(self, traces: Sequence[str], contexts: Sequence[dict[str, Any]]) -> list[str]:
        """Compress each trace; `contexts[i]` is the row of `traces[i]`."""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Everything that changes the output (recorded for provenance)."""

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "settings": self.settings(),
            "version": __version__,
        }

    def close(self) -> None:  # noqa: B027 - rule-based compressors hold nothing
        """Release models or engines."""

    def __enter__(self) -> Compressor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_batch(traces: Sequence[str], contexts: Sequence[dict[str, Any]]) -> None:
    if len(traces) != len(contexts):
        raise ValueError(f"{len(traces)} traces but {len(contexts)} contexts")


_BOX_OPEN_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")


def last_box_span(text: str) -> tuple[int, int] | None:
    """(start, end) of the box whose content `extract_answer` reads as the final answer, if any.

    `extract_answer` owns the rules (which box counts, nesting, escapes); this only locates the
    last box holding exactly that content.
    """
    answer = extract_answer(text)
    if answer is None:
        return None
    for match in reversed(list(_BOX_OPEN_RE.finditer(text))):
        inner = re.match(rf"\s*{re.escape(answer)}\s*\}}", text[match.end() :])
        if inner:
            return match.start(), match.end() + inner.end()
    return None


_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")


def _gap(original: str) -> str:
    """The strongest whitespace in a cut-out stretch: blank line, line break, space, or none."""
    if _BLANK_LINE_RE.search(original):
        return "\n\n"
    if "\n" in original:
        return "\n"
    return " " if original else ""


class Piece(NamedTuple):
    """Kept stretch text[start:end], written as `text`; `gap` overrides the whitespace before it."""

    start: int
    end: int
    text: str
    gap: str | None = None


def join_pieces(text: str, pieces: Sequence[Piece]) -> str:
    """Join kept pieces of `text`, in order.

    Each stretch between two kept pieces shrinks to its strongest whitespace, so paragraph and line
    structure survive the deletions in between.
    """
    out: list[str] = []
    previous_end = None
    for piece in pieces:
        if previous_end is not None:
            out.append(
                piece.gap if piece.gap is not None else _gap(text[previous_end : piece.start])
            )
        out.append(piece.text)
        previous_end = piece.end
    return "".join(out).strip()
