"""The reproducibility bundle: one archive to check and rebuild a run's tables, figures and report.

Layout of the archive (one top folder, BUNDLE_DIR):

    README.md          what is here, how to verify and regenerate
    MANIFEST.sha256    sha256 of every other file (`sha256sum -c MANIFEST.sha256`)
    LARGE.sha256       the large artifacts left out (weights, traces, data sets, predictions)
    results/           config.yaml, tables, figures, report.html, per-run metrics, stats and
                       summaries, and every job's provenance record (*.prov.json)
    cards/             data cards of every problem set and training set
    workflow/          the workflow's tracked files as they ran, COMMIT.json (+ workflow.diff
                       against the commit when the tree was dirty)
    environment/       requirements.lock (every installed distribution, exact) and platform.json

Command line: `python -m compress_distill.bundle check DIR` checks an unpacked bundle against its
manifest; `python -m compress_distill.bundle regenerate DIR` rebuilds its tables, figures and
report with its own workflow and checks that the tables come out equal.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from compress_distill.grid import compressor_of
from compress_distill.io import atomic_writer, iter_jsonl, read_json, sha256_file, write_json
from compress_distill.provenance import COMMIT_FILE, SUFFIX, code_version, hardware

BUNDLE_DIR = "compress-distill-bundle"
MANIFEST = "MANIFEST.sha256"
LARGE = "LARGE.sha256"
# Under results/: not artifacts (logs may hold anything a library printed; checkpoints are
# training state) or the bundle itself.
SKIPPED = frozenset({"logs", "checkpoints", "bundle"})
# Folders of weights and tokenizers, and JSONL files (traces, training and problem sets,
# predictions): large at the paper's scale, so listed, not packed, unless asked.
LARGE_FOLDERS = frozenset({"model", "base", "tokenizer"})
# The tables regeneration must reproduce exactly (the provenance table holds times).
TABLE_SUFFIXES = (".csv", ".json", ".md", ".tex")
UNREPRODUCED_TABLES = frozenset({"provenance.csv"})

README = """# compress-distill reproducibility bundle

Check it (both do the same):

    sha256sum -c MANIFEST.sha256
    python -m compress_distill.bundle check .

Regenerate its tables, figures and report from the per-run files in results/, with the workflow
in workflow/ and nothing trained or generated (needs the environment of
environment/requirements.lock, e.g. `pip install -r environment/requirements.lock`):

    python -m compress_distill.bundle regenerate .

which runs, in this folder,

    PYTHONPATH=workflow/src snakemake -s workflow/Snakefile --configfile results/config.yaml \\
        --config regenerate=True --forceall --cores 1

and then checks that every table equals the bundled one. The report and the provenance records
of the regenerated jobs differ afterwards (they hold times), so `sha256sum -c` lists them.

