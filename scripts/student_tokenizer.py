"""Rule student_tokenizer: the tokenizer a student trains and counts tokens with."""

from pathlib import Path

from compress_distill.local_models import with_local_model
from compress_distill.provenance import recorded
from compress_distill.students.tokenizers import save_student_tokenizer


def main(smk) -> None:
    with recorded(smk):
        template = smk.input.chat_template
        tokenizer = save_student_tokenizer(
            with_local_model(smk.params.student, smk.input.model),
            smk.output[0],
            Path(template).read_text(encoding="utf-8") if template else None,
        )
        print(f"{smk.wildcards.student}: {len(tokenizer)} tokens -> {smk.output[0]}")


if __name__ == "__main__":
    main(snakemake)
