"""Rule figures: the study's five figures (PDF and PNG) from the metrics and compression summary."""

from pathlib import Path

from compress_distill.io import read_json
from compress_distill.plots import register_compressors, write_figures
from compress_distill.provenance import recorded
from compress_distill.training_sets import by_teacher_compressor


def main(smk) -> None:
    with recorded(smk):
        # The config's compressor order fixes each compressor's colour in every figure.
        register_compressors(smk.params.compressors)
        ratios = {
            pair: [ratio for path in paths for ratio in read_json(path)["ratios"]]
            for pair, paths in by_teacher_compressor(smk.input.compression).items()
        }
        out_dir = Path(smk.output[0]).parent
        rows = read_json(smk.input.metrics)
        written = write_figures(rows, ratios, out_dir, dpi=smk.params.figures["dpi"])
        print("\n".join(map(str, written)))


if __name__ == "__main__":
    main(snakemake)
