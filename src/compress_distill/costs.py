"""The full cost of each variant: a ledger of every job's device time from its provenance record,
each variant's end-to-end cost, and the runs a compressor must serve before it pays for itself.

A job's cost is its wall time times what it held (the record's `held`: the scheduler's threads
and GPUs): GPU-hours for the jobs that held GPUs, CPU core-hours for every job. A variant's
end-to-end cost is the shared setup (problem sets, students' tokenizers and bases), its teacher's
generation and verification (shared by all the teacher's variants), its compressor's compression
(a truncated-<compressor> variant needs it too: it is cut to the compressed lengths), and its own
training sets, training runs and evaluations.

Break-even: compression cost / (raw training cost per run − the variant's training cost per run),
over the runs the two share (same student, mode and regime): how many runs the compressor must
serve before faster training repays it. At the configured scale (`costs.scale`, the paper's by
default) the measured rates are extrapolated linearly, an ASSUMPTION: generation, verification
and compression by verified traces per teacher, training by training examples per run.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compress_distill.grid import RAW, RUN_KEYS, compressor_of, variant_sort_key
from compress_distill.io import atomic_writer, read_json
from compress_distill.provenance import records
from compress_distill.tables import UNDEFINED, Table, format_number, to_markdown, write_csv

# The workflow's stages by rule. The aggregates (tables, figures, report, bundle, this ledger)
# are left out: an unpacked bundle reruns them, so counting them would change its ledger.
STAGES = {
    "problems": "setup",
    "student_tokenizer": "setup",
    "base_model": "setup",
    "training_set_tokens": "setup",
    "shared_training_set_tokens": "setup",
    "generate": "generation",
    "verify": "verification",
    "teacher_stats": "verification",
    "compress": "compression",
    "training_set": "training_sets",
    "train": "training",
    "evaluate": "evaluation",
}
STAGE_ORDER = (
    "setup",
    "generation",
    "verification",
    "compression",
    "training_sets",
    "training",
    "evaluation",
)
# Stages shared by every variant of a teacher (setup: by every variant of every teacher).
TEACHER_STAGES = ("generation", "verification")
RUN_STAGES = ("training_sets", "training", "evaluation")
LEDGER_KEYS = ("teacher", "compressor", "variant", "student", "mode", "regime")
UNITS = {"gpu": "GPU-h", "core": "CPU core-h"}
# Hours to 9 decimals (3.6 microseconds): the ledger's sums stay its records' to the millisecond.
DIGITS = 9


@dataclass(frozen=True)
class Job:
    """One job's record, as the ledger counts it."""

    rule: str
    wildcards: Mapping[str, str]
    wall_s: float
    threads: int
    gpus: int

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Job:
        # Records written before `held` was recorded: the GPUs the job saw, one core.
        held = record.get("held") or {"threads": 1, "gpus": record["hardware"]["gpu_count"]}
        return cls(
            rule=record["rule"],
            wildcards={key: str(value) for key, value in record["wildcards"].items()},
            wall_s=float(record["wall_time_s"]),
            threads=int(held["threads"]),
            gpus=int(held["gpus"]),
        )

    @property
    def stage(self) -> str:
        return STAGES[self.rule]

    def key(self, name: str) -> str:
        """A wildcard's value, "" when the job has none; a run's compressor is its variant's."""
        if name == "compressor" and "compressor" not in self.wildcards:
            variant = self.wildcards.get("variant")
            return (compressor_of(variant) if variant else None) or ""
        return self.wildcards.get(name, "")

    def hours(self, unit: str) -> float:
        held = self.gpus if unit == "gpu" else self.threads
        return self.wall_s * held / 3600


@dataclass(frozen=True)
class Grid:
    """What the config asks for, by wildcard; records of other jobs (left by an earlier config)
    are not counted. `runs`: the run paths (teacher/variant/student/mode/regime)."""

    values: Mapping[str, Collection[str]]
    runs: Collection[str]

    def counts(self, job: Job) -> bool:
        if any(
            name in self.values and value not in self.values[name]
            for name, value in job.wildcards.items()
        ):
            return False
        if all(key in job.wildcards for key in RUN_KEYS):
            return "/".join(job.wildcards[key] for key in RUN_KEYS) in self.runs
        return True


