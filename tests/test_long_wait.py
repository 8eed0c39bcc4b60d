"""The long path (completion_timeout over an hour): construct, waiter logic, and an
in-process run against the emulator with a real HTTP WaitCondition handle."""

from __future__ import annotations

import http.client
import io
import json
import threading
import urllib.error
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Template
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError
from botocore.stub import ANY

import contract
import lifecycle
import long_wait
import ownership
from cdk_cleanrooms_ml import TrainedModel
from cleanroomsml_emulator import Emulator, Timings, start_server
from helpers import (
    ANY_CREATE,
    BASE_MODEL_ARN,
    LOGICAL_ID,
    MODEL_ARN,
    MODEL_ARN_2,
    STACK_ID,
    StubbedClient,
    event,
    handler_properties,
    logical_id,
    model_description,
    new_stack,
    then_poll,
    valid_props,
)
from local_provider import LocalProvider
from properties import parse_properties

HANDLE_URL = "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/SECRET-HANDLE"

# --- construct -----------------------------------------------------------------


def _long_model(**overrides: Any) -> tuple[TrainedModel, Template]:
    stack = new_stack()
    model = TrainedModel(
        stack, "Model", **valid_props(**{"completion_timeout": Duration.hours(3), **overrides})
    )
    ssm.StringParameter(stack, "Consumer", string_value=model.trained_model_arn)
    return model, Template.from_stack(stack)


def test_short_path_renders_no_wait_condition() -> None:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props(completion_timeout=Duration.hours(1)))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudFormation::WaitCondition", 0)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)  # the Provider's own


def test_long_path_renders_handle_condition_and_attributes_in_order() -> None:
    model, template = _long_model()
    resources = template.to_json()["Resources"]
    (handle_id,) = template.find_resources("AWS::CloudFormation::WaitConditionHandle")
    ((condition_id, condition),) = template.find_resources(
        "AWS::CloudFormation::WaitCondition"
    ).items()
    ((attributes_id, attributes),) = template.find_resources(
        contract.ATTRIBUTES_RESOURCE_TYPE
    ).items()
    model_id = logical_id(model.custom_resource)
    assert condition["Properties"] == {"Count": 1, "Handle": {"Ref": handle_id}, "Timeout": "10800"}
    assert condition["DependsOn"] == [model_id]
    assert attributes["DependsOn"] == [condition_id]
    assert resources[model_id]["Properties"][contract.WAIT_HANDLE_URL] == {"Ref": handle_id}
    # whatever references the model's attributes is created only once it is ACTIVE
    consumer = next(r for r in resources.values() if r["Type"] == "AWS::SSM::Parameter")
    assert consumer["Properties"]["Value"] == {"Fn::GetAtt": [attributes_id, "TrainedModelArn"]}
    template.resource_count_is("AWS::StepFunctions::StateMachine", 2)  # + the long waiter


def test_a_replacing_change_gets_a_new_wait_condition_and_a_tag_change_does_not() -> None:
    def condition_id(**overrides: Any) -> str:
        _, template = _long_model(**overrides)
        (found,) = template.find_resources("AWS::CloudFormation::WaitCondition")
        return str(found)

    base = condition_id()
    assert condition_id(tags={"team": "x"}) == base
    assert condition_id(hyperparameters={"epochs": "2"}) != base
    assert condition_id(completion_timeout=Duration.hours(4)) != base


def test_one_long_waiter_per_stack_and_what_the_long_path_adds() -> None:
    stack = new_stack()
    for i in range(3):
        TrainedModel(stack, f"M{i}", **valid_props(completion_timeout=Duration.hours(2)))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 2)
    template.resource_count_is("AWS::CloudFormation::WaitCondition", 3)
    template.has_resource_properties("AWS::Lambda::Function", {"Handler": "index.long_wait_poll"})
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "index.on_event"}}
    )
    ((_, on_event),) = functions.items()
    waiter_ref = on_event["Properties"]["Environment"]["Variables"][contract.LONG_WAITER_ARN_ENV]
    assert waiter_ref["Ref"].startswith("CleanRoomsMLTrainedModelProviderLongWaiter")


