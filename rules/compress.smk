rule compress:
    input:
        verified=f"{RESULTS}/traces/{{teacher}}/verified/{{shard}}.jsonl",
        prompt=lambda w: (
            repo_path(config["compressors"][w.compressor]["prompt"])
            if config["compressors"][w.compressor]["kind"] == "llm"
            else []
        ),
    output:
        traces=f"{RESULTS}/traces/{{teacher}}/{{compressor}}/{{shard}}.jsonl",
        summary=f"{RESULTS}/traces/{{teacher}}/{{compressor}}/{{shard}}.summary.json",
    log:
        f"{LOGS}/compress/{{teacher}}/{{compressor}}/{{shard}}.log",
    conda:
        "../envs/generate.yaml"
    resources:
        gpu=lambda w: config["compressors"][w.compressor]["resources"]["gpus"],
        mem_mb=lambda w: config["compressors"][w.compressor]["resources"]["mem_mb"],
        runtime=lambda w: config["compressors"][w.compressor]["resources"]["runtime"],
    params:
        compressor=lambda w: without(config["compressors"][w.compressor], "resources"),
        code=code("compress"),
    script:
        "../scripts/compress.py"
