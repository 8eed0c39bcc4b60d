"""The ML configuration: ``Custom::CleanRoomsMLConfiguration``, one per membership.

``PutMLConfiguration`` sets a membership's default output location and the role
Clean Rooms ML assumes for it; there is one per membership, with no name, no tags
and no status (ASSUMPTION A17). So this kind has its own requests (on the engine's entry points,
its ``Call`` and its rules for transient failures):

- Create: a configuration the membership already has is adopted when it is the
  one asked for (a retried create, a rolled-back first deploy that kept it) and
  refused otherwise; else the poll puts it (nothing is put before the Provider
  framework's waiter runs).
- Update: the same membership is updated in place by the poll (a rollback puts the
  old configuration back); another membership is a replacement, as a create there.
- Delete: only under DESTROY, only while the membership still has the
  configuration this resource put (anything else was changed outside
  CloudFormation and is left alone), and only when no other resource of the stack
  holds it (a renamed construct's new resource adopted it: ``ListStackResources``).

The physical id is ``ml-configuration:<membership id>``, or
``ml-configuration:<membership id>@adopted`` for one a Create adopted: release 0.2.0's
handler (back after a rolled-back upgrade, answering the rollback's cleanup Delete of
the adopting resource) does not read that form, so it leaves the configuration to the
resource that put it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import contract
import faults
import identity
import kinds
from engine import (
    ACTION_KEY,
    CREATE,
    NONE,
    OPERATION_KEY,
    READY,
    STARTED_AT_KEY,
    Call,
    Desired,
    Observed,
    Step,
    Summary,
)
from engine.shared import cancelled_before, describe, stack_operation, still_wanted
from faults import HandlerError
from identity import PropertyError
from jsonlog import log
from ownership import UUID, Pending, Ref

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

PREFIX: Final = "ml-configuration:"
ADOPTED: Final = "@adopted"
_ID: Final = re.compile(PREFIX + r"(?P<membership>" + UUID.pattern + ")(?P<adopted>@adopted)?")
HELD_KEY: Final = "CleanRoomsMLHeld"
"""An update's: when the membership's configuration was last put, as on_event saw it
(``none`` for none). In a rollback the poll puts only while that is still so: a forward
update delivered after its cancellation must not put over the rollback's."""


def ref_of(membership: str) -> Ref:
    return Ref(arn=f"{PREFIX}{membership}", version=None, membership=membership)


def document(props: Mapping[str, Any]) -> dict[str, Any]:
    """The ``put_ml_configuration`` arguments."""
    location: dict[str, Any] = {}
    uri = identity.text(props, contract.OUTPUT_S3_URI)
    if uri is not None:  # without one, the configuration only names the role
        location["destination"] = {"s3Destination": {"s3Uri": uri}}
    location["roleArn"] = identity.text(props, contract.ROLE_ARN, required=True)
    return {
        "membershipIdentifier": identity.text(props, contract.MEMBERSHIP_IDENTIFIER, required=True),
        "defaultOutputLocation": location,
    }


def parse(props: Mapping[str, Any]) -> Desired:
    request = document(props)
    policy = identity.text(props, contract.REMOVAL_POLICY) or contract.REMOVAL_POLICY_RETAIN
    if policy not in (contract.REMOVAL_POLICY_RETAIN, contract.REMOVAL_POLICY_DESTROY):
        raise PropertyError(f"property {contract.REMOVAL_POLICY} must be retain or destroy")
    membership = str(request["membershipIdentifier"])
    return Desired(
        membership=membership,
        identity=identity.digest({"membershipIdentifier": membership}),
        request=request,
        destroy=policy == contract.REMOVAL_POLICY_DESTROY,
    )


def _location(held: Mapping[str, Any]) -> str:
    location = held.get("defaultOutputLocation") or {}
    uri = ((location.get("destination") or {}).get("s3Destination") or {}).get("s3Uri")
    return f"output {uri}, role {location.get('roleArn')}"


