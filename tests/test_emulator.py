"""The emulator speaks the service model's wire protocol, strictly, both ways."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from emulated import emulator_client, instant, serve

from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer, Timings, start_server
from cdk_cleanrooms_ml.local.emulator.shapes import service_model
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL as CHANNEL_KIND
from cdk_cleanrooms_ml.local.emulator.state import JOB as JOB_KIND
from helpers import MEMBERSHIP

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
    from mypy_boto3_cleanroomsml.type_defs import MLOutputConfigurationTypeDef

P = f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{MEMBERSHIP}"
ASSOC = f"{P}/configured-model-algorithm-association/a"
CHANNEL = f"{P}/ml-input-channel/c"
KMS = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-4333-8444-555555555555"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    yield from serve(instant())


@contextlib.contextmanager
def _running(timings: Timings) -> Iterator[tuple[Emulator, EmulatorServer]]:
    """An emulator with these timings on its own server (its clock advanced by the test)."""
    emulator = Emulator(timings=timings)
    server = start_server(emulator)
    try:
        yield emulator, server
    finally:
        server.stop()


def _statuses(emulator: Emulator, steps: Sequence[float], status: Callable[[], str]) -> list[str]:
    """``status()`` after each step of the emulator's clock."""
    seen = []
    for step in steps:
        emulator.clock.advance(step)
        seen.append(status())
    return seen


def _client(server: EmulatorServer, validate: bool = True) -> CleanRoomsMLClient:
    return emulator_client(server, validate=validate)


def _create(client: CleanRoomsMLClient, name: str = "m", **extra: Any) -> str:
    response = client.create_trained_model(
        membershipIdentifier=MEMBERSHIP,
        name=name,
        configuredModelAlgorithmAssociationArn=ASSOC,
        resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
        dataChannels=[{"mlInputChannelArn": CHANNEL, "channelName": "t"}],
        **extra,
    )
    arn: str = response["trainedModelArn"]
    return arn


def test_every_operation_the_handler_calls_round_trips(server: EmulatorServer) -> None:
    client = _client(server)
    arn = _create(client, tags={"a": "1"}, hyperparameters={"k": "v"}, description="d")
    model = client.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn)
    assert model["status"] == "ACTIVE"
    assert model["tags"] == {"a": "1"}
    assert model["hyperparameters"] == {"k": "v"}
    listed = client.list_trained_models(membershipIdentifier=MEMBERSHIP)["trainedModels"]
    assert [m["trainedModelArn"] for m in listed] == [arn]
    versions = client.list_trained_model_versions(
        membershipIdentifier=MEMBERSHIP, trainedModelArn=arn
    )
    assert len(versions["trainedModels"]) == 1
    client.tag_resource(resourceArn=arn, tags={"b": "2"})
    client.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    incremental = client.create_trained_model(
        membershipIdentifier=MEMBERSHIP,
        name="next",
        configuredModelAlgorithmAssociationArn=ASSOC,
        resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
        dataChannels=[{"mlInputChannelArn": CHANNEL, "channelName": "t"}],
        incrementalTrainingDataChannels=[{"trainedModelArn": arn, "channelName": "base"}],
    )
    assert "versionIdentifier" in incremental
    got = client.get_trained_model(
        membershipIdentifier=MEMBERSHIP,
        trainedModelArn=incremental["trainedModelArn"],
        versionIdentifier=incremental["versionIdentifier"],
    )
    assert got["incrementalTrainingDataChannels"][0]["modelName"] == "m"
    client.delete_trained_model_output(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn)
    assert (
        client.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn)["status"]
        == "INACTIVE"
    )


