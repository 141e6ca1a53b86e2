rule verify:
    input:
        f"{RESULTS}/traces/{{teacher}}/raw/{{shard}}.jsonl",
    output:
        checked=f"{RESULTS}/traces/{{teacher}}/checked/{{shard}}.jsonl",
        verified=f"{RESULTS}/traces/{{teacher}}/verified/{{shard}}.jsonl",
    params:
        timeout_s=config["verification"]["timeout_s"],
    threads: config["verification"]["workers"]
    log:
        f"{LOGS}/verify/{{teacher}}/{{shard}}.log",
    script:
        "../scripts/verify.py"


rule teacher_stats:
    input:
        checked_shards,
    output:
        f"{RESULTS}/traces/{{teacher}}/stats.json",
    log:
        f"{LOGS}/teacher_stats/{{teacher}}.log",
    script:
        "../scripts/teacher_stats.py"
