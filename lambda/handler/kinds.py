"""What the kinds of resource share: settings every resource has, and reading answers.

Every kind's properties carry the same handler settings (name or name prefix,
tags, removal policy, waiting); every kind's describe answer has a name, a status,
tags, times and status details.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

import contract
import faults
import identity
from engine import CREATE_FAILED, GONE, IN_PROGRESS, READY, Desired, Observed, Step, Summary
from identity import PropertyError
from ownership import Ref


class Defaults:
    """What most kinds are: tagged, undone by a Delete, with nothing updated in place
    (every create parameter is in the identity)."""

    removable = True

    def in_place(self, observed: Observed, desired: Desired) -> Mapping[str, Any] | None:
        return {}

    def update(self, client: Any, observed: Observed, changes: Mapping[str, Any]) -> None:
        return None


def desired(
    props: Mapping[str, Any],
    document: Mapping[str, Any],
    secrets: tuple[str, ...],
    *,
    scope: str | None = None,
    request: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Desired:
    """``Desired`` from the identity ``document`` and the handler settings in ``props``.

    ``scope``: where the kind finds its resources (default: the document's membership);
    ``request``: the create call's arguments when they are more than the identity
    document (a kind with ``settings``, which an update applies in place).
    """
    fixed_name = identity.text(props, contract.NAME)
    name_prefix = identity.text(props, contract.NAME_PREFIX)
    if (fixed_name is None) == (name_prefix is None):
        raise PropertyError(
            f"exactly one of {contract.NAME} and {contract.NAME_PREFIX} is required"
        )
    policy = identity.text(props, contract.REMOVAL_POLICY) or contract.REMOVAL_POLICY_RETAIN
    if policy not in (contract.REMOVAL_POLICY_RETAIN, contract.REMOVAL_POLICY_DESTROY):
        raise PropertyError(f"property {contract.REMOVAL_POLICY} must be retain or destroy")
    timeout = identity.whole(props, contract.COMPLETION_TIMEOUT_SECONDS)
    if timeout is None:
        timeout = contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS
    if not 1 <= timeout <= contract.MAX_COMPLETION_TIMEOUT_SECONDS:
        raise PropertyError(
            f"property {contract.COMPLETION_TIMEOUT_SECONDS} must be 1-"
            f"{contract.MAX_COMPLETION_TIMEOUT_SECONDS}, got {timeout}"
        )
    wait = flag(props, contract.WAIT_FOR_COMPLETION, default=True)
    return Desired(
        membership=scope if scope is not None else str(document["membershipIdentifier"]),
        identity=identity.digest(document),
        request=document if request is None else request,
        fixed_name=fixed_name,
        name_prefix=name_prefix,
        tags=identity.string_map(props, contract.TAGS),
        destroy=policy == contract.REMOVAL_POLICY_DESTROY,
        wait_for_completion=wait,
        completion_timeout_seconds=timeout,
        wait_handle_url=identity.text(props, contract.WAIT_HANDLE_URL),
        secrets=secrets,
        replacement_protection=identity.text(props, contract.REPLACEMENT_PROTECTION) or None,
        replacement_allowed=flag(props, contract.REPLACEMENT_ALLOWED, default=False),
        settings={} if settings is None else settings,
    )


def flag(props: Mapping[str, Any], key: str, *, default: bool) -> bool:
    """A boolean property (CloudFormation delivers ``"true"``/``"false"``)."""
    value = props.get(key)
    if value is None:
        return default
    if str(value).lower() not in ("true", "false"):
        raise PropertyError(f"property {key} must be true or false")
    return str(value).lower() == "true"


def request(desired: Desired, name: str, tags: Mapping[str, str]) -> dict[str, Any]:
    """A create call's full arguments: the identity document, the name and the tags."""
    arguments = dict(desired.request)
    arguments["name"] = name
    if tags:
        arguments["tags"] = dict(tags)
    return arguments


def epoch(value: object) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


def details(answer: Mapping[str, Any], hidden: Iterable[str]) -> str:
    """The service's status details, redacted of the secret values it holds."""
    found = answer.get("statusDetails") or {}
    text = ": ".join(str(p) for p in (found.get("statusCode"), found.get("message")) if p)
    return faults.redact(text or "no details given by the service", hidden)


def observed(
    ref: Ref, answer: Mapping[str, Any], hidden: Iterable[str], data: Mapping[str, str]
) -> Observed:
    """An ``Observed`` from a describe call's answer."""
    return Observed(
        ref=ref,
        name=str(answer.get("name", "")),
        status=str(answer.get("status", "")),
        tags=dict(answer.get("tags") or {}),
        updated=epoch(answer.get("updateTime")),
        created=epoch(answer.get("createTime")) or 0.0,
        details=details(answer, hidden),
        data=dict(data),
    )


def summary(ref: Ref, item: Mapping[str, Any]) -> Summary:
    """A ``Summary`` from one entry of a list call."""
    return Summary(
        ref=ref,
        name=str(item.get("name", "")),
        status=str(item.get("status", "")),
        created=epoch(item.get("createTime")) or 0.0,
    )


def delete_failed(noun: str, observed: Observed) -> faults.HandlerError:
    return faults.HandlerError(
        f"deleting {noun} {observed.ref.arn} failed ({observed.status}): "
        f"{observed.details} - delete the stack again to retry"
    )


_FAILED_ASKED: set[str] = set()
"""ARNs of failed resources (CREATE_FAILED) whose deletion this process has asked for
(a call the service answered)."""


def asked_to_delete_failed(first: bool, arn: str) -> bool:
    """Whether a step should leave a failed resource alone: the Delete event's own step
    always asks; a later one (it failed while the Delete waited) asks once per process,
    so that a service that kept it CREATE_FAILED after the call is not asked at every
    poll (a poll in another container may ask once more)."""
    return not first and arn in _FAILED_ASKED


def delete_of_failed_asked(arn: str) -> None:
    """The service answered the deletion of failed ``arn`` (a throttled call is not one)."""
    _FAILED_ASKED.add(arn)


def delete_stored(
    noun: str,
    observed: Observed,
    first: bool,
    failures: frozenset[str],
    delete: Callable[[], object],
) -> str:
    """The step that deletes what a created (or failed) resource stores (a model's
    output, a channel's data), once nothing is being created any more.

    ``first`` is the step of a Delete event (or of the poll that takes it when on_event
    could not): only then is a deletion that ended in one of ``failures`` tried again
    (once per CloudFormation attempt, so deleting the stack again retries it). A failed
    one (CREATE_FAILED) still holds its name, so its deletion is asked for at any step
    that sees it, also when it failed while the Delete waited (``asked_to_delete_failed``).
    """
    status = observed.status
    once = first and (status in failures or status == CREATE_FAILED)
    if status == CREATE_FAILED and asked_to_delete_failed(first, observed.ref.arn):
        return Step.DONE  # asked already: the service kept it CREATE_FAILED
    if status in (READY, CREATE_FAILED) or once:
        try:
            delete()
        except Exception as error:
            code = faults.error_code(error)
            if status == CREATE_FAILED and code in ("ConflictException", "ValidationException"):
                return Step.DONE  # nothing stored for a failed one
            if once and faults.is_transient(error):
                return Step.DEFERRED
            if once and faults.is_conflict(error):
                raise delete_failed(noun, observed) from error  # the service will not retry it now
            raise
        if status == CREATE_FAILED:
            delete_of_failed_asked(observed.ref.arn)
        return Step.WAIT
    if status in failures:
        raise delete_failed(noun, observed)
    # INACTIVE: gone. CANCEL_*/DELETE_* in progress: wait.
    return Step.DONE if status in GONE else Step.WAIT


DELETING = frozenset({"DELETE_PENDING", "DELETE_IN_PROGRESS"})


def delete_account_resource(
    noun: str, observed: Observed, first: bool, delete: Callable[[], object], refused: str
) -> str:
    """The step that deletes an audience kind's resource (an audience model, a generation
    job: A21, A24), which goes away whole (it has no INACTIVE), whatever it is doing.

    A ``DELETE_FAILED`` one is asked again once per Delete event (deleting the stack
    again retries it). A refusal (``ConflictException``) of one that is not being
    created means something uses it: the Delete event's own step fails with the
    service's reason and ``refused`` (what to do); a later poll looks again.
    """
    status = observed.status
    if status in DELETING:
        return Step.WAIT
    if status == "DELETE_FAILED" and not first:
        raise delete_failed(noun, observed)
    try:
        delete()
    except Exception as error:
        if first and faults.is_conflict(error) and status not in IN_PROGRESS:
            raise faults.HandlerError(
                f"deleting {noun} {observed.ref.arn} failed (ConflictException): "
                f"{faults.service_message(error)} - {refused}"
            ) from error
        if first and status == "DELETE_FAILED" and faults.is_transient(error):
            return Step.DEFERRED
        raise
    return Step.WAIT


def not_found(operation: str, what: str) -> ClientError:
    """A ``ResourceNotFoundException`` for what a list call did not show (an export has no
    Get: ``describe`` finds it in its list)."""
    return ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": f"{what} not found"}},
        operation,
    )


def exported(
    ref: Ref, item: Mapping[str, Any], document: Mapping[str, Any], data: Mapping[str, str]
) -> Observed:
    """An export (no tags: known by its name and content) from its entry in a list."""
    return Observed(
        ref=ref,
        name=str(item.get("name", "")),
        status=str(item.get("status", "")),
        tags={},
        updated=epoch(item.get("updateTime")),
        created=epoch(item.get("createTime")) or 0.0,
        details=details(item, ()),
        data=dict(data),
        untagged=True,
        identity=identity.digest(document),
    )
