"""The trained model lifecycle: create (with adoption), wait, update, delete.

Every function takes its ``cleanroomsml`` client as an argument and the current
time as a number, so the logic is tested with ``botocore.stub.Stubber`` and a
fake clock. ``index.py`` only parses the event and dispatches here.

Outcomes of API errors, at every step:

- ``ThrottlingException`` / ``InternalServiceException``: retried by botocore
  (standard mode); while waiting, a poll that still fails counts as "not done
  yet" and the next poll tries again. In ``on_event``, a failure after botocore's
  retries fails the deployment with a message to deploy again.
- ``ConflictException`` on create: another attempt of the same request may
  have won the race; look again and adopt it, otherwise fail. On cancel/delete:
  the model is changing state; wait and look again.
- ``ResourceNotFoundException``: on delete, success (nothing left); on get
  during update, the model was removed outside CloudFormation and a new one is
  trained; on create, a referenced resource is missing: fail, naming the props.
- ``ValidationException``, ``AccessDeniedException``,
  ``ServiceQuotaExceededException``: fail with what to fix.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

import contract
import long_wait
import ownership
from jsonlog import log
from ownership import ModelId
from properties import DesiredModel, parse_properties

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

# Keys this handler adds to its on_event result; the Provider framework passes
# them on to every is_complete call.
ACTION_KEY: Final = "CleanRoomsMLAction"
STARTED_AT_KEY: Final = "CleanRoomsMLStartedAt"
ACTION_WAIT_CREATE: Final = "wait-create"
ACTION_REFRESH: Final = "refresh"
ACTION_DELETE: Final = "delete"
ACTION_NONE: Final = "none"
DEFERRED_STEP_KEY: Final = "CleanRoomsMLDeferredStep"
"""Set when the one-time step of a Delete event (deleting a failed training's output,
retrying a failed deletion) was throttled: the model's ``updateTime`` (epoch seconds)
as on_event saw it. The poll takes the step while the model still shows that time,
so a step that was taken is never repeated (the service's clock only: no skew)."""
# How the model's completion is awaited on the long path (is_complete reads it):
WAITER_KEY: Final = "CleanRoomsMLWaiter"
WAITER_START: Final = "start"
"""A new WaitCondition waits: is_complete starts the waiter, which signals it."""
WAITER_SELF: Final = "self"
"""The model was replaced but its WaitCondition was not (the replacement came from
a value known only at deploy time, such as a replaced base model): the custom
resource waits itself, within CloudFormation's one-hour cap."""

TRANSIENT_ERRORS: Final = frozenset({"ThrottlingException", "InternalServiceException"})
WAITER_TRANSIENT_ERRORS: Final = frozenset(
    {"ThrottlingException", "ExecutionLimitExceeded", "ServiceUnavailable", "InternalFailure"}
)

ACTIVE: Final = "ACTIVE"
TRAINING: Final = frozenset({"CREATE_PENDING", "CREATE_IN_PROGRESS"})
CHANGING: Final = frozenset(
    {"CANCEL_PENDING", "CANCEL_IN_PROGRESS", "DELETE_PENDING", "DELETE_IN_PROGRESS"}
)
GONE: Final = frozenset({"INACTIVE"})
DELETE_FAILURES: Final = frozenset({"DELETE_FAILED", "CANCEL_FAILED"})


WaiterStarter = Callable[[str, Mapping[str, Any]], None]
"""Starts the long path's waiter: ``(execution name, input)``."""


class HandlerError(Exception):
    """A failure whose message is shown in the CloudFormation event."""


@dataclass(frozen=True)
class Event:
    """The parts of a CloudFormation custom resource event the handler uses."""

    request_type: str
    request_id: str
    stack_id: str
    logical_id: str
    physical_id: str | None
    properties: Mapping[str, Any]
    old_properties: Mapping[str, Any] | None
    extra: Mapping[str, Any]

    @classmethod
    def from_dict(cls, event: Mapping[str, Any]) -> Event:
        try:
            return cls(
                request_type=str(event["RequestType"]),
                request_id=str(event["RequestId"]),
                stack_id=str(event["StackId"]),
                logical_id=str(event["LogicalResourceId"]),
                physical_id=event.get("PhysicalResourceId"),
                properties=event.get("ResourceProperties") or {},
                old_properties=event.get("OldResourceProperties"),
                extra=event,
            )
        except KeyError as missing:
            raise HandlerError(f"malformed custom resource event: no {missing}") from None


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or str(error)


def explain(error: ClientError, operation: str, subject: str) -> HandlerError:
    """A failure message that tells the user what to fix."""
    code = error_code(error)
    detail = _message(error)
    advice = {
        "ValidationException": "Clean Rooms ML rejected the request; check the TrainedModel props",
        "AccessDeniedException": (
            "the handler's role may not do this; check that the membership, association "
            "and KMS key are the ones given to the TrainedModel and that no policy or SCP "
            "denies cleanrooms-ml access"
        ),
        "ServiceQuotaExceededException": (
            "a Clean Rooms ML quota is exhausted; delete unused trained models or request "
            "a quota increase, then deploy again"
        ),
        "ResourceNotFoundException": (
            "a resource the model refers to does not exist; check membership_identifier, "
            "configured_model_algorithm_association_arn, the data channels and the base model"
        ),
        "ConflictException": "the resource is in a state that does not allow this now",
        "ThrottlingException": "Clean Rooms ML kept throttling after retries; deploy again",
        "InternalServiceException": "Clean Rooms ML failed after retries; deploy again",
    }.get(code, "unexpected error")
    return HandlerError(f"{operation} {subject} failed ({code}): {detail} - {advice}")


def _status_details(model: Mapping[str, Any]) -> str:
    details = model.get("statusDetails") or {}
    code = details.get("statusCode")
    message = details.get("message")
    text = ": ".join(str(part) for part in (code, message) if part)
    return text or "no details given by the service"


def _attributes(model: Mapping[str, Any], model_id: ModelId) -> dict[str, str]:
    return {
        contract.ATTR_TRAINED_MODEL_ARN: model_id.arn,
        contract.ATTR_VERSION_IDENTIFIER: model_id.version or contract.BASE_VERSION,
        contract.ATTR_TRAINED_MODEL_NAME: str(model.get("name", "")),
        contract.ATTR_STATUS: str(model.get("status", "")),
    }


def _model_kwargs(model_id: ModelId) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "membershipIdentifier": model_id.membership,
        "trainedModelArn": model_id.arn,
    }
    if model_id.version:
        kwargs["versionIdentifier"] = model_id.version
    return kwargs


