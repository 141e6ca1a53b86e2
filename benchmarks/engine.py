"""Generation engine overhead: the project's VLLMEngine against a direct vllm.LLM.generate call.

Both paths use one vllm.LLM instance (the engine's own), a tiny random Llama with the character
tokenizer, the same chat-formatted prompts and greedy sampling, in alternating rounds. The engine's
time includes everything it adds: rendering the chat template, tokenizing, building the sampling
parameters and reading the outputs back. The direct call gets the already rendered prompt texts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.common import DEMO_CONFIG, ROOT, load_config, num, table
from compress_distill.engines import Request, SamplingSettings, make_engine
from compress_distill.generation import build_messages
from compress_distill.problems import build_problemset
from compress_distill.students.tiny_llama import build_tiny_llama
from compress_distill.students.tokenizers import build_char_tokenizer

# As the project's vLLM tests: float32, eager mode (no graph capture to wait for on CPU).
ENGINE_ARGS = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "seed": 0}


def _requests(count: int, config_path: Path) -> list[Request]:
    """Demo questions in the teacher prompt, as the generation stage asks them."""
    config = load_config(config_path)
    teacher = next(iter(config["teachers"].values()))
    template = (ROOT / teacher["prompt"]).read_text(encoding="utf-8")
    spec = config["problemsets"][teacher["problemset"]] | {"size": count}
    problems = build_problemset(teacher["problemset"], spec, ROOT)
    return [Request(build_messages(p["question"], template)) for p in problems]


def measure(workdir: Path, smoke: bool = False, config_path: Path = DEMO_CONFIG) -> dict[str, Any]:
    import vllm

    prompts, max_tokens, rounds = (4, 8, 1) if smoke else (64, 128, 8)
    model_dir = build_tiny_llama(workdir / "tiny_llama", build_char_tokenizer(), seed=0)
    requests = _requests(prompts, config_path)
    sampling = SamplingSettings(max_tokens=max_tokens)
    started = time.perf_counter()
    engine = make_engine("vllm", str(model_dir), ENGINE_ARGS)
    startup_s = time.perf_counter() - started
    try:
        # The engine's vllm.LLM: a direct call on it differs from the engine only by the wrapper.
        llm = engine._llm  # type: ignore[attr-defined]
        tokenizer = llm.get_tokenizer()
        texts = [
            tokenizer.apply_chat_template(r.messages, tokenize=False, add_generation_prompt=True)
            for r in requests
        ]
        params = vllm.SamplingParams(temperature=0.0, top_p=1.0, top_k=-1, max_tokens=max_tokens)

        def ours() -> tuple[int, list[str]]:
            out = engine.generate(requests, sampling)
            return sum(c.output_tokens for c in out), [c.text for c in out]

        def direct() -> tuple[int, list[str]]:
            out = llm.generate(texts, params, use_tqdm=False)
            return sum(len(o.outputs[0].token_ids) for o in out), [o.outputs[0].text for o in out]

        paths = {"engine": ours, "direct": direct}
        for call in paths.values():  # warm-up, not timed
            call()
        totals = {name: {"tokens": 0, "seconds": 0.0} for name in paths}
        per_round = []
        texts_seen: dict[str, list[str]] = {}
        for index in tqdm(range(rounds), desc="engine rounds"):
            order = list(paths) if index % 2 == 0 else list(paths)[::-1]
            speeds = {}
            for name in order:
                t0 = time.perf_counter()
                tokens, outputs = paths[name]()
                seconds = time.perf_counter() - t0
                totals[name]["tokens"] += tokens
                totals[name]["seconds"] += seconds
                speeds[name] = tokens / seconds
                texts_seen[name] = outputs
            per_round.append(speeds | {"ratio": speeds["engine"] / speeds["direct"]})
    finally:
        engine.close()
    rates = {name: t["tokens"] / t["seconds"] for name, t in totals.items()}
    return {
        "model": "tiny random Llama (build_tiny_llama defaults, character tokenizer)",
        "engine_args": ENGINE_ARGS,
        "prompts": prompts,
        "max_tokens": max_tokens,
        "rounds": rounds,
        "startup_s": startup_s,
        "totals": totals,
        "tokens_per_second": rates,
        "ratio": rates["engine"] / rates["direct"],
        "per_round": per_round,
        "same_outputs": texts_seen["engine"] == texts_seen["direct"],
        "vllm_version": vllm.__version__,
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        [
            label,
            f"{result['totals'][name]['tokens']:,}",
            num(result["totals"][name]["seconds"], 2),
            num(result["tokens_per_second"][name], 0),
        ]
        for name, label in (
            ("direct", "vllm.LLM.generate (direct)"),
            ("engine", "VLLMEngine.generate (project)"),
        )
    ]
    rows.append(["engine / direct", "", "", f"{result['ratio']:.1%}"])
    text = table(
        f"vLLM {result['vllm_version']} on CPU: {result['prompts']} prompts x up to "
        f"{result['max_tokens']} new tokens, greedy, {result['rounds']} alternating rounds",
        ["path", "output tokens", "seconds", "tokens/s"],
        rows,
    )
    ratios = ", ".join(f"{r['ratio']:.1%}" for r in result["per_round"])
    text += (
        f"\nPer-round ratios: {ratios}. Goal: the engine at 95% or more of direct vLLM "
        f"({'met' if result['ratio'] >= 0.95 else 'not met'} here). Same outputs on both paths: "
        f"{'yes' if result['same_outputs'] else 'no'}. Engine start-up (not in the rates): "
        f"{result['startup_s']:.0f} s. Model: {result['model']}; engine arguments "
        f"{result['engine_args']}.\n"
    )
    return text
