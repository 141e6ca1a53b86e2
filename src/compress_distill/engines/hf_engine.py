"""transformers engine: batched model.generate, for small models and machines without vLLM."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from compress_distill.engines.base import Completion, Engine, Request, SamplingSettings
from compress_distill.engines.reasoning import make_splitter
from compress_distill.io import stable_hash


class TransformersEngine(Engine):
    """Batched generation with left padding and the model's chat template.

    Greedy when temperature == 0, otherwise sampling. Seeding: each batch reseeds torch from
    (engine seed, sampling.seed, the batch's first prompt and sample index), so the same batch
    samples the same wherever it falls, in one call or in a resumed job's chunks (but, unlike vLLM
    on GPUs, samples depend on the batching).

    reasoning_parser (see engines/reasoning.py) splits the reasoning from the response with the
    same parser as the vllm engine; chat_template_kwargs go to apply_chat_template
    ({enable_thinking: true}, {reasoning_effort: high}).
    """

    name: ClassVar[str] = "transformers"

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        seed: int = 0,
        trust_remote_code: bool = False,
        lora_path: str | None = None,
        cache_implementation: str | None = None,
        attn_implementation: str | None = None,
        reasoning_parser: str | None = None,
        chat_template_kwargs: dict[str, Any] | None = None,
    ) -> None:
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = model
        self.batch_size = max(1, int(batch_size))
        self.seed = seed
        # Passed to generate ("static": a preallocated KV cache, which every step attends over
        # whole) and to from_pretrained ("eager", "sdpa", ...); None keeps transformers' defaults.
        self.cache_implementation = cache_implementation
        self._version = transformers.__version__
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        torch_dtype = _resolve_dtype(dtype, self.device)

        self.tokenizer = AutoTokenizer.from_pretrained(model, trust_remote_code=trust_remote_code)
        self.tokenizer.padding_side = "left"  # decoder-only: generated tokens follow the prompt
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._model = AutoModelForCausalLM.from_pretrained(
            model,
            dtype=torch_dtype,
            trust_remote_code=trust_remote_code,
            attn_implementation=attn_implementation,
        )
        if lora_path:
            from peft import PeftModel

            # Merged into the base weights: the same function as base + adapter, at base speed.
            self._model = PeftModel.from_pretrained(self._model, lora_path).merge_and_unload()
        self._model = self._model.to(self.device)
        self._model.eval()
        self._eos_ids = _eos_ids(self._model.generation_config.eos_token_id, self.tokenizer)
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self._splitter = make_splitter(
            reasoning_parser, model, self.tokenizer, self.chat_template_kwargs
        )

    def generate(self, requests: Sequence[Request], sampling: SamplingSettings) -> list[Completion]:
        import torch
        from tqdm.auto import tqdm

        texts = [
            self.tokenizer.apply_chat_template(
                list(req.messages),
                tokenize=False,
                add_generation_prompt=True,
                **self.chat_template_kwargs,
            )
            for req in requests
        ]
        self._splitter.check_prompts(texts)
        completions: list[Completion] = []
        starts = range(0, len(texts), self.batch_size)
        for start in tqdm(starts, desc="generate", unit="batch", file=sys.stderr, leave=False):
            first = (texts[start], requests[start].sample_index)
            torch.manual_seed(int(stable_hash([self.seed, sampling.seed, *first]), 16))
            completions.extend(
                self._generate_batch(texts[start : start + self.batch_size], sampling)
            )
        return completions

    def _generate_batch(self, texts: list[str], sampling: SamplingSettings) -> list[Completion]:
        import torch

        # The chat template writes any BOS itself: no special tokens added here.
        batch = self.tokenizer(
            texts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": self._eos_ids,
            "cache_implementation": self.cache_implementation,
        }
        if sampling.temperature > 0:
            kwargs |= {
                "do_sample": True,
                "temperature": sampling.temperature,
                "top_p": sampling.top_p,
                "top_k": sampling.top_k if sampling.top_k > 0 else None,
            }
        else:
            # Greedy; unset sampling fields so that a generation_config cannot turn sampling on.
            kwargs |= {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        if sampling.stop:
            # Stops generation early for each sequence; the text is still cut below because
            # the match may end inside a token and trailing tokens of other rows are padding.
            kwargs |= {"stop_strings": list(sampling.stop), "tokenizer": self.tokenizer}
        with torch.inference_mode():
            output = self._model.generate(**batch, **kwargs)
        width = batch["input_ids"].shape[1]
        prompts = [
            [tok for tok, keep in zip(ids, mask, strict=True) if keep]  # without the left padding
            for ids, mask in zip(
                batch["input_ids"].tolist(), batch["attention_mask"].tolist(), strict=True
            )
        ]
        new_tokens = output[:, width:].tolist()
        return [
            self._completion(row, prompt, sampling)
            for row, prompt in zip(new_tokens, prompts, strict=True)
        ]

    def _completion(
        self, tokens: list[int], prompt: list[int], sampling: SamplingSettings
    ) -> Completion:
        # Rows that finished early are padded to the batch length: keep the tokens up to EOS.
        end = next((i for i, tok in enumerate(tokens) if tok in self._eos_ids), None)
        kept = tokens if end is None else tokens[:end]
        text = self._decode(kept)
        cut = _cut_at_stop(text, sampling.stop)
        if cut is not None:
            # As in vLLM: the text ends before the stop string, the token count runs up to the token
            # that completed it (smallest prefix whose text contains a stop string).
            count = self._tokens_to_stop(kept, sampling.stop)
            return self._split(cut, kept[:count], prompt, count, "stop")
        if end is not None:  # EOS counts as generated, as in vLLM
            return self._split(text, tokens[: end + 1], prompt, end + 1, "stop")
        finish = "length" if len(kept) >= sampling.max_tokens else "stop"
        return self._split(text, kept, prompt, len(kept), finish)

    def _split(
        self, text: str, tokens: list[int], prompt: list[int], count: int, finish: str
    ) -> Completion:
        reasoning, response = self._splitter.split(text, tokens, prompt)
        return Completion(
            text=response,
            output_tokens=count,
            finish_reason=finish,
            reasoning=reasoning,
            reasoning_parser=self._splitter.name,
            prompt_tokens=len(prompt),
        )

    def _decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=self._splitter.skip_special_tokens)

    def _tokens_to_stop(self, tokens: list[int], stop: Sequence[str]) -> int:
        lo, hi = 1, len(tokens)  # "contains a stop string" is monotone in the prefix length
        while lo < hi:
            mid = (lo + hi) // 2
            text = self._decode(tokens[:mid])
            if _cut_at_stop(text, stop) is None:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def info(self) -> dict[str, str]:
        return {"engine": self.name, "model": self.model, "engine_version": self._version}

    def close(self) -> None:
        import gc

        import torch

        self._model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _resolve_dtype(dtype: str, device: Any) -> Any:
    """'auto': bf16 on GPUs that support it, else the checkpoint's dtype; or a torch dtype name."""
    import torch

    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return "auto"
    return getattr(torch, dtype)


def _eos_ids(configured: int | list[int] | None, tokenizer: Any) -> list[int]:
    ids = configured if isinstance(configured, list) else [configured]
    ids = [i for i in ids if i is not None]
    return ids or [tokenizer.eos_token_id]


def _cut_at_stop(text: str, stop: Sequence[str]) -> str | None:
    """Text before the earliest stop string, or None if none occurs."""
    hits = [pos for s in stop if s and (pos := text.find(s)) >= 0]
    return text[: min(hits)] if hits else None
