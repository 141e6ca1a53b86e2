"""The anatomy of a trace: a reasoning model's reasoning apart from its final response.

Parsed with the field's own tools, never with hand-written patterns:

- `<think>` models (Qwen3, Qwen3.5, QwQ, DeepSeek-R1): vLLM's reasoning parsers
  (`vllm.reasoning.ReasoningParserManager`), on the decoded text and the model's tokenizer, exactly
  as vLLM's OpenAI server splits `reasoning_content` from `content`. They work on text, so the
  transformers engine uses them too.
- gpt-oss: the harmony library (`openai_harmony`) on the generated token ids; the analysis channel
  is the reasoning, the final channel the response.

The format is the engine argument `reasoning_parser` (config: `engine_args.reasoning_parser`):
one of REASONING_FORMATS, or "auto" (the teachers' default, see generation.teacher_engine_args):
inferred from the model's name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

REASONING_FORMATS = ("qwen3", "deepseek_r1", "harmony", "none")
SETTING = "engine_args.reasoning_parser"
# Chat-template options that only reasoning models read: naming one says the format is needed.
_THINKING_OPTIONS = ("enable_thinking", "reasoning_effort", "thinking")


def infer_reasoning_format(model: str) -> str | None:
    """The format a model's name implies, or None. Qwen3's Instruct-2507 models do not think."""
    name = model.lower()
    if "gpt-oss" in name:
        return "harmony"
    if "deepseek-r1" in name:
        return "deepseek_r1"
    if "qwq" in name or ("qwen3" in name and "instruct-2507" not in name):
        return "qwen3"
    return None


class TraceSplitter:
    """Splits one generation into (reasoning, response). This base keeps the text whole.

    `name` is recorded on every completion as its reasoning_parser. `skip_special_tokens` is how
    the engine decodes the text it passes to split().
    """

    name = "none"
    skip_special_tokens = True

    def __init__(self, unresolved_model: str | None = None) -> None:
        # Set when "auto" found no format for this model: a prompt that opens a reasoning block
        # then shows that one was needed (check_prompts).
        self._unresolved_model = unresolved_model

    def split(
        self, text: str, token_ids: Sequence[int], prompt_ids: Sequence[int] = ()
    ) -> tuple[str | None, str]:
        """(reasoning or None, response) of a generation, given as text and as token ids."""
        return None, text

    def check_prompts(self, prompts: Sequence[str]) -> None:
        """Fail when the chat template opens a <think> block but no format was found for it."""
        if self._unresolved_model is None:
            return
        if any(prompt.rstrip().endswith("<think>") for prompt in prompts):
            raise ValueError(
                f"the chat template of model {self._unresolved_model!r} opens <think> in the "
                "prompt, so its completions start inside the reasoning, and the reasoning format "
                f"cannot be inferred from the model's name: set {SETTING} to one of "
                f"{', '.join(REASONING_FORMATS)}"
            )


class ThinkSplitter(TraceSplitter):
    """`<think>...</think>` with vLLM's reasoning parser of that name.

    The text keeps special tokens (as vLLM's server decodes for these parsers), so that think tags a
    tokenizer marks as special survive decoding. A prompt whose template already closed the
    reasoning block (a thinking-off template) makes the whole completion the response: the same
    check vLLM's server does when it streams (the parser's is_reasoning_end on the prompt).
    """

    skip_special_tokens = False

    def __init__(
        self, name: str, tokenizer: Any, chat_template_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__()
        from vllm.reasoning import ReasoningParserManager

        self.name = name
        parser_cls = ReasoningParserManager.get_reasoning_parser(name)
        try:
            self._parser = parser_cls(
                tokenizer, chat_template_kwargs=dict(chat_template_kwargs or {})
            )
        except RuntimeError as err:  # the tokenizer lacks the think tokens
            raise ValueError(f"{SETTING} {name!r} does not fit this model: {err}") from None

    def split(
        self, text: str, token_ids: Sequence[int], prompt_ids: Sequence[int] = ()
    ) -> tuple[str | None, str]:
        if prompt_ids and self._parser.is_reasoning_end(list(prompt_ids)):
            return None, text
        # The request argument is unused by these parsers' non-streaming path.
        reasoning, content = self._parser.extract_reasoning(text, None)
        return reasoning, content or ""


class HarmonySplitter(TraceSplitter):
    """gpt-oss's harmony format, parsed from the generated token ids."""

    name = "harmony"

    def split(
        self, text: str, token_ids: Sequence[int], prompt_ids: Sequence[int] = ()
    ) -> tuple[str | None, str]:
        return parse_harmony(token_ids)


