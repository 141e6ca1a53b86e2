"""Compressors, answer preservation, length-matched truncation and shard compression."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from compress_distill.answers import extract_answer
from compress_distill.compression import (
    OUTCOMES,
    Compressor,
    ExtractiveCompressor,
    PruneCompressor,
    answer_only,
    answer_suffix,
    compress_rows,
    make_compressor,
    measure,
    preserve_answer,
    truncate_to_match,
)
from compress_distill.compression.llm import LLMCompressor, fill_prompt, parse_output
from compress_distill.engines import Completion, Engine, Request, SamplingSettings, make_engine
from compress_distill.io import InputError
from compress_distill.tasks.arithmetic import ArithmeticSpec, make_problems

ROOT = Path(__file__).resolve().parents[2]


def _counts(**nonzero: int) -> dict[str, int]:
    """Outcome counts as compress_rows returns them: every outcome, zero unless given."""
    return dict.fromkeys(OUTCOMES, 0) | nonzero


PROBLEMS = make_problems(ArithmeticSpec(), "train", 120, seed=5)
HEDGES = ("Hmm", "Okay, so next", "I should be careful", "Alright", "one digit at a time")


def _verified_rows(style: str, error_rate: float = 0.05) -> list[dict[str, Any]]:
    """Demo teacher traces that end in the right answer, as the verify stage leaves them."""
    engine = make_engine("scripted", None, {"style": style, "error_rate": error_rate, "seed": 4})
    completions = engine.generate([Request([], p) for p in PROBLEMS], SamplingSettings())
    rows = []
    for problem, completion in zip(PROBLEMS, completions, strict=True):
        if extract_answer(completion.text) == problem["answer"]:
            rows.append(
                {
                    "problem_id": problem["id"],
                    "sample_index": 0,
                    "question": problem["question"],
                    "gold": problem["answer"],
                    "completion": completion.text,
                    "extracted_answer": problem["answer"],
                }
            )
    return rows


ROWS = {style: _verified_rows(style, error_rate=0.15) for style in ("verbose", "concise")}


def _step_results(trace: str) -> dict[str, str]:
    """Each step's final result in a demo trace, "a × b = r" by "a × b": a redone step's last one.

    Not the true values: a slip the teacher did not catch can be cancelled by a later one.
    """
    results = re.findall(r"^So (.+) = (-?\d+)\.$", trace, re.MULTILINE)
    return {lhs: f"{lhs} = {value}" for lhs, value in results}


# A reasoning-model trace in DeepSeek-R1's manner: restatement, hedges, a slip that is caught,
# a verification with display math, an alternative approach, and a summary after </think>.
R1_QUESTION = (
    "A store sells pencils at $3 each and notebooks at $7 each. Maya buys 4 pencils and some "
    "notebooks and pays $54 in total. How many notebooks does she buy?"
)
R1_TRACE = r"""<think>
Okay, so I need to figure out how many notebooks Maya buys. The problem says pencils cost $3 each and notebooks cost $7 each, she buys 4 pencils and pays $54 in total.

Hmm, let me think about this carefully. Let n be the number of notebooks.

The pencils cost 4 × 3 = 12 dollars. So the notebooks cost 54 - 12 = 42 dollars.

Then n = 42 / 7 = 5.

Wait, that's wrong. 42 / 7 is 6, not 5. Let me redo this: n = 42 / 7 = 6.

Let me verify this. If she buys 6 notebooks, they cost 6 × 7 = 42, and with the pencils:
\[
42 + 12 = 54
\]
Yes, that matches the total.

Alternatively, I could set up the equation 3 \cdot 4 + 7n = 54 directly, which gives 7n = 42 and n = 6. Same answer.

So Maya buys 6 notebooks.
</think>

The pencils cost $4 \times 3 = 12$ dollars, so the notebooks cost $54 - 12 = 42$ dollars, and $42 / 7 = 6$.

