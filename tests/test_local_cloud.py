"""The local-cloud tier: ``cdk-cleanrooms-ml local`` deploys the examples onto MiniStack
(IAM enforced) with the Clean Rooms ML emulator, through the real aws-cdk CLI.

Most tests share one cloud per pytest process (the ``local_cloud`` fixture), each
with a stack of its own. MiniStack does not send Delete to a custom resource
whose create failed (real CloudFormation does); that path is covered by
``test_local_lifecycle.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import contract
from cdk_cleanrooms_ml.local import cloud as clouds
from cdk_cleanrooms_ml.local import resources as clouds_resources
from local_cli import LOCAL_ASSOCIATION, MEMBERSHIP, SharedCloud, outputs_of

APP = "python3 examples/app.py"
MEMBER_ACCOUNT = "111122223333"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.slow(seconds=16)
def test_a_failed_training_fails_the_deploy_with_the_services_reason(
    local_cloud: SharedCloud, tmp_path: Path
) -> None:
    stack = "FailedTraining"
    local_cloud.control("fail-next-training", {"message": "AlgorithmError: loss diverged"})
    done = local_cloud.deploy(
        APP, stack, f"stackName={stack}", outputs=tmp_path / "outputs.json", check=False
    )
    assert done.returncode == 1
    # quiet by default, a failure still shows the failed resource and the service's reason
    assert "AlgorithmError: loss diverged" in done.stdout
    assert "CREATE_FAILED" in done.stdout
    (model,) = local_cloud.models(stack)
    assert model["status"] == "CREATE_FAILED"


@pytest.mark.slow(seconds=20)
def test_long_path_waits_through_a_wait_condition_and_fails_late_with_the_reason(
    local_cloud: SharedCloud, tmp_path: Path
) -> None:
    stack = "LongPath"
    context = [f"stackName={stack}", "completionTimeoutMinutes=120"]
    with local_cloud.timings(training_seconds=3):  # a few of the waiter's 1 s polls
        first = local_cloud.deploy(APP, stack, *context, outputs=tmp_path / "1.json", verbose=True)
        assert "Received SUCCESS signal" in first.stdout  # the WaitCondition's
        # the raw streams (--verbose) run on the pinned Node.js LTS: no warnings about it
        assert "NodeVersionSupportWarning" not in first.stdout
        assert "end-of-life" not in first.stdout
        (model,) = local_cloud.models(stack)
        assert model["status"] == "ACTIVE"
        assert model["hyperparameters"] == {"epochs": "10"}
        # a replacement whose training fails late fails the deploy with the service's reason
        local_cloud.control("fail-next-training", {"message": "AlgorithmError: diverged late"})
        second = local_cloud.deploy(
            APP, stack, *context, "epochs=30", outputs=tmp_path / "2.json", check=False
        )
    assert second.returncode == 1
    assert "AlgorithmError: diverged late" in second.stdout
    by_epochs = {m["hyperparameters"]["epochs"]: m["status"] for m in local_cloud.models(stack)}
    assert by_epochs == {"10": "ACTIVE", "30": "CREATE_FAILED"}  # the context reached the model


@pytest.mark.slow(seconds=25)
@pytest.mark.parametrize("reading", ["new-arn", "shared-arn"])
def test_incremental_example_deploys_a_versioned_successor(
    local_cloud: SharedCloud, tmp_path: Path, reading: str
) -> None:
    """Under both readings of incremental training (ASSUMPTION A2): the successor is a
    version of a new ARN, or of the base model's ARN; either way the base and the
    successor are each their own resource (its ownership, its version), and the
    stack's destroy (RETAIN) then ``--purge`` deletes each one's output."""
    app, stack = "python3 examples/incremental.py", "CleanRoomsMLIncremental"
    with local_cloud.settings(incremental_training=reading):
        try:
            local_cloud.deploy(app, stack, outputs=tmp_path / "outputs.json")
            outputs = outputs_of(tmp_path / "outputs.json", stack)
            assert UUID.fullmatch(outputs["SuccessorVersion"])  # A2: a versioned model
            assert (outputs["SuccessorArn"] == outputs["BaseArn"]) == (reading == "shared-arn")
            live = [m for m in local_cloud.models(stack) if m["status"] != "INACTIVE"]
            assert {(m["trainedModelArn"], m["versionIdentifier"]) for m in live} == {
                (outputs["BaseArn"], None),
                (outputs["SuccessorArn"], outputs["SuccessorVersion"]),
            }
            status = json.loads(local_cloud.run("status", "--json").stdout)
            owners = {
                (r["arn"], r["version"]): str(r["owner"])
                for r in status["resources"][clouds_resources.MODEL]
                if r["status"] != "INACTIVE" and r["name"].startswith(f"{stack}-")
            }
            base_owner, successor_owner = sorted(owners.values())  # each its own
            assert base_owner.startswith(f"{stack}/Base"), owners
            assert successor_owner.startswith(f"{stack}/Successor"), owners
        finally:
            local_cloud.app_run("destroy", "--app", app, "--stack", stack, "--purge")
    left = [m for m in local_cloud.models(stack) if m["status"] != "INACTIVE"]
    assert left == []


@pytest.mark.slow(seconds=28)
def test_full_pipeline_deploys_every_clean_rooms_ml_resource_and_destroys_them(
    local_cloud: SharedCloud, tmp_path: Path
) -> None:
    """examples/full_pipeline.py with an association made elsewhere: MiniStack has no
    AWS::CleanRoomsML::* types, so the L1 algorithm and association are left out. The
    model is exported to a member account too."""
    app, stack = "python3 examples/full_pipeline.py", "CleanRoomsMLFullPipeline"
    context = [
        f"configuredModelAlgorithmAssociationArn={LOCAL_ASSOCIATION}",
        f"exportAccountId={MEMBER_ACCOUNT}",
        "removalPolicy=destroy",
    ]
    local_cloud.deploy(app, stack, *context, outputs=tmp_path / "outputs.json")
    outputs = outputs_of(tmp_path / "outputs.json", stack)
    ml = local_cloud.cleanroomsml()
    membership = LOCAL_ASSOCIATION.split("/")[1]
    for channel in (outputs["TrainingChannelArn"], outputs["ScoringChannelArn"]):
        got = ml.get_ml_input_channel(membershipIdentifier=membership, mlInputChannelArn=channel)
        assert got["status"] == "ACTIVE"
        assert got["configuredModelAlgorithmAssociations"] == [LOCAL_ASSOCIATION]
    model = ml.get_trained_model(
        membershipIdentifier=membership, trainedModelArn=outputs["TrainedModelArn"]
    )
    assert model["status"] == "ACTIVE"
    assert model["dataChannels"] == [
        {"mlInputChannelArn": outputs["TrainingChannelArn"], "channelName": "train"}
    ]
    job = ml.get_trained_model_inference_job(
        membershipIdentifier=membership, trainedModelInferenceJobArn=outputs["InferenceJobArn"]
    )
    assert job["status"] == outputs["InferenceJobStatus"] == "ACTIVE"
    assert job["dataSource"] == {"mlInputChannelArn": outputs["ScoringChannelArn"]}
    (export,) = _model_exports(ml, model)
    assert export["name"] == outputs["ExportJobName"]
    assert export["status"] == outputs["ExportJobStatus"] == "ACTIVE"
    assert export["outputConfiguration"] == {"members": [{"accountId": MEMBER_ACCOUNT}]}
    configuration = ml.get_ml_configuration(membershipIdentifier=membership)
    destination = configuration["defaultOutputLocation"]["destination"]["s3Destination"]
    assert destination["s3Uri"] == f"s3://{outputs['ResultsBucket']}/cleanrooms-ml/"
    s3 = local_cloud.aws("s3")
    s3.head_bucket(Bucket=outputs["ResultsBucket"])
    types = {
        r["ResourceType"]
        for r in local_cloud.aws("cloudformation").describe_stack_resources(StackName=stack)[
            "StackResources"
        ]
    }
    assert {
        contract.ML_CONFIGURATION_RESOURCE_TYPE,
        contract.ML_INPUT_CHANNEL_RESOURCE_TYPE,
        contract.RESOURCE_TYPE,
        contract.INFERENCE_JOB_RESOURCE_TYPE,
        "AWS::S3::Bucket",
    } <= types
    assert not [t for t in types if t.startswith("AWS::CleanRoomsML::")]

    local_cloud.destroy(app, stack, *context)
    for channel in (outputs["TrainingChannelArn"], outputs["ScoringChannelArn"]):
        got = ml.get_ml_input_channel(membershipIdentifier=membership, mlInputChannelArn=channel)
        assert got["status"] == "INACTIVE"  # DeleteMLInputChannelData under DESTROY (A13)
    model = ml.get_trained_model(
        membershipIdentifier=membership, trainedModelArn=outputs["TrainedModelArn"]
    )
    assert model["status"] == "INACTIVE"  # its output deleted
    job = ml.get_trained_model_inference_job(
        membershipIdentifier=membership, trainedModelInferenceJobArn=outputs["InferenceJobArn"]
    )
    assert job["status"] == "ACTIVE"  # finished: nothing to cancel, and jobs have no delete
    assert [e["name"] for e in _model_exports(ml, model)] == [export["name"]]  # not undone
    with pytest.raises(ml.exceptions.ResourceNotFoundException):
        ml.get_ml_configuration(membershipIdentifier=membership)
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=outputs["ResultsBucket"])


def _model_exports(ml: Any, model: Mapping[str, Any]) -> list[dict[str, Any]]:
    listed = ml.list_collaboration_trained_model_export_jobs(
        collaborationIdentifier=model["collaborationIdentifier"],
        trainedModelArn=model["trainedModelArn"],
    )
    found: list[dict[str, Any]] = listed["collaborationTrainedModelExportJobs"]
    return found


REGIONAL_APP = """
from aws_cdk import App, CfnOutput, Environment, RemovalPolicy, Size, Stack

