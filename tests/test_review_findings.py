"""Review findings: event sequences an adversarial review found the handler got wrong.

Every test here failed before its fix (the docstrings say what happened instead).

Same stand-ins as ``test_lifecycle_cases.py``: the handler's real entry points
(``index.on_event`` / ``index.is_complete``), the Provider framework's behaviour
around them (``cfn.Framework``), and the Clean Rooms ML emulator over HTTP on a
virtual clock. Each test's docstring gives the event sequence, what
``shared/reference/cloudformation-event-sequences.md`` and the library's promise
require, and what happens instead.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from emulated import (
    ASSOCIATION,
    CHANNEL_ROLE,
    CONFIG_ROLE,
    EPOCH,
    PREFIX,
    M,
    World,
    client_for,
    model_props,
    serve,
)

import aws_client
import contract
import engine
import index
import long_wait
import ownership
from cdk_cleanrooms_ml.local.emulator import EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import CHANNEL
from helpers import handler_properties
from trained_models import KIND as MODELS

REAL_STACK_RESOURCES = index._stack_resources  # before conftest replaces it for each test


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


# --- 1. ML configuration: adopted by one resource, deleted by another -------------------


def _config_props(uri: str = "s3://bucket/a/") -> dict[str, Any]:
    return {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.OUTPUT_S3_URI: uri,
        contract.ROLE_ARN: CONFIG_ROLE,
        contract.REMOVAL_POLICY: "destroy",
    }


def test_ml_configuration_adopted_by_a_renamed_construct_survives_the_old_ones_cleanup(
    world: World,
) -> None:
    """A construct renamed (its logical id changes from ConfigX to ConfigY), DESTROY.

    Events: Create(ConfigX) -> puts M's configuration (ml-configuration:M); next deploy
    (the construct renamed): Create(ConfigY, same props) then, in UPDATE_COMPLETE_CLEANUP,
    Delete(ConfigX, ml-configuration:M).

    Expected: the stack ends with ConfigY deployed, so membership M keeps its ML
    configuration (nothing the stack says exists is gone; DESTROY deletes only what the
    deleted resource owns).

    Instead: ConfigY's Create adopts the existing configuration because its content
    matches (ml_configurations.py ``_put_or_adopt``), and ConfigX's Delete deletes it
    because its content still matches (ml_configurations.py ``on_delete``): nothing
    records which resource owns it, so the membership is left without an ML
    configuration while the stack reports ConfigY as created. The same happens when a
    configuration that existed before the stack (put by hand, or by another stack) is
    adopted by a Create and the stack is rolled back or deleted.
    """
    old = world.cfn(contract.ML_CONFIGURATION_RESOURCE_TYPE, "ConfigX")
    new = world.cfn(contract.ML_CONFIGURATION_RESOURCE_TYPE, "ConfigY")
    a = old.create(_config_props())
    assert a.ok, a.reason
    b = new.create(_config_props())  # the renamed construct, same configuration
    assert b.ok, b.reason
    cleanup = old.delete(_config_props(), physical_id=a.physical_id)
    assert cleanup.ok, cleanup.reason
    assert M in world.emulator.configurations(), (
        "ConfigY is deployed but its membership's ML configuration was deleted by ConfigX's cleanup"
    )


def test_a_rolled_back_create_of_a_renamed_ml_configuration_leaves_it_to_the_old_one(
    world: World,
) -> None:
    """The rename's Create(ConfigY) adopts M's configuration, a later resource fails,
    and UPDATE_ROLLBACK deletes ConfigY (DESTROY) while ConfigX still holds it."""
    old = world.cfn(contract.ML_CONFIGURATION_RESOURCE_TYPE, "ConfigX")
    new = world.cfn(contract.ML_CONFIGURATION_RESOURCE_TYPE, "ConfigY")
    a = old.create(_config_props())
    b = new.create(_config_props())
    assert a.ok, a.reason
    assert b.ok, b.reason
    rollback = new.delete(_config_props(), physical_id=b.physical_id)
    assert rollback.ok, rollback.reason
    assert M in world.emulator.configurations()
    # and once ConfigX is the only one, deleting the stack deletes it (DESTROY)
    assert old.delete(_config_props(), physical_id=a.physical_id).ok
    assert M not in world.emulator.configurations()


def test_an_ml_configuration_delete_that_cannot_list_the_stack_fails_with_the_reason(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never delete on a guess: without CloudFormation's answer the Delete fails, saying
    why (and the configuration stays)."""
    cfn = world.cfn(contract.ML_CONFIGURATION_RESOURCE_TYPE, "Config")
    a = cfn.create(_config_props())
    assert a.ok, a.reason

    def denied(stack_id: str) -> list[engine.StackResource]:
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, "ListStackResources"
        )

    monkeypatch.setattr(index, "_stack_resources", denied)
    gone = cfn.delete(_config_props(), physical_id=a.physical_id)
    assert not gone.ok
    assert "listing the resources of stack" in gone.reason, gone.reason
    assert "AccessDenied" in gone.reason, gone.reason
    assert M in world.emulator.configurations()


