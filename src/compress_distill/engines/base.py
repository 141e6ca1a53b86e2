"""One interface for every generation engine: teachers, LLM compressors and evaluation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class SamplingSettings:
    """Sampling shared by all engines. temperature 0 means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int = 1024
    seed: int = 0
    stop: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, entry: dict[str, Any] | None) -> SamplingSettings:
        entry = dict(entry or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(entry) - known)
        if unknown:
            raise ValueError(f"unknown sampling setting(s) {unknown}; known: {sorted(known)}")
        if "stop" in entry:
            entry["stop"] = tuple(entry["stop"])
        return cls(**entry)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"stop": list(self.stop)}


@dataclass(frozen=True)
class Request:
    """One generation: chat messages, plus the source record for engines that read its structure."""

    messages: Messages
    context: dict[str, Any] = field(default_factory=dict)
    # Distinguishes the samples of one prompt; engines that seed per request use it.
    sample_index: int = 0


@dataclass(frozen=True)
class Completion:
    """One generation, its reasoning apart from its final response (see engines/reasoning.py).

    text: the final response (the whole text where nothing split reasoning out).
    reasoning: the model's reasoning; None where the engine did not split any out.
    reasoning_parser: what split it: "harmony", a vLLM parser name ("qwen3", "deepseek_r1"),
    "openai-server" (the server's --reasoning-parser) or "none".
    output_tokens: generated tokens, reasoning included; prompt_tokens: None where unknown.
    """

    text: str
    output_tokens: int | None  # None where unknown (imported traces)
    finish_reason: str  # "stop" (ended on its own or on a stop string) or "length" (hit max_tokens)
    reasoning: str | None = None
    reasoning_parser: str = "none"
    prompt_tokens: int | None = None


class Engine(ABC):
    """generate(requests, sampling) -> one completion per request, in request order."""

    name: ClassVar[str]

    @abstractmethod
    def generate(self, requests: Sequence[Request], sampling: SamplingSettings) -> list[Completion]:
        """Generate one completion per request, in order."""

    @abstractmethod
    def info(self) -> dict[str, str]:
        """What made the completions: engine name, model, engine version (recorded on every row)."""

    def close(self) -> None:  # noqa: B027 - engines without resources need nothing here
        """Release processes, GPU memory or connections."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
