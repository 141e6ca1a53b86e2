"""The paper's figures, as PDF and PNG: names here, drawing in figures.py, shared look in style.py.

Light on purpose: the Snakefile reads FIGURES to name the figures rule's outputs, and matplotlib
loads only when a figure is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Each is drawn by figures.plot_<name> and written as results/figures/<name>.pdf and .png.
FIGURES = (
    "accuracy_vs_length",
    "training_cost",
    "compression_ratios",
    "compression_vs_truncation",
    "retention_vs_efficiency",
)


def write_figures(
    rows: Sequence[Mapping[str, Any]],
    ratios: Mapping[tuple[str, str], Sequence[float]],
    out_dir: str | Path,
    dpi: int = 300,
) -> list[Path]:
    """Every figure of FIGURES under out_dir; PNGs at `dpi`. The compression ratios figure reads
    the per-trace ratios by (teacher, compressor), the others the tidy rows."""
    from compress_distill.plots import figures, style

    out = Path(out_dir)
    token = style.png_dpi.set(dpi)
    try:
        written = []
        for name in FIGURES:
            data = ratios if name == "compression_ratios" else rows
            written += getattr(figures, f"plot_{name}")(data, out / name)
        return written
    finally:
        style.png_dpi.reset(token)
