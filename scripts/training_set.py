"""Rule training_set: the chat examples of one (teacher, variant, regime), and their lengths."""

from pathlib import Path

from compress_distill.io import iter_jsonl, write_json
from compress_distill.provenance import recorded
from compress_distill.students.tokenizers import load_tokenizer
from compress_distill.training_sets import write_training_set


def main(smk) -> None:
    with recorded(smk):
        tokenizer = smk.input.get("tokenizer")
        stats, origins = write_training_set(
            verified_paths=smk.input.verified,
            compressed_paths=smk.input.get("compressed", []),
            # The problems each dropping compressor kept.
            available=[
                {row["problem_id"] for path in shards for _, row in iter_jsonl(path)}
                for shards in smk.params.dropped_files.values()
            ],
            variant=smk.wildcards.variant,
            regime=int(smk.wildcards.regime),
            seed=smk.params.seed,
            prompt_template=Path(smk.input.prompt).read_text(encoding="utf-8"),
            out_path=smk.output.dataset,
            unit=smk.params.unit,
            tokenizer=load_tokenizer(tokenizer) if tokenizer else None,
            workers=smk.threads,
        )
        keys = {key: smk.wildcards[key] for key in ("teacher", "variant", "regime")}
        write_json(smk.output.stats, keys | stats | {"origins": origins})
        print(f"{stats['examples']} examples -> {smk.output.dataset}")


if __name__ == "__main__":
    main(snakemake)