def test_long_path_outputs_reference_the_attributes_resource() -> None:
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props(completion_timeout=Duration.hours(12)))
    CfnOutput(stack, "Version", value=model.version_identifier)
    outputs = Template.from_stack(stack).to_json()["Outputs"]
    assert outputs["Version"]["Value"]["Fn::GetAtt"][1] == "VersionIdentifier"
    assert model.wait_condition is not None


# --- waiter logic (Stubber) ----------------------------------------------------------


def _state(started: float = 0.0, timeout: int = 7200) -> dict[str, Any]:
    model_id = ownership.make_model_id(MODEL_ARN, None)
    return long_wait.waiter_input(model_id, "m", HANDLE_URL, started, timeout)


class Signals:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, str]] = []

    def __call__(self, url: str, status: str, reason: str, data: str) -> None:
        self.sent.append((url, status, reason, data))


def test_waiter_signals_success_with_the_model_arn_when_active(stubbed: StubbedClient) -> None:
    signals = Signals()
    stubbed.get_model(model_description(status="ACTIVE"))
    state = long_wait.poll(stubbed.client, _state(), 5000.0, send=signals)
    assert state["done"] is True
    assert signals.sent == [
        (
            HANDLE_URL,
            "SUCCESS",
            "trained model Test-Model-85D470EB-0123456789ab is ACTIVE",
            MODEL_ARN,
        )
    ]


def test_waiter_signals_failure_with_the_services_reason(stubbed: StubbedClient) -> None:
    signals = Signals()
    stubbed.get_model(
        model_description(
            status="CREATE_FAILED",
            status_details={"statusCode": "AlgorithmError", "message": "OOM after 3 h"},
        )
    )
    assert long_wait.poll(stubbed.client, _state(), 3 * 3600.0, send=signals)["done"] is True
    ((_, status, reason, _),) = signals.sent
    assert status == "FAILURE"
    assert "AlgorithmError: OOM after 3 h" in reason


def test_waiter_times_out_before_the_wait_condition_naming_model_status_and_time(
    stubbed: StubbedClient,
) -> None:
    signals = Signals()
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    state = long_wait.poll(stubbed.client, _state(timeout=7200), 7200 - 59.0, send=signals)
    ((_, status, reason, _),) = signals.sent
    assert status == "FAILURE"
    assert "timed out after 7141 s" in reason
    assert "'m'" in reason
    assert "last status CREATE_IN_PROGRESS" in reason
    assert state["done"] is True


class FailingSignals(Signals):
    """A handle that refuses the first ``failures`` signals with ``error``."""

    def __init__(self, error: OSError, failures: int = 1_000) -> None:
        super().__init__()
        self.error = error
        self.failures = failures

    def __call__(self, url: str, status: str, reason: str, data: str) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        super().__call__(url, status, reason, data)


@pytest.mark.parametrize(
    "error",
    [
        urllib.error.HTTPError(HANDLE_URL, 503, "Slow Down", {}, None),  # type: ignore[arg-type]
        urllib.error.HTTPError(HANDLE_URL, 429, "Too Many", {}, None),  # type: ignore[arg-type]
        urllib.error.HTTPError(
            HANDLE_URL,
            400,
            "Bad Request",
            {},  # type: ignore[arg-type]
            io.BytesIO(b"<Error><Code>RequestTimeout</Code><Message>idle</Message></Error>"),
        ),
        urllib.error.URLError("connection reset"),
        TimeoutError("timed out"),
    ],
)
def test_a_signal_that_fails_transiently_is_sent_again(
    stubbed: StubbedClient, error: OSError
) -> None:
    signals = FailingSignals(error, failures=1)
    stubbed.get_model(model_description(status="ACTIVE"))
    state = long_wait.poll(stubbed.client, _state(), 5000.0, send=signals)
    assert state["done"] is False
    assert state["waitSeconds"] == long_wait.MIN_POLL_SECONDS
    stubbed.get_model(model_description(status="ACTIVE"))
    state = long_wait.poll(stubbed.client, state, 5030.0, send=signals)
    assert state["done"] is True
    assert [status for _, status, _, _ in signals.sent] == ["SUCCESS"]


