"""The emulator speaks the service model's wire protocol, strictly, both ways."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer, Timings, start_server
from cdk_cleanrooms_ml.local.emulator.shapes import service_model
from helpers import MEMBERSHIP

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

P = f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{MEMBERSHIP}"
ASSOC = f"{P}/configured-model-algorithm-association/a"
CHANNEL = f"{P}/ml-input-channel/c"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    running = start_server(Emulator(timings=Timings(0.0, 0.0, 0.0)))
    yield running
    running.stop()


def _client(server: EmulatorServer, validate: bool = True) -> CleanRoomsMLClient:
    return boto3.client(
        "cleanroomsml",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(
            parameter_validation=validate, retries={"mode": "standard", "total_max_attempts": 1}
        ),
    )


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


def test_pagination_follows_next_token(server: EmulatorServer) -> None:
    client = _client(server)
    for i in range(12):
        _create(client, f"m{i}")
    pages = list(
        client.get_paginator("list_trained_models").paginate(
            membershipIdentifier=MEMBERSHIP, PaginationConfig={"PageSize": 5}
        )
    )
    assert [len(p["trainedModels"]) for p in pages] == [5, 5, 2]


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
    emulator = Emulator(timings=Timings(10, 100, 5))
    server = start_server(emulator)
    try:
        client = _client(server)
        arn = _create(client)
        seen = []
        for step in (0, 10, 99, 1):
            emulator.clock.advance(step)
            seen.append(
                client.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn)[
                    "status"
                ]
            )
        assert seen == ["CREATE_PENDING", "CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "ACTIVE"]
        arn2 = _create(client, "m2")
        client.cancel_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn2)
        states = []
        for step in (0, 5, 5):
            emulator.clock.advance(step)
            states.append(
                client.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=arn2)[
                    "status"
                ]
            )
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
    finally:
        server.stop()


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
