rule student_tokenizer:
    input:
        model=student_model,
    output:
        directory(f"{RESULTS}/students/{{student}}/tokenizer"),
    log:
        f"{LOGS}/student_tokenizer/{{student}}.log",
    conda:
        "../envs/data.yaml"
    params:
        # What the tokenizer comes from, so another learning rate keeps it (and the training sets).
        student=lambda w: tokenizer_slice(student_entry(w)),
        code=code("student_tokenizer"),
    script:
        "../scripts/student_tokenizer.py"


rule training_set:
    input:
        unpack(training_set_inputs),
    output:
        dataset=f"{RESULTS}/datasets/{{teacher}}/{{variant}}/{{regime}}.jsonl",
        stats=f"{RESULTS}/datasets/{{teacher}}/{{variant}}/{{regime}}.stats.json",
    log:
        f"{LOGS}/training_set/{{teacher}}/{{variant}}/{{regime}}.log",
    conda:
        "../envs/data.yaml"
    params:
        seed=config["training_sets"]["seed"],
        unit=config["truncation"]["unit"],
        unit_tokenizer=config["truncation"].get("tokenizer"),
        code=code("training_set"),
    script:
        "../scripts/training_set.py"
