"""The CPU rules' scheduler requests: grown by the traces (or the model) a job reads."""

from __future__ import annotations

from compress_distill.resources import (
    copy_request,
    minutes,
    problemset_size,
    scaled_request,
    shard_traces,
    teacher_traces,
)

SPEC = {"cpus": 1, "mem_mb": 2000, "runtime": 10, "mem_mb_per_1k_traces": 20.0,
        "runtime_per_1k_traces": 0.5}  # fmt: skip
CONFIG = {
    "problemsets": {"pool": {"kind": "hf", "limit": 405000}, "open": {"kind": "hf"}},
    "teachers": {
        "a": {"problemset": "pool", "samples": 2, "shards": 40},
        "b": {"problemset": "open", "samples": 1, "shards": 4},
    },
}


def test_requests_grow_by_the_thousand_traces_and_round_up() -> None:
    assert scaled_request(SPEC, 0) == {"mem_mb": 2000, "runtime": 10}
    assert scaled_request(SPEC, 280_000) == {"mem_mb": 2000 + 20 * 280, "runtime": 10 + 140}
    assert scaled_request(SPEC, 1) == {"mem_mb": 2001, "runtime": 11}  # ceil: never under


def test_traces_of_a_teacher_and_of_its_largest_shard() -> None:
    assert problemset_size(CONFIG, "pool") == 405_000
    assert teacher_traces(CONFIG, "a") == 810_000
    assert shard_traces(CONFIG, "a") == 20_250
    # A set whose size only its source knows: the base request.
    assert (problemset_size(CONFIG, "open"), shard_traces(CONFIG, "b")) == (0, 0)


def test_a_checkpoint_copy_holds_four_bytes_a_parameter() -> None:
    assert copy_request(SPEC, 9e9) == {"mem_mb": 2000 + 34333, "runtime": 10}  # 36e9 B in MiB
    assert copy_request(SPEC, 0) == {"mem_mb": 2000, "runtime": 10}


def test_a_config_entrys_own_request_grown_by_the_rules_terms() -> None:
    entry = {"cpus": 1, "mem_mb": 4000, "runtime": "2h"}
    assert scaled_request(SPEC, 10_000, base=entry) == {"mem_mb": 4200, "runtime": 125}
    assert [minutes(r) for r in ("90s", "30m", "2h", "1d", 45)] == [1.5, 30, 120, 1440, 45]
