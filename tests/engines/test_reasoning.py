"""Reasoning apart from the response (engines/reasoning.py), with the field's own tools:

- gpt-oss: a conversation rendered by the harmony library itself, parsed back from its tokens.
- `<think>`: vLLM's reasoning parsers on the Qwen-like tiny tokenizer (real Qwen3.5 template), on
  scripted model outputs, and through the transformers engine (slow: vLLM's import takes ~10 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from compress_distill.engines import Request, SamplingSettings, make_engine
from compress_distill.engines.reasoning import (
    SETTING,
    infer_reasoning_format,
    make_splitter,
    parse_harmony,
    resolve_reasoning_format,
)

from .conftest import requests

# --- gpt-oss: harmony -------------------------------------------------------------------------

ANALYSIS = "The user asks 17 + 25. 7 + 5 = 12, write 2 carry 1; 1 + 2 + 1 = 4. So 42."
FINAL = "17 + 25 = 42.\n\n\\boxed{42}"


def _harmony_completion(*assistant: tuple[str, str]) -> list[int]:
    """The completion tokens of a gpt-oss conversation, rendered by the harmony library: the whole
    conversation's tokens after those of its prompt (which ends `<|start|>assistant`)."""
    from openai_harmony import (
        Conversation,
        HarmonyEncodingName,
        Message,
        ReasoningEffort,
        RenderConversationConfig,
        Role,
        SystemContent,
        load_harmony_encoding,
    )

    encoding = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    system = SystemContent.new().with_reasoning_effort(ReasoningEffort.HIGH)
    prompt = [
        Message.from_role_and_content(Role.SYSTEM, system),
        Message.from_role_and_content(Role.USER, "What is 17 + 25?"),
    ]
    answer = [
        Message.from_role_and_content(Role.ASSISTANT, text).with_channel(channel)
        for channel, text in assistant
    ]
    prompt_ids = encoding.render_conversation_for_completion(
        Conversation.from_messages(prompt), Role.ASSISTANT
    )
    # Kept whole: by default a rendered conversation drops the analysis before a final message.
    full = encoding.render_conversation(
        Conversation.from_messages(prompt + answer),
        RenderConversationConfig(auto_drop_analysis=False),
    )
    assert full[: len(prompt_ids)] == prompt_ids
    return full[len(prompt_ids) :]


def test_harmony_analysis_is_reasoning_final_is_response() -> None:
    tokens = _harmony_completion(("analysis", ANALYSIS), ("final", FINAL))
    assert parse_harmony(tokens) == (ANALYSIS, FINAL)
    splitter = make_splitter("harmony", "any", tokenizer=None)
    assert splitter.name == "harmony"
    # The text is not read: harmony parses the token ids (vLLM's text drops the special tokens).
    assert splitter.split("analysisThe user asks...assistantfinal...", tokens) == (ANALYSIS, FINAL)


def test_harmony_cut_off_by_max_tokens() -> None:
    tokens = _harmony_completion(("analysis", ANALYSIS), ("final", FINAL))
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    encoding = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    header_end = tokens.index(encoding.encode("<|message|>", allowed_special="all")[0])
    # Inside the analysis: what it had written is the reasoning, no response.
    reasoning, response = parse_harmony(tokens[: header_end + 4])
    assert reasoning and ANALYSIS.startswith(reasoning) and response == ""
    # Inside the final message's header: the analysis survives.
    final_start = tokens.index(encoding.encode("<|start|>", allowed_special="all")[0])
    assert parse_harmony(tokens[: final_start + 3]) == (ANALYSIS, "")
    # A final message only: no reasoning.
    assert parse_harmony(_harmony_completion(("final", FINAL))) == (None, FINAL)


# --- which format --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-oss-120b", "harmony"),
        ("Qwen/Qwen3.5-397B-A17B", "qwen3"),
        ("/scratch/models/Qwen3-8B", "qwen3"),
        ("Qwen/QwQ-32B", "qwen3"),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "deepseek_r1"),
        ("Qwen/Qwen3-30B-A3B-Instruct-2507", None),  # does not think
        ("meta-llama/Llama-3.3-70B-Instruct", None),
    ],
)
def test_format_inferred_from_model_name(model: str, expected: str | None) -> None:
    assert infer_reasoning_format(model) == expected
    assert resolve_reasoning_format("auto", model) == (expected or "none")
    assert resolve_reasoning_format(None, model) == "none"  # not asked for: text kept whole


