"""Problem sets: the synthetic task, JSONL files and Hugging Face datasets, as canonical records.

`build_problemset(name, entry, basedir)` builds the entry `problemsets.<name>` of the config.

A problem record is `{"id", "question", "answer" (the gold final answer), "source", ...}`; the
source record's other fields pass through (GSM8K's worked solution is kept as `solution`).

Answer formats: `plain` (the field is the gold), `gsm8k` (the number after `####`), `latex` (MATH,
AIME: LaTeX, or the last `\boxed{}` of a worked solution) and `choice` (GPQA-style multiple
choice: the correct and incorrect options are shuffled with a seed, the question lists them as
(A), (B), ..., and the gold is the correct option's letter).

Problems whose gold answer cannot be checked (proofs, free text, LaTeX that Math-Verify cannot
parse) are dropped and counted by `checkable` before any teacher spends GPU time on them.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from compress_distill.answers import gold_from_gsm8k, gold_from_latex, is_choice_gold
from compress_distill.checking import Verdict, check_pairs
from compress_distill.io import InputError, iter_jsonl, require_fields
from compress_distill.tasks.arithmetic import ArithmeticSpec, make_problems

AnswerFormat = Literal["plain", "gsm8k", "latex", "choice"]
ANSWER_FORMATS = ("plain", "gsm8k", "latex", "choice")
# GPQA's fields of the incorrect options (its question and correct one: Question, Correct Answer).
GPQA_INCORRECT_FIELDS = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
DEFAULT_MAX_ANSWER_WORDS = 5
# Local files that load_hf_problems reads with a packaged `datasets` builder.
_FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


def _gold(raw_answer: str, answer_format: AnswerFormat) -> tuple[str, bool]:
    """The gold answer of an answer field, and whether the field is a worked solution (kept)."""
    if answer_format == "gsm8k":
        return gold_from_gsm8k(raw_answer), True
    if answer_format == "latex":
        worked = any(box in raw_answer for box in ("\\boxed", "\\fbox"))
        return gold_from_latex(raw_answer), worked
    if not raw_answer.strip():
        raise ValueError("empty answer")
    return raw_answer.strip(), False


def _options(
    record: dict[str, Any], where: str, answer_field: str, incorrect_fields: Sequence[str]
) -> list[tuple[str, str]]:
    """(field, text) of the correct option, then of the incorrect ones."""
    options = []
    for field in (answer_field, *incorrect_fields):
        text = str(record[field]).strip()
        if not text:
            raise InputError(f"{where}: empty option '{field}'")
        options.append((field, text))
    if len(options) > len(string.ascii_uppercase):
        raise InputError(f"{where}: {len(options)} options, more than there are letters")
    return options


def _shuffled_choice(
    stem: str, options: list[tuple[str, str]], seed: int, problem_id: str
) -> dict[str, Any]:
    """The multiple-choice fields of a problem: options shuffled by (seed, id), so the order does
    not depend on which other records were read; the correct option is `options[0]`."""
    order = list(range(len(options)))
    random.Random(f"{seed}:{problem_id}").shuffle(order)
    shown = [options[i] for i in order]
    letters = string.ascii_uppercase
    listed = "\n".join(f"({letters[k]}) {text}" for k, (_, text) in enumerate(shown))
    return {
        "question": f"{stem.strip()}\n\n{listed}",
        "answer": letters[order.index(0)],
        "stem": stem,
        "options": [text for _, text in shown],
        "option_fields": [field for field, _ in shown],
        "shuffle_seed": seed,
    }


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
    incorrect_fields: Sequence[str] = GPQA_INCORRECT_FIELDS,
    seed: int = 0,
) -> dict[str, Any]:
    choices = tuple(incorrect_fields) if answer_format == "choice" else ()
    required = (question_field, answer_field, *choices, *([id_field] if id_field else []))
    require_fields(record, required, where)
    question = record[question_field]
    if not isinstance(question, str) or not question.strip():
        raise InputError(f"{where}: '{question_field}' is not a non-empty string")
    problem_id = str(record[id_field]) if id_field else default_id
    extras = {k: v for k, v in record.items() if k not in (question_field, answer_field, *choices)}
    problem = {**extras, "id": problem_id, "source": source}
    raw_answer = str(record[answer_field])
    if answer_format == "choice":
        options = _options(record, where, answer_field, choices)
        return {**problem, **_shuffled_choice(question, options, seed, problem_id)}
    try:
        answer, worked = _gold(raw_answer, answer_format)
    except ValueError as err:
        raise InputError(f"{where}: {err} (field '{answer_field}')") from None
    problem.update(question=question, answer=answer)
    if worked:
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
    incorrect_fields: Sequence[str] = GPQA_INCORRECT_FIELDS,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Problems from a JSONL file; errors name file:line.

    Without `id_field`, ids are `<id_prefix>-<index>` (index from 0; the prefix defaults to the
    file's stem). `answer_format="gsm8k"` takes the gold after the last `####` of the answer field;
    `"choice"` shuffles the options `answer_field` (correct) and `incorrect_fields` with `seed`.
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
        incorrect_fields=incorrect_fields,
        seed=seed,
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
    incorrect_fields: Sequence[str] = GPQA_INCORRECT_FIELDS,
    seed: int = 0,
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
        incorrect_fields=incorrect_fields,
        seed=seed,
    )


# A plain number needs no parsing to be checkable.
_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
# Words of two or more letters, not LaTeX commands: `\text{ square units}` has two, `\frac` none.
_WORD_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
# Bare prose (no LaTeX, digits or operators): "proof", "notfound". Math-Verify would read it as a
# product of one-letter symbols; words of three letters or fewer ("Yes", "ab") pass.
_PROSE_RE = re.compile(r"[A-Za-z]+(?:[ '-][A-Za-z]+)*[.!]?")


def uncheckable_reason(problem: dict[str, Any], max_answer_words: int) -> str | None:
    """Why a problem's gold cannot be checked without Math-Verify's help, or None: too many
    words (a proof, an explanation), bare prose, or repeated multiple-choice options."""
    gold = str(problem["answer"])
    options = problem.get("options")
    if options is not None and len(set(options)) < len(options):
        return "duplicate_options"
    if is_choice_gold(gold):
        return None
    if len(_WORD_RE.findall(gold)) > max_answer_words:
        return "too_many_words"
    if _PROSE_RE.fullmatch(gold) and max(map(len, re.findall("[A-Za-z]+", gold))) > 3:
        return "free_text"
    return None


def checkable(
    problems: Sequence[dict[str, Any]],
    max_answer_words: int = DEFAULT_MAX_ANSWER_WORDS,
    workers: int = 1,
    timeout_s: float = 5.0,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The problems whose gold answer can be checked, in order, and what was dropped and why.

    A gold is checkable when it is an option letter, a number, or LaTeX that Math-Verify parses
    and finds equal to itself (in the sandbox, so a pathological gold times out instead of
    hanging), and has at most `max_answer_words` words. The statistics: `read`, `kept`,
    `dropped`, `dropped_by_reason` and the first dropped problems as `examples` (id, answer,
    reason).
    """
    reasons = {p["id"]: uncheckable_reason(p, max_answer_words) for p in problems}
    to_parse = [
        p
        for p in problems
        if reasons[p["id"]] is None
        and not is_choice_gold(p["answer"])
        and not _NUMBER_RE.fullmatch(str(p["answer"]).strip())
    ]
    golds = [str(p["answer"]) for p in to_parse]
    verdicts = check_pairs(list(zip(golds, golds, strict=True)), workers, timeout_s)
    parse_reasons = {
        Verdict.ERROR: "unparseable",
        Verdict.INCORRECT: "not_equal_to_itself",
        Verdict.TIMEOUT: "timeout",
    }
    for problem, verdict in zip(to_parse, verdicts, strict=True):
        reasons[problem["id"]] = parse_reasons.get(verdict)
    kept = [p for p in problems if reasons[p["id"]] is None]
    dropped = [p for p in problems if reasons[p["id"]] is not None]
    return kept, {
        "read": len(problems),
        "kept": len(kept),
        "dropped": len(dropped),
        "dropped_by_reason": dict(sorted(Counter(reasons[p["id"]] for p in dropped).items())),
        "examples": [
            {"id": p["id"], "answer": p["answer"], "reason": reasons[p["id"]]} for p in dropped[:20]
        ],
    }


