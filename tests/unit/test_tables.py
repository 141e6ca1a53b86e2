import csv

from compress_distill.metrics import tidy_table
from compress_distill.stats import Statistics
from compress_distill.tables import (
    format_number,
    latex_escape,
    main_table,
    to_latex,
    to_markdown,
    truncation_table,
    write_tables,
)
from tests.unit.test_inference import FAST, uncertain_rows
from tests.unit.test_metrics import study_records, study_rows

STATS = Statistics()


def test_main_table_markdown_rows():
    text = to_markdown(main_table(study_rows(modes=("full", "lora")), STATS))
    assert "**t → s (full, 100 problems) on b**" in text
    assert "**t → s (lora, 100 problems) on b**" in text
    assert "| :--- | ---: |" in text
    # raw: 75.0 ± 0.0 over two seeds; llm_a: 62.5 ± 17.7 (sample std of 0.75 and 0.5).
    assert "| raw | 75.0 ± 0.0 | 100.0 | 1,000 | 1.0 | 100.0 | 1.0 | 1.0 |" in text
    assert "| llm\\_a | 62.5 ± 17.7 | 83.3 | 200 | 5.0 | 25.0 | 4.0 | 4.2 |" in text
    assert "| answer-only | 0.0 ± 0.0 | 0.0 | 10 | 100.0 | 5.0 | 20.0 | 0.00 |" in text


def test_main_table_latex_is_booktabs_escaped_and_prints_undefined_as_dash():
    # Without the raw run every ratio is undefined.
    rows = tidy_table([r for r in study_records() if r["variant"] != "raw"])
    text = to_latex(main_table(rows, STATS))
    lines = text.splitlines()
    assert lines[1] == r"\begin{tabular}{lrrrrrrr}"
    assert lines[2] == r"\toprule" and lines[-2] == r"\bottomrule"
    assert r"\midrule" in lines
    assert r"Retention (\%)" in lines[3] and r"Length red. ($\times$)" in lines[3]
    assert r"\multicolumn{8}{l}{\textit{t $\rightarrow$ s (full, 100 problems) on b}} \\" in lines
    assert r"llm\_a & 62.5 $\pm$ 17.7 & -- & 200 & -- & -- & -- & -- \\" in lines
    body = "".join(line for line in lines if not line.startswith("%"))
    assert "_" not in body.replace(r"\_", "")


def test_truncation_table_pairs_compressor_with_twin():
    table = truncation_table(study_rows(), STATS)
    markdown = to_markdown(table)
    assert "| llm\\_a | 62.5 ± 17.7 | 37.5 ± 17.7 | +25.0 | 200 | 200 |" in markdown
    latex = to_latex(table)
    assert r"llm\_a & 62.5 $\pm$ 17.7 & 37.5 $\pm$ 17.7 & +25.0 & 200 & 200 \\" in latex
    assert r"$\Delta$ acc. (pp)" in latex


def test_tables_show_intervals_marks_and_their_legend():
    rows = uncertain_rows()
    answer_only = next(r for r in rows if r["variant"] == "answer-only")
    main = to_markdown(main_table(rows, FAST))
    # Answer-only (0 of 8 against raw's 6 of 8) is significant: its accuracy carries the mark,
    # with its interval (the seeds agree on 0: Wilson on 4 problems).
    low, high = (format_number(answer_only[f"accuracy_{b}"], scale=100) for b in ("low", "high"))
    assert f"| answer-only | 0.0 ± 0.0 [{low}, {high}]\\* |" in main
    assert "95% intervals" in main and "400 resamples" in main
    assert "Holm-Bonferroni adjusted over the table's 3 comparisons" in main
    truncation = truncation_table(rows, FAST)
    compressed = next(r for r in rows if r["variant"] == "llm_a")
    difference = [
        format_number(compressed[f"accuracy_difference_vs_truncated_{b}"], scale=100)
        for b in ("low", "high")
    ]
    expected = f"+25.0 [{difference[0]}, {difference[1]}]"
    assert expected in to_markdown(truncation)
    assert "over the table's 1 comparisons" in truncation.notes[1]
    latex = to_latex(truncation)
    assert r"\multicolumn{6}{p{\linewidth}}{\footnotesize $^{\dagger}$ differs" in latex
    assert latex.rstrip().endswith(r"\end{tabular}")


def test_empty_tables_still_render():
    assert to_markdown(main_table([], STATS)) == "_No data._\n"
    latex = to_latex(truncation_table([], STATS))
    assert r"\multicolumn{6}{c}{no data} \\" in latex
    assert r"\toprule" in latex and r"\bottomrule" in latex


def test_escaping_and_number_formats():
    assert latex_escape(r"a_b & 50% #1 $x$ {y} ~^\ –") == (
        r"a\_b \& 50\% \#1 \$x\$ \{y\} \textasciitilde{}\textasciicircum{}\textbackslash{} --"
    )
    assert format_number(None) == "–"
    assert format_number(float("inf")) == "–"
    assert format_number(-0.0312, scale=100, signed=True) == "−3.1"
    assert latex_escape(format_number(-0.0312, scale=100, signed=True)) == "$-$3.1"
    assert format_number(12345.6, digits=0) == "12,346"


def test_write_tables_writes_csv_markdown_and_latex(tmp_path):
    rows = study_rows()
    paths = write_tables(rows, tmp_path, STATS)
    assert sorted(p.name for p in paths) == [
        "main.md",
        "main.tex",
        "metrics.csv",
        "truncation.md",
        "truncation.tex",
    ]
    with (tmp_path / "metrics.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [row["variant"] for row in table] == [row["variant"] for row in rows]
    assert table[0]["accuracy_retention"] == "1.0"
    assert not list(tmp_path.glob(".*.tmp"))
