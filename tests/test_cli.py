"""``npx cdk synth`` from the repository root: the real aws-cdk CLI, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import contract

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_cdk_synth_of_the_example_app_works_offline_without_credentials(tmp_path: Path) -> None:
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    assert cdk.exists(), "run `npm ci` first (the README's commands do)"
    venv_bin = str(Path(sys.executable).parent)  # the venv, so `python3` finds aws_cdk
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "CDK_VALIDATION"
    }
    env.update(
        PATH=f"{venv_bin}{os.pathsep}{env.get('PATH', '')}",
        CDK_DISABLE_VERSION_CHECK="1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    out = tmp_path / "cdk.out"
    run = subprocess.run(
        [
            str(cdk),
            "synth",
            "--no-notices",
            "--no-version-reporting",
            "--quiet",
            "--output",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    # jsii (in the app) and the CLI run on the pinned Node.js LTS, first on PATH: no banner
    assert "end-of-life" not in run.stderr
    assert "b'!!" not in run.stderr
    template = json.loads((out / "CleanRoomsMLExample.template.json").read_text())
    models = [r for r in template["Resources"].values() if r["Type"] == contract.RESOURCE_TYPE]
    assert len(models) == 1
    assert set(template["Outputs"]) == {"TrainedModelArn"}  # a base model has no version