def _unfiltered(problems: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The statistics of a problem set that was not filtered (`checkable`'s keys)."""
    n = len(problems)
    return {"read": n, "kept": n, "dropped": 0, "dropped_by_reason": {}, "examples": []}


def build_problemset_with_stats(
    name: str, spec: dict[str, Any], basedir: str | Path, workers: int = 1
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """`build_problemset`, and the statistics of its uncheckable-answer filter (`checkable`, with
    `workers` Math-Verify processes)."""
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
        problems = make_problems(task, spec["split"], spec["size"], spec["seed"])
        return problems, _unfiltered(problems)  # the task's answers are integers
    fields = {
        "question_field": spec["question_field"],
        "answer_field": spec["answer_field"],
        "answer_format": spec["answer_format"],
        "id_field": spec.get("id_field"),
        "id_prefix": name,
        "limit": spec.get("limit"),
        "incorrect_fields": spec.get("incorrect_fields", GPQA_INCORRECT_FIELDS),
        "seed": spec.get("seed", 0),
    }
    if kind == "jsonl":
        problems = load_jsonl_problems(Path(basedir) / spec["path"], **fields)
    elif kind == "hf":
        name_or_path = spec["name"]
        local = Path(basedir) / name_or_path
        source = str(local) if local.exists() else name_or_path
        problems = load_hf_problems(source, spec.get("config"), spec["split"], **fields)
    else:
        raise ValueError(f"unknown problem set kind {kind!r}")
    if not spec.get("checkable_only", True):
        return problems, _unfiltered(problems)
    return checkable(problems, spec.get("max_answer_words", DEFAULT_MAX_ANSWER_WORDS), workers)


def build_problemset(name: str, spec: dict[str, Any], basedir: str | Path) -> list[dict[str, Any]]:
    """Problem records for the entry `problemsets.<name>`; relative paths are taken from basedir.

    For `jsonl` and `hf` sets, problems whose gold cannot be checked are dropped unless
    `checkable_only` is false (see `checkable`)."""
    return build_problemset_with_stats(name, spec, basedir)[0]