Left out: {large}. LARGE.sha256 lists them with their checksums
(`sha256sum -c LARGE.sha256` once they are copied into results/).
"""


def _relative_files(folder: Path) -> list[PurePosixPath]:
    return sorted(
        PurePosixPath(path.relative_to(folder).as_posix())
        for path in folder.rglob("*")
        if path.is_file()
    )


def classify(relative: PurePosixPath) -> str:
    """'skip', 'large' or 'small' for a file under results/."""
    if relative.parts[0] in SKIPPED or any(part.startswith(".") for part in relative.parts):
        return "skip"
    if relative.name.endswith(SUFFIX):
        return "small"
    if LARGE_FOLDERS & set(relative.parts[:-1]) or relative.suffix == ".jsonl":
        return "large"
    return "small"


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def _write_sha256(path: Path, checksums: Mapping[str, str]) -> None:
    """In `sha256sum` format (two spaces, path relative to the bundle root)."""
    with atomic_writer(path) as handle:
        for name, digest in sorted(checksums.items()):
            handle.write(f"{digest}  {name}\n")


# --- data cards -----------------------------------------------------------------------------


def _length_stats(values: Sequence[int]) -> dict[str, float | int | None]:
    if not values:
        return {"mean": None, "median": None, "min": None, "max": None}
    return {
        "mean": round(statistics.fmean(values), 1),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def _license(spec: Mapping[str, Any], workflow_dir: Path) -> str:
    if "license" in spec:
        return spec["license"]
    if spec["kind"] == "synthetic":
        return "generated by this workflow (its MIT license)"
    if spec["kind"] == "jsonl":
        license_file = (workflow_dir / spec["path"]).parent / "LICENSE"
        if license_file.is_file():
            first = license_file.read_text(encoding="utf-8").strip().splitlines()[0]
            return f"{first} (workflow/{Path(spec['path']).parent.as_posix()}/LICENSE)"
    return f"unknown: see the source's own card ({spec.get('name') or spec.get('path')})"


def _source(spec: Mapping[str, Any]) -> str:
    if spec["kind"] == "synthetic":
        return "synthetic arithmetic (compress_distill.tasks), deterministic by seed"
    if spec["kind"] == "jsonl":
        return f"local JSONL file {spec['path']}"
    return (
        f"Hugging Face dataset {spec['name']} ({spec.get('config') or 'default'}, {spec['split']})"
    )


def problemset_card(
    name: str, spec: Mapping[str, Any], path: str | Path, workflow_dir: Path
) -> dict[str, Any]:
    problems = [record for _, record in iter_jsonl(path)]
    return {
        "name": name,
        "source": _source(spec),
        "license": _license(spec, workflow_dir),
        "config": dict(spec),
        "problems": len(problems),
        "question_chars": _length_stats([len(p["question"]) for p in problems]),
        "answer_chars": _length_stats([len(str(p["answer"])) for p in problems]),
        "sha256": sha256_file(path),
    }


def training_set_card(
    stats: Mapping[str, Any], config: Mapping[str, Any], problem_cards: Mapping[str, Any]
) -> dict[str, Any]:
    teacher = config["teachers"][stats["teacher"]]
    compressor = compressor_of(stats["variant"])
    return {
        "teacher": stats["teacher"],
        "variant": stats["variant"],
        "regime": stats["regime"],
        "examples": stats["examples"],
        "chars": {"total": stats["total_chars"], "mean": stats["mean_chars"]},
        "tokens": stats["tokens"],
        "origins": stats.get("origins"),
        "source": {
            "problem_set": teacher["problemset"],
            "teacher": {k: teacher.get(k) for k in ("engine", "model")},
            "compressor": config.get("compressors", {}).get(compressor),
        },
        "license": problem_cards[teacher["problemset"]]["license"]
        + "; the traces are the teacher's outputs, under its model's terms of use",
    }


def write_cards(root: Path, results: Path, config: Mapping[str, Any], workflow_dir: Path) -> int:
    """cards/problemsets/<name>.json and cards/training_sets/<teacher>/<variant>/<regime>.json."""
    problem_cards = {
        name: problemset_card(name, spec, results / "problems" / f"{name}.jsonl", workflow_dir)
        for name, spec in config["problemsets"].items()
    }
    for name, card in problem_cards.items():
        write_json(root / "cards/problemsets" / f"{name}.json", card)
    count = len(problem_cards)
    # The training sets' summary: each set's lengths with its tokens in every student's tokenizer.
    for stats in read_json(results / "tables" / "training_sets.json"):
        card = training_set_card(stats, config, problem_cards)
        out = root / "cards/training_sets" / stats["teacher"] / stats["variant"]
        write_json(out / f"{stats['regime']}.json", card)
        count += 1
    return count


# --- building ---------------------------------------------------------------------------------


def _workflow_files(workflow_dir: Path) -> list[str]:
    """Tracked and new (not ignored) files: what the run used, committed or not. Outside a git
    checkout (an unpacked bundle, a copy), every file but hidden ones and caches."""
    done = subprocess.run(
        [
            "git",
            "-C",
            str(workflow_dir),
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
        capture_output=True,
        check=False,
    )
    if done.returncode == 0:
        return [name for name in done.stdout.decode().split("\0") if name]
    return [
        str(name)
        for name in _relative_files(workflow_dir)
        if not any(part.startswith(".") or part == "__pycache__" for part in name.parts)
    ]


def copy_workflow(workflow_dir: Path, target: Path) -> dict[str, Any]:
    """The workflow's files as they are (what ran), with the commit they came from in COMMIT.json
    and, when the tree was dirty, workflow.diff against it (new files are copied whole)."""
    version = code_version(workflow_dir)
    for name in _workflow_files(workflow_dir):
        if (workflow_dir / name).is_file():
            _copy(workflow_dir / name, target / name)
    write_json(target / COMMIT_FILE, version)
    diff = subprocess.run(
        ["git", "-C", str(workflow_dir), "diff", "HEAD"], capture_output=True, check=False
    )
    if version["dirty"] and diff.returncode == 0:
        (target / "workflow.diff").write_bytes(diff.stdout)
    return version


def lock_lines() -> list[str]:
    """Every installed distribution as name==version (pip's requirement format), sorted."""
    found = {d.metadata["Name"]: d.version for d in metadata.distributions() if d.metadata["Name"]}
    return [
        f"{name}=={version}" for name, version in sorted(found.items(), key=lambda i: i[0].lower())
    ]


def write_environment(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    (target / "requirements.lock").write_text("\n".join(lock_lines()) + "\n", encoding="utf-8")
    write_json(
        target / "platform.json",
        {"python": sys.version, "platform": platform.platform(), "hardware": hardware()},
    )


def manifest(root: Path, exclude: Iterable[str] = (MANIFEST,)) -> dict[str, str]:
    skip = set(exclude)
    return {
        str(name): sha256_file(root / name)
        for name in _relative_files(root)
        if str(name) not in skip
    }


def build_bundle(
    out: str | Path,
    results: str | Path,
    config: Mapping[str, Any],
    workflow_dir: str | Path,
    include_large: bool = False,
) -> dict[str, int]:
    """Write the bundle archive to `out` (atomically); return counts of what went in."""
    out, results, workflow_dir = Path(out), Path(results), Path(workflow_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".bundle.") as tmp:
        root = Path(tmp) / BUNDLE_DIR
        large: dict[str, str] = {}
        packed = 0
        for relative in _relative_files(results):
            kind = classify(relative)
            name = f"results/{relative}"
            if kind == "large":
                large[name] = sha256_file(results / relative)
            if kind == "small" or (kind == "large" and include_large):
                _copy(results / relative, root / name)
                packed += 1
        _write_sha256(root / LARGE, {} if include_large else large)
        cards = write_cards(root, results, config, workflow_dir)
        copy_workflow(workflow_dir, root / "workflow")
        write_environment(root / "environment")
        left_out = (
            "nothing (bundle.include_large was on)"
            if include_large
            else (
                f"{len(large)} large files (model weights and tokenizers, traces, training and "
                "problem sets, predictions)"
            )
        )
        (root / "README.md").write_text(README.format(large=left_out), encoding="utf-8")
        checksums = manifest(root)
        _write_sha256(root / MANIFEST, checksums)
        with atomic_writer(out, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
            tar.add(root, arcname=BUNDLE_DIR)
    return {"files": len(checksums) + 1, "results": packed, "large": len(large), "cards": cards}


# --- checking and regenerating ------------------------------------------------------------------


def _read_sha256(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines if line)}


def changed_files(directory: str | Path, names: Iterable[str] | None = None) -> list[str]:
    """What `sha256sum -c MANIFEST.sha256` checks, for all files or only `names`: one line per
    missing or changed file; empty when the bundle checks out."""
    root = Path(directory)
    expected = _read_sha256(root / MANIFEST)
    wanted = expected if names is None else {name: expected[name] for name in names}
    return [
        f"{name}: {'missing' if not (root / name).is_file() else 'checksum differs'}"
        for name, digest in sorted(wanted.items())
        if not (root / name).is_file() or sha256_file(root / name) != digest
    ]


def bundled_tables(directory: str | Path) -> list[str]:
    """The bundle's tables that regeneration must reproduce byte for byte."""
    expected = _read_sha256(Path(directory) / MANIFEST)
    return [
        name
        for name in sorted(expected)
        if name.startswith("results/tables/")
        and name.endswith(TABLE_SUFFIXES)
        and not name.endswith(SUFFIX)
        and PurePosixPath(name).name not in UNREPRODUCED_TABLES
    ]


def regenerate_command(cores: int = 1) -> list[str]:
    # --forceall: the bundled tables are newer than their inputs, so nothing would be "outdated";
    # in regenerate mode the DAG holds only the aggregates, so forcing all reruns exactly them.
    return [
        sys.executable, "-m", "snakemake", "-s", "workflow/Snakefile",
        "--configfile", "results/config.yaml", "--config", "regenerate=True",
        "--forceall", "--cores", str(cores),
    ]  # fmt: skip


def regenerate(directory: str | Path, cores: int = 1) -> list[str]:
    """Rebuild tables, figures and report in an unpacked bundle with its own workflow and
    package; return the tables that differ from the bundled ones."""
    root = Path(directory)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(root / "workflow/src"), env.get("PYTHONPATH")])
    )
    subprocess.run(regenerate_command(cores), cwd=root, env=env, check=True)
    return changed_files(root, bundled_tables(root))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compress_distill.bundle", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="check an unpacked bundle against MANIFEST.sha256")
    again = commands.add_parser("regenerate", help="rebuild tables, figures, report; compare")
    again.add_argument("--cores", type=int, default=1)
    for command in commands.choices.values():
        command.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.command == "check":
        problems = changed_files(args.directory)
        checked = len(_read_sha256(args.directory / MANIFEST))
        ok = f"OK: {checked} files match {MANIFEST}"
    else:
        problems = regenerate(args.directory, args.cores)
        ok = f"OK: {len(bundled_tables(args.directory))} regenerated tables equal the bundled ones"
    print("\n".join(problems) if problems else ok)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
