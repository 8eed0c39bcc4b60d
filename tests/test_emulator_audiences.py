"""The emulator's lookalike audiences and exports, over HTTP with a real botocore client:
every operation the new kinds call, strictly against the model (A21-A26)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from emulated import emulator_client, instant, serve

from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer, Timings, start_server
from cdk_cleanrooms_ml.local.emulator.state import (
    AUDIENCE_EXPORT,
    AUDIENCE_MODEL,
    GENERATION_JOB,
    MODEL_EXPORT,
    policy_hash,
)
from helpers import MEMBERSHIP

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

ACCOUNT = "arn:aws:cleanrooms-ml:us-east-1:000000000000"
DATASET = f"{ACCOUNT}:training-dataset/d1"
ROLE = "arn:aws:iam::000000000000:role/cleanrooms-ml"
P = f"{ACCOUNT}:membership/{MEMBERSHIP}"
COLLABORATION = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    yield from serve(instant())


@contextlib.contextmanager
def _running(timings: Timings) -> Iterator[tuple[Emulator, EmulatorServer]]:
    emulator = Emulator(timings=timings)
    server = start_server(emulator)
    try:
        yield emulator, server
    finally:
        server.stop()


def _audience_model(client: CleanRoomsMLClient, name: str = "am", **extra: Any) -> str:
    arn: str = client.create_audience_model(name=name, trainingDatasetArn=DATASET, **extra)[
        "audienceModelArn"
    ]
    return arn


def _configured(client: CleanRoomsMLClient, model: str, name: str = "cam", **extra: Any) -> str:
    arn: str = client.create_configured_audience_model(
        name=name,
        audienceModelArn=model,
        outputConfig={
            "destination": {"s3Destination": {"s3Uri": "s3://out/aud/"}},
            "roleArn": ROLE,
        },
        sharedAudienceMetrics=["ALL"],
        audienceSizeConfig={"audienceSizeType": "ABSOLUTE", "audienceSizeBins": [1000, 5000]},
        **extra,
    )["configuredAudienceModelArn"]
    return arn


def _generation(
    client: CleanRoomsMLClient, configured: str, name: str = "gen", **extra: Any
) -> str:
    seed = extra.pop(
        "seedAudience", {"dataSource": {"s3Uri": "s3://seed/users.csv"}, "roleArn": ROLE}
    )
    arn: str = client.start_audience_generation_job(
        name=name, configuredAudienceModelArn=configured, seedAudience=seed, **extra
    )["audienceGenerationJobArn"]
    return arn


def _model(client: CleanRoomsMLClient) -> str:
    arn: str = client.create_trained_model(
        membershipIdentifier=MEMBERSHIP,
        name="m",
        configuredModelAlgorithmAssociationArn=f"{P}/configured-model-algorithm-association/a",
        resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
        dataChannels=[{"mlInputChannelArn": f"{P}/ml-input-channel/c", "channelName": "t"}],
    )["trainedModelArn"]
    return arn


def test_audience_model_operations_round_trip(server: EmulatorServer) -> None:
    client = emulator_client(server)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    arn = _audience_model(
        client,
        tags={"team": "ads"},
        description="d",
        trainingDataStartTime=start,
        trainingDataEndTime=datetime(2026, 3, 1, tzinfo=UTC),
        kmsKeyArn="arn:aws:kms:us-east-1:000000000000:key/k1",
    )
    assert arn.startswith(f"{ACCOUNT}:audience-model/")  # A21: an ARN of the account
    got = client.get_audience_model(audienceModelArn=arn)
    assert (got["status"], got["trainingDatasetArn"], got["description"]) == (
        "ACTIVE",
        DATASET,
        "d",
    )
    assert got["trainingDataStartTime"] == start
    assert got["tags"] == {"team": "ads"}
    (summary,) = client.list_audience_models()["audienceModels"]
    assert (summary["audienceModelArn"], summary["name"]) == (arn, "am")
    client.tag_resource(resourceArn=arn, tags={"b": "2"})
    client.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    with pytest.raises(client.exceptions.ConflictException):  # A21: names per account
        _audience_model(client)
    client.delete_audience_model(audienceModelArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):  # A21: gone
        client.get_audience_model(audienceModelArn=arn)
    assert client.list_audience_models()["audienceModels"] == []
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.list_tags_for_resource(resourceArn=arn)
    assert _audience_model(client) != arn  # its name is free again


def test_an_audience_model_trains_for_its_own_time_and_is_deleted_even_while_training() -> None:
    """A21: CREATE_PENDING, CREATE_IN_PROGRESS for ``audience_model_seconds`` (hours on
    AWS), ACTIVE; deleting one still training stops it: DELETE_PENDING,
    DELETE_IN_PROGRESS, gone."""
    with _running(Timings(10, 100, 5, audience_model_seconds=7200)) as (emulator, server):
        client = emulator_client(server)
        arn = _audience_model(client)

        def status() -> str:
            found: str = client.get_audience_model(audienceModelArn=arn)["status"]
            return found

        seen = []
        for step in (0, 10, 3600, 3600):
            emulator.clock.advance(step)
            seen.append(status())
        assert seen == ["CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "ACTIVE"]
        training = _audience_model(client, "second")
        emulator.clock.advance(60)
        client.delete_audience_model(audienceModelArn=training)
        assert client.get_audience_model(audienceModelArn=training)["status"] == "DELETE_PENDING"
        with pytest.raises(client.exceptions.ConflictException):  # already being deleted
            client.delete_audience_model(audienceModelArn=training)
        emulator.clock.advance(5)
        assert (
            client.get_audience_model(audienceModelArn=training)["status"] == "DELETE_IN_PROGRESS"
        )
        emulator.clock.advance(5)
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_audience_model(audienceModelArn=training)
        emulator.fail_next_creation(AUDIENCE_MODEL, "TrainingFailed: too few rows")
        failed = _audience_model(client, "third")
        emulator.clock.advance(7300)
        got = client.get_audience_model(audienceModelArn=failed)
        assert (got["status"], got["statusDetails"]) == (
            "CREATE_FAILED",
            {"statusCode": "TrainingFailed", "message": "too few rows"},
        )
        emulator.fail_next_delete("the model's data could not be removed")
        client.delete_audience_model(audienceModelArn=failed)
        emulator.clock.advance(10)
        assert client.get_audience_model(audienceModelArn=failed)["status"] == "DELETE_FAILED"


def test_a_training_window_must_start_before_it_ends(server: EmulatorServer) -> None:
    client = emulator_client(server)
    with pytest.raises(client.exceptions.ValidationException, match="before"):
        _audience_model(
            client,
            trainingDataStartTime=datetime(2026, 3, 1, tzinfo=UTC),
            trainingDataEndTime=datetime(2026, 1, 1, tzinfo=UTC),
        )


def test_configured_audience_model_operations_round_trip_and_update_in_place(
    server: EmulatorServer,
) -> None:
    """A22: ACTIVE at once; an update replaces the members it names and keeps the rest;
    the audience model it uses cannot be deleted meanwhile (the API reference)."""
    client = emulator_client(server)
    model, other = _audience_model(client), _audience_model(client, "other")
    arn = _configured(client, model, description="first", minMatchingSeedSize=25, tags={"a": "1"})
    assert arn.startswith(f"{ACCOUNT}:configured-audience-model/")
    got = client.get_configured_audience_model(configuredAudienceModelArn=arn)
    assert (got["status"], got["audienceModelArn"], got["minMatchingSeedSize"]) == (
        "ACTIVE",
        model,
        25,
    )
    assert got["tags"] == {"a": "1"}
    client.update_configured_audience_model(
        configuredAudienceModelArn=arn, description="second", audienceModelArn=other
    )
    updated = client.get_configured_audience_model(configuredAudienceModelArn=arn)
    assert (updated["description"], updated["audienceModelArn"]) == ("second", other)
    assert updated["minMatchingSeedSize"] == 25  # not named: kept
    assert updated["updateTime"] >= got["updateTime"]
    (summary,) = client.list_configured_audience_models()["configuredAudienceModels"]
    assert summary["configuredAudienceModelArn"] == arn
    with pytest.raises(client.exceptions.ConflictException):
        client.delete_audience_model(audienceModelArn=other)
    client.delete_audience_model(audienceModelArn=model)  # no longer used
    with pytest.raises(client.exceptions.ConflictException):
        _configured(client, other)  # names are unique
    client.delete_configured_audience_model(configuredAudienceModelArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_configured_audience_model(configuredAudienceModelArn=arn)
    client.delete_audience_model(audienceModelArn=other)


def test_a_configured_audience_model_needs_an_active_audience_model() -> None:
    with _running(Timings(0, 100, 0)) as (emulator, server):
        client = emulator_client(server)
        training = _audience_model(client)
        with pytest.raises(client.exceptions.ValidationException, match="not ACTIVE"):
            _configured(client, training)
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            _configured(client, f"{ACCOUNT}:audience-model/missing")
        emulator.clock.advance(100)
        with pytest.raises(client.exceptions.ValidationException, match="1-100"):
            client.create_configured_audience_model(
                name="c",
                audienceModelArn=training,
                outputConfig={
                    "destination": {"s3Destination": {"s3Uri": "s3://o/"}},
                    "roleArn": ROLE,
                },
                sharedAudienceMetrics=["NONE"],
                audienceSizeConfig={"audienceSizeType": "PERCENTAGE", "audienceSizeBins": [150]},
            )


def test_the_resource_policy_is_put_with_its_hash_and_deleted(server: EmulatorServer) -> None:
    """A23: the hash is the policy's SHA-256; a put naming another hash, or the wrong
    existence condition, is refused (ValidationException); no policy is NotFound."""
    client = emulator_client(server)
    arn = _configured(client, _audience_model(client))
    key: Any = {"configuredAudienceModelArn": arn}
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_configured_audience_model_policy(**key)
    first = json.dumps({"Version": "2012-10-17", "Statement": []})
    put = client.put_configured_audience_model_policy(
        **key, configuredAudienceModelPolicy=first, policyExistenceCondition="POLICY_MUST_NOT_EXIST"
    )
    assert put["policyHash"] == policy_hash(first)
    got = client.get_configured_audience_model_policy(**key)
    assert (got["configuredAudienceModelPolicy"], got["policyHash"]) == (first, put["policyHash"])
    second = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "x"}]})
    with pytest.raises(client.exceptions.ValidationException, match="changed"):
        client.put_configured_audience_model_policy(
            **key, configuredAudienceModelPolicy=second, previousPolicyHash="0" * 64
        )
    with pytest.raises(client.exceptions.ValidationException, match="POLICY_MUST_NOT_EXIST"):
        client.put_configured_audience_model_policy(
            **key,
            configuredAudienceModelPolicy=second,
            policyExistenceCondition="POLICY_MUST_NOT_EXIST",
        )
    client.put_configured_audience_model_policy(
        **key, configuredAudienceModelPolicy=second, previousPolicyHash=put["policyHash"]
    )
    with pytest.raises(client.exceptions.ValidationException, match="not JSON"):
        client.put_configured_audience_model_policy(**key, configuredAudienceModelPolicy="{")
    client.delete_configured_audience_model_policy(**key)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_configured_audience_model_policy(**key)
    with pytest.raises(client.exceptions.ValidationException, match="POLICY_MUST_EXIST"):
        client.put_configured_audience_model_policy(
            **key,
            configuredAudienceModelPolicy=second,
            policyExistenceCondition="POLICY_MUST_EXIST",
        )


def test_audience_generation_job_operations_round_trip(server: EmulatorServer) -> None:
    """A24: ACTIVE is the audience generated, with made-up metrics for each of the
    configured model's sizes; a SQL seed needs a collaboration and gets a protected query."""
    client = emulator_client(server)
    configured = _configured(client, _audience_model(client))
    arn = _generation(
        client, configured, tags={"t": "v"}, includeSeedInOutput=True, description="d"
    )
    assert arn.startswith(f"{ACCOUNT}:audience-generation-job/")
    got = client.get_audience_generation_job(audienceGenerationJobArn=arn)
    assert (got["status"], got["includeSeedInOutput"], got["tags"]) == ("ACTIVE", True, {"t": "v"})
    assert got["seedAudience"]["dataSource"] == {"s3Uri": "s3://seed/users.csv"}
    sizes = [m["audienceSize"] for m in got["metrics"]["relevanceMetrics"]]
    assert sizes == [{"type": "ABSOLUTE", "value": 1000}, {"type": "ABSOLUTE", "value": 5000}]
    assert "protectedQueryIdentifier" not in got
    sql = {"sqlParameters": {"queryString": "SELECT user_id FROM seeds"}, "roleArn": ROLE}
    with pytest.raises(client.exceptions.ValidationException, match="collaborationId"):
        _generation(client, configured, "from-sql", seedAudience=sql)
    from_sql = _generation(
        client,
        configured,
        "from-sql",
        seedAudience={
            **sql,
            "sqlComputeConfiguration": {"worker": {"type": "CR.4X", "number": 4}},
        },
        collaborationId=COLLABORATION,
    )
    got = client.get_audience_generation_job(audienceGenerationJobArn=from_sql)
    assert got["collaborationId"] == COLLABORATION
    assert "protectedQueryIdentifier" in got
    listed = client.list_audience_generation_jobs(collaborationId=COLLABORATION)
    assert [j["audienceGenerationJobArn"] for j in listed["audienceGenerationJobs"]] == [from_sql]
    every = client.list_audience_generation_jobs(configuredAudienceModelArn=configured)
    assert len(every["audienceGenerationJobs"]) == 2
    for seed in (
        {"roleArn": ROLE},
        {**sql, "dataSource": {"s3Uri": "s3://seed/x"}},
        {
            "dataSource": {"s3Uri": "s3://s/x"},
            "roleArn": ROLE,
            "sqlComputeConfiguration": {"worker": {"number": 2}},
        },
    ):
        with pytest.raises(client.exceptions.ValidationException):
            _generation(
                client, configured, "wrong", seedAudience=seed, collaborationId=COLLABORATION
            )
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        _generation(client, f"{ACCOUNT}:configured-audience-model/missing", "x")
    client.delete_audience_generation_job(audienceGenerationJobArn=arn)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_audience_generation_job(audienceGenerationJobArn=arn)


