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
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import ANY

import contract
import engine
import index
import long_wait
import ownership
import trained_models
from cdk_cleanrooms_ml import IncrementalTrainingDataChannel, TrainedModel
from cdk_cleanrooms_ml._provider import PROVIDER_ID
from cdk_cleanrooms_ml.local.emulator import Emulator, Timings, start_server
from faults import HandlerError
from helpers import (
    ANY_CREATE,
    BASE_MODEL_ARN,
    LOGICAL_ID,
    MEMBERSHIP,
    MODEL_ARN,
    MODEL_ARN_2,
    STACK_ID,
    VERSION,
    StubbedClient,
    event,
    handler_properties,
    logical_id,
    model_description,
    new_stack,
    then_poll,
    valid_props,
)

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


def test_the_waiter_signals_failure_when_polling_keeps_failing() -> None:
    """Its state machine catches a poll that failed every retry and hands the state to
    the same function, which signals FAILURE: a stack never waits out its timeout."""
    _, template = _long_model()
    machines = template.find_resources("AWS::StepFunctions::StateMachine")
    (waiter,) = [m for key, m in machines.items() if key.startswith(f"{PROVIDER_ID}LongWaiter")]
    parts = waiter["Properties"]["DefinitionString"]["Fn::Join"][1]
    definition = json.loads("".join(p if isinstance(p, str) else "x" for p in parts))
    states = definition["States"]
    assert states["Poll"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "GiveUp"}
    ]
    assert states["GiveUp"]["Next"] == "PollingFailed"
    assert states["PollingFailed"]["Type"] == "Fail"


def test_the_waiters_function_gives_up_when_the_state_holds_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, str, str, str]] = []
    monkeypatch.setattr(
        long_wait,
        "give_up",
        lambda state, now: long_wait._send(
            state, dict(state), ("FAILURE", "r", ""), now, lambda *a: sent.append(a), {}
        ),
    )
    state = dict(_state(), failure={"Error": "States.Timeout", "Cause": "x"})
    assert index.long_wait_poll(state, None)["done"] is True
    assert sent[0][1] == "FAILURE"


def test_long_path_outputs_reference_the_attributes_resource() -> None:
    stack = new_stack()
    base = TrainedModel(stack, "Base", **valid_props(completion_timeout=Duration.hours(12)))
    successor = TrainedModel(
        stack,
        "Next",
        **valid_props(
            completion_timeout=Duration.hours(12),
            incremental_training_data_channels=[
                IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
            ],
        ),
    )
    assert base.version_identifier is None
    assert successor.version_identifier is not None
    CfnOutput(stack, "Version", value=successor.version_identifier)
    template = Template.from_stack(stack)
    outputs = template.to_json()["Outputs"]
    assert outputs["Version"]["Value"]["Fn::GetAtt"][1] == "VersionIdentifier"
    echoed = {
        key: sorted(r["Properties"])
        for key, r in template.find_resources(contract.ATTRIBUTES_RESOURCE_TYPE).items()
    }
    # only the versioned model's attributes carry a version
    assert sorted(map(sorted, echoed.values())) == [
        ["ServiceToken", "Status", "TrainedModelArn", "TrainedModelName"],
        ["ServiceToken", "Status", "TrainedModelArn", "TrainedModelName", "VersionIdentifier"],
    ]
    assert base.wait_condition is not None


# --- waiter logic (Stubber) ----------------------------------------------------------

KIND = trained_models.KIND


def _state(started: float = 0.0, timeout: int = 7200) -> dict[str, Any]:
    ref = ownership.Ref(MODEL_ARN, None, MEMBERSHIP)
    return long_wait.waiter_input(KIND.resource_type, ref, "m", HANDLE_URL, started, timeout)


class Signals:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, str]] = []

    def __call__(self, url: str, status: str, reason: str, data: str) -> None:
        self.sent.append((url, status, reason, data))


def _poll(stubbed: StubbedClient, state: dict[str, Any], now: float, send: Any) -> dict[str, Any]:
    return long_wait.poll(KIND, stubbed.client, state, now, send=send)


