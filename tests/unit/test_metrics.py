import math

import pytest

from compress_distill.grid import Run
from compress_distill.io import InputError
from compress_distill.metrics import (
    DERIVED_METRICS,
    derived_metrics,
    evaluation_metrics,
    metrics_row,
    tidy_table,
    truncation_pairs,
)


def pred(problem, seed=0, correct=True, tokens=100, verdict=None, hit_limit=False):
    return {
        "problem_id": f"p{problem}",
        "seed": seed,
        "output": "...",
        "extracted_answer": None if verdict == "no_answer" else "1",
        "verdict": verdict or ("correct" if correct else "incorrect"),
        "correct": correct,
        "output_tokens": tokens,
        "hit_limit": hit_limit,
    }


def predictions(correct_per_seed, tokens=100):
    """Seed s gets problems p0.. with the first correct_per_seed[s] of 4 correct."""
    return [
        pred(p, seed, correct=p < n, tokens=tokens)
        for seed, n in enumerate(correct_per_seed)
        for p in range(4)
    ]


# Hand-made study: setting (teacher t, student s, full, 100) on bench "b", accuracies and lengths
# chosen so the derived metrics are round numbers.
STUDY = {
    # variant: (correct of 4 per seed, output tokens, train tokens, wall time)
    "raw": ((3, 3), 1000, 10_000, 100.0),
    "llm_a": ((3, 2), 200, 2_500, 25.0),
    "truncated-llm_a": ((2, 1), 200, 2_500, 20.0),
    "answer-only": ((0, 0), 10, 500, 5.0),
}


def study_records(benchmarks=("b",), modes=("full",)):
    records = []
    for benchmark in benchmarks:
        for mode in modes:
            for variant, (correct, tokens, train_tokens, wall) in STUDY.items():
                run = Run("t", variant, "s", mode, 100)
                train = {
                    "train_tokens": train_tokens,
                    "wall_time_all_attempts_s": wall,
                    "mode": mode,
                }
                records.append(
                    metrics_row(
                        run, benchmark, evaluation_metrics(predictions(correct, tokens)), train
                    )
                )
    return records


def study_rows(**kwargs):
    return tidy_table(study_records(**kwargs))


def test_evaluation_metrics_one_seed():
    rows = [
        pred(0, tokens=10),
        pred(1, tokens=20),
        pred(2, correct=False, tokens=30, hit_limit=True),
        pred(3, correct=False, tokens=100, verdict="no_answer"),
    ]
    assert evaluation_metrics(rows) == {
        "n_problems": 4,
        "n_seeds": 1,
        "accuracy": 0.5,
        "accuracy_std": 0.0,
        "mean_output_tokens": 40.0,
        "median_output_tokens": 25.0,
        "no_answer_rate": 0.25,
        "hit_limit_rate": 0.25,
        "per_problem": {
            "p0": {"correct": [1], "output_tokens": [10]},
            "p1": {"correct": [1], "output_tokens": [20]},
            "p2": {"correct": [0], "output_tokens": [30]},
            "p3": {"correct": [0], "output_tokens": [100]},
        },
    }


def test_evaluation_metrics_several_seeds_mean_and_sample_std():
    # Per-seed accuracies 0.5, 1.0, 0.75: mean 0.75, sample std 0.25.
    metrics = evaluation_metrics(predictions([2, 4, 3]))
    assert (metrics["n_problems"], metrics["n_seeds"]) == (4, 3)
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["accuracy_std"] == pytest.approx(0.25)
    # Per problem, one entry per seed in seed order: seeds 0, 1, 2 solve the first 2, 4, 3.
    assert metrics["per_problem"]["p2"]["correct"] == [0, 1, 1]
    assert metrics["per_problem"]["p3"]["correct"] == [0, 1, 0]


def test_metrics_rows_leave_the_per_problem_outcomes_out():
    record = metrics_row(
        Run("t", "raw", "s", "full", 100), "b", evaluation_metrics(predictions([2])), {}
    )
    assert "per_problem" not in record and record["accuracy"] == 0.5


def test_evaluation_metrics_zero_accuracy_and_zero_tokens():
    metrics = evaluation_metrics(predictions([0], tokens=0))
    assert metrics["accuracy"] == 0.0
    assert metrics["mean_output_tokens"] == 0.0


def test_evaluation_metrics_rejects_empty_duplicate_partial_and_incomplete_rows():
    with pytest.raises(ValueError, match="no predictions"):
        evaluation_metrics([])
    with pytest.raises(InputError, match="duplicate prediction for seed 0"):
        evaluation_metrics([pred(0), pred(0)])
    with pytest.raises(InputError, match="seed 1 has predictions for 1 of the 2 problems"):
        evaluation_metrics([pred(0), pred(1), pred(0, seed=1)])
    row = pred(0)
    del row["output_tokens"]
    with pytest.raises(InputError, match="'output_tokens'"):
        evaluation_metrics([row])


RAW = {
    "accuracy": 0.8,
    "mean_output_tokens": 1000,
    "train_tokens": 10_000,
    "wall_time_all_attempts_s": 100,
}


