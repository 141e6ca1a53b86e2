"""The demo's student base: a tiny Llama pretrained here to do arithmetic, shipped with the repo.

The study's students are pretrained models that can already do arithmetic; distillation teaches
them the teachers' way of reasoning. A randomly initialised model cannot learn arithmetic within
the few CPU minutes a demo has, so this module pretrains one once (`make student-base`):
chat-formatted synthetic problems of the train split with worked solutions in many layouts
(tasks.solutions), short ones first, then long ones in longer windows. It then measures the model
on held-out test-split problems through the same evaluation as the workflow's runs. What it writes
is an ordinary Hugging Face model folder (a student of kind `pretrained`) with base_metrics.json
(loss curves of both phases), build.json (recipe, corpus, tokens, wall time, versions) and
heldout.json (accuracy, example answers).

    python -m compress_distill.students.demo_base configs/student-base.yaml data/students/tiny-arith
    python -m compress_distill.students.demo_base --measure-only configs/student-base.yaml <folder>

A tool for the demo, not a stage of the workflow: the workflow only reads the folder it wrote.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from compress_distill.evaluation import evaluate
from compress_distill.generation import build_messages
from compress_distill.io import partial_dir, publish_dir, read_json, write_json
from compress_distill.metrics import evaluation_metrics
from compress_distill.problems import build_problemset
from compress_distill.students.base import (
    PretrainSettings,
    build_base_model,
    gsm8k_texts,
    pretrain_causal_lm,
)
from compress_distill.students.tokenizers import build_bpe_tokenizer, build_char_tokenizer
from compress_distill.tasks.solutions import varied_solution
from compress_distill.training.records import library_versions, weights_sha256

MODEL_CARD = "README.md"


def worked_solutions(problems: Sequence[dict[str, Any]], long_form: float = 0.0) -> list[str]:
    """A worked solution per problem, its layout drawn per problem (tasks.solutions, long with
    chance `long_form`), so the same problem always reads the same."""
    return [
        varied_solution(problem, random.Random(f"layout:{problem['id']}"), long_form)
        for problem in problems
    ]


def worked_solution_chats(
    problems: Sequence[dict[str, Any]], tokenizer: Any, prompt_template: str, long_form: float = 0.0
) -> list[str]:
    """Each problem as one chat: the student prompt, then its worked solution as the answer."""
    return [
        tokenizer.apply_chat_template(
            [
                *build_messages(problem["question"], prompt_template),
                {"role": "assistant", "content": solution},
            ],
            tokenize=False,
        )
        for problem, solution in zip(problems, worked_solutions(problems, long_form), strict=True)
    ]


def build_tokenizer(
    recipe: dict[str, Any],
    corpus: Sequence[dict[str, Any]],
    general_texts: Sequence[str],
    out_dir: str | Path,
) -> Any:
    """The base's tokenizer, saved to out_dir: byte-level BPE when the recipe has `tokenizer`,
    trained on what the base is pretrained on (the corpus's questions and solutions in both
    phases' layouts, and the general text), else character-level."""
    settings = recipe.get("tokenizer")
    if not settings:
        return build_char_tokenizer(out_dir=out_dir)
    long_form = (recipe.get("long_context") or {}).get("long_form", 0.0)
    texts = [problem["question"] for problem in corpus] + worked_solutions(corpus)
    if long_form:
        texts += worked_solutions(corpus, long_form)
    return build_bpe_tokenizer([*texts, *general_texts], settings["vocab_size"], out_dir)


def evaluate_on_heldout(recipe: dict[str, Any], model_dir: str | Path, basedir: str | Path) -> dict:
    """The base's accuracy on the recipe's held-out problems, through the workflow's own evaluation;
    returns (and saves) heldout.json."""
    basedir, model_dir = Path(basedir), Path(model_dir)
    heldout = build_problemset("heldout", recipe["heldout"], basedir)
    prompt = (basedir / recipe["prompt"]).read_text(encoding="utf-8")
    predictions = evaluate(heldout, model_dir, prompt, recipe["benchmark"], recipe["evaluation"])
    measured = {
        "heldout": recipe["heldout"],
        "benchmark": recipe["benchmark"],
        "metrics": evaluation_metrics(predictions),
        "examples": [row["output"] for row in predictions[:3]],
        "versions": library_versions(),
    }
    write_json(model_dir / "heldout.json", measured)
    return measured


def build_student_base(recipe: dict[str, Any], out_dir: str | Path, basedir: str | Path) -> dict:
    """Pretrain the base the recipe describes into out_dir (build.json), then measure it.

    Short layouts first, in the student's `pretrain` windows; then, if the recipe has
    `long_context`, its longer windows over the same problems with a share of long layouts. The
    recipe's `general_text` (GSM8K-style records) is mixed into both phases. The model is built
    beside out_dir and replaces it only when measured.
    """
    started = time.perf_counter()
    basedir, out_dir = Path(basedir), Path(out_dir)
    staging = partial_dir(out_dir)
    corpus = build_problemset("corpus", recipe["corpus"], basedir)
    prompt = (basedir / recipe["prompt"]).read_text(encoding="utf-8")
    long_context = recipe.get("long_context")
    # Mixed into both phases, so that the tokens of ordinary English, which the teachers' traces
    # are full of and the corpus's few layouts never use, are trained before fine-tuning.
    general = gsm8k_texts(basedir / recipe["general_text"]) if "general_text" in recipe else []
    with tempfile.TemporaryDirectory() as tokenizer_dir:
        tokenizer = build_tokenizer(recipe, corpus, general, tokenizer_dir)
        texts = worked_solution_chats(corpus, tokenizer, prompt) + general
        base = build_base_model(recipe["student"], tokenizer_dir, staging, texts)
        phases = [base["pretrain"]]
        if long_context:
            texts = worked_solution_chats(corpus, tokenizer, prompt, long_context["long_form"])
            phases.append(
                _extend_context(staging, tokenizer, texts + general, long_context["pretrain"])
            )
    build = {
        "recipe": recipe,
        "corpus_problems": len(corpus),
        "general_texts": len(general),
        "parameters": base["parameters"],
        "pretrain_tokens": sum(phase["tokens"] for phase in phases),
        "pretrain_final_loss": phases[-1]["final_loss"],
        "weights_sha256": weights_sha256(staging),
        "wall_time_s": time.perf_counter() - started,
        "torch_threads": torch.get_num_threads(),
        "versions": library_versions(),
    }
    write_json(staging / "build.json", build)
    heldout = evaluate_on_heldout(recipe, staging, basedir)["metrics"]
    # The model card is written by hand; it outlives rebuilds.
    if (out_dir / MODEL_CARD).is_file():
        shutil.copy2(out_dir / MODEL_CARD, staging / MODEL_CARD)
    publish_dir(staging, out_dir)
    return build | {"heldout": heldout}


def _extend_context(
    model_dir: Path, tokenizer: Any, texts: Sequence[str], settings: dict[str, Any]
) -> dict[str, Any]:
    """Go on pretraining the model in model_dir on `texts`; base_metrics.json records the phase."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    metrics = pretrain_causal_lm(
        model, tokenizer, texts, PretrainSettings.from_config(settings), model_dir
    )
    base_metrics = read_json(model_dir / "base_metrics.json")
    base_metrics |= {"long_context": metrics, "weights_sha256": weights_sha256(model_dir)}
    write_json(model_dir / "base_metrics.json", base_metrics)
    return metrics


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe", type=Path, help="YAML recipe, e.g. configs/student-base.yaml")
    parser.add_argument("out_dir", type=Path, help="model folder to write")
    parser.add_argument(
        "--measure-only", action="store_true", help="only (re)measure an existing model folder"
    )
    args = parser.parse_args(argv)
    recipe = yaml.safe_load(args.recipe.read_text(encoding="utf-8"))
    if args.measure_only:
        metrics = evaluate_on_heldout(recipe, args.out_dir, Path.cwd())["metrics"]
    else:
        metrics = build_student_base(recipe, args.out_dir, Path.cwd())["heldout"]
    print(f"{args.out_dir}: held-out accuracy {metrics['accuracy']:.3f}")


if __name__ == "__main__":
    main()
