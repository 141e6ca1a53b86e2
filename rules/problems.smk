rule problems:
    input:
        # A local JSONL source is an input, so editing it rebuilds the problem set.
        lambda w: (
            repo_path(config["problemsets"][w.problemset]["path"])
            if config["problemsets"][w.problemset]["kind"] == "jsonl"
            else []
        ),
    output:
        f"{RESULTS}/problems/{{problemset}}.jsonl",
    log:
        f"{LOGS}/problems/{{problemset}}.log",
    conda:
        "../envs/data.yaml"
    params:
        spec=lambda w: config_slice(config["problemsets"][w.problemset], "license"),
        code=script_code_hash("problems"),
    script:
        "../scripts/problems.py"
