# compress-distill: problems -> teacher traces -> verified -> compressed -> students -> evaluations.
# The stages live in rules/; the logic in the compress_distill package (src/).
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/problems.smk"
include: "rules/generate.smk"
include: "rules/verify.smk"


rule all:
    default_target: True
    input:
        all_targets(),