@pytest.mark.parametrize(
    ("paginator", "key", "sizes"),
    [
        ("list_trained_models", "trainedModels", [5, 5, 2]),
        ("list_ml_input_channels", "mlInputChannelsList", [5, 5, 2]),
    ],
)
def test_pagination_follows_next_token(
    server: EmulatorServer, paginator: str, key: str, sizes: list[int]
) -> None:
    client = _client(server)
    make = _create if paginator == "list_trained_models" else _channel
    for i in range(sum(sizes)):
        make(client, f"r{i}")
    pages = list(
        client.get_paginator(paginator).paginate(  # type: ignore[call-overload]
            membershipIdentifier=MEMBERSHIP, PaginationConfig={"PageSize": 5}
        )
    )
    assert [len(p[key]) for p in pages] == sizes


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"name": "x" * 64}, "maximum is 63"),
        ({"resourceConfig": {"instanceType": "ml.bogus", "volumeSizeInGB": 5}}, "is not one of"),
        (
            {"resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 0}},
            "below the minimum",
        ),
        (
            {"configuredModelAlgorithmAssociationArn": "arn:aws:s3:::b/k" + "x" * 10},
            "does not match",
        ),
        ({"membershipIdentifier": "NOT-A-UUID-0000-0000-0000-000000000000"}, "does not match"),
        ({"dataChannels": []}, "minimum is 1"),
        ({"environment": {"1bad": "v"}}, "does not match"),
    ],
)
def test_requests_are_checked_more_strictly_than_botocore_does(
    server: EmulatorServer, change: dict[str, Any], text: str
) -> None:
    client = _client(server, validate=False)
    request: dict[str, Any] = {
        "membershipIdentifier": MEMBERSHIP,
        "name": "m",
        "configuredModelAlgorithmAssociationArn": ASSOC,
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
        "dataChannels": [{"mlInputChannelArn": CHANNEL, "channelName": "t"}],
    }
    request.update(change)
    with pytest.raises(ClientError) as raised:
        client.create_trained_model(**request)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert text in raised.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 429),
        ("InternalServiceException", 500),
        ("ConflictException", 409),
        ("AccessDeniedException", 403),
        ("ServiceQuotaExceededException", 402),
        ("ResourceNotFoundException", 404),
    ],
)
def test_injected_faults_come_back_as_modelled_exceptions(
    server: EmulatorServer, code: str, status: int
) -> None:
    client = _client(server)
    server.emulator.inject_fault("ListTrainedModels", code, count=1)
    with pytest.raises(getattr(client.exceptions, code)) as raised:
        client.list_trained_models(membershipIdentifier=MEMBERSHIP)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert raised.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code
    assert client.list_trained_models(membershipIdentifier=MEMBERSHIP)["trainedModels"] == []


def test_status_moves_through_the_enum_on_the_clock() -> None:
    with _running(Timings(10, 100, 5)) as (emulator, server):
        client = _client(server)

        def status(arn: str) -> Callable[[], str]:
            get = client.get_trained_model
            return lambda: get(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn)["status"]

        arn = _create(client)
        seen = _statuses(emulator, (0, 10, 99, 1), status(arn))
        assert seen == ["CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "ACTIVE"]
        arn2 = _create(client, "m2")
        client.cancel_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn2)
        states = _statuses(emulator, (0, 5, 5), status(arn2))
        assert states == ["CANCEL_PENDING", "CANCEL_IN_PROGRESS", "INACTIVE"]
        emulator.fail_next_training("AlgorithmError: out of memory")
        arn3 = _create(client, "m3")
        emulator.clock.advance(200)
        failed = client.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn3)
        assert failed["status"] == "CREATE_FAILED"
        assert failed["statusDetails"] == {
            "statusCode": "AlgorithmError",
            "message": "out of memory",
        }
        with pytest.raises(client.exceptions.ConflictException):
            client.cancel_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn)


def test_names_are_unique_per_membership(server: EmulatorServer) -> None:
    client = _client(server)
    _create(client, "same")
    with pytest.raises(client.exceptions.ConflictException):
        _create(client, "same")


