"""The rehearsal (configs/smollm.yaml): every stage on real models through the workflow's rules.

SmolLM2-135M-Instruct compresses GSM8K's worked solutions through vLLM with the paper's prompt, is
the pretrained student (full and LoRA, with its own tokenizer and chat template), and is evaluated
through vLLM serving the LoRA adapters on their base, sampling with two seeds. The model answers
poorly; what is asserted is that every path ran on the real parts and counted what it did.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from compress_distill.compression import OUTCOMES
from compress_distill.io import read_json, read_jsonl
from compress_distill.students.tokenizers import load_tokenizer
from compress_distill.training import BASE_MODEL_FILE

pytest.importorskip("vllm")
pytestmark = pytest.mark.slow

RUNS = [(variant, mode) for variant in ("raw", "smol") for mode in ("full", "lora")]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_rehearsal_on_real_models(new_workflow, smollm2_dir: Path) -> None:
    def use_exported_model(config: dict) -> None:
        config["compressors"]["smol"]["model"] = str(smollm2_dir)
        config["students"]["smol"]["model"] = str(smollm2_dir)

    workflow = new_workflow("smollm", base="configs/smollm.yaml", edit=use_exported_model)
    workflow.run()

    # Compression: every verified trace has exactly one outcome, and the kept rows carry their
    # faithfulness measures.
    verified = read_jsonl(workflow.path("results/traces/gsm8k/verified/000.jsonl"))
    compressed = read_jsonl(workflow.path("results/traces/gsm8k/smol/000.jsonl"))
    verified_by_id = {row["problem_id"]: row for row in verified}
    (summary,) = _rows(workflow.path("results/tables/compression.csv"))
    counts = {outcome: int(summary[outcome]) for outcome in OUTCOMES}
    assert sum(counts.values()) == int(summary["traces"]) == len(verified) == 12
    # Under append nothing is dropped: a lost answer is appended, an unfaithful or longer output
    # gives way to the raw trace.
    assert counts["dropped"] == 0 and len(compressed) == len(verified)
    for row in compressed:
        assert row["compressor"]["settings"]["engine"] == "vllm"
        assert row["compressor"]["engine_info"]["engine"] == "vllm"
        assert set(row["faithfulness"]) == {"results_kept", "equations_correct"}
        assert row["compressed_chars"] <= row["raw_chars"]
        if row["outcome"] in ("not_shorter", "unfaithful"):
            assert row["completion"] == verified_by_id[row["problem_id"]]["completion"]

    # The student trains in its own chat template, SmolLM2's.
    tokenizer = load_tokenizer(workflow.path("results/students/smol/base"))
    assert "<|im_start|>" in tokenizer.chat_template

    metrics = {
        (row["variant"], row["mode"]): row
        for row in _rows(workflow.path("results/tables/metrics.csv"))
    }
    assert set(metrics) == set(RUNS)
    for variant, mode in RUNS:
        run = workflow.path(f"results/runs/gsm8k/{variant}/smol/{mode}/12")
        # LoRA runs save an adapter on the base, which vLLM serves as such rather than a merge.
        assert (run / "model" / BASE_MODEL_FILE).is_file() == (mode == "lora")
        predictions = read_jsonl(
            workflow.path(f"results/evals/gsm8k/{variant}/smol/{mode}/12/gsm8k_test.jsonl")
        )
        for row in predictions:
            assert row["engine"]["engine"] == "vllm"
            adapter = f"results/runs/gsm8k/{variant}/smol/lora/12/model"
            assert row["engine"].get("lora_path") == (adapter if mode == "lora" else None)
        assert sorted({row["seed"] for row in predictions}) == [0, 1]
        assert len(predictions) == 2 * 6
        evaluation = read_json(
            workflow.path(f"results/evals/gsm8k/{variant}/smol/{mode}/12/gsm8k_test.metrics.json")
        )
        assert evaluation["n_seeds"] == 2 and evaluation["n_problems"] == 6
        assert 0.0 <= evaluation["accuracy"] <= 1.0 and evaluation["accuracy_std"] >= 0.0
        losses = _rows(run / "loss.csv")
        assert len(losses) == 3 and all(float(row["loss"]) > 0 for row in losses)
    assert workflow.path("results/report.html").is_file()
