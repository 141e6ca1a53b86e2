"""Students' training: settings and jobs, completion-only loss, packing, LoRA adapters, determinism,
resume, launch. Tests that build or train a model are marked slow."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from compress_distill.io import read_json, write_json, write_jsonl
from compress_distill.students.tokenizers import build_char_tokenizer
from compress_distill.training import BASE_MODEL_FILE
from compress_distill.training.checkpoints import latest_checkpoint
from compress_distill.training.launch import launch_command, run_job
from compress_distill.training.records import (
    LOSS_FILE,
    METRICS_FILE,
    mean_loss_over_steps,
    weights_sha256,
)
from compress_distill.training.run import train
from compress_distill.training.settings import TrainJob, TrainSettings
from compress_distill.training.trainer import (
    load_trained_model,
    load_training_set,
    make_trainer,
    save_trained_model,
)
from compress_distill.training_sets import make_example

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]


def _examples(n: int, seed: int = 0, steps: int = 1) -> list[dict[str, Any]]:
    """Arithmetic chat examples; `steps` lengthens the completions."""
    rng = random.Random(seed)
    examples = []
    for i in range(n):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        lines = [f"Step {k + 1}: {a} + {b} = {a + b}." for k in range(steps)]
        examples.append(
            {
                "id": f"ex-{i}",
                "prompt": [{"role": "user", "content": f"Compute {a} + {b}.\n"}],
                "completion": [
                    {"role": "assistant", "content": "\n".join(lines) + f"\n\\boxed{{{a + b}}}"}
                ],
            }
        )
    return examples


def test_examples_longer_than_max_length_are_left_out_not_cut(tmp_path: Path) -> None:
    """Measured through the chat template, prompt included; a cut would fall on the answer."""
    tokenizer = build_char_tokenizer()
    path = tmp_path / "train.jsonl"
    examples = _examples(6, steps=1) + _examples(2, seed=1, steps=12)
    write_jsonl(path, examples)
    lengths = [
        len(tokenizer.apply_chat_template(e["prompt"] + e["completion"])["input_ids"])
        for e in examples
    ]
    max_length = max(lengths[:6])
    assert min(lengths[6:]) > max_length  # the two long ones do not fit
    dataset, too_long = load_training_set(path, tokenizer, max_length)
    assert (len(dataset), too_long) == (6, 2)
    assert all(row["completion"][0]["content"].endswith("}") for row in dataset)
    with pytest.raises(ValueError, match="all 8 examples are longer than the student's max_length"):
        load_training_set(path, tokenizer, 10)


def _reasoning_examples(n: int) -> list[dict[str, Any]]:
    """Chat examples whose reasoning is kept apart, as training sets write them for reasoning
    teachers."""
    return [
        make_example(
            f"r-{i}",
            f"What is {i} + {i}?",
            "{question}",
            f"The answer is \\boxed{{{2 * i}}}.",
            reasoning=f"{i} plus {i} makes {2 * i}.",
        )
        for i in range(n)
    ]


def test_a_template_without_a_place_for_reasoning_reads_it_first(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    write_jsonl(path, _reasoning_examples(3))
    dataset, _ = load_training_set(path, build_char_tokenizer(), 1024)
    (message,) = dataset[1]["completion"]
    assert message["content"] == "1 plus 1 makes 2.\n\nThe answer is \\boxed{2}."
    assert message.get("reasoning_content") is None


@pytest.mark.slow
@pytest.mark.parametrize("template", ["qwen3.jinja", "qwen3_5_think.jinja"])
def test_reasoning_in_the_students_think_block_and_the_loss_on_the_completion_only(
    template: str, tmp_path: Path
) -> None:
    """Qwen3's template adds <think> tags around the reasoning (and strips it from earlier
    turns); Qwen3.5's opens <think> in the generation prompt. Either way the loss must fall on
    exactly what follows the prompt as rendered for generation."""
    import trl

    from compress_distill.students.tiny_llama import build_tiny_llama

    tokenizer = build_char_tokenizer()
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.add_tokens(["<think>", "</think>"])
    tokenizer.eos_token = "<|im_end|>"
    tokenizer.chat_template = (Path(trl.__file__).parent / "chat_templates" / template).read_text()
    model_dir = build_tiny_llama(tmp_path / "model", tokenizer, seed=0)
    examples = _reasoning_examples(4)
    path = tmp_path / "train.jsonl"
    write_jsonl(path, examples)
    settings = TrainSettings(per_device_batch_size=4, max_steps=1)
    trainer = make_trainer(path, model_dir, tmp_path / "ckpt", "full", settings)
    batch = _first_batch(trainer)
    renders = {}
    for example in examples:
        prompt = tokenizer.apply_chat_template(
            example["prompt"], tokenize=False, add_generation_prompt=True
        )
        full = tokenizer.apply_chat_template(
            example["prompt"] + example["completion"], tokenize=False
        )
        assert full.startswith(prompt)
        renders[full] = full[len(prompt) :]
    for ids, labels in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True):
        text = tokenizer.decode(ids, skip_special_tokens=False)
        full = next(f for f in renders if text.startswith(f))
        learned = tokenizer.decode([t for t in labels if t != -100], skip_special_tokens=False)
        assert learned == renders[full]
        reasoning = full.split("<think>\n")[1].split("\n</think>")[0]
        assert reasoning.endswith("makes " + learned.split("boxed{")[1].split("}")[0] + ".")
        assert "</think>" in learned and learned.endswith("<|im_end|>\n")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    write_jsonl(path, _examples(24))
    return path


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """train(threads=1) sets torch's thread count for the whole process: restore it."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _tokenized(tokenizer: Any, example: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(prompt ids with the generation prompt, prompt+completion ids) under the chat template."""
    prompt = tokenizer.apply_chat_template(example["prompt"], add_generation_prompt=True)
    full = tokenizer.apply_chat_template(example["prompt"] + example["completion"])
    return list(prompt["input_ids"]), list(full["input_ids"])