def test_waiter_signals_success_with_the_model_arn_when_active(stubbed: StubbedClient) -> None:
    signals = Signals()
    stubbed.get_model(model_description(status="ACTIVE"))
    state = _poll(stubbed, _state(), 5000.0, signals)
    assert state["done"] is True
    assert signals.sent == [
        (
            HANDLE_URL,
            "SUCCESS",
            "trained model Test-Model-85D470EB-0123456789ab is ACTIVE",
            MODEL_ARN,
        )
    ]


def test_waiter_signals_failure_with_the_services_reason_redacted(stubbed: StubbedClient) -> None:
    signals = Signals()
    model = model_description(
        status="CREATE_FAILED",
        status_details={"statusCode": "AlgorithmError", "message": "OOM, key env-SECRET"},
    )
    model["environment"] = {"KEY": "env-SECRET"}
    stubbed.get_model(model)
    assert _poll(stubbed, _state(), 3 * 3600.0, signals)["done"] is True
    ((_, status, reason, _),) = signals.sent
    assert status == "FAILURE"
    assert "AlgorithmError: OOM, key ***" in reason


def test_waiter_times_out_before_the_wait_condition_naming_model_status_and_time(
    stubbed: StubbedClient,
) -> None:
    signals = Signals()
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    state = _poll(stubbed, _state(timeout=7200), 7200 - 59.0, signals)
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
    state = _poll(stubbed, _state(), 5000.0, signals)
    assert state["done"] is False
    assert state["waitSeconds"] == long_wait.MIN_POLL_SECONDS
    stubbed.get_model(model_description(status="ACTIVE"))
    state = _poll(stubbed, state, 5030.0, signals)
    assert state["done"] is True
    assert [status for _, status, _, _ in signals.sent] == ["SUCCESS"]


@pytest.mark.parametrize("code", [400, 403, 404])
def test_a_signal_the_handle_refuses_ends_the_waiter(stubbed: StubbedClient, code: int) -> None:
    """An expired, already used or malformed handle will not accept a signal later."""
    body = io.BytesIO(b"<Error><Code>AccessDenied</Code><Message>expired</Message></Error>")
    error = urllib.error.HTTPError(HANDLE_URL, code, "no", {}, body)  # type: ignore[arg-type]
    stubbed.get_model(model_description(status="ACTIVE"))
    assert _poll(stubbed, _state(), 5000.0, FailingSignals(error))["done"]


class _TruncatedBody(io.BytesIO):
    def read(self, size: int | None = -1) -> bytes:
        raise http.client.IncompleteRead(b"<Error><Co", 100)


def test_a_truncated_error_body_is_a_refusal_not_a_crash(stubbed: StubbedClient) -> None:
    """A 400 whose body cannot be read is classified like any other 4xx."""
    error = urllib.error.HTTPError(HANDLE_URL, 400, "Bad Request", {}, _TruncatedBody())  # type: ignore[arg-type]
    stubbed.get_model(model_description(status="ACTIVE"))
    assert _poll(stubbed, _state(), 5000.0, FailingSignals(error))["done"]


def test_a_failing_signal_is_not_retried_after_the_wait_condition_timed_out(
    stubbed: StubbedClient,
) -> None:
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    send = FailingSignals(urllib.error.URLError("down"))
    assert _poll(stubbed, _state(timeout=7200), 7200.0, send)["done"] is True


@pytest.mark.parametrize(
    "fault",
    [
        "ThrottlingException",
        "InternalServiceException",
        EndpointConnectionError(endpoint_url="https://cleanrooms-ml.us-east-1.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://cleanrooms-ml.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://cleanrooms-ml.us-east-1.amazonaws.com"),
    ],
    ids=lambda f: f if isinstance(f, str) else type(f).__name__,
)
def test_waiter_rides_out_transient_failures_without_signalling(
    stubbed: StubbedClient, fault: str | Exception
) -> None:
    signals = Signals()
    stubbed.fail("get_trained_model", fault)
    state = _poll(stubbed, _state(), 100.0, signals)
    assert state["done"] is False
    assert signals.sent == []


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException"])
def test_waiter_signals_failure_when_it_cannot_look(stubbed: StubbedClient, code: str) -> None:
    signals = Signals()
    stubbed.fail("get_trained_model", code)
    assert _poll(stubbed, _state(), 100.0, signals)["done"] is True
    ((_, status, reason, _),) = signals.sent
    assert status == "FAILURE"
    assert f"({code})" in reason


