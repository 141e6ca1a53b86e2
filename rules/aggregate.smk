# The aggregates: what a bundle regenerates from its small per-run files (see REGENERATE).


rule compression_summary:
    input:
        summaries=compression_summaries(),
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
    resources:
        **rule_resources("compression_summary"),
    params:
        compression_files=compression_files(),
        code=script_code_hash("compression_summary"),
    script:
        "../scripts/compression_summary.py"


rule training_sets_summary:
    input:
        stats=[f"{stem}.stats.json" for stem in training_sets().values()],
        tokens=list(student_token_counts().values()),
    output:
        json=f"{RESULTS}/tables/training_sets.json",
        csv=report(
            f"{RESULTS}/tables/training_sets.csv",
            caption="../report/training_sets.rst",
            category="Training sets",
        ),
    log:
        f"{LOGS}/training_sets_summary.log",
    conda:
        "../envs/data.yaml"
    resources:
        **rule_resources("training_sets_summary"),
    params:
        token_files=student_token_counts(),
        code=script_code_hash("training_sets_summary"),
    script:
        "../scripts/training_sets_summary.py"


rule metrics_table:
    input:
        evaluations=[
            f"{RESULTS}/evals/{r.path}/{b}.metrics.json" for r, b in RUN_BENCHMARKS
        ],
        train_metrics=[
            f"{RESULTS}/runs/{r.path}/train_metrics.json" for r, _ in RUN_BENCHMARKS
        ],
    output:
        json=f"{RESULTS}/tables/metrics.json",
        csv=report(
            f"{RESULTS}/tables/metrics.csv",
            caption="../report/metrics.rst",
            category="Tables",
        ),
    log:
        f"{LOGS}/metrics_table.log",
    conda:
        "../envs/report.yaml"
    resources:
        **rule_resources("metrics_table"),
    params:
        cells=[(asdict(run), benchmark) for run, benchmark in RUN_BENCHMARKS],
        code=script_code_hash("metrics_table"),
    script:
        "../scripts/metrics_table.py"


rule paper_tables:
    input:
        f"{RESULTS}/tables/metrics.json",
    output:
        main_md=report(
            f"{RESULTS}/tables/main.md",
            caption="../report/main_table.rst",
            category="Tables",
        ),
        main_tex=f"{RESULTS}/tables/main.tex",
        truncation_md=report(
            f"{RESULTS}/tables/truncation.md",
            caption="../report/truncation_table.rst",
            category="Tables",
        ),
        truncation_tex=f"{RESULTS}/tables/truncation.tex",
    log:
        f"{LOGS}/paper_tables.log",
    conda:
        "../envs/report.yaml"
    resources:
        **rule_resources("paper_tables"),
    params:
        code=script_code_hash("paper_tables"),
    script:
        "../scripts/paper_tables.py"


rule figures:
    input:
        metrics=f"{RESULTS}/tables/metrics.json",
        compression=compression_summaries(),
    output:
        **{
            f"{name}_{ext}": (
                report(
                    f"{RESULTS}/figures/{name}.{ext}",
                    caption=f"../report/{name}.rst",
                    category="Figures",
                )
                if ext == "png"
                else f"{RESULTS}/figures/{name}.{ext}"
            )
            for name in FIGURES
            for ext in ("pdf", "png")
        },
    log:
        f"{LOGS}/figures.log",
    conda:
        "../envs/report.yaml"
    resources:
        **rule_resources("figures"),
    params:
        compressors=COMPRESSORS,
        compression_files=compression_files(),
        figures=config_slice(config["figures"]),
        code=script_code_hash("figures"),
    script:
        "../scripts/figures.py"
