"""File I/O with the workflow's guarantees: errors name the file and line, writes are atomic."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """Bad input data; the message names the file and, where there is one, the line."""


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) for each non-blank line; a malformed line names file:line."""
    path = Path(path)
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{path}:{lineno}: malformed JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise InputError(
                    f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}"
                )
            yield lineno, record


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return [record for _, record in iter_jsonl(path)]


def require_fields(record: dict[str, Any], fields: Iterable[str], where: str) -> None:
    """Raise an InputError naming `where` (file:line or record id) for the first missing field."""
    for field in fields:
        if field not in record or record[field] is None:
            raise InputError(f"{where}: record has no '{field}' field")


def dumps(record: dict[str, Any]) -> str:
    """One canonical JSON line: stable key order, so equal records give equal bytes."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def _new_file_mode() -> int:
    """The mode open() gives a new file under this process's umask (mkstemp's is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# Read once, at import: os.umask can only be read by setting it.
NEW_FILE_MODE = _new_file_mode()


@contextlib.contextmanager
def atomic_writer(path: str | Path, mode: str = "w") -> Iterator[Any]:
    """Write a temporary file beside `path`, fsync, then rename: readers never see half a file.
    The file gets an ordinary file's permissions, so others sharing a results folder can read it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, NEW_FILE_MODE)
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Atomically write records as JSONL; returns the number written."""
    count = 0
    with atomic_writer(path) as handle:
        for record in records:
            handle.write(dumps(record) + "\n")
            count += 1
    return count


def write_json(path: str | Path, data: Any) -> None:
    with atomic_writer(path) as handle:
        json.dump(data, handle, indent=2, sort_keys=True, ensure_ascii=False)
        handle.write("\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}:{err.lineno}: malformed JSON ({err.msg})") from None


class AppendLog:
    """An append-only JSONL progress file that survives SIGKILL.

    Each record is one line, flushed and fsynced before `append` returns. A partial last line (the
    process died mid-write) is cut off when the log is opened, so a resumed job never reads it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_partial_tail()
        self._handle = self.path.open("a", encoding="utf-8")

    def _drop_partial_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            with self.path.open("r+b") as handle:
                handle.truncate(end)

    def records(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self._handle.write(dumps(record) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def stable_hash(data: Any, length: int = 16) -> str:
    """Hash of a JSON-serialisable value, independent of key order."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


# --- output folders ---------------------------------------------------------------------------


def partial_dir(out_dir: Path) -> Path:
    """Where an output folder is built before publish_dir renames it into place: beside it, so the
    rename stays on one file system, and hidden, so nothing mistakes it for the output."""
    return out_dir.parent / f".{out_dir.name}.partial"


def publish_dir(tmp: Path, out_dir: Path) -> None:
    """Rename the finished temporary folder to out_dir (replacing a stale one): readers see the
    whole folder or none of it."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
