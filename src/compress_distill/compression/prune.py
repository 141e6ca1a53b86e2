"""Token-level pruning to a target ratio, in the spirit of TokenSkip and LLMLingua-2.

Words (whitespace-separated tokens) are scored for importance and the top `ratio` of them kept, in
their original order; the final `\\boxed{...}` is always kept whole. Two scorers:

- `heuristic` (default, deterministic): numbers, operators, '=' and LaTeX score highest, content
  words next, stopwords low, filler and re-verification words ("hmm", "double-check") lowest;
- `model`: a causal LM's self-information (surprisal, -log p) of each word given what precedes it,
  summed over the word's tokens (Selective Context / LLMLingua): predictable words go first.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from typing import Any, Protocol

from compress_distill.compression.base import (
    Compressor,
    Piece,
    check_batch,
    join_pieces,
    last_box_span,
)

_WORD_RE = re.compile(r"\S+")
_INNER_HYPHEN_RE = re.compile(r"(?<=[A-Za-z])-(?=[A-Za-z])")
# Structure a student should see intact, like the final box.
_TAG_RE = re.compile(r"^</?think>$")
_MATH_SYMBOLS = frozenset("+-−×*/÷^<>≤≥≠≈·%√∑∫")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS = _words(
    """a an the of to in on at by for with from into onto as is are was were be been being am it
    its this that these those there here and or but if then than so because since which who whom
    what when where while do does did done have has had having i we you he she they me us our my
    your his her their them not no nor can could would should will shall may might must very too
    also just only about above below over under again further once each both any all some such
    own same other more most few up down out off"""
)
# Words of hedging, self-talk and re-verification: the first to go.
_FILLER = _words(
    """hmm hm okay ok alright wait well um uh oh ah actually really basically maybe perhaps let
    let's think thinking careful carefully sure check double-check double check checking verify
    verifying recap again yes yeah right moving now see seems guess probably hold"""
)


def heuristic_scores(words: Sequence[str]) -> list[float]:
    """Importance of each word: math and numbers > content words > stopwords > filler."""
    return [_heuristic_score(word) for word in words]


def _heuristic_score(word: str) -> float:
    core = word.strip(".,;:!?\"'()[]{}*").lower()
    if core in _FILLER:
        return 0.0
    if "=" in word:
        return 5.0
    if any(ch.isdigit() for ch in word):
        return 4.0
    # Hyphens inside words ("double-check") and markdown bold ("**Answer**") are not math.
    symbols = _INNER_HYPHEN_RE.sub("", word.strip("*"))
    if "\\" in word or "$" in word or any(ch in _MATH_SYMBOLS for ch in symbols):
        return 3.5
    if core in _STOPWORDS or not core:
        return 0.5
    if len(core) == 1:  # a variable name
        return 2.5
    return 1.5


class Scorer(Protocol):
    def __call__(self, text: str, spans: Sequence[tuple[int, int]]) -> list[float]:
        """One importance score per word span of `text`."""


class SurprisalScorer:
    """Self-information of each word under a causal LM: the sum over its tokens of -log p(token).

    Long texts are scored in consecutive windows of the model's context; each window starts from
    the BOS (or EOS) token, so its first token is scored too.
    """

    def __init__(self, model: str, device: str = "cpu", max_length: int | None = None) -> None:
        self.model_name = model
        self.device = device
        self.max_length = max_length
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self._tokenizer = AutoTokenizer.from_pretrained(self.model_name)
        self._model = AutoModelForCausalLM.from_pretrained(self.model_name).to(self.device).eval()
        if self._start_id() is None:
            raise ValueError(f"scorer model {self.model_name!r}: tokenizer has no BOS or EOS token")

    def _start_id(self) -> int | None:
        tokenizer = self._tokenizer
        return (
            tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        )

    def __call__(self, text: str, spans: Sequence[tuple[int, int]]) -> list[float]:
        import torch

        if self._model is None:
            self._load()
        encoded = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        window = (self.max_length or self._model.config.max_position_embeddings) - 1
        surprisal: list[float] = []
        with torch.no_grad():
            for first in range(0, len(ids), window):
                chunk = [self._start_id(), *ids[first : first + window]]
                inputs = torch.tensor([chunk], device=self.device)
                logprobs = torch.log_softmax(self._model(inputs).logits[0, :-1].float(), dim=-1)
                targets = inputs[0, 1:].unsqueeze(1)
                surprisal += (-logprobs.gather(1, targets).squeeze(1)).tolist()
        scores = [0.0] * len(spans)
        starts = [start for start, _ in spans]
        for (start, end), value in zip(offsets, surprisal, strict=True):
            # A token belongs to the word holding its last character; whitespace tokens to none.
            index = bisect.bisect_right(starts, end - 1) - 1
            if end > start and index >= 0 and end - 1 < spans[index][1]:
                scores[index] += value
        return scores

    def close(self) -> None:
        self._model = self._tokenizer = None


def _heuristic_scorer(text: str, spans: Sequence[tuple[int, int]]) -> list[float]:
    return heuristic_scores([text[start:end] for start, end in spans])


class PruneCompressor(Compressor):
    kind = "prune"

    def __init__(
        self, ratio: float, scorer: dict[str, Any] | None = None, name: str | None = None
    ) -> None:
        super().__init__(name)
        if not 0 < ratio <= 1:
            raise ValueError(f"prune ratio must be in (0, 1], got {ratio}")
        self.ratio = ratio
        self.scorer_settings = dict(scorer or {"kind": "heuristic"})
        self.scorer = _make_scorer(self.scorer_settings)

    def settings(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "scorer": self.scorer_settings}

    def compress(self, traces: Sequence[str], contexts: Sequence[dict[str, Any]]) -> list[str]:
        check_batch(traces, contexts)
        return [self.compress_one(trace) for trace in traces]

    def compress_one(self, trace: str) -> str:
        spans = [match.span() for match in _WORD_RE.finditer(trace)]
        if not spans:
            return ""
        box = last_box_span(trace)
        protected = {
            i
            for i, (start, end) in enumerate(spans)
            if (box and start < box[1] and box[0] < end) or _TAG_RE.match(trace[start:end])
        }
        budget = max(len(protected), math.floor(self.ratio * len(spans) + 0.5))
        scores = self.scorer(trace, spans)
        # Stable sort: among equal scores the earlier word wins, so the result is deterministic.
        ranked = sorted(
            (i for i in range(len(spans)) if i not in protected), key=lambda i: -scores[i]
        )
        keep = sorted(protected.union(ranked[: budget - len(protected)]))
        return join_pieces(trace, [Piece(*spans[i], trace[slice(*spans[i])]) for i in keep])

    def close(self) -> None:
        if isinstance(self.scorer, SurprisalScorer):
            self.scorer.close()


def _make_scorer(entry: dict[str, Any]) -> Scorer:
    settings = dict(entry)
    kind = settings.pop("kind", "heuristic")
    if kind == "heuristic":
        if settings:
            raise ValueError(f"heuristic scorer takes no settings, got {sorted(settings)}")
        return _heuristic_scorer
    if kind == "model":
        known = {"model", "device", "max_length"}
        if unknown := sorted(set(settings) - known):
            raise ValueError(f"unknown model scorer setting(s) {unknown}; known: {sorted(known)}")
        if not settings.get("model"):
            raise ValueError("model scorer needs 'model' (a local folder or a hub id)")
        return SurprisalScorer(**settings)
    raise ValueError(f"unknown prune scorer kind {kind!r}; known: heuristic, model")
