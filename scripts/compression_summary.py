"""Rule compression_summary: per teacher and compressor, answer-preservation outcomes and ratio."""

from pathlib import Path

from compress_distill.io import read_json, read_jsonl
from compress_distill.logs import log_to
from compress_distill.tables import write_csv
from compress_distill.training_sets import compression_summary


def main(smk) -> None:
    with log_to(smk.log[0]):
        rows = []
        for teacher, compressor in smk.params.pairs:
            # Shards of one pair sit in results/traces/<teacher>/<compressor>/.
            folder = Path(smk.params.traces) / teacher / compressor
            counts = [read_json(p) for p in smk.input.counts if Path(p).parent == folder]
            traces = [
                r for p in smk.input.traces if Path(p).parent == folder for r in read_jsonl(p)
            ]
            rows.append(compression_summary(teacher, compressor, counts, traces))
        write_csv(rows, smk.output[0])


if __name__ == "__main__":
    main(snakemake)
