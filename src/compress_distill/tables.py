"""The paper's tables from the tidy rows (see metrics.tidy_table): CSV, Markdown and LaTeX.

LaTeX output is a bare booktabs `tabular` (no float), so the paper sets caption and label around
`\\input{...}`. Cells are built once as plain text and each renderer escapes them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

from compress_distill.io import atomic_writer
from compress_distill.metrics import ROW_KEYS, setting_key, truncation_pairs
from compress_distill.stats import Statistics, finite

UNDEFINED = "–"
MINUS = "−"
# Significance marks: an accuracy that differs from raw's; a compressor that differs from its
# length-matched truncation.
RAW_MARK = "*"
TRUNCATED_MARK = "†"
# Single-pass map (str.translate), so an escape's own backslash or braces are never re-escaped.
_LATEX_ESCAPES = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        UNDEFINED: "--",
        MINUS: "$-$",
        "±": r"$\pm$",
        "×": r"$\times$",
        "→": r"$\rightarrow$",
        "Δ": r"$\Delta$",
        "*": r"$^{*}$",
        TRUNCATED_MARK: r"$^{\dagger}$",
    }
)
_MARKDOWN_ESCAPES = str.maketrans({c: "\\" + c for c in "\\|*_`"})


@dataclass
class Table:
    """Header cells, one alignment letter per column (l/r/c), and titled sections of rows."""

    columns: list[str]
    align: str
    sections: list[tuple[str, list[list[str]]]] = field(default_factory=list)
    # Legend lines printed under the table (what the intervals and marks are).
    notes: list[str] = field(default_factory=list)


def latex_escape(text: str) -> str:
    return text.translate(_LATEX_ESCAPES)


def markdown_escape(text: str) -> str:
    return text.translate(_MARKDOWN_ESCAPES)


def format_number(value: Any, digits: int = 1, scale: float = 1.0, signed: bool = False) -> str:
    """`value * scale` to `digits` decimals; "–" when undefined; a true minus sign."""
    number = finite(value)
    if number is None:
        return UNDEFINED
    text = f"{number * scale:{'+' if signed else ''},.{digits}f}"
    return text.replace("-", MINUS)


def format_times(value: Any) -> str:
    """A ratio read as "x times": two decimals below 1 (0.85), one above (2.0, 18.3)."""
    number = finite(value)
    return format_number(number, 2 if number is not None and abs(number) < 1 else 1)


def with_interval(
    text: str, row: Mapping[str, Any], name: str, digits: int = 1, scale: float = 1.0
) -> str:
    """`text` followed by the interval [<name>_low, <name>_high] when the row has one (inference.
    add_uncertainty); an unbounded side prints "–"."""
    low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
    if low is None and high is None:
        return text
    bounds = (format_number(bound, digits=digits, scale=scale) for bound in (low, high))
    return f"{text} [{', '.join(bounds)}]"


def format_times_interval(row: Mapping[str, Any], name: str) -> str:
    """A ratio (format_times) with its interval, at the ratio's own precision."""
    number = finite(row.get(name))
    digits = 2 if number is not None and abs(number) < 1 else 1
    return with_interval(format_times(number), row, name, digits=digits)


def format_accuracy(row: Mapping[str, Any], mark: str = "") -> str:
    """Accuracy in percent, with "± std" over seeds when there are several, its interval, and
    `mark` when the row's difference against raw is significant (significant_vs_raw)."""
    text = format_number(row.get("accuracy"), scale=100)
    if (row.get("n_seeds") or 0) > 1 and row.get("accuracy_std") is not None:
        text = f"{text} ± {format_number(row['accuracy_std'], scale=100)}"
    text = with_interval(text, row, "accuracy", scale=100)
    return text + (mark if mark and row.get("significant_vs_raw") else "")