def test_the_stacks_resources_are_listed_page_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """``index._stack_resources`` (the real one, which conftest replaces elsewhere):
    ``ListStackResources`` through botocore's paginator, every page."""
    client = aws_client.make_client("cloudformation")
    monkeypatch.setattr(index, "_cloudformation", client)
    stack_id = "arn:aws:cloudformation:us-east-1:111122223333:stack/S/5f2e0e40-0000-0000-0000-0"
    row = {"ResourceType": "Custom::CleanRoomsMLConfiguration", "LastUpdatedTimestamp": EPOCH}
    with Stubber(client) as stubber:
        stubber.add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    dict(row, LogicalResourceId="X", PhysicalResourceId="p", ResourceStatus="A")
                ],
                "NextToken": "more",
            },
            {"StackName": stack_id},
        )
        stubber.add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    dict(row, LogicalResourceId="Y", PhysicalResourceId="q", ResourceStatus="B")
                ]
            },
            {"StackName": stack_id, "NextToken": "more"},
        )
        listed = REAL_STACK_RESOURCES(stack_id)
        stubber.assert_no_pending_responses()
    assert listed == [
        engine.StackResource("X", "p", "A"),
        engine.StackResource("Y", "q", "B"),
    ]


# --- 2. ML input channel: a query that fails after the Delete started --------------------


def _channel_props() -> dict[str, Any]:
    return {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.NAME: "fixed-channel",
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: ASSOCIATION,
        contract.QUERY_STRING: "SELECT * FROM t",
        contract.ROLE_ARN: CHANNEL_ROLE,
        contract.RETENTION_IN_DAYS: "7",
        contract.REMOVAL_POLICY: "destroy",
        contract.WAIT_FOR_COMPLETION: "false",
    }


