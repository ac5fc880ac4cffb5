"""Package boundaries (issue #12): the card's folders install under voc-prefixed names; models/ is a lower layer."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_package_list_covers_every_folder_package():
    tool = _pyproject()["tool"]["setuptools"]
    mapping = tool["package-dir"]
    expected = []
    for name, folder in mapping.items():
        expected += [name] + [f"{name}.{p}" for p in find_packages(str(ROOT / folder))]
    assert sorted(tool["packages"]) == sorted(expected)
    assert set(mapping) == {"voc", "voc_api", "voc_models", "voc_training", "voc_datasets"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_models_layer_never_imports_the_core():
    """models/ (voc_models) sits below voc: the core imports it, never the other way round (tests/test_runspec.py
    checks that voc/ never imports its shells)."""
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & {"voc", "voc_api", "voc_training"})
        for p in (ROOT / "models").rglob("*.py")
        if _imports(p) & {"voc", "voc_api", "voc_training"}
    }
    assert offenders == {}


@pytest.mark.parametrize("name", ["datasets", "models", "api", "training"])
def test_generic_top_level_names_are_not_installed(name, tmp_path):
    """Outside the repository, these names are Hugging Face's (datasets) or nothing at all."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.find_spec({name!r})\n"
        "print('none' if spec is None else spec.origin)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True)
    origin = out.stdout.strip()
    assert origin == "none" or str(ROOT) not in origin, origin
