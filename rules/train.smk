rule base_model:
    input:
        tokenizer=f"{RESULTS}/students/{{student}}/tokenizer",
        # Only a from_config student with pretraining reads it.
        text=lambda w: (
            repo_path(config["training"]["pretrain_text"])
            if student_entry(w).get("pretrain")
            else []
        ),
        model=local_model(student_entry),
    output:
        directory(f"{RESULTS}/students/{{student}}/base"),
    log:
        f"{LOGS}/base_model/{{student}}.log",
    conda:
        "../envs/train.yaml"
    threads: resource(base_model_entry, "cpus")
    resources:
        **job_resources(base_model_entry),
    params:
        student=lambda w: base_model_slice(student_entry(w)),
        code=script_code_hash("base_model"),
    script:
        "../scripts/base_model.py"


rule train:
    input:
        dataset=f"{DATASET}.jsonl",
        base=f"{RESULTS}/students/{{student}}/base",
    output:
        model=directory(f"{RUN}/model"),
        metrics=f"{RUN}/train_metrics.json",
        loss=f"{RUN}/loss.csv",
    log:
        f"{LOGS}/train/{{teacher}}/{{variant}}/{{student}}/{{mode}}/{{regime}}.log",
    conda:
        "../envs/train.yaml"
    threads: resource(student_entry, "cpus")
    resources:
        **job_resources(student_entry),
    params:
        settings=train_settings,
        mode=lambda w: w.mode,
        strategy=lambda w: student_entry(w)["strategy"],
        code=script_code_hash("train"),
        # Not an output: Snakemake must not delete it when a job dies, so a rerun resumes from it.
        checkpoint_dir=checkpoint_dir,
    script:
        "../scripts/train.py"
