# Config validation, output paths and the grid of targets. Rules import their paths from here.
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

from compress_distill.config import ConfigError, validate_config

try:
    config.update(
        validate_config(
            config,
            Path(workflow.basedir) / "schemas/config.schema.yaml",
            workflow.basedir,
        )
    )
except ConfigError as err:
    raise WorkflowError(str(err)) from None

RESULTS = "results"
LOGS = f"{RESULTS}/logs"


def _alternatives(names):
    return "|".join(re.escape(name) for name in names)


wildcard_constraints:
    problemset=_alternatives(config["problemsets"]),
    teacher=_alternatives(config["teachers"]),
    shard=r"\d{3}",


def repo_path(path):
    """Config paths are relative to the workflow folder, wherever Snakemake's workdir is."""
    return path if Path(path).is_absolute() else str(Path(workflow.basedir) / path)


def teacher_entry(wildcards):
    return config["teachers"][wildcards.teacher]


def shard_ids(teacher):
    return [f"{i:03d}" for i in range(config["teachers"][teacher]["shards"])]


def teacher_problems(wildcards):
    return f"{RESULTS}/problems/{teacher_entry(wildcards)['problemset']}.jsonl"


def checked_shards(wildcards):
    return expand(
        f"{RESULTS}/traces/{{teacher}}/checked/{{shard}}.jsonl",
        teacher=wildcards.teacher,
        shard=shard_ids(wildcards.teacher),
    )


def all_targets():
    targets = expand(
        f"{RESULTS}/problems/{{problemset}}.jsonl", problemset=config["problemsets"]
    )
    for teacher in config["teachers"]:
        targets.append(f"{RESULTS}/traces/{teacher}/stats.json")
        targets += expand(
            f"{RESULTS}/traces/{teacher}/verified/{{shard}}.jsonl",
            shard=shard_ids(teacher),
        )
    return targets
