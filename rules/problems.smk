rule problemset:
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
        f"{LOGS}/problemset/{{problemset}}.log",
    conda:
        "../envs/data.yaml"
    params:
        spec=lambda w: without(config["problemsets"][w.problemset], "license"),
        code=code("make_problems"),
    script:
        "../scripts/make_problems.py"
