"""The demo's student base recipe (students.demo_base, `make student-base`)."""

from pathlib import Path

import pytest
import yaml

from compress_distill.io import read_json
from compress_distill.students.demo_base import (
    build_student_base,
    evaluate_on_heldout,
    worked_solution_chats,
)
from compress_distill.students.tokenizers import build_char_tokenizer, load_tokenizer
from compress_distill.training.records import weights_sha256

ROOT = Path(__file__).resolve().parents[2]


def test_worked_solution_chats_end_in_a_solution_whose_layout_is_fixed_per_problem() -> None:
    tokenizer = build_char_tokenizer()
    problems = [
        {"id": f"p{i}", "question": "Compute 2 + 3.", "start": 2, "steps": [["+", 3]]}
        for i in range(20)
    ]
    texts = worked_solution_chats(problems, tokenizer, "{question}\n")
    for text in texts:
        assert text.startswith("<s><|user|>Compute 2 + 3.\n</s><|assistant|>")
        assert text.endswith("\\boxed{5}</s>")
    assert len(set(texts)) > 1, "layouts vary between problems"
    assert worked_solution_chats(problems[::-1], tokenizer, "{question}\n") == texts[::-1]


@pytest.mark.slow
def test_the_recipe_builds_a_model_and_measures_it(tmp_path: Path) -> None:
    recipe = yaml.safe_load((ROOT / "configs/student-base.yaml").read_text())
    recipe["student"]["architecture"] = {"hidden_size": 32, "num_layers": 1, "num_heads": 2}
    recipe["student"]["pretrain"] = {"steps": 2, "batch_size": 2, "max_length": 64}
    recipe["long_context"]["pretrain"] = {"steps": 2, "batch_size": 1, "max_length": 128}
    recipe["corpus"]["size"], recipe["heldout"]["size"] = 30, 4
    recipe["general_text"] = "data/gsm8k/train-500.jsonl"
    build = build_student_base(recipe, tmp_path / "base", ROOT)
    assert build["corpus_problems"] == 30 and build["heldout"]["n_problems"] == 4
    assert build["general_texts"] == 500
    assert 0 <= build["heldout"]["accuracy"] <= 1
    for name in ("build.json", "heldout.json", "config.json", "model.safetensors"):
        assert (tmp_path / "base" / name).is_file()
    assert build["pretrain_tokens"] == 2 * 2 * 64 + 2 * 1 * 128, "both phases"
    base_metrics = read_json(tmp_path / "base" / "base_metrics.json")
    assert base_metrics["long_context"]["steps"] == 2
    assert (
        base_metrics["weights_sha256"]
        == build["weights_sha256"]
        == weights_sha256(tmp_path / "base")
    )
    assert [p.name for p in tmp_path.iterdir()] == ["base"], "built beside, then renamed"
    tokenizer = load_tokenizer(tmp_path / "base")
    assert len(tokenizer) == recipe["tokenizer"]["vocab_size"], "BPE trained to the recipe's size"
    assert len(tokenizer(" the", add_special_tokens=False)["input_ids"]) == 1, "words are merged"
    (tmp_path / "base" / "README.md").write_text("model card")
    build_student_base(recipe, tmp_path / "base", ROOT)
    assert (tmp_path / "base" / "README.md").read_text() == "model card", "kept across rebuilds"
    recipe["heldout"]["size"] = 2
    assert evaluate_on_heldout(recipe, tmp_path / "base", ROOT)["metrics"]["n_problems"] == 2
