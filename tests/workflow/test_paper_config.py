"""The paper's configuration expands to its grid without a cluster (a dry run)."""

import pytest

from .conftest import make_workflow

pytestmark = pytest.mark.slow


def test_paper_grid_dry_run(tmp_path):
    jobs = make_workflow(tmp_path, base="configs/paper.yaml").planned_jobs()
    # 48 main runs (2 teachers x 4 students x 3 variants x 2 modes) + 7 truncation ablations
    assert jobs["train"] == 48 + 7
    assert jobs["evaluate"] == 55 * 3  # three benchmarks
    assert jobs["generate"] == jobs["verify"] == 2 * 40  # shards per teacher
    assert jobs["compress"] == 2 * 2 * 40  # two LLM compressors over every shard
    assert jobs["base_model"] == 4 and jobs["teacher_stats"] == 2
    # raw, 2 compressors, 2 truncations, answer-only; one regime; both teachers
    assert jobs["training_set"] == 2 * 6
