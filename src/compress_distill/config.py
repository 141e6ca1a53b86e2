"""Config validation: a JSON schema for shape, then cross-references between named entries.

Every problem is reported as one message that names the config key path, e.g.
`config key 'teachers.verbose.samples': 'two' is not of type 'integer'`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The config is invalid; the message names the offending key path."""


def _key(path: Any) -> str:
    return ".".join(str(part) for part in path) or "<top level>"


def _with_defaults(validator_class: type) -> type:
    """A validator that also fills in schema defaults, so rules never guess a missing value."""
    check_properties = validator_class.VALIDATORS["properties"]

    def properties(validator: Any, props: dict, instance: Any, schema: dict) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, subschema in props.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": properties})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(known))
        unknown = ", ".join(repr(k) for k in extra)
        where = _key([*error.absolute_path, extra[0]]) if len(extra) == 1 else _key(error.path)
        return f"config key '{where}': unknown key {unknown} (known keys: {', '.join(known)})"
    return f"config key '{_key(error.absolute_path)}': {error.message}"


def load_schema(schema_path: str | Path) -> dict[str, Any]:
    return yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))


def validate_config(
    config: dict[str, Any], schema_path: str | Path, basedir: str | Path = "."
) -> dict[str, Any]:
    """Return a validated copy of `config` with defaults filled in, or raise one ConfigError."""
    config = copy.deepcopy(config)
    validator = _Validator(load_schema(schema_path))
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.path), list(e.path)))
    if errors:
        raise ConfigError(_describe(errors[0]))
    _check_references(config)
    _check_choice_fields(config)
    _check_files(config, Path(basedir))
    return config


def canonical(value: Any) -> Any:
    """The value with every mapping's keys sorted, recursively (list order is meaning, kept).

    Snakemake decides that params changed by comparing their text, so a config slice passed as a
    param must not depend on the order its keys were written in: reordering a YAML file, or a
    formatter doing it, must rerun nothing.
    """
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [canonical(item) for item in value]
    return value


def _undefined(key: str, kind: str, name: str, defined: dict[str, Any]) -> ConfigError:
    names = ", ".join(sorted(str(name) for name in defined)) or "none"
    return ConfigError(f"config key '{key}': undefined {kind} {name!r} (defined: {names})")


def _check_references(config: dict[str, Any]) -> None:
    """Each reference to a named entry must name one that exists."""
    problemsets = config.get("problemsets", {})
    compressors = config.get("compressors", {})
    students = config.get("students", {})
    for name, teacher in config.get("teachers", {}).items():
        if teacher["problemset"] not in problemsets:
            raise _undefined(
                f"teachers.{name}.problemset", "problem set", teacher["problemset"], problemsets
            )
    for name, benchmark in config.get("benchmarks", {}).items():
        if benchmark["problemset"] not in problemsets:
            raise _undefined(
                f"benchmarks.{name}.problemset", "problem set", benchmark["problemset"], problemsets
            )
    _check_grid(config)
    truncation = config.get("truncation", {})
    for index, name in enumerate(truncation.get("compressors", [])):
        if name not in compressors:
            raise _undefined(f"truncation.compressors.{index}", "compressor", name, compressors)
    if truncation.get("unit") == "tokens":
        tokenizer = truncation.get("tokenizer")
        if tokenizer is None:
            raise ConfigError("config key 'truncation.tokenizer': required when unit is tokens")
        if tokenizer not in students:
            raise _undefined("truncation.tokenizer", "student", tokenizer, students)
    _check_shared_tokenizers(students)


def _check_shared_tokenizers(students: dict[str, Any]) -> None:
    """A student's `same_tokenizer_as` names another student that counts its own tokens, with
    the same max_length: the counts it reuses include the examples too long for that length."""
    from compress_distill.training.settings import TrainSettings

    for name, student in students.items():
        other = student.get("same_tokenizer_as")
        if other is None:
            continue
        key = f"students.{name}.same_tokenizer_as"
        if other not in students or other == name:
            raise _undefined(
                key, "other student", other, dict.fromkeys(s for s in students if s != name)
            )
        if "same_tokenizer_as" in students[other]:
            raise ConfigError(
                f"config key '{key}': {other!r} reuses the counts of "
                f"{students[other]['same_tokenizer_as']!r}; name that student instead"
            )
        lengths = [
            TrainSettings.from_config(students[s].get("training")).max_length for s in (name, other)
        ]
        if lengths[0] != lengths[1]:
            raise ConfigError(
                f"config key '{key}': {name!r} trains with max_length {lengths[0]} and {other!r} "
                f"with {lengths[1]}; the counts of examples too long differ, so remove the key"
            )


def _check_choice_fields(config: dict[str, Any]) -> None:
    """A multiple-choice set's incorrect options are fields other than its question and answer."""
    for name, spec in config.get("problemsets", {}).items():
        if spec.get("answer_format") != "choice":
            continue
        for index, field in enumerate(spec["incorrect_fields"]):
            for key in ("question_field", "answer_field"):
                if field == spec[key]:
                    raise ConfigError(
                        f"config key 'problemsets.{name}.incorrect_fields.{index}': {field!r} is "
                        f"also the {key} (an incorrect option must be another field)"
                    )


def _check_grid(config: dict[str, Any]) -> None:
    """Every name in `grid` (axes, exclusions, extra runs) must be a configured one."""
    if "grid" not in config:
        return
    from compress_distill.grid import MODES, config_variants

    known = {
        "teacher": config.get("teachers", {}),
        "variant": dict.fromkeys(config_variants(config)),
        "student": config.get("students", {}),
        "mode": dict.fromkeys(MODES),
        "regime": dict.fromkeys(config["training_sets"]["regimes"]),
    }
    grid = config["grid"]
    references = [
        (f"grid.{key}s.{i}", key, value)
        for key in known
        for i, value in enumerate(grid.get(f"{key}s", []))
    ]
    for i, rule in enumerate(grid.get("exclude", [])):
        for key, values in rule.items():
            for value in values if isinstance(values, list) else [values]:
                references.append((f"grid.exclude.{i}.{key}", key, value))
    for name, run in grid.get("extra", {}).items():
        references += [(f"grid.extra.{name}.{key}", key, run[key]) for key in known]
    for path, key, value in references:
        if value not in known[key]:
            kind = "regime (not in training_sets.regimes)" if key == "regime" else key
            raise _undefined(path, kind, value, known[key])


def _referenced_files(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(config key, path) of every repository file the config names."""
    files = [(f"teachers.{n}.prompt", t["prompt"]) for n, t in config.get("teachers", {}).items()]
    files += [
        (f"compressors.{n}.prompt", c["prompt"])
        for n, c in config.get("compressors", {}).items()
        if c["kind"] == "llm"
    ]
    files += [
        (f"problemsets.{n}.path", p["path"])
        for n, p in config.get("problemsets", {}).items()
        if p["kind"] == "jsonl"
    ]
    files += [
        (f"students.{n}.chat_template", s["chat_template"])
        for n, s in config.get("students", {}).items()
        if "chat_template" in s
    ]
    if "training_sets" in config:
        files.append(("training_sets.prompt", config["training_sets"]["prompt"]))
    return files


def _check_files(config: dict[str, Any], basedir: Path) -> None:
    for key, path in _referenced_files(config):
        if not (basedir / path).is_file():
            raise ConfigError(
                f"config key '{key}': file {path!r} not found (paths are relative to {basedir})"
            )
