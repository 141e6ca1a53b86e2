rule compress:
    input:
        verified=f"{RESULTS}/traces/{{teacher}}/verified/{{shard}}.jsonl",
        prompt=lambda w: (
            repo_path(compressor_entry(w)["prompt"])
            if compressor_entry(w)["kind"] == "llm"
            else []
        ),
        model=local_model(compressor_entry),
    output:
        traces=f"{RESULTS}/traces/{{teacher}}/{{compressor}}/{{shard}}.jsonl",
        summary=f"{RESULTS}/traces/{{teacher}}/{{compressor}}/{{shard}}.summary.json",
    log:
        f"{LOGS}/compress/{{teacher}}/{{compressor}}/{{shard}}.log",
    conda:
        "../envs/generate.yaml"
    threads: resource(compressor_entry, "cpus")
    resources:
        **compress_resources(),
    params:
        compressor=lambda w: config_slice(compressor_entry(w), "resources", "size"),
        code=script_code_hash("compress"),
        # Not an output: Snakemake must not delete it when a job dies, so a rerun resumes from it.
        progress_dir=lambda w: f"{RESULTS}/traces/{w.teacher}/{w.compressor}/.progress",
    script:
        "../scripts/compress.py"
