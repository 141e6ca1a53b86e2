"""Imported traces: a teacher whose traces already exist.

Most studies start from published traces (OpenR1-Math, OpenThoughts, GSM8K's worked solutions, an
earlier run of this workflow) rather than generating new ones. Such a teacher's problem set is the
trace data set itself, loaded like any problem set (a local JSONL file or a Hugging Face dataset):
the loader keeps every field of a record, so this engine only maps fields to the trace's parts. The
rows it yields go through verification, compression, training and evaluation like generated ones.

    engine: imported
    engine_args: {reasoning_field: solution, split: gsm8k}            # GSM8K's worked solutions
    engine_args: {reasoning_field: reasoning, response_field: answer}  # two fields
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from compress_distill import __version__
from compress_distill.engines.base import Completion, Engine, Request, SamplingSettings
from compress_distill.io import InputError

# How one field holding the whole trace divides into reasoning and response.
SPLITS = ("gsm8k",)
# GSM8K's calculator annotations (`<<16-3-4=9>>`): the tool calls of its annotators, not prose.
_CALCULATOR_RE = re.compile(r"<<[^<>]*>>")


def split_gsm8k(solution: str) -> tuple[str, str]:
    """(reasoning, response) of a GSM8K worked solution: the steps, and its `#### <answer>` line."""
    steps, marker, answer = solution.rpartition("####")
    if not marker:
        raise ValueError("a GSM8K solution ends with a '#### <answer>' line; this one has none")
    return _CALCULATOR_RE.sub("", steps).strip(), f"#### {answer.strip()}"


class ImportedEngine(Engine):
    """Reads each request's trace from its problem record (Request.context); generates nothing."""

    name = "imported"

    def __init__(
        self,
        model: str = "imported",
        reasoning_field: str = "reasoning",
        response_field: str | None = None,
        split: str | None = None,
    ) -> None:
        if (response_field is None) == (split is None):
            raise ValueError(
                "engine_args of an imported teacher: give response_field (the final response's "
                f"field) or split (one of {', '.join(SPLITS)}: how {reasoning_field!r} divides)"
            )
        if split is not None and split not in SPLITS:
            raise ValueError(f"engine_args.split: unknown split {split!r}; known: {SPLITS}")
        self.model = model
        self.reasoning_field = reasoning_field
        self.response_field = response_field
        self.split = split

    def _field(self, record: dict[str, Any], field: str) -> str:
        value = record.get(field)
        if not isinstance(value, str):
            raise InputError(
                f"problem {record.get('id')!r}: imported trace field {field!r} is "
                f"{'missing' if value is None else type(value).__name__}, not text"
            )
        return value

    def _trace(self, record: dict[str, Any]) -> tuple[str, str]:
        reasoning = self._field(record, self.reasoning_field)
        if self.response_field is not None:
            return reasoning.strip(), self._field(record, self.response_field).strip()
        try:
            return split_gsm8k(reasoning)
        except ValueError as err:
            raise InputError(f"problem {record.get('id')!r}: {err}") from None

    def generate(self, requests: Sequence[Request], sampling: SamplingSettings) -> list[Completion]:
        completions = []
        for request in requests:
            if request.sample_index:
                raise ValueError("an imported teacher has one trace per problem: set samples: 1")
            reasoning, response = self._trace(request.context)
            completions.append(
                Completion(
                    text=response,
                    reasoning=reasoning,
                    reasoning_parser=f"imported:{self.split or self.response_field}",
                    # Counted in no tokenizer: the source did not record its tokens.
                    output_tokens=None,
                    finish_reason="stop",
                )
            )
        return completions

    def info(self) -> dict[str, str]:
        return {"engine": self.name, "model": self.model, "engine_version": __version__}
