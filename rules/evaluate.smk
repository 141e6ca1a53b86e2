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
    threads: config["evaluation"]["workers"]
    resources:
        gpu=config["evaluation"]["resources"]["gpus"],
        mem_mb=config["evaluation"]["resources"]["mem_mb"],
        runtime=config["evaluation"]["resources"]["runtime"],
    params:
        benchmark=lambda w: config["benchmarks"][w.benchmark],
        engine={
            key: config["evaluation"][key]
            for key in ("engine", "engine_args", "workers")
        },
        code=code("evaluate"),
    script:
        "../scripts/evaluate.py"
