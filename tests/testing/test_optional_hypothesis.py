"""Hypothesis is an optional extra: elastic runs without it, and the one module that needs it
says which extra to install."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_HYPOTHESIS = """
import importlib, pkgutil, sys
sys.modules["hypothesis"] = None  # as if it were not installed
import elastic, elastic.testing
for module in pkgutil.walk_packages(elastic.__path__, "elastic."):
    if module.name not in ("elastic.testing.strategies", "elastic.__main__"):
        importlib.import_module(module.name)
try:
    import elastic.testing.strategies
except ImportError as error:
    print(error)
"""


def _run_without_hypothesis() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_HYPOTHESIS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        timeout=120,
        check=False,
    )


def test_elastic_imports_without_hypothesis_and_the_strategies_name_the_extra():
    done = _run_without_hypothesis()
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "elastic.testing.strategies needs hypothesis: pip install 'elastic[testing]'"
    )


def test_hypothesis_is_the_testing_extra_not_a_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {spec.split(">")[0].split("=")[0] for spec in project["dependencies"]}
    assert "hypothesis" not in names
    extras = project["optional-dependencies"]
    assert any(spec.startswith("hypothesis") for spec in extras["testing"])
    assert any(spec.startswith("hypothesis") for spec in extras["dev"])
