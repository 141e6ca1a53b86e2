rule compress:
    input:
        verified=f"{RESULTS}/traces/{{teacher}}/verified/{{shard}}.jsonl",
        prompt=lambda w: (
            repo_path(compressor_entry(w)["prompt"])
            if compressor_entry(w)["kind"] == "llm"
            else []
        ),
    output:
        traces=f"{RESULTS}/traces/{{teacher}}/{{compressor}}/{{shard}}.jsonl",
        summary=f"{RESULTS}/traces/{{teacher}}/{{compressor}}/{{shard}}.summary.json",
    log:
        f"{LOGS}/compress/{{teacher}}/{{compressor}}/{{shard}}.log",
    conda:
        "../envs/generate.yaml"
    threads: resource(compressor_entry, "cpus")
    resources:
        gpu=resource(compressor_entry, "gpus"),
        gpu_model=resource(compressor_entry, "gpu_model"),
        cpus_per_task=resource(compressor_entry, "cpus"),
        mem_mb=resource(compressor_entry, "mem_mb"),
        runtime=resource(compressor_entry, "runtime"),
    params:
        compressor=lambda w: without(compressor_entry(w), "resources"),
        code=code("compress"),
    script:
        "../scripts/compress.py"
