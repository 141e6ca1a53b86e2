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
    threads: resource(evaluation_entry, "cpus")
    resources:
        gpu=resource(evaluation_entry, "gpus"),
        gpu_model=resource(evaluation_entry, "gpu_model"),
        cpus_per_task=resource(evaluation_entry, "cpus"),
        mem_mb=resource(evaluation_entry, "mem_mb"),
        runtime=resource(evaluation_entry, "runtime"),
    params:
        benchmark=lambda w: config["benchmarks"][w.benchmark],
        engine={
            key: config["evaluation"][key]
            for key in ("engine", "engine_args", "workers")
        },
        code=code("evaluate"),
    script:
        "../scripts/evaluate.py"
