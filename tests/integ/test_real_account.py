"""Real-account integration test: deploys the full-pipeline example, checks the
trained model through the real API, and destroys the stack.

Opt in explicitly (it costs money: it trains a model):

    CDK_CLEANROOMS_ML_INTEG=1 INTEG_ACCOUNT=111122223333 INTEG_REGION=us-east-1 \\
    INTEG_MEMBERSHIP_ID=<uuid> INTEG_ML_INPUT_CHANNEL_ARN=<arn> INTEG_ECR_REPOSITORY=<repo> \\
    .venv/bin/pytest tests/integ -ra

with credentials for that account in the environment (or a profile) and the
account/region bootstrapped (``npx cdk bootstrap aws://<account>/<region>``).
The ECR repository must hold a Clean Rooms ML training image tagged ``latest``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = (
    "INTEG_ACCOUNT",
    "INTEG_REGION",
    "INTEG_MEMBERSHIP_ID",
    "INTEG_ML_INPUT_CHANNEL_ARN",
    "INTEG_ECR_REPOSITORY",
)
STACK = "CleanRoomsMLFullPipeline"


def _settings(env: dict[str, str]) -> dict[str, str]:
    if env.get("CDK_CLEANROOMS_ML_INTEG") != "1":
        pytest.skip("real-account test: set CDK_CLEANROOMS_ML_INTEG=1 (and INTEG_*) to run it")
    missing = [name for name in REQUIRED if not env.get(name)]
    if missing:
        pytest.skip(f"real-account test: missing {', '.join(missing)}")
    return {name: env[name] for name in REQUIRED}


def _cdk(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [
            str(ROOT / "node_modules/.bin/cdk"),
            *args,
            "--app",
            f"{sys.executable} examples/full_pipeline.py",
            "--no-notices",
            "--no-version-reporting",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )


def test_full_pipeline_deploys_trains_and_destroys(
    real_environment: dict[str, str], tmp_path: Path
) -> None:
    settings = _settings(real_environment)
    env = dict(
        real_environment,
        CDK_DEFAULT_ACCOUNT=settings["INTEG_ACCOUNT"],
        CDK_DEFAULT_REGION=settings["INTEG_REGION"],
        AWS_REGION=settings["INTEG_REGION"],
        CDK_DISABLE_VERSION_CHECK="1",
    )
    context = [
        "-c",
        f"membershipIdentifier={settings['INTEG_MEMBERSHIP_ID']}",
        "-c",
        f"mlInputChannelArn={settings['INTEG_ML_INPUT_CHANNEL_ARN']}",
        "-c",
        f"repositoryName={settings['INTEG_ECR_REPOSITORY']}",
    ]
    outputs_file = tmp_path / "outputs.json"
    try:
        _cdk(
            env,
            "deploy",
            STACK,
            "--require-approval",
            "never",
            "--outputs-file",
            str(outputs_file),
            *context,
        )
        outputs = json.loads(outputs_file.read_text())[STACK]
        session = boto3.Session(region_name=settings["INTEG_REGION"])
        client = session.client("cleanroomsml")
        model = client.get_trained_model(
            membershipIdentifier=settings["INTEG_MEMBERSHIP_ID"],
            trainedModelArn=outputs["TrainedModelArn"],
        )
        assert model["status"] == "ACTIVE"
        assert outputs["VersionIdentifier"] in ("NULL", model.get("versionIdentifier"))
    finally:
        _cdk(env, "destroy", STACK, "--force", *context)
