"""Students' tokenizers: built here (character-level, or byte-level BPE trained on local text) or a
pretrained checkpoint's, always with a chat template shared by training and evaluation.

No model hub is needed: tests and the demo's students build theirs from scratch, saved as ordinary
Hugging Face tokenizer files that transformers and vLLM load.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK, *ROLE_TOKENS)

# Printable ASCII (letters, digits, punctuation incl. \ { }, space), newline and the arithmetic
# signs reasoning traces use (the scripted teachers write × and ÷); tab and other whitespace map to
# <unk>, which is fine for math traces.
DEFAULT_ALPHABET = string.ascii_letters + string.digits + string.punctuation + " \n×÷"

# Each turn: role marker, content, end of turn. The assistant turn ends with EOS so that a model
# trained on these turns stops on its own at generation time.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + eos_token }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)

# GPT-2's pre-tokenizer pattern with one change: a number splits into single digits (each with its
# leading space), as the LLaMA and Qwen tokenizers split numbers, so every digit of a column sum is
# a token of its own and no merge can fuse "12" into one opaque symbol.
BPE_SPLIT_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"


def load_tokenizer(path: str | Path) -> Any:
    """A saved tokenizer. The fast class loads in a quarter of AutoTokenizer's time, which adds up
    over many short jobs; slow-only tokenizers (no tokenizer.json) fall back to AutoTokenizer."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    if (Path(path) / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(path)
    return AutoTokenizer.from_pretrained(path)


def save_student_tokenizer(
    student: dict[str, Any], out_dir: str | Path, chat_template: str | None = None
) -> Any:
    """The student's tokenizer, saved to out_dir: built here (from_config) or the checkpoint's,
    with `chat_template` (the text of the entry's chat_template file) in place of its own."""
    if student["kind"] == "from_config":
        tokenizer = build_char_tokenizer(DEFAULT_ALPHABET)
    else:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(student["model"])
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(out_dir)
    return tokenizer


def build_char_tokenizer(
    alphabet: str = DEFAULT_ALPHABET, out_dir: str | Path | None = None
) -> PreTrainedTokenizerFast:
    """A character-level tokenizer: one token per character of `alphabet`, others -> <unk>.

    Special tokens come first (ids 0..6: pad, bos, eos, unk, system, user, assistant). No
    post-processor: encoding adds no BOS/EOS, the chat template writes them, so none is doubled.
    Saved with save_pretrained when `out_dir` is given.
    """
    from tokenizers import Tokenizer, decoders, models

    chars = list(dict.fromkeys(alphabet))  # unique, order kept: ids are stable for one alphabet
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for ch in chars:
        if ch in vocab:
            continue
        vocab[ch] = len(vocab)
    # BPE without merges over the whole string (no pre-tokenizer) splits into single characters and
    # keeps spaces and newlines as ordinary tokens; Fuse joins them back without separators.
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK, fuse_unk=False))
    core.add_special_tokens(list(SPECIAL_TOKENS))
    core.decoder = decoders.Fuse()
    return _chat_tokenizer(core, out_dir)


def build_bpe_tokenizer(
    texts: Iterable[str], vocab_size: int, out_dir: str | Path | None = None
) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on `texts`: any string encodes (no <unk>), frequent
    words become single tokens, digits stay single. Same special tokens (ids 0..6) and chat
    template as build_char_tokenizer. Deterministic for the same texts and vocab_size."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    if vocab_size <= len(SPECIAL_TOKENS) + 256:
        raise ValueError(
            f"tokenizer vocab_size must exceed {len(SPECIAL_TOKENS) + 256} "
            f"(special tokens and the 256 bytes), got {vocab_size}"
        )
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(BPE_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer)
    return _chat_tokenizer(core, out_dir)


def _chat_tokenizer(core: Any, out_dir: str | Path | None) -> PreTrainedTokenizerFast:
    """The transformers tokenizer around a `tokenizers` core: special tokens, chat template,
    left padding; saved with save_pretrained when `out_dir` is given."""
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        additional_special_tokens=list(ROLE_TOKENS),
        padding_side="left",  # generation pads on the left; training code may override
        clean_up_tokenization_spaces=False,
        model_max_length=1_000_000,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    if out_dir is not None:
        tokenizer.save_pretrained(str(out_dir))
    return tokenizer


def template_renders_reasoning(tokenizer: Any) -> bool:
    """Whether the tokenizer's chat template puts an assistant message's `reasoning_content`
    somewhere (Qwen3's templates: a <think> block before the content). Found by rendering one."""
    probe = "REASONING-PROBE"
    conversation = [
        {"role": "user", "content": "?"},
        {"role": "assistant", "content": "!", "reasoning_content": probe},
    ]
    return probe in tokenizer.apply_chat_template(conversation, tokenize=False)


def _fold_reasoning(message: dict[str, Any]) -> dict[str, Any]:
    """An assistant message with its reasoning at the start of its content (the trace's form)."""
    message = dict(message)
    reasoning = message.pop("reasoning_content", None)
    if reasoning is not None:
        message["content"] = f"{reasoning}\n\n{message['content']}"
    return message


def as_student_reads(examples: list[dict[str, Any]], tokenizer: Any) -> list[dict[str, Any]]:
    """Prompt/completion examples as a student trains on them: a reasoning kept apart
    (`reasoning_content`) stays apart where its chat template has a place for it, and otherwise
    opens the content, as in the trace."""
    if template_renders_reasoning(tokenizer):
        return examples
    return [e | {"completion": [_fold_reasoning(m) for m in e["completion"]]} for e in examples]


def rendered_ids(examples: list[dict[str, Any]], tokenizer: Any) -> list[list[int]]:
    """Each example's token ids, prompt and completion through the student's chat template."""
    conversations = [e["prompt"] + e["completion"] for e in examples]
    return tokenizer.apply_chat_template(conversations, return_dict=False)


def rendered_lengths(examples: list[dict[str, Any]], tokenizer: Any) -> list[int]:
    """Each example's tokens, prompt and completion through the student's chat template."""
    return [len(ids) for ids in rendered_ids(examples, tokenizer)]


def tokenization_difference(first: str | Path, second: str | Path) -> str | None:
    """What would make two saved tokenizers count an example's tokens differently, or None:
    their tokenization (vocabulary, merges, normalizer, pre- and post-processing, added tokens),
    their special tokens, or the chat template that renders an example."""
    a, b = load_tokenizer(first), load_tokenizer(second)
    aspects = {
        "tokenizations": _tokenization,
        "special tokens": lambda t: t.special_tokens_map,
        "chat templates": lambda t: t.chat_template,
    }
    for aspect, of in aspects.items():
        if of(a) != of(b):
            return f"their {aspect} differ"
    return None


def _tokenization(tokenizer: Any) -> Any:
    """A fast tokenizer's whole pipeline, serialized; a slow one's class and vocabulary."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return backend.to_str()
    return type(tokenizer).__name__, tokenizer.get_vocab()
