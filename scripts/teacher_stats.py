"""Rule teacher_stats: samples, correct, no-answer, pass rate, length-limit hits and trace lengths
of one teacher."""

from compress_distill.io import write_json
from compress_distill.provenance import recorded
from compress_distill.verify import teacher_stats


def main(smk) -> None:
    with recorded(smk):
        stats = teacher_stats(smk.input.shards)
        write_json(smk.output[0], {"teacher": smk.wildcards.teacher, **stats})
        print(stats)


if __name__ == "__main__":
    main(snakemake)
