"""Review 3 findings: event sequences 1020ed0..486c856's rollback stop still got wrong.

Every test here failed against 486c856 and passes since its fix. Four more findings are
documented limitations, not tests: a replacement that finished (a model trained, a
channel's query ended) before the rollback naming the original reached it is left, as
the fourth review showed it cannot be told from a retained one (RETAIN keeps); a
channel's query that outlasts the rollback's hour is left (logged); and the local-only
``queryIntervalSeconds`` at 200-600 s can make the rollback's give-up answer after
CloudFormation's hour.

Same stand-ins as ``test_review2_findings.py``: the handler's real entry points
(``index.on_event`` / ``index.is_complete``), the Provider framework's behaviour around
them (``cfn.Framework``), the in-process CloudFormation and the Clean Rooms ML emulator
over HTTP on a virtual clock. Each docstring gives the event sequence, what
``shared/reference/cloudformation-event-sequences.md`` and the library's promise
require, and what happens instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulated import World, channel_props, serve

import contract
from cdk_cleanrooms_ml.local.emulator import EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


def _others(world: World, kind: str, keep: str) -> dict[str, str]:
    found = {m["arn"]: m["status"] for m in world.emulator.snapshot(kind)}
    assert found.pop(keep) == "ACTIVE"
    return found


# --- 1. Row 7 naming A: a B that ended before the rollback reached it is orphaned -------


# --- 2. A failed resource's Delete reports success before its deletion has happened -----


def test_delete_of_a_channel_whose_query_fails_while_it_waits_reports_a_failed_deletion(
    world: World,
) -> None:
    """Row 2b for an ML input channel, DESTROY: the Create times out (30 s) while the
    query runs, so the rollback's Delete(A) waits for the query; the query then fails
    (CREATE_FAILED) and the deletion of its data, accepted, ends DELETE_FAILED.

    Events: Create(A) -> A -> FAILED "timed out ..."; Delete(A) -> waits (the query
    cannot be stopped) -> A CREATE_FAILED -> DeleteMlInputChannelData accepted -> A
    DELETE_PENDING -> DELETE_FAILED.

    Expected: as for every other deletion the handler starts (a READY one, or a
    CREATE_FAILED one seen by the Delete's first step, and as here before 486c856): the
    Delete follows it to INACTIVE and fails with the service's reason when it ends
    DELETE_FAILED, so the stack event says the channel (and its data, holding its name,
    ASSUMPTION A1) was left behind and a retried delete tries again.

    Instead: ml_input_channels.py ``delete_step`` (ml_input_channels.py:132) answers
    ``Step.DONE`` as soon as the call for a CREATE_FAILED channel seen after the first
    step is *accepted*: the Delete reports SUCCESS while the deletion is still pending,
    the DELETE_FAILED that follows is never seen, and the channel stays with its data,
    owned by no stack (the same holds for trained_models.py:141). Review 2's loop guard
    needed "one call", not "done before the call's effect is seen".
    """
    cfn = world.cfn(contract.ML_INPUT_CHANNEL_RESOURCE_TYPE)
    props = channel_props("SELECT a FROM t", **{contract.COMPLETION_TIMEOUT_SECONDS: "30"})
    world.emulator.fail_next_creation(CHANNEL, "QueryFailed: the protected query failed")
    world.emulator.fail_next_delete("the channel's data could not be deleted")
    a = cfn.create(props)
    assert not a.ok
    assert "timed out" in a.reason, a.reason
    gone = cfn.delete(props, physical_id=a.physical_id)
    world.settle(600)
    status = next(c["status"] for c in world.emulator.snapshot(CHANNEL))
    assert status == "DELETE_FAILED"  # the service's side of the story
    assert not gone.ok, (
        "the Delete reported SUCCESS although the channel's deletion ended DELETE_FAILED: "
        "the channel and its data are left, and CloudFormation no longer knows them"
    )