def test_waiter_gives_up_with_a_failure_signal_naming_the_error() -> None:
    """The state machine's Catch: polling kept failing (a bug, a Lambda timeout)."""
    signals = Signals()
    state = dict(
        _state(),
        failure={
            "Error": "Lambda.Unknown",
            "Cause": json.dumps({"errorMessage": "Task timed out after 300.00 seconds"}),
        },
    )
    final = long_wait.give_up(state, 100.0, send=signals)
    assert final["done"] is True
    assert "failure" not in final
    ((url, status, reason, _),) = signals.sent
    assert (url, status) == (HANDLE_URL, "FAILURE")
    assert "Lambda.Unknown: Task timed out after 300.00 seconds" in reason


def test_waiter_keeps_polling_while_training_with_a_growing_interval(
    stubbed: StubbedClient,
) -> None:
    signals = Signals()
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    early = _poll(stubbed, _state(), 60.0, signals)
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    late = _poll(stubbed, _state(timeout=43200), 6 * 3600.0, signals)
    assert (early["done"], late["done"]) == (False, False)
    assert early["waitSeconds"] == 30
    assert late["waitSeconds"] == 120
    assert signals.sent == []


# --- the handler's side: starting the waiter ------------------------------------------


def _long_path_props(**overrides: Any) -> dict[str, Any]:
    """Handler properties of a model on the long path (a 2-hour completion timeout)."""
    return handler_properties(
        **{contract.COMPLETION_TIMEOUT_SECONDS: "7200", contract.WAIT_HANDLE_URL: HANDLE_URL},
        **overrides,
    )


def _call(
    stubbed: StubbedClient, raw: dict[str, Any], now: float, starter: Any, polling: bool
) -> engine.Call:
    return engine.Call(
        kind=KIND,
        client=stubbed.client,
        event=engine.Event.from_dict(raw),
        now=now,
        polling=polling,
        start_waiter=starter,
    )


def _created(
    stubbed: StubbedClient, raw: dict[str, Any], starter: Any, now: float = 1000.0
) -> dict[str, Any]:
    """on_event for a new long-path model: a pending id, the waiter to start."""
    engine.RESOLVED.clear()
    stubbed.list_models([])
    result = engine.on_event(_call(stubbed, raw, now, starter, polling=False))
    assert result[engine.WAITER_KEY] == engine.WAITER_START
    return then_poll(raw, result)


def _first_poll(stubbed: StubbedClient) -> None:
    """The first poll of a pending id: nothing found, create, describe."""
    stubbed.list_models([])
    stubbed.create_model()
    stubbed.get_model(model_description(status="CREATE_PENDING"))


def test_the_poll_that_creates_the_model_starts_one_waiter_for_the_request(
    stubbed: StubbedClient,
) -> None:
    started: list[tuple[str, dict[str, Any]]] = []

    def starter(name: str, payload: Mapping[str, Any]) -> None:
        started.append((name, dict(payload)))

    raw = event("Create", _long_path_props(), request_id="r-1")
    poll = _created(stubbed, raw, starter)
    assert started == []  # on_event creates nothing and starts nothing
    _first_poll(stubbed)
    done = engine.is_complete(_call(stubbed, poll, 1001.0, starter, polling=True))
    assert done["IsComplete"] is True
    assert done["PhysicalResourceId"] == MODEL_ARN
    ((name, payload),) = started
    assert name == long_wait.execution_name(
        raw["StackId"], raw["LogicalResourceId"], "r-1", HANDLE_URL
    )
    assert payload["handleUrl"] == HANDLE_URL
    assert payload["arn"] == MODEL_ARN
    assert payload["resourceType"] == contract.RESOURCE_TYPE
    assert payload["startedAt"] == 1000.0
    assert payload["deadline"] == 1000.0 + 7200 - long_wait.DEADLINE_MARGIN_SECONDS


