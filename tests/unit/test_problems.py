import json
from pathlib import Path

import pytest

from compress_distill.io import InputError, write_jsonl
from compress_distill.problems import (
    build_problemset,
    build_problemset_with_stats,
    checkable,
    load_hf_problems,
    load_jsonl_problems,
    uncheckable_reason,
)

ROOT = Path(__file__).resolve().parents[2]
GSM8K_TEST = ROOT / "data/gsm8k/test-200.jsonl"
GSM8K_TRAIN = ROOT / "data/gsm8k/train-500.jsonl"


def test_gsm8k_test_subset():
    problems = load_jsonl_problems(GSM8K_TEST, answer_format="gsm8k")
    assert len(problems) == 200
    first = problems[0]
    assert first["id"] == "test-200-00000"
    assert first["question"].startswith("Janet\u2019s ducks lay 16 eggs per day.")
    assert first["answer"] == "18"
    assert first["solution"].endswith("#### 18")
    assert first["source"] == str(GSM8K_TEST)
    assert len({p["id"] for p in problems}) == 200
    assert all(p["answer"].lstrip("-").replace(".", "").isdigit() for p in problems)


def test_gsm8k_train_subset_with_limit_and_prefix():
    problems = load_jsonl_problems(GSM8K_TRAIN, answer_format="gsm8k", id_prefix="gsm8k", limit=5)
    assert [p["id"] for p in problems] == [f"gsm8k-{i:05d}" for i in range(5)]
    assert len(load_jsonl_problems(GSM8K_TRAIN, answer_format="gsm8k")) == 500


def test_thousands_separators_are_removed(tmp_path):
    write_jsonl(tmp_path / "p.jsonl", [{"question": "q?", "answer": "work\n#### 1,250"}])
    assert load_jsonl_problems(tmp_path / "p.jsonl", answer_format="gsm8k")[0]["answer"] == "1250"


