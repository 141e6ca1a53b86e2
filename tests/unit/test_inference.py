"""Intervals and paired tests (compress_distill.inference): textbook and hand-worked values."""

import numpy as np
import pytest

from compress_distill.inference import (
    Outcomes,
    accuracy_interval,
    add_uncertainty,
    compare,
    holm,
    mcnemar_exact,
    outcomes_by_row,
    percentile_interval,
    problem_resample,
    ratio_intervals,
    wilson_interval,
)
from compress_distill.io import InputError
from compress_distill.metrics import PER_PROBLEM, ROW_KEYS, evaluation_metrics
from compress_distill.stats import Statistics
from tests.unit.test_metrics import STUDY, predictions, study_records, study_rows

FAST = Statistics(bootstrap_samples=400)


def outcomes(correct_per_seed, tokens=100):
    """Outcomes as evaluation_metrics writes them (see test_metrics.predictions)."""
    return Outcomes.from_metrics(
        evaluation_metrics(predictions(correct_per_seed, tokens))[PER_PROBLEM]
    )


def binary(correct, tokens=None):
    """One seed: correct[i] for problem i."""
    tokens = tokens or [10] * len(correct)
    per_problem = {
        f"p{i:02d}": {"correct": [c], "output_tokens": [t]}
        for i, (c, t) in enumerate(zip(correct, tokens, strict=True))
    }
    return Outcomes.from_metrics(per_problem)


def study_outcomes(records=None):
    """Each study record's outcomes, keyed as add_uncertainty reads them."""
    found = {}
    for record in records or study_records():
        correct, tokens, *_ = STUDY[record["variant"]]
        found[tuple(record[k] for k in ROW_KEYS)] = outcomes(correct, tokens)
    return found


def uncertain_rows(settings=FAST, **kwargs):
    """test_metrics' study rows with their intervals and tests."""
    records = study_records(**kwargs)
    return add_uncertainty(study_rows(**kwargs), study_outcomes(records), settings)


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        # Textbook 95% Wilson intervals (e.g. Newcombe 1998; statsmodels proportion_confint).
        (0, 10, (0.0, 0.27753)),
        (10, 10, (0.72247, 1.0)),
        (7, 10, (0.39678, 0.89221)),
        (1, 1, (0.20654, 1.0)),
    ],
)
def test_wilson_textbook_values(successes, n, expected):
    low, high = wilson_interval(successes, n, 0.05)
    assert (low, high) == pytest.approx(expected, abs=1e-5)


def test_wilson_edges_are_exact_and_empty_is_an_error():
    assert wilson_interval(0, 50, 0.05)[0] == 0.0
    assert wilson_interval(50, 50, 0.05)[1] == 1.0
    # A wider level (alpha 0.01) gives a wider interval.
    assert wilson_interval(7, 10, 0.01)[0] < wilson_interval(7, 10, 0.05)[0]
    with pytest.raises(ValueError, match="n must be positive"):
        wilson_interval(0, 0, 0.05)


def test_mcnemar_exact_hand_counted():
    # 1 vs 6 discordant pairs: 2 * P(X <= 1), X ~ Bin(7, 1/2) = 2 * (1 + 7) / 128.
    assert mcnemar_exact(1, 6) == pytest.approx(0.125)
    assert mcnemar_exact(6, 1) == mcnemar_exact(1, 6)
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)
    assert mcnemar_exact(0, 0) == 1.0  # no discordant pair: no evidence
    assert mcnemar_exact(3, 3) == 1.0  # capped at 1
    # Large counts stay exact: 0 vs 2000 is far below any level.
    assert 0 < mcnemar_exact(0, 2000) < 1e-300 or mcnemar_exact(0, 2000) == 0.0


