"""Uncertainty of the headline quantities (metrics.py) and paired tests of the paper's comparisons.

Every evaluation's metrics carry its per-problem outcomes (metrics.PER_PROBLEM). From them, at a
level alpha (a (1 - alpha) interval; a test significant at adjusted p < alpha):

- accuracy: one seed, the Wilson score interval over the N problems; several seeds, a two-way
  percentile bootstrap that resamples problems and seeds independently (both sources of noise),
  falling back to Wilson on the seed-averaged count where every outcome is the same (0% or 100%,
  where resampling sees no variation);
- accuracy retention, inference length reduction and per-token efficiency gain: a paired
  percentile bootstrap over the problems both runs answered (each problem's outcome and output
  tokens averaged over the run's seeds), the same problem resample for every run of a benchmark;
- each comparison (a variant against raw, a compressor against its length-matched truncation): the
  accuracy difference with its paired bootstrap interval, tested by the exact McNemar test when
  both runs have one seed (binary outcomes per problem), else by the paired bootstrap (twice the
  smaller share of resampled differences on either side of zero);
- within a table (all comparisons against raw; all compressor-truncation pairs), p-values are
  adjusted by Holm-Bonferroni.

Bootstrap draws come from one generator seeded by statistics.seed: the same inputs give the same
intervals. Undefined values are None, as in metrics.py: an interval whose bound is infinite (a
ratio over a resample where raw scored 0) has that bound None.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from compress_distill.grid import RAW, TRUNCATED, variant_kind
from compress_distill.io import InputError
from compress_distill.metrics import PER_PROBLEM, ROW_KEYS, setting_key
from compress_distill.stats import Statistics, finite

Interval = tuple[float | None, float | None]
# The derived ratios (metrics.DERIVED_METRICS) that depend on the evaluated problems.
PAIRED_RATIOS = ("accuracy_retention", "inference_length_reduction", "per_token_efficiency_gain")
COMPARISONS = ("raw", "truncated")


def wilson_interval(successes: float, n: int, alpha: float) -> tuple[float, float]:
    """Wilson score interval of a proportion successes / n at level 1 - alpha."""
    if n <= 0:
        raise ValueError(f"wilson_interval: n must be positive, got {n}")
    z = NormalDist().inv_cdf(1 - alpha / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 or n the bound is exactly 0 or 1; rounding would leave it a hair off.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs at 1/2."""
    discordant = only_first + only_second
    if discordant == 0:
        return 1.0
    # Exact in integers: sum of C(n, i) for i <= the smaller count, over 2^n.
    tail = sum(math.comb(discordant, i) for i in range(min(only_first, only_second) + 1))
    return min(1.0, 2 * tail / 2**discordant)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None stays None and is not counted)."""
    present = sorted((p, i) for i, p in enumerate(pvalues) if p is not None)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, (p, index) in enumerate(present):
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[index] = running
    return adjusted


def percentile_interval(replicates: np.ndarray, alpha: float) -> Interval:
    """The (alpha/2, 1 - alpha/2) quantiles of the defined replicates; an infinite bound is None."""
    values = replicates[~np.isnan(replicates)]
    if values.size == 0:
        return None, None
    with np.errstate(invalid="ignore"):  # interpolating between two infinite replicates
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return finite(float(low)), finite(float(high))


@dataclass(frozen=True)
class Outcomes:
    """One evaluation's per-problem outcomes: correct and output_tokens as seeds x problems."""

    problem_ids: tuple[str, ...]
    correct: np.ndarray
    tokens: np.ndarray

    @classmethod
    def from_metrics(cls, per_problem: Mapping[str, Mapping[str, Sequence[float]]]) -> Outcomes:
        ids = tuple(sorted(per_problem))
        correct = np.array([per_problem[i]["correct"] for i in ids], dtype=float).T
        tokens = np.array([per_problem[i]["output_tokens"] for i in ids], dtype=float).T
        return cls(ids, correct.reshape(-1, len(ids)), tokens.reshape(-1, len(ids)))

    @property
    def seeds(self) -> int:
        return self.correct.shape[0]