from cdk_cleanrooms_ml import DataChannel, InstanceType, TrainedModel

PREFIX = "{prefix}"
app = App()
stack = Stack(app, "{stack}", env=Environment(account="{account}", region="{region}"))
model = TrainedModel(
    stack,
    "Model",
    membership_identifier="{membership}",
    configured_model_algorithm_association_arn=f"{{PREFIX}}/configured-model-algorithm-association/a",
    instance_type=InstanceType.ML_M5_XLARGE,
    volume_size=Size.gibibytes(50),
    data_channels=[
        DataChannel(ml_input_channel_arn=f"{{PREFIX}}/ml-input-channel/c", channel_name="train")
    ],
    removal_policy=RemovalPolicy.DESTROY,
)
CfnOutput(stack, "TrainedModelArn", value=model.trained_model_arn)
app.synth()
"""


@pytest.mark.slow(seconds=25)
def test_a_stack_in_another_region_deploys_there_with_that_regions_arns(
    local_cloud: SharedCloud, tmp_path: Path
) -> None:
    """A stack bound to eu-west-1, that region bootstrapped too: the real ``cdk deploy``
    (through ``cdk-cleanrooms-ml local deploy``) deploys it to MiniStack's eu-west-1,
    whose handler signs for eu-west-1, so the emulator makes the model there; us-east-1
    sees nothing of it; ``destroy`` deletes its output."""
    region, stack = "eu-west-1", "OtherRegion"
    prefix = f"arn:aws:cleanrooms-ml:{region}:{clouds.ACCOUNT}:membership/{MEMBERSHIP}"
    (tmp_path / "app.py").write_text(
        REGIONAL_APP.format(
            prefix=prefix,
            stack=stack,
            account=clouds.ACCOUNT,
            region=region,
            membership=MEMBERSHIP,
        )
    )
    app = f"python3 {tmp_path / 'app.py'}"
    local_cloud.bootstrap(region)
    local_cloud.deploy(app, stack, outputs=tmp_path / "outputs.json")
    arn = outputs_of(tmp_path / "outputs.json", stack)["TrainedModelArn"]
    assert arn.startswith(f"{prefix}/trained-model/")
    (model,) = local_cloud.models(stack)
    assert (model["trainedModelArn"], model["region"]) == (arn, region)
    eu, us = local_cloud.cleanroomsml(region), local_cloud.cleanroomsml()
    got = eu.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn)
    assert got["status"] == "ACTIVE"
    with pytest.raises(us.exceptions.ResourceNotFoundException):
        us.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn)
    stacks = local_cloud.aws("cloudformation", region=region).describe_stacks(StackName=stack)
    assert stacks["Stacks"][0]["StackId"].startswith(f"arn:aws:cloudformation:{region}:")
    local_cloud.destroy(app, stack)
    got = eu.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn)
    assert got["status"] == "INACTIVE"


PREVIEW_APP = "python3 tests/preview_app.py"


@pytest.mark.slow(seconds=45)
def test_diff_previews_what_a_deploy_replaces_and_the_deploy_does_just_that(
    local_cloud: SharedCloud, tmp_path: Path
) -> None:
    """``cdk-cleanrooms-ml diff`` against real deploys: a stack not deployed yet (all
    created), then, deployed, the five cases of each kind's change (a tag change in
    place, a hyperparameter or query change replacing and dragging along what uses it,
    a rename, a removal), its exit codes, and the deploy doing what it said; after the
    destroy, all created again."""
    stack = "Preview"
    first = local_cloud.diff(PREVIEW_APP, stack, f"stackName={stack}")
    assert first.returncode == 0, first.stdout  # created is not replaced
    assert "Preview (not deployed yet)" in first.stdout
    assert "this deploy starts 3 trainings" in first.stdout
    local_cloud.deploy(PREVIEW_APP, stack, f"stackName={stack}", outputs=tmp_path / "1.json")
    same = local_cloud.diff(PREVIEW_APP, stack, f"stackName={stack}")
    assert same.returncode == 0, same.stdout
    assert "this deploy starts nothing" in same.stdout
    tags = local_cloud.diff(PREVIEW_APP, stack, f"stackName={stack}", "tag=Rows,Base,Scores")
    assert tags.returncode == 0, tags.stdout
    assert tags.stdout.count("updated in place") == 3, tags.stdout
    changes = [f"stackName={stack}", "epochs=20", "renameJob=1", "dropExtra=1"]
    told = local_cloud.diff(PREVIEW_APP, stack, *changes)
    assert told.returncode == 3, told.stdout
    lines = told.stdout
    assert "REPLACED  TrainedModel Base" in lines
    assert "hyperparameters['epochs']: changed (values hidden)" in lines
    assert "REPLACED  TrainedModel Successor" in lines  # it trains from the base
    assert "created  TrainedModelInferenceJob Renamed" in lines
    assert "deleted  TrainedModelInferenceJob Scores" in lines
    assert "deleted  TrainedModel Extra" in lines
    assert "this deploy starts 2 trainings" in lines
    query = local_cloud.diff(PREVIEW_APP, stack, f"stackName={stack}", "query=SELECT 1")
    assert query.returncode == 3, query.stdout
    assert "REPLACED  MLInputChannel Rows" in query.stdout
    assert "data_source (its query): changed (values hidden)" in query.stdout
    assert "SELECT" not in query.stdout  # a query is a secret
    for model in ("Base", "Successor", "Extra"):
        assert f"REPLACED  TrainedModel {model}" in query.stdout
    before = {m["trainedModelArn"] for m in local_cloud.models(stack)}
    local_cloud.deploy(PREVIEW_APP, stack, *changes, outputs=tmp_path / "2.json")
    after = {m["trainedModelArn"]: m["status"] for m in local_cloud.models(stack)}
    made = {arn for arn, status in after.items() if arn not in before}
    assert len(made) == 2  # the two trainings the preview said
    assert sum(status == "ACTIVE" for status in after.values()) == 2
    local_cloud.destroy(PREVIEW_APP, stack, f"stackName={stack}", "renameJob=1", "dropExtra=1")
    # MiniStack still answers GetTemplate for the deleted stack: its status says it is gone
    gone = local_cloud.diff(PREVIEW_APP, stack, *changes)
    assert gone.returncode == 0, gone.stdout
    assert "Preview (not deployed yet)" in gone.stdout


LOOKALIKE = "python3 examples/lookalike.py"
TRAINING_DATASET = (
    "arn:aws:cleanrooms-ml:us-east-1:000000000000:training-dataset/"
    "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c"
)


@pytest.mark.slow(seconds=47)
def test_lookalike_example_deploys_updates_in_place_replaces_and_destroys(
    local_cloud: SharedCloud, tmp_path: Path
) -> None:
    """examples/lookalike.py with a training dataset made elsewhere (MiniStack has no
    AWS::CleanRoomsML::* types): the audience model on the long path, the configured
    audience model with its resource policy, an audience from a SQL seed, its export;
    the configured model's description updated in place; a new training window trains a
    new audience model the configured one is moved to in place; all deleted on destroy."""
    stack = "CleanRoomsMLLookalike"
    context = [f"trainingDatasetArn={TRAINING_DATASET}", "removalPolicy=destroy"]
    ml = local_cloud.cleanroomsml()
    with local_cloud.timings(training_seconds=0.5):  # four in a row: the chain's
        _lookalike(local_cloud, ml, stack, context, tmp_path)


def _lookalike(
    local_cloud: SharedCloud, ml: Any, stack: str, context: list[str], tmp_path: Path
) -> None:
    local_cloud.deploy(LOOKALIKE, stack, *context, outputs=tmp_path / "1.json")
    first = outputs_of(tmp_path / "1.json", stack)
    model = ml.get_audience_model(audienceModelArn=first["AudienceModelArn"])
    assert model["status"] == "ACTIVE"
    assert model["trainingDatasetArn"] == TRAINING_DATASET
    assert model["trainingDataStartTime"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert model["trainingDataEndTime"] == datetime(2026, 7, 1, tzinfo=UTC)
    configured_arn = first["ConfiguredAudienceModelArn"]
    configured = ml.get_configured_audience_model(configuredAudienceModelArn=configured_arn)
    assert configured["audienceModelArn"] == first["AudienceModelArn"]
    assert configured["description"] == "Lookalikes of last season's buyers"
    assert configured["audienceSizeConfig"] == {
        "audienceSizeType": "ABSOLUTE",
        "audienceSizeBins": [10_000, 50_000, 100_000],
    }
    assert configured["minMatchingSeedSize"] == 500
    destination = configured["outputConfig"]["destination"]["s3Destination"]
    assert destination["s3Uri"] == f"s3://{first['AudiencesBucket']}/audiences/"
    held = ml.get_configured_audience_model_policy(configuredAudienceModelArn=configured_arn)
    (statement,) = json.loads(held["configuredAudienceModelPolicy"])["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{MEMBER_ACCOUNT}:root"}
    assert statement["Action"] == "cleanrooms-ml:StartAudienceGenerationJob"
    assert statement["Resource"] == "*"  # itself (a policy cannot name its own ARN)
    job = ml.get_audience_generation_job(audienceGenerationJobArn=first["AudienceGenerationJobArn"])
    assert job["status"] == first["AudienceGenerationJobStatus"] == "ACTIVE"
    assert job["configuredAudienceModelArn"] == configured_arn
    assert job["seedAudience"]["sqlParameters"]["queryString"].startswith("SELECT user_id")
    assert job["includeSeedInOutput"] is False
    (export,) = _audience_exports(ml, first["AudienceGenerationJobArn"])
    assert export["name"] == first["AudienceExportJobName"]
    assert export["status"] == first["AudienceExportJobStatus"] == "ACTIVE"
    assert export["audienceSize"] == {"type": "ABSOLUTE", "value": 10_000}
    made = _audience_resources(local_cloud)

    # the configured model's description: UpdateConfiguredAudienceModel, nothing replaced
    described = [*context, "description=Lookalikes of this season's buyers"]
    local_cloud.deploy(LOOKALIKE, stack, *described, outputs=tmp_path / "2.json")
    assert outputs_of(tmp_path / "2.json", stack) == first
    configured = ml.get_configured_audience_model(configuredAudienceModelArn=configured_arn)
    assert configured["description"] == "Lookalikes of this season's buyers"
    assert _audience_resources(local_cloud) == made

    # a new training window: a new audience model, allowed for this deploy (the example
    # protects it); the configured model moves to it in place, the old one is deleted
    window = [
        *described,
        "trainingDataStartTime=2026-02-01T00:00:00+00:00",
        "cdk-cleanrooms-ml:allowReplacement=CleanRoomsMLLookalike/AudienceModel",
    ]
    local_cloud.deploy(LOOKALIKE, stack, *window, outputs=tmp_path / "3.json")
    third = outputs_of(tmp_path / "3.json", stack)
    assert third["AudienceModelArn"] != first["AudienceModelArn"]
    assert {**third, "AudienceModelArn": first["AudienceModelArn"]} == first
    model = ml.get_audience_model(audienceModelArn=third["AudienceModelArn"])
    assert model["trainingDataStartTime"] == datetime(2026, 2, 1, tzinfo=UTC)
    configured = ml.get_configured_audience_model(configuredAudienceModelArn=configured_arn)
    assert configured["audienceModelArn"] == third["AudienceModelArn"]
    with pytest.raises(ml.exceptions.ResourceNotFoundException):
        ml.get_audience_model(audienceModelArn=first["AudienceModelArn"])  # DESTROY

    local_cloud.destroy(LOOKALIKE, stack, *window)
    with pytest.raises(ml.exceptions.ResourceNotFoundException):
        ml.get_audience_generation_job(audienceGenerationJobArn=first["AudienceGenerationJobArn"])
    with pytest.raises(ml.exceptions.ResourceNotFoundException):
        ml.get_configured_audience_model(configuredAudienceModelArn=configured_arn)
    with pytest.raises(ml.exceptions.ResourceNotFoundException):
        ml.get_audience_model(audienceModelArn=third["AudienceModelArn"])
    assert _audience_exports(ml, first["AudienceGenerationJobArn"]) == []  # gone with its job
    assert _audience_resources(local_cloud) == {}


def _audience_exports(ml: Any, job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ml.list_audience_export_jobs(audienceGenerationJobArn=job)[
        "audienceExportJobs"
    ]
    return found


def _audience_resources(cloud: SharedCloud) -> dict[str, int]:
    """How many of each audience kind the emulator holds (deleted ones are gone)."""
    held = cloud.control("resources")
    kinds = (
        "audience-model",
        "configured-audience-model",
        "audience-generation-job",
        "audience-export-job",
    )
    return {kind: len(held[kind]) for kind in kinds if held.get(kind)}