@pytest.mark.parametrize("code", [400, 403, 404])
def test_a_signal_the_handle_refuses_ends_the_waiter(stubbed: StubbedClient, code: int) -> None:
    """An expired, already used or malformed handle will not accept a signal later."""
    body = io.BytesIO(b"<Error><Code>AccessDenied</Code><Message>expired</Message></Error>")
    error = urllib.error.HTTPError(HANDLE_URL, code, "no", {}, body)  # type: ignore[arg-type]
    stubbed.get_model(model_description(status="ACTIVE"))
    assert long_wait.poll(stubbed.client, _state(), 5000.0, send=FailingSignals(error))["done"]


class _TruncatedBody(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        raise http.client.IncompleteRead(b"<Error><Co", 100)


def test_a_truncated_error_body_is_a_refusal_not_a_crash(stubbed: StubbedClient) -> None:
    """A 400 whose body cannot be read is classified like any other 4xx."""
    error = urllib.error.HTTPError(HANDLE_URL, 400, "Bad Request", {}, _TruncatedBody())  # type: ignore[arg-type]
    stubbed.get_model(model_description(status="ACTIVE"))
    assert long_wait.poll(stubbed.client, _state(), 5000.0, send=FailingSignals(error))["done"]


def test_a_failing_signal_is_not_retried_after_the_wait_condition_timed_out(
    stubbed: StubbedClient,
) -> None:
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    send = FailingSignals(urllib.error.URLError("down"))
    state = long_wait.poll(stubbed.client, _state(timeout=7200), 7200.0, send=send)
    assert state["done"] is True


def test_waiter_rides_out_throttling_without_signalling(stubbed: StubbedClient) -> None:
    signals = Signals()
    stubbed.error("get_trained_model", "ThrottlingException", 429)
    state = long_wait.poll(stubbed.client, _state(), 100.0, send=signals)
    assert state["done"] is False
    assert signals.sent == []


def test_waiter_keeps_polling_while_training_with_a_growing_interval(
    stubbed: StubbedClient,
) -> None:
    signals = Signals()
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    early = long_wait.poll(stubbed.client, _state(), 60.0, send=signals)
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    late = long_wait.poll(stubbed.client, _state(timeout=43200), 6 * 3600.0, send=signals)
    assert (early["done"], late["done"]) == (False, False)
    assert early["waitSeconds"] == 30
    assert late["waitSeconds"] == 120
    assert signals.sent == []


def _long_path_props(**overrides: Any) -> dict[str, Any]:
    """Handler properties of a model on the long path (a 2-hour completion timeout)."""
    return handler_properties(
        **{contract.COMPLETION_TIMEOUT_SECONDS: "7200", contract.WAIT_HANDLE_URL: HANDLE_URL},
        **overrides,
    )


def test_is_complete_starts_one_waiter_per_request_once_the_model_exists(
    stubbed: StubbedClient,
) -> None:
    started: list[tuple[str, dict[str, Any]]] = []

    def starter(name: str, payload: Mapping[str, Any]) -> None:
        started.append((name, dict(payload)))

    props = _long_path_props()
    raw = event("Create", props, request_id="r-1")
    stubbed.list_models([])
    stubbed.create_model()
    result = lifecycle.on_event(stubbed.client, raw, 1000.0, start_waiter=starter)
    assert started == []  # not before CloudFormation knows the model's physical id
    assert result[lifecycle.WAITER_KEY] == lifecycle.WAITER_START
    stubbed.get_model(model_description(status="CREATE_PENDING"))
    done = lifecycle.is_complete(stubbed.client, then_poll(raw, result), 1001.0, starter)
    assert done["IsComplete"] is True
    ((name, payload),) = started
    assert name == long_wait.execution_name(
        raw["StackId"], raw["LogicalResourceId"], "r-1", HANDLE_URL
    )
    assert payload["handleUrl"] == HANDLE_URL
    assert payload["startedAt"] == 1000.0
    assert payload["deadline"] == 1000.0 + 7200 - long_wait.DEADLINE_MARGIN_SECONDS


def test_without_the_waiter_nothing_is_created(stubbed: StubbedClient) -> None:
    props = _long_path_props()
    with pytest.raises(lifecycle.HandlerError, match=contract.LONG_WAITER_ARN_ENV):
        lifecycle.on_event(stubbed.client, event("Create", props), 0.0, start_waiter=None)


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, "StartExecution")


