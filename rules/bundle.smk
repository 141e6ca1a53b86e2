# The reproducibility bundle: not part of `all`; `make bundle` asks for it.


rule bundle:
    input:
        all_targets(),
        f"{RESULTS}/tables/provenance.csv",
        f"{RESULTS}/report.html",
        config=f"{RESULTS}/config.yaml",
    output:
        f"{RESULTS}/bundle/compress-distill.tar.gz",
    log:
        f"{LOGS}/bundle.log",
    localrule: True
    conda:
        "../envs/report.yaml"
    params:
        include_large=config["bundle"]["include_large"],
        code=script_code_hash("bundle"),
    script:
        "../scripts/bundle.py"
