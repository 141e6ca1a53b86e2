"""Rule training_set_tokens: every training set's completion tokens in one student's tokenizer, and
its examples too long for the student's max_length (training leaves them out), by one process per
thread."""

from compress_distill.io import write_json
from compress_distill.provenance import recorded
from compress_distill.training_sets import training_set_token_stats


def main(smk) -> None:
    with recorded(smk):
        sets = dict(zip(smk.params.names, smk.input.datasets, strict=True))
        counts = training_set_token_stats(
            sets, smk.input.tokenizer, smk.params.max_length, workers=smk.threads
        )
        write_json(smk.output[0], counts)
        print(f"{smk.wildcards.student}: {len(counts)} training sets, by {smk.threads} processes")


if __name__ == "__main__":
    main(snakemake)
