# The cost ledger (issue 20): every job's device time, from the provenance records beside the
# outputs of the jobs it accounts for; an unpacked bundle holds those records and rebuilds it.


rule cost_ledger:
    input:
        # Not read: every counted job has written its record when these exist.
        [target for target in all_targets() if target != COST_TABLE],
        stats=list(teacher_stats_files().values()),
    output:
        csv=report(COST_TABLE, caption="../report/costs.rst", category="Costs"),
        md=f"{RESULTS}/tables/costs.md",
        ledger=f"{RESULTS}/tables/cost_ledger.csv",
        pdf=f"{RESULTS}/figures/costs.pdf",
        png=report(
            f"{RESULTS}/figures/costs.png",
            caption="../report/costs_figure.rst",
            category="Costs",
        ),
    log:
        f"{LOGS}/cost_ledger.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    params:
        grid={
            "values": {
                "teacher": list(config["teachers"]),
                "compressor": COMPRESSORS,
                "variant": VARIANTS,
                "student": STUDENTS,
                "regime": [str(regime) for regime in REGIMES],
                "benchmark": BENCHMARKS,
                "problemset": list(config["problemsets"]),
            },
            "runs": [run.path for run in RUNS],
        },
        stats_files=teacher_stats_files(),
        scale=config["costs"]["scale"],
        figures=config_slice(config["figures"]),
        code=script_code_hash("cost_ledger"),
    script:
        "../scripts/cost_ledger.py"
