import pytest

from compress_distill.compression import Compressor, compress_rows
from compress_distill.io import read_jsonl
from compress_distill.progress import ProgressFile

from .test_compression import ROWS


def _open(tmp_path, depends_on="v1", name="000"):
    return ProgressFile(tmp_path / ".progress", name, depends_on)


def test_resume_skips_whole_done_batches_and_keeps_tuple_keys(tmp_path):
    items = [("a", 0), ("a", 1), ("b", 0), ("b", 1), ("c", 0)]
    with _open(tmp_path) as progress:
        assert progress.batches(items, 2) == [items[0:2], items[2:4], items[4:5]]
        progress.append((item, {"n": i}) for i, item in enumerate(items[:3]))
    with _open(tmp_path) as progress:
        assert progress.resumed(items, "samples") == 3
        # The half-done batch runs whole again: its composition never depends on the kill.
        assert progress.batches(items, 2) == [items[2:4], items[4:5]]
        progress.append((item, {"n": i + 2}) for i, item in enumerate(items[2:]))
        assert progress.results(items) == [{"n": n} for n in range(5)]  # the last append wins
        progress.finish()
    assert not list((tmp_path / ".progress").iterdir())


def test_partial_line_is_dropped(tmp_path):
    with _open(tmp_path) as progress:
        progress.append([(0, "zero"), (1, "one")])
        path = progress.path
    with path.open("a") as handle:
        handle.write('{"key": 2, "res')  # what a SIGKILL in the middle of a write leaves
    with _open(tmp_path) as progress:
        assert progress.done == {0: "zero", 1: "one"}
        progress.append([(2, "two")])
    assert [r["key"] for r in read_jsonl(path)] == [0, 1, 2]


def test_changed_dependencies_delete_the_stale_file_only(tmp_path):
    with _open(tmp_path, "v1") as old, _open(tmp_path, "v1", name="000.b") as other:
        old.append([(0, "old")])
        other.append([(0, "other")])
    with _open(tmp_path, "v2") as new:
        assert new.done == {}
        assert not old.path.exists() and other.path.exists()
        assert new.path != old.path


def test_in_memory_keeps_nothing_on_disk(tmp_path):
    progress = ProgressFile.in_memory()
    progress.append([(0, "x")])
    assert progress.path is None and progress.results([0]) == ["x"]
    with pytest.raises(ValueError, match="at least 1"):
        progress.batches([0], 0)


class _Crash(RuntimeError):
    pass


class _LosingCompressor(Compressor):
    """Loses the answer of every third problem (dropped under "drop"), cuts the first line of the
    other traces; crashes once its `batches` are done."""

    kind = "losing-test"

    def __init__(self, batches: int) -> None:
        super().__init__()
        self.left = batches

    def compress(self, traces, contexts):
        if not self.left:
            raise _Crash
        self.left -= 1
        return [
            "no answer" if int(row["problem_id"][-1]) % 3 == 0 else trace.split("\n", 1)[-1]
            for trace, row in zip(traces, contexts, strict=True)
        ]

    def settings(self):
        return {}


def test_compress_rows_resumes_with_its_outcome_counts(tmp_path):
    rows = ROWS["verbose"][:20]
    reference = compress_rows(rows, _LosingCompressor(99), "drop", batch_size=3, progress=False)
    assert reference[1]["dropped"] and reference[1]["kept"]
    with _open(tmp_path) as progress, pytest.raises(_Crash):
        compress_rows(rows, _LosingCompressor(2), "drop", 3, progress=False, progress_file=progress)
    with _open(tmp_path) as progress:
        assert len(progress.done) == 6
        # Five batches left: one more (a done batch run again) would crash.
        resumed = compress_rows(
            rows, _LosingCompressor(5), "drop", 3, progress=False, progress_file=progress
        )
    assert resumed == reference
