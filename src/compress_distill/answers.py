"""Final-answer extraction from completions and checking against gold answers with Math-Verify.

Math-Verify's own timeouts use `signal.alarm`, which only works on a process's main thread and
cannot interrupt a long C-level computation (sympy evaluating `9^{9^{9}}` never returns to the
interpreter). So every check runs with Math-Verify's timeouts disabled inside a `Sandbox`: a child
process that the caller waits on with a per-item deadline and kills when one is missed. This works
from any thread of any process.
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
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

MATH_VERIFY_VERSION = importlib.metadata.version("math-verify")
CHECKER = f"math-verify=={MATH_VERIFY_VERSION}"


class Verdict(enum.StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"
    NO_ANSWER = "no_answer"
    TIMEOUT = "timeout"
    ERROR = "error"


# --- extraction ---------------------------------------------------------------------------------

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
# Anchors of the fallback phrases; the answer is the rest of the line after the anchor.
_ANSWER_IS_RE = re.compile(r"the\s+(?:final\s+)?answer\s+is\s*:?", re.IGNORECASE)
_HASHES_RE = re.compile(r"^[ \t]*####", re.MULTILINE)
_FINAL_ANSWER_RE = re.compile(r"final\s+answer[*\s]*:", re.IGNORECASE)
# A sentence ends at a full stop and whitespace ("18. I hope it is correct"); "3.5" does not.
_SENTENCE_END_RE = re.compile(r"\.\s")


def _clean(value: str) -> str:
    """Drop markdown bold, math-mode dollars and trailing punctuation around an answer."""
    value = value.strip().lstrip("*$ \t").rstrip("*$ \t.,;:")
    if value.endswith("\\"):  # we cut the dollar off an escaped `\$`
        value += "$"
    return value


def _balanced_end(text: str, start: int, limit: int) -> int | None:
    """Index of the brace closing the group opened just before `start`, if it is before `limit`."""
    depth = 1
    i = start
    while i < limit:
        char = text[i]
        if char == "\\":  # skip the escaped character: `\{` and `\}` are literal braces
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _last_boxed(text: str) -> str | None:
    limit = len(text)
    for match in reversed(list(_BOX_RE.finditer(text))):
        end = _balanced_end(text, match.end(), limit)
        if end is None:
            # An unclosed box (a truncated completion) is no answer. A box before it that is still
            # open where it starts never closes, so scans stop there: linear in degenerate loops.
            limit = match.start()
        elif content := text[match.end() : end].strip():  # an empty box is no answer either
            return content
    return None


def _last_phrase(pattern: re.Pattern[str], text: str) -> str | None:
    for match in reversed(list(pattern.finditer(text))):
        line = text[match.end() :].lstrip().split("\n", 1)[0]
        value = _clean(_SENTENCE_END_RE.split(line, maxsplit=1)[0])
        # A box here is an unclosed one (`_last_boxed` found no complete box): no answer.
        if value and not _BOX_RE.search(value):
            return value
    return None


def extract_answer(text: str) -> str | None:
    """The final answer of a completion, or None when it states none.

    The last `\\boxed{}`/`\\fbox{}` wins; without one: "the (final) answer is X", then a GSM8K
    `#### X` line, then "Final Answer: X" (the last occurrence of each).
    """
    if (boxed := _last_boxed(text)) is not None:
        return boxed
    for pattern in (_ANSWER_IS_RE, _HASHES_RE, _FINAL_ANSWER_RE):
        if (value := _last_phrase(pattern, text)) is not None:
            return value
    return None


def gold_from_gsm8k(answer_field: str) -> str:
    """The gold answer of a GSM8K worked solution: the number after the last `####`."""
    _, sep, tail = answer_field.rpartition("####")
    gold = tail.strip().replace(",", "")
    if not sep or not gold:
        raise ValueError("GSM8K answer has no '#### <answer>' line")
    return gold


# --- checking (runs inside the sandbox process) ---------------------------------------------------

_NUMBER = r"-?\$?\s*\d[\d,]*(?:\.\d+)?"
# "18 eggs" parses as 18*E*g*g*s; as `18\text{ eggs}` Math-Verify drops the unit. Words of three or
# more letters only, so "2 pi" keeps its meaning.
_NUMBER_WORDS_RE = re.compile(rf"^({_NUMBER})\s*\(?([A-Za-z]{{3,}}(?:\s+[A-Za-z]{{3,}})*)\)?$")
# LaTeX thin spaces as thousands separators: 1\,000 (Math-Verify reads it as 1*0).
_THIN_SPACE_RE = re.compile(r"(?<=\d)\\[,;!: ]\s*(?=\d{3}(?!\d))")


def _to_latex(answer: str) -> str:
    """Wrap an extracted answer in `\\boxed{}`, the form Math-Verify's LaTeX extraction expects."""
    answer = _THIN_SPACE_RE.sub("", _clean(answer))
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
            "from compress_distill.answers import _sandbox_main; "
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
