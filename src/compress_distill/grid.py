"""The study's design: the variants of each teacher's training targets, and the runs over them.

A *run* is one fine-tuning run of the grid (teacher, variant, student, mode, regime); its folder
is results/runs/<Run.path>. Kept free of heavy imports: the Snakefile imports it to expand the grid.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

RAW = "raw"
ANSWER_ONLY = "answer-only"
TRUNCATED = "truncated-"
# The study's variant order, by kind: raw, compressors, truncated-<compressor>, answer-only.
VARIANT_KINDS = ("raw", "compressed", "truncated", "answer-only")
MODES = ("full", "lora")
RUN_KEYS = ("teacher", "variant", "student", "mode", "regime")


def variant_names(compressors: Iterable[str], truncated: Iterable[str]) -> list[str]:
    """raw, one per compressor, truncated-<compressor> for each truncated one, answer-only."""
    return [RAW, *compressors, *(TRUNCATED + name for name in truncated), ANSWER_ONLY]


def variant_kind(variant: str) -> str:
    """raw, answer-only, truncated (truncated-<compressor>) or compressed (any other name)."""
    if variant in (RAW, ANSWER_ONLY):
        return variant
    return "truncated" if variant.startswith(TRUNCATED) else "compressed"


def compressor_of(variant: str) -> str | None:
    """The compressor behind a compressed or truncated variant; None for raw and answer-only."""
    kind = variant_kind(variant)
    if kind == "truncated":
        return variant.removeprefix(TRUNCATED)
    return variant if kind == "compressed" else None


def variant_sort_key(variant: str) -> tuple[int, str]:
    """The study's variant order: raw, compressors, truncated-<compressor>, answer-only."""
    return (VARIANT_KINDS.index(variant_kind(variant)), compressor_of(variant) or "")


def dropping_compressors(compressors: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Compressors whose answer policy drops examples: every variant of a teacher trains on the
    problems that survive all of them, so their outputs are inputs of every training set.
    Append-policy compressors drop nothing, so a change to one reruns only its own branch."""
    return [name for name, entry in compressors.items() if entry["answer_policy"] == "drop"]


def run_settings(
    student: Mapping[str, Any], mode: str, budget: Mapping[str, Any]
) -> dict[str, Any]:
    """One run's training settings: the student's, its mode's, and the grid's budget (the same
    epochs, or the same optimizer steps, for every variant). Exactly the config slice a run
    depends on, so changing one student's learning rate reruns only its runs."""
    if mode not in MODES:
        raise ValueError(f"training mode must be one of {MODES}, got {mode!r}")
    if budget["policy"] == "epochs":
        steps = {"epochs": budget["epochs"]}
    elif budget["policy"] == "steps":
        steps = {"max_steps": budget["steps"]}
    else:
        raise ValueError(
            f"training.budget.policy must be 'epochs' or 'steps', got {budget['policy']!r}"
        )
    return {**student["training"], **student[mode], **steps}


@dataclass(frozen=True, order=True)
class Run:
    """One fine-tuning run of the grid; its fields name its folder."""

    teacher: str
    variant: str
    student: str
    mode: str
    regime: int

    @property
    def path(self) -> str:
        return f"{self.teacher}/{self.variant}/{self.student}/{self.mode}/{self.regime}"


def _matches(rule: dict[str, Any], run: Run) -> bool:
    """An exclusion names some run fields; each value is one name or a list of names."""
    for key, wanted in rule.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        if getattr(run, key) not in values:
            return False
    return True


def expand_grid(
    axes: dict[str, Sequence[Any]],
    exclude: Sequence[dict[str, Any]] = (),
    extra: Sequence[dict[str, Any]] = (),
) -> list[Run]:
    """The product of the axes (teacher, variant, student, mode, regime) minus exclusions, plus the
    named extra runs (e.g. truncation ablations), without duplicates, in a stable order."""
    product = (Run(*values) for values in itertools.product(*(axes[key] for key in RUN_KEYS)))
    runs = [run for run in product if not any(_matches(rule, run) for rule in exclude)]
    seen = set(runs)
    for entry in extra:
        run = Run(**{key: entry[key] for key in RUN_KEYS})
        if run not in seen:
            runs.append(run)
            seen.add(run)
    return runs


def config_variants(config: dict[str, Any]) -> list[str]:
    compressors = list(config.get("compressors", {}))
    return variant_names(compressors, config["truncation"].get("compressors", compressors))


def grid_axes(config: dict[str, Any]) -> dict[str, list[Any]]:
    """Each axis of the grid: the config's `grid` list, or everything configured."""
    grid = config.get("grid", {})
    return {
        "teacher": grid.get("teachers", list(config["teachers"])),
        "variant": grid.get("variants", config_variants(config)),
        "student": grid.get("students", list(config.get("students", {}))),
        "mode": grid.get("modes", list(MODES)),
        "regime": grid.get("regimes", config["training_sets"]["regimes"]),
    }


def config_runs(config: dict[str, Any]) -> list[Run]:
    grid = config.get("grid", {})
    return expand_grid(
        grid_axes(config), grid.get("exclude", []), list(grid.get("extra", {}).values())
    )
