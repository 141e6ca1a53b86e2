"""The paper's five figures from the tidy rows (see metrics.tidy_table), each as PDF and PNG.

Each figure `name` of plots.FIGURES is drawn by `plot_<name>`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from compress_distill.grid import RAW, RUN_KEYS, variant_kind, variant_sort_key
from compress_distill.metrics import truncation_pairs
from compress_distill.plots import style
from compress_distill.stats import finite


def plot_accuracy_vs_length(rows: Sequence[Mapping[str, Any]], stem: str | Path) -> list[Path]:
    """(a) Accuracy against mean output tokens (log), one panel per teacher and student; colour
    per variant, marker per mode, error bars for the accuracy's interval."""
    title = "Accuracy against output length"
    # Zero or missing lengths cannot sit on a log axis.
    points = [
        r
        for r in rows
        if finite(r.get("mean_output_tokens")) and finite(r.get("accuracy")) is not None
    ]
    with style.paper_style():
        if not points:
            return style.no_data(stem, title)
        keys = style.facet_keys(points)
        facets = sorted({tuple(r[k] for k in keys) for r in points}, key=str)
        fig, axes = style.panels(len(facets), row_height=1.9)
        markers = style.mode_markers(r["mode"] for r in points)
        for ax, facet in zip(axes.flat, facets, strict=False):
            for row in (r for r in points if tuple(r[k] for k in keys) == facet):
                x, y = row["mean_output_tokens"], 100 * row["accuracy"]
                style.interval_bars(ax, x, y, row, y_name="accuracy", y_scale=100)
                style.scatter(ax, x, y, row["variant"], row["mode"], markers)
            ax.set_xscale("log")
            style.plain_log(ax.xaxis)
            ax.set_title(style.facet_title(facet))
        style.axis_labels(axes, "Mean output tokens", "Accuracy (%)")
        style.legend(
            fig, style.variant_handles({r["variant"] for r in points}), style.mode_handles(markers)
        )
        return style.save(fig, stem)


