"""Rule shared_training_set_tokens: a student's token counts of the training sets, taken from the
student whose tokenizer it shares (config key students.<name>.same_tokenizer_as), once the two
tokenizers are shown to count alike."""

from compress_distill.config import ConfigError
from compress_distill.io import read_json, write_json
from compress_distill.provenance import recorded
from compress_distill.students.tokenizers import tokenization_difference


def main(smk) -> None:
    with recorded(smk):
        difference = tokenization_difference(smk.input.tokenizer, smk.input.counted_tokenizer)
        if difference is not None:
            raise ConfigError(
                f"config key '{smk.params.key}': {smk.input.tokenizer} and "
                f"{smk.input.counted_tokenizer} are not the same tokenizer ({difference}); "
                "remove the key so that this student counts its own tokens"
            )
        write_json(smk.output[0], read_json(smk.input.counted))
        print(f"{smk.wildcards.student}: the counts of {smk.input.counted}, same tokenizer")


if __name__ == "__main__":
    main(snakemake)