def _first_batch(trainer: Any) -> dict[str, Any]:
    return next(iter(trainer.get_train_dataloader()))


def _check_labels(tokenizer: Any, examples: list, ids: list[int], labels: list[int]) -> None:
    """`ids` is one example's chat rendering: prompt labels -100, completion labels its ids."""
    by_ids = {tuple(_tokenized(tokenizer, ex)[1]): ex for ex in examples}
    assert tuple(ids) in by_ids, "a training sequence is not one example's chat rendering"
    prompt, full = _tokenized(tokenizer, by_ids[tuple(ids)])
    assert full[: len(prompt)] == prompt
    assert labels[: len(prompt)] == [-100] * len(prompt)
    assert labels[len(prompt) :] == full[len(prompt) :]
    # The completion ends with EOS, which the student must learn to emit.
    assert labels[-1] == tokenizer.eos_token_id


def test_settings_from_config() -> None:
    settings = TrainSettings.from_config({"learning_rate": "1e-3", "max_steps": 5})
    assert settings.learning_rate == 1e-3 and settings.max_steps == 5
    with pytest.raises(ValueError, match=r"unknown training setting\(s\) \['lr'\]"):
        TrainSettings.from_config({"lr": 1e-3})
    with pytest.raises(ValueError, match="warmup_ratio"):
        TrainSettings.from_config({"warmup_ratio": 1.5})


def test_job_spec_round_trips_and_its_errors_name_file_and_key(tmp_path: Path) -> None:
    settings = TrainSettings(max_steps=3, lora_target_modules=["q_proj", "v_proj"])
    job = TrainJob("d.jsonl", "base", "out", "ckpt", "lora", settings, 2, metrics_path="m.json")
    assert job.out_dir == Path("out") and job.loss_path is None  # paths, given as strings
    spec = tmp_path / "spec.json"
    job.to_json(spec)
    assert TrainJob.from_json(spec) == job
    with pytest.raises(ValueError, match="training mode must be one of"):
        TrainJob("d.jsonl", "base", "out", "ckpt", "qlora", settings)

    good = read_json(spec)
    bad_specs = [
        ({k: v for k, v in good.items() if k != "dataset_path"}, r"spec has no \['dataset_path'\]"),
        (good | {"gpus": 2}, r"unknown spec key\(s\) \['gpus'\]"),
        (good | {"mode": "qlora"}, "training mode must be one of"),
        (good | {"settings": {"lr": 1}}, r"settings: unknown training setting\(s\) \['lr'\]"),
        (good | {"out_dir": None}, "out_dir must be a path"),
    ]
    for bad, message in bad_specs:
        write_json(spec, bad)
        with pytest.raises(ValueError, match=message) as error:
            TrainJob.from_json(spec)
        assert str(error.value).startswith(f"{spec}: ")