def test_format_errors_name_the_config_key() -> None:
    with pytest.raises(ValueError, match=f"unknown {SETTING} 'qwen'"):
        resolve_reasoning_format("qwen", "m")
    with pytest.raises(ValueError, match=f"cannot be inferred.*set {SETTING}"):
        resolve_reasoning_format("auto", "/models/teacher", {"enable_thinking": True})
    named = resolve_reasoning_format("qwen3", "/models/teacher", {"enable_thinking": True})
    assert named == "qwen3"


def test_scripted_engine_takes_auto_or_none() -> None:
    make_engine("scripted", None, {"reasoning_parser": "auto"})
    with pytest.raises(ValueError, match="plain text"):
        make_engine("scripted", None, {"reasoning_parser": "qwen3"})


# --- <think>: vLLM's parsers on the Qwen-like tokenizer -----------------------------------------


def _tokenizer(model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


THOUGHT = "17 + 25: ones 7 + 5 = 12, carry 1; tens 1 + 2 + 1 = 4. So 42."
ANSWER = "The answer is \\boxed{42}."


@pytest.mark.slow
def test_think_parser_on_scripted_outputs(qwen_like_dir: Path) -> None:
    tokenizer = _tokenizer(qwen_like_dir)
    messages = [{"role": "user", "content": "What is 17 + 25?"}]
    on = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert on.endswith("<think>\n")  # the completion starts inside the reasoning
    qwen3 = make_splitter("qwen3", str(qwen_like_dir), tokenizer)
    assert (qwen3.name, qwen3.skip_special_tokens) == ("qwen3", False)
    output = f"{THOUGHT}\n</think>\n\n{ANSWER}"
    prompt_ids = tokenizer(on, add_special_tokens=False)["input_ids"]
    ids = tokenizer(output, add_special_tokens=False)["input_ids"]
    assert qwen3.split(output, ids, prompt_ids) == (f"{THOUGHT}\n", f"\n\n{ANSWER}")
    # Cut off by max_tokens inside the reasoning: all reasoning, no response.
    assert qwen3.split(THOUGHT, ids, prompt_ids) == (THOUGHT, "")
    # DeepSeek-R1's parser splits the same way.
    r1 = make_splitter("auto", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", tokenizer)
    assert r1.name == "deepseek_r1"
    assert r1.split(output, ids, prompt_ids) == (f"{THOUGHT}\n", f"\n\n{ANSWER}")

    # Thinking off: the template closes an empty think block; the output is all response.
    off = tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
    )
    assert off.endswith("<think>\n\n</think>\n\n")
    told = make_splitter("qwen3", "m", tokenizer, {"enable_thinking": False})
    assert told.split(ANSWER, ids) == (None, ANSWER)
    # The same when the option is not passed to the parser: the prompt already closed the block.
    off_ids = tokenizer(off, add_special_tokens=False)["input_ids"]
    assert qwen3.split(ANSWER, ids, off_ids) == (None, ANSWER)


@pytest.mark.slow
def test_transformers_engine_splits_with_the_parser(qwen_like_dir: Path) -> None:
    sampling = SamplingSettings(temperature=1.0, max_tokens=64, seed=3)
    prompts = [f"What is {i} + {3 * i}?" for i in range(16)]
    with make_engine(
        "transformers", str(qwen_like_dir), {"batch_size": 8, "reasoning_parser": "qwen3"}
    ) as engine:
        completions = engine.generate(requests(prompts), sampling)
    assert all(c.reasoning_parser == "qwen3" for c in completions)
    assert all("</think>" not in c.text for c in completions)
    # Random weights write </think> now and then: some completions have both parts.
    assert any(c.reasoning and c.text for c in completions)
    assert any(c.text == "" and c.reasoning for c in completions)  # still thinking at the end

    off = make_engine(
        "transformers",
        str(qwen_like_dir),
        {"reasoning_parser": "qwen3", "chat_template_kwargs": {"enable_thinking": False}},
    )
    with off:
        assert all(c.reasoning is None for c in off.generate(requests(prompts[:4]), sampling))


@pytest.mark.slow
def test_auto_fails_when_the_template_opens_think(qwen_like_dir: Path) -> None:
    # The folder's name says nothing of Qwen: "auto" finds no format, and the prompt shows one is
    # needed (a completion would carry a dangling </think>).
    engine = make_engine("transformers", str(qwen_like_dir), {"reasoning_parser": "auto"})
    with engine, pytest.raises(ValueError, match=f"opens <think>.*set {SETTING}"):
        engine.generate([Request([{"role": "user", "content": "hi"}])], SamplingSettings())
