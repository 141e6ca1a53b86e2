"""Atomic writes: whole files or none, with an ordinary file's permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from compress_distill.io import atomic_writer, read_jsonl, write_jsonl


def test_a_written_file_has_the_permissions_of_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        # The module reads the umask at import; a fresh read under 022 must give 0644.
        from compress_distill.io import _new_file_mode

        assert _new_file_mode() == 0o644
    finally:
        os.umask(old)
    path = tmp_path / "rows.jsonl"
    write_jsonl(path, [{"a": 1}])
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    write_jsonl(path, [{"a": 1}])
    with pytest.raises(RuntimeError), atomic_writer(path) as handle:
        handle.write('{"a": 2}\n')
        raise RuntimeError("killed mid-write")
    assert read_jsonl(path) == [{"a": 1}]
    assert [p.name for p in tmp_path.iterdir()] == ["rows.jsonl"]
