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
from compress_distill.stats import finite

UNDEFINED = "–"
MINUS = "−"
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
    }
)
_MARKDOWN_ESCAPES = str.maketrans({c: "\\" + c for c in "\\|*_`"})


@dataclass
class Table:
    """Header cells, one alignment letter per column (l/r/c), and titled sections of rows."""

    columns: list[str]
    align: str
    sections: list[tuple[str, list[list[str]]]] = field(default_factory=list)


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


def format_accuracy(row: Mapping[str, Any]) -> str:
    """Accuracy in percent, with "± std" over seeds when there are several."""
    mean = format_number(row.get("accuracy"), scale=100)
    if (row.get("n_seeds") or 0) > 1 and row.get("accuracy_std") is not None:
        return f"{mean} ± {format_number(row['accuracy_std'], scale=100)}"
    return mean


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


def main_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Per setting: each variant's accuracy, retention, output length and training cost."""

    def cells(row: Mapping[str, Any]) -> list[str]:
        return [
            row["variant"],
            format_accuracy(row),
            format_number(row.get("accuracy_retention"), scale=100),
            format_number(row.get("mean_output_tokens"), digits=0),
            format_times(row.get("inference_length_reduction")),
            format_number(row.get("training_token_ratio"), scale=100),
            format_times(row.get("training_speedup")),
            format_times(row.get("per_token_efficiency_gain")),
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
    return Table(columns, "l" + "r" * (len(columns) - 1), _sections(rows, cells))


def truncation_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    """Per setting: each compressor next to its length-matched truncated twin."""

    def cells(pair: Mapping[str, Any]) -> list[str]:
        compressed, truncated = pair["compressed"], pair["truncated"]
        return [
            pair["compressor"],
            format_accuracy(compressed),
            format_accuracy(truncated),
            format_number(pair["accuracy_difference"], scale=100, signed=True),
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
    return Table(columns, "l" + "r" * (len(columns) - 1), _sections(truncation_pairs(rows), cells))


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
    lines += [r"\bottomrule", r"\end{tabular}"]
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


def write_tables(rows: Sequence[Mapping[str, Any]], out_dir: str | Path) -> list[Path]:
    """metrics.csv (the tidy rows), main.{md,tex} and truncation.{md,tex} under out_dir."""
    out = Path(out_dir)
    written = [write_csv(rows, out / "metrics.csv")]
    for name, table in (("main", main_table(rows)), ("truncation", truncation_table(rows))):
        written.append(_write_text(out / f"{name}.md", to_markdown(table)))
        written.append(_write_text(out / f"{name}.tex", to_latex(table)))
    return written
