"""Rule evaluate: one trained student on one benchmark; predictions and their metrics. Resumes from
its progress file after a kill."""

from pathlib import Path

from compress_distill.evaluation import evaluate
from compress_distill.io import read_jsonl, sha256_file, write_json, write_jsonl
from compress_distill.metrics import evaluation_metrics
from compress_distill.progress import ProgressFile
from compress_distill.provenance import checksum, recorded


def main(smk) -> None:
    prompt = Path(smk.input.prompt).read_text(encoding="utf-8")
    # The model's file contents (not times, which a copy changes): a retrained model never resumes
    # its predecessor's answers.
    depends_on = {
        "model": checksum(smk.input.model),
        "problems": sha256_file(smk.input.problems),
        "prompt": prompt,
        "benchmark": smk.params.benchmark,
        "engine": smk.params.engine,
    }
    with (
        recorded(smk),
        ProgressFile(smk.params.progress_dir, smk.wildcards.benchmark, depends_on) as progress,
    ):
        predictions = evaluate(
            problems=read_jsonl(smk.input.problems),
            model_dir=smk.input.model,
            prompt_template=prompt,
            benchmark=smk.params.benchmark,
            engine=smk.params.engine,
            workers=smk.threads,
            progress_file=progress,
        )
        write_jsonl(smk.output.predictions, predictions)
        write_json(smk.output.metrics, evaluation_metrics(predictions))
        progress.finish()


# The vLLM engine starts workers that re-import this file.
if __name__ == "__main__":
    main(snakemake)
