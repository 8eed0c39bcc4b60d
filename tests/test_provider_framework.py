"""What the CDK Provider framework does with the handler's answers, shown by its own code.

``framework_harness.js`` runs the framework's runtime exactly as a synthesized stack
deploys it (the asset folder holding ``framework.js``), under node, with its AWS
calls replaced. Each claim ``cfn.Framework`` (the stand-in the lifecycle tests use)
makes about the framework is checked here, and so is the 4,096-byte bound on what
CloudFormation accepts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from cfn import CREATE_FAILED_MARKER

import faults
from cdk_cleanrooms_ml import TrainedModel
from helpers import valid_props

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).with_name("framework_harness.js")
MAX_RESPONSE_BYTES = 4096
PENDING = "pending:0f3d2a1b-1234-4cde-8f00-0123456789ab:0123456789abcdef:Test-Model-abc"
MODEL_ARN = (
    "arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/"
    "0f3d2a1b-1234-4cde-8f00-0123456789ab/trained-model/3f2e6a1c-0000-4000-8000-000000000001"
)


def node() -> str:
    pinned = ROOT / "node_modules" / ".bin" / "node"
    found = str(pinned) if pinned.exists() else shutil.which("node")
    assert found, "node is needed to run the Provider framework's code"
    return found


@cache
def runtime(tmp: str) -> Path:
    """The framework's runtime folder, as ``cdk synth`` writes it for our provider."""
    app = App(outdir=tmp)
    stack = Stack(app, "Harness", env=Environment(account="111122223333", region="us-east-1"))
    TrainedModel(stack, "Model", **valid_props())
    app.synth()
    (folder,) = {p.parent for p in Path(tmp).glob("asset.*/framework.js")}
    return folder