def interval_note(settings: Statistics) -> str:
    """What the brackets of every table are."""
    level = format_number(100 * (1 - settings.alpha), digits=0)
    return (
        f"Brackets: {level}% intervals. Accuracy: Wilson over the problems (one seed), or a "
        "bootstrap over problems and seeds (several; ± is the seeds' standard deviation). Ratios "
        f"against raw: paired bootstrap over the same problems ({settings.bootstrap_samples} "
        "resamples)."
    )


def legend(
    rows: Sequence[Mapping[str, Any]],
    mark: str,
    against: str,
    comparison: str,
    settings: Statistics,
) -> list[str]:
    """A table's notes: the intervals' and the mark's meaning, each only where the rows have any."""
    notes = []
    if any(row.get("accuracy_low") is not None for row in rows):
        notes.append(interval_note(settings))
    if any(row.get(f"p_adjusted_vs_{comparison}") is not None for row in rows):
        notes.append(significance_note(mark, against, rows, comparison, settings))
    return notes


def significance_note(
    mark: str,
    against: str,
    rows: Sequence[Mapping[str, Any]],
    comparison: str,
    settings: Statistics,
) -> str:
    """The legend of a significance mark: the test, the level and the Holm family's size."""
    tested = sum(row.get(f"p_adjusted_vs_{comparison}") is not None for row in rows)
    return (
        f"{mark} differs from {against} at p < {settings.alpha:g} on the same problems (exact "
        "McNemar test for one seed each, else paired bootstrap), Holm-Bonferroni adjusted over "
        f"the table's {tested} comparisons."
    )


def setting_title(row: Mapping[str, Any]) -> str:
    """One setting (everything a run shares with its raw partner) as a section heading."""
    return (
        f"{row['teacher']} → {row['student']} ({row['mode']}, {row['regime']} problems) "
        f"on {row['benchmark']}"
    )


def _sections(
    rows: Sequence[Mapping[str, Any]], cells: Callable[[Mapping[str, Any]], list[str]]
) -> list[tuple[str, list[list[str]]]]:
    """Consecutive rows of one setting form a section (tidy_table sorts rows by setting)."""
    sections = []
    for _, group in groupby(rows, key=setting_key):
        items = list(group)
        sections.append((setting_title(items[0]), [cells(item) for item in items]))
    return sections


def main_table(rows: Sequence[Mapping[str, Any]], settings: Statistics) -> Table:
    """Per setting: each variant's accuracy, retention, output length and training cost, with
    intervals and the mark of accuracies that differ significantly from raw's."""

    def cells(row: Mapping[str, Any]) -> list[str]:
        retention = format_number(row.get("accuracy_retention"), scale=100)
        return [
            row["variant"],
            format_accuracy(row, RAW_MARK),
            with_interval(retention, row, "accuracy_retention", scale=100),
            format_number(row.get("mean_output_tokens"), digits=0),
            format_times_interval(row, "inference_length_reduction"),
            format_number(row.get("training_token_ratio"), scale=100),
            format_times(row.get("training_speedup")),
            format_times_interval(row, "per_token_efficiency_gain"),
        ]

    columns = [
        "Variant",
        "Accuracy (%)",
        "Retention (%)",
        "Output tokens",
        "Length red. (×)",
        "Train tokens (% raw)",
        "Speedup (×)",
        "Eff. gain (×)",
    ]
    notes = legend(rows, RAW_MARK, "raw", "raw", settings)
    return Table(columns, "l" + "r" * (len(columns) - 1), _sections(rows, cells), notes)


def truncation_table(rows: Sequence[Mapping[str, Any]], settings: Statistics) -> Table:
    """Per setting: each compressor next to its length-matched truncated twin, the difference
    with its paired interval, marked where significant."""

    def cells(pair: Mapping[str, Any]) -> list[str]:
        compressed, truncated = pair["compressed"], pair["truncated"]
        difference = format_number(pair["accuracy_difference"], scale=100, signed=True)
        difference = with_interval(
            difference, compressed, "accuracy_difference_vs_truncated", scale=100
        )
        mark = TRUNCATED_MARK if compressed.get("significant_vs_truncated") else ""
        return [
            pair["compressor"],
            format_accuracy(compressed),
            format_accuracy(truncated),
            difference + mark,
            format_number(compressed.get("mean_output_tokens"), digits=0),
            format_number(truncated.get("mean_output_tokens"), digits=0),
        ]

    columns = [
        "Compressor",
        "Acc. compressed (%)",
        "Acc. truncated (%)",
        "Δ acc. (pp)",
        "Tokens compressed",
        "Tokens truncated",
    ]
    notes = legend(rows, TRUNCATED_MARK, "the truncation's", "truncated", settings)
    sections = _sections(truncation_pairs(rows), cells)
    return Table(columns, "l" + "r" * (len(columns) - 1), sections, notes)


