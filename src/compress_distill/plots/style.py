"""The figures' shared look: one colour per variant, one marker per mode, the paper's sizes.

Figures are built on matplotlib.figure.Figure, never pyplot: no global figure state, and the Agg
(PNG) and PDF canvases are picked by format at save time, whatever backend the process has.
Every variant keeps one colour across all figures (variant_colors); a truncated-<compressor>
variant is a lighter shade of its compressor's hue, hatched in bars and edged in the full hue.
"""

from __future__ import annotations

import math
import statistics
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from compress_distill.grid import RAW, compressor_of, variant_kind, variant_sort_key
from compress_distill.io import atomic_writer

COLUMN_WIDTH = 3.3  # inches: one column of a two-column paper
PAGE_WIDTH = 6.9
# Okabe & Ito (2008), safe for the common colour-vision deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}
RAW_COLOR = OKABE_ITO["black"]
ANSWER_ONLY_COLOR = "#999999"
# Yellow last: it is the hardest to see on white.
COMPRESSOR_HUES = tuple(
    OKABE_ITO[name]
    for name in ("blue", "vermillion", "green", "purple", "orange", "sky_blue", "yellow")
)
TRUNCATED_HATCH = "////"
MODE_MARKERS = {"full": "o", "lora": "s"}
_OTHER_MARKERS = ("^", "D", "v", "P", "X")
STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.linewidth": 0.4,
    "grid.color": "#e0e0e0",
    "lines.linewidth": 1.0,
    "lines.markersize": 4,
    "patch.linewidth": 0.6,
    "hatch.linewidth": 0.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "legend.frameon": False,
    "legend.handlelength": 1.2,
    "legend.columnspacing": 1.0,
    # TrueType fonts in the PDF: editable text, and what publishers' checkers want.
    "pdf.fonttype": 42,
    "figure.dpi": 100,
}

# Process-wide, append-only: once a compressor has a hue it keeps it, whatever subset of
# variants a later figure shows.
_compressor_slots: list[str] = []


def register_compressors(names: Iterable[str]) -> None:
    """Give compressors hues in this order (e.g. the config's), before any figure is drawn.

    Without it, hues go to compressors in sorted order as figures first meet them; call it to
    make colours independent of which figures a process draws first.
    """
    for name in names:
        if name not in _compressor_slots:
            _compressor_slots.append(name)


def _lighten(color: str, amount: float = 0.5) -> str:
    """Mix with white: the truncated twin's shade of its compressor's hue."""
    return to_hex([c + (1 - c) * amount for c in to_rgb(color)])


def _hue(compressor: str) -> str:
    register_compressors([compressor])
    return COMPRESSOR_HUES[_compressor_slots.index(compressor) % len(COMPRESSOR_HUES)]


def variant_colors(variants: Iterable[str]) -> dict[str, str]:
    """A hex colour per variant, in the study's variant order (raw, compressors, truncated-...,
    answer-only): raw black, answer-only grey, each compressor an Okabe-Ito hue, its truncated
    twin a lighter shade of that hue. A variant's colour never depends on the other variants."""
    ordered = sorted(set(variants), key=variant_sort_key)
    register_compressors(sorted({compressor_of(v) for v in ordered} - {None}))
    colors = {}
    for variant in ordered:
        kind, compressor = variant_kind(variant), compressor_of(variant)
        if compressor is None:
            colors[variant] = RAW_COLOR if kind == RAW else ANSWER_ONLY_COLOR
        else:
            hue = _hue(compressor)
            colors[variant] = _lighten(hue) if kind == "truncated" else hue
    return colors


def contrast(color: str) -> str:
    """White or black, whichever reads on `color` (by its relative luminance)."""
    red, green, blue = to_rgb(color)
    return "white" if 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5 else "black"


def edge_color(variant: str) -> str:
    """The full hue: outlines keep a light truncated shade visible."""
    compressor = compressor_of(variant)
    return _hue(compressor) if compressor else variant_colors([variant])[variant]


def mode_markers(modes: Iterable[str]) -> dict[str, str]:
    """Marker per fine-tuning mode: full a circle, lora a square, others in sorted order."""
    others = iter(_OTHER_MARKERS)
    return {mode: MODE_MARKERS.get(mode) or next(others, "o") for mode in sorted(set(modes))}


@contextmanager
def paper_style() -> Iterator[None]:
    with matplotlib.rc_context(STYLE):
        yield


# The PNGs' resolution: set for one write_figures call (the config's figures.dpi).
png_dpi: ContextVar[int] = ContextVar("png_dpi", default=300)


def save(fig: Figure, stem: str | Path) -> list[Path]:
    """stem.pdf and stem.png (300 dpi unless write_figures says otherwise), each written to a
    temporary file then renamed."""
    paths = []
    for fmt in ("pdf", "png"):
        path = Path(f"{stem}.{fmt}")
        # No creation date in the PDF: the same data gives the same bytes.
        metadata = {"CreationDate": None} if fmt == "pdf" else None
        with atomic_writer(path, "wb") as handle:
            fig.savefig(handle, format=fmt, dpi=png_dpi.get(), metadata=metadata)
        paths.append(path)
    return paths


