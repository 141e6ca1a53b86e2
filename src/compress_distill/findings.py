"""The findings table: each of the paper's headline claims, what this run measured, its interval,
and whether the run supports the claim, contradicts it, or cannot tell.

The claims and their numbers are the paper's (DESIGN.md). Two kinds of verdict rule:

- an interval against the claim's region (interval_verdict): supports when the whole interval
  lies in the region, contradicts when it lies wholly outside, cannot tell when it straddles a
  boundary (or is missing). A magnitude is taken from the compressed run (variant_kind
  "compressed") with the largest point value, across settings and benchmarks: "up to" claims are
  about the best case. Training tokens and speedups are counted and timed once per run, with no
  sampling interval: their interval is the range over compressed runs;
- "raw is the most accurate" is a claim about every comparison against raw (inference.py, Holm
  over the table): contradicts when any variant is significantly more accurate than raw, supports
  when every variant is significantly less accurate, cannot tell otherwise.

Compression against truncation pools every compressor-truncation pair: the mean accuracy
difference with its paired bootstrap interval (inference.pooled_difference); "most clearly for
small students" is that mean for the smallest student (fewest parameters) minus the largest's,
over the same problem resamples.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from compress_distill.grid import RAW, variant_kind
from compress_distill.inference import Outcomes, percentile_interval, pooled_difference
from compress_distill.metrics import ROW_KEYS, truncation_pairs
from compress_distill.stats import Statistics, finite
from compress_distill.tables import Table, format_number, setting_title

SUPPORTS, CONTRADICTS, CANNOT_TELL = "supports", "contradicts", "cannot tell"
AT_LEAST_ZERO = (0.0, math.inf)
# Strictly positive: a gap that is exactly 0 does not favour small students.
ABOVE_ZERO = (math.ulp(0.0), math.inf)
Rows = Sequence[Mapping[str, Any]]
OutcomesByRow = Mapping[tuple[Any, ...], Outcomes]


@dataclass(frozen=True)
class Claim:
    """A claim of the paper: its text, its number as stated, and how it is checked."""

    text: str
    paper: str
    rule: str
    unit: str


@dataclass(frozen=True)
class Finding:
    claim: str
    paper: str
    measured: str
    low: float | None
    high: float | None
    unit: str
    verdict: str
    rule: str


def interval_verdict(low: float | None, high: float | None, region: tuple[float, float]) -> str:
    """supports: [low, high] inside region; contradicts: disjoint from it; else cannot tell."""
    if low is None or high is None:
        return CANNOT_TELL
    if region[0] <= low and high <= region[1]:
        return SUPPORTS
    if high < region[0] or low > region[1]:
        return CONTRADICTS
    return CANNOT_TELL


def _finding(
    claim: Claim,
    measured: str,
    interval: tuple[float | None, float | None] = (None, None),
    verdict: str = CANNOT_TELL,
    scale: float = 1.0,
) -> Finding:
    # Rounded: a percentage such as 4.6 * 100 prints as 460.0, not 459.99999999999994.
    low, high = (None if bound is None else round(bound * scale, 9) for bound in interval)
    return Finding(claim.text, claim.paper, measured, low, high, claim.unit, verdict, claim.rule)


def _where(row: Mapping[str, Any]) -> str:
    return f"{row['variant']}, {setting_title(row)}"


def _compressed(rows: Rows, name: str) -> list[Mapping[str, Any]]:
    return [
        row
        for row in rows
        if variant_kind(row["variant"]) == "compressed" and finite(row.get(name)) is not None
    ]


def best_compressed(
    claim: Claim, rows: Rows, name: str, region: tuple[float, float], scale: float = 1.0
) -> Finding:
    """The compressed run with the largest `name`, its interval against `region`."""
    found = _compressed(rows, name)
    if not found:
        return _finding(claim, "no compressed run with a raw partner")
    best = max(found, key=lambda row: row[name])
    interval = (best.get(f"{name}_low"), best.get(f"{name}_high"))
    value = format_number(best[name], scale=scale, digits=1 if scale != 1 else 2)
    verdict = interval_verdict(*interval, region)
    return _finding(claim, f"{value}{claim.unit} ({_where(best)})", interval, verdict, scale)


def compressed_range(
    claim: Claim, rows: Rows, name: str, region: tuple[float, float], scale: float = 1.0
) -> Finding:
    """The range of `name` over compressed runs (one measurement each) against `region`."""
    values = [row[name] for row in _compressed(rows, name)]
    if not values:
        return _finding(claim, "no compressed run with a raw partner")
    interval = (min(values), max(values))
    digits = 0 if scale != 1 else 1
    text = "–".join(format_number(v, scale=scale, digits=digits) for v in interval)
    measured = f"{text}{claim.unit} over {len(values)} compressed runs"
    return _finding(claim, measured, interval, interval_verdict(*interval, region), scale)


def raw_most_accurate(claim: Claim, rows: Rows) -> Finding:
    tested = [r for r in rows if r["variant"] != RAW and r.get("p_adjusted_vs_raw") is not None]
    if not tested:
        return _finding(claim, "no variant compared with raw")

    def significant(sign: int) -> int:
        return sum(
            bool(r["significant_vs_raw"]) and sign * r["accuracy_difference_vs_raw"] > 0
            for r in tested
        )

    above, below = significant(1), significant(-1)
    verdict = CONTRADICTS if above else SUPPORTS if below == len(tested) else CANNOT_TELL
    best = max(tested, key=lambda r: r["accuracy_difference_vs_raw"])
    difference = format_number(best["accuracy_difference_vs_raw"], scale=100, signed=True)
    adjusted = format_number(best["p_adjusted_vs_raw"], digits=3)
    measured = (
        f"best variant − raw: {difference} pp ({_where(best)}; Holm-adjusted p = {adjusted}); "
        f"of {len(tested)} variants {above} significantly above raw, {below} below"
    )
    interval = (best["accuracy_difference_vs_raw_low"], best["accuracy_difference_vs_raw_high"])
    return _finding(claim, measured, interval, verdict, scale=100)


def _pairs(rows: Rows, outcomes: OutcomesByRow) -> list[tuple[Mapping[str, Any], tuple]]:
    """Each compressor-truncation pair with both runs' outcomes, as pooled_difference reads it."""
    found = []
    for pair in truncation_pairs(rows):
        keys = [tuple(pair[side][k] for k in ROW_KEYS) for side in ("compressed", "truncated")]
        if all(key in outcomes for key in keys):
            found.append((pair, (outcomes[keys[0]], outcomes[keys[1]], pair["benchmark"])))
    return found


