"""The cost figure: each variant's end-to-end cost as stacked bars of its stages, one panel per
teacher, with the runs its compressor must serve to pay for itself (break-even) above the bar."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from compress_distill.costs import STAGE_ORDER, display_unit, format_break_even
from compress_distill.plots.style import (
    COLUMN_WIDTH,
    OKABE_ITO,
    PAGE_WIDTH,
    no_data,
    paper_style,
    save,
)

# Shared stages in greys (every variant pays them), the variant's own in Okabe-Ito hues.
STAGE_COLORS = {
    "setup": "#dddddd",
    "generation": "#bbbbbb",
    "verification": "#888888",
    "compression": OKABE_ITO["vermillion"],
    "training_sets": OKABE_ITO["yellow"],
    "training": OKABE_ITO["blue"],
    "evaluation": OKABE_ITO["sky_blue"],
}
TITLE = "End-to-end cost per variant"


def plot_costs(rows: Sequence[Mapping[str, Any]], stem: str | Path) -> list[Path]:
    """Stacked bars of stage cost per variant; the break-even (measured) above each bar."""
    if not rows:
        return no_data(stem, TITLE)
    teachers = list(dict.fromkeys(row["teacher"] for row in rows))
    factor, unit = display_unit(rows)
    with paper_style():
        width = COLUMN_WIDTH if len(teachers) == 1 else PAGE_WIDTH
        fig = Figure(figsize=(width, 2.6), layout="constrained")
        axes = fig.subplots(1, len(teachers), sharey=True, squeeze=False)[0]
        for ax, teacher in zip(axes, teachers, strict=True):
            own = [row for row in rows if row["teacher"] == teacher]
            names = [row["variant"] for row in own]
            bottoms = [0.0] * len(own)
            for stage in STAGE_ORDER:
                heights = [float(row[stage]) * factor for row in own]
                ax.bar(names, heights, bottom=bottoms, color=STAGE_COLORS[stage], width=0.7)
                bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
            for x, (row, top) in enumerate(zip(own, bottoms, strict=True)):
                runs = row["break_even_runs"]
                if runs is not None:
                    ax.annotate(
                        format_break_even(runs) + ("" if math.isinf(runs) else " runs"),
                        (x, top),
                        xytext=(0, 2),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=6,
                    )
            ax.set_title(f"teacher {teacher}")
            ax.tick_params(axis="x", labelrotation=35)
            for tick in ax.get_xticklabels():
                tick.set_horizontalalignment("right")
            ax.margins(y=0.15)
        axes[0].set_ylabel(f"cost ({unit})")
        handles = [
            Patch(color=STAGE_COLORS[s], label=s.replace("_", " ")) for s in reversed(STAGE_ORDER)
        ]
        fig.legend(handles=handles, loc="outside right upper")
        return save(fig, stem)
