import struct

import pytest

from compress_distill.plots import FIGURES, write_figures
from compress_distill.plots.figures import (
    plot_compression_ratios,
    plot_compression_vs_truncation,
    plot_retention_vs_efficiency,
)
from compress_distill.plots.style import ANSWER_ONLY_COLOR, RAW_COLOR, by_benchmark, variant_colors
from tests.unit.test_inference import uncertain_rows
from tests.unit.test_metrics import study_rows

RATIOS = {
    (teacher, compressor): [0.1 + 0.01 * i for i in range(20)]
    for teacher in ("t", "u")
    for compressor in ("llm_a", "prune")
}


def png_size(path):
    """Width and height from the PNG header."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module", params=["data", "empty"])
def figures(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    if request.param == "data":
        paths = write_figures(uncertain_rows(modes=("full", "lora")), RATIOS, out)
    else:
        paths = write_figures([], {}, out)
    return out, paths


def test_every_figure_is_written_as_pdf_and_png(figures):
    out, paths = figures
    assert sorted(p.name for p in paths) == sorted(
        f"{name}.{ext}" for name in FIGURES for ext in ("pdf", "png")
    )
    for path in paths:
        assert path.parent == out
        head = path.read_bytes()[:8]
        assert head.startswith(b"%PDF") if path.suffix == ".pdf" else head.startswith(b"\x89PNG")
        assert path.stat().st_size > 1000
    assert not list(out.glob(".*.tmp"))


def test_single_panel_figures_fit_one_column_at_300_dpi(figures):
    out, _ = figures
    width, _ = png_size(out / "retention_vs_efficiency.png")
    assert width == round(3.3 * 300)


def test_empty_ratio_lists_say_no_data(tmp_path):
    paths = plot_compression_ratios({("t", "llm_a"): []}, tmp_path / "ratios")
    assert all(path.stat().st_size > 0 for path in paths)


def test_variant_colours_are_stable_across_subsets():
    first = variant_colors(["answer-only", "raw", "llm_a", "truncated-llm_a"])
    second = variant_colors(["zeta", "truncated-zeta", "truncated-llm_a", "llm_a", "alpha"])
    assert list(first) == ["raw", "llm_a", "truncated-llm_a", "answer-only"]
    for variant in ("llm_a", "truncated-llm_a"):
        assert first[variant] == second[variant]
    assert (first["raw"], first["answer-only"]) == (RAW_COLOR, ANSWER_ONLY_COLOR)
    # Each compressor its own hue; a truncated twin a different (lighter) shade of it.
    assert len({second["zeta"], second["llm_a"], second["alpha"]}) == 3
    assert second["truncated-zeta"] != second["zeta"]


def test_ratio_figures_take_a_panel_per_benchmark(tmp_path):
    rows = study_rows(benchmarks=("b", "a"), modes=("full", "lora"))
    groups = by_benchmark(rows)
    assert [name for name, _ in groups] == ["a", "b"]
    assert [{row["benchmark"] for row in group} for _, group in groups] == [{"a"}, {"b"}]
    single = study_rows()
    assert by_benchmark(single) == [(None, single)]
    # Two panels side by side still fit one column.
    for plot in (plot_retention_vs_efficiency, plot_compression_vs_truncation):
        _, png = plot(rows, tmp_path / plot.__name__)
        assert png_size(png)[0] == round(3.3 * 300)


def test_interval_bars_span_each_rows_interval():
    from matplotlib.figure import Figure

    from compress_distill.plots.style import interval_bars

    ax = Figure().add_subplot()
    row = {"accuracy_low": 0.2, "accuracy_high": 0.5, "gain_low": None, "gain_high": 3.0}
    interval_bars(ax, 2.0, 30.0, row, x_name="gain", y_name="accuracy", y_scale=100)
    (container,) = ax.containers
    # One vertical bar from 20 to 50; the gain's unbounded low side has no bar (2 to 3 only).
    segments = [seg for coll in container.lines[2] for seg in coll.get_segments()]
    spans = sorted(tuple(map(tuple, seg)) for seg in segments)
    assert spans == [((2.0, 20.0), (2.0, 50.0)), ((2.0, 30.0), (3.0, 30.0))]
    interval_bars(ax, 1.0, 1.0, {}, x_name="gain", y_name="accuracy")
    assert len(ax.containers) == 1  # no interval, no bar


def test_figures_draw_rows_with_unbounded_and_zero_bounds(tmp_path):
    rows = uncertain_rows()
    for row in rows:
        if row["variant"] == "truncated-llm_a":
            row["per_token_efficiency_gain_low"], row["accuracy_retention_high"] = 0.0, None
    _, png = plot_retention_vs_efficiency(rows, tmp_path / "retention")
    assert png.stat().st_size > 1000