def test_destroy_deletes_a_channel_whose_query_fails_while_the_delete_waits(world: World) -> None:
    """Row 3 (first deploy, a later resource fails) for an ML input channel, DESTROY,
    fixed name, wait_for_completion=False; then ``cdk deploy`` again.

    Events: Create(new) -> returns A while its protected query still runs; stack
    rollback: Delete(A) arrives while A is CREATE_IN_PROGRESS (no cancel exists for a
    channel: the poll waits); the query then fails (CREATE_FAILED). The stack is deleted
    and created again under its name: Create(same props).

    Expected (row 2b's rule for a channel under DESTROY, which test_event_sequences
    asserts: a CREATE_FAILED channel ends INACTIVE): DESTROY deletes A, so it frees its
    fixed name and the second deploy succeeds.

    Instead: ml_input_channels.py ``delete_step`` only deletes a CREATE_FAILED channel
    on the Delete event's own step (``once = first and ...``); in a later poll
    (``first`` False) a CREATE_FAILED channel is ``Step.DONE`` without any call. The
    Delete reports success, A stays CREATE_FAILED holding "fixed-channel", and the
    redeploy fails with a name conflict.
    """
    cfn = world.cfn(contract.ML_INPUT_CHANNEL_RESOURCE_TYPE)
    world.emulator.fail_next_creation(CHANNEL, "QueryFailed: the protected query failed")
    a = cfn.create(_channel_props())
    assert a.ok, a.reason
    rollback = cfn.delete(_channel_props(), physical_id=a.physical_id)
    assert rollback.ok, rollback.reason
    world.settle(600)
    cfn.recreate_stack()
    again = cfn.create(_channel_props())
    (first, *_) = world.emulator.snapshot(CHANNEL)
    assert again.ok, f"{again.reason} (the first channel is {first['status']})"


# --- 3. A service message with a lone surrogate -------------------------------------------


def test_a_failure_message_with_a_lone_surrogate_keeps_the_services_reason(world: World) -> None:
    """Row 2b (first deploy, the training fails), the service's statusDetails.message
    ending in half of a UTF-16 surrogate pair (a Java service that cut an emoji at a
    char boundary sends it JSON-escaped, ``"\\ud83d"``; botocore decodes it as a lone
    surrogate).

    Expected: FAILED with the training's reason ("AlgorithmError: loss diverged ..."),
    bounded to 4 KB.

    Instead: faults.py ``_json_size`` (used by ``bounded``, called by every
    ``HandlerError``) encodes the text with ``.encode("utf-8")``, which raises
    ``UnicodeEncodeError`` on a lone surrogate; index.py ``_run`` turns that into the
    reason, so CloudFormation shows "'utf-8' codec can't encode character '\\ud83d' ..."
    and the user never sees why the training failed. Any service text reaching a
    reason (``faults.explain``, ``kinds.details``) has the same problem.
    """
    world.emulator.fail_next_training("AlgorithmError: loss diverged \ud83d")
    a = world.cfn().create(handler_properties(**{contract.REMOVAL_POLICY: "destroy"}))
    assert a.status == "FAILED"
    assert "loss diverged" in a.reason, a.reason


# --- 4. A secret cut in half by the bound before the redaction ----------------------------


def test_a_long_transient_message_never_shows_part_of_a_secret(
    world: World, monkeypatch: pytest.MonkeyPatch, server: EmulatorServer
) -> None:
    """First deploy, every CreateTrainedModel throttled until the completion timeout,
    with a long service message that echoes the request's hyperparameter values.

    Events: Create(new) -> pending id; each poll's create is throttled (not yet) until
    CompletionTimeoutSeconds (30 s) pass -> FAILED "timed out ... the last look failed
    (ThrottlingException: <message>)".

    Expected: no part of a hyperparameter value appears in the reason (the promise:
    secrets never appear in logs or reasons).

    Instead: engine/__init__.py ``_paused`` builds the reason from the unredacted service
    message (``faults.describe(pause.cause)``) and ``HandlerError.__init__``
    (faults.py) bounds it at once, cutting it in the middle; index.py ``_run`` redacts
    only afterwards, when the value cut at " [...] " no longer matches: its first half
    is left in the reason (and in the "failed" log line). Bounding must come after
    redacting.
    """
    secret = "tok-0123456789abcdefghijklmnopqrstuvwxyz"
    # one attempt per call: the throttling is not retried in real time by botocore
    monkeypatch.setattr(index, "_client", client_for(server, 1))
    props = handler_properties(
        **{
            contract.HYPERPARAMETERS: {"api_token": secret},
            contract.COMPLETION_TIMEOUT_SECONDS: "30",
            contract.REMOVAL_POLICY: "destroy",
        }
    )
    world.emulator.inject_fault(
        "CreateTrainedModel",
        "ThrottlingException",
        count=1000,
        message="rate exceeded for request " + f"api_token={secret}; " * 100,
    )
    a = world.cfn().create(props)
    assert a.status == "FAILED"
    assert "timed out" in a.reason, a.reason
    leaked = [secret[:n] for n in range(8, len(secret)) if secret[:n] in a.reason]
    assert not leaked, f"part of the secret in the reason: {leaked[-1]!r}"


