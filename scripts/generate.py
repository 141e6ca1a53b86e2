"""Rule generate: one teacher, one shard; resumes from its progress file after a kill."""

from pathlib import Path

from compress_distill.engines import make_engine
from compress_distill.generation import generate_shard, teacher_engine_args
from compress_distill.io import read_jsonl
from compress_distill.local_models import with_local_model
from compress_distill.provenance import recorded


def main(smk) -> None:
    teacher = smk.params.teacher
    model = with_local_model(teacher, smk.input.model).get("model")
    with recorded(smk):
        stats = generate_shard(
            problems=read_jsonl(smk.input.problems),
            make_engine=lambda: make_engine(teacher["engine"], model, teacher_engine_args(teacher)),
            teacher_name=smk.wildcards.teacher,
            teacher=teacher,
            prompt_template=Path(smk.input.prompt).read_text(encoding="utf-8"),
            shard=int(smk.wildcards.shard),
            out_path=smk.output[0],
            progress_dir=smk.params.progress_dir,
            problems_source=smk.input.problems,
        )
        print(stats)


# vLLM starts worker processes that re-import this file: the guard keeps them from rerunning it.
if __name__ == "__main__":
    main(snakemake)