def compression_beats_truncation(
    claim: Claim, rows: Rows, outcomes: OutcomesByRow, settings: Statistics
) -> Finding:
    pairs = _pairs(rows, outcomes)
    if not pairs:
        return _finding(claim, "no compressor-truncation pair")
    mean, replicates = pooled_difference([p for _, p in pairs], settings)
    interval = percentile_interval(replicates, settings.alpha)

    def significant(sign: int) -> int:
        return sum(
            bool(pair["compressed"].get("significant_vs_truncated"))
            and sign * pair["accuracy_difference"] > 0
            for pair, _ in pairs
        )

    measured = (
        f"mean {format_number(mean, scale=100, signed=True)} pp over {len(pairs)} pairs "
        f"({significant(1)} significantly ahead, {significant(-1)} behind)"
    )
    return _finding(claim, measured, interval, interval_verdict(*interval, AT_LEAST_ZERO), 100)


def small_students_gain_most(
    claim: Claim, rows: Rows, outcomes: OutcomesByRow, settings: Statistics
) -> Finding:
    pairs = _pairs(rows, outcomes)
    sizes = {
        pair["student"]: size
        for pair, _ in pairs
        if (size := finite(pair["compressed"].get("parameters"))) is not None
    }
    if len(set(sizes.values())) < 2:
        return _finding(claim, "needs students of two sizes")
    small, large = min(sizes, key=sizes.__getitem__), max(sizes, key=sizes.__getitem__)
    (small_mean, small_reps), (large_mean, large_reps) = (
        pooled_difference([p for pair, p in pairs if pair["student"] == s], settings)
        for s in (small, large)
    )
    interval = percentile_interval(np.asarray(small_reps - large_reps), settings.alpha)
    difference = format_number(small_mean - large_mean, scale=100, signed=True)
    measured = f"{difference} pp ({small} minus {large})"
    return _finding(claim, measured, interval, interval_verdict(*interval, ABOVE_ZERO), 100)