@pytest.fixture(scope="module")
def framework(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runtime(str(tmp_path_factory.mktemp("framework")))


def run(framework: Path, scenario: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [node(), str(HARNESS), str(framework)],
        input=json.dumps(scenario),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def event(request_type: str, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.s3.amazonaws.com/x?y=z",
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/S/1",
        "RequestId": "r-1",
        "LogicalResourceId": "Model",
        "ResourceType": "Custom::CleanRoomsMLTrainedModel",
        "ResourceProperties": {"ServiceToken": "t"},
    }
    found.update(extra)
    return found


def python_error(message: str) -> dict[str, Any]:
    """How the Lambda service reports a Python handler's unhandled exception."""
    return {
        "error": {
            "errorMessage": message,
            "errorType": "HandlerError",
            "requestId": "4a6f0e0e-0000-4000-8000-000000000000",
            "stackTrace": ['  File "/var/task/index.py", line 1, in on_event\n'] * 5,
        }
    }


def test_a_failing_on_event_answers_with_the_marker_and_its_delete_never_reaches_us(
    framework: Path,
) -> None:
    failed = run(
        framework,
        {"handler": "onEvent", "event": event("Create"), "replies": [python_error("no")]},
    )
    ((response,),) = [failed["responses"]]
    assert response["body"]["Status"] == "FAILED"
    assert response["body"]["PhysicalResourceId"] == CREATE_FAILED_MARKER
    delete = run(
        framework,
        {
            "handler": "onEvent",
            "event": event("Delete", PhysicalResourceId=CREATE_FAILED_MARKER),
            "replies": [],
        },
    )
    assert delete["invocations"] == []
    assert delete["responses"][0]["body"]["Status"] == "SUCCESS"


def test_polls_get_the_event_merged_with_on_events_answer(framework: Path) -> None:
    answer = {"PhysicalResourceId": PENDING, "CleanRoomsMLAction": "create"}
    started = run(
        framework,
        {"handler": "onEvent", "event": event("Create"), "replies": [{"payload": answer}]},
    )
    assert started["responses"] == []  # the waiter answers, later
    ((execution,),) = [started["executions"]]
    assert execution["PhysicalResourceId"] == PENDING
    assert execution["CleanRoomsMLAction"] == "create"


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_a_waiter_that_cannot_start_answers_as_a_failing_on_event(
    framework: Path, request_type: str
) -> None:
    """Decision (a) rests on this: the framework forgets on_event's answer."""
    extra = {"PhysicalResourceId": MODEL_ARN} if request_type == "Update" else {}
    failed = run(
        framework,
        {
            "handler": "onEvent",
            "event": event(request_type, **extra),
            "replies": [{"payload": {"PhysicalResourceId": PENDING}}],
            "startExecution": "fail",
        },
    )
    body = failed["responses"][0]["body"]
    assert body["Status"] == "FAILED"
    expected = CREATE_FAILED_MARKER if request_type == "Create" else MODEL_ARN
    assert body["PhysicalResourceId"] == expected


def test_a_polls_physical_id_wins_in_the_success_answer(framework: Path) -> None:
    poll = event("Create", PhysicalResourceId=PENDING, CleanRoomsMLAction="create")
    done = run(
        framework,
        {
            "handler": "isComplete",
            "event": poll,
            "replies": [
                {
                    "payload": {
                        "IsComplete": True,
                        "PhysicalResourceId": MODEL_ARN,
                        "Data": {"TrainedModelArn": MODEL_ARN},
                    }
                }
            ],
        },
    )
    body = done["responses"][0]["body"]
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == MODEL_ARN
    assert body["Data"] == {"TrainedModelArn": MODEL_ARN}


def test_a_failing_poll_answers_with_on_events_physical_id(framework: Path) -> None:
    poll = event("Update", PhysicalResourceId=PENDING, CleanRoomsMLAction="create")
    failed = run(
        framework,
        {"handler": "isComplete", "event": poll, "replies": [python_error("training failed")]},
    )
    body = failed["responses"][0]["body"]
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == PENDING
    assert body["Reason"].startswith("Error: training failed")


def test_a_poll_that_is_not_complete_is_retried_by_the_waiter(framework: Path) -> None:
    poll = event("Create", PhysicalResourceId=PENDING)
    waiting = run(
        framework,
        {"handler": "isComplete", "event": poll, "replies": [{"payload": {"IsComplete": False}}]},
    )
    assert waiting["responses"] == []
    assert "error" in waiting  # the Retry error the state machine retries on


def test_the_longest_reason_fits_cloudformations_4096_bytes(framework: Path) -> None:
    """Longest ids CloudFormation allows, a reason at the handler's bound made of the
    characters JSON escapes the most: the whole FAILED answer stays under 4,096 bytes."""
    reason = faults.bounded('"\\\n' * 5000)
    assert len(json.dumps(reason).encode()) <= faults.MAX_REASON_BYTES + 2
    stack_id = (
        "arn:aws:cloudformation:us-gov-west-1:111122223333:stack/" + "S" * 128 + "/" + ("0" * 36)
    )
    poll = event(
        "Update",
        StackId=stack_id,
        LogicalResourceId="L" * 255,
        RequestId="r" * 36,
        PhysicalResourceId=MODEL_ARN + "#" + "1" * 36,
    )
    failed = run(
        framework, {"handler": "isComplete", "event": poll, "replies": [python_error(reason)]}
    )
    response = failed["responses"][0]
    assert response["body"]["Status"] == "FAILED"
    assert reason in response["body"]["Reason"]
    assert response["bytes"] < MAX_RESPONSE_BYTES, response["bytes"]


def test_an_unbounded_reason_would_not_fit(framework: Path) -> None:
    """The bound matters: a service message of 5,000 characters, unbounded, is rejected."""
    poll = event("Update", PhysicalResourceId=MODEL_ARN)
    failed = run(
        framework, {"handler": "isComplete", "event": poll, "replies": [python_error("x" * 5000)]}
    )
    assert failed["responses"][0]["bytes"] > MAX_RESPONSE_BYTES
