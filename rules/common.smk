# Config validation, output paths and the grid of targets. Rules import their paths from here;
# the logic behind them lives in the compress_distill package, where it is unit-tested.
import math
import re
import sys
from dataclasses import asdict
from pathlib import Path

from snakemake.exceptions import WorkflowError

# This workflow's own package (src/) ahead of any installed copy. The conda envs (envs/) do not
# install it: Snakemake's script preamble appends this process's sys.path, so each rule's script
# in its env, and the report's nested snakemake, import this src/, the code script_code_hash hashes.
_SRC = str(Path(workflow.basedir) / "src")
if Path(_SRC, "compress_distill").is_dir():
    sys.path[:] = [_SRC, *(path for path in sys.path if path != _SRC)]

import compress_distill
from compress_distill.config import ConfigError, canonical, validate_config
from compress_distill.grid import (
    MODES,
    compressor_of,
    config_runs,
    config_variants,
    dropping_compressors,
    run_settings,
    variant_kind,
)
from compress_distill.gpu_fit import (
    check_config,
    failure_message,
    model_size,
    verdict_table,
)
from compress_distill.plots import FIGURES
from compress_distill.provenance import code_hash
from compress_distill.resources import (
    copy_request,
    problemset_size,
    scaled_request,
    shard_traces,
    teacher_traces,
)
from compress_distill.training.settings import TrainSettings
from compress_distill.local_models import local_model_dir

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
# What ran: `regenerate` is how it runs, not what it ran.
RESOLVED_CONFIG = {key: value for key, value in config.items() if key != "regenerate"}


def _alternatives(names):
    return "|".join(re.escape(name) for name in names) if names else "(?!)"


def repo_path(path):
    """Config paths are relative to the workflow folder, wherever Snakemake's workdir is."""
    return path if Path(path).is_absolute() else str(Path(workflow.basedir) / path)


def script_code_hash(script):
    """Hash of the package modules that the script of a job imports, as a param; changing one reruns
    exactly the rules whose scripts use it. The workflow's own src/ when it has one (an editable
    install runs it), else the installed package."""
    package = Path(workflow.basedir) / "src/compress_distill"
    if not package.is_dir():
        package = Path(compress_distill.__file__).parent
    return code_hash(
        str(Path(workflow.basedir) / "scripts" / f"{script}.py"), str(package)
    )


def config_slice(entry, *ignored):
    """A config entry as a job's param: without the keys that change no output (resources,
    licenses), its keys sorted. Snakemake compares params by their text, so the same meaning
    written in another key order reruns nothing."""
    return canonical({key: value for key, value in entry.items() if key not in ignored})


def resource(entry_of, key):
    """One value of a config entry's `resources` (gpus, cpus, mem_mb, runtime, gpu_model), so each
    teacher, compressor and student asks the scheduler for what it needs and no rule hard-codes it.
    gpu_model defaults to "", which the Slurm plugin reads as any model."""
    return lambda w: entry_of(w)["resources"].get(key, "")


def job_resources(entry_of):
    """A job's scheduler request, from its config entry's `resources`: `resources: **job_resources(...)`."""
    names = {
        "gpu": "gpus",
        "gpu_model": "gpu_model",
        "cpus_per_task": "cpus",
        "mem_mb": "mem_mb",
        "runtime": "runtime",
    }
    return {name: resource(entry_of, key) for name, key in names.items()}


def rule_resources(rule, traces=lambda w: 0, cpus=None):
    """A CPU rule's scheduler request, from the config's `resources.<rule>`, its memory and runtime
    grown by the traces its job reads (`traces(wildcards)`), its cpus the entry's unless `cpus`
    (a number or a function of the wildcards) says: `resources: **rule_resources(...)`.
    """
    spec = config["resources"][rule]
    return {
        "cpus_per_task": cpus or spec["cpus"],
        "mem_mb": lambda w: scaled_request(spec, traces(w))["mem_mb"],
        "runtime": lambda w: scaled_request(spec, traces(w))["runtime"],
    }


def compress_resources():
    """A compress job's request: an llm compressor's entry as it is (its GPUs' throughput sets
    the runtime); a CPU compressor's grown by its shard's traces (resources.compress's terms).
    """
    spec = config["resources"]["compress"]

    def request(w):
        entry = compressor_entry(w)
        traces = 0 if entry["kind"] == "llm" else shard_traces(config, w.teacher)
        return scaled_request(spec, traces, base=entry["resources"])

    return job_resources(compressor_entry) | {
        "mem_mb": lambda w: request(w)["mem_mb"],
        "runtime": lambda w: request(w)["runtime"],
    }


