"""The emulator writes every response as the service model declares it (timestamps in
their ``timestampFormat``: ISO 8601 date-times for Clean Rooms ML) and checks each one,
every type of the shape, before it is sent; a response in a wrong format never leaves."""

from __future__ import annotations

import copy
import json
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import botocore.loaders
import botocore.serialize
import pytest
from emulated import ASSOCIATION, CHANNEL_ROLE, PREFIX, emulator_client, instant, serve

import kinds
from cdk_cleanrooms_ml.local.emulator import EmulatorServer, shapes
from cdk_cleanrooms_ml.local.emulator.shapes import service_model
from helpers import MEMBERSHIP

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    yield from serve(instant())


def _client(server: EmulatorServer) -> CleanRoomsMLClient:
    return emulator_client(server)


def _raw_bodies(client: CleanRoomsMLClient) -> list[tuple[str, Any]]:
    """Each response body as it came over the wire (before botocore parsed it), with
    its operation's name."""
    seen: list[tuple[str, Any]] = []

    def keep(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        seen.append((operation_model.name, json.loads(response_dict["body"] or b"{}")))

    client.meta.events.register("before-parse.cleanroomsml.*", keep)
    return seen


def _every_kind(client: CleanRoomsMLClient) -> None:
    """One of each resource, each read back with Get and List."""
    channel = client.create_ml_input_channel(
        membershipIdentifier=MEMBERSHIP,
        name="c",
        configuredModelAlgorithmAssociations=[ASSOCIATION],
        inputChannel={
            "dataSource": {
                "protectedQueryInputParameters": {"sqlParameters": {"queryString": "SELECT 1"}}
            },
            "roleArn": CHANNEL_ROLE,
        },
        retentionInDays=7,
    )["mlInputChannelArn"]
    model = client.create_trained_model(
        membershipIdentifier=MEMBERSHIP,
        name="m",
        configuredModelAlgorithmAssociationArn=ASSOCIATION,
        resourceConfig={"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
        dataChannels=[{"mlInputChannelArn": channel, "channelName": "t"}],
    )["trainedModelArn"]
    job = client.start_trained_model_inference_job(
        membershipIdentifier=MEMBERSHIP,
        name="j",
        trainedModelArn=model,
        resourceConfig={"instanceType": "ml.m5.xlarge"},
        outputConfiguration={"members": [{"accountId": "000000000000"}]},
        dataSource={"mlInputChannelArn": channel},
    )["trainedModelInferenceJobArn"]
    client.put_ml_configuration(
        membershipIdentifier=MEMBERSHIP,
        defaultOutputLocation={
            "destination": {"s3Destination": {"s3Uri": "s3://b/"}},
            "roleArn": CHANNEL_ROLE,
        },
    )
    client.get_ml_input_channel(membershipIdentifier=MEMBERSHIP, mlInputChannelArn=channel)
    client.list_ml_input_channels(membershipIdentifier=MEMBERSHIP)
    client.get_trained_model(membershipIdentifier=MEMBERSHIP, trainedModelArn=model)
    client.list_trained_models(membershipIdentifier=MEMBERSHIP)
    client.list_trained_model_versions(membershipIdentifier=MEMBERSHIP, trainedModelArn=model)
    client.get_trained_model_inference_job(
        membershipIdentifier=MEMBERSHIP, trainedModelInferenceJobArn=job
    )
    client.list_trained_model_inference_jobs(membershipIdentifier=MEMBERSHIP)
    client.get_ml_configuration(membershipIdentifier=MEMBERSHIP)


def test_the_model_declares_iso_8601_for_every_timestamp_shipped_and_in_botocore() -> None:
    botocores = botocore.loaders.Loader().load_service_model("cleanroomsml", "service-2")
    shipped = json.loads(shapes.SERVICE_MODEL_PATH.read_text())
    for model in (shipped, botocores):
        stamps = {k: v for k, v in model["shapes"].items() if v["type"] == "timestamp"}
        assert stamps
        assert {v.get("timestampFormat") for v in stamps.values()} == {"iso8601"}


def test_every_timestamp_goes_out_as_an_iso_8601_date_time(server: EmulatorServer) -> None:
    """As AWS sends a ``timestampFormat: iso8601`` member over restJson1: RFC 3339, UTC
    (``Z``), fractional seconds only when there are some (to the millisecond); botocore
    parses it to the same instant, and the handler's ``kinds.epoch`` still works."""
    client = _client(server)
    bodies = _raw_bodies(client)
    before = datetime.now(UTC).replace(microsecond=0)
    _every_kind(client)
    after = datetime.now(UTC) + timedelta(seconds=1)
    seen = []
    for name, body in bodies:
        output = service_model().operation_model(name).output_shape
        if output is not None:
            found = shapes.leaves(output, body)
            seen += [(name, value) for shape, value, _ in found if shape.type_name == "timestamp"]
    read = {name for name, _ in seen}
    assert read == {
        "GetMLInputChannel",
        "ListMLInputChannels",
        "GetTrainedModel",
        "ListTrainedModels",
        "ListTrainedModelVersions",
        "GetTrainedModelInferenceJob",
        "ListTrainedModelInferenceJobs",
        "GetMLConfiguration",
    }
    for name, value in seen:
        assert isinstance(value, str), (name, value)
        assert shapes.ISO8601.fullmatch(value), (name, value)
        instant = datetime.fromisoformat(value)
        assert instant.utcoffset() == timedelta(0)
        assert before <= instant <= after
    got = client.get_trained_model(
        membershipIdentifier=MEMBERSHIP,
        trainedModelArn=client.list_trained_models(membershipIdentifier=MEMBERSHIP)[
            "trainedModels"
        ][0]["trainedModelArn"],
    )
    wire = bodies[-1][1]
    assert got["createTime"] == datetime.fromisoformat(wire["createTime"])
    assert got["createTime"].utcoffset() == timedelta(0)
    created = kinds.epoch(got["createTime"])
    assert created == datetime.fromisoformat(wire["createTime"]).timestamp()
    assert before.timestamp() <= created <= after.timestamp()


@pytest.mark.parametrize(
    ("instant", "form", "wire"),
    [
        (datetime(2014, 4, 29, 18, 30, 38, tzinfo=UTC), "iso8601", "2014-04-29T18:30:38Z"),
        (
            datetime(2014, 4, 29, 18, 30, 38, 120000, tzinfo=UTC),
            "iso8601",
            "2014-04-29T18:30:38.120Z",
        ),
        (  # to the millisecond, as the service keeps it
            datetime(2014, 4, 29, 18, 30, 38, 123999, tzinfo=UTC),
            "iso8601",
            "2014-04-29T18:30:38.123Z",
        ),
        (
            datetime(2014, 4, 29, 20, 30, 38, tzinfo=timezone(timedelta(hours=2))),
            "iso8601",
            "2014-04-29T18:30:38Z",
        ),
        (
            datetime(2014, 4, 29, 18, 30, 38, tzinfo=UTC),
            "rfc822",
            "Tue, 29 Apr 2014 18:30:38 GMT",
        ),
        (datetime(2014, 4, 29, 18, 30, 38, 500000, tzinfo=UTC), "unixTimestamp", 1398796238.5),
    ],
)
def test_timestamps_are_written_in_their_declared_format(
    instant: datetime, form: str, wire: str | float
) -> None:
    assert shapes.format_timestamp(instant, form) == wire


def test_a_response_in_a_wrong_format_is_caught_before_it_is_sent(
    server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old wire form, epoch seconds for an ``iso8601`` member, fails the check: the
    client gets an InternalServiceException naming the member, never the response."""
    client = _client(server)
    client.put_ml_configuration(
        membershipIdentifier=MEMBERSHIP,
        defaultOutputLocation={
            "destination": {"s3Destination": {"s3Uri": "s3://b/"}},
            "roleArn": CHANNEL_ROLE,
        },
    )
    monkeypatch.setattr(shapes, "format_timestamp", lambda value, form: value.timestamp())
    with pytest.raises(client.exceptions.InternalServiceException) as raised:
        client.get_ml_configuration(membershipIdentifier=MEMBERSHIP)
    message = raised.value.response["Error"]["Message"]
    assert "emulator response invalid" in message
    assert "GetMLConfigurationResponse.createTime:" in message
    assert "is not an ISO 8601 date-time" in message
    assert "GetMLConfigurationResponse.updateTime:" in message


VALID: dict[str, Any] = {
    "membershipIdentifier": MEMBERSHIP,
    "collaborationIdentifier": MEMBERSHIP,
    "mlInputChannelArn": f"{PREFIX}/ml-input-channel/c",
    "name": "c",
    "configuredModelAlgorithmAssociations": [ASSOCIATION],
    "status": "ACTIVE",
    "retentionInDays": 7,
    "numberOfRecords": 1000,
    "numberOfFiles": 2,
    "sizeInGb": 0.5,
    "createTime": "2026-11-28T12:00:00Z",
    "updateTime": "2026-11-28T12:00:00.250Z",
    "inputChannel": {
        "dataSource": {
            "protectedQueryInputParameters": {"sqlParameters": {"queryString": "SELECT 1"}}
        },
        "roleArn": CHANNEL_ROLE,
    },
    "statusDetails": {"statusCode": "QueryFailed", "message": "m"},
    "tags": {"team": "ml"},
}
"""A ``GetMLInputChannel`` response body as it travels: strings, an integer, a long,
doubles, a list, a map, nested structures, a union and timestamps."""
SOURCE = ("inputChannel", "dataSource")


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("createTime",), 1798000000, "1798000000 is not an ISO 8601 date-time"),
        (("createTime",), 1798000000.25, "is not an ISO 8601 date-time"),
        (("updateTime",), "2026-11-28T12:00:00+00:00", "is not an ISO 8601 date-time"),
        (("updateTime",), "2026-11-28 12:00:00Z", "is not an ISO 8601 date-time"),
        (("updateTime",), "2026-13-28T12:00:00Z", "is not an ISO 8601 date-time"),
        (("name",), 5, "name: expected a string"),
        (("name",), "", "name: 0 characters; the minimum is 1"),
        (("name",), "x" * 64, "name: 64 characters; the maximum is 63"),
        (("membershipIdentifier",), "not-a-uuid", "does not match"),
        (("status",), "DONE", "'DONE' is not one of"),
        (("retentionInDays",), "7", "retentionInDays: expected an integer"),
        (("retentionInDays",), 7.0, "retentionInDays: expected an integer"),
        (("retentionInDays",), True, "retentionInDays: expected an integer"),
        (("retentionInDays",), 31, "31 is above the maximum 30"),
        (("numberOfRecords",), 2**63, "does not fit a long"),
        (("numberOfRecords",), -1, "-1 is below the minimum 0"),
        (("numberOfFiles",), "2", "numberOfFiles: expected a number"),
        (("sizeInGb",), False, "sizeInGb: expected a number"),
        (("sizeInGb",), -0.5, "-0.5 is below the minimum 0"),
        (("configuredModelAlgorithmAssociations",), ASSOCIATION, "expected a list"),
        (("configuredModelAlgorithmAssociations",), [], "0 items; the minimum is 1"),
        (("configuredModelAlgorithmAssociations",), [7], "[0]: expected a string"),
        (("tags",), ["team"], "tags: expected a map"),
        (("tags",), {"team": 1}, "tags['team']: expected a string"),
        (("statusDetails",), "failed", "statusDetails: expected an object"),
        (("inputChannel", "roleArn"), None, "inputChannel.roleArn: required"),
        (("inputChannel", "extra"), "x", "inputChannel.extra: unknown member"),
        ((*SOURCE, "protectedQueryInputParameters"), None, "exactly one member, got none"),
        (
            (*SOURCE, "protectedQueryInputParameters", "sqlParameters", "queryString"),
            1,
            "queryString: expected a string",
        ),
    ],
)
def test_the_response_check_verifies_every_type_of_the_shape(
    path: tuple[str, ...], value: Any, problem: str
) -> None:
    shape = service_model().operation_model("GetMLInputChannel").output_shape
    assert shape is not None
    assert shapes.validate(shape, VALID) == []
    broken = copy.deepcopy(VALID)
    *parents, last = path
    target = broken
    for key in parents:
        target = target[key]
    if value is None:
        del target[last]
    else:
        target[last] = value
    problems = shapes.validate(shape, broken)
    assert any(problem in p for p in problems), problems
    assert all(f".{path[0]}" in p for p in problems), problems  # each names where


def test_request_timestamps_are_taken_in_the_format_botocore_sends() -> None:
    """botocore writes a request's ``iso8601`` member as an ISO 8601 string: the
    emulator's request check takes it, and refuses epoch seconds there."""
    operation = service_model().operation_model("CreateAudienceModel")
    request = botocore.serialize.create_serializer("rest-json").serialize_to_request(
        {
            "name": "a",
            "trainingDatasetArn": "arn:aws:cleanrooms-ml:us-east-1:000000000000:training-dataset/t",
            "trainingDataStartTime": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            "trainingDataEndTime": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        },
        operation,
    )
    params = shapes.parse_request(operation, {}, {}, request["body"])
    assert operation.input_shape is not None
    assert params["trainingDataStartTime"] == "2026-01-02T03:04:05Z"
    assert shapes.validate(operation.input_shape, params) == []
    params["trainingDataStartTime"] = 1767323045
    assert shapes.validate(operation.input_shape, params) == [
        "CreateAudienceModelRequest.trainingDataStartTime: 1767323045 is not an ISO 8601 "
        "date-time (as 2014-04-29T18:30:38Z)"
    ]


def test_every_response_is_counted_errors_included(server: EmulatorServer) -> None:
    """``shapes.CHECKED`` counts the responses checked (the suite reports the total);
    ``GET /_emulator/stats`` reports it over HTTP."""
    client = _client(server)
    before = shapes.CHECKED.count
    client.list_trained_models(membershipIdentifier=MEMBERSHIP)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.get_ml_configuration(membershipIdentifier=MEMBERSHIP)
    assert shapes.CHECKED.count == before + 2
    with urllib.request.urlopen(f"{server.endpoint_url}/_emulator/stats") as response:
        assert json.loads(response.read()) == {"responses_checked": before + 2}