@functools.cache
def _harmony_encoding() -> Any:
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def parse_harmony(token_ids: Sequence[int]) -> tuple[str | None, str]:
    """(reasoning, response) of a gpt-oss completion's token ids (what follows the prompt's
    `<|start|>assistant`): the final channel is the response, the other channels (analysis, and
    commentary where there is any) are the reasoning, in order. A completion cut off in a message
    header (max_tokens) keeps the messages before it and the content it had reached."""
    from openai_harmony import HarmonyError, Role, StreamableParser

    encoding = _harmony_encoding()
    tokens = list(token_ids)
    try:
        messages = encoding.parse_messages_from_completion_tokens(tokens, Role.ASSISTANT)
        parts = [(m.channel, _message_text(m)) for m in messages]
    except HarmonyError:
        parser = StreamableParser(encoding, Role.ASSISTANT, strict=False)
        for token in tokens:
            parser.process(token)
        parts = [(m.channel, _message_text(m)) for m in parser.messages]
        if parser.current_content:
            parts.append((parser.current_channel, parser.current_content))
    reasoning = [text for channel, text in parts if channel not in (None, "final")]
    response = [text for channel, text in parts if channel in (None, "final")]
    return ("\n\n".join(reasoning) if reasoning else None), "\n\n".join(response)


def _message_text(message: Any) -> str:
    return "".join(getattr(part, "text", "") for part in message.content)


def make_splitter(
    setting: str | None,
    model: str,
    tokenizer: Any,
    chat_template_kwargs: Mapping[str, Any] | None = None,
) -> TraceSplitter:
    """The splitter for engine_args.reasoning_parser (None or "none": keep the text whole)."""
    name = resolve_reasoning_format(setting, model, chat_template_kwargs)
    if name == "harmony":
        return HarmonySplitter()
    if name != "none":
        return ThinkSplitter(name, tokenizer, chat_template_kwargs)
    return TraceSplitter(unresolved_model=model if setting == "auto" else None)


def check_setting(setting: str | None) -> None:
    """Fail on a value that is neither "auto", a format of REASONING_FORMATS nor None."""
    if setting is not None and setting not in ("auto", *REASONING_FORMATS):
        raise ValueError(
            f"unknown {SETTING} {setting!r}; known: auto, {', '.join(REASONING_FORMATS)}"
        )


def resolve_reasoning_format(
    setting: str | None, model: str, chat_template_kwargs: Mapping[str, Any] | None = None
) -> str:
    """A format of REASONING_FORMATS for the setting: "auto" infers it from the model's name and
    falls back to "none", unless a chat-template option shows that the model reasons."""
    check_setting(setting)
    if setting is None:
        return "none"
    if setting != "auto":
        return setting
    inferred = infer_reasoning_format(model)
    if inferred is not None:
        return inferred
    options = sorted(set(chat_template_kwargs or {}) & set(_THINKING_OPTIONS))
    if options:
        raise ValueError(
            f"chat_template_kwargs {options} are for a reasoning model, but the reasoning format "
            f"of model {model!r} cannot be inferred from its name: set {SETTING} to one of "
            f"{', '.join(REASONING_FORMATS)}"
        )
    return "none"
