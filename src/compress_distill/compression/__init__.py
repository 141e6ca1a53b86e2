"""Trace compression: compressors behind one interface, answer preservation, matched truncation.

`make_compressor(entry)` builds a compressor from a config entry:
`{"kind": "extractive"}`, `{"kind": "prune", "ratio": 0.5}`, or
`{"kind": "llm", "engine": ..., "model": ..., "prompt": <template text>, ...}`.
"""

from __future__ import annotations

from typing import Any

from compress_distill.compression.base import Compressor
from compress_distill.compression.extractive import ExtractiveCompressor
from compress_distill.compression.llm import LLMCompressor
from compress_distill.compression.prune import PruneCompressor
from compress_distill.compression.rows import compress_rows
from compress_distill.compression.targets import (
    OUTCOMES,
    POLICIES,
    answer_only,
    answer_suffix,
    measure,
    preserve_answer,
    truncate_to_match,
)

COMPRESSORS: dict[str, type[Compressor]] = {
    "extractive": ExtractiveCompressor,
    "prune": PruneCompressor,
    "llm": LLMCompressor,
}
# The settings each kind reads. Other keys of a workflow entry (answer_policy, batch_size,
# resources, and the schema's defaults for other kinds) are the caller's; the schema rejects typos.
_SETTINGS = {
    "extractive": ("keep_digit_steps",),
    "prune": ("ratio", "scorer"),
    "llm": ("engine", "model", "prompt", "engine_args", "sampling"),
}


def make_compressor(entry: dict[str, Any], name: str | None = None) -> Compressor:
    """The compressor of a config entry; `name` (the entry's key) labels its output."""
    kind = entry.get("kind")
    if kind not in COMPRESSORS:
        raise ValueError(f"unknown compressor kind {kind!r}; known: {', '.join(COMPRESSORS)}")
    settings = {key: entry[key] for key in _SETTINGS[kind] if key in entry}
    return COMPRESSORS[kind](name=name, **settings)


__all__ = [
    "COMPRESSORS",
    "OUTCOMES",
    "POLICIES",
    "Compressor",
    "ExtractiveCompressor",
    "LLMCompressor",
    "PruneCompressor",
    "answer_only",
    "answer_suffix",
    "compress_rows",
    "make_compressor",
    "measure",
    "preserve_answer",
    "truncate_to_match",
]
