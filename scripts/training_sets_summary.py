"""Rule training_sets_summary: one CSV row per training set, with its ratios against raw."""

from compress_distill.io import read_json
from compress_distill.logs import log_to
from compress_distill.training_sets import write_summary_csv


def main(smk) -> None:
    with log_to(smk.log[0]):
        write_summary_csv([read_json(path) for path in smk.input], smk.output[0])


if __name__ == "__main__":
    main(snakemake)
