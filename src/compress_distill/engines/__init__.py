"""Generation engines behind one interface (see base.Engine)."""

from __future__ import annotations

from typing import Any

from compress_distill.engines.base import Completion, Engine, Request, SamplingSettings

# Engines that write completions; "imported" reads existing traces from the problem records.
GENERATING_ENGINES = ("scripted", "vllm", "openai", "transformers")
ENGINES = (*GENERATING_ENGINES, "imported")


def make_engine(
    engine: str, model: str | None, engine_args: dict[str, Any] | None = None
) -> Engine:
    """Build the named engine. Imports are lazy: vLLM and torch load only where they are used."""
    args = dict(engine_args or {})
    if engine == "scripted":
        from compress_distill.engines.scripted import ScriptedEngine

        return ScriptedEngine(model=model or "scripted", **args)
    if engine == "vllm":
        from compress_distill.engines.vllm_engine import VLLMEngine

        return VLLMEngine(model=_require_model(engine, model), **args)
    if engine == "openai":
        from compress_distill.engines.openai_engine import OpenAIEngine

        return OpenAIEngine(model=_require_model(engine, model), **args)
    if engine == "imported":
        from compress_distill.engines.imported import ImportedEngine

        return ImportedEngine(model=model or "imported", **args)
    if engine == "transformers":
        from compress_distill.engines.hf_engine import TransformersEngine

        return TransformersEngine(model=_require_model(engine, model), **args)
    raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")


def _require_model(engine: str, model: str | None) -> str:
    if not model:
        raise ValueError(f"engine {engine!r} needs a model (a local folder or a hub id)")
    return model


__all__ = [
    "ENGINES",
    "GENERATING_ENGINES",
    "Completion",
    "Engine",
    "Request",
    "SamplingSettings",
    "make_engine",
]
