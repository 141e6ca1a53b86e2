"""Rule compression_summary: per teacher and compressor, answer-preservation outcomes and ratio."""

from compress_distill.compression.summary import compression_summary
from compress_distill.io import read_json
from compress_distill.provenance import recorded
from compress_distill.tables import write_csv


def main(smk) -> None:
    with recorded(smk):
        rows = [
            compression_summary(
                pair["teacher"], pair["compressor"], [read_json(p) for p in pair["summaries"]]
            )
            for pair in smk.params.compression_files
        ]
        write_csv(rows, smk.output[0])


if __name__ == "__main__":
    main(snakemake)