def test_without_the_waiter_nothing_is_decided(stubbed: StubbedClient) -> None:
    with pytest.raises(HandlerError, match=contract.LONG_WAITER_ARN_ENV):
        engine.on_event(_call(stubbed, event("Create", _long_path_props()), 0.0, None, False))


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, "StartExecution")


def test_a_throttled_waiter_start_is_retried_by_the_next_poll(stubbed: StubbedClient) -> None:
    attempts: list[str] = []

    def flaky(name: str, payload: Mapping[str, Any]) -> None:
        attempts.append(name)
        if len(attempts) == 1:
            raise _client_error("ThrottlingException")

    poll = _created(stubbed, event("Create", _long_path_props()), flaky)
    _first_poll(stubbed)
    assert engine.is_complete(_call(stubbed, poll, 1001.0, flaky, True)) == {"IsComplete": False}
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))  # found: no second create
    assert engine.is_complete(_call(stubbed, poll, 1011.0, flaky, True))["IsComplete"] is True
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

    poll = _created(stubbed, event("Create", _long_path_props()), failing)
    _first_poll(stubbed)
    if retried:
        assert engine.is_complete(_call(stubbed, poll, 1001.0, failing, True)) == {
            "IsComplete": False
        }
    else:
        with pytest.raises(HandlerError, match="Invalid length"):
            engine.is_complete(_call(stubbed, poll, 1001.0, failing, True))


def test_a_waiter_that_cannot_start_fails_so_that_rollback_can_delete_the_model(
    stubbed: StubbedClient,
) -> None:
    def denied(name: str, payload: Mapping[str, Any]) -> None:
        raise _client_error("AccessDeniedException")

    raw = event("Create", _long_path_props(**{contract.REMOVAL_POLICY: "destroy"}))
    poll = _created(stubbed, raw, denied)
    _first_poll(stubbed)
    with pytest.raises(HandlerError, match="states:StartExecution"):
        engine.is_complete(_call(stubbed, poll, 1001.0, denied, True))
    # the framework answers FAILED with the pending id: the rollback's Delete finds the model
    assert engine.RESOLVED  # (and a cold container finds it by name, see test_handler)


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
    old_tag = ownership.make_tag(
        STACK_ID, LOGICAL_ID, "create-request", trained_models.parse(old).identity
    )
    stubbed.get_model(model_description(status="ACTIVE", tags={contract.RESERVED_TAG_KEY: old_tag}))
    stubbed.list_models([])
    raw = event("Update", new, physical_id=MODEL_ARN, old_properties=old)
    starter = lambda n, p: started.append(n)  # noqa: E731
    result = engine.on_event(_call(stubbed, raw, 0.0, starter, False))
    assert result[engine.ACTION_KEY] == engine.CREATE
    assert result[engine.WAITER_KEY] == engine.WAITER_SELF
    poll = then_poll(raw, result)
    stubbed.list_models([])
    stubbed.create_model(
        arn=MODEL_ARN_2, expected=dict(ANY_CREATE, incrementalTrainingDataChannels=ANY)
    )
    stubbed.get_model(model_description(arn=MODEL_ARN_2, status="CREATE_IN_PROGRESS"))
    assert engine.is_complete(_call(stubbed, poll, 600.0, starter, True)) == {"IsComplete": False}
    stubbed.get_model(model_description(arn=MODEL_ARN_2, status="CREATE_IN_PROGRESS"))
    with pytest.raises(HandlerError, match=r"deploy time.*WaitCondition"):
        engine.is_complete(
            _call(stubbed, poll, contract.SHORT_PATH_DEADLINE_SECONDS, starter, True)
        )
    stubbed.get_model(model_description(arn=MODEL_ARN_2, status="ACTIVE"))
    done = engine.is_complete(_call(stubbed, poll, 600.0, starter, True))
    assert done["IsComplete"] is True
    assert done["Data"]["TrainedModelArn"] == MODEL_ARN_2
    assert started == []  # the old handle is never signalled again