def no_data(stem: str | Path, title: str) -> list[Path]:
    fig = Figure(figsize=(COLUMN_WIDTH, 1.2), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_axis_off()
    return save(fig, stem)


def scatter(
    ax: Axes, x: float, y: float, variant: str, mode: str, markers: Mapping[str, str]
) -> None:
    ax.scatter(
        [x],
        [y],
        s=18,
        marker=markers[mode],
        color=variant_colors([variant])[variant],
        edgecolors=edge_color(variant),
        linewidths=0.7,
        zorder=3,
    )


def _error(value: float, row: Mapping[str, Any], name: str | None, scale: float) -> Any:
    """[[below], [above]] for errorbar from the row's <name>_low/_high; None without any. An
    unbounded side (None) gets no bar on that side."""
    if name is None:
        return None
    low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
    if low is None and high is None:
        return None
    below = 0.0 if low is None else max(0.0, value - low * scale)
    above = 0.0 if high is None else max(0.0, high * scale - value)
    return [[below], [above]]


def interval_bars(
    ax: Axes,
    x: float,
    y: float,
    row: Mapping[str, Any],
    x_name: str | None = None,
    y_name: str | None = None,
    x_scale: float = 1.0,
    y_scale: float = 1.0,
) -> None:
    """Grey error bars behind a point: the row's intervals (inference.add_uncertainty) of the
    quantities on each axis, `<name>_low` and `<name>_high`, times the axis's scale."""
    xerr, yerr = _error(x, row, x_name, x_scale), _error(y, row, y_name, y_scale)
    if xerr is None and yerr is None:
        return
    ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="none", ecolor="0.6", lw=0.6, zorder=2)


def variant_handles(variants: Iterable[str], patches: bool = False) -> list[Any]:
    """Legend entries in variant order: filled patches for bars, circles for points."""
    handles: list[Any] = []
    for variant, color in variant_colors(variants).items():
        edge = edge_color(variant)
        if patches:
            hatch = TRUNCATED_HATCH if variant_kind(variant) == "truncated" else None
            handles.append(Patch(facecolor=color, edgecolor=edge, hatch=hatch, label=variant))
        else:
            handles.append(
                Line2D([], [], ls="", marker="o", color=color, mec=edge, mew=0.7, label=variant)
            )
    return handles


def mode_handles(modes: Iterable[str]) -> list[Line2D]:
    """Marker legend entries; none for a single mode, whose marker tells nothing."""
    markers = mode_markers(modes)
    if len(markers) < 2:
        return []
    return [
        Line2D([], [], ls="", marker=marker, mfc="none", mec="0.3", mew=0.7, label=mode)
        for mode, marker in markers.items()
    ]


def legend(fig: Figure, variants: Sequence[Any], modes: Sequence[Any] = ()) -> None:
    """Below the panels: variants in up to three columns (two on a column-wide figure, where three
    and the modes do not fit), modes in a column of their own."""
    variant_columns = 3 if fig.get_figwidth() > COLUMN_WIDTH else 2
    rows = max(len(modes), math.ceil(len(variants) / variant_columns))
    columns = [list(variants[i : i + rows]) for i in range(0, len(variants), rows)]
    if modes:
        columns.append(list(modes))
    # Legends fill column by column: invisible entries keep each group in its own columns.
    handles = [h for col in columns for h in col + [Patch(alpha=0, label="")] * (rows - len(col))]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(columns))


def plain_log(axis: Any, subs: Sequence[float] = (1.0,)) -> None:
    """Log axis ticked at subs x 10^k and labelled 20, 1,000 rather than 2x10^1, 10^3."""
    axis.set_major_locator(LogLocator(subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def facet_keys(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """teacher and student, plus regime and benchmark where rows hold several (else panels would
    mix them)."""
    varying = tuple(key for key in ("regime", "benchmark") if len({r[key] for r in rows}) > 1)
    return ("teacher", "student", *varying)


def facet_title(key: tuple[Any, ...]) -> str:
    teacher, student, *rest = key
    return ", ".join([f"{teacher} → {student}", *map(str, rest)])


def panels(n: int, row_height: float) -> tuple[Figure, Any]:
    """A figure and an (nrows, ncols) array of n panels: one column wide for up to two panels,
    page wide (four per row) beyond; spare panels hidden."""
    ncols = min(n, 4)
    nrows = math.ceil(n / ncols)
    width = COLUMN_WIDTH if n <= 2 else PAGE_WIDTH
    # The extra height holds the legend below the panels.
    fig = Figure(figsize=(width, nrows * row_height + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def by_benchmark(items: Sequence[Mapping[str, Any]]) -> list[tuple[str | None, list[Any]]]:
    """Items (rows or truncation pairs) grouped by benchmark in name order, a panel each where
    there are several: a ratio to raw on an easy benchmark and one on a hard benchmark are
    different quantities. One untitled group otherwise."""
    names = sorted({item["benchmark"] for item in items})
    if len(names) < 2:
        return [(None, list(items))]
    return [(name, [item for item in items if item["benchmark"] == name]) for name in names]


def axis_labels(axes: Any, xlabel: str, ylabel: str) -> None:
    """The x label under every panel (in two lines where a long one would run into the next
    panel), the y label on each row's first panel (the y axis is shared)."""
    text = textwrap.fill(xlabel, width=24) if axes.shape[1] > 1 else xlabel
    for ax in axes.flat:
        ax.set_xlabel(text)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)


def geomean(values: Iterable[float]) -> float:
    """The mean of ratios: geometric, so 2x and 0.5x average to 1x."""
    return math.exp(statistics.fmean(math.log(v) for v in values))
