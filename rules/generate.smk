rule generate:
    input:
        problems=teacher_problems,
        prompt=lambda w: repo_path(teacher_entry(w)["prompt"]),
        model=local_model(teacher_entry),
    output:
        f"{RESULTS}/traces/{{teacher}}/raw/{{shard}}.jsonl",
    log:
        f"{LOGS}/generate/{{teacher}}/{{shard}}.log",
    conda:
        "../envs/generate.yaml"
    threads: resource(teacher_entry, "cpus")
    resources:
        **job_resources(teacher_entry),
    params:
        teacher=lambda w: config_slice(teacher_entry(w), "resources", "size"),
        code=script_code_hash("generate"),
        # Not an output: Snakemake must not delete it when a job dies, so a rerun resumes from it.
        progress_dir=lambda w: f"{RESULTS}/traces/{w.teacher}/raw/.progress",
    script:
        "../scripts/generate.py"
