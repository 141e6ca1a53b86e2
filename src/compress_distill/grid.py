"""Names of the study's grid: the variants of each teacher's training targets.

Kept free of heavy imports: the Snakefile imports it to expand the grid.
"""

from __future__ import annotations

from collections.abc import Iterable

RAW = "raw"
ANSWER_ONLY = "answer-only"
TRUNCATED = "truncated-"


def variant_names(compressors: Iterable[str], truncated: Iterable[str]) -> list[str]:
    """raw, one per compressor, truncated-<compressor> for each truncated one, answer-only."""
    return [RAW, *compressors, *(TRUNCATED + name for name in truncated), ANSWER_ONLY]
