"""The handler works on a botocore that predates Clean Rooms ML trained models.

A separate virtualenv gets botocore/boto3 1.34.162 (older than 1.35.56, which
added CreateTrainedModel, and 1.39.1, which added versions); the handler,
with its shipped service model, then creates and polls a model over real HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import contract
from cdk_cleanrooms_ml.local.cloud import pinned_venv
from helpers import handler_properties

OLD_BOTOCORE = "1.34.162"
ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / f"botocore-{OLD_BOTOCORE}"


def _old_python() -> Path:
    return pinned_venv(VENV, [f"botocore=={OLD_BOTOCORE}", f"boto3=={OLD_BOTOCORE}"])


@pytest.mark.slow
def test_handler_creates_and_polls_with_an_old_botocore() -> None:
    python = _old_python()
    props = handler_properties(
        **{
            contract.INCREMENTAL_TRAINING_DATA_CHANNELS: [
                {
                    contract.CHANNEL_TRAINED_MODEL_ARN: handler_properties()[
                        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN
                    ].replace(
                        "configured-model-algorithm-association/assoc-1", "trained-model/base"
                    ),
                    contract.CHANNEL_NAME: "base",
                    contract.CHANNEL_VERSION_IDENTIFIER: "11111111-2222-4333-8444-555555555555",
                }
            ]
        }
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ENDPOINT_URL", "AWS_DATA_PATH", "PYTHON"))
    }
    env.update(
        PYTHONPATH=str(ROOT / "lambda" / "handler"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    run = subprocess.run(
        [str(python), str(ROOT / "tests" / "old_botocore_probe.py"), json.dumps(props)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["botocore"] == OLD_BOTOCORE
    assert seen["knows_create_trained_model_alone"] is False
    assert seen["physical_id"].endswith("#11111111-2222-4333-8444-555555555555")
    assert seen["complete"] is True
    assert seen["data"]["Status"] == "ACTIVE"
    methods = [m for m, _ in seen["requests"]]
    assert methods == ["GET", "GET", "POST", "GET"]  # list, list (the poll), create, get
    assert (
        seen["requests"][2][1] == "/memberships/0f3d2a1b-1234-4cde-8f00-0123456789ab/trained-models"
    )
    assert seen["create_body"]["incrementalTrainingDataChannels"][0]["channelName"] == "base"
