"""Rule metrics_table: one tidy row per (run, benchmark), with every metric, the derived ones, and
their intervals and paired tests (compress_distill.inference)."""

from compress_distill.grid import Run
from compress_distill.inference import add_uncertainty, outcomes_by_row
from compress_distill.io import read_json, write_json
from compress_distill.metrics import metrics_row, tidy_table
from compress_distill.provenance import recorded
from compress_distill.stats import Statistics
from compress_distill.tables import write_csv


def main(smk) -> None:
    with recorded(smk):
        # Inputs are listed in the order of params.cells: one evaluation and training metrics file
        # each. Metrics, not predictions: a bundle rebuilds the tables without the predictions
        # (each evaluation's metrics hold its per-problem outcomes).
        evaluations = [read_json(path) for path in smk.input.evaluations]
        cells = zip(smk.params.cells, evaluations, smk.input.train_metrics, strict=True)
        records = [
            metrics_row(Run(**run), benchmark, metrics, read_json(train))
            for (run, benchmark), metrics, train in cells
        ]
        outcomes = outcomes_by_row(smk.params.cells, evaluations)
        rows = add_uncertainty(tidy_table(records), outcomes, Statistics(**smk.params.statistics))
        write_json(smk.output.json, rows)
        write_csv(rows, smk.output.csv)


if __name__ == "__main__":
    main(snakemake)
