"""The imported-trace teacher on GSM8K's own worked solutions (data/gsm8k, MIT)."""

import pytest

from compress_distill.answers import extract_answer
from compress_distill.engines import Request, SamplingSettings
from compress_distill.engines.imported import ImportedEngine, split_gsm8k
from compress_distill.io import InputError
from compress_distill.problems import load_jsonl_problems
from tests.conftest import ROOT

GSM8K_TRAIN = ROOT / "data/gsm8k/train-500.jsonl"


def _requests(problems):
    return [Request([{"role": "user", "content": p["question"]}], context=p) for p in problems]


def test_gsm8k_solutions_become_reasoning_and_response():
    problems = load_jsonl_problems(GSM8K_TRAIN, answer_format="gsm8k", limit=50)
    engine = ImportedEngine(model="gsm8k-solutions", reasoning_field="solution", split="gsm8k")
    completions = engine.generate(_requests(problems), SamplingSettings())
    assert len(completions) == 50
    for problem, completion in zip(problems, completions, strict=True):
        assert completion.reasoning and "<<" not in completion.reasoning
        assert "####" not in completion.reasoning
        assert completion.text == f"#### {problem['answer']}"
        assert extract_answer(completion.text) == problem["answer"]
        assert completion.reasoning_parser == "imported:gsm8k"
        assert completion.finish_reason == "stop" and completion.output_tokens is None


def test_split_gsm8k_keeps_the_steps_in_order():
    reasoning, response = split_gsm8k(
        "He has 3 + 4 = <<3+4=7>>7 apples.\nSo 7 * 2 = <<7*2=14>>14.\n#### 14"
    )
    assert reasoning == "He has 3 + 4 = 7 apples.\nSo 7 * 2 = 14."
    assert response == "#### 14"


def test_two_fields():
    record = {"id": "p1", "question": "q", "thoughts": " Let me see. ", "final": "\\boxed{3}"}
    engine = ImportedEngine(reasoning_field="thoughts", response_field="final")
    (completion,) = engine.generate(_requests([record]), SamplingSettings())
    assert (completion.reasoning, completion.text) == ("Let me see.", "\\boxed{3}")


def test_bad_records_and_settings_name_what_is_wrong():
    engine = ImportedEngine(reasoning_field="solution", split="gsm8k")
    with pytest.raises(
        InputError, match="problem 'p1': imported trace field 'solution' is missing"
    ):
        engine.generate(_requests([{"id": "p1", "question": "q"}]), SamplingSettings())
    with pytest.raises(InputError, match=r"problem 'p2': .*'#### <answer>'"):
        no_marker = {"id": "p2", "question": "q", "solution": "no marker"}
        engine.generate(_requests([no_marker]), SamplingSettings())
    with pytest.raises(ValueError, match=r"response_field .* or split"):
        ImportedEngine(reasoning_field="solution")
    with pytest.raises(ValueError, match="unknown split"):
        ImportedEngine(split="openr1")
    with pytest.raises(ValueError, match="samples: 1"):
        request = Request([], context={"id": "p", "solution": "x\n#### 1"}, sample_index=1)
        engine.generate([request], SamplingSettings())
