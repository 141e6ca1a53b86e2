# compress-distill: problems -> teacher traces -> verified -> compressed -> students -> evaluations.
# The stages live in rules/; the logic in the compress_distill package (src/).
from snakemake.utils import min_version

min_version("9.0")


# The demo config is the default. A --configfile replaces it instead of being merged into it, so
# configs/paper.yaml never inherits the demo's teachers.
if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"


# Regenerating (an unpacked bundle): the stages that produce the bundled per-run files do not
# exist, so the aggregates read those files as sources and nothing trains or generates.
if not REGENERATE:

    include: "rules/problems.smk"
    include: "rules/generate.smk"
    include: "rules/verify.smk"
    include: "rules/compress.smk"
    include: "rules/training_sets.smk"
    include: "rules/train.smk"
    include: "rules/evaluate.smk"
    include: "rules/bundle.smk"


include: "rules/aggregate.smk"
include: "rules/cost.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
        f"{RESULTS}/report.html",