def _get(client: CleanRoomsMLClient, model_id: ModelId) -> dict[str, Any]:
    return dict(client.get_trained_model(**_model_kwargs(model_id)))


def _name_for(desired: DesiredModel, event: Event) -> str:
    if desired.fixed_name is not None:
        return desired.fixed_name
    assert desired.name_prefix is not None
    return ownership.generated_name(
        desired.name_prefix, event.stack_id, event.logical_id, event.request_id
    )


def _find_by_name(client: CleanRoomsMLClient, membership: str, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    paginator = client.get_paginator("list_trained_models")
    try:
        for page in paginator.paginate(membershipIdentifier=membership):
            found.extend(dict(s) for s in page.get("trainedModels", []) if s.get("name") == name)
    except ClientError as error:
        raise explain(error, "ListTrainedModels", f"in membership {membership}") from error
    return found


def _adopt_or_fail(
    client: CleanRoomsMLClient, desired: DesiredModel, event: Event, name: str
) -> ModelId | None:
    """Adopt a model an earlier attempt of this request created; fail on any other."""
    owner = ownership.owner_digest(event.stack_id, event.logical_id)
    request = ownership.request_digest(event.request_id)
    conflict: tuple[ModelId, str] | None = None
    for summary in _find_by_name(client, desired.membership_identifier, name):
        model_id = ownership.make_model_id(
            str(summary["trainedModelArn"]), summary.get("versionIdentifier")
        )
        try:
            model = _get(client, model_id)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                continue
            raise explain(error, "GetTrainedModel", model_id.arn) from error
        tag = ownership.parse_ownership_tag(
            (model.get("tags") or {}).get(contract.RESERVED_TAG_KEY)
        )
        if tag is not None and tag.owner == owner and tag.request == request:
            if tag.config != desired.config_hash[: ownership.DIGEST_LENGTH]:
                raise HandlerError(
                    f"trained model {name!r} ({model_id.arn}) was started by an earlier attempt "
                    "of this request with a different configuration; delete it or rename the model"
                )
            log(
                "adopted",
                requestType=event.request_type,
                logicalResourceId=event.logical_id,
                trainedModelArn=model_id.arn,
                versionIdentifier=model_id.version,
                status=model.get("status"),
            )
            return model_id
        if model.get("status") in GONE or conflict is not None:
            # an INACTIVE model (its output deleted or its training cancelled) no
            # longer holds its name (ASSUMPTION A1); if the service disagrees, the
            # create gets ConflictException and fails with the service's message
            continue
        whose = (
            "an earlier deployment of this resource"
            if tag is not None and tag.owner == owner
            else "something other than this resource"
        )
        conflict = (model_id, whose)
    if conflict is not None:
        model_id, whose = conflict
        raise HandlerError(
            f"a trained model named {name!r} already exists in membership "
            f"{desired.membership_identifier} ({model_id.arn}), created by {whose}; "
            "choose another trained_model_name (or omit it to get a generated one)"
        )
    return None


def _require_waiter(desired: DesiredModel, start_waiter: WaiterStarter | None) -> None:
    """Long path: fail before anything is created when the waiter is not set up."""
    if desired.wait_handle_url is not None and start_waiter is None:
        raise HandlerError(
            "completion_timeout over an hour needs the stack's waiter, which is not set up "
            f"(no {contract.LONG_WAITER_ARN_ENV} in the handler's environment)"
        )


def _start_long_wait(
    start_waiter: WaiterStarter | None,
    desired: DesiredModel,
    event: Event,
    model_id: ModelId,
    name: str,
    started_at: float,
) -> bool:
    """Long path: hand the wait to the stack's waiter; False when it must be tried again.

    Called from ``is_complete``, after ``on_event`` has reported the model's
    physical id: if the waiter cannot start, the failure names a resource that
    CloudFormation's rollback then deletes (under DESTROY) instead of orphaning it.
    """
    url = desired.wait_handle_url
    if url is None:
        return True
    _require_waiter(desired, start_waiter)
    assert start_waiter is not None
    try:
        start_waiter(
            long_wait.execution_name(event.stack_id, event.logical_id, event.request_id, url),
            long_wait.waiter_input(
                model_id, name, url, started_at, desired.completion_timeout_seconds
            ),
        )
    except ClientError as error:
        code = error_code(error)
        if code in WAITER_TRANSIENT_ERRORS:
            log("waiter-start-retry", trainedModelArn=model_id.arn, errorCode=code)
            return False
        raise HandlerError(
            f"starting the waiter for trained model {model_id.arn} failed ({code}): "
            f"{_message(error)} - the handler's role needs states:StartExecution on the "
            "stack's LongWaiter state machine"
        ) from error
    except ParamValidationError as error:  # a bug, not a passing condition
        raise HandlerError(
            f"starting the waiter for trained model {model_id.arn} failed: {error}"
        ) from error
    except BotoCoreError as error:  # connection errors, timeouts: try again
        log("waiter-start-retry", trainedModelArn=model_id.arn, errorCode=type(error).__name__)
        return False
    return True


def create_model(
    client: CleanRoomsMLClient,
    desired: DesiredModel,
    event: Event,
    now: float,
    start_waiter: WaiterStarter | None = None,
    *,
    new_wait_condition: bool = True,
) -> dict[str, Any]:
    """Start training (or adopt this request's earlier attempt); return the on_event result.

    ``new_wait_condition`` (long path): whether the model's WaitCondition is new
    in this deployment; if not, the custom resource waits for the model itself.
    """
    _require_waiter(desired, start_waiter)
    name = _name_for(desired, event)
    model_id = _adopt_or_fail(client, desired, event, name)
    if model_id is None:
        tags = dict(desired.tags)
        tags[contract.RESERVED_TAG_KEY] = ownership.ownership_tag(
            event.stack_id, event.logical_id, event.request_id, desired.config_hash
        )
        try:
            response = client.create_trained_model(**desired.create_request(name, tags))
        except ClientError as error:
            if error_code(error) == "ConflictException":
                # A concurrent attempt of this very request may have created it.
                model_id = _adopt_or_fail(client, desired, event, name)
                if model_id is None:
                    raise explain(error, "CreateTrainedModel", repr(name)) from error
            else:
                raise explain(error, "CreateTrainedModel", repr(name)) from error
        else:
            model_id = ownership.make_model_id(
                response["trainedModelArn"], response.get("versionIdentifier")
            )
            log(
                "created",
                requestType=event.request_type,
                logicalResourceId=event.logical_id,
                trainedModelArn=model_id.arn,
                versionIdentifier=model_id.version,
                trainedModelName=name,
            )
    result: dict[str, Any] = {
        "PhysicalResourceId": model_id.physical_id,
        ACTION_KEY: ACTION_WAIT_CREATE,
        STARTED_AT_KEY: now,
    }
    if desired.wait_handle_url is not None:
        result[WAITER_KEY] = WAITER_START if new_wait_condition else WAITER_SELF
    return result


def _user_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    return {
        key: value
        for key, value in (tags or {}).items()
        if key != contract.RESERVED_TAG_KEY and not key.lower().startswith("aws:")
    }


def update_model(
    client: CleanRoomsMLClient,
    desired: DesiredModel,
    event: Event,
    now: float,
    start_waiter: WaiterStarter | None = None,
) -> dict[str, Any]:
    """Tags in place, nothing when unchanged, a new model when a create parameter changed."""
    current_id = ownership.parse_physical_id(event.physical_id)
    if current_id is None:
        raise HandlerError(
            f"cannot update {event.physical_id!r}: it is not a trained model this handler created"
        )
    _require_waiter(desired, start_waiter)
    old_url = (event.old_properties or {}).get(contract.WAIT_HANDLE_URL)
    new_wait_condition = desired.wait_handle_url != old_url
    try:
        model = _get(client, current_id)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise explain(error, "GetTrainedModel", current_id.arn) from error
        log(
            "replacing-missing",
            requestType=event.request_type,
            logicalResourceId=event.logical_id,
            trainedModelArn=current_id.arn,
            reason="the model no longer exists",
        )
        return create_model(
            client, desired, event, now, start_waiter, new_wait_condition=new_wait_condition
        )

    tag = ownership.parse_ownership_tag((model.get("tags") or {}).get(contract.RESERVED_TAG_KEY))
    same_config = tag is not None and tag.config == desired.config_hash[: ownership.DIGEST_LENGTH]
    same_name = desired.fixed_name is None or desired.fixed_name == model.get("name")
    if not (same_config and same_name):
        if desired.fixed_name is not None and desired.fixed_name == model.get("name"):
            raise HandlerError(
                f"cannot replace trained model {desired.fixed_name!r}: a create parameter "
                "changed, which needs a new model, and the name is fixed by trained_model_name; "
                "rename it (or omit trained_model_name) and deploy again"
            )
        log(
            "replacing",
            requestType=event.request_type,
            logicalResourceId=event.logical_id,
            trainedModelArn=current_id.arn,
        )
        return create_model(
            client, desired, event, now, start_waiter, new_wait_condition=new_wait_condition
        )

    current_tags = _user_tags(model.get("tags"))
    to_remove = sorted(set(current_tags) - set(desired.tags))
    to_set = {k: v for k, v in desired.tags.items() if current_tags.get(k) != v}
    try:
        if to_remove:
            client.untag_resource(resourceArn=current_id.arn, tagKeys=to_remove)
        if to_set:
            client.tag_resource(resourceArn=current_id.arn, tags=to_set)
    except ClientError as error:
        raise explain(error, "updating tags of", current_id.arn) from error
    log(
        "updated" if (to_remove or to_set) else "unchanged",
        requestType=event.request_type,
        logicalResourceId=event.logical_id,
        trainedModelArn=current_id.arn,
        status=model.get("status"),
    )
    result: dict[str, Any] = {
        "PhysicalResourceId": current_id.physical_id,
        ACTION_KEY: ACTION_REFRESH,
        STARTED_AT_KEY: now,
    }
    if desired.wait_handle_url is not None and new_wait_condition:
        # a new WaitCondition (its timeout changed, or the long path is new): the
        # waiter, started by is_complete, signals it
        result[WAITER_KEY] = WAITER_START
    return result


def _owned_by(model: Mapping[str, Any], event: Event) -> bool:
    tag = ownership.parse_ownership_tag((model.get("tags") or {}).get(contract.RESERVED_TAG_KEY))
    return tag is not None and tag.owner == ownership.owner_digest(event.stack_id, event.logical_id)


class _Step:
    """What one step towards deletion left to do."""

    DONE: Final = "done"
    WAIT: Final = "wait"
    DEFERRED: Final = "deferred"
    """The one-time step was throttled: take it at the next poll."""


def _advance_delete(
    client: CleanRoomsMLClient, model_id: ModelId, model: Mapping[str, Any], *, first: bool
) -> str:
    """One step towards deletion: a ``_Step`` value.

    ``first`` is the step ``on_event`` takes for a Delete event (or the poll takes
    in its place when it was throttled): only then is a failed deletion or
    cancellation tried again (once per CloudFormation attempt, so retrying the
    stack's delete retries it), and the output of a failed training deleted (so
    the model stops holding its name, ASSUMPTIONs A1, A6). A failed cancellation
    is retried by deleting the output: cancelling is only for a model still
    training (A4).
    """
    status = str(model.get("status", ""))
    once = first and (status in DELETE_FAILURES or status == "CREATE_FAILED")
    try:
        if status in TRAINING:
            client.cancel_trained_model(**_model_kwargs(model_id))
            return _Step.WAIT
        if status == ACTIVE or once:
            try:
                client.delete_trained_model_output(**_model_kwargs(model_id))
            except ClientError as error:
                code = error_code(error)
                if status == "CREATE_FAILED" and code in (
                    "ConflictException",
                    "ValidationException",
                ):
                    return _Step.DONE  # nothing stored for a failed training
                if once and code in TRANSIENT_ERRORS:
                    return _Step.DEFERRED
                if once and code == "ConflictException":
                    # the service will not retry it now: report the failure
                    raise _delete_failed(model_id, model, status) from error
                raise
            return _Step.WAIT
    except ClientError as error:
        code = error_code(error)
        if code == "ResourceNotFoundException":
            return _Step.DONE
        if code in TRANSIENT_ERRORS or code == "ConflictException":
            return _Step.WAIT  # changing state or throttled: look again at the next poll
        raise explain(error, "deleting", model_id.arn) from error
    if status in DELETE_FAILURES:
        raise _delete_failed(model_id, model, status)
    # INACTIVE: output deleted. CREATE_FAILED (after the first step): its output
    # was deleted or there was none. CANCEL_*/DELETE_* in progress: wait.
    return _Step.DONE if status in GONE or status == "CREATE_FAILED" else _Step.WAIT


def _delete_failed(model_id: ModelId, model: Mapping[str, Any], status: str) -> HandlerError:
    return HandlerError(
        f"deleting trained model {model_id.arn} failed ({status}): {_status_details(model)}"
        " - delete the stack again to retry"
    )


def _update_stamp(model: Mapping[str, Any]) -> float | None:
    """The model's ``updateTime`` as epoch seconds (None when absent)."""
    updated = model.get("updateTime")
    return updated.timestamp() if isinstance(updated, datetime) else None


def delete_model(
    client: CleanRoomsMLClient, desired: DesiredModel | None, event: Event, now: float
) -> dict[str, Any]:
    """Delete only what this resource created, and only under DESTROY."""
    result = {"PhysicalResourceId": event.physical_id, ACTION_KEY: ACTION_NONE, STARTED_AT_KEY: now}
    model_id = ownership.parse_physical_id(event.physical_id)
    fields = {"requestType": event.request_type, "logicalResourceId": event.logical_id}
    if model_id is None:
        log("delete-skipped", reason="physical id is not a trained model of ours", **fields)
        return result
    if desired is None or not desired.destroy:
        log("retained", trainedModelArn=model_id.arn, reason="removal policy retain", **fields)
        return result
    try:
        model = _get(client, model_id)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            log("deleted", trainedModelArn=model_id.arn, reason="already gone", **fields)
            return result
        raise explain(error, "GetTrainedModel", model_id.arn) from error
    if not _owned_by(model, event):
        log(
            "delete-skipped",
            trainedModelArn=model_id.arn,
            reason="not created by this resource",
            **fields,
        )
        return result
    step = _advance_delete(client, model_id, model, first=True)
    if step == _Step.DONE:
        log("deleted", trainedModelArn=model_id.arn, status=model.get("status"), **fields)
        return result
    log("deleting", trainedModelArn=model_id.arn, status=model.get("status"), **fields)
    result[ACTION_KEY] = ACTION_DELETE
    if step == _Step.DEFERRED:
        result[DEFERRED_STEP_KEY] = _update_stamp(model)
    return result


def echo_attributes(event: Event, now: float) -> dict[str, Any]:
    """Long path: the attributes resource (after the WaitCondition) echoes its properties."""
    keys = (
        contract.ATTR_TRAINED_MODEL_ARN,
        contract.ATTR_VERSION_IDENTIFIER,
        contract.ATTR_TRAINED_MODEL_NAME,
        contract.ATTR_STATUS,
    )
    data = {key: str(event.properties.get(key, "")) for key in keys}
    physical_id = event.physical_id
    if event.request_type != "Delete":
        arn, version = data[contract.ATTR_TRAINED_MODEL_ARN], data[contract.ATTR_VERSION_IDENTIFIER]
        physical_id = f"attributes:{arn}:{version}"
    return {
        "PhysicalResourceId": physical_id,
        "Data": data,
        ACTION_KEY: ACTION_NONE,
        STARTED_AT_KEY: now,
    }


def on_event(
    client: CleanRoomsMLClient,
    raw_event: Mapping[str, Any],
    now: float | None = None,
    start_waiter: WaiterStarter | None = None,
) -> dict[str, Any]:
    """The Provider framework's ``onEvent``: start the change and say what to wait for."""
    now = time.time() if now is None else now
    event = Event.from_dict(raw_event)
    if raw_event.get("ResourceType") == contract.ATTRIBUTES_RESOURCE_TYPE:
        return echo_attributes(event, now)
    log(
        "on-event",
        requestType=event.request_type,
        logicalResourceId=event.logical_id,
        physicalResourceId=event.physical_id if event.request_type != "Create" else None,
    )
    if event.request_type == "Delete":
        try:
            desired: DesiredModel | None = parse_properties(event.properties)
        except ValueError:
            desired = None  # unreadable properties: never delete on a guess
        return delete_model(client, desired, event, now)
    desired = parse_properties(event.properties)
    if event.request_type == "Create":
        return create_model(client, desired, event, now, start_waiter)
    if event.request_type == "Update":
        return update_model(client, desired, event, now, start_waiter)
    raise HandlerError(f"unknown request type {event.request_type!r}")


def is_complete(
    client: CleanRoomsMLClient,
    raw_event: Mapping[str, Any],
    now: float | None = None,
    start_waiter: WaiterStarter | None = None,
) -> dict[str, Any]:
    """The Provider framework's ``isComplete``: poll the model once."""
    now = time.time() if now is None else now
    event = Event.from_dict(raw_event)
    action = str(event.extra.get(ACTION_KEY, ACTION_NONE))
    started = float(event.extra.get(STARTED_AT_KEY, now))
    waiter = event.extra.get(WAITER_KEY)
    elapsed = round(max(0.0, now - started), 1)
    fields = {
        "requestType": event.request_type,
        "logicalResourceId": event.logical_id,
        "elapsedSeconds": elapsed,
    }
    if action == ACTION_NONE:
        return {"IsComplete": True}
    model_id = ownership.parse_physical_id(event.physical_id)
    if model_id is None:
        raise HandlerError(f"lost track of the model: physical id {event.physical_id!r}")
    try:
        model = _get(client, model_id)
    except ClientError as error:
        code = error_code(error)
        if code == "ResourceNotFoundException" and action == ACTION_DELETE:
            log("deleted", trainedModelArn=model_id.arn, **fields)
            return {"IsComplete": True}
        if code in TRANSIENT_ERRORS:
            log("poll-throttled", trainedModelArn=model_id.arn, errorCode=code, **fields)
            return _not_yet(event, model_id, "unknown (throttled)", elapsed)
        raise explain(error, "GetTrainedModel", model_id.arn) from error
    status = str(model.get("status", ""))
    log("poll", trainedModelArn=model_id.arn, status=status, **fields)

    if action == ACTION_DELETE:
        # the one-time step, if on_event was throttled taking it and nothing has
        # happened to the model since (so a poll never repeats a step that was taken)
        deferred = event.extra.get(DEFERRED_STEP_KEY)
        first = deferred is not None and _update_stamp(model) == float(deferred)
        step = _advance_delete(client, model_id, model, first=first)
        return {"IsComplete": step == _Step.DONE}
    desired = parse_properties(event.properties)
    if action == ACTION_REFRESH:
        if waiter == WAITER_START and not _start_long_wait(
            start_waiter, desired, event, model_id, str(model.get("name")), started
        ):
            return _not_yet(event, model_id, status, elapsed)
        return {"IsComplete": True, "Data": _attributes(model, model_id)}

    if status == ACTIVE:
        if waiter == WAITER_START and not _start_long_wait(
            start_waiter, desired, event, model_id, str(model.get("name")), started
        ):
            return _not_yet(event, model_id, status, elapsed)
        return {"IsComplete": True, "Data": _attributes(model, model_id)}
    if status == "CREATE_FAILED":
        raise HandlerError(
            f"training of trained model {model.get('name')!r} ({model_id.arn}) failed: "
            f"{_status_details(model)}"
        )
    if status not in TRAINING:
        raise HandlerError(
            f"trained model {model.get('name')!r} ({model_id.arn}) reached {status} while it "
            f"was being created: {_status_details(model)}"
        )
    if waiter == WAITER_START:
        # long path: the waiter follows the model and signals the WaitCondition
        if not _start_long_wait(
            start_waiter, desired, event, model_id, str(model.get("name")), started
        ):
            return _not_yet(event, model_id, status, elapsed)
        return {"IsComplete": True, "Data": _attributes(model, model_id)}
    if not desired.wait_for_completion:
        return {"IsComplete": True, "Data": _attributes(model, model_id)}
    if elapsed >= _deadline(desired):
        policy = (
            "it is left as is (removal policy retain)"
            if not desired.destroy
            else "it will be cancelled (removal policy destroy)"
        )
        hint = "Raise completion_timeout or set wait_for_completion=False"
        if waiter == WAITER_SELF:
            hint = (
                "The model was replaced because a value known only at deploy time changed "
                "(such as its base model), so its WaitCondition was not renewed and the "
                "custom resource waited itself, which CloudFormation caps at an hour; deploy "
                "again once training can finish within that, or change a property of the "
                "model (such as its description) together with the base so the long path "
                "waits"
            )
        raise HandlerError(
            f"timed out after {elapsed:.0f} s waiting for trained model {model.get('name')!r} "
            f"({model_id.arn}); last status {status}; {policy}. {hint}"
        )
    return {"IsComplete": False}


def _deadline(desired: DesiredModel) -> int:
    """How long the custom resource itself may wait (seconds from ``on_event``)."""
    return min(desired.completion_timeout_seconds, contract.SHORT_PATH_DEADLINE_SECONDS)


def _not_yet(event: Event, model_id: ModelId, status: str, elapsed: float) -> dict[str, Any]:
    deadline = contract.SHORT_PATH_DEADLINE_SECONDS
    with contextlib.suppress(ValueError):
        deadline = _deadline(parse_properties(event.properties))
    if event.request_type != "Delete" and elapsed >= deadline:
        raise HandlerError(
            f"timed out after {elapsed:.0f} s waiting for trained model {model_id.arn}; "
            f"last status {status}"
        )
    return {"IsComplete": False}
