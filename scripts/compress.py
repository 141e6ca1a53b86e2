"""Rule compress: one compressor over one verified shard; lost answers appended or dropped.
Resumes from its progress file after a kill.

Beside the traces, a small summary (outcomes, lengths, ratios) is all the aggregates read."""

from pathlib import Path

from compress_distill.compression import compress_rows, make_compressor
from compress_distill.compression.summary import shard_summary
from compress_distill.io import read_jsonl, sha256_file, write_json, write_jsonl
from compress_distill.local_models import with_local_model
from compress_distill.progress import ProgressFile
from compress_distill.provenance import recorded


def main(smk) -> None:
    entry = dict(smk.params.compressor)
    if smk.input.prompt:
        entry["prompt"] = Path(smk.input.prompt).read_text(encoding="utf-8")
    # Only what changes the rows keys the progress file: a new batch size still resumes.
    depends_on = {
        "compressor": {k: v for k, v in entry.items() if k != "batch_size"},
        "shard": sha256_file(smk.input.verified),
    }
    with (
        recorded(smk),
        ProgressFile(smk.params.progress_dir, smk.wildcards.shard, depends_on) as progress,
    ):
        compressor = make_compressor(
            with_local_model(entry, smk.input.model), name=smk.wildcards.compressor
        )
        try:
            rows, counts = compress_rows(
                read_jsonl(smk.input.verified),
                compressor,
                entry["answer_policy"],
                batch_size=entry["batch_size"],
                progress_file=progress,
                min_faithfulness=entry.get("min_faithfulness"),
            )
        finally:
            compressor.close()
        write_jsonl(smk.output.traces, rows)
        write_json(smk.output.summary, shard_summary(rows, counts))
        progress.finish()
        print(counts)


# The llm compressor may start vLLM, whose workers re-import this file.
if __name__ == "__main__":
    main(snakemake)
