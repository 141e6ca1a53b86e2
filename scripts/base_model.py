"""Rule base_model: the model all runs of a student start from (built and pretrained, or loaded)."""

from compress_distill.local_models import with_local_model
from compress_distill.provenance import recorded
from compress_distill.students.base import build_base_model, gsm8k_texts


def main(smk) -> None:
    with recorded(smk):
        build_base_model(
            with_local_model(smk.params.student, smk.input.model),
            smk.input.tokenizer,
            smk.output[0],
            gsm8k_texts(smk.input.text) if smk.input.text else None,
        )


if __name__ == "__main__":
    main(snakemake)
