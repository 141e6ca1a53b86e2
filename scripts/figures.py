"""Rule figures: the study's five figures (PDF and PNG) from the metrics and compressed traces."""

from pathlib import Path

from compress_distill.io import read_json, read_jsonl
from compress_distill.logs import log_to
from compress_distill.plots import register_compressors, write_figures
from compress_distill.training_sets import by_teacher_compressor


def main(smk) -> None:
    with log_to(smk.log[0]):
        # The config's compressor order fixes each compressor's colour in every figure.
        register_compressors(smk.params.compressors)
        ratios = {
            pair: [row["ratio"] for path in paths for row in read_jsonl(path)]
            for pair, paths in by_teacher_compressor(smk.input.compressed).items()
        }
        out_dir = Path(smk.output[0]).parent
        written = write_figures(read_json(smk.input.metrics), ratios, out_dir)
        print("\n".join(map(str, written)))


if __name__ == "__main__":
    main(snakemake)
