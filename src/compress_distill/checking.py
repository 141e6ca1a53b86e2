"""Checking answers against gold answers with Math-Verify, in a sandbox process.

Math-Verify's own timeouts use `signal.alarm`, which only works on a process's main thread and
cannot interrupt a long C-level computation (sympy evaluating `9^{9^{9}}` never returns to the
interpreter). So every check runs with Math-Verify's timeouts disabled inside a `Sandbox`: a child
process that the caller waits on with a per-item deadline and kills when one is missed. This works
from any thread of any process.

A gold answer that is an option letter (multiple choice: `C`, `\text{(C)}`) is checked by letter
instead: the predicted answer must name the same option; Math-Verify would read `C` as a symbol.
"""

from __future__ import annotations

import enum
import functools
import importlib.metadata
import logging
import math
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from tqdm import tqdm

from compress_distill.answers import choice_letter, clean_answer

MATH_VERIFY_VERSION = importlib.metadata.version("math-verify")
CHECKER = f"math-verify=={MATH_VERIFY_VERSION}"


class Verdict(enum.StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"
    NO_ANSWER = "no_answer"
    TIMEOUT = "timeout"
    ERROR = "error"


# --- checking (runs inside the sandbox process) ---------------------------------------------------

_NUMBER = r"-?\$?\s*\d[\d,]*(?:\.\d+)?"
# "18 eggs" parses as 18*E*g*g*s; as `18\text{ eggs}` Math-Verify drops the unit. Words of three or
# more letters only, so "2 pi" keeps its meaning.
_NUMBER_WORDS_RE = re.compile(rf"^({_NUMBER})\s*\(?([A-Za-z]{{3,}}(?:\s+[A-Za-z]{{3,}})*)\)?$")
# LaTeX thin spaces as thousands separators: 1\,000 (Math-Verify reads it as 1*0).
_THIN_SPACE_RE = re.compile(r"(?<=\d)\\[,;!: ]\s*(?=\d{3}(?!\d))")


def _to_latex(answer: str) -> str:
    """Wrap an extracted answer in `\\boxed{}`, the form Math-Verify's LaTeX extraction expects."""
    answer = _THIN_SPACE_RE.sub("", clean_answer(answer))
    if match := _NUMBER_WORDS_RE.match(answer):
        answer = rf"{match.group(1)}\text{{ {match.group(2).strip()}}}"
    return rf"\boxed{{{answer}}}"


@functools.lru_cache(maxsize=65536)
def _parse(latex: str) -> list[Any]:
    from math_verify import parse

    return parse(latex, parsing_timeout=None)


@functools.lru_cache(maxsize=65536)
def _judge(predicted: str, gold: str) -> Verdict:
    """Compare with no timeout, so only inside a Sandbox; cached: many traces share answers."""
    from math_verify import verify

    if (letter := choice_letter(gold, strict=True)) is not None:
        # Multiple choice: the option letters must match; Math-Verify would read `C` as a symbol.
        return Verdict.CORRECT if choice_letter(predicted) == letter else Verdict.INCORRECT
    gold_parsed = _parse(_to_latex(gold))
    if not gold_parsed:
        return Verdict.ERROR  # an unparseable gold is our fault, not the teacher's
    ok = verify(gold_parsed, _parse(_to_latex(predicted)), timeout_seconds=None)
    return Verdict.CORRECT if ok else Verdict.INCORRECT


def _sandbox_main(fd: int, memory_limit_bytes: int) -> None:
    """Entry point of the sandbox child: answer batches of (predicted, gold) pairs, one by one."""
    import resource

    if memory_limit_bytes > 0:
        # `10^{10^{10}}` would otherwise allocate gigabytes before the deadline kills us.
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))
    # Timeouts are disabled on purpose (the parent enforces them); silence Math-Verify's warning.
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    conn = Connection(fd)
    _judge("1", "1")  # warm up: the first parse compiles Math-Verify's regexes
    conn.send("ready")
    while True:
        try:
            timeout_s, batch = conn.recv()
        except EOFError:  # the parent closed the socket or died
            return
        for predicted, gold in batch:
            # Backstop for an orphan (parent killed mid-item): SIGXCPU ends a child stuck in C
            # code after a CPU budget well past the deadline the parent would have enforced.
            usage = resource.getrusage(resource.RUSAGE_SELF)
            budget = usage.ru_utime + usage.ru_stime + 2 * timeout_s + 10
            resource.setrlimit(resource.RLIMIT_CPU, (math.ceil(budget), resource.RLIM_INFINITY))
            try:
                verdict = _judge(predicted, gold)
            except Exception:  # an error on one item must not lose the rest of the batch
                verdict = Verdict.ERROR
            conn.send(verdict.value)


