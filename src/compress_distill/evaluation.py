"""Evaluation of one trained student on one benchmark: generate, extract, verify.

The student answers each problem with the same prompt template and chat template it was trained
with; its outputs go through the same answer extraction and Math-Verify check as teacher traces.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from compress_distill.engines import Request, SamplingSettings, make_engine
from compress_distill.generation import build_messages, check_unique_ids
from compress_distill.progress import ProgressFile
from compress_distill.training import BASE_MODEL_FILE
from compress_distill.verify import verify_rows


def resolve_model(model_dir: str | Path) -> tuple[str, str | None]:
    """(model to load, LoRA adapter or None): a full model loads as is, an adapter on its base."""
    pointer = Path(model_dir) / BASE_MODEL_FILE
    if not pointer.is_file():
        return str(model_dir), None
    return json.loads(pointer.read_text(encoding="utf-8"))["base_model"], str(model_dir)


# A killed job resumes at the chunk of requests it was in: chunks small enough to lose little, large
# enough for vLLM to batch well. An engine with a batch size (transformers) gets chunks of it, so a
# chunk's requests are batched as in one call.
CHUNK = 256


def _answer_key(item: tuple[int, dict[str, Any]]) -> tuple[int, str]:
    return item[0], item[1]["id"]


def evaluate(
    problems: Sequence[dict[str, Any]],
    model_dir: str | Path,
    prompt_template: str,
    benchmark: dict[str, Any],
    engine: dict[str, Any],
    workers: int = 1,
    progress_file: ProgressFile | None = None,
) -> list[dict[str, Any]]:
    """One prediction row per (problem, seed); greedy decoding uses one seed.

    With a `progress_file`, each chunk's generated rows are kept there, so a killed job resumes
    where it was. Answers are checked once all are generated: in parallel, and always by the
    current checker.
    """
    check_unique_ids(problems, "benchmark problems")
    model, adapter = resolve_model(model_dir)
    engine_args = dict(engine.get("engine_args", {}))
    if adapter:
        engine_args["lora_path"] = adapter
    seeds = benchmark["seeds"] if benchmark["temperature"] > 0 else benchmark["seeds"][:1]
    saved = progress_file or ProgressFile.in_memory()
    todo = [(seed, problem) for seed in seeds for problem in problems]
    saved.resumed(map(_answer_key, todo), "answers")
    chunk = engine_args.get("batch_size", CHUNK)
    batches = [
        batch
        for seed in seeds
        for batch in saved.batches([(seed, p) for p in problems], chunk, _answer_key)
    ]
    if batches:
        with make_engine(engine["engine"], model, engine_args) as student:
            # What answered (engine, version, the LoRA adapter it served), as on teacher rows.
            engine_info = student.info()
            for batch in batches:
                seed = batch[0][0]
                sampling = SamplingSettings(
                    temperature=benchmark["temperature"],
                    top_p=benchmark["top_p"],
                    max_tokens=benchmark["max_new_tokens"],
                    seed=seed,
                )
                requests = [
                    Request(build_messages(p["question"], prompt_template), context=p)
                    for _, p in batch
                ]
                completions = student.generate(requests, sampling)
                saved.append(
                    (
                        (seed, problem["id"]),
                        {
                            "problem_id": problem["id"],
                            "seed": seed,
                            "question": problem["question"],
                            "gold": problem["answer"],
                            "completion": completion.text,
                            "output_tokens": completion.output_tokens,
                            "hit_limit": completion.finish_reason == "length",
                            "engine": engine_info,
                        },
                    )
                    for (_, problem), completion in zip(batch, completions, strict=True)
                )
    rows = saved.results(map(_answer_key, todo))
    return [_prediction(row) for row in verify_rows(rows, workers=workers)]


def _prediction(row: dict[str, Any]) -> dict[str, Any]:
    """The evaluation's row shape: the student's text is its `output`."""
    row = dict(row)
    row["output"] = row.pop("completion")
    return row
