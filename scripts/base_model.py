"""Rule base_model: the model all runs of a student start from (built and pretrained, or loaded)."""

from compress_distill.provenance import recorded
from compress_distill.students import pretrain_texts, with_local_model
from compress_distill.training import build_base_model


def main(smk) -> None:
    with recorded(smk):
        build_base_model(
            with_local_model(smk.params.student, smk.input.model),
            smk.input.tokenizer,
            smk.output[0],
            pretrain_texts(smk.input.text) if smk.input.text else None,
        )


if __name__ == "__main__":
    main(snakemake)