# --- 5. The long path's last word: a give-up whose signal meets a transient error --------

HANDLE_URL = "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/SECRET-HANDLE"


def test_the_waiters_give_up_signal_is_sent_even_when_the_handle_fails_once() -> None:
    """Long path: the waiter's Poll kept failing (a bug, a Lambda timeout), so the state
    machine's Catch hands the state to GiveUp (retried by Step Functions on any error,
    3 attempts) and then ends in the Fail state ``PollingFailed``.

    GiveUp's FAILURE signal meets a transient error from the handle (S3 503 Slow Down,
    which long_wait treats as retryable everywhere else).

    Expected (long_wait's promise: "the WaitCondition is always told"; the spec: no
    stack left waiting): the FAILURE signal is sent again until it is delivered, here
    by GiveUp raising so that Step Functions retries it.

    Instead: long_wait.py ``give_up`` goes through ``_send``, which on a transient
    OSError returns a not-done state (meant for ``poll``'s loop) instead of raising;
    GiveUp therefore succeeds, the machine goes straight to ``PollingFailed``, the
    signal is never sent, and the stack waits out the WaitCondition's timeout (up to
    12 hours) before it can roll back.
    """
    sent: list[str] = []
    failures = [urllib.error.HTTPError(HANDLE_URL, 503, "Slow Down", {}, None)]  # type: ignore[arg-type]

    def handle(url: str, status: str, reason: str, data: str) -> None:
        if failures:
            raise failures.pop()
        sent.append(status)

    ref = ownership.Ref(f"{PREFIX}/trained-model/m", None, M)
    state = long_wait.waiter_input(MODELS.resource_type, ref, "m", HANDLE_URL, 0.0, 7200)
    state["failure"] = {"Error": "Lambda.Unknown", "Cause": "Task timed out"}
    # Step Functions: GiveUp, retried on any error (3 retries), then PollingFailed
    for attempt in range(4):
        try:
            long_wait.give_up(state, 100.0 + 30 * attempt, send=handle)
        except Exception:
            continue
        break
    assert sent == ["FAILURE"], "the WaitCondition was never told: the stack waits it out"


# --- 6. Row 7 after a timeout, the rollback naming A: the replacement trains on ----------


def test_row_7_timeout_with_rollback_naming_a_does_not_leave_b_training(world: World) -> None:
    """Row 7 (replacing update, *this* resource times out), DESTROY, the rollback
    naming A (the spec allows B or A as its PhysicalResourceId).

    Events: Create(A) -> A (ACTIVE); Update(B props, old=A, A) -> pending:B, B's training
    outlasts CompletionTimeoutSeconds (30 s) -> FAILED "timed out ... it will be
    cancelled (removal policy destroy)"; UPDATE_ROLLBACK: Update(props=A, old=B, A). No
    Delete(B) follows: CloudFormation never held B's id.

    Expected: the rollback returns A and trains nothing (it does), and nothing is
    orphaned: B, still training, is cancelled as the FAILED reason promised.

    Instead: engine/update.py ``on_update`` finds A fits (``_fits``) and answers in
    place; nothing ever looks for B (ours, the old properties' identity, created by the
    failed request), so B trains to completion and stays ACTIVE: a whole training paid
    for and kept, that no stack owns any more, contrary to the reason's "it will be
    cancelled". (A *failed* B left CREATE_FAILED in this variant is accepted by
    test_event_sequences; a B still training is not the same thing.)
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
