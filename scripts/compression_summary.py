"""Rule compression_summary: per teacher and compressor, answer-preservation outcomes and ratio."""

from compress_distill.io import read_json, read_jsonl
from compress_distill.logs import log_to
from compress_distill.tables import write_csv
from compress_distill.training_sets import by_teacher_compressor, compression_summary


def main(smk) -> None:
    with log_to(smk.log[0]):
        counts = by_teacher_compressor(smk.input.counts)
        traces = by_teacher_compressor(smk.input.traces)
        rows = [
            compression_summary(
                teacher,
                compressor,
                [read_json(path) for path in counts[teacher, compressor]],
                [row for path in traces[teacher, compressor] for row in read_jsonl(path)],
            )
            for teacher, compressor in smk.params.pairs
        ]
        write_csv(rows, smk.output[0])


if __name__ == "__main__":
    main(snakemake)
