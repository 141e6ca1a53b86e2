# The aggregates: what a bundle regenerates from its small per-run files (see REGENERATE).

# The report's categories. Its menu sorts them by name, so the numbers set the order: the
# findings first, then the tables and figures they come from.
REPORT_CATEGORIES = {
    "findings": "1. Findings",
    "tables": "2. Tables",
    "figures": "3. Figures",
    "costs": "4. Costs",
    "training_sets": "5. Training sets",
    "provenance": "6. Provenance",
}


rule compression_summary:
    input:
        summaries=compression_summaries(),
    output:
        report(
            f"{RESULTS}/tables/compression.csv",
            caption="../report/compression.rst",
            category=REPORT_CATEGORIES["training_sets"],
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
            category=REPORT_CATEGORIES["training_sets"],
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
            category=REPORT_CATEGORIES["tables"],
        ),
    log:
        f"{LOGS}/metrics_table.log",
    conda:
        "../envs/report.yaml"
    resources:
        **rule_resources("metrics_table"),
    params:
        cells=[(asdict(run), benchmark) for run, benchmark in RUN_BENCHMARKS],
        statistics=config_slice(config["statistics"]),
        code=script_code_hash("metrics_table"),
    script:
        "../scripts/metrics_table.py"


rule findings:
    input:
        metrics=f"{RESULTS}/tables/metrics.json",
        # The per-problem outcomes, for the intervals of pooled comparisons.
        evaluations=[
            f"{RESULTS}/evals/{r.path}/{b}.metrics.json" for r, b in RUN_BENCHMARKS
        ],
    output:
        md=report(
            f"{RESULTS}/tables/findings.md",
            caption="../report/findings.rst",
            category=REPORT_CATEGORIES["findings"],
        ),
        csv=f"{RESULTS}/tables/findings.csv",
    log:
        f"{LOGS}/findings.log",
    conda:
        "../envs/report.yaml"
    resources:
        **rule_resources("findings"),
    params:
        cells=[(asdict(run), benchmark) for run, benchmark in RUN_BENCHMARKS],
        statistics=config_slice(config["statistics"]),
        code=script_code_hash("findings"),
    script:
        "../scripts/findings.py"


rule paper_tables:
    input:
        f"{RESULTS}/tables/metrics.json",
    output:
        main_md=report(
            f"{RESULTS}/tables/main.md",
            caption="../report/main_table.rst",
            category=REPORT_CATEGORIES["tables"],
        ),
        main_tex=f"{RESULTS}/tables/main.tex",
        truncation_md=report(
            f"{RESULTS}/tables/truncation.md",
            caption="../report/truncation_table.rst",
            category=REPORT_CATEGORIES["tables"],
        ),
        truncation_tex=f"{RESULTS}/tables/truncation.tex",
    log:
        f"{LOGS}/paper_tables.log",
    conda:
        "../envs/report.yaml"
    resources:
        **rule_resources("paper_tables"),
    params:
        statistics=config_slice(config["statistics"]),
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
                    category=REPORT_CATEGORIES["figures"],
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
