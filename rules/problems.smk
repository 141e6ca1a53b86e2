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
    params:
        spec=lambda w: config["problemsets"][w.problemset],
        basedir=workflow.basedir,
    log:
        f"{LOGS}/problemset/{{problemset}}.log",
    script:
        "../scripts/make_problems.py"
