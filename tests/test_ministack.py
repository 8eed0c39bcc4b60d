"""The MiniStack tier: real ``cdk bootstrap`` / ``deploy`` / ``destroy`` of the
example app onto MiniStack with IAM enforced, the handler reaching the Clean
Rooms ML emulator through ``AWS_ENDPOINT_URL_CLEANROOMSML``.

MiniStack does not send Delete to a custom resource whose create failed (real
CloudFormation does); that path is covered by ``test_local_lifecycle.py``.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

import local_deploy

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.slow
def test_main_job_deploys_replaces_and_destroys() -> None:
    run = local_deploy.main_job(training_seconds=8)
    first, second = run.first, run.second
    assert first["TrainedModelArn"].startswith(
        "arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/"
    )
    assert "VersionIdentifier" not in first  # a base model has no version
    assert second["TrainedModelArn"] != first["TrainedModelArn"]
    statuses = {m["trainedModelArn"]: m["status"] for m in run.models}
    # DESTROY: the replaced model's output was deleted on replacement, the other on destroy
    assert statuses == {first["TrainedModelArn"]: "INACTIVE", second["TrainedModelArn"]: "INACTIVE"}
    hyperparameters = {m["trainedModelArn"]: m["hyperparameters"] for m in run.models}
    assert hyperparameters[second["TrainedModelArn"]] == {"epochs": "20"}


@pytest.mark.slow
def test_a_failed_training_fails_the_deploy_with_the_services_reason() -> None:
    with local_deploy.local_cloud(training_seconds=3) as cloud:
        local_deploy.cdk(cloud, "bootstrap", f"aws://{local_deploy.ACCOUNT}/{local_deploy.REGION}")
        local_deploy.allow_plain_http_assets(cloud)
        request = urllib.request.Request(
            f"{cloud.emulator_url}/_emulator/fail-next-training",
            json.dumps({"message": "AlgorithmError: loss diverged"}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request).read()
        result = local_deploy.cdk(
            cloud,
            "deploy",
            local_deploy.STACK,
            "--require-approval",
            "never",
            "-c",
            f"{local_deploy.ENDPOINT_CONTEXT_KEY}={cloud.emulator_url}",
            check=False,
        )
        assert result.returncode != 0
        assert "AlgorithmError: loss diverged" in result.stdout
        (model,) = local_deploy.emulator_models(cloud)
        assert model["status"] == "CREATE_FAILED"


@pytest.mark.slow
def test_long_path_waits_through_a_wait_condition_and_fails_late_with_the_reason() -> None:
    long_path = [
        "-c",
        "completionTimeoutMinutes=120",
        "-c",
        "cdk-cleanrooms-ml:longWaitPollSeconds=3",
    ]
    with local_deploy.local_cloud(training_seconds=15) as cloud:
        local_deploy.cdk(cloud, "bootstrap", f"aws://{local_deploy.ACCOUNT}/{local_deploy.REGION}")
        local_deploy.allow_plain_http_assets(cloud)
        deploy = [
            "deploy",
            local_deploy.STACK,
            "--require-approval",
            "never",
            "-c",
            f"{local_deploy.ENDPOINT_CONTEXT_KEY}={cloud.emulator_url}",
            *long_path,
        ]
        first = local_deploy.cdk(cloud, *deploy)
        assert "Received SUCCESS signal" in first.stdout
        (model,) = local_deploy.emulator_models(cloud)
        assert model["status"] == "ACTIVE"
        # a replacement whose training fails late fails the deploy with the service's reason
        request = urllib.request.Request(
            f"{cloud.emulator_url}/_emulator/fail-next-training",
            json.dumps({"message": "AlgorithmError: diverged late"}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request).read()
        second = local_deploy.cdk(cloud, *deploy, "-c", "epochs=30", check=False)
        assert second.returncode != 0
        assert "AlgorithmError: diverged late" in second.stdout


@pytest.mark.slow
def test_incremental_example_deploys_a_versioned_successor(tmp_path: Path) -> None:
    with local_deploy.local_cloud(training_seconds=3) as cloud:
        local_deploy.cdk(cloud, "bootstrap", f"aws://{local_deploy.ACCOUNT}/{local_deploy.REGION}")
        local_deploy.allow_plain_http_assets(cloud)
        outputs_file = tmp_path / "outputs.json"
        common = [
            "--app",
            "python3 examples/incremental.py",
            "-c",
            f"{local_deploy.ENDPOINT_CONTEXT_KEY}={cloud.emulator_url}",
        ]
        local_deploy.cdk(
            cloud,
            "deploy",
            "CleanRoomsMLIncremental",
            "--require-approval",
            "never",
            "--outputs-file",
            str(outputs_file),
            *common,
        )
        outputs = json.loads(outputs_file.read_text())["CleanRoomsMLIncremental"]
        assert UUID.fullmatch(outputs["SuccessorVersion"])  # ASSUMPTION A2: a versioned model
        models = {m["trainedModelArn"]: m for m in local_deploy.emulator_models(cloud)}
        assert set(models) == {outputs["BaseArn"], outputs["SuccessorArn"]}
        local_deploy.cdk(cloud, "destroy", "CleanRoomsMLIncremental", "--force", *common)