def teacher_entry(wildcards):
    return config["teachers"][wildcards.teacher]


def compressor_entry(wildcards):
    return config["compressors"][wildcards.compressor]


def student_entry(wildcards):
    return config["students"][wildcards.student]


def base_model_entry(wildcards):
    """Whose resources a base_model job takes: the student's where it pretrains, else
    resources.base_model's, without GPUs: a pretrained student is only copied."""
    student = student_entry(wildcards)
    if student.get("pretrain"):
        return student
    spec = config["resources"]["base_model"]
    size = model_size(student, workflow.basedir)
    request = copy_request(spec, size.parameters if size else 0)
    return {"resources": {"gpus": 0, "cpus": spec["cpus"], **request}}


def evaluation_entry(wildcards):
    return config["evaluation"]


def local_model(entry_of):
    """An input function: the entry's model folder when it is one (a teacher's, an llm
    compressor's, a pretrained student's), so that rebuilding the folder reruns what depends on it.
    Hub ids are not files; they load by name."""

    def model_dir(wildcards):
        local = local_model_dir(entry_of(wildcards), workflow.basedir)
        return str(local) if local else []

    return model_dir


# --- problems and traces ---------------------------------------------------------------------


wildcard_constraints:
    problemset=_alternatives(config["problemsets"]),
    teacher=_alternatives(config["teachers"]),
    shard=r"\d{3}",


def shard_ids(teacher):
    return [f"{i:03d}" for i in range(config["teachers"][teacher]["shards"])]


def teacher_problems(wildcards):
    return f"{RESULTS}/problems/{teacher_entry(wildcards)['problemset']}.jsonl"


def teacher_shards(stage):
    """A teacher's shards at one stage (raw, checked, verified, or a compressor's name)."""
    return lambda w: expand(
        f"{RESULTS}/traces/{w.teacher}/{stage}/{{shard}}.jsonl",
        shard=shard_ids(w.teacher),
    )


# --- compression and training sets ----------------------------------------------------------
COMPRESSORS = list(config.get("compressors", {}))
VARIANTS = config_variants(config)
STUDENTS = list(config.get("students", {}))
REGIMES = config["training_sets"]["regimes"]
TEACHER_COMPRESSORS = [(t, c) for t in config["teachers"] for c in COMPRESSORS]
DATASET = f"{RESULTS}/datasets/{{teacher}}/{{variant}}/{{regime}}"


wildcard_constraints:
    compressor=_alternatives(COMPRESSORS),
    variant=_alternatives(VARIANTS),
    student=_alternatives(STUDENTS),
    regime=r"\d+",
    mode=_alternatives(MODES),


def compressed_shards(teacher, compressor, suffix=".jsonl"):
    """A compressor's shards (suffix ".summary.json": their summaries)."""
    return expand(
        f"{RESULTS}/traces/{teacher}/{compressor}/{{shard}}{suffix}",
        shard=shard_ids(teacher),
    )


def compression_files():
    """Each (teacher, compressor) with its shard summaries: what the aggregates read."""
    return [
        {
            "teacher": teacher,
            "compressor": compressor,
            "summaries": compressed_shards(teacher, compressor, ".summary.json"),
        }
        for teacher, compressor in TEACHER_COMPRESSORS
    ]


def compression_summaries():
    return [path for pair in compression_files() for path in pair["summaries"]]


def dropped_files(wildcards):
    """The shards of each compressor that drops examples, by compressor: every variant of the
    teacher trains on the problems that survive all of them."""
    return {
        name: compressed_shards(wildcards.teacher, name)
        for name in dropping_compressors(config.get("compressors", {}))
    }


def training_set_threads(wildcards):
    """A training set's processes: resources.training_set.cpus for a token-unit truncation, which
    tokenizes every trace; 1 for the others."""
    if truncation_tokenizer() and variant_kind(wildcards.variant) == "truncated":
        return config["resources"]["training_set"]["cpus"]
    return 1


def truncation_tokenizer():
    """The student whose tokenizer measures token-unit truncation, or None (characters)."""
    truncation = config["truncation"]
    return truncation.get("tokenizer") if truncation["unit"] == "tokens" else None


