rule metrics_table:
    input:
        predictions=[f"{RESULTS}/evals/{r}/{b}.jsonl" for r, b in RUN_BENCHMARKS],
        train_metrics=[
            f"{RESULTS}/runs/{r}/train_metrics.json" for r, _ in RUN_BENCHMARKS
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
    params:
        cells=[(asdict(run), benchmark) for run in RUNS for benchmark in BENCHMARKS],
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
    script:
        "../scripts/paper_tables.py"


rule figures:
    input:
        metrics=f"{RESULTS}/tables/metrics.json",
        compressed=[
            shard for t, c in TEACHER_COMPRESSORS for shard in compressed_shards(t, c)
        ],
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
    params:
        compressors=COMPRESSORS,
    script:
        "../scripts/figures.py"
