"""Rule training_set_stats: examples, characters and tokens of one set, and its ratios to raw."""

from transformers import AutoTokenizer

from compress_distill.io import read_jsonl, write_json
from compress_distill.logs import log_to
from compress_distill.training_sets import add_ratios, set_stats


def main(smk) -> None:
    with log_to(smk.log[0]):
        # Tokenizer folders are results/students/<student>/tokenizer.
        tokenizers = {
            path.split("/")[-2]: AutoTokenizer.from_pretrained(path) for path in smk.input.tokenizers
        }
        stats = set_stats(read_jsonl(smk.input.dataset), tokenizers)
        raw = set_stats(read_jsonl(smk.input.raw), tokenizers)
        keys = {k: smk.wildcards[k] for k in ("teacher", "variant", "regime")}
        write_json(smk.output[0], keys | add_ratios(stats, raw))


if __name__ == "__main__":
    main(snakemake)
