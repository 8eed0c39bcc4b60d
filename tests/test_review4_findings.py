"""Review 4 findings: event sequences e6d8959's rollback stop still got wrong.

Every test here failed against e6d8959 and passes since its fix (the rollback stops
only a replacement made after the original that is still being created or failed, and
a throttled delete of a failed resource is asked again).

Same stand-ins as ``test_review3_findings.py``: the handler's real entry points
(``index.on_event`` / ``index.is_complete``), the Provider framework's behaviour around
them (``cfn.Framework``), the in-process CloudFormation and the Clean Rooms ML emulator
over HTTP on a virtual clock. Each docstring gives the event sequence, what
``shared/reference/cloudformation-event-sequences.md`` and the library's promise
require, and what happened instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulated import World, channel_props, client_for, model_props, serve

import contract
import index
from cdk_cleanrooms_ml.local.emulator import EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL, MODEL

RETAIN = {contract.REMOVAL_POLICY: contract.REMOVAL_POLICY_RETAIN}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


def _statuses(world: World, kind: str) -> dict[str, str]:
    return {m["arn"]: m["status"] for m in world.emulator.snapshot(kind)}


# --- 1. Row 7 naming A deletes a retained B the failed update never touched ------------


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

    Instead: engine/update.py ``_stop_abandoned`` (update.py:99-104) now takes *every*
    ACTIVE model of this logical resource with the old properties' identity and name as
    "the replacement that failed" (nothing ties it to the failed request: the tag's
    request digest is not compared, nor its creation time) and deletes its output under
    the failed update's DESTROY: the retained B is destroyed by a rollback.
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

    Instead: ``_stop_abandoned`` (engine/update.py:99-104) deletes B's output: every
    ACTIVE model of "this" logical resource with the old identity and name is taken for
    the failed update's replacement.
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


# --- 2. A failed resource's one ask is marked before it is made ------------------------


def test_delete_of_a_channel_whose_query_fails_survives_a_throttled_ask(
    world: World, monkeypatch: pytest.MonkeyPatch, server: EmulatorServer
) -> None:
    """Row 2b for an ML input channel, DESTROY: the Create times out (30 s) while the
    query runs; the rollback's Delete(A) waits for the query, which then fails
    (CREATE_FAILED); the poll's DeleteMlInputChannelData is throttled (past the client's
    retries: one attempt here), which the Delete's poll takes as "look again at the next
    poll" (engine/delete.py ``_delete_step``).

    Events: Create(A) -> FAILED "timed out"; Delete(A) -> waits -> A CREATE_FAILED ->
    DeleteMlInputChannelData: ThrottlingException -> next poll.

    Expected: the throttled call is made again at a later poll (nothing was asked yet),
    and the Delete follows the deletion: A ends INACTIVE, its data and name freed.

    Instead: ``kinds.ask_to_delete_failed`` (kinds.py:122-125) records the ARN as
    "asked" *before* the call is made, whether or not it succeeds; at the next poll the
    channel is still CREATE_FAILED, "asked already", so ml_input_channels.py
    ``delete_step`` (ml_input_channels.py:115-116) answers Step.DONE: the Delete reports
    SUCCESS, the channel keeps its data and its name, owned by no stack. The same holds
    for a trained model (trained_models.py:124-125) and for the rollback's stop of a
    failed B (stop_step takes the throttle as "try again", the poll then finds it
    "asked").
    """
    monkeypatch.setattr(index, "_client", client_for(server, 1))
    cfn = world.cfn(contract.ML_INPUT_CHANNEL_RESOURCE_TYPE)
    props = channel_props("SELECT a FROM t", **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    world.emulator.fail_next_creation(CHANNEL, "QueryFailed: the protected query failed")
    world.emulator.inject_fault("DeleteMLInputChannelData", "ThrottlingException", count=1)
    a = cfn.create(props)
    assert not a.ok
    assert "timed out" in a.reason, a.reason
    gone = cfn.delete(props, physical_id=a.physical_id)
    assert world.emulator.calls.count("DeleteMLInputChannelData") >= 1
    world.settle(600)
    [status] = _statuses(world, CHANNEL).values()
    assert gone.ok, gone.reason
    assert status == "INACTIVE", (
        f"the Delete reported SUCCESS after {gone.polls} polls with the channel {status}: "
        "its one (throttled) deletion never happened and nothing asks again"
    )


# --- 3. A late duplicate of the rollback deletes the model the stack moved on to --------


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

    Instead: ``_stop_abandoned`` (engine/update.py:99-104) matches any ACTIVE model of
    this logical resource with B's identity and name, and B2 is one: its output is
    deleted while the stack holds it (before e6d8959 only a B2 still training was at
    risk; now a finished one is too). Nothing checks that the stack no longer holds A or
    that the candidate was made before the rollback's request.
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
