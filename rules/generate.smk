rule generate:
    input:
        problems=teacher_problems,
        prompt=lambda w: repo_path(teacher_entry(w)["prompt"]),
    output:
        f"{RESULTS}/traces/{{teacher}}/raw/{{shard}}.jsonl",
    log:
        f"{LOGS}/generate/{{teacher}}/{{shard}}.log",
    conda:
        "../envs/generate.yaml"
    resources:
        gpu=lambda w: teacher_entry(w)["resources"]["gpus"],
        mem_mb=lambda w: teacher_entry(w)["resources"]["mem_mb"],
        runtime=lambda w: teacher_entry(w)["resources"]["runtime"],
    params:
        teacher=lambda w: without(teacher_entry(w), "resources"),
        code=code("generate"),
        # Not an output: Snakemake must not delete it when a job dies, so a rerun resumes from it.
        progress_dir=lambda w: f"{RESULTS}/traces/{w.teacher}/raw/.progress",
    script:
        "../scripts/generate.py"