def accuracy_interval(
    outcomes: Outcomes, settings: Statistics, rng: np.random.Generator
) -> Interval:
    """See the module docstring: Wilson for one seed or no variation, else a two-way bootstrap."""
    k, n = outcomes.correct.shape
    mean = float(outcomes.correct.mean())
    if k == 1 or mean in (0.0, 1.0):
        return wilson_interval(mean * n, n, settings.alpha)
    b = settings.bootstrap_samples
    problems = rng.integers(0, n, size=(b, n))
    seeds = rng.integers(0, k, size=(b, k))
    per_seed = outcomes.correct[:, problems].mean(axis=2)  # seeds x b
    replicates = np.take_along_axis(per_seed.T, seeds, axis=1).mean(axis=1)
    return percentile_interval(replicates, settings.alpha)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise ratio: x/0 is inf for x > 0 and undefined (nan) for 0/0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            denominator == 0, np.where(numerator > 0, np.inf, np.nan), numerator / denominator
        )


def _paired(first: Outcomes, second: Outcomes, where: str) -> tuple[np.ndarray, ...]:
    if first.problem_ids != second.problem_ids:
        raise InputError(f"{where}: the two runs answered different problems; cannot pair them")
    return (
        first.correct.mean(axis=0),
        first.tokens.mean(axis=0),
        second.correct.mean(axis=0),
        second.tokens.mean(axis=0),
    )


def ratio_intervals(
    run: Outcomes, raw: Outcomes, problems: np.ndarray, alpha: float, where: str
) -> dict[str, Interval]:
    """Paired bootstrap intervals of PAIRED_RATIOS (run against raw) over the resampled problem
    indices `problems` (replicates x problems)."""
    acc, tok, raw_acc, raw_tok = (v[problems].mean(axis=1) for v in _paired(run, raw, where))
    retention = _ratio(acc, raw_acc)
    reduction = _ratio(raw_tok, tok)
    gain = _ratio(_ratio(acc, tok), _ratio(raw_acc, raw_tok))
    values = {
        "accuracy_retention": retention,
        "inference_length_reduction": reduction,
        "per_token_efficiency_gain": gain,
    }
    return {name: percentile_interval(v, alpha) for name, v in values.items()}


def difference_replicates(
    first: Outcomes, second: Outcomes, problems: np.ndarray, where: str
) -> np.ndarray:
    """Bootstrap replicates of accuracy(first) - accuracy(second) over paired problem resamples."""
    acc, _, other, _ = _paired(first, second, where)
    return (acc - other)[problems].mean(axis=1)


def compare(
    first: Outcomes, second: Outcomes, problems: np.ndarray, alpha: float, where: str
) -> dict[str, Any]:
    """Accuracy difference first - second, its paired bootstrap interval and a two-sided p-value
    (exact McNemar for one seed each, else the paired bootstrap)."""
    replicates = difference_replicates(first, second, problems, where)
    low, high = percentile_interval(replicates, alpha)
    if first.seeds == 1 and second.seeds == 1:
        a, b = first.correct[0] > 0, second.correct[0] > 0
        test, p = "mcnemar", mcnemar_exact(int(np.sum(a & ~b)), int(np.sum(~a & b)))
    else:
        share = min(np.mean(replicates <= 0), np.mean(replicates >= 0))
        test, p = "bootstrap", float(min(1.0, 2 * share))
    return {
        "difference": float(first.correct.mean() - second.correct.mean()),
        "low": low,
        "high": high,
        "test": test,
        "p": p,
    }


def generator(settings: Statistics, name: str) -> np.random.Generator:
    """A generator seeded by statistics.seed and a name (crc32: stable across processes)."""
    return np.random.default_rng([settings.seed, zlib.crc32(name.encode())])


def problem_resample(settings: Statistics, benchmark: str, n: int) -> np.ndarray:
    """The benchmark's problem resample (bootstrap_samples x n indices): every pair on it shares
    the draw, and adding a run changes no other run's intervals."""
    return generator(settings, benchmark).integers(0, n, size=(settings.bootstrap_samples, n))


def outcomes_by_row(
    cells: Sequence[tuple[Mapping[str, Any], str]], evaluations: Sequence[Mapping[str, Any]]
) -> dict[tuple[Any, ...], Outcomes]:
    """Each (run, benchmark) cell's Outcomes from its evaluation metrics, keyed by ROW_KEYS."""
    found = {}
    for (run, benchmark), metrics in zip(cells, evaluations, strict=True):
        key = tuple({**run, "benchmark": benchmark}[k] for k in ROW_KEYS)
        if PER_PROBLEM not in metrics:
            raise InputError(f"evaluation {key}: no {PER_PROBLEM} outcomes; rerun its evaluation")
        found[key] = Outcomes.from_metrics(metrics[PER_PROBLEM])
    return found


