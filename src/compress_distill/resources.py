"""What the CPU rules' jobs ask a scheduler for: the config's `resources.<rule>` request, grown by
the traces the job reads (the GPU rules take theirs from their config entries' `resources`).

    mem_mb  = mem_mb  + mem_mb_per_1k_traces  x traces / 1000
    runtime = runtime + runtime_per_1k_traces x traces / 1000     (minutes)

A pretrained student's base_model job (a copy of its checkpoint) grows with the model instead:
mem_mb + parameters x 4 B (the checkpoint loads in its own dtype: float32 at most).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

RUNTIME_UNITS = {"s": 1 / 60, "m": 1, "h": 60, "d": 24 * 60}


def minutes(runtime: int | float | str) -> float:
    """A runtime in minutes: a number already is; a config entry's string has a unit (30m, 2h)."""
    if isinstance(runtime, int | float):
        return float(runtime)
    return float(runtime[:-1]) * RUNTIME_UNITS[runtime[-1]]


def scaled_request(
    spec: Mapping[str, Any], traces: float, base: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """A rule's request (config `resources.<rule>`) for a job that reads `traces` traces; with
    `base` (a config entry's own resources), its mem_mb and runtime grown by the rule's terms."""
    base = spec if base is None else base
    thousands = traces / 1000
    return {
        "mem_mb": math.ceil(base["mem_mb"] + spec["mem_mb_per_1k_traces"] * thousands),
        "runtime": math.ceil(minutes(base["runtime"]) + spec["runtime_per_1k_traces"] * thousands),
    }


COPY_BYTES_PER_PARAMETER = 4


def copy_request(spec: Mapping[str, Any], parameters: float) -> dict[str, int]:
    """The request (config `resources.base_model`) of a job that loads a checkpoint of
    `parameters` weights to save it again (0 where the size is unknown)."""
    held = parameters * COPY_BYTES_PER_PARAMETER / 2**20
    return {"mem_mb": math.ceil(spec["mem_mb"] + held), "runtime": spec["runtime"]}


def problemset_size(config: Mapping[str, Any], name: str) -> int:
    """Problems of a problem set as far as the config says (`size`, or `limit`); 0 when only the
    source knows (an hf or jsonl set without a limit): its jobs then ask for the base request."""
    spec = config["problemsets"][name]
    return int(spec.get("size") or spec.get("limit") or 0)


def teacher_traces(config: Mapping[str, Any], teacher: str) -> int:
    """Traces a teacher writes: its problems times its samples (an upper bound of the verified)."""
    entry = config["teachers"][teacher]
    return problemset_size(config, entry["problemset"]) * entry["samples"]


def shard_traces(config: Mapping[str, Any], teacher: str) -> int:
    """Traces in one of a teacher's shards (the largest, as generation splits them)."""
    return math.ceil(teacher_traces(config, teacher) / config["teachers"][teacher]["shards"])