BEST = "the compressed run with the largest value; supports if its interval lies in"
RANGE = "range over compressed runs (each measured once); supports if it lies in"
CLAIMS = {
    "raw": Claim(
        "Raw traces stay the most accurate at every scale",
        "raw most accurate",
        "every variant against raw, Holm-adjusted over all of them (the interval shown is the "
        "best variant's, unadjusted); supports if all are significantly less accurate, "
        "contradicts if any is significantly more accurate",
        " pp",
    ),
    # "Up to 96%": the best compressed run keeps about 96%, and not more than raw (retention
    # above 1 is compression beating raw, which the paper does not report).
    "retention": Claim(
        "Compressed traces keep up to 96% of raw accuracy", "96–100%", f"{BEST} 96–100%", "%"
    ),
    "efficiency": Claim("Up to 18× higher per-token efficiency", "≥ 18×", f"{BEST} ≥ 18×", "×"),
    "length": Claim("3–19× shorter student outputs", "3–19×", f"{BEST} 3–19×", "×"),
    "truncation": Claim(
        "Compression usually beats or matches length-matched truncation",
        "compressed ≥ truncated",
        "mean accuracy difference, compressed − truncated, over all pairs; supports if its "
        "interval is ≥ 0",
        " pp",
    ),
    "small": Claim(
        "… most clearly for small students",
        "largest gap for the smallest student",
        "that mean for the smallest student minus the largest's; supports if its interval is > 0",
        " pp",
    ),
    "tokens": Claim(
        "Compressed traces need 12–30% of the raw training tokens", "12–30%", f"{RANGE} 12–30%", "%"
    ),
    "speedup": Claim(
        "Compressed traces train 2.0–7.6× faster", "2.0–7.6×", f"{RANGE} 2.0–7.6×", "×"
    ),
}


def findings(rows: Rows, outcomes: OutcomesByRow, settings: Statistics) -> list[Finding]:
    """Every claim of CLAIMS against the tidy rows with their intervals (inference.py)."""
    return [
        raw_most_accurate(CLAIMS["raw"], rows),
        best_compressed(CLAIMS["retention"], rows, "accuracy_retention", (0.96, 1.0), 100),
        best_compressed(CLAIMS["efficiency"], rows, "per_token_efficiency_gain", (18, math.inf)),
        best_compressed(CLAIMS["length"], rows, "inference_length_reduction", (3, 19)),
        compression_beats_truncation(CLAIMS["truncation"], rows, outcomes, settings),
        small_students_gain_most(CLAIMS["small"], rows, outcomes, settings),
        compressed_range(CLAIMS["tokens"], rows, "training_token_ratio", (0.12, 0.30), 100),
        compressed_range(CLAIMS["speedup"], rows, "training_speedup", (2.0, 7.6)),
    ]


def findings_table(found: Sequence[Finding], settings: Statistics) -> Table:
    """The findings as one table, the verdict rules as its notes."""

    def interval(finding: Finding) -> str:
        if finding.low is None and finding.high is None:
            return format_number(None)
        digits = 2 if finding.unit == "×" else 1
        bounds = ", ".join(format_number(b, digits=digits) for b in (finding.low, finding.high))
        return f"[{bounds}]{finding.unit}"

    body = [[f.claim, f.paper, f.measured, interval(f), f.verdict] for f in found]
    level = format_number(100 * (1 - settings.alpha), digits=0)
    notes = [
        f"Intervals at {level}% (bootstrap over problems, as in the main table); ranges where a "
        "quantity is measured once per run. Verdict: supports when the interval lies in the "
        "claim's region, contradicts when wholly outside it, cannot tell when it straddles a "
        "boundary.",
        *(f"{f.claim}: {f.rule}." for f in found),
    ]
    columns = ["Claim (paper)", "Paper", "This run", "Interval", "Verdict"]
    return Table(columns, "lllll", [("Findings", body)], notes)


def finding_rows(found: Sequence[Finding]) -> list[dict[str, Any]]:
    return [asdict(f) for f in found]
