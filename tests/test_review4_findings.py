"""Review 4 findings: event sequences e6d8959's rollback stop still gets wrong.

Same stand-ins as ``test_review3_findings.py``: the handler's real entry points
(``index.on_event`` / ``index.is_complete``), the Provider framework's behaviour around
them (``cfn.Framework``), the in-process CloudFormation and the Clean Rooms ML emulator
over HTTP on a virtual clock. Each docstring gives the event sequence, what
``shared/reference/cloudformation-event-sequences.md`` and the library's promise
require, and what happens instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cfn import Framework
from test_review2_findings import World, _channel_props, _client, _model_props

import aws_client
import contract
import engine
import index
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer, start_server
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL, MODEL, Timings

EPOCH = 1_800_000_000.0
RETAIN = {contract.REMOVAL_POLICY: contract.REMOVAL_POLICY_RETAIN}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    running = start_server(Emulator())
    yield running
    running.stop()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    """As ``test_review2_findings.world``."""
    emulator = Emulator(
        timings=Timings(pending_seconds=5, training_seconds=60, transition_seconds=5)
    )
    server.emulator = emulator
    monkeypatch.setattr(index, "_client", _client(monkeypatch, server, aws_client.TOTAL_ATTEMPTS))
    monkeypatch.setattr(index, "clock", lambda: EPOCH + emulator.clock.now())
    monkeypatch.setattr(index, "sleep", emulator.clock.advance)
    engine.RESOLVED.clear()
    return World(emulator, Framework(advance=emulator.clock.advance))


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
    b_keep = _model_props("20", **RETAIN)
    a_props = _model_props("10", **RETAIN)
    b_destroy = _model_props("20")
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
