"""Rule figures: the study's five figures (PDF and PNG) from the metrics and compression summary."""

from pathlib import Path

from compress_distill.io import read_json
from compress_distill.plots import write_figures
from compress_distill.plots.style import register_compressors
from compress_distill.provenance import recorded


def main(smk) -> None:
    with recorded(smk):
        # The config's compressor order fixes each compressor's colour in every figure.
        register_compressors(smk.params.compressors)
        ratios = {
            (pair["teacher"], pair["compressor"]): [
                ratio for path in pair["summaries"] for ratio in read_json(path)["ratios"]
            ]
            for pair in smk.params.compression_files
        }
        out_dir = Path(smk.output[0]).parent
        rows = read_json(smk.input.metrics)
        written = write_figures(rows, ratios, out_dir, dpi=smk.params.figures["dpi"])
        print("\n".join(map(str, written)))


if __name__ == "__main__":
    main(snakemake)
