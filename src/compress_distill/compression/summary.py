"""What the aggregates read of a compressor's output: small per-shard summaries, pooled per
(teacher, compressor), so tables and figures rebuild without the traces (as from a bundle)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from compress_distill.stats import ratio


def shard_summary(rows: Sequence[dict[str, Any]], counts: dict[str, int]) -> dict[str, Any]:
    """One compressed shard: outcome counts, character totals and per-trace ratios."""
    return {
        "outcomes": counts,
        "raw_chars": sum(row["raw_chars"] for row in rows),
        "compressed_chars": sum(row["compressed_chars"] for row in rows),
        "ratios": [row["ratio"] for row in rows],
    }


def compression_summary(
    teacher: str, compressor: str, shards: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Answer-preservation outcomes of one (teacher, compressor) over its shard summaries, and the
    pooled character ratio of what it kept."""
    totals: Counter[str] = Counter()
    for shard in shards:
        totals.update(shard["outcomes"])
    return {
        "teacher": teacher,
        "compressor": compressor,
        "traces": sum(totals.values()),
        **{outcome: totals[outcome] for outcome in sorted(totals)},
        "chars_ratio": ratio(
            sum(shard["compressed_chars"] for shard in shards),
            sum(shard["raw_chars"] for shard in shards),
        ),
    }