class MLConfigurations(kinds.Defaults):
    """The narrow interface (``engine.Kind``) for a membership's ML configuration."""

    resource_type = contract.ML_CONFIGURATION_RESOURCE_TYPE
    noun = "ML configuration"
    cancellable = False
    starts = "a put"

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None:
        match = _ID.fullmatch(physical_id or "")
        return ref_of(match.group("membership")) if match else None

    def parse(self, props: Mapping[str, Any]) -> Desired:
        return parse(props)

    def create(
        self, client: CleanRoomsMLClient, desired: Desired, name: str, tags: Mapping[str, str]
    ) -> Ref:
        client.put_ml_configuration(**desired.request)
        return ref_of(desired.membership)

    def describe(self, client: CleanRoomsMLClient, ref: Ref) -> Observed:
        held: Mapping[str, Any] = client.get_ml_configuration(membershipIdentifier=ref.membership)
        return Observed(
            ref=ref,
            name="",
            status=READY,
            tags={},
            updated=kinds.epoch(held.get("updateTime")),
            details="",
            data={contract.ATTR_MEMBERSHIP_IDENTIFIER: ref.membership},
            document={
                "membershipIdentifier": ref.membership,
                "defaultOutputLocation": held.get("defaultOutputLocation") or {},
            },
        )

    def summaries(self, client: CleanRoomsMLClient, membership: str) -> Iterator[Summary]:
        return iter(())  # one per membership, found by describe

    def delete_step(self, client: CleanRoomsMLClient, observed: Observed, first: bool) -> str:
        client.delete_ml_configuration(membershipIdentifier=observed.ref.membership)
        return Step.DONE


KIND: Final = MLConfigurations()


def _answer(
    call: Call,
    ref: Ref,
    action: str,
    *,
    physical_id: str | None = None,
    operation: str | None = None,
    held: Observed | None = None,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "PhysicalResourceId": physical_id or ref.physical_id,
        ACTION_KEY: action,
        STARTED_AT_KEY: call.now,
        "Data": {contract.ATTR_MEMBERSHIP_IDENTIFIER: ref.membership},
    }
    if action == CREATE:  # the poll puts it only while CloudFormation still waits for it
        operation = operation if operation is not None else stack_operation(call)
        if operation is not None:
            found[OPERATION_KEY] = operation
        found[HELD_KEY] = _held_marker(held)
    return found


def _held_marker(held: Observed | None) -> str:
    return "none" if held is None else str(held.updated)


def _put_or_adopt(call: Call, desired: Desired, operation: str | None = None) -> dict[str, Any]:
    """A membership's configuration: adopt the one asked for, refuse another, or put."""
    ref = ref_of(desired.membership)
    held = describe(call, ref)
    if held is None:
        log("create-requested", physicalResourceId=ref.physical_id, **call.event.fields())
        return _answer(call, ref, CREATE, operation=operation)
    if held.document == desired.request:
        # another resource of the stack holds it (a renamed construct's, one of release
        # 0.2.0's after an upgrade): this one's id says it adopted it, which 0.2.0's
        # handler does not read, so a rolled-back upgrade's cleanup Delete leaves it
        shared = call.event.request_type == "Create" and _other_holder(call, ref.physical_id)
        log("adopted", reason="the configuration asked for", **call.event.fields())
        suffix = ADOPTED if shared else ""
        return _answer(call, ref, NONE, physical_id=ref.physical_id + suffix)
    raise HandlerError(
        f"membership {desired.membership} already has an ML configuration ("
        f"{_location(held.document)}) that this resource did not make; a membership has "
        "one: import it with MLConfiguration.from_membership_identifier, or remove it "
        "(aws cleanrooms-ml delete-ml-configuration --membership-identifier "
        f"{desired.membership}) and deploy again"
    )


def on_create(call: Call) -> dict[str, Any]:
    desired = parse(call.event.properties)
    operation = stack_operation(call)
    if cancelled_before(operation):
        raise HandlerError(
            "CloudFormation cancelled the creation of this ML configuration before the "
            f"handler saw it (the stack is {operation}): nothing was put"
        )
    return _put_or_adopt(call, desired, operation)


def on_update(call: Call) -> dict[str, Any]:
    desired = parse(call.event.properties)
    current = KIND.parse_physical_id(call.event.physical_id)
    if current is None:
        raise HandlerError(
            f"cannot update {call.event.physical_id!r}: it is not an ML configuration "
            "this handler made"
        )
    if current.membership == desired.membership:
        # in place (a rollback puts the old configuration back): the poll puts it,
        # under the physical id the resource has
        ref = ref_of(desired.membership)
        held = describe(call, ref)
        return _answer(call, ref, CREATE, physical_id=str(call.event.physical_id), held=held)
    return _put_or_adopt(call, desired)  # another membership: a replacement


def _other_holder(call: Call, physical_id: str) -> str | None:
    """Another resource of the stack that holds this configuration now, if any.

    A configuration has no tags, so CloudFormation is asked: a construct renamed (or
    moved) in the stack is a new logical resource whose Create adopted the membership's
    configuration (the same physical id) before the cleanup deletes the old one; that
    Delete must leave it to the new one. A rolled-back Create of such a resource leaves
    it to the old one the same way.
    """
    if call.stack_resources is None:
        return None
    event = call.event
    try:
        resources = call.api(call.stack_resources, event.stack_id)
    except Exception as error:
        raise call.fail(error, "listing the resources of stack", event.stack_id) from error
    mine = KIND.parse_physical_id(physical_id)
    for resource in resources:
        theirs = KIND.parse_physical_id(resource.physical_id)
        if (
            theirs is not None
            and mine is not None
            and theirs.membership == mine.membership
            and resource.logical_id != event.logical_id
            and not resource.status.startswith("DELETE_")
        ):
            return resource.logical_id
    return None


