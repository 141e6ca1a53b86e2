"""Rule student_tokenizer: the tokenizer a student trains and counts tokens with."""

from compress_distill.provenance import recorded
from compress_distill.students import with_local_model
from compress_distill.students.tokenizers import save_student_tokenizer


def main(smk) -> None:
    with recorded(smk):
        tokenizer = save_student_tokenizer(
            with_local_model(smk.params.student, smk.input.model), smk.output[0]
        )
        print(f"{smk.wildcards.student}: {len(tokenizer)} tokens -> {smk.output[0]}")


if __name__ == "__main__":
    main(snakemake)