def test_a_throttled_waiter_start_is_retried_by_the_next_poll(stubbed: StubbedClient) -> None:
    attempts: list[str] = []

    def flaky(name: str, payload: Mapping[str, Any]) -> None:
        attempts.append(name)
        if len(attempts) == 1:
            raise _client_error("ThrottlingException")

    props = _long_path_props()
    raw = event("Create", props)
    stubbed.list_models([])
    stubbed.create_model()
    result = lifecycle.on_event(stubbed.client, raw, 0.0, start_waiter=flaky)
    poll = then_poll(raw, result)
    stubbed.get_model(model_description(status="CREATE_PENDING"))
    assert lifecycle.is_complete(stubbed.client, poll, 1.0, flaky) == {"IsComplete": False}
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    assert lifecycle.is_complete(stubbed.client, poll, 11.0, flaky)["IsComplete"] is True
    assert len(attempts) == 2
    assert attempts[0] == attempts[1]


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (EndpointConnectionError(endpoint_url="https://states.us-east-1.amazonaws.com"), True),
        (ParamValidationError(report="Invalid length for parameter name"), False),
    ],
)
def test_a_waiter_start_sdk_error_is_retried_only_when_it_can_pass(
    stubbed: StubbedClient, error: Exception, retried: bool
) -> None:
    def failing(name: str, payload: Mapping[str, Any]) -> None:
        raise error

    props = _long_path_props()
    raw = event("Create", props)
    stubbed.list_models([])
    stubbed.create_model()
    poll = then_poll(raw, lifecycle.on_event(stubbed.client, raw, 0.0, start_waiter=failing))
    stubbed.get_model(model_description(status="CREATE_PENDING"))
    if retried:
        assert lifecycle.is_complete(stubbed.client, poll, 1.0, failing) == {"IsComplete": False}
    else:
        with pytest.raises(lifecycle.HandlerError, match="Invalid length"):
            lifecycle.is_complete(stubbed.client, poll, 1.0, failing)


def test_a_waiter_that_cannot_start_fails_with_the_models_id_so_rollback_can_delete_it(
    stubbed: StubbedClient,
) -> None:
    def denied(name: str, payload: Mapping[str, Any]) -> None:
        raise _client_error("AccessDeniedException")

    props = _long_path_props(**{contract.REMOVAL_POLICY: "destroy"})
    raw = event("Create", props)
    stubbed.list_models([])
    stubbed.create_model()
    result = lifecycle.on_event(stubbed.client, raw, 0.0, start_waiter=denied)
    assert result["PhysicalResourceId"] == MODEL_ARN  # reported: the framework fails with it
    stubbed.get_model(model_description(status="CREATE_PENDING"))
    with pytest.raises(lifecycle.HandlerError, match="states:StartExecution"):
        lifecycle.is_complete(stubbed.client, then_poll(raw, result), 1.0, denied)


def test_a_replacement_with_the_same_wait_condition_waits_in_the_custom_resource(
    stubbed: StubbedClient,
) -> None:
    """A deploy-time value (a replaced base model) replaced the model but not its
    WaitCondition: the custom resource waits itself, so nothing sees the new
    model's attributes before it is ACTIVE."""
    started: list[str] = []
    old = handler_properties(
        **{
            contract.COMPLETION_TIMEOUT_SECONDS: "10800",
            contract.WAIT_HANDLE_URL: HANDLE_URL,
            contract.INCREMENTAL_TRAINING_DATA_CHANNELS: [
                {"TrainedModelArn": BASE_MODEL_ARN, "ChannelName": "base"}
            ],
        }
    )
    new = dict(
        old,
        **{
            contract.INCREMENTAL_TRAINING_DATA_CHANNELS: [
                {"TrainedModelArn": BASE_MODEL_ARN + "-2", "ChannelName": "base"}
            ]
        },
    )
    old_tag = ownership.ownership_tag(
        STACK_ID, LOGICAL_ID, "create-request", parse_properties(old).config_hash
    )
    stubbed.get_model(model_description(status="ACTIVE", tags={contract.RESERVED_TAG_KEY: old_tag}))
    stubbed.list_models([])
    stubbed.create_model(
        arn=MODEL_ARN_2, expected=dict(ANY_CREATE, incrementalTrainingDataChannels=ANY)
    )
    raw = event("Update", new, physical_id=MODEL_ARN, old_properties=old)
    result = lifecycle.on_event(
        stubbed.client, raw, 0.0, start_waiter=lambda n, p: started.append(n)
    )
    assert result["PhysicalResourceId"] == MODEL_ARN_2
    assert result[lifecycle.WAITER_KEY] == lifecycle.WAITER_SELF
    poll = then_poll(raw, result)
    stubbed.get_model(model_description(arn=MODEL_ARN_2, status="CREATE_IN_PROGRESS"))
    assert lifecycle.is_complete(stubbed.client, poll, 600.0) == {"IsComplete": False}
    stubbed.get_model(model_description(arn=MODEL_ARN_2, status="CREATE_IN_PROGRESS"))
    with pytest.raises(lifecycle.HandlerError, match=r"deploy time.*WaitCondition"):
        lifecycle.is_complete(stubbed.client, poll, contract.SHORT_PATH_DEADLINE_SECONDS)
    stubbed.get_model(model_description(arn=MODEL_ARN_2, status="ACTIVE"))
    done = lifecycle.is_complete(stubbed.client, poll, 600.0)
    assert done["IsComplete"] is True
    assert done["Data"]["TrainedModelArn"] == MODEL_ARN_2
    assert started == []  # the old handle is never signalled again


