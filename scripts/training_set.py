"""Rule training_set: the chat examples of one (teacher, variant, regime), and their lengths."""

from collections import defaultdict
from pathlib import Path

from compress_distill.io import read_jsonl, write_json, write_jsonl
from compress_distill.provenance import recorded
from compress_distill.students import load_tokenizer
from compress_distill.training_sets import build_training_set, set_stats


def _rows(paths):
    return [row for path in paths for row in read_jsonl(path)]


def _available(paths):
    """Problem ids per dropping compressor (its shards sit in one folder, named after it)."""
    by_compressor = defaultdict(set)
    for path in paths:
        by_compressor[Path(path).parent].update(row["problem_id"] for row in read_jsonl(path))
    return list(by_compressor.values())


def main(smk) -> None:
    with recorded(smk):
        # Tokenizer folders are results/students/<student>/tokenizer.
        tokenizers = {Path(path).parent.name: load_tokenizer(path) for path in smk.input.tokenizers}
        examples, origins = build_training_set(
            verified_rows=_rows(smk.input.verified),
            compressed_rows=_rows(smk.input.get("compressed", [])),
            available=_available(smk.input.available),
            variant=smk.wildcards.variant,
            regime=int(smk.wildcards.regime),
            seed=smk.params.seed,
            prompt_template=Path(smk.input.prompt).read_text(encoding="utf-8"),
            unit=smk.params.unit,
            tokenizer=tokenizers.get(smk.params.unit_tokenizer),
        )
        write_jsonl(smk.output.dataset, examples)
        keys = {key: smk.wildcards[key] for key in ("teacher", "variant", "regime")}
        write_json(smk.output.stats, keys | set_stats(examples, tokenizers) | {"origins": origins})
        print(f"{len(examples)} examples -> {smk.output.dataset}")


if __name__ == "__main__":
    main(snakemake)
