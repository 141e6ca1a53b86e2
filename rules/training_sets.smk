rule student_tokenizer:
    output:
        directory(f"{RESULTS}/students/{{student}}/tokenizer"),
    log:
        f"{LOGS}/student_tokenizer/{{student}}.log",
    conda:
        "../envs/data.yaml"
    params:
        student=lambda w: config["students"][w.student],
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
    script:
        "../scripts/training_set.py"


rule training_sets_summary:
    input:
        training_set_stats_files(),
    output:
        json=f"{RESULTS}/tables/training_sets.json",
        csv=report(
            f"{RESULTS}/tables/training_sets.csv",
            caption="../report/training_sets.rst",
            category="Training sets",
        ),
    log:
        f"{LOGS}/training_sets_summary.log",
    conda:
        "../envs/data.yaml"
    script:
        "../scripts/training_sets_summary.py"