def test_attributes_resource_echoes_and_never_touches_models() -> None:
    raw = event(
        "Create",
        {
            "TrainedModelArn": MODEL_ARN,
            "VersionIdentifier": "NULL",
            "TrainedModelName": "n",
            "Status": "ACTIVE",
        },
        ResourceType=contract.ATTRIBUTES_RESOURCE_TYPE,
    )
    result = lifecycle.on_event(None, raw, 0.0)  # type: ignore[arg-type]
    assert result["Data"]["TrainedModelArn"] == MODEL_ARN
    delete = dict(raw, RequestType="Delete", PhysicalResourceId=result["PhysicalResourceId"])
    assert lifecycle.on_event(None, delete, 0.0)[lifecycle.ACTION_KEY] == lifecycle.ACTION_NONE  # type: ignore[arg-type]


# --- in-process: emulator + a real HTTP handle ----------------------------------------


class _Handle(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Handle.received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def handle() -> Iterator[str]:
    _Handle.received = []
    server = HTTPServer(("127.0.0.1", 0), _Handle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/signal"
    server.shutdown()


def _run_waiter(
    client: Any, payload: dict[str, Any], clock: Emulator, step: float
) -> dict[str, Any]:
    state = dict(payload)
    now = float(payload["startedAt"])
    while not state["done"]:
        now += step
        clock.clock.advance(step)
        state = long_wait.poll(client, state, now)
    return state


@pytest.mark.parametrize(("fails", "expected"), [(False, "SUCCESS"), (True, "FAILURE")])
def test_a_three_hour_training_completes_or_fails_the_wait(
    monkeypatch: pytest.MonkeyPatch,
    handle: str,
    fails: bool,
    expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emulator = Emulator(
        timings=Timings(pending_seconds=60, training_seconds=3 * 3600, transition_seconds=5)
    )
    server = start_server(emulator)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_CLEANROOMSML", server.endpoint_url)
        from aws_client import make_client

        client = make_client()
        if fails:
            emulator.fail_next_training("AlgorithmError: diverged at epoch 40")
        waiters: list[dict[str, Any]] = []
        provider = LocalProvider(client)
        props = handler_properties(
            **{contract.COMPLETION_TIMEOUT_SECONDS: "43200", contract.WAIT_HANDLE_URL: handle}
        )
        raw = event("Create", props)
        created = lifecycle.on_event(
            client, raw, 0.0, start_waiter=lambda n, p: waiters.append(dict(p))
        )
        assert created["PhysicalResourceId"].startswith("arn:aws:cleanrooms-ml:")
        assert lifecycle.is_complete(
            client, then_poll(raw, created), 0.0, lambda n, p: waiters.append(dict(p))
        )["IsComplete"]
        del provider
        (payload,) = waiters
        final = _run_waiter(client, payload, emulator, 120.0)
        assert final["done"] is True
        (signal,) = _Handle.received
        assert signal["Status"] == expected
        if fails:
            assert "AlgorithmError: diverged at epoch 40" in signal["Reason"]
        else:
            assert signal["Data"] == created["PhysicalResourceId"]
        assert "/signal" not in capsys.readouterr().out  # the handle URL is never logged
    finally:
        server.stop()
