"""Row 7 with the rollback naming the original (A): the replacement (B) that failed or
timed out is stopped under DESTROY (no Delete will ever come for it), and nothing
else is: not a B that finished, one an earlier deploy or life of the stack kept,
nor one a later deploy made. The rollback never fails for it.

Through the handler's real entry points (``index.on_event`` / ``index.is_complete``), the
Provider framework's behaviour around them (``cfn.Framework``), the in-process
CloudFormation and the Clean Rooms ML emulator over HTTP on a virtual clock
(``emulated``). Each docstring gives the event sequence and what
``shared/reference/cloudformation-event-sequences.md`` and the library's promise
require.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cfn import OPERATIONS
from emulated import (
    World,
    channel_props,
    model_props,
    serve,
)

import contract
from cdk_cleanrooms_ml.local.emulator import EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL, MODEL


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


def test_row_7_timeout_with_rollback_naming_a_does_not_leave_b_training(world: World) -> None:
    """Row 7 (replacing update, *this* resource times out), DESTROY, the rollback
    naming A (the spec allows B or A as its PhysicalResourceId).

    Events: Create(A) -> A (ACTIVE); Update(B props, old=A, A) -> pending:B, B's training
    outlasts CompletionTimeoutSeconds (30 s) -> FAILED "timed out ... it will be
    cancelled (removal policy destroy)"; UPDATE_ROLLBACK: Update(props=A, old=B, A). No
    Delete(B) follows: CloudFormation never held B's id.

    Expected: the rollback returns A and trains nothing (it does), and nothing is
    orphaned: B, still training, is cancelled as the FAILED reason promised.
    """
    cfn = world.cfn()
    a_props = model_props("10")
    b_props = model_props("20", **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    a = cfn.create(a_props)
    assert a.ok, a.reason
    b = cfn.update(b_props, old=a_props, physical_id=a.physical_id)
    assert not b.ok
    promise = "still being created, it is cancelled (removal policy destroy)"
    assert promise in b.reason, b.reason
    back = cfn.update(a_props, old=b_props, physical_id=a.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    world.settle(600)
    statuses = {m["hyperparameters"]["epochs"]: m["status"] for m in world.emulator.snapshot()}
    assert statuses["10"] == "ACTIVE"
    assert statuses["20"] == "INACTIVE", (
        f"B ended {statuses['20']}: its training ran on although the stack rolled back "
        "and the reason said it would be cancelled"
    )


def test_row_7_rollback_naming_a_survives_a_refused_cancel_of_b(world: World) -> None:
    """Row 7 (replacing update, *this* resource times out), DESTROY, the rollback naming
    A, and B's training ends just as the rollback looks at it (so CancelTrainedModel is
    refused: ConflictException, A4 — injected here for the one call).

    Events: Create(A) -> A; Update(B props, old=A, A) -> pending:B, B outlasts
    CompletionTimeoutSeconds (30 s) -> FAILED; UPDATE_ROLLBACK: Update(props=A, old=B, A).

    Expected: the rollback answers A (row 7: "correct either way means returning A");
    stopping B is best-effort cleanup of a resource CloudFormation never held, and a
    refused or raced cancel (Conflict, NotFound) must not fail the rollback itself
    (``engine/delete.py _delete_step`` treats exactly these as "look again"/"done").
    """
    cfn = world.cfn()
    a_props = model_props("10")
    b_props = model_props("20", **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    a = cfn.create(a_props)
    assert a.ok, a.reason
    b = cfn.update(b_props, old=a_props, physical_id=a.physical_id)
    assert not b.ok
    world.emulator.inject_fault(
        "CancelTrainedModel", "ConflictException", message="cannot cancel a model that is ACTIVE"
    )
    back = cfn.update(a_props, old=b_props, physical_id=a.physical_id)
    assert back.ok, f"the rollback Update failed (UPDATE_ROLLBACK_FAILED): {back.reason}"
    assert back.physical_id == a.physical_id


def test_row_7_rollback_naming_a_survives_a_failed_search_for_b(world: World) -> None:
    """As above, but the search for B itself fails (ListTrainedModels: AccessDenied):
    the rollback still answers A, and says in the log why B was not stopped."""
    cfn = world.cfn()
    a_props = model_props("10")
    b_props = model_props("20", **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    a = cfn.create(a_props)
    assert a.ok, a.reason
    assert not cfn.update(b_props, old=a_props, physical_id=a.physical_id).ok
    world.emulator.inject_fault("ListTrainedModels", "AccessDeniedException")
    back = cfn.update(a_props, old=b_props, physical_id=a.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id


def test_row_7_channel_timeout_with_rollback_naming_a_leaves_no_channel_behind(
    world: World,
) -> None:
    """Row 7 for an ML input channel (a query change replaces it), DESTROY, generated
    names; B's protected query outlasts CompletionTimeoutSeconds (30 s); the rollback
    names A.

    Events: Create(A) -> A (ACTIVE); Update(B props, old=A, A) -> pending:B, B's query
    runs past 30 s -> FAILED "... its creation cannot be stopped: it goes on, and is
    deleted if CloudFormation deletes it"; UPDATE_ROLLBACK: Update(props=A, old=B, A).
    No Delete(B) ever comes (CloudFormation never held B's id; 1020ed0's own
    ``_stop_abandoned`` docstring says so).

    Expected (the promise: nothing orphaned, DESTROY cleans up): once B's query ends, B's
    data is deleted (B ends INACTIVE), as it is when the rollback names B and the
    cleanup's Delete(B) waits for the query.
    """
    cfn = world.cfn(contract.ML_INPUT_CHANNEL_RESOURCE_TYPE)
    a_props = channel_props("SELECT a FROM t")
    b_props = channel_props("SELECT b FROM t", **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    a = cfn.create(a_props)
    assert a.ok, a.reason
    b = cfn.update(b_props, old=a_props, physical_id=a.physical_id)
    assert not b.ok
    assert "timed out" in b.reason, b.reason
    back = cfn.update(a_props, old=b_props, physical_id=a.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    world.settle(600)
    others = {c["arn"]: c["status"] for c in world.emulator.snapshot(CHANNEL)}
    assert others.pop(a.physical_id) == "ACTIVE"
    assert list(others.values()) == ["INACTIVE"], (
        f"B ended {others}: nothing deletes its data after the rollback that named A"
    )


@pytest.mark.parametrize(
    ("a_name", "b_name"),
    [
        ({contract.NAME_PREFIX: "Old-Model"}, {contract.NAME_PREFIX: "New-Model"}),
        (
            {contract.NAME_PREFIX: None, contract.NAME: "model-one"},
            {contract.NAME_PREFIX: None, contract.NAME: "model-two"},
        ),
    ],
    ids=["name-prefix", "fixed-name"],
)
def test_row_7_rename_timeout_with_rollback_naming_a_does_not_leave_b_training(
    world: World, a_name: dict[str, Any], b_name: dict[str, Any]
) -> None:
    """Row 7 for a replacement caused by the *name* alone (a new NamePrefix, or another
    fixed Name: an immutable create parameter, so ``_fits`` replaces), DESTROY, the
    training configuration unchanged; B outlasts CompletionTimeoutSeconds (30 s) and the
    rollback names A.

    Events: Create(A) -> A; Update(B props, old=A, A) -> pending:B (a new training under
    the new name) -> FAILED "timed out ... it will be cancelled when the stack rolls back
    (removal policy destroy)"; UPDATE_ROLLBACK: Update(props=A, old=B, A). No Delete(B).

    Expected: as for any other row 7 naming A
    (``test_row_7_timeout_with_rollback_naming_a_does_not_leave_b_training``): A is
    returned and B, still training, is cancelled, as the reason promised.
    """
    cfn = world.cfn()
    a_props = model_props("10", **a_name)
    b_props = model_props("10", **b_name, **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    a = cfn.create(a_props)
    assert a.ok, a.reason
    b = cfn.update(b_props, old=a_props, physical_id=a.physical_id)
    assert not b.ok
    assert "it is cancelled (removal policy destroy)" in b.reason, b.reason
    back = cfn.update(a_props, old=b_props, physical_id=a.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    world.settle(600)
    statuses = {m["name"]: m["status"] for m in world.emulator.snapshot()}
    a_model = next(m for m in world.emulator.snapshot() if m["arn"] == a.physical_id)
    assert statuses.pop(a_model["name"]) == "ACTIVE"
    assert list(statuses.values()) == ["INACTIVE"], (
        f"B ended {statuses}: its training ran on although the stack rolled back and the "
        "reason said it would be cancelled"
    )


RETAIN = {contract.REMOVAL_POLICY: contract.REMOVAL_POLICY_RETAIN}


def _statuses(world: World, kind: str) -> dict[str, str]:
    return {m["arn"]: m["status"] for m in world.emulator.snapshot(kind)}


def test_row_7_rollback_naming_a_keeps_a_b_retained_by_an_earlier_deploy(world: World) -> None:
    """A model B kept by an earlier deploy's RETAIN; a later update back to B's
    configuration (now DESTROY) fails in on_event before it reaches B (here
    ListTrainedModels is refused once: AccessDenied; a throttle past the retries, a
    Lambda timeout or a fixed-name conflict do the same), so the rollback names A.

    Events: Create(B, RETAIN) -> B; Update(A, RETAIN, old=B, B) -> A (its cleanup
    Delete(B) skipped: UpdateReplacePolicy Retain, B stays ACTIVE, kept on purpose);
    Update(B props, DESTROY, old=A, A) -> FAILED in on_event (nothing created, nothing
    adopted, B untouched); UPDATE_ROLLBACK: Update(props=A, old=B DESTROY, A).

    Expected: "RETAIN keeps": the rollback of an update that never touched B leaves B as
    it was, ACTIVE with its output (no Delete(B) would ever come for it either way: the
    cleanup of a rollback that named B only follows an update that returned B).
    """
    cfn = world.cfn()
    b_keep = model_props("20", **RETAIN)
    a_props = model_props("10", **RETAIN)
    b_destroy = model_props("20")
    b = cfn.create(b_keep)
    assert b.ok, b.reason
    a = cfn.update(a_props, old=b_keep, physical_id=b.physical_id)
    assert a.ok, a.reason
    assert a.physical_id != b.physical_id
    world.emulator.inject_fault("ListTrainedModels", "AccessDeniedException", count=1)
    failed = cfn.update(b_destroy, old=a_props, physical_id=a.physical_id)
    assert not failed.ok
    assert _statuses(world, MODEL)[b.physical_id] == "ACTIVE"
    back = cfn.update(a_props, old=b_destroy, physical_id=a.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    world.settle(600)
    statuses = _statuses(world, MODEL)
    assert statuses[a.physical_id] == "ACTIVE"
    assert statuses[b.physical_id] == "ACTIVE", (
        f"the retained B ended {statuses[b.physical_id]}: a rollback destroyed a model "
        "kept by RETAIN that the failed update never created or adopted"
    )


def test_row_7_rollback_naming_a_keeps_a_retained_b_still_being_created(
    world: World,
) -> None:
    """As above, with the retained B still training (deployed with
    wait_for_completion=False): a B older than A is never the failed update's, so the
    rollback leaves it training (the rule: only one made after A is stopped)."""
    cfn = world.cfn()
    no_wait = {contract.WAIT_FOR_COMPLETION: "false", **RETAIN}
    b_keep = model_props("20", **no_wait)
    a_props = model_props("10", **no_wait)
    b_destroy = model_props("20", **{contract.WAIT_FOR_COMPLETION: "false"})
    b = cfn.create(b_keep)
    assert b.ok, b.reason
    a = cfn.update(a_props, old=b_keep, physical_id=b.physical_id)
    assert a.ok, a.reason
    world.emulator.inject_fault("ListTrainedModels", "AccessDeniedException", count=1)
    assert not cfn.update(b_destroy, old=a_props, physical_id=a.physical_id).ok
    assert _statuses(world, MODEL)[b.physical_id] in ("CREATE_PENDING", "CREATE_IN_PROGRESS")
    back = cfn.update(a_props, old=b_destroy, physical_id=a.physical_id)
    assert back.ok, back.reason
    world.settle(600)
    assert _statuses(world, MODEL)[b.physical_id] == "ACTIVE"  # trained on, not cancelled


def test_row_7_rollback_naming_a_keeps_a_b_the_stack_s_first_life_retained(
    world: World,
) -> None:
    """The stack deleted and created again under its name (ownership is by stack *name*
    and logical id, so the new stack "owns" what the first one kept): the first stack
    kept its model B (DeletionPolicy Retain); the new one trains A; an update to B's
    configuration under DESTROY fails in on_event (ListTrainedModels refused once), and
    the rollback names A.

    Events: stack 1: Create(B, RETAIN) -> B; stack delete: Delete(B) skipped (Retain).
    Stack 2, same name: Create(A) -> A; Update(B props, DESTROY, old=A, A) -> FAILED in
    on_event (B untouched); UPDATE_ROLLBACK: Update(props=A, old=B, A).

    Expected: B, kept by the first stack's RETAIN and never touched by the failed
    update, is left ACTIVE (another stack may train incrementally from it or run
    inference with it).
    """
    cfn = world.cfn()
    b_keep = model_props("20", **RETAIN)
    a_props = model_props("10")
    b_destroy = model_props("20")
    b = cfn.create(b_keep)
    assert b.ok, b.reason
    cfn.recreate_stack()  # the stack's Delete skips B (DeletionPolicy Retain)
    a = cfn.create(a_props)
    assert a.ok, a.reason
    assert a.physical_id != b.physical_id
    world.emulator.inject_fault("ListTrainedModels", "AccessDeniedException", count=1)
    failed = cfn.update(b_destroy, old=a_props, physical_id=a.physical_id)
    assert not failed.ok
    back = cfn.update(a_props, old=b_destroy, physical_id=a.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    world.settle(600)
    statuses = _statuses(world, MODEL)
    assert statuses[b.physical_id] == "ACTIVE", (
        f"the first stack's retained B ended {statuses[b.physical_id]}"
    )


def test_late_duplicate_of_a_row_7_rollback_keeps_the_b_a_later_deploy_made(
    world: World,
) -> None:
    """Row 10 (any event delivered twice: same RequestId, the first one's effect, not a
    second one) for a row 7 rollback naming A: the duplicate (a Lambda async retry of
    the framework's onEvent, or an at-least-once redelivery) arrives after the stack
    moved on, when a later deploy of B's configuration succeeded.

    Events: Create(A, RETAIN) -> A; Update(B props, DESTROY, 30 s, old=A, A) -> FAILED
    "timed out"; UPDATE_ROLLBACK: Update(props=A, old=B, A) [RequestId R] -> A, B1
    cancelled; deploy again: Update(B props, DESTROY, old=A, A) -> B2 (cleanup Delete(A)
    skipped: Retain); the duplicate of R: Update(props=A, old=B, A).

    Expected: the duplicate has the first delivery's effect (B1 stopped, already done);
    B2, the stack's current model, stays ACTIVE ("never delete what the stack still
    uses").
    """
    cfn = world.cfn()
    a_props = model_props("10", **RETAIN)
    b_timeout = model_props("20", **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    b_props = model_props("20")
    a = cfn.create(a_props)
    assert a.ok, a.reason
    failed = cfn.update(b_timeout, old=a_props, physical_id=a.physical_id)
    assert not failed.ok
    rollback = "5f0c8a7e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
    back = cfn.update(a_props, old=b_timeout, physical_id=a.physical_id, request_id=rollback)
    assert back.ok, back.reason
    world.settle(600)
    b2 = cfn.update(b_props, old=a_props, physical_id=a.physical_id)
    assert b2.ok, b2.reason
    assert _statuses(world, MODEL)[b2.physical_id] == "ACTIVE"
    duplicate = cfn.update(a_props, old=b_timeout, physical_id=a.physical_id, request_id=rollback)
    assert duplicate.ok, duplicate.reason
    world.settle(600)
    status = _statuses(world, MODEL)[b2.physical_id]
    assert status == "ACTIVE", f"the stack's current model B2 ended {status}"


@pytest.mark.parametrize("policy", ["destroy", "retain"])
def test_row_7_a_replacement_that_finished_before_the_rollback_came_is_stopped_under_destroy(
    world: World, policy: str
) -> None:
    """Row 7 naming A, the cancelled update's B having *finished* (ACTIVE) between the
    waiter's polls, long after its creation: a sibling failed, CloudFormation cancelled
    the update (it never held B's id) and rolls back with Update(props=A, old=B, A).

    Expected: under DESTROY B is stopped (its output deleted: it is what the update
    being rolled back made, as its ownership tag's operation mark says), under RETAIN
    kept; A is returned and nothing trains.
    """
    cfn = world.cfn()
    a_props = model_props("10", **{contract.REMOVAL_POLICY: policy})
    b_props = model_props("20", **{contract.REMOVAL_POLICY: policy})
    with_operation = "UPDATE_IN_PROGRESS@2026-12-01T10:00:00+00:00"
    OPERATIONS[cfn.stack_id] = with_operation
    a = cfn.create(a_props)
    assert a.ok, a.reason
    flight = cfn.framework.start(
        cfn.event("Update", b_props, physical_id=a.physical_id, old=a_props)
    )
    assert flight.poll() is None  # B is created, training
    world.settle(600)  # B finishes between polls, long after the poll's young looks
    (b,) = [m for m in world.emulator.snapshot(MODEL) if m["arn"] not in a.physical_id]
    assert b["status"] == "ACTIVE"
    OPERATIONS[cfn.stack_id] = with_operation.replace("UPDATE_IN", "UPDATE_ROLLBACK_IN")
    back = cfn.update(a_props, old=b_props, physical_id=a.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    world.settle(600)
    statuses = _statuses(world, MODEL)
    assert statuses[a.physical_id] == "ACTIVE"
    assert statuses[b["arn"]] == ("INACTIVE" if policy == "destroy" else "ACTIVE")
    assert len(statuses) == 2
