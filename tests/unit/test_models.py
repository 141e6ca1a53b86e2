"""Tiny local models: char tokenizer and random Llama."""

from __future__ import annotations

from pathlib import Path

from compress_distill.models import DEFAULT_ALPHABET, build_char_tokenizer, build_tiny_llama

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

    from compress_distill.models import SPECIAL_TOKENS, build_bpe_tokenizer

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
    import pytest

    from compress_distill.models import build_bpe_tokenizer

    first, second = (build_bpe_tokenizer(_bpe_corpus(), 400) for _ in range(2))
    assert first.get_vocab() == second.get_vocab()
    with pytest.raises(ValueError, match="vocab_size must exceed 263"):
        build_bpe_tokenizer(_bpe_corpus(), 100)
