"""The study's headline quantities, each defined once here.

Per evaluation job (one run x one benchmark), `evaluation_metrics` reduces the per-sample
predictions. Against the raw run of the same teacher, student, mode, regime and benchmark,
`derived_metrics` gives the ratios the paper reports. `tidy_table` pairs every row with its raw
partner.

Undefined values (a zero denominator, a missing raw run, a missing input) are None, never NaN or
inf, so tables print "–" and plots skip the point.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from compress_distill.grid import RAW, RUN_KEYS, TRUNCATED, Run, variant_kind, variant_sort_key
from compress_distill.io import InputError, require_fields
from compress_distill.stats import finite, ratio

PREDICTION_FIELDS = ("problem_id", "seed", "verdict", "correct", "output_tokens", "hit_limit")
DERIVED_METRICS = (
    "accuracy_retention",
    "inference_length_reduction",
    "training_token_ratio",
    "training_speedup",
    "per_token_efficiency_gain",
)
# A raw partner shares every run key but the variant, and the benchmark.
PARTNER_KEYS = (*(key for key in RUN_KEYS if key != "variant"), "benchmark")
ROW_KEYS = (*RUN_KEYS, "benchmark")
# The evaluation metrics' per-problem outcomes (inference.py's input), kept out of the tidy rows.
PER_PROBLEM = "per_problem"


def evaluation_metrics(predictions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy and output length of one evaluation job.

    With k seeds (k = 1 for greedy decoding) over the same N problems, and rows r:

    - accuracy = (1/k) * sum_s acc_s, where acc_s = (#correct rows of seed s) / N
    - accuracy_std = sample standard deviation of acc_s over seeds (ddof = 1); 0.0 when k = 1
    - mean_output_tokens / median_output_tokens = mean / median of output_tokens over all k*N rows
    - no_answer_rate = #(verdict == "no_answer") / (k*N)
    - hit_limit_rate = #(hit_limit) / (k*N): generations cut at max_new_tokens
    - per_problem = {problem_id: {"correct": [0 or 1 per seed], "output_tokens": [per seed]}},
      seeds in ascending order: what the intervals and paired tests (inference.py) resample, and
      small enough for the bundle, which leaves the predictions out

    Every seed must cover the same problems, once each: a partial job would bias the mean.
    """
    if not predictions:
        raise ValueError(
            "evaluation_metrics: no predictions (an empty evaluation job has no metrics)"
        )
    by_seed: dict[int, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for index, row in enumerate(predictions):
        where = f"prediction {index} (problem {row.get('problem_id')!r})"
        require_fields(row, PREDICTION_FIELDS, where)
        seen = by_seed[row["seed"]]
        if row["problem_id"] in seen:
            raise InputError(f"{where}: duplicate prediction for seed {row['seed']}")
        seen[row["problem_id"]] = row
    problems = set().union(*(set(rows) for rows in by_seed.values()))
    for seed, rows in by_seed.items():
        if len(rows) != len(problems):
            raise InputError(
                f"seed {seed} has predictions for {len(rows)} of the {len(problems)} problems; "
                "every seed must cover the same problems"
            )
    per_seed = [
        sum(bool(row["correct"]) for row in rows.values()) / len(rows) for rows in by_seed.values()
    ]
    tokens = [row["output_tokens"] for row in predictions]
    n = len(predictions)
    seeds = sorted(by_seed)
    return {
        "n_problems": len(problems),
        "n_seeds": len(by_seed),
        "accuracy": statistics.fmean(per_seed),
        "accuracy_std": statistics.stdev(per_seed) if len(per_seed) > 1 else 0.0,
        "mean_output_tokens": statistics.fmean(tokens),
        "median_output_tokens": float(statistics.median(tokens)),
        "no_answer_rate": sum(row["verdict"] == "no_answer" for row in predictions) / n,
        "hit_limit_rate": sum(bool(row["hit_limit"]) for row in predictions) / n,
        PER_PROBLEM: {
            problem: {
                "correct": [int(bool(by_seed[seed][problem]["correct"])) for seed in seeds],
                "output_tokens": [by_seed[seed][problem]["output_tokens"] for seed in seeds],
            }
            for problem in sorted(problems)
        },
    }


def _efficiency(row: Mapping[str, Any]) -> float | None:
    """Accuracy per output token: accuracy / mean_output_tokens."""
    return ratio(row.get("accuracy"), row.get("mean_output_tokens"))


def derived_metrics(run: Mapping[str, Any], raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The paper's ratios of a run (with run and training metrics) against its raw partner.

    - accuracy_retention = accuracy / raw accuracy
    - inference_length_reduction = raw mean_output_tokens / mean_output_tokens
    - training_token_ratio = train_tokens / raw train_tokens
    - training_speedup = raw wall_time_all_attempts_s / wall_time_all_attempts_s
    - per_token_efficiency_gain = (accuracy / mean_output_tokens)
      / (raw accuracy / raw mean_output_tokens)

    Each is None when undefined: no raw partner, a missing input, or a zero denominator (raw
    accuracy 0 makes retention and efficiency gain undefined; a run with accuracy 0 and a defined
    denominator gets 0.0). The raw run against itself gives 1.0 wherever defined.
    """
    if raw is None:
        return dict.fromkeys(DERIVED_METRICS)
    return {
        "accuracy_retention": ratio(run.get("accuracy"), raw.get("accuracy")),
        "inference_length_reduction": ratio(
            raw.get("mean_output_tokens"), run.get("mean_output_tokens")
        ),
        "training_token_ratio": ratio(run.get("train_tokens"), raw.get("train_tokens")),
        "training_speedup": ratio(
            raw.get("wall_time_all_attempts_s"), run.get("wall_time_all_attempts_s")
        ),
        "per_token_efficiency_gain": ratio(_efficiency(run), _efficiency(raw)),
    }


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts become dotted keys, so every row stays one flat CSV line."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def metrics_row(
    run: Run,
    benchmark: str,
    metrics: Mapping[str, Any],
    train_metrics: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One tidy_table input: run keys, benchmark, the evaluation's metrics (evaluation_metrics of
    its predictions, without PER_PROBLEM) and the (flattened) training metrics.

    A key both sides carry (train_metrics.json repeats `mode`) must agree: a mismatch means the
    files of two different runs were paired.
    """
    summary = {key: value for key, value in metrics.items() if key != PER_PROBLEM}
    record: dict[str, Any] = {**asdict(run), "benchmark": benchmark, **summary}
    for key, value in _flatten(train_metrics or {}).items():
        if key in record and record[key] != value:
            raise InputError(
                f"run {run.path}, benchmark {benchmark}: training metric {key}={value!r} "
                f"disagrees with {record[key]!r}"
            )
        record[key] = value
    return record


def _sortable(value: Any) -> tuple[int, Any]:
    """Numbers (regimes) sort numerically, before any text."""
    return (0, value) if finite(value) is not None else (1, str(value))


def setting_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """Teacher, student, mode, regime, benchmark: what a run and its raw partner share."""
    return tuple(row[key] for key in PARTNER_KEYS)


def _row_sort_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (*(_sortable(value) for value in setting_key(row)), variant_sort_key(row["variant"]))


def tidy_table(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One flat row per (run, benchmark): the record's fields plus derived_metrics against the raw
    record of the same teacher, student, mode, regime and benchmark (all None where there is none).

    Rows come sorted by teacher, student, mode, regime, benchmark, then variant_sort_key.
    """
    keyed: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for index, record in enumerate(records):
        require_fields(record, ROW_KEYS, f"record {index}")
        key = tuple(record[k] for k in ROW_KEYS)
        if key in keyed:
            raise InputError(f"record {index}: duplicate run and benchmark {key}")
        keyed[key] = record
    raws = {setting_key(r): r for r in keyed.values() if r["variant"] == RAW}
    rows = []
    for record in keyed.values():
        raw = raws.get(setting_key(record))
        ordered = {key: record[key] for key in ROW_KEYS}
        rows.append(ordered | dict(record) | derived_metrics(record, raw))
    return sorted(rows, key=_row_sort_key)


def truncation_pairs(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each compressor's row next to its length-matched truncated-<compressor> twin of the same
    setting (teacher, student, mode, regime, benchmark), in row order.

    accuracy_difference = compressed accuracy - truncated accuracy (positive: compression wins);
    None when either accuracy is missing. Rows without a twin are left out.
    """
    by_key = {(*setting_key(row), row["variant"]): row for row in rows}
    pairs = []
    for row in rows:
        variant = row["variant"]
        if variant_kind(variant) != "compressed":
            continue
        twin = by_key.get((*setting_key(row), TRUNCATED + variant))
        if twin is None:
            continue
        compressed, truncated = finite(row.get("accuracy")), finite(twin.get("accuracy"))
        difference = None if compressed is None or truncated is None else compressed - truncated
        pairs.append(
            {
                **{key: row[key] for key in PARTNER_KEYS},
                "compressor": variant,
                "compressed": row,
                "truncated": twin,
                "accuracy_difference": difference,
            }
        )
    return pairs