class Sandbox:
    """A killable child process that checks (predicted, gold) pairs with a per-item deadline.

    Use one Sandbox per thread. The child is a fresh interpreter (not multiprocessing's spawn or
    forkserver, which re-run the caller's `__main__`, e.g. a Snakemake script; nor fork, which is
    unsafe in a multithreaded parent), talking over a socket pair.
    """

    START_TIMEOUT_S = 120.0

    def __init__(self, memory_limit_mb: int = 4096) -> None:
        self._memory_limit = memory_limit_mb * 2**20
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self.restarts = 0

    def _start(self) -> Connection:
        ours, theirs = socket.socketpair()
        # The child imports this package from wherever this process found it.
        package_root = str(Path(__file__).resolve().parents[1])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                p for p in (package_root, os.environ.get("PYTHONPATH")) if p
            ),
        }
        code = (
            "from compress_distill.checking import _sandbox_main; "
            f"_sandbox_main({theirs.fileno()}, {self._memory_limit})"
        )
        with theirs:
            proc = subprocess.Popen(
                [sys.executable, "-c", code],
                pass_fds=(theirs.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
            )
        conn = Connection(ours.detach())
        if not conn.poll(self.START_TIMEOUT_S) or conn.recv() != "ready":
            proc.kill()
            proc.wait()
            conn.close()
            raise RuntimeError("the Math-Verify sandbox process did not start")
        self._proc, self._conn = proc, conn
        return conn

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def check(self, pairs: Sequence[tuple[str, str]], timeout_s: float) -> list[Verdict]:
        """Verdicts for (predicted, gold) pairs, in order; an item past `timeout_s` is TIMEOUT."""
        verdicts: list[Verdict] = []
        while len(verdicts) < len(pairs):
            conn = self._conn or self._start()
            pending = pairs[len(verdicts) :]
            conn.send((timeout_s, list(pending)))
            for _ in pending:
                failure = None
                if not conn.poll(timeout_s):
                    failure = Verdict.TIMEOUT
                else:
                    try:
                        verdicts.append(Verdict(conn.recv()))
                    except EOFError:  # the child died (e.g. killed for memory)
                        failure = Verdict.ERROR
                if failure is not None:
                    verdicts.append(failure)
                    self._kill()  # the rest of the batch goes to a fresh child
                    self.restarts += 1
                    break
        return verdicts

    def close(self) -> None:
        self._kill()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


CHUNK_SIZE = 64


def check_pairs(
    pairs: Sequence[tuple[str, str]],
    workers: int = 1,
    timeout_s: float = 5.0,
    progress: bool = False,
    desc: str = "check",
) -> list[Verdict]:
    """Verdicts for many (predicted, gold) pairs, in order, checked by `workers` sandboxes.

    Each of `workers` threads drives its own sandbox process, so `workers` processes check in
    parallel; the threads only hand out chunks of pairs and wait on their sandboxes.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    verdicts: list[Verdict | None] = [None] * len(pairs)
    starts = range(0, len(pairs), CHUNK_SIZE)
    next_start = iter(starts)
    lock = threading.Lock()
    with tqdm(
        total=len(pairs), desc=desc, unit="answer", file=sys.stderr, disable=not progress
    ) as bar:

        def drain() -> None:
            with Sandbox() as sandbox:
                while True:
                    with lock:
                        start = next(next_start, None)
                    if start is None:
                        return
                    chunk = pairs[start : start + CHUNK_SIZE]
                    verdicts[start : start + len(chunk)] = sandbox.check(chunk, timeout_s)
                    bar.update(len(chunk))

        n_threads = min(workers, len(starts))
        if n_threads == 1:
            drain()
        elif n_threads > 1:
            with ThreadPoolExecutor(n_threads, thread_name_prefix=desc) as pool:
                for future in [pool.submit(drain) for _ in range(n_threads)]:
                    future.result()
    return verdicts  # type: ignore[return-value]  # every slot is filled


_shared_sandbox: Sandbox | None = None
_shared_lock = threading.Lock()


def check_answer(predicted: str | None, gold: str, timeout_s: float = 5.0) -> Verdict:
    """Check one extracted answer against the gold answer; safe to call from any thread.

    Batch work should use `Sandbox.check` (or `verify.verify_rows`) instead: this serialises all
    callers of the process through one shared sandbox.
    """
    if predicted is None:
        return Verdict.NO_ANSWER
    global _shared_sandbox
    with _shared_lock:
        if _shared_sandbox is None:
            _shared_sandbox = Sandbox()
        return _shared_sandbox.check([(predicted, gold)], timeout_s)[0]