def jobs(root: str | Path, grid: Grid) -> list[Job]:
    """The counted jobs: those of the workflow's stages (STAGES) in the configured grid."""
    found = (Job.from_record(record) for _, record in records(root))
    return [job for job in found if job.rule in STAGES and grid.counts(job)]


def unit_of(jobs: Iterable[Job]) -> str:
    """GPU-hours when any job held a GPU (CPU jobs then cost none of them), else core-hours."""
    return "gpu" if any(job.gpus for job in jobs) else "core"


def _hours(jobs: Iterable[Job], unit: str) -> float:
    return sum(job.hours(unit) for job in jobs)


def ledger(jobs: Sequence[Job]) -> list[dict[str, Any]]:
    """Jobs, wall hours, GPU-hours and core-hours summed per stage, rule and LEDGER_KEYS."""
    groups: dict[tuple[str, ...], list[Job]] = defaultdict(list)
    for job in jobs:
        groups[(job.stage, job.rule, *(job.key(k) for k in LEDGER_KEYS))].append(job)
    rows = []
    for key in sorted(groups, key=lambda k: (STAGE_ORDER.index(k[0]), k[1:])):
        group = groups[key]
        rows.append(
            {
                "stage": key[0],
                "rule": key[1],
                **dict(zip(LEDGER_KEYS, key[2:], strict=True)),
                "jobs": len(group),
                "wall_h": round(sum(job.wall_s for job in group) / 3600, DIGITS),
                "gpu_h": round(_hours(group, "gpu"), DIGITS),
                "core_h": round(_hours(group, "core"), DIGITS),
            }
        )
    return rows


def break_even(
    compression: float, raw_per_run: float | None, variant_per_run: float | None
) -> float | None:
    """Runs a compressor must serve before its cost is repaid by faster training: None without a
    raw run to compare; infinite when the variant does not train faster."""
    if raw_per_run is None or variant_per_run is None:
        return None
    saving = raw_per_run - variant_per_run
    if saving <= 0:
        return math.inf
    return compression / saving


@dataclass(frozen=True)
class Scale:
    """The scale the measured rates are extrapolated to (config `costs.scale`)."""

    traces_per_teacher: int
    runs_per_variant: int


def _per_run(
    runs: Mapping[tuple[str, ...], float], keys: Collection[tuple[str, ...]], factor: Any
) -> float | None:
    """Mean cost per run over `keys`, each scaled by factor(key); None without keys."""
    return statistics.fmean(runs[k] * factor(k) for k in keys) if keys else None


def variant_costs(
    jobs: Sequence[Job], verified: Mapping[str, int], scale: Scale
) -> list[dict[str, Any]]:
    """Per teacher and variant: the cost of each stage and in all, and the break-even, as
    measured and at `scale`. `verified`: each teacher's verified traces (what compression
    compressed)."""
    unit = unit_of(jobs)
    pairs = sorted(
        {(j.key("teacher"), j.key("variant")) for j in jobs if j.stage in RUN_STAGES},
        key=lambda p: (p[0], variant_sort_key(p[1])),
    )

    def training(teacher: str, variant: str) -> dict[tuple[str, ...], float]:
        """Each run's training cost, by (student, mode, regime)."""
        return {
            (j.key("student"), j.key("mode"), j.key("regime")): j.hours(unit)
            for j in jobs
            if j.stage == "training" and (j.key("teacher"), j.key("variant")) == (teacher, variant)
        }

    def spent(stage: str, **keys: str | None) -> float:
        """The hours of a stage's jobs whose wildcards (LEDGER_KEYS) equal `keys`."""
        matching = (
            j for j in jobs if j.stage == stage and all(j.key(k) == v for k, v in keys.items())
        )
        return _hours(matching, unit)

    rows = []
    for teacher, variant in pairs:
        compressor = compressor_of(variant)
        stages = {
            "setup": spent("setup"),
            **{s: spent(s, teacher=teacher) for s in TEACHER_STAGES},
            "compression": spent("compression", teacher=teacher, compressor=compressor or ""),
            **{s: spent(s, teacher=teacher, variant=variant) for s in RUN_STAGES},
        }
        runs, raw = training(teacher, variant), training(teacher, RAW)
        shared = runs.keys() & raw.keys()
        per_trace = scale.traces_per_teacher / verified[teacher]

        def per_example(key: tuple[str, ...]) -> float:
            return scale.traces_per_teacher / int(key[2])

        measured = [_per_run(r, shared, lambda _: 1.0) for r in (runs, raw)]
        scaled = [_per_run(r, shared, per_example) for r in (runs, raw)]
        applies = compressor is not None  # raw and answer-only have no compressor
        rows.append(
            {
                "teacher": teacher,
                "variant": variant,
                "compressor": compressor or "",
                "unit": UNITS[unit],
                **{stage: round(hours, DIGITS) for stage, hours in stages.items()},
                "total": round(sum(stages.values()), DIGITS),
                "runs": len(runs),
                "training_per_run": _rounded(_per_run(runs, runs.keys(), lambda _: 1.0)),
                "raw_training_per_run": _rounded(measured[1]),
                "break_even_runs": _rounded(
                    break_even(stages["compression"], measured[1], measured[0]) if applies else None
                ),
                "traces_at_scale": scale.traces_per_teacher,
                "compression_at_scale": round(stages["compression"] * per_trace, DIGITS),
                "training_per_run_at_scale": _rounded(scaled[0]),
                "raw_training_per_run_at_scale": _rounded(scaled[1]),
                "break_even_runs_at_scale": _rounded(
                    break_even(stages["compression"] * per_trace, scaled[1], scaled[0])
                    if applies
                    else None
                ),
                "runs_at_scale": scale.runs_per_variant,
            }
        )
    return rows


