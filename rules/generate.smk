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
    threads: resource(teacher_entry, "cpus")
    resources:
        gpu=resource(teacher_entry, "gpus"),
        gpu_model=resource(teacher_entry, "gpu_model"),
        cpus_per_task=resource(teacher_entry, "cpus"),
        mem_mb=resource(teacher_entry, "mem_mb"),
        runtime=resource(teacher_entry, "runtime"),
    params:
        teacher=lambda w: without(teacher_entry(w), "resources"),
        code=code("generate"),
        # Not an output: Snakemake must not delete it when a job dies, so a rerun resumes from it.
        progress_dir=lambda w: f"{RESULTS}/traces/{w.teacher}/raw/.progress",
    script:
        "../scripts/generate.py"
