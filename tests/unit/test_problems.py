import json
from pathlib import Path

import pytest

from compress_distill.io import InputError, write_jsonl
from compress_distill.problems import load_hf_problems, load_jsonl_problems

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
