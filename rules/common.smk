# Config validation, output paths and the grid of targets. Rules import their paths from here.
import re
from dataclasses import asdict
from pathlib import Path

from snakemake.exceptions import WorkflowError

import compress_distill
from compress_distill.config import ConfigError, validate_config
from compress_distill.provenance import code_hash
from compress_distill.grid import TRUNCATED as TRUNCATED_PREFIX
from compress_distill.grid import config_runs, config_variants

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
# Rebuild only the aggregates (tables, figures, report) from results already there, as in an
# unpacked bundle: the stages before them are not defined, so nothing can train or generate.
REGENERATE = config["regenerate"]


def _alternatives(names):
    return "|".join(re.escape(name) for name in names)


wildcard_constraints:
    problemset=_alternatives(config["problemsets"]),
    teacher=_alternatives(config["teachers"]),
    shard=r"\d{3}",


def repo_path(path):
    """Config paths are relative to the workflow folder, wherever Snakemake's workdir is."""
    return path if Path(path).is_absolute() else str(Path(workflow.basedir) / path)


def code(script):
    """Hash of the package modules that the script of a job imports, as a param; changing one reruns
    exactly the rules whose scripts use it. The workflow's own src/ when it has one (an editable
    install runs it), else the installed package."""
    package = Path(workflow.basedir) / "src/compress_distill"
    if not package.is_dir():
        package = Path(compress_distill.__file__).parent
    return code_hash(
        str(Path(workflow.basedir) / "scripts" / f"{script}.py"), str(package)
    )


def without(entry, *keys):
    """A config entry minus keys that change no output (resources, licenses): the slice a job
    depends on, so editing those reruns nothing."""
    return {key: value for key, value in entry.items() if key not in keys}


def teacher_entry(wildcards):
    return config["teachers"][wildcards.teacher]


def compressor_entry(wildcards):
    return config["compressors"][wildcards.compressor]


def evaluation_entry(wildcards):
    return config["evaluation"]


def resource(entry_of, key):
    """One value of a config entry's `resources` (gpus, cpus, mem_mb, runtime, gpu_model), so each
    teacher, compressor and student asks the scheduler for what it needs and no rule hard-codes it.
    gpu_model defaults to "", which the Slurm plugin reads as any model."""
    return lambda w: entry_of(w)["resources"].get(key, "")


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


# --- compression and training sets ----------------------------------------------------------
COMPRESSORS = list(config.get("compressors", {}))
VARIANTS = config_variants(config)
STUDENTS = list(config.get("students", {}))
REGIMES = config["training_sets"]["regimes"]
TEACHER_COMPRESSORS = [(t, c) for t in config["teachers"] for c in COMPRESSORS]


wildcard_constraints:
    compressor=_alternatives(COMPRESSORS) if COMPRESSORS else "(?!)",
    variant=_alternatives(VARIANTS),
    student=_alternatives(STUDENTS) if STUDENTS else "(?!)",
    regime=r"\d+",


def verified_shards(wildcards):
    return expand(
        f"{RESULTS}/traces/{{teacher}}/verified/{{shard}}.jsonl",
        teacher=wildcards.teacher,
        shard=shard_ids(wildcards.teacher),
    )


def compressed_shards(teacher, compressor, suffix=".jsonl"):
    """A compressor's shards (suffix ".summary.json": their summaries)."""
    return expand(
        f"{RESULTS}/traces/{teacher}/{compressor}/{{shard}}{suffix}",
        shard=shard_ids(teacher),
    )


def compression_summaries():
    return [
        path
        for teacher, compressor in TEACHER_COMPRESSORS
        for path in compressed_shards(teacher, compressor, ".summary.json")
    ]


def variant_compressor(variant):
    """The compressor a variant's targets come from (None for raw and answer-only)."""
    name = variant.removeprefix(TRUNCATED_PREFIX)
    return name if name in COMPRESSORS else None


def training_set_inputs(wildcards):
    """The variant's own sources, plus the outputs of compressors that drop examples: every variant
    trains on the problems that survive all of them. Append-policy compressors drop nothing, so a
    change to one of them reruns only its own branch."""
    inputs = {
        "verified": verified_shards(wildcards),
        "prompt": repo_path(config["training_sets"]["prompt"]),
        "tokenizers": student_tokenizers(),
    }
    source = variant_compressor(wildcards.variant)
    if source:
        inputs["compressed"] = compressed_shards(wildcards.teacher, source)
    dropping = [
        n
        for n, c in config.get("compressors", {}).items()
        if c["answer_policy"] == "drop"
    ]
    inputs["available"] = [
        shard
        for name in dropping
        for shard in compressed_shards(wildcards.teacher, name)
    ]
    return inputs


