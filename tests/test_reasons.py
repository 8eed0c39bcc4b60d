"""A failure's reason keeps the service's words and never a secret: lone surrogates
become U+FFFD, and secrets are redacted before the reason is bounded.

Through the handler's real entry points (``index.on_event`` / ``index.is_complete``), the
Provider framework's behaviour around them (``cfn.Framework``), the in-process
CloudFormation and the Clean Rooms ML emulator over HTTP on a virtual clock
(``emulated``). Each docstring gives the event sequence and what
``shared/reference/cloudformation-event-sequences.md`` and the library's promise
require.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulated import (
    World,
    client_for,
    serve,
)

import contract
import index
from cdk_cleanrooms_ml.local.emulator import EmulatorServer
from helpers import handler_properties


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


def test_a_failure_message_with_a_lone_surrogate_keeps_the_services_reason(world: World) -> None:
    """Row 2b (first deploy, the training fails), the service's statusDetails.message
    ending in half of a UTF-16 surrogate pair (a Java service that cut an emoji at a
    char boundary sends it JSON-escaped, ``"\\ud83d"``; botocore decodes it as a lone
    surrogate).

    Expected: FAILED with the training's reason ("AlgorithmError: loss diverged ..."),
    bounded to 4 KB.
    """
    world.emulator.fail_next_training("AlgorithmError: loss diverged \ud83d")
    a = world.cfn().create(handler_properties(**{contract.REMOVAL_POLICY: "destroy"}))
    assert a.status == "FAILED"
    assert "loss diverged" in a.reason, a.reason


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
