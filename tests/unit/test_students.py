"""Students: tokenizers, the tiny Llama, local model folders and base models. Tests that build or
load a model are marked slow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compress_distill.io import read_json
from compress_distill.local_models import local_model_dir, with_local_model
from compress_distill.students.base import build_base_model
from compress_distill.students.tiny_llama import build_tiny_llama
from compress_distill.students.tokenizers import (
    DEFAULT_ALPHABET,
    SPECIAL_TOKENS,
    build_bpe_tokenizer,
    build_char_tokenizer,
    load_tokenizer,
    save_student_tokenizer,
    template_renders_reasoning,
    tokenization_difference,
)
from compress_distill.training.records import weights_sha256
from compress_distill.training.trainer import load_trained_model
from tests.conftest import ROOT

TRACE = "Step 1: 6 * 7 = 42.\nCheck: 42 / 7 = 6.\nThe answer is \\boxed{42}."


def test_tokenizer_round_trips_a_trace_without_unk(tmp_path: Path) -> None:
    tok = build_char_tokenizer(out_dir=tmp_path)
    ids = tok(TRACE, add_special_tokens=False)["input_ids"]
    assert len(ids) == len(TRACE)  # one token per character
    assert tok.unk_token_id not in ids
    assert tok.decode(ids) == TRACE
    assert set(DEFAULT_ALPHABET) >= set(TRACE)


def test_tokenizer_maps_unknown_characters_to_unk() -> None:
    tok = build_char_tokenizer("ab")
    assert tok("abc", add_special_tokens=False)["input_ids"][-1] == tok.unk_token_id


def test_chat_template_renders_turns_and_generation_prompt(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    build_char_tokenizer(out_dir=tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)  # reloaded: the template was saved too
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "2+2?"},
    ]
    prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt == "<s><|system|>Be brief.</s><|user|>2+2?</s><|assistant|>"
    full = tok.apply_chat_template(
        [*messages, {"role": "assistant", "content": "4"}], tokenize=False
    )
    assert full.endswith("<|assistant|>4</s>")
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    assert ids[0] == tok.bos_token_id and ids.count(tok.eos_token_id) == 2
    assert tok.convert_tokens_to_ids("<|assistant|>") == ids[-1]  # role markers are single tokens


@pytest.mark.slow
def test_tiny_llama_saves_reloads_and_is_deterministic(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert model.config.vocab_size == len(tok)
    gen = GenerationConfig.from_pretrained(tiny_model_dir)
    assert (gen.eos_token_id, gen.pad_token_id) == (tok.eos_token_id, tok.pad_token_id)
    ids = tok(TRACE, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        assert model(ids).logits.shape == (1, ids.shape[1], len(tok))

    again = build_tiny_llama(tmp_path / "again", tok, seed=0)
    other = build_tiny_llama(tmp_path / "other", tok, seed=1, num_layers=1)
    weights = load_file(tiny_model_dir / "model.safetensors")
    same = load_file(again / "model.safetensors")
    assert all(torch.equal(weights[k], same[k]) for k in weights)
    key = "model.embed_tokens.weight"
    assert not torch.equal(weights[key], load_file(other / "model.safetensors")[key])


def test_empty_alphabet_still_builds() -> None:
    tok = build_char_tokenizer("")
    assert tok("x", add_special_tokens=False)["input_ids"] == [tok.unk_token_id]


def _bpe_corpus() -> list[str]:
    words = ["the", "apples", "left", "after", "she", "gives", "some", "more", "and"]
    return [
        f"{' '.join(words[i % 4 : i % 4 + 5])} {i} + {i % 7} = {i + i % 7}." for i in range(300)
    ]


def test_bpe_tokenizer_merges_words_keeps_digits_single_and_round_trips(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    build_bpe_tokenizer(_bpe_corpus(), 400, tmp_path)
    tok = AutoTokenizer.from_pretrained(tmp_path)
    assert tok.convert_ids_to_tokens(list(range(len(SPECIAL_TOKENS)))) == list(SPECIAL_TOKENS)
    text = "the apples left: 128 + 7 = 135.\n\n\\boxed{135} × ÷\tdone"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text, "byte-level: any text round-trips"
    assert tok.unk_token_id not in ids
    assert len(ids) < len(text), "frequent words are merged"
    assert len(tok(" apples", add_special_tokens=False)["input_ids"]) == 1
    digits = [t for t in tok.convert_ids_to_tokens(ids) if any(c.isdigit() for c in t)]
    assert len(digits) == 10 and all(len(t.lstrip("Ġ")) == 1 for t in digits), digits
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "2+2?"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == "<s><|user|>2+2?</s><|assistant|>"
    assert tok(prompt, add_special_tokens=False)["input_ids"][-1] == SPECIAL_TOKENS.index(
        "<|assistant|>"
    )


def test_bpe_tokenizer_is_deterministic_and_checks_its_size() -> None:
    first, second = (build_bpe_tokenizer(_bpe_corpus(), 400) for _ in range(2))
    assert first.get_vocab() == second.get_vocab()
    with pytest.raises(ValueError, match="vocab_size must exceed 263"):
        build_bpe_tokenizer(_bpe_corpus(), 100)


def test_local_model_dir_resolves_only_local_folders(tmp_path: Path) -> None:
    (tmp_path / "data" / "tiny").mkdir(parents=True)
    local = {"kind": "pretrained", "model": "data/tiny"}
    assert local_model_dir(local, tmp_path) == tmp_path / "data" / "tiny"
    absolute = {"kind": "pretrained", "model": str(tmp_path / "data" / "tiny")}
    assert local_model_dir(absolute, "/elsewhere") == tmp_path / "data" / "tiny"
    hub = {"kind": "pretrained", "model": "HuggingFaceTB/SmolLM2-135M-Instruct"}
    assert local_model_dir(hub, tmp_path) is None
    assert local_model_dir({"kind": "from_config"}, tmp_path) is None
    assert with_local_model(local, tmp_path / "data" / "tiny")["model"] == str(
        tmp_path / "data" / "tiny"
    )
    assert with_local_model(hub, None) == hub
    assert with_local_model(hub, []) == hub  # a rule's empty `model` input


def _from_config(**pretrain: float) -> dict[str, Any]:
    """A from_config student of 2 small layers, pretrained with these settings."""
    architecture = {"hidden_size": 32, "num_layers": 2, "num_heads": 2}
    return {"kind": "from_config", "architecture": architecture, "pretrain": pretrain}


@pytest.mark.slow
def test_pretraining_learns_the_texts(tiny_model_dir: Path, tmp_path: Path) -> None:
    student = _from_config(steps=60, learning_rate=3e-3, batch_size=4, max_length=64)
    texts = ["3 + 4 = 7. The answer is 7."] * 50
    pretrain = build_base_model(student, tiny_model_dir, tmp_path / "base", texts)["pretrain"]
    assert pretrain["final_loss"] < pretrain["first_loss"] / 3
    assert pretrain["tokens"] == 60 * 4 * 64


@pytest.mark.slow
def test_build_base_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch

    student = _from_config(steps=3, learning_rate=1e-3, batch_size=1, max_length=64)
    texts = [f"Tom has {n} apples and buys {n + 3} more, so {2 * n + 3} in all." for n in range(20)]
    out = tmp_path / "base"
    metrics = build_base_model(student, tiny_model_dir, out, texts)
    assert read_json(out / "base_metrics.json") == metrics
    assert metrics["pretrain"]["steps"] == 3 and metrics["pretrain"]["tokens"] > 0
    assert metrics["weights_sha256"] == weights_sha256(out)
    model, tokenizer = load_trained_model(out)
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    assert tokenizer.chat_template is not None
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary left
    again = build_base_model(student, tiny_model_dir, tmp_path / "again", texts)
    assert again["weights_sha256"] == metrics["weights_sha256"]  # seeded: same texts, same weights

    with pytest.raises(ValueError, match="unknown student architecture key"):
        build_base_model(
            {"kind": "from_config", "architecture": {"layers": 2}}, tiny_model_dir, out
        )
    with pytest.raises(ValueError, match="no pretraining texts"):
        build_base_model(student, tiny_model_dir, out, None)

    copied = build_base_model(
        {"kind": "pretrained", "model": str(tiny_model_dir)}, out, tmp_path / "c"
    )
    original, _ = load_trained_model(tiny_model_dir)
    again, _ = load_trained_model(tmp_path / "c")
    originals, copies = original.state_dict(), again.state_dict()
    assert originals.keys() == copies.keys()
    for name, tensor in originals.items():
        assert torch.equal(tensor, copies[name]), name
    assert copied["kind"] == "pretrained"


def test_a_students_chat_template_replaces_the_tokenizers_own(tmp_path: Path) -> None:
    template = (ROOT / "data/chat_templates/qwen3.jinja").read_text(encoding="utf-8")
    save_student_tokenizer({"kind": "from_config"}, tmp_path / "tok", template)
    tokenizer = load_tokenizer(tmp_path / "tok")
    assert template_renders_reasoning(tokenizer)
    conversation = [
        {"role": "user", "content": "1 + 1?"},
        {"role": "assistant", "content": "\\boxed{2}", "reasoning_content": "One and one."},
    ]
    rendered = tokenizer.apply_chat_template(conversation, tokenize=False)
    assert "<think>\nOne and one.\n</think>\n\n\\boxed{2}" in rendered
    save_student_tokenizer({"kind": "from_config"}, tmp_path / "plain")
    assert not template_renders_reasoning(load_tokenizer(tmp_path / "plain"))


def test_tokenization_difference_names_what_would_count_differently(tmp_path: Path) -> None:
    template = (ROOT / "data/chat_templates/qwen3.jinja").read_text(encoding="utf-8")
    for name in ("a", "b"):
        save_student_tokenizer({"kind": "from_config"}, tmp_path / name)
    save_student_tokenizer({"kind": "from_config"}, tmp_path / "qwen3", template)
    build_char_tokenizer("0123456789 +=", tmp_path / "digits")
    build_bpe_tokenizer([TRACE] * 20, 300, tmp_path / "bpe")
    assert tokenization_difference(tmp_path / "a", tmp_path / "b") is None
    assert tokenization_difference(tmp_path / "a", tmp_path / "qwen3") == (
        "their chat templates differ"
    )
    assert tokenization_difference(tmp_path / "a", tmp_path / "digits") == (
        "their tokenizations differ"
    )
    assert tokenization_difference(tmp_path / "bpe", tmp_path / "a") == "their tokenizations differ"