def test_a_running_generation_job_is_deleted_and_a_failed_one_says_why() -> None:
    with _running(Timings(0, 100, 5, audience_model_seconds=0)) as (emulator, server):
        client = emulator_client(server)
        configured = _configured(client, _audience_model(client))
        running = _generation(client, configured)
        key = {"audienceGenerationJobArn": running}
        assert client.get_audience_generation_job(**key)["status"] == "CREATE_IN_PROGRESS"
        client.delete_audience_generation_job(**key)
        assert client.get_audience_generation_job(**key)["status"] == "DELETE_PENDING"
        emulator.clock.advance(10)
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.get_audience_generation_job(**key)
        emulator.fail_next_creation(GENERATION_JOB, "SeedTooSmall: 3 rows match")
        failed = _generation(client, configured, "failing")
        emulator.clock.advance(200)
        got = client.get_audience_generation_job(audienceGenerationJobArn=failed)
        assert got["status"] == "CREATE_FAILED"
        assert got["statusDetails"] == {"statusCode": "SeedTooSmall", "message": "3 rows match"}


def test_audience_exports_are_listed_by_their_job_and_go_with_it() -> None:
    """A25: no ARN and no tags: an export is found by its job and name; the job must be
    ACTIVE, the size one its configured model has, the name unique among the job's
    exports; its exports go with a deleted job."""
    with _running(Timings(0, 0, 0)) as (emulator, server):
        client = emulator_client(server)
        configured = _configured(client, _audience_model(client))
        job = _generation(client, configured)
        size: Any = {"type": "ABSOLUTE", "value": 1000}
        client.start_audience_export_job(
            name="e1", audienceGenerationJobArn=job, audienceSize=size, description="d"
        )
        (export,) = client.list_audience_export_jobs(audienceGenerationJobArn=job)[
            "audienceExportJobs"
        ]
        assert (export["name"], export["status"], export["audienceSize"]) == ("e1", "ACTIVE", size)
        assert export["outputLocation"] == "s3://out/aud/gen/e1/"
        with pytest.raises(client.exceptions.ConflictException):
            client.start_audience_export_job(
                name="e1", audienceGenerationJobArn=job, audienceSize=size
            )
        with pytest.raises(client.exceptions.ValidationException, match="sizes"):
            client.start_audience_export_job(
                name="e2",
                audienceGenerationJobArn=job,
                audienceSize={"type": "ABSOLUTE", "value": 7},
            )
        emulator.fail_next_creation(AUDIENCE_EXPORT, "ExportFailed: bucket denied")
        client.start_audience_export_job(name="e3", audienceGenerationJobArn=job, audienceSize=size)
        failed = client.list_audience_export_jobs()["audienceExportJobs"][-1]
        assert failed["statusDetails"] == {"statusCode": "ExportFailed", "message": "bucket denied"}
        emulator.timings.training_seconds = 50
        running = _generation(client, configured, "running")
        with pytest.raises(client.exceptions.ValidationException, match="not ACTIVE"):
            client.start_audience_export_job(
                name="e4", audienceGenerationJobArn=running, audienceSize=size
            )
        client.delete_audience_generation_job(audienceGenerationJobArn=job)
        emulator.clock.advance(1)
        assert (
            client.list_audience_export_jobs(audienceGenerationJobArn=job)["audienceExportJobs"]
            == []
        )
        # the status (/_emulator/resources) leaves them out too
        assert emulator.resources()[AUDIENCE_EXPORT] == []
        assert {r["name"] for r in emulator.snapshot(AUDIENCE_EXPORT)} == {"e1", "e3"}


