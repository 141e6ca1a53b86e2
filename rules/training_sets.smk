rule student_tokenizer:
    input:
        model=local_model(student_entry),
        chat_template=lambda w: (
            repo_path(student_entry(w)["chat_template"])
            if "chat_template" in student_entry(w)
            else []
        ),
    output:
        directory(f"{RESULTS}/students/{{student}}/tokenizer"),
    log:
        f"{LOGS}/student_tokenizer/{{student}}.log",
    conda:
        "../envs/data.yaml"
    resources:
        **rule_resources("student_tokenizer"),
    params:
        # What the tokenizer comes from, so another learning rate keeps it (and the training sets).
        student=lambda w: tokenizer_slice(student_entry(w)),
        code=script_code_hash("student_tokenizer"),
    script:
        "../scripts/student_tokenizer.py"


rule training_set:
    input:
        unpack(training_set_inputs),
    output:
        dataset=f"{DATASET}.jsonl",
        stats=f"{DATASET}.stats.json",
    log:
        f"{LOGS}/training_set/{{teacher}}/{{variant}}/{{regime}}.log",
    conda:
        "../envs/data.yaml"
    resources:
        **rule_resources("training_set", lambda w: int(w.regime)),
    params:
        seed=config["training_sets"]["seed"],
        unit=config["truncation"]["unit"],
        dropped_files=dropped_files,
        code=script_code_hash("training_set"),
    script:
        "../scripts/training_set.py"


TOKEN_COUNT_CPUS = config["resources"]["training_set_tokens"]["cpus"]


# Per student, so that adding a student counts its tokens and leaves the training sets alone.
rule training_set_tokens:
    input:
        datasets=[f"{stem}.jsonl" for stem in training_sets().values()],
        tokenizer=f"{RESULTS}/students/{{student}}/tokenizer",
    output:
        f"{RESULTS}/students/{{student}}/training_set_tokens.json",
    log:
        f"{LOGS}/training_set_tokens/{{student}}.log",
    conda:
        "../envs/data.yaml"
    # One training set per process: the job's runtime is that of the sets its busiest one counts.
    threads: TOKEN_COUNT_CPUS
    resources:
        **rule_resources(
            "training_set_tokens",
            lambda w: math.ceil(len(training_sets()) / TOKEN_COUNT_CPUS)
            * max(REGIMES),
        ),
    params:
        # The name of each input dataset, in input order.
        names=list(training_sets()),
        max_length=lambda w: student_max_length(student_entry(w)),
        code=script_code_hash("training_set_tokens"),
    script:
        "../scripts/training_set_tokens.py"
