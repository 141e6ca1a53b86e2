"""Rule compress: one compressor over one verified shard; lost answers appended or dropped.

Beside the traces, a small summary (outcomes, lengths, ratios) is all the aggregates read."""

from pathlib import Path

from compress_distill.compression import compress_rows, make_compressor
from compress_distill.compression.summary import shard_summary
from compress_distill.io import read_jsonl, write_json, write_jsonl
from compress_distill.provenance import recorded


def main(smk) -> None:
    entry = dict(smk.params.compressor)
    if smk.input.prompt:
        entry["prompt"] = Path(smk.input.prompt).read_text(encoding="utf-8")
    with recorded(smk):
        compressor = make_compressor(entry, name=smk.wildcards.compressor)
        try:
            rows, counts = compress_rows(
                read_jsonl(smk.input.verified),
                compressor,
                entry["answer_policy"],
                batch_size=entry["batch_size"],
            )
        finally:
            compressor.close()
        write_jsonl(smk.output.traces, rows)
        write_json(smk.output.summary, shard_summary(rows, counts))
        print(counts)


# The llm compressor may start vLLM, whose workers re-import this file.
if __name__ == "__main__":
    main(snakemake)
