"""Rule teacher_stats: samples, correct, no-answer, pass rate and trace lengths of one teacher."""

from compress_distill.io import write_json
from compress_distill.logs import log_to
from compress_distill.verify import teacher_stats


def main(smk) -> None:
    with log_to(smk.log[0]):
        stats = teacher_stats(list(smk.input))
        write_json(smk.output[0], {"teacher": smk.wildcards.teacher, **stats})
        print(stats)


if __name__ == "__main__":
    main(snakemake)
