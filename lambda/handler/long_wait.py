"""The long path: waiting up to 12 hours with a WaitCondition.

A custom resource cannot wait longer than an hour, so for a longer
``completion_timeout`` the custom resource returns once the model exists: the
``is_complete`` poll that sees it first starts the stack's waiter (a Step Functions
state machine: poll, wait, poll ...). Each poll describes the resource; when it is
ACTIVE the waiter signals the WaitCondition handle SUCCESS with the ARN as data;
when it fails, FAILURE with the service's ``statusDetails``; when the deadline (a
minute before the WaitCondition's own timeout) passes, FAILURE naming it, its last
status and the elapsed time. A transient failure to look is "not yet"; any other is
a FAILURE signal, and when the poll itself keeps failing (a bug, a Lambda timeout)
the state machine's catch hands the state to ``give_up``, which signals FAILURE:
the WaitCondition is always told.

The handle URL is a credential: it is never logged. It travels in the waiter's
execution input (Step Functions execution history, readable with
``states:GetExecutionHistory``).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import contract
import faults
from jsonlog import log
from ownership import Ref

if TYPE_CHECKING:
    from engine import Kind

DEADLINE_MARGIN_SECONDS: Final = 60
MIN_POLL_SECONDS: Final = 30
MAX_POLL_SECONDS: Final = 120
SIGNAL_TIMEOUT_SECONDS: Final = 20
READY: Final = "ACTIVE"
IN_PROGRESS: Final = frozenset({"CREATE_PENDING", "CREATE_IN_PROGRESS"})

Signal = Callable[[str, str, str, str], None]


def execution_name(stack_id: str, logical_id: str, request_id: str, handle_url: str) -> str:
    """Stable per request and handle: a retried event starts no second waiter."""
    digest = hashlib.sha256("|".join((stack_id, logical_id, request_id, handle_url)).encode())
    return f"trained-model-{digest.hexdigest()[:48]}"


def waiter_input(
    resource_type: str,
    ref: Ref,
    name: str,
    handle_url: str,
    started_at: float,
    timeout_seconds: int,
) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "membershipIdentifier": ref.membership,
        "arn": ref.arn,
        "versionIdentifier": ref.version,
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
    except Exception as error:
        if faults.error_code(error) != "ExecutionAlreadyExists":
            raise
    log("waiter-started", physicalResourceId=payload["arn"])


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
            "Reason": faults.bounded(reason),
            "UniqueId": contract.WAIT_SIGNAL_ID,
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(request, timeout=SIGNAL_TIMEOUT_SECONDS) as response:
        response.read()


def _ref(state: Mapping[str, Any]) -> Ref:
    return Ref(
        arn=str(state["arn"]),
        version=state.get("versionIdentifier") or None,
        membership=str(state["membershipIdentifier"]),
    )


def poll(
    kind: Kind, client: Any, state: Mapping[str, Any], now: float, send: Signal = signal
) -> dict[str, Any]:
    """One waiter step: look at the resource, signal when it is done; the next state.

    A transient failure (throttling, a connection or timeout error) is "not yet";
    any other failure to look is a FAILURE signal with its reason, so the waiter
    never ends without telling the WaitCondition.
    """
    elapsed = now - float(state["startedAt"])
    arn = str(state["arn"])
    fields = {"physicalResourceId": arn, "elapsedSeconds": round(elapsed, 1)}
    status = str(state.get("lastStatus") or "unknown")
    outcome: tuple[str, str, str] | None = None
    try:
        observed = kind.describe(client, _ref(state))
    except Exception as error:
        code = faults.error_code(error)
        if not faults.is_transient(error):
            outcome = (
                "FAILURE",
                f"describing {kind.noun} {arn} failed ({code}): {faults.service_message(error)}",
                "",
            )
        log("waiter-poll", errorCode=code, status=status, **fields)
    else:
        status = observed.status
        log("waiter-poll", status=status, **fields)
        name = observed.name or str(state.get("name"))
        if status == READY:
            outcome = ("SUCCESS", f"{kind.noun} {name} is {READY}", arn)
        elif status not in IN_PROGRESS:
            outcome = (
                "FAILURE",
                f"{kind.noun} {name!r} ({arn}) ended {status}: {observed.details}",
                "",
            )
    if outcome is None and now >= float(state["deadline"]):
        outcome = (
            "FAILURE",
            f"timed out after {elapsed:.0f} s waiting for {kind.noun} {state.get('name')!r} "
            f"({arn}); last status {status}",
            "",
        )
    next_state = dict(state, lastStatus=status, waitSeconds=poll_interval(elapsed))
    if outcome is None:
        return next_state
    return _send(state, next_state, outcome, now, send, fields)


def give_up(state: Mapping[str, Any], now: float, send: Signal = signal) -> dict[str, Any]:
    """The waiter's poll kept failing (a bug, a timeout): signal FAILURE with the reason."""
    failure = state.get("failure") or {}
    cause = str(failure.get("Cause") or "")
    with contextlib.suppress(ValueError, AttributeError):
        cause = str(json.loads(cause).get("errorMessage") or cause)
    reason = (
        f"waiting for {state.get('name')!r} ({state.get('arn')}) failed: "
        f"{failure.get('Error') or 'error'}: {cause}"
    )
    fields = {"physicalResourceId": str(state.get("arn")), "elapsedSeconds": None}
    next_state = {k: v for k, v in state.items() if k != "failure"}
    result = _send(state, next_state, ("FAILURE", reason, ""), now, send, fields)
    if not result.get("done"):
        # no poll follows the give-up: fail, so that Step Functions retries it (GiveUp's
        # retries) and the signal is sent again
        raise SignalNotSent(
            f"the FAILURE signal for {state.get('name')!r} was not delivered; trying again"
        )
    return result


class SignalNotSent(Exception):  # noqa: N818 (a retry signal for Step Functions)
    """The give-up's signal met a transient error: its retry sends it again."""


def _send(
    state: Mapping[str, Any],
    next_state: dict[str, Any],
    outcome: tuple[str, str, str],
    now: float,
    send: Signal,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
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
            status=next_state.get("lastStatus"),
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