def test_trained_model_exports_are_listed_in_the_models_collaboration() -> None:
    """A26: the model must be ACTIVE; names are unique among the model's exports; they are
    listed in the collaboration of the model's membership only."""
    with _running(Timings(0, 0, 0)) as (emulator, server):
        client = emulator_client(server)
        model = _model(client)
        collaboration = client.get_trained_model(
            membershipIdentifier=MEMBERSHIP, trainedModelArn=model
        )["collaborationIdentifier"]
        members: Any = {"members": [{"accountId": "111122223333"}]}
        client.start_trained_model_export_job(
            membershipIdentifier=MEMBERSHIP,
            trainedModelArn=model,
            name="x1",
            outputConfiguration=members,
            description="to the partner",
        )
        listed = client.list_collaboration_trained_model_export_jobs(
            collaborationIdentifier=collaboration, trainedModelArn=model
        )["collaborationTrainedModelExportJobs"]
        (export,) = listed
        assert (export["name"], export["status"], export["membershipIdentifier"]) == (
            "x1",
            "ACTIVE",
            MEMBERSHIP,
        )
        assert (export["outputConfiguration"], export["creatorAccountId"]) == (
            members,
            "000000000000",
        )
        with pytest.raises(client.exceptions.ConflictException):
            client.start_trained_model_export_job(
                membershipIdentifier=MEMBERSHIP,
                trainedModelArn=model,
                name="x1",
                outputConfiguration=members,
            )
        other = client.list_collaboration_trained_model_export_jobs(
            collaborationIdentifier=COLLABORATION, trainedModelArn=model
        )
        assert other["collaborationTrainedModelExportJobs"] == []
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.start_trained_model_export_job(
                membershipIdentifier=MEMBERSHIP,
                trainedModelArn=f"{P}/trained-model/missing",
                name="x2",
                outputConfiguration=members,
            )
        emulator.timings.training_seconds = 50
        training = client.create_trained_model(
            membershipIdentifier=MEMBERSHIP,
            name="training",
            configuredModelAlgorithmAssociationArn=f"{P}/configured-model-algorithm-association/a",
            resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
            dataChannels=[{"mlInputChannelArn": f"{P}/ml-input-channel/c", "channelName": "t"}],
        )["trainedModelArn"]
        with pytest.raises(client.exceptions.ValidationException, match="not ACTIVE"):
            client.start_trained_model_export_job(
                membershipIdentifier=MEMBERSHIP,
                trainedModelArn=training,
                name="x3",
                outputConfiguration=members,
            )
        emulator.fail_next_creation(MODEL_EXPORT, "ExportFailed: no access")
        client.start_trained_model_export_job(
            membershipIdentifier=MEMBERSHIP,
            trainedModelArn=model,
            name="x4",
            outputConfiguration=members,
        )
        emulator.clock.advance(60)
        statuses = {
            e["name"]: e["status"]
            for e in client.list_collaboration_trained_model_export_jobs(
                collaborationIdentifier=collaboration, trainedModelArn=model
            )["collaborationTrainedModelExportJobs"]
        }
        assert statuses == {"x1": "ACTIVE", "x4": "CREATE_FAILED"}


def test_the_status_lists_the_new_kinds_and_leaves_out_what_was_deleted(
    server: EmulatorServer,
) -> None:
    client = emulator_client(server)
    kept, deleted = _audience_model(client, "kept"), _audience_model(client, "deleted")
    client.delete_audience_model(audienceModelArn=deleted)
    listed = server.emulator.resources()
    assert [r["arn"] for r in listed[AUDIENCE_MODEL]] == [kept]
    assert {r["status"] for r in server.emulator.snapshot(AUDIENCE_MODEL)} == {"ACTIVE", "DELETED"}