def test_holm_hand_worked():
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> running max.
    assert holm([0.01, 0.04, 0.03, None, 0.005]) == pytest.approx([0.03, 0.06, 0.06, None, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []


def test_percentile_interval_drops_undefined_and_unbounded_is_none():
    assert percentile_interval(np.array([np.nan, np.nan]), 0.05) == (None, None)
    low, high = percentile_interval(np.array([1.0, 2.0, np.inf, np.inf]), 0.05)
    assert low == pytest.approx(1.075) and high is None


def test_one_seed_accuracy_interval_is_wilson():
    run = binary([1] * 7 + [0] * 3)
    rng = np.random.default_rng(0)
    assert accuracy_interval(run, FAST, rng) == pytest.approx(wilson_interval(7, 10, 0.05))


def test_several_seeds_all_right_or_all_wrong_fall_back_to_wilson():
    rng = np.random.default_rng(0)
    assert accuracy_interval(outcomes([4, 4]), FAST, rng) == pytest.approx(
        wilson_interval(4, 4, 0.05)
    )
    assert accuracy_interval(outcomes([0, 0, 0]), FAST, rng) == pytest.approx(
        (0.0, 0.4899), abs=1e-4
    )


def test_several_seeds_count_the_seeds_spread():
    # Every problem's seed-averaged correctness is 1/2: resampling problems alone sees no noise;
    # seed 0 solves all, seed 1 none, so resampling seeds must widen the interval.
    per_problem = {f"p{i}": {"correct": [1, 0], "output_tokens": [5, 5]} for i in range(20)}
    low, high = accuracy_interval(
        Outcomes.from_metrics(per_problem), FAST, np.random.default_rng(0)
    )
    assert low == 0.0 and high == 1.0
    # Seeds that agree: the interval comes from the problems alone, and holds the mean.
    agreeing = {f"p{i}": {"correct": [i % 2, i % 2], "output_tokens": [5, 5]} for i in range(20)}
    low, high = accuracy_interval(Outcomes.from_metrics(agreeing), FAST, np.random.default_rng(0))
    assert 0.2 < low < 0.5 < high < 0.8


def test_paired_ratio_intervals_hand_made():
    raw = binary([1, 1, 0, 1], tokens=[100, 100, 100, 100])
    half = binary([1, 1, 0, 1], tokens=[50, 50, 50, 50])
    problems = problem_resample(FAST, "b", 4)
    found = ratio_intervals(half, raw, problems, 0.05, "test")
    # Same outcomes at half the length: retention 1 and length reduction 2 in every resample.
    assert found["accuracy_retention"] == (1.0, 1.0)
    assert found["inference_length_reduction"] == (2.0, 2.0)
    assert found["per_token_efficiency_gain"] == (2.0, 2.0)


def test_ratio_over_a_raw_run_that_never_answers_is_unbounded():
    raw, run = binary([0, 0, 0, 0]), binary([1, 0, 0, 0])
    found = ratio_intervals(run, raw, problem_resample(FAST, "b", 4), 0.05, "test")
    assert found["accuracy_retention"] == (None, None)


def test_pairing_needs_the_same_problems():
    with pytest.raises(InputError, match="different problems"):
        compare(binary([1, 0]), binary([1, 0, 1]), problem_resample(FAST, "b", 2), 0.05, "run x")


def test_compare_uses_mcnemar_for_one_seed_each():
    first = binary([1] * 6 + [0] * 4)
    second = binary([0] * 6 + [1] * 1 + [0] * 3)
    # Discordant: 6 problems only first solved, 1 only second: p = mcnemar_exact(6, 1).
    found = compare(first, second, problem_resample(FAST, "b", 10), 0.05, "test")
    assert found["test"] == "mcnemar" and found["p"] == pytest.approx(0.125)
    assert found["difference"] == pytest.approx(0.5)
    assert found["low"] <= 0.5 <= found["high"]


def test_compare_uses_the_bootstrap_with_several_seeds():
    found = compare(outcomes([4, 4]), outcomes([0, 0]), problem_resample(FAST, "b", 4), 0.05, "x")
    assert found["test"] == "bootstrap"
    assert found["difference"] == 1.0 and found["p"] == 0.0


def test_add_uncertainty_columns_holm_and_determinism():
    rows = uncertain_rows()
    by_variant = {row["variant"]: row for row in rows}
    raw, compressed = by_variant["raw"], by_variant["llm_a"]
    assert raw["p_vs_raw"] is None and raw["accuracy_retention_low"] is None
    assert compressed["test_vs_raw"] == "bootstrap"  # two seeds each
    assert compressed["p_vs_truncated"] is not None
    assert by_variant["answer-only"]["p_vs_truncated"] is None  # no truncated twin
    tested = [row for row in rows if row["p_vs_raw"] is not None]
    assert len(tested) == 3
    assert [row["p_adjusted_vs_raw"] for row in tested] == pytest.approx(
        holm([row["p_vs_raw"] for row in tested])
    )
    for row in rows:
        assert row["accuracy_low"] <= row["accuracy"] <= row["accuracy_high"]
        assert row["significant_vs_raw"] == (
            None if row["p_adjusted_vs_raw"] is None else row["p_adjusted_vs_raw"] < FAST.alpha
        )
    # Answer-only scores 0 of 8 against raw's 6 of 8: significant after Holm.
    assert by_variant["answer-only"]["significant_vs_raw"] is True
    assert uncertain_rows() == rows  # seeded: the same intervals every time
    assert uncertain_rows(Statistics(bootstrap_samples=400, seed=1)) != rows


def test_a_missing_raw_run_leaves_the_paired_quantities_undefined():
    records = [r for r in study_records() if r["variant"] != "raw"]
    rows = add_uncertainty(
        [r for r in study_rows() if r["variant"] != "raw"], study_outcomes(records), FAST
    )
    for row in rows:
        assert row["accuracy_low"] is not None
        assert row["accuracy_retention_low"] is None and row["p_vs_raw"] is None
    # The compressor-truncation comparison does not need raw.
    assert next(r for r in rows if r["variant"] == "llm_a")["p_vs_truncated"] is not None


def test_a_run_without_outcomes_gets_no_interval():
    rows = add_uncertainty(study_rows(), {}, FAST)
    assert all(row["accuracy_low"] is None and row["p_vs_raw"] is None for row in rows)


def test_outcomes_by_row_reads_the_evaluation_metrics():
    metrics = evaluation_metrics(predictions([3, 1]))
    run = {"teacher": "t", "variant": "raw", "student": "s", "mode": "full", "regime": 100}
    found = outcomes_by_row([(run, "b")], [metrics])
    assert found[("t", "raw", "s", "full", 100, "b")].correct.tolist() == [
        [1, 1, 1, 0],
        [1, 0, 0, 0],
    ]
    with pytest.raises(InputError, match="rerun its evaluation"):
        outcomes_by_row([(run, "b")], [{"accuracy": 0.5}])
