"""Rule training_set_tokens: every training set's completion tokens in one student's tokenizer, and
its examples too long for the student's max_length (training leaves them out)."""

from compress_distill.io import iter_jsonl, write_json
from compress_distill.provenance import recorded
from compress_distill.students.tokenizers import load_tokenizer
from compress_distill.training_sets import token_stats


def main(smk) -> None:
    with recorded(smk):
        tokenizer = load_tokenizer(smk.input.tokenizer)
        counts = {
            name: token_stats(
                (row for _, row in iter_jsonl(path)), tokenizer, smk.params.max_length
            )
            for name, path in zip(smk.params.names, smk.input.datasets, strict=True)
        }
        write_json(smk.output[0], counts)
        print(f"{smk.wildcards.student}: {len(counts)} training sets")


if __name__ == "__main__":
    main(snakemake)
