"""Rule training_set: the chat examples of one (teacher, variant, regime), and their lengths."""

from pathlib import Path

from compress_distill.io import read_jsonl, write_json, write_jsonl
from compress_distill.provenance import recorded
from compress_distill.students.tokenizers import load_tokenizer
from compress_distill.training_sets import build_training_set, length_stats


def _rows(paths):
    return [row for path in paths for row in read_jsonl(path)]


def main(smk) -> None:
    with recorded(smk):
        tokenizer = smk.input.get("tokenizer")
        examples, origins = build_training_set(
            verified_rows=_rows(smk.input.verified),
            compressed_rows=_rows(smk.input.get("compressed", [])),
            # The problems each dropping compressor kept.
            available=[
                {row["problem_id"] for row in _rows(shards)}
                for shards in smk.params.dropped_files.values()
            ],
            variant=smk.wildcards.variant,
            regime=int(smk.wildcards.regime),
            seed=smk.params.seed,
            prompt_template=Path(smk.input.prompt).read_text(encoding="utf-8"),
            unit=smk.params.unit,
            tokenizer=load_tokenizer(tokenizer) if tokenizer else None,
        )
        write_jsonl(smk.output.dataset, examples)
        keys = {key: smk.wildcards[key] for key in ("teacher", "variant", "regime")}
        write_json(smk.output.stats, keys | length_stats(examples) | {"origins": origins})
        print(f"{len(examples)} examples -> {smk.output.dataset}")


if __name__ == "__main__":
    main(snakemake)