def pooled_difference(
    pairs: Sequence[tuple[Outcomes, Outcomes, str]], settings: Statistics
) -> tuple[float, np.ndarray]:
    """Mean over pairs (first, second, benchmark) of accuracy(first) - accuracy(second), and its
    paired bootstrap replicates (each benchmark's problems resampled as in add_uncertainty, so
    replicates of two pooled means on the same benchmarks pair up)."""
    replicates = np.mean(
        [
            difference_replicates(a, b, problem_resample(settings, name, len(a.problem_ids)), name)
            for a, b, name in pairs
        ],
        axis=0,
    )
    mean = float(np.mean([a.correct.mean() - b.correct.mean() for a, b, _ in pairs]))
    return mean, replicates


def add_uncertainty(
    rows: Sequence[Mapping[str, Any]],
    outcomes: Mapping[tuple[Any, ...], Outcomes],
    settings: Statistics,
) -> list[dict[str, Any]]:
    """The tidy rows (metrics.tidy_table) with their intervals and tests (module docstring).

    `outcomes` maps each row's ROW_KEYS values to its Outcomes; a row without them (or without a
    raw partner, for the ratios and the test against raw) gets None. New columns: accuracy_low/
    _high, <ratio>_low/_high for PAIRED_RATIOS, and per comparison c in COMPARISONS
    (against raw; a compressor against truncated-<compressor>): accuracy_difference_vs_<c> with
    _low/_high, test_vs_<c>, p_vs_<c>, p_adjusted_vs_<c> (Holm within c) and significant_vs_<c>.
    """
    resamples: dict[str, np.ndarray] = {}

    def problems_of(row: Mapping[str, Any], n: int) -> np.ndarray:
        if row["benchmark"] not in resamples:
            resamples[row["benchmark"]] = problem_resample(settings, row["benchmark"], n)
        return resamples[row["benchmark"]]

    by_key = {(*setting_key(row), row["variant"]): row for row in rows}
    out = []
    for row in rows:
        new = dict(row)
        mine = outcomes.get(tuple(row[k] for k in ROW_KEYS))
        where = f"run {'/'.join(str(row[k]) for k in ROW_KEYS)}"
        new["accuracy_low"], new["accuracy_high"] = (
            accuracy_interval(mine, settings, generator(settings, where)) if mine else (None, None)
        )
        partners = {"raw": RAW}
        if variant_kind(row["variant"]) == "compressed":
            partners["truncated"] = TRUNCATED + row["variant"]
        for name in PAIRED_RATIOS:
            new[f"{name}_low"] = new[f"{name}_high"] = None
        for comparison in COMPARISONS:
            for field in ("accuracy_difference", "test", "p", "p_adjusted", "significant"):
                new[f"{field}_vs_{comparison}"] = None
            new[f"accuracy_difference_vs_{comparison}_low"] = None
            new[f"accuracy_difference_vs_{comparison}_high"] = None
        for comparison, variant in partners.items():
            partner = by_key.get((*setting_key(row), variant))
            theirs = partner and outcomes.get(tuple(partner[k] for k in ROW_KEYS))
            if mine is None or theirs is None or row["variant"] == variant:
                continue
            problems = problems_of(row, len(mine.problem_ids))
            if comparison == "raw":
                for name, (low, high) in ratio_intervals(
                    mine, theirs, problems, settings.alpha, where
                ).items():
                    new[f"{name}_low"], new[f"{name}_high"] = low, high
            result = compare(mine, theirs, problems, settings.alpha, where)
            new[f"accuracy_difference_vs_{comparison}"] = result["difference"]
            new[f"accuracy_difference_vs_{comparison}_low"] = result["low"]
            new[f"accuracy_difference_vs_{comparison}_high"] = result["high"]
            new[f"test_vs_{comparison}"] = result["test"]
            new[f"p_vs_{comparison}"] = result["p"]
        out.append(new)
    for comparison in COMPARISONS:
        adjusted = holm([row[f"p_vs_{comparison}"] for row in out])
        for row, p in zip(out, adjusted, strict=True):
            row[f"p_adjusted_vs_{comparison}"] = p
            row[f"significant_vs_{comparison}"] = None if p is None else p < settings.alpha
    return out
