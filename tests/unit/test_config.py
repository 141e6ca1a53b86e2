import copy
from pathlib import Path

import pytest
import yaml

from compress_distill.config import ConfigError, canonical, load_schema, validate_config
from compress_distill.grid import MODES

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas/config.schema.yaml"


def _load(name):
    return yaml.safe_load((ROOT / name).read_text())


def _validate(config):
    return validate_config(config, SCHEMA, ROOT)


@pytest.mark.parametrize(
    "name", ["config.yaml", "configs/tiny.yaml", "configs/paper.yaml", "configs/imported.yaml"]
)
def test_shipped_configs_are_valid(name):
    config = _validate(_load(name))
    teacher = next(iter(config["teachers"].values()))
    assert teacher["sampling"]["max_tokens"] > 0  # defaults filled in
    assert teacher["resources"]["gpus"] >= 0


def test_validation_does_not_modify_its_input():
    config = _load("configs/tiny.yaml")
    before = copy.deepcopy(config)
    _validate(config)
    assert config == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(teachres={}), "config key 'teachres': unknown key"),
        (
            lambda c: c["teachers"]["verbose"].update(shard=2),
            "config key 'teachers.verbose.shard': unknown key 'shard'",
        ),
        (
            lambda c: c["teachers"]["verbose"].update(samples="two"),
            "config key 'teachers.verbose.samples': 'two' is not of type 'integer'",
        ),
        (
            lambda c: c["teachers"]["verbose"].update(engine="gpt"),
            "config key 'teachers.verbose.engine'",
        ),
        (
            lambda c: c["teachers"]["verbose"].update(engine="imported", samples=2),
            "config key 'teachers.verbose.samples': 1 was expected",
        ),
        (
            lambda c: c["teachers"]["verbose"].update(problemset="nope"),
            "config key 'teachers.verbose.problemset': undefined problem set 'nope'",
        ),
        (
            lambda c: c["teachers"]["verbose"]["sampling"].update(temprature=1),
            "config key 'teachers.verbose.sampling.temprature': unknown key",
        ),
        (
            lambda c: c["problemsets"]["arith_train"].pop("size"),
            "config key 'problemsets.arith_train': 'size' is a required property",
        ),
        (
            lambda c: c["teachers"]["verbose"].update(prompt="prompts/missing.txt"),
            "config key 'teachers.verbose.prompt': file 'prompts/missing.txt' not found",
        ),
        (
            lambda c: c["problemsets"].update(gsm={"kind": "jsonl", "path": "nope.jsonl"}),
            "config key 'problemsets.gsm.path': file 'nope.jsonl' not found",
        ),
        (
            lambda c: c["teachers"].update({"a/b": c["teachers"]["verbose"]}),
            "config key 'teachers'",
        ),
        (
            lambda c: c["compressors"]["extractive"].update(min_faithfulness={"results_kept": 1.5}),
            "config key 'compressors.extractive.min_faithfulness.results_kept': 1.5 is greater",
        ),
        (
            lambda c: c["compressors"]["extractive"].update(min_faithfulness={"steps_kept": 0.5}),
            "config key 'compressors.extractive.min_faithfulness.steps_kept': unknown key",
        ),
    ],
)
def test_bad_config_names_the_key(edit, message):
    config = _load("configs/tiny.yaml")
    config["teachers"]["verbose"].setdefault("sampling", {})
    edit(config)
    with pytest.raises(ConfigError) as info:
        _validate(config)
    assert message in str(info.value)


def _twin(config, **entry):
    """A second student, a copy of tiny with `entry` on top."""
    config["students"]["twin"] = copy.deepcopy(config["students"]["tiny"]) | entry


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c: _twin(c, same_tokenizer_as="nobody"),
            "config key 'students.twin.same_tokenizer_as': undefined other student 'nobody' "
            "(defined: tiny)",
        ),
        (
            lambda c: _twin(c, same_tokenizer_as="twin"),
            "undefined other student 'twin'",
        ),
        (
            lambda c: (
                _twin(c, same_tokenizer_as="tiny"),
                c["students"]["tiny"].update(same_tokenizer_as="twin"),
            ),
            "students.tiny.same_tokenizer_as': 'twin' reuses the counts of 'tiny'; name that "
            "student instead",
        ),
        (
            lambda c: _twin(
                c, same_tokenizer_as="tiny", training={"max_length": 2048, "learning_rate": 0.003}
            ),
            "'twin' trains with max_length 2048 and 'tiny' with 1024",
        ),
    ],
)
def test_bad_shared_tokenizer_names_the_key(edit, message):
    config = _load("configs/tiny.yaml")
    edit(config)
    with pytest.raises(ConfigError, match=r"config key 'students\.") as info:
        _validate(config)
    assert message in str(info.value)


