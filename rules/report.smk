# The resolved config, the provenance table and the HTML report: the last aggregates.


rule resolved_config:
    output:
        report(
            f"{RESULTS}/config.yaml",
            caption="../report/config.rst",
            category=REPORT_CATEGORIES["provenance"],
        ),
    log:
        f"{LOGS}/resolved_config.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    params:
        # The whole config, defaults filled in: the report and the bundle show what ran, and an
        # unpacked bundle regenerates with it.
        config=canonical(RESOLVED_CONFIG),
        code=script_code_hash("resolved_config"),
    script:
        "../scripts/resolved_config.py"


rule provenance_table:
    input:
        # Not read: every job upstream of these has written its record when they exist.
        all_targets(),
    output:
        report(
            f"{RESULTS}/tables/provenance.csv",
            caption="../report/provenance.rst",
            category=REPORT_CATEGORIES["provenance"],
        ),
    log:
        f"{LOGS}/provenance_table.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    params:
        code=script_code_hash("provenance_table"),
    script:
        "../scripts/provenance_table.py"


rule report:
    input:
        all_targets(),
        f"{RESULTS}/tables/provenance.csv",
        config=f"{RESULTS}/config.yaml",
    output:
        f"{RESULTS}/report.html",
    log:
        f"{LOGS}/report.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    params:
        # The report is `snakemake --report` run by this job: it needs to know the mode.
        regenerate=REGENERATE,
        code=script_code_hash("report"),
    script:
        "../scripts/report.py"