def test_control_routes(server: EmulatorServer) -> None:
    def post(path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{server.endpoint_url}{path}", json.dumps(body).encode(), method="POST"
        )
        urllib.request.urlopen(request).read()

    post(
        "/_emulator/faults",
        {"operation": "ListTrainedModels", "code": "ThrottlingException", "count": 1},
    )
    post("/_emulator/timings", {"training_seconds": 100})
    client = _client(server)
    with pytest.raises(client.exceptions.ThrottlingException):
        client.list_trained_models(membershipIdentifier=MEMBERSHIP)
    _create(client)
    models = json.loads(urllib.request.urlopen(f"{server.endpoint_url}/_emulator/models").read())
    assert models[0]["status"] == "CREATE_IN_PROGRESS"


def test_a_route_for_every_operation_of_the_model() -> None:
    from cdk_cleanrooms_ml.local.emulator.shapes import routes

    assert {r.operation.name for r in routes()} == set(service_model().operation_names)


# --- ML input channels, inference jobs and the ML configuration (issue 16) -------------

OTHER_MEMBERSHIP = "11111111-2222-4333-8444-555555555555"
ROLE = "arn:aws:iam::000000000000:role/cleanrooms-ml"


def _channel(
    client: CleanRoomsMLClient, name: str = "c", membership: str = MEMBERSHIP, **extra: Any
) -> str:
    association = ASSOC.replace(MEMBERSHIP, membership)
    response = client.create_ml_input_channel(
        membershipIdentifier=membership,
        name=name,
        configuredModelAlgorithmAssociations=[association],
        inputChannel={
            "dataSource": {
                "protectedQueryInputParameters": {
                    "sqlParameters": {"queryString": "SELECT a, b FROM t"},
                    "resultFormat": "CSV",
                }
            },
            "roleArn": ROLE,
        },
        retentionInDays=7,
        **extra,
    )
    arn: str = response["mlInputChannelArn"]
    return arn


def _job(
    client: CleanRoomsMLClient, model: str, channel: str, name: str = "j", **extra: Any
) -> str:
    response = client.start_trained_model_inference_job(
        membershipIdentifier=MEMBERSHIP,
        name=name,
        trainedModelArn=model,
        resourceConfig={"instanceType": "ml.m5.xlarge", "instanceCount": 1},
        outputConfiguration={"members": [{"accountId": "000000000000"}], "accept": "text/csv"},
        dataSource={"mlInputChannelArn": channel},
        **extra,
    )
    arn: str = response["trainedModelInferenceJobArn"]
    return arn


def _delete_data(client: CleanRoomsMLClient, channel: str) -> None:
    client.delete_ml_input_channel_data(membershipIdentifier=MEMBERSHIP, mlInputChannelArn=channel)


def _status(client: CleanRoomsMLClient, channel: str, membership: str = MEMBERSHIP) -> str:
    got = client.get_ml_input_channel(membershipIdentifier=membership, mlInputChannelArn=channel)
    status: str = got["status"]
    return status


def test_ml_input_channel_operations_round_trip(server: EmulatorServer) -> None:
    client = _client(server)
    arn = _channel(client, tags={"team": "ml"}, description="d", kmsKeyArn=f"{KMS}")
    assert arn.startswith(f"{P}/ml-input-channel/")
    got = client.get_ml_input_channel(membershipIdentifier=MEMBERSHIP, mlInputChannelArn=arn)
    assert got["status"] == "ACTIVE"
    assert got["retentionInDays"] == 7
    assert got["configuredModelAlgorithmAssociations"] == [ASSOC]
    sql = got["inputChannel"]["dataSource"]["protectedQueryInputParameters"]["sqlParameters"]
    assert sql == {"queryString": "SELECT a, b FROM t"}
    assert (got["description"], got["kmsKeyArn"], got["tags"]) == ("d", KMS, {"team": "ml"})
    assert got["numberOfRecords"] == 1000  # A13: a made-up count, once ACTIVE
    listed = client.list_ml_input_channels(membershipIdentifier=MEMBERSHIP)["mlInputChannelsList"]
    assert [c["mlInputChannelArn"] for c in listed] == [arn]
    client.tag_resource(resourceArn=arn, tags={"b": "2"})
    client.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"b": "2"}
    with pytest.raises(client.exceptions.ResourceNotFoundException):  # A18: not its membership
        client.get_ml_input_channel(membershipIdentifier=OTHER_MEMBERSHIP, mlInputChannelArn=arn)

    _delete_data(client, arn)
    assert _status(client, arn) == "INACTIVE"  # A13: the channel stays, its data is gone
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        _delete_data(client, arn)