def test_malformed_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "a", "answer": "1"}\n\n{"question": "b", "answer": \n')
    with pytest.raises(InputError, match=r"bad\.jsonl:3: malformed JSON"):
        load_jsonl_problems(path)


def test_missing_answer_names_the_record(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl(path, [{"question": "a", "answer": "1"}, {"question": "b"}])
    with pytest.raises(InputError, match=r"p\.jsonl:2: record has no 'answer' field"):
        load_jsonl_problems(path)


def test_gsm8k_answer_without_final_line_names_the_record(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl(path, [{"question": "a", "answer": "It is 4."}])
    with pytest.raises(InputError, match=r"p\.jsonl:1: .*####"):
        load_jsonl_problems(path, answer_format="gsm8k")


def test_custom_fields_ids_and_passthrough(tmp_path):
    path = tmp_path / "math.jsonl"
    records = [
        {"uid": 7, "problem": "What is 1/2 + 0?", "final": "\\frac{1}{2}", "level": 2},
        {"uid": 8, "problem": "What is 3?", "final": 3, "level": 1},
    ]
    write_jsonl(path, records)
    problems = load_jsonl_problems(
        path, question_field="problem", answer_field="final", id_field="uid"
    )
    assert problems[0] == {
        "id": "7",
        "uid": 7,
        "question": "What is 1/2 + 0?",
        "answer": "\\frac{1}{2}",
        "source": str(path),
        "level": 2,
    }
    assert problems[1]["answer"] == "3"


def test_duplicate_ids_are_an_error(tmp_path):
    path = tmp_path / "p.jsonl"
    write_jsonl(path, [{"id": "a", "question": "q", "answer": "1"}] * 2)
    with pytest.raises(InputError, match=r"p\.jsonl:2: duplicate id 'a' \(first at .*p\.jsonl:1\)"):
        load_jsonl_problems(path, id_field="id")


def test_hf_loader_with_a_local_jsonl(tmp_path):
    problems = load_hf_problems(
        str(GSM8K_TEST), split="test", answer_format="gsm8k", limit=3, cache_dir=str(tmp_path)
    )
    expected = load_jsonl_problems(GSM8K_TEST, answer_format="gsm8k", limit=3)
    assert (
        [p["answer"] for p in problems] == [p["answer"] for p in expected] == ["18", "3", "70000"]
    )
    assert [p["question"] for p in problems] == [p["question"] for p in expected]
    assert problems[0]["id"] == "test-200-test-00000"


def test_hf_loader_with_save_to_disk_folders(tmp_path):
    import datasets

    records = [json.loads(line) for line in GSM8K_TEST.read_text().splitlines()[:4]]
    dataset = datasets.Dataset.from_list(records)
    dataset.save_to_disk(str(tmp_path / "single"))
    datasets.DatasetDict({"test": dataset, "train": dataset.select([0])}).save_to_disk(
        str(tmp_path / "dict")
    )

    single = load_hf_problems(str(tmp_path / "single"), answer_format="gsm8k")
    assert [p["answer"] for p in single] == ["18", "3", "70000", "540"]
    assert single[0]["id"] == "single-test-00000"
    train = load_hf_problems(str(tmp_path / "dict"), split="train", answer_format="gsm8k")
    assert [p["answer"] for p in train] == ["18"]
    with pytest.raises(InputError, match="no split 'validation'"):
        load_hf_problems(str(tmp_path / "dict"), split="validation")


def test_hf_loader_missing_field_names_dataset_and_row(tmp_path):
    import datasets

    # a missing value in a column reads back as None, which counts as missing
    datasets.Dataset.from_list(
        [{"question": "a", "answer": "1"}, {"question": "b", "answer": None}]
    ).save_to_disk(str(tmp_path / "ds"))
    with pytest.raises(InputError, match=r"ds \[test\] row 1: record has no 'answer' field"):
        load_hf_problems(str(tmp_path / "ds"))


# --- benchmark formats: MATH-500-style LaTeX answers, GPQA-style multiple choice -----------------

# Written for these tests in the layout of MATH-500 (HuggingFaceH4/MATH-500: problem, solution,
# answer, subject, level, unique_id); not its problems. The last two are the kind of gold answer a
# pool such as NuminaMath holds for proofs and explanations, which cannot be checked.
MATH_STYLE = [
    {
        "problem": "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates. "
        "Enter your answer in the form $(r,\\theta),$ where $r > 0$ and $0 \\le \\theta < 2 \\pi.$",
        "solution": "We have $r = \\sqrt{0^2 + 3^2} = 3.$ The point lies on the positive "
        "$y$-axis, so $\\theta = \\frac{\\pi}{2}.$ Hence the polar coordinates are "
        "$\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$",
        "answer": "\\left( 3, \\frac{\\pi}{2} \\right)",
        "subject": "Precalculus",
        "level": 2,
        "unique_id": "test/precalculus/0001.json",
    },
    {
        "problem": "If $f(x) = \\frac{3x-2}{x-2}$, what is the value of $f(-2) + f(-1) + f(0)$? "
        "Express your answer as a common fraction.",
        "solution": "$f(-2) = 2$, $f(-1) = \\frac{5}{3}$ and $f(0) = 1$, so the sum is "
        "$2 + \\frac{5}{3} + 1 = \\boxed{\\frac{14}{3}}$.",
        "answer": "\\frac{14}{3}",
        "subject": "Algebra",
        "level": 3,
        "unique_id": "test/algebra/0002.json",
    },
    {
        "problem": "Solve $x^2 - x - 6 \\ge 0$. Express your answer in interval notation.",
        "solution": "The quadratic factors as $(x-3)(x+2) \\ge 0$, which holds outside the roots: "
        "$x \\in \\boxed{(-\\infty, -2] \\cup [3, \\infty)}$.",
        "answer": "$(-\\infty, -2] \\cup [3, \\infty)$",
        "subject": "Algebra",
        "level": 4,
        "unique_id": "test/algebra/0003.json",
    },
    {
        "problem": "Which of the following is largest? "
        "$\\textbf{(A)}\\ 2^{10} \\qquad \\textbf{(B)}\\ 10^3 \\qquad \\textbf{(C)}\\ 3^7$",
        "solution": "$2^{10} = 1024$, $10^3 = 1000$ and $3^7 = 2187$, so the answer is "
        "$\\boxed{\\text{(C)}}$.",
        "answer": "\\text{(C)}",
        "subject": "Prealgebra",
        "level": 2,
        "unique_id": "test/prealgebra/0004.json",
    },
    {
        "problem": "A price rises from $\\$50$ to $\\$55$. By what percent did it rise?",
        "solution": "It rose by $\\$5$, and $\\frac{5}{50} = \\boxed{10\\%}$.",
        "answer": "10\\%",
        "subject": "Prealgebra",
        "level": 1,
        "unique_id": "test/prealgebra/0005.json",
    },
    {
        "problem": "Prove that $\\sqrt{2}$ is irrational.",
        "solution": "Suppose $\\sqrt{2} = p/q$ in lowest terms; then $p^2 = 2q^2$ ...",
        "answer": "proof",
        "subject": "Number Theory",
        "level": 5,
        "unique_id": "test/number_theory/0006.json",
    },
    {
        "problem": "Does the sequence $a_n = \\frac{(-1)^n}{n}$ converge?",
        "solution": "Yes: $|a_n| = \\frac{1}{n} \\to 0$.",
        "answer": "Yes, it converges to 0 because its absolute values shrink like 1/n",
        "subject": "Intermediate Algebra",
        "level": 3,
        "unique_id": "test/intermediate_algebra/0007.json",
    },
]
# GPQA's fields; questions invented for these tests (GPQA's license forbids redistributing its own).
GPQA_STYLE = [
    {
        "Record ID": "recTest0001",
        "Question": "A photon has a wavelength of 600 nm. Which is closest to its energy?",
        "Correct Answer": "2.07 eV",
        "Incorrect Answer 1": "3.31 eV",
        "Incorrect Answer 2": "1.24 eV",
        "Incorrect Answer 3": "0.60 eV",
        "High-level domain": "Physics",
    },
    {
        "Record ID": "recTest0002",
        "Question": "Which reagent converts a primary alcohol to an aldehyde without further "
        "oxidation to the carboxylic acid?",
        "Correct Answer": "Pyridinium chlorochromate (PCC) in dichloromethane",
        "Incorrect Answer 1": "Potassium permanganate in hot aqueous base",
        "Incorrect Answer 2": "Jones reagent (CrO$_3$ in aqueous H$_2$SO$_4$)",
        "Incorrect Answer 3": "Sodium borohydride in methanol",
        "High-level domain": "Chemistry",
    },
    {
        "Record ID": "recTest0003",
        "Question": "A diploid cell with $2n = 8$ undergoes meiosis I. How many chromatids does "
        "each daughter cell hold?",
        "Correct Answer": "8",
        "Incorrect Answer 1": "4",
        "Incorrect Answer 2": "16",
        "Incorrect Answer 3": "2",
        "High-level domain": "Biology",
    },
]
GPQA_FIELDS = {"question_field": "Question", "answer_field": "Correct Answer"}


def test_latex_answers_from_the_answer_field(tmp_path):
    write_jsonl(tmp_path / "math.jsonl", MATH_STYLE)
    problems = load_jsonl_problems(
        tmp_path / "math.jsonl", question_field="problem", answer_format="latex"
    )
    assert [p["answer"] for p in problems[:5]] == [
        "\\left( 3, \\frac{\\pi}{2} \\right)",
        "\\frac{14}{3}",
        "(-\\infty, -2] \\cup [3, \\infty)",  # the dollars around it are gone
        "\\text{(C)}",
        "10\\%",
    ]
    assert problems[0]["solution"] == MATH_STYLE[0]["solution"]  # passed through
    assert problems[0]["unique_id"] == "test/precalculus/0001.json"


def test_latex_answers_from_a_worked_solution(tmp_path):
    write_jsonl(tmp_path / "math.jsonl", MATH_STYLE[:5])
    from_answer = load_jsonl_problems(
        tmp_path / "math.jsonl", question_field="problem", answer_format="latex"
    )
    from_solution = load_jsonl_problems(
        tmp_path / "math.jsonl",
        question_field="problem",
        answer_field="solution",
        answer_format="latex",
    )
    assert [p["answer"] for p in from_solution] == [p["answer"] for p in from_answer]
    assert from_solution[1]["solution"] == MATH_STYLE[1]["solution"]


def test_multiple_choice_is_shuffled_with_a_seed_and_recorded(tmp_path):
    write_jsonl(tmp_path / "gpqa.jsonl", GPQA_STYLE)
    problems = load_jsonl_problems(
        tmp_path / "gpqa.jsonl", answer_format="choice", id_field="Record ID", **GPQA_FIELDS
    )
    for problem, record in zip(problems, GPQA_STYLE, strict=True):
        assert problem["id"] == record["Record ID"]
        assert problem["stem"] == record["Question"]
        assert sorted(problem["option_fields"]) == [
            "Correct Answer",
            "Incorrect Answer 1",
            "Incorrect Answer 2",
            "Incorrect Answer 3",
        ]
        assert problem["options"] == [record[f] for f in problem["option_fields"]]
        gold = "ABCD".index(problem["answer"])
        assert problem["option_fields"][gold] == "Correct Answer"
        assert problem["options"][gold] == record["Correct Answer"]
        listed = "\n".join(f"({'ABCD'[i]}) {o}" for i, o in enumerate(problem["options"]))
        assert problem["question"] == f"{record['Question']}\n\n{listed}"
        assert problem["shuffle_seed"] == 0
        assert "Correct Answer" not in problem and "Incorrect Answer 1" not in problem
        assert problem["High-level domain"] == record["High-level domain"]

    def shuffled(seed, records=GPQA_STYLE):
        write_jsonl(tmp_path / "g.jsonl", records)
        loaded = load_jsonl_problems(
            tmp_path / "g.jsonl",
            answer_format="choice",
            id_field="Record ID",
            seed=seed,
            **GPQA_FIELDS,
        )
        return {p["id"]: (p["option_fields"], p["answer"]) for p in loaded}

    same = shuffled(0)
    assert same == {p["id"]: (p["option_fields"], p["answer"]) for p in problems}
    assert shuffled(0, GPQA_STYLE[::-1]) == same  # per problem: the record order does not matter
    others = [shuffled(seed) for seed in range(1, 8)]
    assert any(other != same for other in others)  # another seed, another order
    # the correct option is not always in one place
    assert len({answer for other in others for _, answer in other.values()}) > 1


def test_multiple_choice_with_other_fields_and_a_missing_option(tmp_path):
    write_jsonl(
        tmp_path / "mc.jsonl", [{"q": "Pick the prime.", "right": "7", "w1": "8", "w2": "9"}]
    )
    (problem,) = load_jsonl_problems(
        tmp_path / "mc.jsonl",
        question_field="q",
        answer_field="right",
        answer_format="choice",
        incorrect_fields=["w1", "w2"],
    )
    assert sorted(problem["options"]) == ["7", "8", "9"]
    assert f"({problem['answer']}) 7" in problem["question"].splitlines()
    write_jsonl(tmp_path / "bad.jsonl", [{**GPQA_STYLE[0], "Incorrect Answer 3": None}])
    with pytest.raises(InputError, match=r"bad\.jsonl:1: record has no 'Incorrect Answer 3'"):
        load_jsonl_problems(tmp_path / "bad.jsonl", answer_format="choice", **GPQA_FIELDS)
    write_jsonl(tmp_path / "empty.jsonl", [{**GPQA_STYLE[0], "Incorrect Answer 2": "  "}])
    with pytest.raises(InputError, match=r"empty\.jsonl:1: empty option 'Incorrect Answer 2'"):
        load_jsonl_problems(tmp_path / "empty.jsonl", answer_format="choice", **GPQA_FIELDS)


def test_benchmark_formats_load_the_same_from_jsonl_and_hf_folders(tmp_path):
    import datasets

    for records, spec in [
        (MATH_STYLE, {"question_field": "problem", "answer_format": "latex"}),
        (GPQA_STYLE, {**GPQA_FIELDS, "answer_format": "choice", "id_field": "Record ID"}),
    ]:
        write_jsonl(tmp_path / "set.jsonl", records)
        datasets.Dataset.from_list(records).save_to_disk(str(tmp_path / "folder"))
        from_jsonl = load_jsonl_problems(tmp_path / "set.jsonl", **spec)
        from_folder = load_hf_problems(str(tmp_path / "folder"), **spec)
        drop = {"source", "id"} if "id_field" not in spec else {"source"}
        assert [{k: v for k, v in p.items() if k not in drop} for p in from_folder] == [
            {k: v for k, v in p.items() if k not in drop} for p in from_jsonl
        ]


def test_uncheckable_reasons():
    def reason(answer, **extra):
        return uncheckable_reason({"id": "p", "answer": answer, **extra}, max_answer_words=5)

    assert reason("\\frac{14}{3}") is None
    assert reason("C") is None
    assert reason("\\text{Evelyn}") is None  # LaTeX text is compared as text
    assert reason("Yes") is None
    assert reason("x^2 + 2x + 1") is None  # no words: `\frac`, `x` do not count
    assert reason("proof") == "free_text"
    assert reason("notfound") == "free_text"
    assert reason(MATH_STYLE[6]["answer"]) == "too_many_words"
    assert reason("B", options=["1", "2", "1", "3"]) == "duplicate_options"


def test_checkable_drops_and_counts():
    golds = ["\\frac{14}{3}", "42", "C", "proof", "", "\\text{(B)}", "x \\in [2, 5)"]
    problems = [{"id": f"p{i}", "answer": gold} for i, gold in enumerate(golds)]
    kept, stats = checkable(problems)
    assert [p["id"] for p in kept] == ["p0", "p1", "p2", "p5", "p6"]
    assert stats["read"] == 7 and stats["kept"] == 5 and stats["dropped"] == 2
    assert stats["dropped_by_reason"] == {"free_text": 1, "unparseable": 1}
    assert stats["examples"] == [
        {"id": "p3", "answer": "proof", "reason": "free_text"},
        {"id": "p4", "answer": "", "reason": "unparseable"},
    ]


def test_build_problemset_filters_uncheckable_golds_unless_told_not_to(tmp_path):
    write_jsonl(tmp_path / "math.jsonl", MATH_STYLE)
    spec = {
        "kind": "jsonl",
        "path": "math.jsonl",
        "question_field": "problem",
        "answer_field": "answer",
        "answer_format": "latex",
    }
    problems, stats = build_problemset_with_stats("math", spec, tmp_path)
    assert [p["id"] for p in problems] == [f"math-{i:05d}" for i in range(5)]
    assert stats["dropped"] == 2
    assert stats["dropped_by_reason"] == {"free_text": 1, "too_many_words": 1}
    assert build_problemset("math", spec, tmp_path) == problems
    everything, stats = build_problemset_with_stats(
        "math", {**spec, "checkable_only": False}, tmp_path
    )
    assert len(everything) == 7 and stats["dropped"] == 0 and stats["kept"] == 7
    _, stats = build_problemset_with_stats("math", {**spec, "max_answer_words": 20}, tmp_path)
    assert stats["dropped_by_reason"] == {"free_text": 1}


def test_build_problemset_multiple_choice_from_an_hf_folder(tmp_path):
    import datasets

    datasets.DatasetDict({"train": datasets.Dataset.from_list(GPQA_STYLE)}).save_to_disk(
        str(tmp_path / "gpqa")
    )
    spec = {
        "kind": "hf",
        "name": "gpqa",
        "config": "gpqa_diamond",
        "split": "train",
        "answer_format": "choice",
        "id_field": "Record ID",
        "seed": 3,
        **GPQA_FIELDS,
    }
    problems, stats = build_problemset_with_stats("gpqa_diamond", spec, tmp_path)
    assert [p["id"] for p in problems] == ["recTest0001", "recTest0002", "recTest0003"]
    assert all(p["shuffle_seed"] == 3 and p["answer"] in "ABCD" for p in problems)
    assert stats == {
        "read": 3,
        "kept": 3,
        "dropped": 0,
        "dropped_by_reason": {},
        "examples": [],
    }
