"""An imported-trace teacher (configs/imported.yaml: GSM8K's own worked solutions) through every
stage: verification, compression, training sets, training and evaluation."""

import csv
import json

import pytest

from compress_distill.io import read_jsonl
from compress_distill.students.tokenizers import load_tokenizer

pytestmark = pytest.mark.slow


def test_gsm8k_solutions_as_a_teacher(new_workflow):
    workflow = new_workflow("imported", base="configs/imported.yaml")
    workflow.run()
    rows = [
        row
        for shard in ("000", "001")
        for row in read_jsonl(workflow.path(f"results/traces/gsm8k/checked/{shard}.jsonl"))
    ]
    assert len(rows) == 60  # configs/imported.yaml reads 60 problems
    for row in rows:
        assert row["engine"] == "imported" and row["reasoning_parser"] == "imported:gsm8k"
        assert row["reasoning"] and row["response"] == f"#### {row['gold']}"
        assert "<<" not in row["reasoning"]  # GSM8K's calculator annotations are not prose
        # the answer is read from the final response, "#### <gold>"
        assert row["answer_source"] == "response" and row["extracted_answer"] == row["gold"]
    # GSM8K's own solutions are right: verification must accept them all.
    stats = json.loads(workflow.path("results/traces/gsm8k/stats.json").read_text())
    assert stats["samples"] == 60 and stats["pass_rate"] == 1.0
    assert stats["hit_length_limit"] == stats["hit_length_limit_no_answer"] == 0

    # The compressor compressed the reasoning; the response follows it whole.
    verified = {row["problem_id"]: row for row in rows}
    compressed = [
        row
        for shard in ("000", "001")
        for row in read_jsonl(workflow.path(f"results/traces/gsm8k/prune/{shard}.jsonl"))
    ]
    assert compressed
    for row in compressed:
        raw = verified[row["problem_id"]]
        assert row["compressed_field"] == "reasoning" and row["response"] == raw["response"]
        assert row["completion"] == f"{row['reasoning']}\n\n{raw['response']}"
        assert len(row["reasoning"]) < len(raw["reasoning"])

    with workflow.path("results/tables/training_sets.csv").open() as handle:
        sets = {row["variant"]: row for row in csv.DictReader(handle)}
    assert set(sets) == {"raw", "prune", "truncated-prune", "answer-only"}
    assert all(int(row["examples"]) == 20 for row in sets.values())
    assert float(sets["prune"]["chars_ratio"]) < 1.0
    # Training examples keep the reasoning apart, and the student's chat template (Qwen3's) puts
    # it in a <think> block before the response.
    (example, *_) = read_jsonl(workflow.path("results/datasets/gsm8k/raw/20.jsonl"))
    (message,) = example["completion"]
    assert message["reasoning_content"] and message["content"].startswith("#### ")
    tokenizer = load_tokenizer(workflow.path("results/students/tiny/base"))
    rendered = tokenizer.apply_chat_template(
        example["prompt"] + example["completion"], tokenize=False
    )
    assert f"<think>\n{message['reasoning_content']}\n</think>\n\n{message['content']}" in rendered
    with workflow.path("results/tables/metrics.csv").open() as handle:
        metrics = list(csv.DictReader(handle))
    assert len(metrics) == 4 * 2  # variants x modes, one benchmark
    assert all(row["benchmark"] == "gsm8k_test" for row in metrics)