def test_channel_names_are_unique_among_a_memberships_live_channels(
    server: EmulatorServer,
) -> None:
    """A12: a duplicate is a ConflictException; an INACTIVE channel or another
    membership's holds no name."""
    client = _client(server)
    first = _channel(client, "same")
    with pytest.raises(client.exceptions.ConflictException):
        _channel(client, "same")
    _channel(client, "same", membership=OTHER_MEMBERSHIP)
    _delete_data(client, first)
    assert _channel(client, "same") != first


def test_a_channel_moves_through_its_statuses_and_its_data_is_deleted_once_created() -> None:
    """A13: the query takes ``training_seconds``; data can be deleted once it ended
    (ACTIVE, CREATE_FAILED, DELETE_FAILED), else ConflictException."""
    with _running(Timings(10, 100, 5)) as (emulator, server):
        client = _client(server)
        arn = _channel(client)
        seen = _statuses(emulator, (0, 10, 50), lambda: _status(client, arn))
        assert seen == ["CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS"]
        with pytest.raises(client.exceptions.ConflictException):
            _delete_data(client, arn)
        emulator.clock.advance(50)
        assert _status(client, arn) == "ACTIVE"
        _delete_data(client, arn)
        states = _statuses(emulator, (0, 5, 5), lambda: _status(client, arn))
        assert states == ["DELETE_PENDING", "DELETE_IN_PROGRESS", "INACTIVE"]

        emulator.fail_next_creation(CHANNEL_KIND, "QueryFailed: table t not found")
        failed = _channel(client, "failing")
        emulator.clock.advance(200)
        got = client.get_ml_input_channel(membershipIdentifier=MEMBERSHIP, mlInputChannelArn=failed)
        assert got["status"] == "CREATE_FAILED"
        assert got["statusDetails"] == {"statusCode": "QueryFailed", "message": "table t not found"}
        _delete_data(client, failed)
        emulator.clock.advance(10)
        assert _status(client, failed) == "INACTIVE"


def test_inference_job_operations_round_trip(server: EmulatorServer) -> None:
    client = _client(server)
    model, channel = _create(client), _channel(client)
    arn = _job(
        client,
        model,
        channel,
        tags={"team": "ml"},
        environment={"MODE": "batch"},
        containerExecutionParameters={"maxPayloadInMB": 6},
        configuredModelAlgorithmAssociationArn=ASSOC,
    )
    assert arn.startswith(f"{P}/trained-model-inference-job/")
    got = client.get_trained_model_inference_job(
        membershipIdentifier=MEMBERSHIP, trainedModelInferenceJobArn=arn
    )
    assert got["status"] == "ACTIVE"  # A14: ACTIVE is a finished job (the enum has no COMPLETED)
    assert (got["trainedModelArn"], got["dataSource"]) == (model, {"mlInputChannelArn": channel})
    assert got["environment"] == {"MODE": "batch"}
    assert got["containerExecutionParameters"] == {"maxPayloadInMB": 6}
    assert got["outputConfiguration"]["members"] == [{"accountId": "000000000000"}]
    assert got["tags"] == {"team": "ml"}
    listed = client.list_trained_model_inference_jobs(membershipIdentifier=MEMBERSHIP)
    (summary,) = listed["trainedModelInferenceJobs"]
    assert (summary["trainedModelInferenceJobArn"], summary["status"]) == (arn, "ACTIVE")
    client.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {}
    with pytest.raises(client.exceptions.ConflictException):  # A15: nothing to cancel
        client.cancel_trained_model_inference_job(
            membershipIdentifier=MEMBERSHIP, trainedModelInferenceJobArn=arn
        )
    with pytest.raises(client.exceptions.ConflictException):  # A12 for jobs too
        _job(client, model, channel)


