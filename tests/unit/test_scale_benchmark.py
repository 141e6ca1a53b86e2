"""The scale benchmark's harness (benchmarks/scale.py) at a tiny size: a stage runs in its own
process and reports its time and memory; growth fits and the paper extrapolation compute what their
formulas say. The whole section runs in tests/workflow/test_benchmarks.py (slow)."""

from __future__ import annotations

import pytest

from benchmarks import scale
from benchmarks.common import load_config


def test_fit_power_recovers_the_exponent():
    ns = [100, 400, 1600]
    a, b = scale.fit_power(ns, [3.0 * n**1.5 for n in ns])
    assert a == pytest.approx(3.0) and b == pytest.approx(1.5)
    flat = scale.growth(
        [{"n": n, "seconds": 2.0, "peak_mib": 70.0, "baseline_mib": 70} for n in ns]
    )
    assert flat["time_b"] == pytest.approx(0.0) and flat["memory_b"] == pytest.approx(0.0)


def test_extrapolation_follows_its_formula():
    # Every stage 1 ms per trace, linear; memory flat at 1 MiB above a 100 MiB baseline.
    fits = {
        name: {"time_a": 1e-3, "time_b": 1.0, "memory_a": 1.0, "memory_b": 0.0}
        for name in scale.STAGES
    }
    x = scale.extrapolate(fits, dict.fromkeys(scale.STAGES, 100.0))
    p = scale.PAPER
    verify = p["teachers"] * p["generated"] * 1e-3 / p["node_cores"]  # 80 shards fill the node
    # One counting job: 16 workers share the 12 sets' examples.
    tokens = 12 * p["regime"] * 1e-3 / 16
    assert x["phase_seconds"][0] == pytest.approx(verify)
    # 8 sets and 4 truncations x 4 workers: each set at raw speed is the longest job.
    assert x["phase_seconds"][1] == pytest.approx(p["regime"] * 1e-3)
    assert x["phase_seconds"][2] == pytest.approx(tokens)
    assert x["seconds"] == pytest.approx(sum(x["phase_seconds"]))
    assert all(job["peak_mib_per_job"] == pytest.approx(101.0) for job in x["jobs"].values())
    rows = scale.goals(x and {"fits": fits, "extrapolation": x}, lambda *r: list(r))
    assert [r[2] for r in rows] == [True, True, x["seconds"] <= 3600]


def test_the_paper_constants_are_the_paper_configs():
    config = load_config(scale.PAPER_CONFIG)
    students = config["students"].values()
    counting = [s for s in students if "same_tokenizer_as" not in s]
    assert scale.PAPER["counting_students"] == len(counting)
    workers = config["resources"]["training_set_tokens"]["cpus"]
    assert scale.PAPER["token_count_workers"] == workers
    assert scale.PAPER["truncation_workers"] == config["resources"]["training_set"]["cpus"]
    assert scale.PAPER["teachers"] == len(config["teachers"])


def test_one_stage_runs_in_its_own_process(tmp_path):
    pytest.importorskip("gguf")
    config = load_config()
    setup = scale.prepare(tmp_path, config, [4], scale.SMOKE_TRACE_ARGS)
    assert setup["grid_cells"] > 0 and (tmp_path / "tokenizer" / "tokenizer.json").is_file()
    point = scale._subprocess("verify", tmp_path, 4)
    assert point["n"] == 4 and point["seconds"] > 0
    assert point["peak_mib"] >= point["baseline_mib"] > 0
    checked = (tmp_path / "checked-4.jsonl").read_text().splitlines()
    assert len(checked) == 4