def test_a_student_may_share_another_students_tokenizer():
    config = _load("configs/tiny.yaml")
    _twin(config, same_tokenizer_as="tiny")
    assert _validate(config)["students"]["twin"]["same_tokenizer_as"] == "tiny"


def test_canonical_sorts_keys_at_every_level_and_keeps_list_order():
    one = {"b": 1, "a": {"y": [{"q": 1, "p": 2}, 3], "x": None}}
    other = {"a": {"x": None, "y": [{"p": 2, "q": 1}, 3]}, "b": 1}
    assert repr(canonical(one)) == repr(canonical(other))
    assert list(canonical(one)) == ["a", "b"]
    assert canonical(one)["a"]["y"][1] == 3


def test_schema_modes_are_the_grid_modes():
    """The schema cannot import Python: its mode lists must spell grid.MODES."""
    schema = load_schema(SCHEMA)
    students = schema["$defs"]["student"]["properties"]
    assert [mode for mode in MODES if mode in students] == list(MODES)
    assert schema["$defs"]["mode"]["enum"] == list(MODES)


GPQA_SET = {
    "kind": "hf",
    "name": "Idavidrein/gpqa",
    "config": "gpqa_diamond",
    "split": "train",
    "question_field": "Question",
    "answer_field": "Correct Answer",
    "answer_format": "choice",
}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {**GPQA_SET, "answer_format": "mcq"},
            "config key 'problemsets.bench.answer_format': 'mcq' is not one of",
        ),
        (
            {**GPQA_SET, "incorrect_fields": ["Incorrect Answer 1", "Correct Answer"]},
            "config key 'problemsets.bench.incorrect_fields.1': 'Correct Answer' is also the "
            "answer_field",
        ),
        (
            {**GPQA_SET, "incorrect_fields": []},
            "config key 'problemsets.bench.incorrect_fields': [] should be non-empty",
        ),
        (
            {**GPQA_SET, "max_answer_words": 0},
            "config key 'problemsets.bench.max_answer_words': 0 is less than the minimum of 1",
        ),
        (
            {**GPQA_SET, "checkable_only": "yes"},
            "config key 'problemsets.bench.checkable_only': 'yes' is not of type 'boolean'",
        ),
    ],
)
def test_bad_benchmark_problemset_names_the_key(entry, message):
    config = _load("configs/tiny.yaml")
    config["problemsets"]["bench"] = entry
    with pytest.raises(ConfigError) as info:
        _validate(config)
    assert message in str(info.value)


def test_benchmark_problemset_defaults():
    config = _load("configs/tiny.yaml")
    config["problemsets"]["bench"] = dict(GPQA_SET)
    bench = _validate(config)["problemsets"]["bench"]
    assert bench["incorrect_fields"] == [f"Incorrect Answer {i}" for i in (1, 2, 3)]
    assert bench["checkable_only"] is True and bench["max_answer_words"] == 5
    assert bench["seed"] == 0


def test_paper_benchmarks_name_their_answer_formats():
    config = _validate(_load("configs/paper.yaml"))
    sets = config["problemsets"]
    formats = {
        name: sets[b["problemset"]]["answer_format"] for name, b in config["benchmarks"].items()
    }
    assert formats == {
        "gsm8k": "gsm8k",
        "math500": "latex",
        "aime24": "latex",
        "gpqa_diamond": "choice",
    }
    assert sets["gpqa_diamond"]["name"] == "Idavidrein/gpqa"
    assert sets["math500"]["name"] == "HuggingFaceH4/MATH-500"