def test_derived_metrics_hand_computed():
    run = {
        "accuracy": 0.6,
        "mean_output_tokens": 200,
        "train_tokens": 2_500,
        "wall_time_all_attempts_s": 25,
    }
    derived = derived_metrics(run, RAW)
    assert derived == pytest.approx(
        {
            "accuracy_retention": 0.75,
            "inference_length_reduction": 5.0,
            "training_token_ratio": 0.25,
            "training_speedup": 4.0,
            # (0.6 / 200) / (0.8 / 1000)
            "per_token_efficiency_gain": 3.75,
        }
    )
    assert derived_metrics(RAW, RAW) == dict.fromkeys(DERIVED_METRICS, 1.0)


def test_derived_metrics_zero_accuracy():
    zero = RAW | {"accuracy": 0.0}
    run = derived_metrics(zero, RAW)
    assert run["accuracy_retention"] == 0.0
    assert run["per_token_efficiency_gain"] == 0.0
    # Against a raw run that got nothing right, retention and efficiency gain are undefined.
    against_zero = derived_metrics(RAW, zero)
    assert against_zero["accuracy_retention"] is None
    assert against_zero["per_token_efficiency_gain"] is None
    assert against_zero["training_speedup"] == 1.0


def test_derived_metrics_zero_denominators_and_missing_inputs():
    run = derived_metrics(RAW | {"mean_output_tokens": 0, "wall_time_all_attempts_s": 0}, RAW)
    assert run["inference_length_reduction"] is None
    assert run["per_token_efficiency_gain"] is None
    assert run["training_speedup"] is None
    no_train = derived_metrics({"accuracy": 0.4, "mean_output_tokens": 500}, RAW)
    assert no_train["training_token_ratio"] is None
    assert no_train["training_speedup"] is None
    assert no_train["accuracy_retention"] == pytest.approx(0.5)
    nan = derived_metrics(RAW | {"accuracy": math.nan}, RAW)
    assert nan["accuracy_retention"] is None


def test_derived_metrics_without_raw_run_are_all_none():
    assert derived_metrics(RAW, None) == dict.fromkeys(DERIVED_METRICS)


def test_tidy_table_pairs_each_row_with_its_raw_partner():
    rows = study_rows(benchmarks=("b", "a"))
    assert [(r["benchmark"], r["variant"]) for r in rows] == [
        (b, v) for b in ("a", "b") for v in ("raw", "llm_a", "truncated-llm_a", "answer-only")
    ]
    by_variant = {r["variant"]: r for r in rows if r["benchmark"] == "b"}
    llm = by_variant["llm_a"]
    # raw 0.75 accuracy at 1000 tokens; llm_a 0.625 at 200.
    assert llm["accuracy"] == pytest.approx(0.625)
    assert llm["accuracy_retention"] == pytest.approx(0.625 / 0.75)
    assert llm["inference_length_reduction"] == pytest.approx(5.0)
    assert llm["training_token_ratio"] == pytest.approx(0.25)
    assert llm["training_speedup"] == pytest.approx(4.0)
    assert llm["per_token_efficiency_gain"] == pytest.approx((0.625 / 200) / (0.75 / 1000))
    assert by_variant["answer-only"]["accuracy_retention"] == 0.0
    assert by_variant["raw"]["accuracy_retention"] == 1.0
    assert list(llm)[:6] == ["teacher", "variant", "student", "mode", "regime", "benchmark"]


def test_tidy_table_missing_raw_run_gives_none_and_duplicates_are_refused():
    records = [r for r in study_records() if r["variant"] != "raw"]
    assert all(row[key] is None for row in tidy_table(records) for key in DERIVED_METRICS)
    with pytest.raises(InputError, match="duplicate run and benchmark"):
        tidy_table(records + records[:1])


def test_tidy_table_sorts_regimes_numerically():
    records = [
        {"teacher": "t", "variant": "raw", "student": "s", "mode": "full", "regime": regime}
        | {"benchmark": "b", "accuracy": 0.5}
        for regime in (1000, 600)
    ]
    assert [row["regime"] for row in tidy_table(records)] == [600, 1000]


def test_metrics_row_flattens_training_metrics_and_checks_shared_keys():
    run = Run("t", "raw", "s", "lora", 100)
    train = {"train_tokens": 5, "mode": "lora", "peak_memory": {"bytes": 7, "kind": "rss"}}
    record = metrics_row(run, "b", evaluation_metrics([pred(0)]), train)
    assert record["peak_memory.bytes"] == 7
    assert record["train_tokens"] == 5
    assert record["accuracy"] == 1.0
    with pytest.raises(InputError, match="mode='full'"):
        metrics_row(run, "b", evaluation_metrics([pred(0)]), train | {"mode": "full"})


def test_truncation_pairs_put_each_compressor_next_to_its_twin():
    (pair,) = truncation_pairs(study_rows())
    assert pair["compressor"] == "llm_a"
    assert pair["truncated"]["variant"] == "truncated-llm_a"
    # 0.625 - 0.375
    assert pair["accuracy_difference"] == pytest.approx(0.25)
