"""The import layers written in pyproject.toml cover every package, and the dbt models' Python stays in its layer.

`make lint` runs import-linter over those layers; these tests keep the layers from going stale:
a new package outside them, or a dbt Python model reaching past transform/, fails here.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text())
LINTER = PYPROJECT["tool"]["importlinter"]


def _contract(kind: str) -> dict:
    (contract,) = [c for c in LINTER["contracts"] if c["type"] == kind]
    return contract


def _layer_members() -> list[str]:
    return [name.strip() for layer in _contract("layers")["layers"] for name in layer.split("|")]


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_every_shipped_package_is_in_exactly_one_layer():
    shipped = {name.split(".")[0] for name in PYPROJECT["tool"]["setuptools"]["packages"]}
    members = _layer_members()
    assert len(members) == len(set(members)), "a package named in two layers"
    assert shipped <= set(members), f"packages outside the import layers: {sorted(shipped - set(members))}"
    assert set(members) == set(LINTER["root_packages"]) == set(_contract("acyclic_siblings")["ancestors"])


def test_every_python_package_in_the_repository_is_shipped_or_a_tool():
    on_disk = {p.parent.name for p in PROJECT.glob("*/__init__.py")}
    shipped = {name.split(".")[0] for name in PYPROJECT["tool"]["setuptools"]["packages"]}
    assert on_disk - shipped == {"bench", "tests"}


def test_the_cli_is_on_top_and_the_foundation_at_the_bottom():
    layers = _contract("layers")["layers"]
    assert "cli" in layers[0].split(" | ") and layers[-1] == "foundation"


def test_dbt_python_models_import_only_the_transform_layer():
    ours = set(LINTER["root_packages"])
    for model in (PROJECT / "models").rglob("*.py"):
        assert _imported_packages(model) & ours <= {"transform"}, model.name


def test_lint_imports_finds_an_upward_import(tmp_path):
    """The check `make lint` runs fails on a foundation module importing the CLI (in a copy of the packages)."""
    for name in LINTER["root_packages"]:
        shutil.copytree(PROJECT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pyproject.toml").write_text((PROJECT / "pyproject.toml").read_text())

    def lint() -> subprocess.CompletedProcess:
        command = [str(Path(sys.executable).with_name("lint-imports"))]
        return subprocess.run(command, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)}, capture_output=True, text=True)

    kept = lint()
    assert kept.returncode == 0, kept.stdout + kept.stderr
    with (tmp_path / "foundation" / "paths.py").open("a") as handle:
        handle.write("\nfrom cli import app\n")
    broken = lint()
    assert broken.returncode != 0
    assert "foundation.paths -> cli.app" in broken.stdout


def test_every_folder_shipped_is_named_as_a_package_so_setuptools_installs_it_quietly():
    """setuptools treats every folder under a package as a package and warns (on every `make setup`)
    about one that `packages` does not list; the folders of SQL, templates and static files too."""
    packages = set(PYPROJECT["tool"]["setuptools"]["packages"])
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True).stdout.split()
    folders = {".".join(Path(name).parent.parts) for name in tracked}
    for package in packages:
        assert package in folders, package
        children = {f for f in folders if f.startswith(package + ".") and "." not in f.removeprefix(package + ".")}
        assert children <= packages, children - packages


def test_rendering_a_chat_template_prints_no_torch_notice():
    """Templates render with transformers' code, which needs no torch; its import-time notice that
    PyTorch is missing reads to an export's user as something broken."""
    script = (
        "from reports.exports.templates import load_template\n"
        "print(load_template('qwen3_training').render([{'role': 'user', 'content': 'hi'}], None)[0])"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120, check=True)
    assert "<|im_start|>user" in done.stdout
    assert "PyTorch" not in done.stderr and "torch" not in done.stdout, done.stderr
