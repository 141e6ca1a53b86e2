"""Rule metrics_table: one tidy row per (run, benchmark), with every metric and the derived ones."""

from compress_distill.grid import Run
from compress_distill.io import read_json, write_json
from compress_distill.metrics import metrics_row, tidy_table
from compress_distill.provenance import recorded
from compress_distill.tables import write_csv


def main(smk) -> None:
    with recorded(smk):
        # Inputs are listed in the order of params.cells: one evaluation and training metrics file
        # each. Metrics, not predictions: a bundle rebuilds the tables without the predictions.
        cells = zip(smk.params.cells, smk.input.evaluations, smk.input.train_metrics, strict=True)
        records = [
            metrics_row(Run(**run), benchmark, read_json(evaluation), read_json(train))
            for (run, benchmark), evaluation, train in cells
        ]
        rows = tidy_table(records)
        write_json(smk.output.json, rows)
        write_csv(rows, smk.output.csv)


if __name__ == "__main__":
    main(snakemake)
