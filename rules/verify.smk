rule verify:
    input:
        f"{RESULTS}/traces/{{teacher}}/raw/{{shard}}.jsonl",
    output:
        checked=f"{RESULTS}/traces/{{teacher}}/checked/{{shard}}.jsonl",
        verified=f"{RESULTS}/traces/{{teacher}}/verified/{{shard}}.jsonl",
    log:
        f"{LOGS}/verify/{{teacher}}/{{shard}}.log",
    conda:
        "../envs/data.yaml"
    threads: config["verification"]["workers"]
    resources:
        **rule_resources(
            "verify",
            lambda w: shard_traces(config, w.teacher),
            cpus=config["verification"]["workers"],
        ),
    params:
        timeout_s=config["verification"]["timeout_s"],
        code=script_code_hash("verify"),
    script:
        "../scripts/verify.py"


rule teacher_stats:
    input:
        shards=teacher_shards("checked"),
    output:
        f"{RESULTS}/traces/{{teacher}}/stats.json",
    log:
        f"{LOGS}/teacher_stats/{{teacher}}.log",
    conda:
        "../envs/data.yaml"
    resources:
        **rule_resources("teacher_stats", lambda w: teacher_traces(config, w.teacher)),
    params:
        code=script_code_hash("teacher_stats"),
    script:
        "../scripts/teacher_stats.py"
