"""Sharded, resumable generation of teacher traces (progress.ProgressFile: a job killed in the
middle reruns from its finished batches; a deterministic engine gives a byte-identical shard)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from compress_distill.engines import (
    GENERATING_ENGINES,
    Completion,
    Engine,
    Request,
    SamplingSettings,
)
from compress_distill.engines.base import Messages
from compress_distill.io import InputError, write_jsonl
from compress_distill.progress import ProgressFile


def shard_slice(count: int, shards: int, shard: int) -> slice:
    """Contiguous, near-equal blocks: shard i of n gets items [i*count//n, (i+1)*count//n)."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} out of range for {shards} shards")
    return slice(shard * count // shards, (shard + 1) * count // shards)


def build_messages(question: str, template: str, system_prompt: str | None = None) -> Messages:
    # str.replace, not str.format: prompts are full of LaTeX braces such as \boxed{}.
    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*messages, {"role": "user", "content": template.replace("{question}", question)}]


def teacher_engine_args(teacher: dict[str, Any]) -> dict[str, Any]:
    """A teacher's engine arguments. A teacher reasons: unless its entry names the format
    (engine_args.reasoning_parser), it is inferred from the model's name ("auto"). Imported traces
    name their fields instead."""
    if teacher["engine"] not in GENERATING_ENGINES:
        return dict(teacher.get("engine_args", {}))
    return {"reasoning_parser": "auto", **teacher.get("engine_args", {})}


def trace_text(reasoning: str | None, response: str) -> str:
    """The `completion` of a row: the response alone where nothing was split out, else the
    reasoning, a blank line and the response (the way the demo's plain-text traces look).

    Verification reads the `response`, compression the `reasoning` (the response kept whole);
    training sets still train on `completion` as one assistant message (issue 17 item 3: the
    student's own format, with the reasoning where its chat template puts it, is still to do).
    """
    if reasoning is None:
        return response
    return "\n\n".join(part.strip() for part in (reasoning, response) if part.strip())


def completion_fields(c: Completion) -> dict[str, Any]:
    """A completion's fields of a generated row."""
    return {
        "completion": trace_text(c.reasoning, c.text),
        "reasoning": c.reasoning,
        "response": c.text,
        "reasoning_parser": c.reasoning_parser,
        "finish_reason": c.finish_reason,
        "output_tokens": c.output_tokens,
        "prompt_tokens": c.prompt_tokens,
    }


def check_unique_ids(problems: Sequence[dict[str, Any]], source: str) -> None:
    seen: set[str] = set()
    for problem in problems:
        if problem["id"] in seen:
            raise InputError(f"{source}: duplicate problem id {problem['id']!r}")
        seen.add(problem["id"])


def _sample_key(item: tuple[dict[str, Any], int]) -> tuple[str, int]:
    return item[0]["id"], item[1]


def generate_shard(
    problems: Sequence[dict[str, Any]],
    make_engine: Callable[[], Engine],
    teacher_name: str,
    teacher: dict[str, Any],
    prompt_template: str,
    shard: int,
    out_path: str | Path,
    progress_dir: str | Path,
    problems_source: str = "problems",
) -> dict[str, int]:
    """Generate `teacher['samples']` completions per problem of one shard; write them to out_path.

    `make_engine` is called only if something is left to generate, so a finished shard whose output
    was lost is rewritten from its progress file without starting a model.
    """
    check_unique_ids(problems, problems_source)
    mine = list(problems[shard_slice(len(problems), teacher["shards"], shard)])
    samples = teacher["samples"]
    sampling = SamplingSettings.from_config(teacher["sampling"])
    todo = [(problem, index) for problem in mine for index in range(samples)]

    # Only what changes the rows keys the progress file: a new batch size still resumes.
    row_settings = {
        k: v for k, v in teacher.items() if k not in ("batch_size", "resources", "shards")
    }
    depends_on = {"teacher": row_settings, "prompt": prompt_template, "problems": mine}
    with ProgressFile(progress_dir, f"{shard:03d}", depends_on) as progress:
        resumed = progress.resumed(map(_sample_key, todo), "samples")
        batches = progress.batches(todo, teacher["batch_size"], _sample_key)
        generated = sum(map(len, batches))
        if batches:
            with make_engine() as engine:
                info = engine.info()
                bar = tqdm(total=generated, desc=f"{teacher_name} shard {shard}", unit="sample")
                for batch in batches:
                    requests = [
                        Request(
                            build_messages(
                                p["question"], prompt_template, teacher.get("system_prompt")
                            ),
                            context=p,
                            sample_index=i,
                        )
                        for p, i in batch
                    ]
                    completions = engine.generate(requests, sampling)
                    progress.append(
                        (
                            (p["id"], i),
                            {
                                "problem_id": p["id"],
                                "sample_index": i,
                                "question": p["question"],
                                "gold": p["answer"],
                                **completion_fields(c),
                                "teacher": teacher_name,
                                **info,
                                "sampling": sampling.as_dict(),
                            },
                        )
                        for (p, i), c in zip(batch, completions, strict=True)
                    )
                    bar.update(len(batch))
                bar.close()
        write_jsonl(out_path, progress.results(map(_sample_key, todo)))
        progress.finish()
    return {"samples": len(todo), "resumed": resumed, "generated": generated}
