"""Rule metrics_table: one tidy row per (run, benchmark), with every metric and the derived ones."""

from compress_distill.grid import Run
from compress_distill.io import read_json, read_jsonl, write_json
from compress_distill.logs import log_to
from compress_distill.metrics import make_record, tidy_table
from compress_distill.tables import write_csv


def main(smk) -> None:
    with log_to(smk.log[0]):
        # Inputs are listed in the order of params.cells: one prediction and metrics file each.
        cells = zip(smk.params.cells, smk.input.predictions, smk.input.train_metrics, strict=True)
        records = [
            make_record(Run(**run), benchmark, read_jsonl(predictions), read_json(train))
            for (run, benchmark), predictions, train in cells
        ]
        rows = tidy_table(records)
        write_json(smk.output.json, rows)
        write_csv(rows, smk.output.csv)


if __name__ == "__main__":
    main(snakemake)
