"""Rule student_tokenizer: the tokenizer a student trains and counts tokens with."""

from compress_distill.logs import log_to
from compress_distill.students import save_student_tokenizer


def main(smk) -> None:
    with log_to(smk.log[0]):
        tokenizer = save_student_tokenizer(smk.params.student, smk.output[0])
        print(f"{smk.wildcards.student}: {len(tokenizer)} tokens -> {smk.output[0]}")


if __name__ == "__main__":
    main(snakemake)
