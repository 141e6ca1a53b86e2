"""LLM compression (the paper's method): an instruction-tuned model rewrites a trace in one call."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from compress_distill.compression.base import Compressor, check_batch
from compress_distill.engines import Engine, Request, SamplingSettings, make_engine

_PLACEHOLDER_RE = re.compile(r"\{(question|trace|reasoning|answer)\}")
_THINK_BLOCK_RE = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE_RE = re.compile(r"^```[\w-]*[ \t]*\n(.*?)\n?```$", re.DOTALL)


def fill_prompt(template: str, question: str, trace: str, answer: str = "") -> str:
    """The template with `{question}`, the text to compress as `{trace}` or `{reasoning}` (the
    same text: a row's reasoning, or its whole completion where it has none) and `{answer}` (the
    teacher's final answer, which the compressed text must keep)."""
    # Not str.format: templates and traces are full of LaTeX braces such as \boxed{}. One pass, so
    # a "{trace}" written inside a question is left as it is.
    values = {"question": question, "trace": trace, "reasoning": trace, "answer": answer}
    return _PLACEHOLDER_RE.sub(lambda match: values[match.group(1)], template)


def parse_output(text: object) -> str:
    """The compressed trace in a model's reply; "" when there is none.

    A reasoning compressor's own thinking is not the compressed trace: a closed <think> block is
    removed, and a reply still inside one (cut off before </think>, or one whose opening tag was
    in the prompt) keeps only what follows the last </think>, if anything. A reply wrapped whole
    in a code fence is unwrapped.
    """
    if not isinstance(text, str):
        return ""
    text = _THINK_BLOCK_RE.sub("", text)
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    elif "<think>" in text:
        return ""
    text = text.strip()
    if fenced := _FENCE_RE.match(text):
        text = fenced.group(1).strip()
    return text


class LLMCompressor(Compressor):
    kind = "llm"

    def __init__(
        self,
        engine: str,
        model: str,
        prompt: str,
        engine_args: dict[str, Any] | None = None,
        sampling: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name)
        if "{trace}" not in prompt and "{reasoning}" not in prompt:
            raise ValueError("the compression prompt has no {reasoning} (or {trace}) placeholder")
        self.engine_name = engine
        self.model = model
        self.prompt = prompt
        self.engine_args = dict(engine_args or {})
        self.sampling = SamplingSettings.from_config(sampling)
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """Started on first use: a compressor built only for its info() starts no model."""
        if self._engine is None:
            self._engine = make_engine(self.engine_name, self.model, self.engine_args)
        return self._engine

    def requests(self, traces: Sequence[str], contexts: Sequence[dict[str, Any]]) -> list[Request]:
        check_batch(traces, contexts)
        return [
            Request(
                messages=[
                    {
                        "role": "user",
                        "content": fill_prompt(
                            self.prompt,
                            str(context.get("question", "")),
                            trace,
                            str(context.get("extracted_answer") or ""),
                        ),
                    }
                ],
                context=dict(context),
            )
            for trace, context in zip(traces, contexts, strict=True)
        ]

    def compress(self, traces: Sequence[str], contexts: Sequence[dict[str, Any]]) -> list[str]:
        requests = self.requests(traces, contexts)
        if not requests:
            return []
        completions = self.engine.generate(requests, self.sampling)
        return [parse_output(completion.text) for completion in completions]

    def settings(self) -> dict[str, Any]:
        return {
            "engine": self.engine_name,
            "model": self.model,
            "engine_args": self.engine_args,
            "sampling": self.sampling.as_dict(),
            "prompt_sha256": hashlib.sha256(self.prompt.encode("utf-8")).hexdigest(),
        }

    def info(self) -> dict[str, Any]:
        # The engine's version is known once it has started; a compressor that never ran has none.
        engine_info = {"engine_info": self._engine.info()} if self._engine is not None else {}
        return super().info() | engine_info

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
