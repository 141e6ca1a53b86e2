"""What the aggregates read of a compressor's output: small per-shard summaries, pooled per
(teacher, compressor), so tables and figures rebuild without the traces (as from a bundle)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from compress_distill.compression.faithfulness import MEASURES
from compress_distill.stats import ratio


def shard_summary(rows: Sequence[dict[str, Any]], counts: dict[str, int]) -> dict[str, Any]:
    """One compressed shard: outcome counts, character totals, per-trace ratios and, per
    faithfulness measure, the values of the traces it could measure."""
    return {
        "outcomes": counts,
        "raw_chars": sum(row["raw_chars"] for row in rows),
        "compressed_chars": sum(row["compressed_chars"] for row in rows),
        "ratios": [row["ratio"] for row in rows],
        "faithfulness": {
            measure: [
                value
                for row in rows
                if (value := row.get("faithfulness", {}).get(measure)) is not None
            ]
            for measure in MEASURES
        },
    }


def compression_summary(
    teacher: str, compressor: str, shards: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Answer-preservation outcomes of one (teacher, compressor) over its shard summaries, the
    pooled character ratio of what it kept, and each faithfulness measure's distribution over
    the rows written (`distribution`; under drop the dropped ones are not among them)."""
    totals: Counter[str] = Counter()
    for shard in shards:
        totals.update(shard["outcomes"])
    # Shards written before the faithfulness measures have none.
    pooled = {
        measure: [v for shard in shards for v in shard.get("faithfulness", {}).get(measure, [])]
        for measure in MEASURES
    }
    return {
        "teacher": teacher,
        "compressor": compressor,
        "traces": sum(totals.values()),
        **{outcome: totals[outcome] for outcome in sorted(totals)},
        "chars_ratio": ratio(
            sum(shard["compressed_chars"] for shard in shards),
            sum(shard["raw_chars"] for shard in shards),
        ),
        **{
            f"{measure}_{stat}": value
            for measure in MEASURES
            for stat, value in distribution(pooled[measure]).items()
        },
    }


def distribution(values: Sequence[float]) -> dict[str, float | int | None]:
    """How many traces a measure could measure, and their mean, median and 10th percentile
    (None where there are none), rounded to 3 decimals for a readable table."""
    if not values:
        return {"traces": 0, "mean": None, "median": None, "p10": None}
    ordered = sorted(values)
    # The 10th percentile by linear interpolation between the closest ranks.
    rank = 0.1 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    p10 = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return {
        "traces": len(ordered),
        "mean": round(statistics.fmean(ordered), 3),
        "median": round(statistics.median(ordered), 3),
        "p10": round(p10, 3),
    }