def test_a_running_job_is_cancelled_to_inactive() -> None:
    """A15: only a job still running (CREATE_PENDING, CREATE_IN_PROGRESS) can be
    cancelled: CANCEL_PENDING, CANCEL_IN_PROGRESS, INACTIVE."""
    with _running(Timings(0, 0, 5)) as (emulator, server):
        client = _client(server)
        model, channel = _create(client), _channel(client)
        emulator.timings.training_seconds = 100
        arn = _job(client, model, channel)
        job = {"membershipIdentifier": MEMBERSHIP, "trainedModelInferenceJobArn": arn}
        assert client.get_trained_model_inference_job(**job)["status"] == "CREATE_IN_PROGRESS"
        client.cancel_trained_model_inference_job(**job)
        status = client.get_trained_model_inference_job
        states = _statuses(emulator, (0, 5, 5), lambda: status(**job)["status"])
        assert states == ["CANCEL_PENDING", "CANCEL_IN_PROGRESS", "INACTIVE"]
        emulator.fail_next_creation(JOB_KIND, "AlgorithmError: bad input")
        failed = _job(client, model, channel, "failing")
        emulator.clock.advance(200)
        got = client.get_trained_model_inference_job(
            membershipIdentifier=MEMBERSHIP, trainedModelInferenceJobArn=failed
        )
        assert got["status"] == "CREATE_FAILED"
        assert got["statusDetails"] == {"statusCode": "AlgorithmError", "message": "bad input"}


def test_starting_a_job_needs_an_active_model_and_channel_of_the_membership() -> None:
    """A16: an unknown model or channel is a ResourceNotFoundException; one that is
    not ACTIVE (yet, or any more) a ValidationException."""
    with _running(Timings(0, 100, 0)) as (emulator, server):
        client = _client(server)
        model, channel = _create(client), _channel(client)  # both still training
        with pytest.raises(client.exceptions.ValidationException, match="is CREATE_IN_PROGRESS"):
            _job(client, model, channel)
        emulator.clock.advance(100)
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            _job(client, model, f"{P}/ml-input-channel/missing")
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            _job(client, f"{P}/trained-model/missing", channel)
        _delete_data(client, channel)
        with pytest.raises(client.exceptions.ValidationException, match="not ACTIVE"):
            _job(client, model, channel)
        assert emulator.snapshot(JOB_KIND) == []


def _output(uri: str) -> MLOutputConfigurationTypeDef:
    return {"destination": {"s3Destination": {"s3Uri": uri}}, "roleArn": ROLE}


def test_the_ml_configuration_is_put_read_replaced_and_deleted_per_membership(
    server: EmulatorServer,
) -> None:
    """A17: one configuration per membership; Put creates or replaces it (its
    createTime kept); Get and Delete without one are ResourceNotFoundException."""
    client = _client(server)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_ml_configuration(membershipIdentifier=MEMBERSHIP)
    location = _output("s3://results/ml/")
    client.put_ml_configuration(membershipIdentifier=MEMBERSHIP, defaultOutputLocation=location)
    first = client.get_ml_configuration(membershipIdentifier=MEMBERSHIP)
    assert first["defaultOutputLocation"] == location
    assert first["membershipIdentifier"] == MEMBERSHIP
    moved = _output("s3://other/")
    client.put_ml_configuration(membershipIdentifier=MEMBERSHIP, defaultOutputLocation=moved)
    second = client.get_ml_configuration(membershipIdentifier=MEMBERSHIP)
    assert second["defaultOutputLocation"] == moved
    assert second["createTime"] == first["createTime"]
    assert second["updateTime"] >= first["updateTime"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):  # each membership its own
        client.get_ml_configuration(membershipIdentifier=OTHER_MEMBERSHIP)
    client.delete_ml_configuration(membershipIdentifier=MEMBERSHIP)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_ml_configuration(membershipIdentifier=MEMBERSHIP)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_ml_configuration(membershipIdentifier=MEMBERSHIP)
