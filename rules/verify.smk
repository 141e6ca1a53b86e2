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
    params:
        timeout_s=config["verification"]["timeout_s"],
        code=code("verify"),
    script:
        "../scripts/verify.py"


rule teacher_stats:
    input:
        shards=checked_shards,
    output:
        f"{RESULTS}/traces/{{teacher}}/stats.json",
    log:
        f"{LOGS}/teacher_stats/{{teacher}}.log",
    conda:
        "../envs/data.yaml"
    params:
        code=code("teacher_stats"),
    script:
        "../scripts/teacher_stats.py"
