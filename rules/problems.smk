rule problems:
    input:
        # A local JSONL source is an input, so editing it rebuilds the problem set.
        lambda w: (
            repo_path(config["problemsets"][w.problemset]["path"])
            if config["problemsets"][w.problemset]["kind"] == "jsonl"
            else []
        ),
    output:
        problems=f"{RESULTS}/problems/{{problemset}}.jsonl",
        # How many problems were dropped because their gold answer cannot be checked, and why.
        stats=f"{RESULTS}/problems/{{problemset}}.stats.json",
    log:
        f"{LOGS}/problems/{{problemset}}.log",
    conda:
        "../envs/data.yaml"
    resources:
        **rule_resources("problems", lambda w: problemset_size(config, w.problemset)),
    params:
        spec=lambda w: config_slice(config["problemsets"][w.problemset], "license"),
        code=script_code_hash("problems"),
    script:
        "../scripts/problems.py"
