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
    # Token-unit truncation tokenizes every trace, in resources.training_set.cpus processes.
    threads: training_set_threads
    resources:
        **rule_resources("training_set", lambda w: int(w.regime), training_set_threads),
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
    # Its processes share the sets' examples: the runtime is that of the sets over the processes.
    threads: TOKEN_COUNT_CPUS
    resources:
        **rule_resources(
            "training_set_tokens",
            lambda w: math.ceil(
                len(training_sets()) * max(REGIMES) / TOKEN_COUNT_CPUS
            ),
        ),
    params:
        # The name of each input dataset, in input order.
        names=list(training_sets()),
        max_length=lambda w: student_max_length(student_entry(w)),
        code=script_code_hash("training_set_tokens"),
    script:
        "../scripts/training_set_tokens.py"


# Students with another's tokenizer (students.<name>.same_tokenizer_as) take its counts, checked.
SHARED_TOKENIZERS = {
    name: student["same_tokenizer_as"]
    for name, student in config["students"].items()
    if "same_tokenizer_as" in student
}

if SHARED_TOKENIZERS:

    ruleorder: shared_training_set_tokens > training_set_tokens

    rule shared_training_set_tokens:
        input:
            counted=lambda w: student_token_counts()[SHARED_TOKENIZERS[w.student]],
            tokenizer=f"{RESULTS}/students/{{student}}/tokenizer",
            counted_tokenizer=lambda w: f"{RESULTS}/students/{SHARED_TOKENIZERS[w.student]}/tokenizer",
        output:
            f"{RESULTS}/students/{{student}}/training_set_tokens.json",
        log:
            f"{LOGS}/shared_training_set_tokens/{{student}}.log",
        wildcard_constraints:
            student="|".join(SHARED_TOKENIZERS),
        conda:
            "../envs/data.yaml"
        # It loads two tokenizers, as student_tokenizer loads one.
        resources:
            **rule_resources("student_tokenizer"),
        params:
            key=lambda w: f"students.{w.student}.same_tokenizer_as",
            code=script_code_hash("shared_training_set_tokens"),
        script:
            "../scripts/shared_training_set_tokens.py"