def training_set_inputs(wildcards):
    """The variant's own sources, plus the outputs of compressors that drop examples."""
    inputs = {
        "verified": teacher_shards("verified")(wildcards),
        "prompt": repo_path(config["training_sets"]["prompt"]),
        "available": [
            s for shards in dropped_files(wildcards).values() for s in shards
        ],
    }
    source = compressor_of(wildcards.variant)
    if source:
        inputs["compressed"] = compressed_shards(wildcards.teacher, source)
    tokenizer = truncation_tokenizer()
    if tokenizer:
        inputs["tokenizer"] = f"{RESULTS}/students/{tokenizer}/tokenizer"
    return inputs


def training_sets():
    """Each training set: its name (teacher/variant/regime) and its files' stem."""
    return {
        f"{t}/{v}/{r}": DATASET.format(teacher=t, variant=v, regime=r)
        for t in config["teachers"]
        for v in VARIANTS
        for r in REGIMES
    }


def student_token_counts():
    """Per student, the training sets' tokens in its tokenizer."""
    return {s: f"{RESULTS}/students/{s}/training_set_tokens.json" for s in STUDENTS}


# The cost ledger's table (rules/cost.smk): an aggregate whose inputs are all the other targets.
COST_TABLE = f"{RESULTS}/tables/costs.csv"


def teacher_stats_files():
    """Each teacher's stats.json: its verified traces, what the cost ledger scales by."""
    return {t: f"{RESULTS}/traces/{t}/stats.json" for t in config["teachers"]}


def aggregate_targets():
    """The tables and figures: all that a bundle regenerates."""
    targets = [COST_TABLE]
    if COMPRESSORS:
        targets.append(f"{RESULTS}/tables/training_sets.csv")
        targets.append(f"{RESULTS}/tables/compression.csv")
    if RUN_BENCHMARKS:
        targets += [
            f"{RESULTS}/tables/findings.md",
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


# --- students and training ----------------------------------------------------------------------
RUNS = config_runs(config)
RUN = f"{RESULTS}/runs/{{teacher}}/{{variant}}/{{student}}/{{mode}}/{{regime}}"
CHECKPOINT = (
    f"{RESULTS}/checkpoints/{{teacher}}/{{variant}}/{{student}}/{{mode}}/{{regime}}"
)


def _keys(entry, keys):
    return config_slice({key: entry[key] for key in keys if key in entry})


def student_max_length(student):
    """The student's training max_length (its `training` settings; a mode may override it)."""
    return TrainSettings.from_config(student["training"]).max_length


def tokenizer_slice(student):
    return _keys(student, ("kind", "model", "chat_template"))


def base_model_slice(student):
    """What a base model is built from: not the fine-tuning settings, which only runs use."""
    return _keys(student, ("kind", "model", "architecture", "pretrain"))


def train_settings(wildcards):
    return canonical(
        run_settings(
            student_entry(wildcards), wildcards.mode, config["training"]["budget"]
        )
    )


def checkpoint_dir(wildcards):
    """Outside the run's outputs: Snakemake must not delete it when a job dies, so a rerun
    resumes from it."""
    return CHECKPOINT.format(**dict(wildcards.items()))


# --- evaluation ------------------------------------------------------------------------------
BENCHMARKS = list(config.get("benchmarks", {}))
EVAL = f"{RESULTS}/evals/{{teacher}}/{{variant}}/{{student}}/{{mode}}/{{regime}}"


wildcard_constraints:
    benchmark=_alternatives(BENCHMARKS),


def evaluation_threads(wildcards):
    evaluation = config["evaluation"]
    return max(evaluation["resources"]["cpus"], evaluation["workers"])


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
RUN_BENCHMARKS = [(run, benchmark) for run in RUNS for benchmark in BENCHMARKS]


# --- the GPU fit check ---------------------------------------------------------------------------
# Before anything is submitted (in dry runs too): every GPU job's estimated peak memory against its
# GPU's. Only the main process reports: each cluster job parses this file again.
if not REGENERATE and workflow.is_main_process:
    try:
        _estimates = check_config(config, workflow.basedir)
    except ValueError as err:  # an unknown gpu_model: the message names the key
        raise WorkflowError(str(err)) from None
    if _estimates:
        print(verdict_table(_estimates), file=sys.stderr)
        for _narrow in (e for e in _estimates if e.verdict in ("narrow", "unchecked")):
            print(f"WARNING: GPU fit: {_narrow.describe()}", file=sys.stderr)
        _failure = failure_message(_estimates)
        if _failure:
            raise WorkflowError(_failure)
