"""Rule compression_summary: per teacher and compressor, answer-preservation outcomes and ratio."""

from compress_distill.io import read_json
from compress_distill.provenance import recorded
from compress_distill.tables import write_csv
from compress_distill.training_sets import by_teacher_compressor, compression_summary


def main(smk) -> None:
    with recorded(smk):
        shards = by_teacher_compressor(smk.input.summaries)
        rows = [
            compression_summary(
                teacher, compressor, [read_json(path) for path in shards[teacher, compressor]]
            )
            for teacher, compressor in smk.params.pairs
        ]
        write_csv(rows, smk.output[0])


if __name__ == "__main__":
    main(snakemake)