**Final Answer**
\boxed{6}"""  # noqa: E501 - paragraphs are single long lines, as models write them


# --- extractive -----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["verbose", "concise"])
def test_extractive_keeps_every_step_and_the_box_and_drops_the_talk(style: str) -> None:
    rows = ROWS[style]
    outputs = ExtractiveCompressor().compress([r["completion"] for r in rows], rows)
    for row, out in zip(rows, outputs, strict=True):
        for result in _step_results(row["completion"]).values():
            assert result in out
        assert out.endswith(f"\\boxed{{{row['gold']}}}")
        assert extract_answer(out) == row["gold"]
        for talk in ("restate", "double-check", "recap", "slip", "Yes, that matches", *HEDGES):
            assert talk not in out
        assert "ones: " in out or "tens: " in out  # digit-level steps kept by default
    ratio = sum(map(len, outputs)) / sum(len(r["completion"]) for r in rows)
    assert ratio < {"verbose": 0.45, "concise": 0.9}[style]


def test_extractive_keeps_only_the_redone_step_after_a_caught_slip() -> None:
    slipped = [r for r in ROWS["verbose"] if "I made a slip" in r["completion"]]
    assert slipped
    compressor = ExtractiveCompressor()
    for row in slipped:
        out = compressor.compress_one(row["completion"], row["question"])
        final = set(_step_results(row["completion"]).values())
        claimed = re.findall(r"^So (.+ = -?\d+)\.$", row["completion"], re.MULTILINE)
        wrong = [c for c in claimed if c not in final]
        assert wrong  # the slipped result is in the raw trace...
        for result in wrong:
            assert result not in out  # ...and gone from the compressed one
        # The redone lines sit under their step's header, not in a paragraph of their own.
        assert not re.search(r"^Step \d+: [^\n]*\n\n", out, re.MULTILINE)


def test_extractive_can_drop_digit_level_steps() -> None:
    rows = ROWS["verbose"]
    compressor = make_compressor({"kind": "extractive", "keep_digit_steps": False})
    with_digits = ExtractiveCompressor().compress([r["completion"] for r in rows], rows)
    for row, full, out in zip(
        rows, with_digits, compressor.compress([r["completion"] for r in rows], rows), strict=True
    ):
        assert not re.search(r"^(ones|tens|hundreds):|carry", out, re.MULTILINE)
        for result in _step_results(row["completion"]).values():
            assert result in out
        assert extract_answer(out) == row["gold"]
        assert len(out) < len(full)


def test_extractive_on_a_reasoning_model_trace() -> None:
    out = ExtractiveCompressor().compress([R1_TRACE], [{"question": R1_QUESTION}])[0]
    for step in (
        "Let n be the number of notebooks",
        "4 × 3 = 12",
        "54 - 12 = 42",
        "n = 42 / 7 = 6",
    ):
        assert step in out
    for dropped in (
        "The problem says",  # restatement
        "Hmm",  # hedge
        "n = 42 / 7 = 5",  # the slip
        "Let me verify",  # re-verification, with its display math
        "42 + 12 = 54",
        "Alternatively",  # the alternative approach
        "<think>",
    ):
        assert dropped not in out
    assert out.endswith("\\boxed{6}")
    assert len(out) < 0.5 * len(R1_TRACE)


def test_extractive_is_deterministic_and_batch_independent() -> None:
    rows = ROWS["verbose"][:20]
    compressor = ExtractiveCompressor()
    batch = compressor.compress([r["completion"] for r in rows], rows)
    assert batch == compressor.compress([r["completion"] for r in rows], rows)
    assert batch == [compressor.compress([r["completion"]], [r])[0] for r in rows]


def test_extractive_without_a_box_keeps_the_conclusion() -> None:
    trace = "Hmm.\n\nFirst, 6 × 7 = 42.\n\nLet me double-check: 42 / 7 = 6.\n\nSo the answer is 42."
    out = ExtractiveCompressor().compress_one(trace)
    assert out == "6 × 7 = 42.\n\nThe answer is 42."
    assert extract_answer(out) == "42"
    assert ExtractiveCompressor().compress_one("Hmm, I am not sure.") == ""


# --- prune ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", [0.3, 0.5, 0.8])
def test_prune_reaches_its_ratio_and_keeps_the_box(ratio: float) -> None:
    rows = ROWS["verbose"] + ROWS["concise"]
    outputs = PruneCompressor(ratio).compress([r["completion"] for r in rows], rows)
    for row, out in zip(rows, outputs, strict=True):
        words = len(row["completion"].split())
        assert abs(len(out.split()) / words - ratio) <= 1 / words
        assert out.endswith(f"\\boxed{{{row['gold']}}}")
        assert extract_answer(out) == row["gold"]


def test_prune_prefers_numbers_and_math_over_filler() -> None:
    rows = ROWS["verbose"]
    kept = {"number": [0, 0], "filler": [0, 0]}
    for row in rows:
        out = PruneCompressor(0.5).compress_one(row["completion"])
        out_words = out.split()
        for word in set(row["completion"].split()):
            kind = (
                "number" if re.search(r"\d|=", word) else "filler" if word in HEDGE_WORDS else None
            )
            if kind:
                kept[kind][0] += word in out_words
                kept[kind][1] += 1
    assert kept["number"][0] / kept["number"][1] > 0.95
    assert kept["filler"][0] == 0


HEDGE_WORDS = {"Hmm,", "Okay,", "Wait,", "Alright,", "carefully.", "double-check:"}


def test_prune_keeps_line_structure_and_a_multiword_box() -> None:
    trace = "Hmm, so we have\nx = 1 + 2 and then\n\nthe value is \\boxed{\\frac{1}{2} + x} ok"
    out = PruneCompressor(0.5).compress_one(trace)
    assert "\\boxed{\\frac{1}{2} + x}" in out
    assert out.splitlines()[0] == "x = 1 + 2"
    assert PruneCompressor(1.0).compress_one(trace) == trace
    assert PruneCompressor(0.5).compress_one("   ") == ""


def test_prune_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="ratio"):
        PruneCompressor(0)
    with pytest.raises(ValueError, match="scorer kind"):
        PruneCompressor(0.5, {"kind": "oracle"})
    with pytest.raises(ValueError, match="needs 'model'"):
        PruneCompressor(0.5, {"kind": "model"})
    with pytest.raises(ValueError, match="unknown model scorer"):
        PruneCompressor(0.5, {"kind": "model", "model": "x", "temperature": 1})


@pytest.mark.slow
def test_prune_with_a_model_scorer(tiny_model_dir: Path) -> None:
    from compress_distill.compression.prune import SurprisalScorer

    trace = ROWS["concise"][0]["completion"]
    scorer = {"kind": "model", "model": str(tiny_model_dir), "max_length": 128}
    with make_compressor({"kind": "prune", "ratio": 0.5, "scorer": scorer}) as compressor:
        out = compressor.compress([trace], [{}])[0]
        assert out == compressor.compress([trace], [{}])[0]  # deterministic
    words = len(trace.split())
    assert abs(len(out.split()) / words - 0.5) <= 1 / words
    assert extract_answer(out) == ROWS["concise"][0]["gold"]
    # Windows of 128 tokens (the trace has several) score every word, each above zero.
    spans = [m.span() for m in re.finditer(r"\S+", trace)]
    scores = SurprisalScorer(str(tiny_model_dir), max_length=128)(trace, spans)
    assert len(scores) == len(spans) and min(scores) > 0
    assert compressor.info()["settings"]["scorer"]["model"] == str(tiny_model_dir)


# --- llm (mechanics with a stand-in engine; the real vLLM run is in tests/engines) ----------------


class _CannedEngine(Engine):
    """Answers each request with the next canned reply; records the requests it saw."""

    name = "canned"

    def __init__(self, replies: Sequence[Any]) -> None:
        self.replies = list(replies)
        self.seen: list[Request] = []
        self.closed = False

    def generate(self, requests: Sequence[Request], sampling: SamplingSettings) -> list[Completion]:
        self.seen += requests
        return [Completion(self.replies.pop(0), 1, "stop") for _ in requests]

    def info(self) -> dict[str, str]:
        return {"engine": self.name, "model": "canned", "engine_version": "0"}

    def close(self) -> None:
        self.closed = True


def test_llm_compressor_builds_prompts_and_parses_replies(monkeypatch) -> None:
    engine = _CannedEngine(
        [
            "<think>shorter, keep the steps</think>\n\n6 × 7 = 42.\n\\boxed{42}",
            "```\n6 × 7 = 42.\n\\boxed{42}\n```",
            "   ",
            None,
        ]
    )
    made = []
    monkeypatch.setattr(
        "compress_distill.compression.llm.make_engine",
        lambda *args: made.append(args) or engine,
    )
    template = (ROOT / "prompts/compress.txt").read_text(encoding="utf-8")
    compressor = make_compressor(
        {
            "kind": "llm",
            "engine": "vllm",
            "model": "some/model",
            "engine_args": {"dtype": "float32"},
            "prompt": template,
            "sampling": {"max_tokens": 64},
            "answer_policy": "append",  # workflow keys are the caller's, not the compressor's
            "batch_size": 8,
        },
        name="llm_small",
    )
    assert not made  # lazy: no engine until the first batch
    trace = "Hmm. 6 × 7 = 42. Let me verify {x}: yes.\n\n\\boxed{42}"
    outputs = compressor.compress([trace] * 4, [{"question": "What is 6 × 7?"}] * 4)
    assert made == [("vllm", "some/model", {"dtype": "float32"})]
    assert outputs == ["6 × 7 = 42.\n\\boxed{42}", "6 × 7 = 42.\n\\boxed{42}", "", ""]
    prompt = engine.seen[0].messages[0]["content"]
    assert "What is 6 × 7?" in prompt and trace in prompt and "{trace}" not in prompt
    info = compressor.info()
    assert info["name"] == "llm_small" and info["kind"] == "llm"
    assert info["engine_info"]["engine"] == "canned"
    assert len(info["settings"]["prompt_sha256"]) == 64
    compressor.close()
    assert engine.closed


def test_parse_output_and_fill_prompt() -> None:
    assert parse_output("<think>a</think>b<think>c</think> d ") == "b d"
    assert parse_output("still thinking</think>\nx = 1") == "x = 1"  # <think> was in the prompt
    assert parse_output("<think>never closed") == ""
    assert parse_output("```latex\nx = 1\n```") == "x = 1"
    assert parse_output(b"bytes") == ""
    filled = fill_prompt("Q: {question}\nT: {trace}", "Is {trace} a word?", "\\boxed{1}")
    assert filled == "Q: Is {trace} a word?\nT: \\boxed{1}"
    with pytest.raises(ValueError, match="trace"):
        LLMCompressor("vllm", "m", "no placeholder")


def test_make_compressor_kinds_and_errors() -> None:
    assert isinstance(make_compressor({"kind": "extractive"}), ExtractiveCompressor)
    prune = make_compressor({"kind": "prune", "ratio": 0.5, "batch_size": 4, "resources": {}})
    assert prune.info()["settings"] == {"ratio": 0.5, "scorer": {"kind": "heuristic"}}
    assert prune.info()["name"] == "prune"
    with pytest.raises(ValueError, match="unknown compressor kind"):
        make_compressor({"kind": "magic"})


# --- answer preservation --------------------------------------------------------------------------


def test_preserve_answer_outcomes() -> None:
    assert preserve_answer("x = 42.\n\n\\boxed{42}", "42", "drop") == (
        "x = 42.\n\n\\boxed{42}",
        "kept",
    )
    # Equal by Math-Verify, not by text.
    assert preserve_answer("so \\boxed{0.5}", "\\frac{1}{2}", "drop")[1] == "kept"
    assert preserve_answer("x = 41.\n\nThe answer is $\\boxed{41}$.", "42", "append") == (
        "x = 41.\n\nThe answer is\n\n\\boxed{42}",
        "appended",
    )
    assert preserve_answer("x = 42, no box", "42", "append") == (
        "x = 42, no box\n\n\\boxed{42}",
        "appended",
    )
    assert preserve_answer("\\boxed{41} then more", "42", "append")[0] == (
        "\\boxed{41} then more\n\n\\boxed{42}"
    )
    assert preserve_answer("x = 41. \\boxed{41}", "42", "drop") == (None, "dropped")
    for empty in ("", "  \n", None, 17, b"\\boxed{42}"):
        assert preserve_answer(empty, "42", "drop") == (None, "empty")
        assert preserve_answer(empty, "42", "append") == ("\\boxed{42}", "empty")
    with pytest.raises(ValueError, match="answer policy"):
        preserve_answer("\\boxed{42}", "42", "keep")


def test_appended_answers_are_what_extraction_reads() -> None:
    for text in (
        "no answer at all",
        "\\boxed{7}",
        "$\\boxed{\\frac{1}{3}}$.",
        "**Final**\n\\boxed{}",
    ):
        kept, outcome = preserve_answer(text, "\\frac{2}{3}", "append")
        assert outcome == "appended"
        assert extract_answer(kept) == "\\frac{2}{3}"
        assert kept.endswith(answer_suffix("\\frac{2}{3}"))


# --- truncation -----------------------------------------------------------------------------------


def test_truncation_matches_compressed_length_in_chars() -> None:
    rows = ROWS["verbose"] + ROWS["concise"]
    compressed = ExtractiveCompressor().compress([r["completion"] for r in rows], rows)
    for row, short in zip(rows, compressed, strict=True):
        raw, answer = row["completion"], row["gold"]
        text, outcome = truncate_to_match(raw, len(short), answer, "chars")
        assert outcome == "truncated"
        assert len(text) == len(short)
        assert text.endswith(answer_suffix(answer))
        assert raw.startswith(text[: -len(answer_suffix(answer))])
        assert extract_answer(text) == answer


def test_truncation_longer_and_tiny_targets() -> None:
    raw = "Step 1: 6 × 7 = 42.\n\n\\boxed{42}"
    assert truncate_to_match(raw, len(raw), "42") == (raw, "kept_whole")
    assert truncate_to_match(raw, 10 * len(raw), "42") == (raw, "kept_whole")
    assert truncate_to_match(raw, 3, "42") == (answer_only("42"), "answer_only")
    assert truncate_to_match(raw, len(answer_suffix("42")), "42")[1] == "answer_only"
    text, outcome = truncate_to_match(raw, len(answer_suffix("42")) + 1, "42")
    assert (text, outcome) == ("S" + answer_suffix("42"), "truncated")
    assert answer_only("\\frac{1}{2}") == "\\boxed{\\frac{1}{2}}"


def _word_tokenizer(texts: Sequence[str]) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    words = {w for text in texts for w, _ in pre.pre_tokenize_str(text)}
    vocab = {"[UNK]": 0} | {w: i for i, w in enumerate(sorted(words), start=1)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]")


@pytest.mark.parametrize("kind", ["chars", "words"])
def test_truncation_matches_compressed_length_in_tokens(kind: str) -> None:
    from compress_distill.students.tokenizers import build_char_tokenizer

    rows = ROWS["verbose"][:40] + ROWS["concise"][:40]
    compressed = ExtractiveCompressor().compress([r["completion"] for r in rows], rows)
    texts = [r["completion"] for r in rows]
    tokenizer = build_char_tokenizer() if kind == "chars" else _word_tokenizer(texts)
    for row, short in zip(rows, compressed, strict=True):
        target = measure(short, "tokens", tokenizer)
        text, outcome = truncate_to_match(
            row["completion"], target, row["gold"], "tokens", tokenizer
        )
        assert outcome == "truncated"
        assert measure(text, "tokens", tokenizer) == target
        assert text.endswith(answer_suffix(row["gold"]))
        assert row["completion"].startswith(text[: -len(answer_suffix(row["gold"]))])
    raw = rows[0]["completion"]
    assert truncate_to_match(raw, 10**6, "1", "tokens", tokenizer) == (raw, "kept_whole")
    assert truncate_to_match(raw, 2, "1", "tokens", tokenizer) == (answer_only("1"), "answer_only")
    with pytest.raises(ValueError, match="needs a tokenizer"):
        truncate_to_match(raw, 10, "1", "tokens")
    with pytest.raises(ValueError, match="unit"):
        truncate_to_match(raw, 10, "1", "bytes")


# --- shards ---------------------------------------------------------------------------------------


class _Scripted(Compressor):
    """Returns fixed outputs, to exercise every outcome."""

    kind = "scripted-test"

    def __init__(self, outputs: Sequence[Any]) -> None:
        super().__init__()
        self.outputs = list(outputs)

    def compress(self, traces: Sequence[str], contexts: Sequence[dict[str, Any]]) -> list[str]:
        return [self.outputs.pop(0) for _ in traces]

    def settings(self) -> dict[str, Any]:
        return {}


def test_compress_rows_extractive() -> None:
    rows = ROWS["verbose"][:30]
    out, counts = compress_rows(rows, ExtractiveCompressor(), "drop", batch_size=7, progress=False)
    assert counts == _counts(kept=30)
    assert [r["problem_id"] for r in out] == [r["problem_id"] for r in rows]
    for row, src in zip(out, rows, strict=True):
        assert row["answer"] == src["extracted_answer"] and row["gold"] == src["gold"]
        assert row["raw_chars"] == len(src["completion"])
        assert row["compressed_chars"] == len(row["completion"])
        assert row["ratio"] == row["compressed_chars"] / row["raw_chars"] < 1
        assert row["outcome"] == "kept"
        assert row["compressor"]["name"] == "extractive"
    again, _ = compress_rows(rows, ExtractiveCompressor(), "drop", batch_size=64, progress=False)
    assert again == out  # batch size changes nothing


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("append", _counts(kept=2, appended=2, empty=2)),
        ("drop", _counts(kept=2, dropped=2, empty=2)),
    ],
)
def test_compress_rows_outcomes(policy: str, expected: dict[str, int]) -> None:
    rows = ROWS["concise"][:6]
    gold = [r["gold"] for r in rows]
    outputs = [
        f"x\n\n\\boxed{{{gold[0]}}}",
        "",
        f"wrong: \\boxed{{{int(gold[2]) + 1}}}",
        None,
        "no answer",
        f"same value: \\boxed{{{gold[5]}.0}}",  # equal by Math-Verify
    ]
    out, counts = compress_rows(rows, _Scripted(outputs), policy, batch_size=4, progress=False)
    assert counts == expected
    assert all(
        extract_answer(row["completion"]) in (row["answer"], f"{row['answer']}.0") for row in out
    )
    kept_empty = expected["empty"] if policy == "append" else 0
    assert len(out) == expected["kept"] + expected["appended"] + kept_empty


def test_compress_rows_needs_verified_rows() -> None:
    row = dict(ROWS["concise"][0])
    del row["extracted_answer"]
    with pytest.raises(InputError, match="extracted_answer"):
        compress_rows([row], ExtractiveCompressor(), "append", progress=False)
    with pytest.raises(ValueError, match="answer policy"):
        compress_rows([], ExtractiveCompressor(), "keep", progress=False)


# --- reasoning and the final response -------------------------------------------------------------


class _Recording(_Scripted):
    """_Scripted that also records the traces it was given."""

    def __init__(self, outputs: Sequence[Any]) -> None:
        super().__init__(outputs)
        self.seen: list[str] = []

    def compress(self, traces: Sequence[str], contexts: Sequence[dict[str, Any]]) -> list[str]:
        self.seen.extend(traces)
        return super().compress(traces, contexts)


def _reasoning_row(index: int, reasoning: str | None, response: str, **extra: Any) -> dict:
    completion = response if reasoning is None else f"{reasoning.strip()}\n\n{response.strip()}"
    return {
        "problem_id": f"p{index}",
        "sample_index": 0,
        "question": "Maya pays $54 for 4 pencils at $3 and notebooks at $7. How many notebooks?",
        "gold": "6",
        "reasoning": reasoning,
        "response": response,
        "finish_reason": "stop",
        "completion": completion,
        "extracted_answer": "6",
        "answer_source": "response",
        **extra,
    }


R1_REASONING, R1_RESPONSE = (
    part.strip() for part in R1_TRACE.removeprefix("<think>").split("</think>")
)


@pytest.mark.parametrize("policy", ["append", "drop"])
def test_compress_rows_compresses_the_reasoning_and_keeps_the_response(policy: str) -> None:
    rows = [
        _reasoning_row(0, "Hmm. 54 - 12 = 42, and 42 / 7 = 6.", "#### 6"),
        _reasoning_row(1, "Okay. 54 - 12 = 42, and 42 / 7 = 6.", "#### 6"),
        _reasoning_row(2, "So, dividing, 42 / 7 = 5.", "#### 6"),
        _reasoning_row(3, "Long thinking.", "#### 6"),
        # the answer was read from the reasoning: no response to keep
        _reasoning_row(4, "42 / 7 = 6, the answer is 6.", "", answer_source="reasoning"),
        # no reasoning split out (the demo), and one that hit the length limit with a response
        _reasoning_row(5, None, "Hmm. 42 / 7 = 6.\n\n\\boxed{6}"),
        _reasoning_row(6, None, "42 / 7 = 6.\n\n\\boxed{6}", finish_reason="length"),
    ]
    outputs = [
        "54 - 12 = 42; 42 / 7 = 6.",  # no box: the response's answer is the text's answer
        "42 / 7 = 6. \\boxed{6}",
        "42 / 7 = 5. \\boxed{5}",  # contradicts the response: not kept
        "  ",
        "42 / 7 = 6.",  # without the response, the answer is lost
        "42 / 7 = 6.\n\n\\boxed{6}",
        "\\boxed{6}",
    ]
    compressor = _Recording(outputs)
    out, counts = compress_rows(rows, compressor, policy, progress=False)
    # the compressor sees the reasoning, never the response
    assert compressor.seen == [
        *(row["reasoning"] for row in rows[:5]),
        rows[5]["completion"],
        rows[6]["completion"],
    ]
    if policy == "append":
        assert counts == _counts(kept=4, appended=2, empty=1)
    else:
        assert counts == _counts(kept=4, dropped=2, empty=1)
    by_id = {row["problem_id"]: row for row in out}
    assert [by_id[f"p{i}"]["compressed_field"] for i in (0, 1, 5, 6)] == [
        "reasoning",
        "reasoning",
        "completion",
        "completion",
    ]
    assert by_id["p0"]["reasoning"] == outputs[0] and by_id["p0"]["response"] == "#### 6"
    assert by_id["p0"]["completion"] == outputs[0] + "\n\n#### 6"
    assert by_id["p1"]["completion"] == outputs[1] + "\n\n#### 6"
    assert by_id["p0"]["raw_chars"] == len(rows[0]["completion"])
    assert by_id["p0"]["compressed_chars"] == len(by_id["p0"]["completion"])
    assert by_id["p5"]["completion"] == outputs[5] and "reasoning" not in by_id["p5"]
    if policy == "append":
        # the answer goes after the compressed reasoning (a wrong closing box replaced), before
        # the response
        assert by_id["p2"]["reasoning"] == "42 / 7 = 5." + answer_suffix("6")
        assert by_id["p2"]["completion"] == by_id["p2"]["reasoning"] + "\n\n#### 6"
        assert by_id["p4"]["completion"] == by_id["p4"]["reasoning"] == "42 / 7 = 6.\n\n\\boxed{6}"
        assert by_id["p4"]["response"] == ""
        # an empty compression is the answer alone: no reasoning left
        assert by_id["p3"]["completion"] == answer_only("6") and by_id["p3"]["reasoning"] == ""
    for row in out:
        assert extract_answer(row["completion"]) == "6" or row["completion"].endswith("#### 6")


def test_extractive_compresses_a_reasoning_and_keeps_the_response() -> None:
    row = _reasoning_row(0, R1_REASONING, R1_RESPONSE, question=R1_QUESTION)
    (out,), counts = compress_rows([row], ExtractiveCompressor(), "drop", progress=False)
    assert counts["kept"] == 1 and out["compressed_field"] == "reasoning"
    assert out["completion"] == f"{out['reasoning']}\n\n{R1_RESPONSE}"
    assert len(out["reasoning"]) < len(R1_REASONING) and "Hmm" not in out["reasoning"]


def test_llm_prompt_gets_the_question_the_reasoning_and_the_answer(monkeypatch) -> None:
    engine = _CannedEngine(["42 / 7 = 6. \\boxed{6}"] * 2)
    monkeypatch.setattr("compress_distill.compression.llm.make_engine", lambda *args: engine)
    template = (ROOT / "prompts/compress.txt").read_text(encoding="utf-8")
    row = _reasoning_row(0, R1_REASONING, R1_RESPONSE, question=R1_QUESTION)
    compressor = LLMCompressor("vllm", "m", template)
    (out,), counts = compress_rows([row], compressor, "drop", progress=False)
    prompt = engine.seen[0].messages[0]["content"]
    assert R1_QUESTION in prompt and R1_REASONING in prompt and R1_RESPONSE not in prompt
    assert "Final answer: 6\n" in prompt
    assert not re.search(r"\{(question|trace|reasoning|answer)\}", prompt)
    assert counts["kept"] == 1 and out["completion"] == f"42 / 7 = 6. \\boxed{{6}}\n\n{R1_RESPONSE}"
    # a template with the older {trace} placeholder still works; {reasoning} is the same text
    assert fill_prompt("{trace}|{reasoning}|{answer}", "q", "T", "6") == "T|T|6"
    assert fill_prompt("{question}: {trace}", "q", "T") == "q: T"
    LLMCompressor("vllm", "m", "Q: {question}\nT: {trace}")
    with pytest.raises(ValueError, match="reasoning"):
        LLMCompressor("vllm", "m", "{question} and {answer}")


def test_truncation_cuts_the_reasoning_and_keeps_the_response() -> None:
    reasoning, response = R1_REASONING, R1_RESPONSE
    for target in (1, 40, 200, len(reasoning) - 1):
        text, outcome = truncate_to_match(reasoning, target, "6", response=response)
        assert outcome == "truncated"
        assert text == reasoning[:target] + "\n\n" + response
    assert truncate_to_match(reasoning, len(reasoning), "6", response=response) == (
        f"{reasoning}\n\n{response}",
        "kept_whole",
    )
    assert truncate_to_match(reasoning, 0, "6", response=response) == (
        answer_only("6"),
        "answer_only",
    )
    # in tokens: the reasoning's cut is the compressed reasoning's length
    from compress_distill.students.tokenizers import build_char_tokenizer

    tokenizer = build_char_tokenizer()
    text, outcome = truncate_to_match(reasoning, 50, "6", "tokens", tokenizer, response=response)
    assert outcome == "truncated" and text.endswith("\n\n" + response)
    assert measure(text[: -len(response) - 2], "tokens", tokenizer) == 50
    # without a response, as before: the answer appended to the cut
    assert truncate_to_match(reasoning, 40, "6")[0].endswith(answer_suffix("6"))