def student_tokenizers():
    return expand(f"{RESULTS}/students/{{student}}/tokenizer", student=STUDENTS)


def training_set_stats_files():
    return expand(
        f"{RESULTS}/datasets/{{teacher}}/{{variant}}/{{regime}}.stats.json",
        teacher=config["teachers"],
        variant=VARIANTS,
        regime=REGIMES,
    )


def aggregate_targets():
    """The tables and figures: all that a bundle regenerates."""
    targets = []
    if COMPRESSORS:
        targets.append(f"{RESULTS}/tables/training_sets.csv")
        targets.append(f"{RESULTS}/tables/compression.csv")
    if RUN_BENCHMARKS:
        targets += [
            f"{RESULTS}/tables/main.md",
            f"{RESULTS}/figures/accuracy_vs_length.png",
        ]
    return targets


def all_targets():
    """Every stage's final outputs for the configured grid (the report and provenance table
    aside, which take these as inputs)."""
    if REGENERATE:
        return aggregate_targets()
    targets = expand(
        f"{RESULTS}/problems/{{problemset}}.jsonl", problemset=config["problemsets"]
    )
    for teacher in config["teachers"]:
        targets.append(f"{RESULTS}/traces/{teacher}/stats.json")
    targets += [f"{RESULTS}/runs/{run.path}/train_metrics.json" for run in RUNS]
    return targets + aggregate_targets()


# --- training ----------------------------------------------------------------------------------
RUNS = config_runs(config)
RUN = f"{RESULTS}/runs/{{teacher}}/{{variant}}/{{student}}/{{mode}}/{{regime}}"


wildcard_constraints:
    mode="full|lora",


def student_entry(wildcards):
    return config["students"][wildcards.student]


def student_model(wildcards):
    """A pretrained student's own folder when it is one (paths are relative to the workflow, like
    data/students/tiny-arith), as an input: rebuilding it reruns what depends on it. Hub ids are
    not files; they load by name."""
    student = student_entry(wildcards)
    if student["kind"] != "pretrained":
        return []
    local = Path(repo_path(student["model"]))
    return str(local) if local.is_dir() else []


def _keys(entry, keys):
    return {key: entry[key] for key in keys if key in entry}


def tokenizer_slice(student):
    return _keys(student, ("kind", "model"))


def base_model_slice(student):
    """What a base model is built from: not the fine-tuning settings, which only runs use."""
    return _keys(student, ("kind", "model", "architecture", "pretrain"))


def train_settings(wildcards):
    """This student's settings for this mode, with the grid's budget: exactly the config slice a
    run depends on, so changing one student's learning rate reruns only its runs."""
    student = student_entry(wildcards)
    budget = config["training"]["budget"]
    steps = {"epochs": budget["epochs"]} if budget["policy"] == "epochs" else {}
    steps |= {"max_steps": budget["steps"]} if budget["policy"] == "steps" else {}
    return student["training"] | student[wildcards.mode] | steps


def checkpoint_dir(wildcards):
    w = wildcards
    return (
        f"{RESULTS}/checkpoints/{w.teacher}/{w.variant}/{w.student}/{w.mode}/{w.regime}"
    )


# --- evaluation ------------------------------------------------------------------------------
BENCHMARKS = list(config.get("benchmarks", {}))
EVAL = f"{RESULTS}/evals/{{teacher}}/{{variant}}/{{student}}/{{mode}}/{{regime}}"


wildcard_constraints:
    benchmark=_alternatives(BENCHMARKS) if BENCHMARKS else "(?!)",


def evaluation_inputs(wildcards):
    """The trained model (and, for LoRA, the base its adapter belongs to) and the problems."""
    run = RUN.format(**dict(wildcards.items()))
    benchmark = config["benchmarks"][wildcards.benchmark]
    inputs = {
        "model": f"{run}/model",
        "problems": f"{RESULTS}/problems/{benchmark['problemset']}.jsonl",
        "prompt": repo_path(config["training_sets"]["prompt"]),
    }
    if wildcards.mode == "lora":
        inputs["base"] = f"{RESULTS}/students/{wildcards.student}/base"
    return inputs


# --- aggregation -------------------------------------------------------------------------------
RUN_BENCHMARKS = [(run.path, benchmark) for run in RUNS for benchmark in BENCHMARKS]
FIGURES = [
    "accuracy_vs_length",
    "training_cost",
    "compression_ratios",
    "compression_vs_truncation",
    "retention_vs_efficiency",
]
