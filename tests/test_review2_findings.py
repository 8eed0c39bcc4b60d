"""Review 2 findings: event sequences the fixes of e845daf..1020ed0 still got wrong.

Every test here failed against 1020ed0 and passes since its fix. (The review's fourth
finding, an ML configuration moved into another stack, a nested one included, in one
deploy, is a documented limitation: see the README's MLConfiguration section.)

Same stand-ins as ``test_review_findings.py``: the handler's real entry points
(``index.on_event`` / ``index.is_complete``), the Provider framework's behaviour
around them (``cfn.Framework``), the in-process CloudFormation
(``cfn.CloudFormation``, ``cfn.STACKS``) and the Clean Rooms ML emulator over HTTP on
a virtual clock. Each docstring gives the event sequence, what
``shared/reference/cloudformation-event-sequences.md`` and the library's promise
require, and what happened instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulated import (
    World,
    channel_props,
    model_props,
    serve,
)

import contract
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


# --- 1. The rollback's stop of the abandoned replacement can fail the rollback -----------


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

    Instead: engine/update.py ``_stop_abandoned`` (update.py:96) calls
    ``call.kind.delete_step`` through ``call.api`` with no handling of its errors, so the
    ConflictException propagates out of ``on_update``: the rollback Update is FAILED and
    the stack ends UPDATE_ROLLBACK_FAILED (only ContinueUpdateRollback with the resource
    skipped gets it out), although A is ACTIVE and was the right answer.
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


# --- 2. Row 7 with the rollback naming A, for an ML input channel: B is orphaned ---------


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

    Instead: ``_stop_abandoned`` (engine/update.py:96) calls
    ``ml_input_channels.delete_step`` once; for a CREATE_IN_PROGRESS channel that is
    ``Step.WAIT`` with no call (ml_input_channels.py:111) and nothing ever looks again:
    B's query finishes, B stays ACTIVE with its data (retention 7 days of a query's
    output that no stack owns) — "deleted if CloudFormation deletes it" never happens.
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


# --- 3. A failed training whose output delete is accepted but changes nothing ------------


def test_destroy_of_a_failed_training_the_service_keeps_create_failed_does_not_hang(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 2b (first deploy, the training fails), DESTROY: the rollback's Delete(A) of a
    CREATE_FAILED model, with a service that answers DeleteTrainedModelOutput 200 for a
    failed training that stored nothing and leaves it CREATE_FAILED (an idempotent
    no-op delete; the guard test 72ded8b removed — "a service that keeps CREATE_FAILED
    cannot loop" — covered exactly this).

    Expected: the Delete completes (no stack left waiting; before 72ded8b a
    CREATE_FAILED model after the first step was ``Step.DONE``).

    Instead: trained_models.py ``delete_step`` (trained_models.py:125) deletes the output
    of a CREATE_FAILED model at *every* step and answers ``Step.WAIT``; the model never
    leaves CREATE_FAILED, so every 10 s poll calls DeleteTrainedModelOutput again until
    the Provider framework's totalTimeout: the stack's rollback (or delete) is
    DELETE_FAILED, and every retry of it hangs the same way. The loop guard now rests
    only on ASSUMPTION A6's unverified guess that the repeated call is refused with
    Conflict/Validation. The same holds for ml_input_channels.py:116.
    """
    original = Emulator._op_DeleteTrainedModelOutput

    def no_op_for_failed(self: Emulator, params: dict[str, Any]) -> dict[str, Any]:
        _model, _now, status = self._target(params)
        if status == "CREATE_FAILED":
            return {}  # nothing stored: accepted, nothing changes
        return original(self, params)

    monkeypatch.setattr(Emulator, "_op_DeleteTrainedModelOutput", no_op_for_failed)
    cfn = world.cfn()
    world.emulator.fail_next_training("AlgorithmError: training failed")
    props = model_props("10")
    a = cfn.create(props)
    assert a.status == "FAILED"
    gone = cfn.delete(props, physical_id=a.physical_id)
    deletes = world.emulator.calls.count("DeleteTrainedModelOutput")
    assert gone.ok, f"{gone.reason} after {gone.polls} polls and {deletes} output deletes"


# --- 5. Row 7 naming A when only the name changed: B trains on -------------------------


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

    Expected: as for any other row 7 naming A (1020ed0's fix,
    test_review_findings.test_row_7_timeout_with_rollback_naming_a_does_not_leave_b_training):
    A is returned and B, still training, is cancelled, as the reason promised.

    Instead: engine/update.py ``_stop_abandoned`` returns at once when the current
    resource has the old properties' identity (``has_identity(current, previous)``,
    update.py:87); the identity digest has no name in it, so a rename-only replacement
    looks like "nothing abandoned": B trains to completion and stays ACTIVE, owned by no
    stack, contrary to the FAILED reason.
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
