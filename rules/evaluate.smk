rule evaluate:
    input:
        unpack(evaluation_inputs),
    output:
        predictions=f"{EVAL}/{{benchmark}}.jsonl",
        metrics=f"{EVAL}/{{benchmark}}.metrics.json",
    log:
        f"{LOGS}/evaluate/{{teacher}}/{{variant}}/{{student}}/{{mode}}/{{regime}}/{{benchmark}}.log",
    conda:
        "../envs/generate.yaml"
    # The answer-checking processes (evaluation.workers) run after generation, on the job's cores:
    # a thread count, not a param, so changing it reruns nothing.
    threads: evaluation_threads
    resources:
        **job_resources(evaluation_entry),
    params:
        benchmark=lambda w: config_slice(config["benchmarks"][w.benchmark]),
        engine=config_slice(config["evaluation"], "resources", "workers"),
        code=script_code_hash("evaluate"),
        # Not an output: Snakemake must not delete it when a job dies, so a rerun resumes from it.
        progress_dir=lambda w: f"{EVAL}/.progress".format(**dict(w.items())),
    script:
        "../scripts/evaluate.py"
