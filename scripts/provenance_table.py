"""Rule provenance_table: one row per job of the workflow, from the records beside its outputs."""

from pathlib import Path

from compress_distill.provenance import recorded, table_rows
from compress_distill.tables import write_csv


def main(smk) -> None:
    with recorded(smk):
        results = Path(smk.output[0]).parents[1]  # results/tables/provenance.csv
        write_csv(table_rows(results), smk.output[0])


if __name__ == "__main__":
    main(snakemake)
