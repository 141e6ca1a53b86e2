from pathlib import Path

import pytest
import yaml

from compress_distill.config import ConfigError, validate_config
from compress_distill.grid import (
    Run,
    compressor_of,
    config_runs,
    dropping_compressors,
    expand_grid,
    run_settings,
    variant_kind,
    variant_sort_key,
)

ROOT = Path(__file__).resolve().parents[2]
# 7 truncation ablations: compressor A for all four students, compressor B for three.
ABLATIONS = [("compA", s) for s in ("s08", "s2", "s4", "s9")] + [
    ("compB", s) for s in ("s08", "s2", "s4")
]


def _config(name="config.yaml", edit=None):
    config = yaml.safe_load((ROOT / name).read_text())
    if edit:
        edit(config)
    return validate_config(config, ROOT / "schemas/config.schema.yaml", ROOT)


def test_demo_grid_is_two_teachers_six_variants_two_modes():
    runs = config_runs(_config())
    assert len(runs) == 2 * 6 * 1 * 2 * 1
    assert {run.mode for run in runs} == {"full", "lora"}
    assert {run.variant for run in runs} == {
        "raw",
        "extractive",
        "prune",
        "truncated-extractive",
        "truncated-prune",
        "answer-only",
    }


def test_paper_shaped_grid_48_main_runs_plus_7_ablations():
    axes = {
        "teacher": ["qwen", "gptoss"],
        "variant": ["raw", "compA", "compB"],
        "student": ["s08", "s2", "s4", "s9"],
        "mode": ["full", "lora"],
        "regime": [1000],
    }
    ablations = [
        {
            "teacher": "qwen",
            "variant": f"truncated-{c}",
            "student": s,
            "mode": "full",
            "regime": 1000,
        }
        for c, s in ABLATIONS
    ]
    runs = expand_grid(axes, extra=ablations)
    assert len(runs) == 48 + 7
    assert len(set(runs)) == len(runs)


def test_exclusions_and_extra_runs_without_duplicates():
    axes = {
        "teacher": ["a"],
        "variant": ["raw", "x"],
        "student": ["s"],
        "mode": ["full", "lora"],
        "regime": [10, 20],
    }
    runs = expand_grid(
        axes,
        exclude=[{"variant": "x", "mode": "lora"}, {"regime": [20], "mode": "full"}],
        extra=[{"teacher": "a", "variant": "raw", "student": "s", "mode": "full", "regime": 10}],
    )
    assert Run("a", "x", "s", "lora", 10) not in runs
    assert Run("a", "raw", "s", "full", 20) not in runs
    assert len(runs) == 8 - 2 - 2  # (x, lora) x 2 regimes; (full, 20) x 2 variants; extra is there
    assert runs[0].path == "a/raw/s/full/10"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(grid={"teachers": ["nobody"]}), "config key 'grid.teachers.0'"),
        (lambda c: c.update(grid={"variants": ["truncated-x"]}), "undefined variant"),
        (lambda c: c.update(grid={"regimes": [7]}), "not in training_sets.regimes"),
        (
            lambda c: c.update(grid={"exclude": [{"student": ["tiny", "huge"]}]}),
            "config key 'grid.exclude.0.student': undefined student 'huge'",
        ),
        (
            lambda c: c.update(
                grid={
                    "extra": {
                        "ablation": {
                            "teacher": "verbose",
                            "variant": "raw",
                            "student": "tiny",
                            "mode": "full",
                            "regime": 5,
                        }
                    }
                }
            ),
            "config key 'grid.extra.ablation.regime'",
        ),
    ],
)
def test_grid_references_are_checked(edit, message):
    with pytest.raises(ConfigError, match=message):
        _config(edit=edit)


def test_variant_order():
    variants = ["answer-only", "truncated-b", "b", "truncated-a", "raw", "a"]
    assert sorted(variants, key=variant_sort_key) == [
        "raw",
        "a",
        "b",
        "truncated-a",
        "truncated-b",
        "answer-only",
    ]


def test_variant_kind_and_compressor():
    assert [variant_kind(v) for v in ("raw", "ext", "truncated-ext", "answer-only")] == [
        "raw",
        "compressed",
        "truncated",
        "answer-only",
    ]
    assert [compressor_of(v) for v in ("raw", "ext", "truncated-ext", "answer-only")] == [
        None,
        "ext",
        "ext",
        None,
    ]


def test_dropping_compressors_are_those_with_the_drop_policy():
    compressors = {"a": {"answer_policy": "append"}, "b": {"answer_policy": "drop"}}
    assert dropping_compressors(compressors) == ["b"]


def test_run_settings_merge_student_mode_and_budget():
    student = {
        "training": {"learning_rate": 1e-3, "max_length": 512},
        "lora": {"learning_rate": 2e-3},
    }
    student["full"] = {}
    by_epochs = run_settings(student, "lora", {"policy": "epochs", "epochs": 2})
    assert by_epochs == {"learning_rate": 2e-3, "max_length": 512, "epochs": 2}
    by_steps = run_settings(student, "full", {"policy": "steps", "steps": 30})
    assert by_steps == {"learning_rate": 1e-3, "max_length": 512, "max_steps": 30}
    with pytest.raises(ValueError, match="training mode"):
        run_settings(student, "qlora", {"policy": "epochs", "epochs": 1})
