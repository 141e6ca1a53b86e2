"""The demo's student base: a tiny Llama pretrained here to do arithmetic, shipped with the repo.

The study's students are pretrained models that can already do arithmetic; distillation teaches
them the teachers' way of reasoning. A randomly initialised model cannot learn arithmetic within
the few CPU minutes a demo has, so this module pretrains one once (`make student-base`):
chat-formatted synthetic problems of the train split with terse worked solutions
(tasks.arithmetic.worked_solution), then measures it on held-out test-split problems through the
same evaluation as the workflow's runs. What it writes is an ordinary Hugging Face model folder
(a student of kind `pretrained`) with base_metrics.json (pretraining loss curve), build.json
(recipe, corpus, tokens, wall time, versions) and heldout.json (accuracy, example answers).

    python -m compress_distill.student_base configs/student-base.yaml data/students/tiny-arith
    python -m compress_distill.student_base --measure-only configs/student-base.yaml <folder>
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from compress_distill.evaluation import evaluate
from compress_distill.generation import build_messages
from compress_distill.io import write_json
from compress_distill.metrics import run_metrics
from compress_distill.models import build_char_tokenizer
from compress_distill.problemsets import build_problemset
from compress_distill.tasks.solutions import varied_solution
from compress_distill.training import build_base_model, library_versions


def pretraining_texts(
    problems: Sequence[dict[str, Any]], tokenizer: Any, prompt_template: str
) -> list[str]:
    """Each problem as one chat: the student prompt, then a worked solution as the answer, its
    layout drawn per problem (tasks.solutions), so the same problem always reads the same."""
    return [
        tokenizer.apply_chat_template(
            [
                *build_messages(problem["question"], prompt_template),
                {
                    "role": "assistant",
                    "content": varied_solution(problem, random.Random(f"layout:{problem['id']}")),
                },
            ],
            tokenize=False,
        )
        for problem in problems
    ]


def measure_student_base(
    recipe: dict[str, Any], model_dir: str | Path, basedir: str | Path
) -> dict:
    """The base's accuracy on the recipe's held-out problems, through the workflow's own evaluation;
    returns (and saves) heldout.json."""
    basedir, model_dir = Path(basedir), Path(model_dir)
    heldout = build_problemset("heldout", recipe["heldout"], basedir)
    prompt = (basedir / recipe["prompt"]).read_text(encoding="utf-8")
    predictions = evaluate(heldout, model_dir, prompt, recipe["benchmark"], recipe["evaluation"])
    measured = {
        "heldout": recipe["heldout"],
        "benchmark": recipe["benchmark"],
        "metrics": run_metrics(predictions),
        "examples": [row["output"] for row in predictions[:3]],
        "versions": library_versions(),
    }
    write_json(model_dir / "heldout.json", measured)
    return measured


def build_student_base(recipe: dict[str, Any], out_dir: str | Path, basedir: str | Path) -> dict:
    """Pretrain the base the recipe describes into out_dir (build.json), then measure it."""
    started = time.perf_counter()
    basedir, out_dir = Path(basedir), Path(out_dir)
    corpus = build_problemset("corpus", recipe["corpus"], basedir)
    prompt = (basedir / recipe["prompt"]).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tokenizer_dir:
        tokenizer = build_char_tokenizer(out_dir=tokenizer_dir)
        texts = pretraining_texts(corpus, tokenizer, prompt)
        base = build_base_model(recipe["student"], tokenizer_dir, out_dir, texts)
    build = {
        "recipe": recipe,
        "corpus_problems": len(corpus),
        "parameters": base["parameters"],
        "pretrain_tokens": base["pretrain"]["tokens"],
        "pretrain_final_loss": base["pretrain"]["final_loss"],
        "wall_time_s": time.perf_counter() - started,
        "torch_threads": torch.get_num_threads(),
        "versions": library_versions(),
    }
    write_json(out_dir / "build.json", build)
    return build | {"heldout": measure_student_base(recipe, out_dir, basedir)["metrics"]}


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
        metrics = measure_student_base(recipe, args.out_dir, Path.cwd())["metrics"]
    else:
        metrics = build_student_base(recipe, args.out_dir, Path.cwd())["heldout"]
    print(f"{args.out_dir}: held-out accuracy {metrics['accuracy']:.3f}")


if __name__ == "__main__":
    main()