def to_markdown(table: Table) -> str:
    """One bold heading and pipe table per section."""
    if not table.sections:
        return "_No data._\n"
    rule = ["---:" if a == "r" else ":---:" if a == "c" else ":---" for a in table.align]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(markdown_escape(cell) for cell in cells) + " |"

    blocks = []
    for title, body in table.sections:
        lines = [
            f"**{markdown_escape(title)}**",
            "",
            line(table.columns),
            "| " + " | ".join(rule) + " |",
        ]
        blocks.append("\n".join(lines + [line(cells) for cells in body]))
    blocks += [markdown_escape(note) for note in table.notes]
    return "\n\n".join(blocks) + "\n"


def to_latex(table: Table) -> str:
    """A booktabs tabular; each section opens with an italic heading row spanning all columns."""
    width = len(table.columns)

    def line(cells: Sequence[str]) -> str:
        return " & ".join(latex_escape(cell) for cell in cells) + r" \\"

    def spanning(text: str, align: str = "l") -> str:
        return rf"\multicolumn{{{width}}}{{{align}}}{{{text}}} \\"

    lines = [
        r"% Generated by compress_distill.tables; needs \usepackage{booktabs}.",
        rf"\begin{{tabular}}{{{table.align}}}",
        r"\toprule",
        line(table.columns),
    ]
    for title, body in table.sections:
        lines += [r"\midrule", spanning(rf"\textit{{{latex_escape(title)}}}")]
        lines += [line(cells) for cells in body]
    if not table.sections:
        lines += [r"\midrule", spanning("no data", "c")]
    lines.append(r"\bottomrule")
    # Legend lines: a paragraph cell as wide as the page, so a long note wraps.
    lines += [
        spanning(rf"\footnotesize {latex_escape(note)}", r"p{\linewidth}") for note in table.notes
    ]
    lines.append(r"\end{tabular}")
    return "\n".join(lines) + "\n"


def _csv_value(value: Any) -> Any:
    """Empty for undefined; JSON for lists and dicts, so each row stays one CSV line."""
    if value is None:
        return ""
    return json.dumps(value, sort_keys=True) if isinstance(value, list | dict) else value


def write_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Atomically write rows as CSV; columns are every key, in first-seen order."""
    columns = list(dict.fromkeys(key for row in rows for key in row)) or list(ROW_KEYS)
    with atomic_writer(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row.get(column)) for column in columns])
    return Path(path)


def _write_text(path: Path, text: str) -> Path:
    with atomic_writer(path) as handle:
        handle.write(text)
    return path


def paper_tables(rows: Sequence[Mapping[str, Any]], settings: Statistics) -> dict[str, Table]:
    """The paper's tables by name: main and truncation."""
    return {"main": main_table(rows, settings), "truncation": truncation_table(rows, settings)}


def write_tables(
    rows: Sequence[Mapping[str, Any]], out_dir: str | Path, settings: Statistics
) -> list[Path]:
    """metrics.csv (the tidy rows), main.{md,tex} and truncation.{md,tex} under out_dir."""
    out = Path(out_dir)
    written = [write_csv(rows, out / "metrics.csv")]
    for name, table in paper_tables(rows, settings).items():
        written.append(_write_text(out / f"{name}.md", to_markdown(table)))
        written.append(_write_text(out / f"{name}.tex", to_latex(table)))
    return written
