import hashlib
import json
import re

from compress_distill.engines import Request, SamplingSettings, make_engine
from compress_distill.engines.scripted import column_steps
from compress_distill.tasks.arithmetic import ArithmeticSpec, make_problems

PROBLEMS = make_problems(ArithmeticSpec(), "train", 300, seed=11)


def _generate(style, error_rate=0.05, seed=0, problems=PROBLEMS, max_tokens=10_000):
    engine = make_engine("scripted", None, {"style": style, "error_rate": error_rate, "seed": seed})
    requests = [Request([], context=p) for p in problems]
    return engine.generate(requests, SamplingSettings(max_tokens=max_tokens))


def _boxed(text):
    return re.findall(r"\\boxed\{(-?\d+)\}", text)[-1]


def test_column_arithmetic_is_exact_without_slips():
    for a, op, b in [(58, "+", 67), (1003, "-", 999), (407, "*", 8), (9, "+", 999), (50, "-", 50)]:
        _, result = column_steps(a, op, b, None, 0)
        assert result == {"+": a + b, "-": a - b, "*": a * b}[op]


def test_a_slip_changes_the_result():
    _, result = column_steps(58, "+", 67, slip_at=0, slip=1)
    assert result != 125


def test_error_free_teacher_is_always_right():
    completions = _generate("concise", error_rate=0.0)
    assert all(_boxed(c.text) == p["answer"] for c, p in zip(completions, PROBLEMS, strict=True))


def test_slips_make_real_mistakes_and_double_checks_catch_some():
    wrong = {}
    for style in ("verbose", "concise"):
        completions = _generate(style, error_rate=0.15)
        pairs = zip(completions, PROBLEMS, strict=True)
        wrong[style] = sum(_boxed(c.text) != p["answer"] for c, p in pairs)
    assert wrong["concise"] > 0
    assert wrong["verbose"] < wrong["concise"]  # the verbose teacher re-verifies more often


def test_styles_differ_in_length_and_look_like_reasoning():
    verbose = _generate("verbose")
    concise = _generate("concise")
    mean = lambda cs: sum(len(c.text) for c in cs) / len(cs)  # noqa: E731
    assert mean(verbose) > 1.3 * mean(concise)
    text = "\n".join(c.text for c in verbose)
    for marker in ("restate", "double-check", "carry", "\\boxed{"):
        assert marker in text


def test_deterministic_per_sample_whatever_the_batch():
    engine = make_engine("scripted", None, {"style": "verbose", "seed": 3})
    sampling = SamplingSettings()
    batch = engine.generate([Request([], PROBLEMS[i], 1) for i in range(5)], sampling)
    single = [engine.generate([Request([], PROBLEMS[i], 1)], sampling)[0] for i in range(5)]
    assert batch == single
    other_sample = engine.generate([Request([], PROBLEMS[0], 2)], sampling)[0]
    assert isinstance(other_sample.text, str)


def test_max_tokens_truncates_with_length_finish():
    completion = _generate("verbose", problems=PROBLEMS[:1], max_tokens=10)[0]
    assert completion.finish_reason == "length"
    assert completion.output_tokens == 10


def test_plain_text_no_reasoning_split_and_traces_unchanged():
    # Pinned before Completion carried reasoning: the demo's traces stay byte-identical.
    pinned = {
        "verbose": "278e035deb86966dd7a17e2ef90657b05866315e09cd9657eb1593c1bef35bb6",
        "concise": "7aa1a924a74b8c368bee05bc4a329ae2c0bc038f8e111ee1681d62bfdae34c25",
    }
    for style, digest in pinned.items():
        completions = _generate(style, problems=PROBLEMS[:20])
        texts = json.dumps([c.text for c in completions]).encode()
        assert hashlib.sha256(texts).hexdigest() == digest
        for c in completions:
            assert (c.reasoning, c.reasoning_parser, c.prompt_tokens) == (None, "none", None)


def test_long_traces_with_latex_answers_for_the_scale_benchmark():
    from compress_distill.answers import extract_answer
    from compress_distill.checking import Verdict, check_answer

    args = {"style": "concise", "error_rate": 0.0, "min_words": 600, "latex_answer": True}
    engine = make_engine("scripted", None, args)
    problems = PROBLEMS[:5]
    completions = engine.generate(
        [Request([], context=p) for p in problems], SamplingSettings(max_tokens=10_000)
    )
    short = _generate("concise", error_rate=0.0, problems=problems)
    for completion, plain, problem in zip(completions, short, problems, strict=True):
        words = len(completion.text.split())
        assert 600 <= words < 600 + 200 and words > 3 * len(plain.text.split())
        assert completion.text.count("Wait") + completion.text.count("Hmm") >= 3
        answer = extract_answer(completion.text)
        assert answer.startswith("\\frac{") and answer != problem["answer"]
        assert check_answer(answer, problem["answer"]) is Verdict.CORRECT
