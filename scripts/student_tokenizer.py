"""Rule student_tokenizer: the tokenizer a student trains and counts tokens with."""

from compress_distill.provenance import recorded
from compress_distill.students import save_student_tokenizer


def main(smk) -> None:
    with recorded(smk):
        tokenizer = save_student_tokenizer(smk.params.student, smk.output[0])
        print(f"{smk.wildcards.student}: {len(tokenizer)} tokens -> {smk.output[0]}")


if __name__ == "__main__":
    main(snakemake)
