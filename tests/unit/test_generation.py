import pytest

from compress_distill.engines import make_engine
from compress_distill.generation import build_messages, generate_shard, shard_slice
from compress_distill.io import InputError, read_jsonl
from compress_distill.tasks.arithmetic import ArithmeticSpec, make_problems

PROBLEMS = make_problems(ArithmeticSpec(), "train", 40, seed=2)
TEACHER = {
    "engine": "scripted",
    "engine_args": {"style": "verbose", "seed": 1},
    "sampling": {"max_tokens": 4096},
    "samples": 2,
    "shards": 3,
    "batch_size": 4,
}


def _run(tmp_path, shard=0, make=None, teacher=TEACHER, name="out.jsonl"):
    engine = make or (lambda: make_engine("scripted", None, teacher["engine_args"]))
    out = tmp_path / name
    stats = generate_shard(
        PROBLEMS, engine, "t", teacher, "{question}", shard, out, tmp_path / ".progress"
    )
    return out, stats


def test_shards_partition_the_problems():
    parts = [range(103)[shard_slice(103, 4, s)] for s in range(4)]
    assert [i for part in parts for i in part] == list(range(103))
    with pytest.raises(ValueError):
        shard_slice(10, 2, 2)


def test_messages_keep_latex_braces():
    messages = build_messages("What is 1+1?", "{question} Put it in \\boxed{}.", "Be brief.")
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[1]["content"] == "What is 1+1? Put it in \\boxed{}."


def test_rows_carry_engine_and_sampling(tmp_path):
    out, stats = _run(tmp_path, shard=1)
    rows = read_jsonl(out)
    ids = [p["id"] for p in PROBLEMS[shard_slice(40, 3, 1)]]
    assert [(r["problem_id"], r["sample_index"]) for r in rows] == [
        (i, s) for i in ids for s in (0, 1)
    ]
    assert stats == {"samples": len(rows), "resumed": 0, "generated": len(rows)}
    row = rows[0]
    assert row["engine"] == "scripted" and row["engine_version"] and row["model"] == "scripted"
    assert row["sampling"]["max_tokens"] == 4096
    assert row["gold"] == PROBLEMS[int(ids[0][-5:])]["answer"]
    assert not list((tmp_path / ".progress").iterdir())  # progress removed once the shard is whole


class _Crash(RuntimeError):
    pass


def test_resume_after_crash_is_byte_identical(tmp_path):
    reference, _ = _run(tmp_path, name="reference.jsonl")
    calls = {"n": 0}

    def crashing_engine():
        engine = make_engine("scripted", None, TEACHER["engine_args"])
        generate = engine.generate

        def generate_then_crash(requests, sampling):
            calls["n"] += 1
            if calls["n"] == 3:
                raise _Crash
            return generate(requests, sampling)

        engine.generate = generate_then_crash
        return engine

    with pytest.raises(_Crash):
        _run(tmp_path, make=crashing_engine, name="resumed.jsonl")
    assert not (tmp_path / "resumed.jsonl").exists()
    progress = next((tmp_path / ".progress").iterdir())
    assert len(read_jsonl(progress)) == 2 * TEACHER["batch_size"]
    # A partial line, as a SIGKILL mid-write leaves, is dropped on resume.
    with progress.open("a") as handle:
        handle.write('{"problem_id": "arith-tr')
    out, stats = _run(tmp_path, name="resumed.jsonl")
    assert stats["resumed"] == 8 and stats["generated"] == stats["samples"] - 8
    assert out.read_bytes() == reference.read_bytes()


def test_changed_settings_do_not_resume_stale_rows(tmp_path):
    _run(tmp_path)
    other = TEACHER | {"engine_args": {"style": "concise", "seed": 1}}
    _, stats = _run(tmp_path, teacher=other)
    assert stats["resumed"] == 0


def test_duplicate_problem_ids_are_an_error(tmp_path):
    problems = [*PROBLEMS, PROBLEMS[0]]
    with pytest.raises(InputError, match="duplicate problem id"):
        generate_shard(problems, lambda: None, "t", TEACHER, "{q}", 0, tmp_path / "o", tmp_path)