def plot_training_cost(rows: Sequence[Mapping[str, Any]], stem: str | Path) -> list[Path]:
    """(b) Training cost of each variant relative to raw: training tokens and wall time (both % of
    raw, so shorter bars are cheaper; wall time = 100 / training_speedup). Bars are geometric
    means over runs, dots single runs; the speedup is written at each bar's end."""
    title = "Training cost relative to raw"
    # Training metrics belong to a run: one value per run, however many benchmarks it has.
    runs = {tuple(r[k] for k in RUN_KEYS): r for r in rows if r["variant"] != RAW}
    tokens = {k: 100 * v for k, r in runs.items() if (v := finite(r.get("training_token_ratio")))}
    wall = {k: 100 / v for k, r in runs.items() if (v := finite(r.get("training_speedup")))}
    panels = (
        ("Training tokens\n(% of raw)", tokens, False),
        ("Training wall time\n(% of raw)", wall, True),
    )
    with style.paper_style():
        variants = sorted({key[1] for key in [*tokens, *wall]}, key=variant_sort_key)
        if not variants:
            return style.no_data(stem, title)
        fig = Figure(figsize=(style.COLUMN_WIDTH, 0.9 + 0.22 * len(variants)), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
        colors = style.variant_colors(variants)
        for ax, (label, values, show_speedup) in zip(axes, panels, strict=True):
            for y, variant in enumerate(variants):
                per_run = [v for key, v in values.items() if key[1] == variant]
                if not per_run:
                    continue
                mean = style.geomean(per_run)
                truncated = variant_kind(variant) == "truncated"
                ax.barh(
                    y,
                    mean,
                    height=0.7,
                    color=colors[variant],
                    edgecolor=style.edge_color(variant),
                    hatch=style.TRUNCATED_HATCH if truncated else None,
                )
                ax.plot(per_run, [y] * len(per_run), ls="", marker="o", ms=1.8, color="0.25")
                if show_speedup:
                    ax.annotate(
                        f"{100 / mean:.1f}×",
                        (max(*per_run, mean), y),
                        xytext=(3, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=6,
                    )
            ax.axvline(100, color="0.3", lw=0.6, ls="--", zorder=1)
            ax.set_xlabel(label)
            ax.set_xlim(left=0)
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(range(len(variants)), variants)
        axes[0].invert_yaxis()
        return style.save(fig, stem)


def plot_compression_ratios(
    ratios: Mapping[tuple[str, str], Sequence[float]], stem: str | Path
) -> list[Path]:
    """(c) Distribution of compressed/raw length (chars) per trace: a box per compressor, grouped
    by teacher. `ratios` maps (teacher, compressor) to per-trace ratios."""
    title = "Compression ratio per trace"
    data = {key: list(values) for key, values in ratios.items() if len(values)}
    with style.paper_style():
        if not data:
            return style.no_data(stem, title)
        teachers = sorted({teacher for teacher, _ in data})
        compressors = sorted({c for _, c in data}, key=variant_sort_key)
        colors = style.variant_colors(compressors)
        width = 0.8 / len(compressors)
        fig = Figure(figsize=(style.COLUMN_WIDTH, 2.3), layout="constrained")
        ax = fig.add_subplot()
        for i, teacher in enumerate(teachers):
            for j, compressor in enumerate(compressors):
                values = data.get((teacher, compressor))
                if not values:
                    continue
                ax.boxplot(
                    values,
                    positions=[i - 0.4 + width * (j + 0.5)],
                    widths=0.85 * width,
                    patch_artist=True,
                    boxprops={"facecolor": colors[compressor], "edgecolor": "0.2", "lw": 0.6},
                    medianprops={"color": style.contrast(colors[compressor]), "lw": 1.0},
                    whiskerprops={"lw": 0.6, "color": "0.2"},
                    capprops={"lw": 0.6, "color": "0.2"},
                    flierprops={"marker": ".", "ms": 2, "mec": "none", "mfc": "0.4"},
                )
        ax.set_xticks(range(len(teachers)), teachers)
        ax.set_xlim(-0.5, len(teachers) - 0.5)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("Teacher")
        ax.set_ylabel("Compressed / raw (chars)")
        ax.grid(axis="x", visible=False)
        style.legend(fig, style.variant_handles(compressors, patches=True))
        return style.save(fig, stem)


def plot_compression_vs_truncation(
    rows: Sequence[Mapping[str, Any]], stem: str | Path
) -> list[Path]:
    """(d) Each compressor's accuracy against its length-matched truncated twin's, one point per
    setting, a panel per benchmark, error bars for both accuracies' intervals: above the
    diagonal, compression beats truncation."""
    title = "Compression against truncation"
    # The difference is None exactly when either accuracy is missing.
    pairs = [p for p in truncation_pairs(rows) if p["accuracy_difference"] is not None]
    with style.paper_style():
        if not pairs:
            return style.no_data(stem, title)
        groups = style.by_benchmark(pairs)
        # Square panels: a lone one a column wide, side-by-side ones half as wide and as tall.
        fig, axes = style.panels(len(groups), row_height=2.4 if len(groups) == 1 else 1.9)
        markers = style.mode_markers(p["mode"] for p in pairs)
        values = [
            100 * v
            for p in pairs
            for side in ("compressed", "truncated")
            for v in (
                p[side]["accuracy"],
                p[side].get("accuracy_low"),
                p[side].get("accuracy_high"),
            )
            if v is not None
        ]
        pad = max(2.0, 0.05 * (max(values) - min(values)))
        low, high = max(0.0, min(values) - pad), min(100.0, max(values) + pad)
        for ax, (benchmark, group) in zip(axes.flat, groups, strict=False):
            for pair in group:
                x, y = 100 * pair["truncated"]["accuracy"], 100 * pair["compressed"]["accuracy"]
                # Each axis's bar is its own run's interval.
                style.interval_bars(ax, x, y, pair["truncated"], x_name="accuracy", x_scale=100)
                style.interval_bars(ax, x, y, pair["compressed"], y_name="accuracy", y_scale=100)
                style.scatter(ax, x, y, pair["compressor"], pair["mode"], markers)
            ax.plot([low, high], [low, high], color="0.3", lw=0.6, ls="--", zorder=1)
            ax.set_xlim(low, high)
            ax.set_ylim(low, high)
            ax.set_aspect("equal")
            note = {"transform": ax.transAxes, "fontsize": 6, "color": "0.4"}
            ax.text(0.04, 0.96, "compression better", va="top", **note)
            ax.text(0.96, 0.04, "truncation better", ha="right", **note)
            if benchmark:
                ax.set_title(benchmark)
        style.axis_labels(
            axes, "Accuracy, truncated to same length (%)", "Accuracy, compressed (%)"
        )
        compressors = {p["compressor"] for p in pairs}
        style.legend(fig, style.variant_handles(compressors), style.mode_handles(markers))
        return style.save(fig, stem)


def plot_retention_vs_efficiency(rows: Sequence[Mapping[str, Any]], stem: str | Path) -> list[Path]:
    """(e) Accuracy retention against per-token efficiency gain (log), one point per non-raw run,
    a panel per benchmark, error bars for both paired intervals; dashed lines mark raw (1 on both
    axes). The axes fit the points: a longer bar (a gain's lower bound of 0 cannot sit on the
    log axis) is cut at the panel's edge."""
    title = "Retention against per-token efficiency"
    points = [
        r
        for r in rows
        if r["variant"] != RAW
        and finite(r.get("accuracy_retention")) is not None
        and finite(r.get("per_token_efficiency_gain"))
    ]
    with style.paper_style():
        if not points:
            return style.no_data(stem, title)
        groups = style.by_benchmark(points)
        fig, axes = style.panels(len(groups), row_height=2.0)
        markers = style.mode_markers(r["mode"] for r in points)
        for ax, (benchmark, group) in zip(axes.flat, groups, strict=False):
            for row in group:
                x, y = row["per_token_efficiency_gain"], row["accuracy_retention"]
                style.interval_bars(
                    ax, x, y, row, x_name="per_token_efficiency_gain", y_name="accuracy_retention"
                )
                style.scatter(ax, x, y, row["variant"], row["mode"], markers)
            ax.axhline(1, color="0.3", lw=0.6, ls="--", zorder=1)
            ax.axvline(1, color="0.3", lw=0.6, ls="--", zorder=1)
            ax.set_xscale("log")
            # The limits from the points (and raw's 1): a bar down to 0 would stretch the log
            # axis without end, so bars beyond the panel are cut at its edge.
            xs = [1.0, *(row["per_token_efficiency_gain"] for row in group)]
            ax.set_xlim(min(xs) / 1.5, max(xs) * 1.5)
            style.plain_log(ax.xaxis, subs=(1.0, 2.0, 5.0))
            if benchmark:
                ax.set_title(benchmark)
        style.axis_labels(
            axes, "Per-token efficiency gain over raw (×)", "Accuracy retention (× raw)"
        )
        style.legend(
            fig, style.variant_handles({r["variant"] for r in points}), style.mode_handles(markers)
        )
        return style.save(fig, stem)
