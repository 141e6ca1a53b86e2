"""Resumable long jobs: finished results kept in a progress file that Snakemake does not own.

Generation, compression and evaluation append each finished batch's results to a file in a hidden
`.progress` folder beside their output. A job killed in the middle (even by SIGKILL) reruns from
there: nothing lost, nothing duplicated, and since the output is written in input order at the end,
a deterministic job gives byte-identical output however often it was killed. The file's name
carries a hash of everything the results depend on, so a changed input or setting never resumes
from stale results: the job's older progress files are deleted.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from compress_distill.io import AppendLog, stable_hash

T = TypeVar("T")
HASH_LENGTH = 16


def _hashable(key: Any) -> Hashable:
    """A key as it was appended: JSON turns tuples into lists."""
    return tuple(_hashable(part) for part in key) if isinstance(key, list) else key


class ProgressFile:
    """The results of one job's finished items, by item key (a JSON scalar or a tuple of them).

    `directory=None` keeps them in memory only (`in_memory`), for a stage called outside the
    workflow.
    """

    def __init__(self, directory: str | Path | None, name: str, depends_on: Any) -> None:
        self.path: Path | None = None
        self._log: AppendLog | None = None
        self.done: dict[Hashable, Any] = {}
        if directory is None:
            return
        directory = Path(directory)
        self.path = directory / f"{name}.{stable_hash(depends_on, HASH_LENGTH)}.jsonl"
        for stale in directory.glob(f"{glob.escape(name)}.{'[0-9a-f]' * HASH_LENGTH}.jsonl"):
            if stale != self.path:
                stale.unlink()
        self._log = AppendLog(self.path)
        # A batch rerun after a kill in the middle of its append is appended again: last one wins.
        self.done = {_hashable(r["key"]): r["result"] for r in self._log.records()}

    @classmethod
    def in_memory(cls) -> ProgressFile:
        """Results kept in memory only: the same loop where nothing resumes."""
        return cls(None, "", None)

    def resumed(self, keys: Iterable[Hashable], unit: str) -> int:
        """How many of `keys` are done; says so on stderr (the job's log) when some are."""
        keys = list(keys)
        count = sum(key in self.done for key in keys)
        if count:
            print(f"resuming: {count} of {len(keys)} {unit} already done", file=sys.stderr)
        return count

    def batches(
        self, items: Sequence[T], size: int, key: Callable[[T], Hashable] | None = None
    ) -> list[Sequence[T]]:
        """The batches of `size` items (their own keys unless `key` is given) not all done.

        Batches are cut from the whole of `items`, so a batch holds the same items however often
        the job was killed (a batched engine's output may depend on its batch's other requests).
        """
        if size < 1:
            raise ValueError(f"batch size must be at least 1, got {size}")
        key_of = key or (lambda item: item)
        batches = (items[start : start + size] for start in range(0, len(items), size))
        return [batch for batch in batches if not all(key_of(item) in self.done for item in batch)]

    def append(self, results: Iterable[tuple[Hashable, Any]]) -> None:
        """Record (key, result) pairs of a finished batch; on disk before this returns."""
        results = list(results)
        if self._log is not None:
            self._log.append({"key": key, "result": result} for key, result in results)
        self.done.update(results)

    def results(self, keys: Iterable[Hashable]) -> list[Any]:
        """The results of `keys`, in their order (every one must be done)."""
        return [self.done[key] for key in keys]

    def close(self) -> None:
        if self._log is not None:
            self._log.close()

    def finish(self) -> None:
        """Delete the progress file: call it once the job's outputs are written."""
        self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> ProgressFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
