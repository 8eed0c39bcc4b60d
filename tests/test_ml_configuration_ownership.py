"""Which resource of a stack holds a membership's one ML configuration: a Delete under
DESTROY deletes it only when no other resource of its stack holds it now (asking
CloudFormation's ``ListStackResources``, every page), and never on a guess.

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
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from emulated import (
    CONFIG_ROLE,
    EPOCH,
    M,
    World,
    serve,
)

import aws_client
import contract
import engine
import index
from cdk_cleanrooms_ml.local.emulator import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> World:
    return World.on(monkeypatch, server)


REAL_STACK_RESOURCES = index._stack_resources  # before conftest replaces it for each test


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
