import pytest

from compress_distill.engines import Completion, Engine, Request, SamplingSettings, make_engine
from compress_distill.generation import (
    build_messages,
    generate_shard,
    shard_slice,
    teacher_engine_args,
    trace_text,
)
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


def test_scripted_rows_have_no_reasoning_and_the_same_completion(tmp_path):
    out, _ = _run(tmp_path)
    rows = read_jsonl(out)
    engine = make_engine("scripted", None, TEACHER["engine_args"])
    for row in rows:
        assert row["reasoning"] is None and row["reasoning_parser"] == "none"
        assert row["response"] == row["completion"]
        assert row["prompt_tokens"] is None and row["finish_reason"] == "stop"
    # The completion is what the scripted teacher writes, as before the split.
    problem = PROBLEMS[0]
    [c] = engine.generate([Request([], problem, 1)], SamplingSettings(max_tokens=4096))
    row = next(r for r in rows if (r["problem_id"], r["sample_index"]) == (problem["id"], 1))
    assert row["completion"] == c.text and row["output_tokens"] == c.output_tokens


class _Thinker(Engine):
    """Completions as a reasoning model's engine returns them, split or not."""

    name = "thinker"

    def generate(self, requests, sampling):
        return [
            Completion("\n\nSo \\boxed{4}.", 30, "stop", "\n2 + 2 = 4.\n", "qwen3", 12),
            Completion("", 64, "length", "2 + 2 is", "qwen3", 12),
            Completion("\\boxed{4}", 5, "stop", None, "qwen3", 12),
        ][: len(requests)]

    def info(self):
        return {"engine": "thinker", "model": "m", "engine_version": "0"}


def test_rows_keep_reasoning_and_response_apart(tmp_path):
    teacher = TEACHER | {"samples": 3, "shards": 1, "batch_size": 3}
    out, _ = _run(tmp_path, make=_Thinker, teacher=teacher)
    first, cut, plain = read_jsonl(out)[:3]
    assert first["reasoning"] == "\n2 + 2 = 4.\n" and first["response"] == "\n\nSo \\boxed{4}."
    assert first["completion"] == "2 + 2 = 4.\n\nSo \\boxed{4}."  # reasoning, blank line, response
    assert (first["reasoning_parser"], first["prompt_tokens"], first["output_tokens"]) == (
        "qwen3",
        12,
        30,
    )
    assert cut["completion"] == "2 + 2 is" and cut["finish_reason"] == "length"
    assert plain["completion"] == plain["response"] == "\\boxed{4}" and plain["reasoning"] is None


def test_trace_text_and_teacher_engine_args():
    assert trace_text(None, "  as written ") == "  as written "
    assert trace_text("think\n", "\n\nanswer") == "think\n\nanswer"
    assert trace_text("", "answer") == "answer"
    assert teacher_engine_args(TEACHER) == {"reasoning_parser": "auto", **TEACHER["engine_args"]}
    named = TEACHER | {"engine_args": {"reasoning_parser": "harmony"}}
    assert teacher_engine_args(named) == {"reasoning_parser": "harmony"}
