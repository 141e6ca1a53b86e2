import pytest

from compress_distill.tasks.arithmetic import (
    ArithmeticSpec,
    apply,
    make_problems,
)


def _value(problem):
    value = problem["start"]
    for op, operand in problem["steps"]:
        value = apply(value, op, operand)
    return value


def test_deterministic_by_seed():
    spec = ArithmeticSpec()
    assert make_problems(spec, "train", 50, seed=1) == make_problems(spec, "train", 50, seed=1)
    assert make_problems(spec, "train", 50, seed=1) != make_problems(spec, "train", 50, seed=2)


def test_splits_are_disjoint_and_answers_right():
    spec = ArithmeticSpec(form="bare")
    train = make_problems(spec, "train", 400, seed=3)
    test = make_problems(spec, "test", 100, seed=3)
    assert not {p["question"] for p in train} & {p["question"] for p in test}
    assert len({p["id"] for p in train}) == 400
    for problem in train + test:
        assert problem["answer"] == str(_value(problem))
        assert int(problem["answer"]) >= 0


def test_difficulty_knobs():
    spec = ArithmeticSpec(min_operations=4, max_operations=4, digits=3, operators=("+", "-"))
    for problem in make_problems(spec, "test", 30, seed=0):
        assert len(problem["steps"]) == 4
        assert 100 <= problem["start"] <= 999
        assert {op for op, _ in problem["steps"]} <= {"+", "-"}


def test_word_form_mentions_every_number():
    for problem in make_problems(ArithmeticSpec(form="word"), "train", 20, seed=5):
        assert problem["question"].endswith("?")
        for _, operand in problem["steps"]:
            assert str(operand) in problem["question"]


@pytest.mark.parametrize(
    "bad", [{"min_operations": 0}, {"digits": 9}, {"operators": ("/",)}, {"form": "poem"}]
)
def test_bad_spec_rejected(bad):
    with pytest.raises(ValueError):
        ArithmeticSpec(**bad)