@pytest.mark.slow
def test_completion_only_masking(dataset: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = TrainSettings(per_device_batch_size=6, max_steps=1)
    trainer = make_trainer(dataset, tiny_model_dir, tmp_path / "ckpt", "full", settings)
    batch = _first_batch(trainer)
    tokenizer = trainer.processing_class
    examples = [json.loads(line) for line in dataset.read_text().splitlines()]
    assert batch["input_ids"].shape[0] == 6
    rows = (batch["input_ids"].tolist(), batch["attention_mask"].tolist(), batch["labels"].tolist())
    for ids, mask, labels in zip(*rows, strict=True):
        length = sum(mask)
        assert mask == [1] * length + [0] * (len(mask) - length)  # padded on the right
        assert labels[length:] == [-100] * (len(mask) - length)  # no loss on padding
        _check_labels(tokenizer, examples, ids[:length], labels[:length])


@pytest.mark.slow
def test_packing_keeps_examples_apart(dataset: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = TrainSettings(per_device_batch_size=1, max_length=128, packing=True, max_steps=1)
    trainer = make_trainer(dataset, tiny_model_dir, tmp_path / "ckpt", "full", settings)
    batch = _first_batch(trainer)
    tokenizer = trainer.processing_class
    examples = [json.loads(line) for line in dataset.read_text().splitlines()]
    # Padding-free: one flat row, position ids restarting at each example, no attention mask
    # (so transformers builds a block-diagonal causal mask from the position ids).
    assert "attention_mask" not in batch
    ids, positions = batch["input_ids"][0].tolist(), batch["position_ids"][0].tolist()
    labels = batch["labels"][0].tolist()
    starts = [i for i, p in enumerate(positions) if p == 0]
    assert len(starts) >= 2 and starts[0] == 0
    bounds = list(zip(starts, [*starts[1:], len(ids)], strict=True))
    for start, end in bounds:
        assert positions[start:end] == list(range(end - start))
        assert labels[start] == -100  # nothing predicts an example's first token
        _check_labels(tokenizer, examples, ids[start:end], labels[start:end])

    # Each example's logits in the packed row equal those of the example alone.
    model = trainer.model.eval()
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
        plain = model(input_ids=batch["input_ids"]).logits  # one causal sequence, for contrast
        for start, end in bounds:
            alone = model(input_ids=batch["input_ids"][:, start:end]).logits
            torch.testing.assert_close(packed[:, start:end], alone, atol=1e-5, rtol=1e-5)
        start, end = bounds[1]
        alone = model(input_ids=batch["input_ids"][:, start:end]).logits
        assert not torch.allclose(plain[:, start:end], alone, atol=1e-3)


@pytest.mark.slow
def test_grouped_batches_pad_less_and_cover_every_example(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.jsonl"
    examples = [ex for i in range(16) for ex in _examples(1, seed=i, steps=1 + (i * 7) % 6)]
    for i, example in enumerate(examples):
        example["id"] = f"ex-{i}"
    write_jsonl(path, examples)

    def padding_and_ids(group_by_length: bool) -> tuple[int, list[tuple[int, ...]]]:
        settings = TrainSettings(per_device_batch_size=2, group_by_length=group_by_length)
        trainer = make_trainer(
            path, tiny_model_dir, tmp_path / str(group_by_length), "full", settings
        )
        padding, seen = 0, []
        for batch in trainer.get_train_dataloader():
            mask = batch["attention_mask"]
            padding += int((mask == 0).sum())
            seen += [
                tuple(ids[m.bool()].tolist())
                for ids, m in zip(batch["input_ids"], mask, strict=True)
            ]
        return padding, sorted(seen)

    random_padding, random_seen = padding_and_ids(False)
    grouped_padding, grouped_seen = padding_and_ids(True)
    assert grouped_seen == random_seen, "the same examples, once each"
    assert grouped_padding < random_padding


@pytest.mark.slow
def test_lora_adapter_reloads_on_its_base(
    dataset: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    settings = TrainSettings(learning_rate=1e-2, max_steps=3, per_device_batch_size=4, lora_r=4)
    trainer = make_trainer(dataset, tiny_model_dir, tmp_path / "ckpt", "lora", settings)
    trainer.train()
    out = tmp_path / "adapter"
    save_trained_model(trainer, out, tiny_model_dir)

    pointer = read_json(out / BASE_MODEL_FILE)
    assert pointer == {
        "base_model": str(tiny_model_dir),
        "weights_sha256": weights_sha256(tiny_model_dir),
    }
    assert (out / "adapter_config.json").exists() and (out / "adapter_model.safetensors").exists()
    reloaded, tokenizer = load_trained_model(out)
    assert tokenizer.chat_template == trainer.processing_class.chat_template
    probe = torch.tensor([[1, 5, 35, 21, 19, 22, 27, 26, 2, 6, 40, 41]])
    with torch.no_grad():
        trained_logits = trainer.model.eval()(input_ids=probe).logits
        reloaded_logits = reloaded(input_ids=probe).logits
        with reloaded.disable_adapter():
            base_logits = reloaded(input_ids=probe).logits
    torch.testing.assert_close(reloaded_logits, trained_logits, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(reloaded_logits, base_logits, atol=1e-4)  # the adapter matters


@pytest.mark.slow
def test_same_seed_same_loss(dataset: Path, tiny_model_dir: Path, tmp_path: Path) -> None:
    settings = TrainSettings(
        learning_rate=5e-3, max_steps=6, per_device_batch_size=4, logging_steps=2, lora_r=4
    )
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        metrics = train(
            TrainJob(dataset, tiny_model_dir, out, tmp_path / f"ckpt-{name}", "lora", settings, 1)
        )
        runs.append(metrics)
        assert read_json(out / METRICS_FILE) == metrics
        assert (out / BASE_MODEL_FILE).exists() and (out / "adapter_model.safetensors").exists()
        assert (out / LOSS_FILE).read_text().splitlines()[0].startswith("step,epoch,loss")
        assert not (tmp_path / f"ckpt-{name}").exists()  # removed once the output is written
    a, b = runs
    assert a["steps"] == b["steps"] == 6
    assert a["final_loss"] == b["final_loss"]  # bitwise: same seed, threads and CPU kernels
    assert a["mean_loss_all_steps"] == b["mean_loss_all_steps"]
    assert a["train_tokens"] == b["train_tokens"] > a["train_completion_tokens"] > 0
    assert a["trainable_parameters"] < a["parameters"]


@pytest.mark.slow
def test_killed_run_resumes_from_its_checkpoint(tiny_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    write_jsonl(data, _examples(48, seed=1, steps=2))
    settings = TrainSettings(
        learning_rate=2e-3,
        max_steps=24,
        per_device_batch_size=4,
        logging_steps=4,
        save_steps=4,
        seed=3,
    )
    out, ckpt, spec = tmp_path / "out", tmp_path / "ckpt", tmp_path / "spec.json"
    # The train rule's layout: metrics and loss curve beside the model folder, not in it.
    metrics_path, loss_path = tmp_path / METRICS_FILE, tmp_path / LOSS_FILE
    TrainJob(data, tiny_model_dir, out, ckpt, "full", settings, 1, metrics_path, loss_path).to_json(
        spec
    )
    command = launch_command(spec, 1, "ddp", ROOT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    with (tmp_path / "first.log").open("w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while latest_checkpoint(ckpt) is None and proc.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint after 120 s"
            time.sleep(0.02)
        proc.kill()  # SIGKILL: no cleanup, like a node failure or an out-of-memory kill
        proc.wait()
    assert not out.exists(), "the first run finished before it could be killed"
    killed_at = latest_checkpoint(ckpt)
    assert killed_at is not None

    second = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming from" in second.stderr
    resumed = read_json(metrics_path)
    assert not (out / METRICS_FILE).exists() and (out / "model.safetensors").exists()
    assert resumed["steps"] == resumed["planned_steps"] == 24
    assert resumed["attempts"] == 2 and resumed["resumed_from"] is not None
    assert resumed["wall_time_all_attempts_s"] > resumed["wall_time_s"]

    reference = train(
        TrainJob(data, tiny_model_dir, tmp_path / "ref", tmp_path / "ref-ckpt", "full", settings, 1)
    )
    # Model, optimizer, scheduler and RNG states come back from the checkpoint and the data order
    # is seeded per epoch, so on CPU with the same thread count the resumed run is bitwise equal.
    assert resumed["final_loss"] == reference["final_loss"]
    assert resumed["train_tokens"] == reference["train_tokens"]
    assert resumed["mean_loss_all_steps"] == reference["mean_loss_all_steps"]
    assert loss_path.read_text() == (tmp_path / "ref" / LOSS_FILE).read_text()


def test_latest_checkpoint_skips_incomplete(tmp_path: Path) -> None:
    for step, state in ((4, "{}"), (8, "{}"), (12, '{"global_st')):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "trainer_state.json").write_text(state)
    (tmp_path / "checkpoint-16").mkdir()  # killed before its trainer state was written
    assert latest_checkpoint(tmp_path) == tmp_path / "checkpoint-8"
    assert latest_checkpoint(tmp_path / "missing") is None


def test_mean_loss_over_steps_weights_windows() -> None:
    rows = [{"step": 1, "loss": 4.0}, {"step": 5, "loss": 2.0}, {"step": 10, "loss": 1.0}]
    assert mean_loss_over_steps(rows) == pytest.approx((4.0 + 4 * 2.0 + 5 * 1.0) / 10)
    assert mean_loss_over_steps([]) is None


def _parsed_launch(command: list[str]) -> Any:
    """A launch command's arguments as `accelerate launch` reads them, its config file read in."""
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    assert command[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    parsed, _, _ = _validate_launch_command(launch_command_parser().parse_args(command[3:]))
    return parsed


def test_launch_command(tmp_path: Path) -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    spec = tmp_path / "spec.json"
    module = ["-m", "compress_distill.training", "--spec", str(spec)]
    assert launch_command(spec, 0, "ddp", ROOT) == [sys.executable, *module]
    assert launch_command(spec, 1, "fsdp", ROOT) == [sys.executable, *module]

    ddp = launch_command(spec, 4, "ddp", ROOT)
    assert ddp[-len(module) :] == module
    fsdp = launch_command(spec, 2, "fsdp", ROOT)
    for command, strategy in ((ddp, "ddp"), (fsdp, "fsdp")):
        config = command[command.index("--config_file") + 1]
        assert config == str(ROOT / "configs" / "accelerate" / f"{strategy}.yaml")
        assert load_config_from_file(config).num_machines == 1
    # accelerate itself accepts every flag; with the config file read in, as `accelerate launch`:
    parsed = _parsed_launch(ddp)
    assert parsed.num_processes == 4 and parsed.multi_gpu and not parsed.use_fsdp
    assert parsed.module and parsed.training_script == "compress_distill.training"
    assert parsed.training_script_args == ["--spec", str(spec)]
    assert parsed.main_process_port == 0  # the launcher picks a free one
    # Precision comes from the training settings (bf16), not from the launcher.
    assert parsed.mixed_precision == "no" and parsed.dynamo_backend == "no"
    parsed = _parsed_launch(fsdp)
    assert parsed.num_processes == 2 and parsed.use_fsdp and not parsed.multi_gpu
    assert parsed.fsdp_version == 2 and parsed.fsdp_state_dict_type == "FULL_STATE_DICT"
    assert parsed.fsdp_auto_wrap_policy == "TRANSFORMER_BASED_WRAP"
    assert parsed.mixed_precision == "no"
    with pytest.raises(ValueError, match="strategy"):
        launch_command(spec, 2, "deepspeed", ROOT)
    with pytest.raises(FileNotFoundError, match="no accelerate config"):
        launch_command(spec, 2, "ddp", tmp_path)


def test_each_launch_gets_a_free_rendezvous_port(tmp_path: Path) -> None:
    """What the launcher hands torchrun (prepare_multi_gpu_env, as in `accelerate launch`): a port
    no one holds, found anew for each launch, not the fixed default two jobs would both take."""
    import socket

    from accelerate.utils.launch import prepare_multi_gpu_env

    command = launch_command(tmp_path / "spec.json", 2, "ddp", ROOT)
    ports = []
    for _ in range(2):
        parsed = _parsed_launch(command)
        prepare_multi_gpu_env(parsed)
        ports.append(int(parsed.master_port))
    for port in ports:
        assert port not in (0, 29500)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # free: nothing listens on it


def test_fsdp_on_the_cpu_is_refused_not_run_as_ddp(tmp_path: Path) -> None:
    job = TrainJob("d.jsonl", "base", tmp_path / "out", tmp_path / "ckpt", "full", TrainSettings())
    with pytest.raises(ValueError, match="fsdp needs GPUs"):
        run_job(job, 2, "fsdp", ROOT)
    assert not (tmp_path / "ckpt").exists()  # refused before writing the spec


def _loss_rows(path: Path) -> list[dict[str, float]]:
    with path.open(newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(handle)]


@pytest.mark.slow
def test_two_processes_train_like_one_on_the_same_global_batch(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """The train rule's several-GPU path (spec, `accelerate launch`, DDP), on the CPU over gloo: two
    processes of 4 examples match one process of 8, step by step. Two such jobs run at once, as
    two train jobs on one node do, and do not collide on their rendezvous port.

    Tolerance rtol 1e-5: each step sees the same 8 examples (the launcher hands each process every
    other batch of the same seeded order) and the loss is the mean over the global batch's
    completion tokens either way; only float32 summation order differs (padding to 4 vs 8
    examples' longest, gradients summed by all-reduce vs in one backward), measured at ~1e-7
    relative over 4 steps. Processes training alone, or averaging per process instead of per
    token, differ by 1e-3 or more from the first step.
    """
    data = tmp_path / "train.jsonl"
    write_jsonl(data, _examples(32, seed=1, steps=2))

    def job(name: str, batch: int) -> TrainJob:
        settings = TrainSettings(
            learning_rate=2e-3,
            max_steps=4,
            per_device_batch_size=batch,
            logging_steps=1,
            save_steps=100,
            seed=3,
        )
        return TrainJob(
            data, tiny_model_dir, tmp_path / name, tmp_path / f"{name}-ckpt", "full", settings, 1
        )

    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(run_job, job(name, 4), 2, "ddp", ROOT) for name in ("a", "b")]
        for run in runs:
            run.result()
    run_job(job("one", 8), 1, "ddp", ROOT)

    metrics = {name: read_json(tmp_path / name / METRICS_FILE) for name in ("a", "b", "one")}
    assert metrics["a"]["num_processes"] == 2 and metrics["a"]["distributed_type"] == "MULTI_CPU"
    assert metrics["one"]["num_processes"] == 1
    # Token counts are summed over the processes.
    assert metrics["a"]["train_tokens"] == metrics["one"]["train_tokens"] > 0
    assert not (tmp_path / "a-ckpt").exists()  # spec and checkpoints gone once the output is out
    losses = {name: _loss_rows(tmp_path / name / LOSS_FILE) for name in ("a", "b", "one")}
    assert losses["a"] == losses["b"]  # concurrent jobs, each whole and deterministic
    assert [row["step"] for row in losses["a"]] == [1, 2, 3, 4]
    for two, one in zip(losses["a"], losses["one"], strict=True):
        assert two["loss"] == pytest.approx(one["loss"], rel=1e-5)
        assert two["grad_norm"] == pytest.approx(one["grad_norm"], rel=1e-5)


@pytest.mark.slow
def test_lora_on_a_real_pretrained_checkpoint(smollm2_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    write_jsonl(data, _examples(8))
    settings = TrainSettings(
        learning_rate=1e-3,
        max_steps=2,
        per_device_batch_size=4,
        max_length=96,
        logging_steps=1,
        lora_r=4,
        lora_alpha=8,
        lora_target_modules=["q_proj", "v_proj"],
    )
    out = tmp_path / "adapter"
    metrics = train(TrainJob(data, smollm2_dir, out, tmp_path / "ckpt", "lora", settings, 2))
    assert metrics["steps"] == 2 and metrics["final_loss"] > 0
    assert metrics["trainable_parameters"] < metrics["parameters"] / 100
    assert read_json(out / BASE_MODEL_FILE)["base_model"] == str(smollm2_dir)
    model, tokenizer = load_trained_model(out)
    assert "<|im_start|>assistant" in tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False
    )
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert lora_b and any(p.abs().sum() > 0 for p in lora_b)  # trained (LoRA B starts at zero)
