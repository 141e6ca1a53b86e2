"""Rule evaluate: one trained student on one benchmark; predictions and their metrics."""

from pathlib import Path

from compress_distill.evaluation import evaluate
from compress_distill.io import read_jsonl, write_json, write_jsonl
from compress_distill.metrics import evaluation_metrics
from compress_distill.provenance import recorded


def main(smk) -> None:
    with recorded(smk):
        predictions = evaluate(
            problems=read_jsonl(smk.input.problems),
            model_dir=smk.input.model,
            prompt_template=Path(smk.input.prompt).read_text(encoding="utf-8"),
            benchmark=smk.params.benchmark,
            engine=smk.params.engine,
            workers=smk.threads,
        )
        write_jsonl(smk.output.predictions, predictions)
        write_json(smk.output.metrics, evaluation_metrics(predictions))


# The vLLM engine starts workers that re-import this file.
if __name__ == "__main__":
    main(snakemake)
