"""The study's grid: the variants of each teacher's training targets, and the runs over them.

Kept free of heavy imports: the Snakefile imports it to expand the grid.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

RAW = "raw"
ANSWER_ONLY = "answer-only"
TRUNCATED = "truncated-"


def variant_names(compressors: Iterable[str], truncated: Iterable[str]) -> list[str]:
    """raw, one per compressor, truncated-<compressor> for each truncated one, answer-only."""
    return [RAW, *compressors, *(TRUNCATED + name for name in truncated), ANSWER_ONLY]


MODES = ("full", "lora")
RUN_KEYS = ("teacher", "variant", "student", "mode", "regime")


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
