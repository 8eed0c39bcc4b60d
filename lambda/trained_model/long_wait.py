"""The long path: waiting up to 12 hours with a WaitCondition.

A custom resource cannot wait longer than an hour, so for a longer
``completion_timeout`` the custom resource returns once the model exists, and
``on_event`` starts the stack's waiter (a Step Functions state machine: poll,
wait, poll ...). Each poll calls ``get_trained_model``; when the model is ACTIVE
the waiter signals the WaitCondition handle SUCCESS with the model's attributes
as data; when training fails, FAILURE with the service's ``statusDetails``;
when the deadline (a minute before the WaitCondition's own timeout) passes,
FAILURE naming the model, its last status and the elapsed time.

The handle URL is a credential: it is never logged. It travels in the waiter's
execution input (Step Functions execution history, readable with
``states:GetExecutionHistory``).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

import contract
from jsonlog import log
from ownership import ModelId

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

DEADLINE_MARGIN_SECONDS: Final = 60
MIN_POLL_SECONDS: Final = 30
MAX_POLL_SECONDS: Final = 120
TRANSIENT: Final = frozenset({"ThrottlingException", "InternalServiceException"})


def execution_name(stack_id: str, logical_id: str, request_id: str, handle_url: str) -> str:
    """Stable per request and handle: a retried event starts no second waiter."""
    digest = hashlib.sha256("|".join((stack_id, logical_id, request_id, handle_url)).encode())
    return f"trained-model-{digest.hexdigest()[:48]}"


def waiter_input(
    model_id: ModelId, name: str, handle_url: str, started_at: float, timeout_seconds: int
) -> dict[str, Any]:
    return {
        "membershipIdentifier": model_id.membership,
        "trainedModelArn": model_id.arn,
        "versionIdentifier": model_id.version,
        "name": name,
        "handleUrl": handle_url,
        "startedAt": started_at,
        "deadline": started_at + max(1, timeout_seconds - DEADLINE_MARGIN_SECONDS),
        "done": False,
        "waitSeconds": MIN_POLL_SECONDS,
    }


def start_waiter(
    sfn_client: Any, state_machine_arn: str, name: str, payload: Mapping[str, Any]
) -> None:
    """Start the waiter execution (idempotent: same name and input = same execution)."""
    try:
        sfn_client.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
    log("waiter-started", trainedModelArn=payload["trainedModelArn"])


def poll_interval(elapsed: float) -> int:
    """30 s at first, growing with the elapsed time to 120 s (or the env override)."""
    fixed = os.environ.get(contract.LONG_WAIT_POLL_SECONDS_ENV)
    if fixed:
        return max(1, int(float(fixed)))
    return int(min(MAX_POLL_SECONDS, max(MIN_POLL_SECONDS, elapsed / 30)))


def signal(url: str, status: str, reason: str, data: str) -> None:
    """PUT a signal to a WaitCondition handle (a pre-signed URL; never logged)."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:4000],
            "UniqueId": contract.WAIT_SIGNAL_ID,
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def _details(model: Mapping[str, Any]) -> str:
    details = model.get("statusDetails") or {}
    text = ": ".join(str(p) for p in (details.get("statusCode"), details.get("message")) if p)
    return text or "no details given by the service"


def poll(
    client: CleanRoomsMLClient, state: Mapping[str, Any], now: float, send: Any = signal
) -> dict[str, Any]:
    """One waiter step: look at the model, signal when it is done; the next state."""
    elapsed = now - float(state["startedAt"])
    fields = {"trainedModelArn": state["trainedModelArn"], "elapsedSeconds": round(elapsed, 1)}
    kwargs: dict[str, Any] = {
        "membershipIdentifier": state["membershipIdentifier"],
        "trainedModelArn": state["trainedModelArn"],
    }
    if state.get("versionIdentifier"):
        kwargs["versionIdentifier"] = state["versionIdentifier"]
    status = str(state.get("lastStatus") or "unknown")
    outcome: tuple[str, str, str] | None = None
    try:
        model = client.get_trained_model(**kwargs)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code not in TRANSIENT:
            message = str(error.response.get("Error", {}).get("Message", ""))
            outcome = (
                "FAILURE",
                f"GetTrainedModel {state['trainedModelArn']} failed ({code}): {message}",
                "",
            )
        log("waiter-poll", errorCode=code, status=status, **fields)
    else:
        status = str(model.get("status"))
        log("waiter-poll", status=status, **fields)
        name = str(model.get("name") or state.get("name"))
        if status == "ACTIVE":
            outcome = ("SUCCESS", f"trained model {name} is ACTIVE", str(state["trainedModelArn"]))
        elif status not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            outcome = (
                "FAILURE",
                f"training of trained model {name!r} ({state['trainedModelArn']}) ended {status}: "
                f"{_details(model)}",
                "",
            )
    if outcome is None and now >= float(state["deadline"]):
        outcome = (
            "FAILURE",
            f"timed out after {elapsed:.0f} s waiting for trained model {state.get('name')!r} "
            f"({state['trainedModelArn']}); last status {status}",
            "",
        )
    next_state = dict(state, lastStatus=status, waitSeconds=poll_interval(elapsed))
    if outcome is not None:
        result, reason, data = outcome
        try:
            send(str(state["handleUrl"]), result, reason, data)
        except OSError as error:
            final = _signal_error_is_final(error) or now >= _wait_condition_end(state)
            log(
                "waiter-signal-failed",
                reason=type(error).__name__,
                httpStatus=getattr(error, "code", None),
                retrying=not final,
                **fields,
            )
            if not final:
                # the handle may still be signalled: poll (and signal) again soon
                next_state["waitSeconds"] = MIN_POLL_SECONDS
                return next_state
        else:
            log(
                "waiter-signalled",
                status=status,
                reason=reason if result == "FAILURE" else None,
                **fields,
            )
        next_state["done"] = True
    return next_state


def _signal_error_is_final(error: OSError) -> bool:
    """An HTTP 4xx answer (an expired, used or malformed handle) will not change;
    a 5xx, 408, 429, S3's 400 ``RequestTimeout``, a timeout or a connection error may."""
    code = getattr(error, "code", None)
    if isinstance(error, urllib.error.HTTPError) and isinstance(code, int):
        if code == 400 and _s3_error_code(error) == "RequestTimeout":
            return False
        return 400 <= code < 500 and code not in (408, 429)
    return False


def _s3_error_code(error: urllib.error.HTTPError) -> str | None:
    """The ``<Code>`` of an S3 error body (the handle URL is a presigned S3 URL)."""
    try:
        body = error.read(4096)
    except (OSError, AttributeError, ValueError, http.client.HTTPException):
        return None  # an unreadable body (e.g. truncated): no code
    match = re.search(rb"<Code>([A-Za-z]+)</Code>", body or b"")
    return match.group(1).decode() if match else None


def _wait_condition_end(state: Mapping[str, Any]) -> float:
    """When the WaitCondition itself times out: after that no signal counts."""
    return float(state["deadline"]) + DEADLINE_MARGIN_SECONDS