def _rounded(value: float | None, digits: int = DIGITS) -> float | None:
    return value if value is None or math.isinf(value) else round(value, digits)


def format_break_even(value: float | None) -> str:
    if value is None:
        return UNDEFINED
    return "never" if math.isinf(value) else format_number(value, 2)


def display_unit(rows: Sequence[Mapping[str, Any]]) -> tuple[float, str]:
    """Hours, or seconds when no variant costs an hour (the demo's), as (factor, label)."""
    unit = rows[0]["unit"] if rows else UNITS["core"]
    if any(row["total"] >= 1 for row in rows):
        return 1.0, unit
    return 3600.0, unit.removesuffix("-h") + "-s"


def costs_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """One section per teacher: each variant's stage costs, total and break-even."""
    factor, unit = display_unit(rows)
    columns = [
        "variant",
        *(f"{stage.replace('_', ' ')} ({unit})" for stage in STAGE_ORDER),
        f"total ({unit})",
        "runs",
        "break-even (runs)",
        "break-even at scale (runs)",
    ]
    sections = []
    for teacher in dict.fromkeys(row["teacher"] for row in rows):
        body = [
            [
                row["variant"],
                *(f"{row[stage] * factor:,.3g}" for stage in (*STAGE_ORDER, "total")),
                str(row["runs"]),
                format_break_even(row["break_even_runs"]),
                format_break_even(row["break_even_runs_at_scale"]),
            ]
            for row in rows
            if row["teacher"] == teacher
        ]
        sections.append((f"teacher {teacher}", body))
    return Table(columns, "l" + "r" * (len(columns) - 1), sections)


def verified_traces(stats_files: Mapping[str, str | Path]) -> dict[str, int]:
    """Each teacher's verified traces, from its stats.json (`correct`)."""
    return {teacher: int(read_json(path)["correct"]) for teacher, path in stats_files.items()}


def write_costs(
    root: str | Path,
    grid: Grid,
    stats_files: Mapping[str, str | Path],
    scale: Scale,
    outputs: Mapping[str, str | Path],
    dpi: int = 300,
) -> None:
    """The ledger (outputs["ledger"], CSV), each variant's costs (outputs["csv"], ["md"]) and the
    figure (outputs["figure"]: its stem; the PNG at `dpi`) from the records under root."""
    # matplotlib loads only here.
    from compress_distill.plots.costs import plot_costs
    from compress_distill.plots.style import png_dpi

    counted = jobs(root, grid)
    rows = variant_costs(counted, verified_traces(stats_files), scale)
    write_csv(ledger(counted), outputs["ledger"])
    write_csv(rows, outputs["csv"])
    with atomic_writer(outputs["md"]) as handle:
        handle.write(to_markdown(costs_table(rows)))
    token = png_dpi.set(dpi)
    try:
        plot_costs(rows, outputs["figure"])
    finally:
        png_dpi.reset(token)