def test_attributes_resource_echoes_and_never_touches_models() -> None:
    raw = event(
        "Create",
        {"TrainedModelArn": MODEL_ARN, "TrainedModelName": "n", "Status": "ACTIVE"},
        ResourceType=contract.ATTRIBUTES_RESOURCE_TYPE,
    )
    result = index.on_event(raw, None)  # no client: it never calls AWS
    assert result["Data"] == {
        "TrainedModelArn": MODEL_ARN,
        "TrainedModelName": "n",
        "Status": "ACTIVE",
    }
    assert result["PhysicalResourceId"] == f"attributes:{MODEL_ARN}:NULL"  # as in 0.1.0
    versioned = dict(
        raw, ResourceProperties=dict(raw["ResourceProperties"], VersionIdentifier=VERSION)
    )
    assert index.on_event(versioned, None)["Data"]["VersionIdentifier"] == VERSION
    delete = dict(raw, RequestType="Delete", PhysicalResourceId=result["PhysicalResourceId"])
    assert index.on_event(delete, None)["PhysicalResourceId"] == result["PhysicalResourceId"]
    assert index.is_complete(delete, None) == {"IsComplete": True}


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
        state = long_wait.poll(KIND, client, state, now)
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
        props = handler_properties(
            **{contract.COMPLETION_TIMEOUT_SECONDS: "43200", contract.WAIT_HANDLE_URL: handle}
        )
        raw = event("Create", props)
        starter = lambda n, p: waiters.append(dict(p))  # noqa: E731
        call = engine.Call(
            KIND, client, engine.Event.from_dict(raw), 0.0, False, start_waiter=starter
        )
        created = engine.on_event(call)
        poll = then_poll(raw, created)
        call = engine.Call(
            KIND, client, engine.Event.from_dict(poll), 0.0, True, start_waiter=starter
        )
        done = engine.is_complete(call)
        assert done["IsComplete"]
        assert done["PhysicalResourceId"].startswith("arn:aws:cleanrooms-ml:")
        (payload,) = waiters
        final = _run_waiter(client, payload, emulator, 120.0)
        assert final["done"] is True
        (signal,) = _Handle.received
        assert signal["Status"] == expected
        if fails:
            assert "AlgorithmError: diverged at epoch 40" in signal["Reason"]
        else:
            assert signal["Data"] == done["PhysicalResourceId"]
        assert "/signal" not in capsys.readouterr().out  # the handle URL is never logged
    finally:
        server.stop()


def test_the_waiters_give_up_signal_is_sent_even_when_the_handle_fails_once() -> None:
    """Long path: the waiter's Poll kept failing (a bug, a Lambda timeout), so the state
    machine's Catch hands the state to GiveUp (retried by Step Functions on any error,
    3 attempts) and then ends in the Fail state ``PollingFailed``.

    GiveUp's FAILURE signal meets a transient error from the handle (S3 503 Slow Down,
    which long_wait treats as retryable everywhere else).

    Expected (long_wait's promise: "the WaitCondition is always told"; the spec: no
    stack left waiting): the FAILURE signal is sent again until it is delivered, here
    by GiveUp raising so that Step Functions retries it.
    """
    sent: list[str] = []
    failures = [urllib.error.HTTPError(HANDLE_URL, 503, "Slow Down", {}, None)]  # type: ignore[arg-type]

    def handle(url: str, status: str, reason: str, data: str) -> None:
        if failures:
            raise failures.pop()
        sent.append(status)

    ref = ownership.Ref(MODEL_ARN, None, MEMBERSHIP)
    state = long_wait.waiter_input(KIND.resource_type, ref, "m", HANDLE_URL, 0.0, 7200)
    state["failure"] = {"Error": "Lambda.Unknown", "Cause": "Task timed out"}
    # Step Functions: GiveUp, retried on any error (3 retries), then PollingFailed
    for attempt in range(4):
        try:
            long_wait.give_up(state, 100.0 + 30 * attempt, send=handle)
        except Exception:
            continue
        break
    assert sent == ["FAILURE"], "the WaitCondition was never told: the stack waits it out"
