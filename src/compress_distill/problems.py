"""Problem sets: the synthetic task, JSONL files and Hugging Face datasets, as canonical records.

`build_problemset(name, entry, basedir)` builds the entry `problemsets.<name>` of the config.

A problem record is `{"id", "question", "answer" (the gold final answer), "source", ...}`; the
source record's other fields pass through (GSM8K's worked solution is kept as `solution`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from compress_distill.answers import gold_from_gsm8k
from compress_distill.io import InputError, iter_jsonl, require_fields
from compress_distill.tasks.arithmetic import ArithmeticSpec, make_problems

AnswerFormat = Literal["plain", "gsm8k"]
ANSWER_FORMATS = ("plain", "gsm8k")
# Local files that load_hf_problems reads with a packaged `datasets` builder.
_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def _make_problem(
    record: dict[str, Any],
    where: str,
    default_id: str,
    *,
    question_field: str,
    answer_field: str,
    answer_format: AnswerFormat,
    id_field: str | None,
    source: str,
) -> dict[str, Any]:
    require_fields(record, (question_field, answer_field, *([id_field] if id_field else [])), where)
    question = record[question_field]
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"{where}: '{question_field}' is not a non-empty string")
    raw_answer = str(record[answer_field])
    if answer_format == "gsm8k":
        try:
            answer = gold_from_gsm8k(raw_answer)
        except ValueError as err:
            raise InputError(f"{where}: {err}") from None
    else:
        answer = raw_answer.strip()
        if not answer:
            raise InputError(f"{where}: empty '{answer_field}' field")
    extras = {k: v for k, v in record.items() if k not in (question_field, answer_field)}
    problem = {
        **extras,
        "id": str(record[id_field]) if id_field else default_id,
        "question": question,
        "answer": answer,
        "source": source,
    }
    if answer_format == "gsm8k":
        problem["solution"] = raw_answer
    return problem


def _collect(
    records: Iterable[tuple[str, dict[str, Any]]],
    limit: int | None,
    id_prefix: str,
    answer_format: AnswerFormat,
    **fields: Any,
) -> list[dict[str, Any]]:
    """Canonical problems from (location, record) pairs; ids must be unique."""
    if answer_format not in ANSWER_FORMATS:
        raise ValueError(f"answer_format must be one of {ANSWER_FORMATS}, got {answer_format!r}")
    problems: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for index, (where, record) in enumerate(records):
        if limit is not None and index >= limit:
            break
        problem = _make_problem(
            record, where, f"{id_prefix}-{index:05d}", answer_format=answer_format, **fields
        )
        if problem["id"] in seen:
            raise InputError(
                f"{where}: duplicate id {problem['id']!r} (first at {seen[problem['id']]})"
            )
        seen[problem["id"]] = where
        problems.append(problem)
    return problems


def load_jsonl_problems(
    path: str | Path,
    question_field: str = "question",
    answer_field: str = "answer",
    answer_format: AnswerFormat = "plain",
    id_field: str | None = None,
    id_prefix: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Problems from a JSONL file; errors name file:line.

    Without `id_field`, ids are `<id_prefix>-<index>` (index from 0; the prefix defaults to the
    file's stem). `answer_format="gsm8k"` takes the gold after the last `####` of the answer field.
    """
    path = Path(path)
    return _collect(
        ((f"{path}:{lineno}", record) for lineno, record in iter_jsonl(path)),
        limit,
        id_prefix or path.stem,
        answer_format,
        question_field=question_field,
        answer_field=answer_field,
        id_field=id_field,
        source=str(path),
    )


def _open_hf_split(name_or_path: str, config: str | None, split: str, cache_dir: str | None) -> Any:
    import datasets  # slow to import; only this loader needs it

    path = Path(name_or_path)
    if path.is_dir() and any(
        (path / marker).exists() for marker in ("dataset_dict.json", "dataset_info.json")
    ):
        loaded = datasets.load_from_disk(str(path))  # written by `save_to_disk`
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise InputError(f"{path}: no split {split!r} (has {sorted(loaded)})")
            return loaded[split]
        return loaded  # a single saved Dataset is the split
    if path.is_file():
        builder = _FILE_BUILDERS.get(path.suffix)
        if builder is None:
            raise InputError(f"{path}: cannot load a '{path.suffix}' file as a dataset")
        return datasets.load_dataset(
            builder, data_files={split: str(path)}, split=split, cache_dir=cache_dir
        )
    return datasets.load_dataset(name_or_path, config, split=split, cache_dir=cache_dir)


def load_hf_problems(
    name_or_path: str,
    config: str | None = None,
    split: str = "test",
    question_field: str = "question",
    answer_field: str = "answer",
    answer_format: AnswerFormat = "plain",
    id_field: str | None = None,
    id_prefix: str | None = None,
    limit: int | None = None,
    cache_dir: str | None = None,
) -> list[dict[str, Any]]:
    """Problems from a Hugging Face dataset: a hub name, a `save_to_disk` folder, or a local
    .jsonl/.json/.parquet/.csv file. Errors name the dataset, split and row index.

    Without `id_field`, ids are `<id_prefix>-<index>`; the prefix defaults to
    `<dataset name or file stem>-<split>`.
    """
    dataset = _open_hf_split(name_or_path, config, split, cache_dir)
    if limit is not None:
        dataset = dataset.select(range(min(limit, len(dataset))))
    path = Path(name_or_path)
    label = f"{name_or_path}" + (f" ({config})" if config else "") + f" [{split}]"
    return _collect(
        ((f"{label} row {index}", record) for index, record in enumerate(dataset)),
        limit,
        id_prefix or f"{path.stem if path.is_file() else path.name}-{split}",
        answer_format,
        question_field=question_field,
        answer_field=answer_field,
        id_field=id_field,
        source=label,
    )


def build_problemset(name: str, spec: dict[str, Any], basedir: str | Path) -> list[dict[str, Any]]:
    """Problem records for the entry `problemsets.<name>`; relative paths are taken from basedir."""
    kind = spec["kind"]
    if kind == "synthetic":
        task = ArithmeticSpec(
            min_operations=spec["min_operations"],
            max_operations=spec["max_operations"],
            digits=spec["digits"],
            operators=tuple(spec["operators"]),
            form=spec["form"],
            test_fraction=spec["test_fraction"],
        )
        return make_problems(task, spec["split"], spec["size"], spec["seed"])
    fields = {
        "question_field": spec["question_field"],
        "answer_field": spec["answer_field"],
        "answer_format": spec["answer_format"],
        "id_field": spec.get("id_field"),
        "id_prefix": name,
        "limit": spec.get("limit"),
    }
    if kind == "jsonl":
        return load_jsonl_problems(Path(basedir) / spec["path"], **fields)
    if kind == "hf":
        name_or_path = spec["name"]
        local = Path(basedir) / name_or_path
        source = str(local) if local.exists() else name_or_path
        return load_hf_problems(source, spec.get("config"), spec["split"], **fields)
    raise ValueError(f"unknown problem set kind {kind!r}")
