"""Rule training_set_tokens: one training set's completion tokens in one student's tokenizer."""

from compress_distill.io import read_jsonl, write_json
from compress_distill.provenance import recorded
from compress_distill.students.tokenizers import load_tokenizer
from compress_distill.training_sets import token_stats


def main(smk) -> None:
    with recorded(smk):
        stats = token_stats(read_jsonl(smk.input.dataset), load_tokenizer(smk.input.tokenizer))
        write_json(smk.output[0], stats)
        print(f"{smk.wildcards.student}: {stats['total']} tokens")


if __name__ == "__main__":
    main(snakemake)
