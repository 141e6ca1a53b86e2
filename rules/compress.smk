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
        counts=f"{RESULTS}/traces/{{teacher}}/{{compressor}}/{{shard}}.counts.json",
    log:
        f"{LOGS}/compress/{{teacher}}/{{compressor}}/{{shard}}.log",
    conda:
        "../envs/generate.yaml"
    resources:
        gpu=lambda w: config["compressors"][w.compressor]["resources"]["gpus"],
        mem_mb=lambda w: config["compressors"][w.compressor]["resources"]["mem_mb"],
        runtime=lambda w: config["compressors"][w.compressor]["resources"]["runtime"],
    params:
        compressor=lambda w: config["compressors"][w.compressor],
    script:
        "../scripts/compress.py"


rule compression_summary:
    input:
        traces=[
            shard for t, c in TEACHER_COMPRESSORS for shard in compressed_shards(t, c)
        ],
        counts=[
            shard.replace(".jsonl", ".counts.json")
            for t, c in TEACHER_COMPRESSORS
            for shard in compressed_shards(t, c)
        ],
    output:
        report(
            f"{RESULTS}/tables/compression.csv",
            caption="../report/compression.rst",
            category="Training sets",
        ),
    log:
        f"{LOGS}/compression_summary.log",
    conda:
        "../envs/data.yaml"
    params:
        pairs=TEACHER_COMPRESSORS,
    script:
        "../scripts/compression_summary.py"