def on_delete(call: Call) -> dict[str, Any]:
    """Under DESTROY, delete the configuration this resource put, if it still holds it.

    The physical id names the membership; an id CloudFormation made up (it cancelled
    this resource's Create: a sibling failed, row 11) does not, and the properties do.
    """
    event = call.event
    result = {"PhysicalResourceId": event.physical_id, ACTION_KEY: NONE, STARTED_AT_KEY: call.now}
    try:
        desired: Desired | None = parse(event.properties)
    except PropertyError:
        desired = None  # unreadable properties: never delete on a guess
    if desired is None or not desired.destroy:
        log("retained", reason="removal policy retain", **event.fields())
        return result
    ref = KIND.parse_physical_id(event.physical_id) or ref_of(desired.membership)
    if isinstance(ref, Ref) and _delete_if_ours(call, desired, ref):
        log("deleted", physicalResourceId=ref.physical_id, **event.fields())
    return result


def _delete_if_ours(call: Call, desired: Desired, ref: Ref) -> bool:
    """Delete the membership's configuration if it is the one ``desired`` asked for and no
    other resource of the stack holds it; True when it was deleted."""
    event = call.event
    held = describe(call, ref)
    if held is None or held.document != dict(desired.request, membershipIdentifier=ref.membership):
        log("delete-skipped", reason="gone, or changed outside CloudFormation", **event.fields())
        return False
    holder = _other_holder(call, ref.physical_id)
    if holder is not None:
        log(
            "delete-skipped",
            reason=f"resource {holder} of this stack holds it now",
            **event.fields(),
        )
        return False
    try:
        call.api(KIND.delete_step, call.client, held, True)
    except Exception as error:
        if faults.is_not_found(error):
            return False
        raise call.fail(error, "deleting the ML configuration of membership", ref.membership) from (
            error
        )
    return True


def poll_put(call: Call) -> dict[str, Any]:
    """Put the configuration, while CloudFormation still waits for it (``still_wanted``:
    a request it cancelled puts nothing, and one cancelled while the put was under way
    is taken back under DESTROY, as its Delete would)."""
    desired = parse(call.event.properties)
    event = call.event
    if not still_wanted(call):
        if event.request_type == "Create" and desired.destroy:
            # an earlier poll of this request may have put it (its look after the put
            # did not conclude): taken back, as the made-up id Delete would have
            _delete_if_ours(call, desired, ref_of(desired.membership))
        raise HandlerError(
            "CloudFormation no longer waits for this ML configuration (its creation or "
            "update was cancelled, or the stack rolled back or was deleted): nothing was put"
        )
    recorded = event.extra.get(HELD_KEY)
    operation = str(event.extra.get(OPERATION_KEY) or "")
    if recorded is not None and operation.startswith("UPDATE_ROLLBACK"):
        held = describe(call, ref_of(desired.membership))
        if _held_marker(held) != recorded:
            # put meanwhile: by the rollback's own Update, when this is a forward one
            # delivered after its cancellation (or by a duplicate of this one)
            log("put-skipped", reason="put meanwhile", **event.fields())
            return {
                "IsComplete": True,
                "Data": {contract.ATTR_MEMBERSHIP_IDENTIFIER: desired.membership},
            }
    try:
        ref = call.api(KIND.create, call.client, desired, "", {})
    except faults.NotYet:
        raise
    except Exception as error:
        raise call.fail(
            error, "putting the ML configuration of membership", desired.membership
        ) from error
    log("created", physicalResourceId=ref.physical_id, **event.fields())
    if not still_wanted(call):
        if event.request_type == "Create" and desired.destroy:
            _delete_if_ours(call, desired, ref)
        raise HandlerError(
            "CloudFormation cancelled this ML configuration's request while it was put"
        )
    # the physical id stays on_event's (an adopted one's form included)
    return {"IsComplete": True, "Data": {contract.ATTR_MEMBERSHIP_IDENTIFIER: ref.membership}}


REQUESTS: Final[dict[str, Callable[[Call], dict[str, Any]]]] = {
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
}
POLLS: Final[dict[str, Callable[[Call], dict[str, Any]]]] = {
    CREATE: poll_put,
    NONE: lambda call: {"IsComplete": True},
}
