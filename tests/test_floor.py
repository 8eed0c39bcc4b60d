"""The supported versions, proven: the floors pyproject.toml declares for aws-cdk-lib
and constructs are installed exactly, in their own cached virtualenv, and every
example synthesizes there (the same apps as with the pinned dev versions)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent


def floors() -> dict[str, str]:
    """``{"aws-cdk-lib": "2.269.0", "constructs": ...}`` from ``project.dependencies``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = {}
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+),<[0-9.]+", requirement)
        assert match, f"not a 'name>=floor,<ceiling' requirement: {requirement}"
        found[match[1]] = match[2]
    return found


def test_the_floors_are_declared_for_every_runtime_dependency() -> None:
    assert set(floors()) == {"aws-cdk-lib", "constructs"}


def _floor_python(pins: dict[str, str]) -> Path:
    """A virtualenv with exactly ``pins`` (and their dependencies), made once and cached
    under ``.cache`` (built aside, then renamed: only ``bin/python`` is used, which
    finds its site-packages wherever the folder is)."""
    key = "-".join(f"{name}-{pin}" for name, pin in sorted(pins.items()))
    home = ROOT / ".cache" / f"floor-{key}"
    python = home / "bin" / "python"
    if python.exists():
        return python
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="floor-", dir=home.parent))
    venv.EnvBuilder(with_pip=True, clear=True).create(staging)
    subprocess.run(
        [
            str(staging / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *(f"{name}=={pin}" for name, pin in pins.items()),
        ],
        check=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    try:
        staging.rename(home)
    except OSError:  # made meanwhile by another run
        shutil.rmtree(staging, ignore_errors=True)
    return python


@pytest.mark.slow
def test_every_example_synthesizes_with_exactly_the_floor_versions() -> None:
    pins = floors()
    python = _floor_python(pins)
    paths = [ROOT / "constructs", ROOT / "examples", HERE]
    run = subprocess.run(
        [str(python), str(HERE / "floor_synth.py")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    at_floor = json.loads(run.stdout.strip().splitlines()[-1])
    assert at_floor.pop("aws-cdk-lib") == pins["aws-cdk-lib"]
    assert at_floor.pop("constructs") == pins["constructs"]
    # the same apps with the pinned dev versions (this process): the same resources
    here = subprocess.run(
        [sys.executable, str(HERE / "floor_synth.py")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))},
    )
    pinned = json.loads(here.stdout.strip().splitlines()[-1])
    del pinned["aws-cdk-lib"], pinned["constructs"]
    assert at_floor == pinned
