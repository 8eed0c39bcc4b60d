"""The engine and the trained model kind, call by call, with botocore's Stubber.

Requests and responses are validated against the cleanroomsml service model, and
every test ends with ``assert_no_pending_responses()`` (the ``stubbed`` fixture):
each test states exactly which API calls a step makes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import cfn
import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

import contract
import engine
import faults
import index
import ownership
import trained_models
from engine import ACTION_KEY, DEFERRED_STEP_KEY, STARTED_AT_KEY, TARGET_KEY
from faults import HandlerError
from helpers import (
    ASSOCIATION_ARN,
    CHANNEL_ARN,
    ERRORS,
    LOGICAL_ID,
    MEMBERSHIP,
    MODEL_ARN,
    MODEL_ARN_2,
    OTHER_MEMBERSHIP,
    STACK_ID,
    TIMESTAMP,
    VERSION,
    StubbedClient,
    event,
    handler_properties,
    model_description,
    summary,
    then_poll,
)

REQUEST_ID = "5e0d2c64-0000-4000-8000-000000000001"
NOW = 1_800_000_000.0
PREFIX = "Test-Model-85D470EB"
OTHER_STACK_SAME_NAME = STACK_ID.rsplit("/", 1)[0] + "/0a0a0a0a-1111-4222-8333-444444444444"
CONNECTION_ERRORS: list[Exception] = [
    EndpointConnectionError(endpoint_url="https://cleanrooms-ml.us-east-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://cleanrooms-ml.us-east-1.amazonaws.com"),
    ReadTimeoutError(endpoint_url="https://cleanrooms-ml.us-east-1.amazonaws.com"),
]


def generated(request_id: str = REQUEST_ID) -> str:
    return ownership.generated_name(PREFIX, STACK_ID, LOGICAL_ID, request_id)


def identity_of(props: dict[str, Any] | None = None) -> str:
    return trained_models.parse(props or handler_properties()).identity


def owner_tag(
    props: dict[str, Any] | None = None,
    request_id: str = REQUEST_ID,
    stack_id: str = STACK_ID,
    operation: str | None = None,
) -> str:
    return ownership.make_tag(stack_id, LOGICAL_ID, request_id, identity_of(props), operation)


def v1_tag(props: dict[str, Any] | None = None, request_id: str = REQUEST_ID) -> str:
    """The tag release 0.1.0 wrote: its owner is a digest of the stack *id*."""
    return ".".join(
        (
            "v1",
            ownership.digest(STACK_ID, LOGICAL_ID),
            ownership.request_digest(request_id),
            identity_of(props)[:16],
        )
    )


OWNED = {contract.RESERVED_TAG_KEY: owner_tag()}


def pending_id(name: str | None = None, request_id: str = REQUEST_ID) -> str:
    return ownership.Pending(
        MEMBERSHIP, ownership.request_digest(request_id), name or generated(request_id)
    ).physical_id


def create_request(
    name: str,
    props: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    request_id: str = REQUEST_ID,
    operation: str | None = None,
) -> dict[str, Any]:
    all_tags = dict(tags or {})
    all_tags[contract.RESERVED_TAG_KEY] = owner_tag(props, request_id, operation=operation)
    return {
        "membershipIdentifier": MEMBERSHIP,
        "name": name,
        "configuredModelAlgorithmAssociationArn": ASSOCIATION_ARN,
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 50},
        "dataChannels": [{"mlInputChannelArn": CHANNEL_ARN, "channelName": "train"}],
        "tags": all_tags,
    }


def call(
    stubbed: StubbedClient,
    raw: dict[str, Any],
    *,
    polling: bool,
    now: float = NOW,
    deadline: float | None = None,
    start_waiter: engine.WaiterStarter | None = None,
    sleeps: list[float] | None = None,
) -> engine.Call:
    clock = [now]

    def sleep(seconds: float) -> None:
        clock[0] += seconds
        if sleeps is not None:
            sleeps.append(seconds)

    return engine.Call(
        kind=trained_models.KIND,
        client=stubbed.client,
        event=engine.Event.from_dict(raw),
        now=now,
        polling=polling,
        deadline=deadline,
        start_waiter=start_waiter,
        clock=lambda: clock[0],
        sleep=sleep,
        secrets=trained_models.secret_values(raw.get("ResourceProperties") or {}),
    )


def on_event(stubbed: StubbedClient, raw: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return engine.on_event(call(stubbed, raw, polling=False, **kwargs))


def is_complete(
    stubbed: StubbedClient, raw: dict[str, Any], now: float = NOW + 10, **kwargs: Any
) -> dict[str, Any]:
    return engine.is_complete(call(stubbed, raw, polling=True, now=now, **kwargs))


@pytest.fixture(autouse=True)
def _fresh_container() -> None:
    """Each test a cold container: nothing resolved yet."""
    engine.RESOLVED.clear()


# --- create ----------------------------------------------------------------------


def test_create_asks_the_poll_to_create_which_starts_training_with_the_ownership_tag(
    stubbed: StubbedClient,
) -> None:
    raw = event("Create", request_id=REQUEST_ID)
    stubbed.list_models([])
    result = on_event(stubbed, raw)  # decides only: nothing is created yet
    assert result["PhysicalResourceId"] == pending_id()
    assert result[ACTION_KEY] == engine.CREATE
    assert result[STARTED_AT_KEY] == NOW
    poll = then_poll(raw, result)
    stubbed.list_models([])  # a cold container finds nothing created yet
    stubbed.create_model(arn=MODEL_ARN, expected=create_request(generated()))
    stubbed.get_model(model_description(name=generated(), status="CREATE_PENDING", tags=OWNED))
    assert is_complete(stubbed, poll) == {"IsComplete": False}
    stubbed.get_model(model_description(name=generated(), status="ACTIVE", tags=OWNED))
    done = is_complete(stubbed, poll, NOW + 20)  # the same container: no list
    assert done["IsComplete"] is True
    assert done["PhysicalResourceId"] == MODEL_ARN  # replaces the pending id
    assert done["Data"] == {
        "TrainedModelArn": MODEL_ARN,
        "TrainedModelName": generated(),
        "Status": "ACTIVE",
    }
    assert generated().startswith(f"{PREFIX}-")
    assert len(generated()) <= 63


def test_a_poll_in_a_cold_container_finds_the_model_its_request_created(
    stubbed: StubbedClient,
) -> None:
    poll = then_poll(
        event("Create", request_id=REQUEST_ID),
        {"PhysicalResourceId": pending_id(), ACTION_KEY: engine.CREATE, STARTED_AT_KEY: NOW},
    )
    stubbed.list_models([summary(name=generated())])
    stubbed.get_model(model_description(name=generated(), tags=OWNED))
    assert is_complete(stubbed, poll) == {"IsComplete": False}  # no second create


def test_generated_name_differs_per_request_and_is_stable_per_request() -> None:
    assert generated("a") == generated("a")
    assert generated("a") != generated("b")
    assert ownership.is_generated_from(generated("a"), PREFIX)
    assert not ownership.is_generated_from(f"{PREFIX}-x", PREFIX)


def test_create_with_a_fixed_name_and_user_tags_reports_the_version(
    stubbed: StubbedClient,
) -> None:
    props = handler_properties(
        **{contract.NAME_PREFIX: None, contract.NAME: "fixed", contract.TAGS: {"team": "ml"}}
    )
    raw = event("Create", props, request_id=REQUEST_ID)
    stubbed.list_models([])
    result = on_event(stubbed, raw)
    assert result["PhysicalResourceId"] == pending_id("fixed")
    stubbed.list_models([])
    stubbed.create_model(
        arn=MODEL_ARN, version=VERSION, expected=create_request("fixed", props, {"team": "ml"})
    )
    stubbed.get_model(
        model_description(name="fixed", status="ACTIVE", version=VERSION), version=VERSION
    )
    done = is_complete(stubbed, then_poll(raw, result))
    assert done["PhysicalResourceId"] == f"{MODEL_ARN}#{VERSION}"
    assert done["Data"]["VersionIdentifier"] == VERSION


@pytest.mark.parametrize("version", ["NULL", "", None])
def test_a_null_version_from_the_service_is_no_version(version: str | None) -> None:
    """The model forbids it (a version is 36 characters), but "NULL" is what the API
    documents for a base version: read as no version wherever it appears."""

    class Client:
        def create_trained_model(self, **request: Any) -> dict[str, Any]:
            return {"trainedModelArn": MODEL_ARN, "versionIdentifier": version}

    desired = trained_models.parse(handler_properties())
    ref = trained_models.KIND.create(Client(), desired, "n", {})  # type: ignore[arg-type]
    assert ref == ownership.Ref(MODEL_ARN, None, MEMBERSHIP)
    assert ref.physical_id == MODEL_ARN
    # a physical id release 0.1.0 could have made from such an answer is still ours
    assert trained_models.KIND.parse_physical_id(f"{MODEL_ARN}#NULL") == ref


def test_create_looks_through_every_page(stubbed: StubbedClient) -> None:
    stubbed.list_models([summary(arn=MODEL_ARN_2, name="other")], next_token="page2")
    stubbed.list_models([summary(arn=MODEL_ARN_2, name="another")], token="page2")
    assert on_event(stubbed, event("Create", request_id=REQUEST_ID))[ACTION_KEY] == engine.CREATE


def test_a_retried_create_adopts_the_model_its_first_delivery_created(
    stubbed: StubbedClient,
) -> None:
    stubbed.list_models([summary(name=generated())])
    stubbed.get_model(model_description(name=generated(), tags=OWNED))
    result = on_event(stubbed, event("Create", request_id=REQUEST_ID))
    assert result["PhysicalResourceId"] == MODEL_ARN  # no create: one training
    assert result[ACTION_KEY] == engine.WAIT


def test_a_model_kept_by_a_rolled_back_first_deploy_is_adopted_by_the_stack_created_again(
    stubbed: StubbedClient,
) -> None:
    """Same stack name and logical id, a new stack id, the same configuration."""
    earlier = ownership.generated_name(PREFIX, OTHER_STACK_SAME_NAME, LOGICAL_ID, "first-deploy")
    tags = {
        contract.RESERVED_TAG_KEY: owner_tag(
            request_id="first-deploy", stack_id=OTHER_STACK_SAME_NAME
        )
    }
    stubbed.list_models([summary(name=earlier, status="ACTIVE")])
    stubbed.get_model(model_description(name=earlier, status="ACTIVE", tags=tags))
    result = on_event(stubbed, event("Create", request_id=REQUEST_ID))
    assert result["PhysicalResourceId"] == MODEL_ARN


def test_a_model_of_release_0_1_0_is_recognised_as_ours(stubbed: StubbedClient) -> None:
    stubbed.list_models([summary(name=generated())])
    stubbed.get_model(
        model_description(name=generated(), tags={contract.RESERVED_TAG_KEY: v1_tag()})
    )
    # its v1 tag stays: release 0.1.0 (back after an upgrade's rollback) still owns it
    assert on_event(stubbed, event("Create", request_id=REQUEST_ID))["PhysicalResourceId"] == (
        MODEL_ARN
    )


def test_a_kept_model_with_another_configuration_is_not_adopted(stubbed: StubbedClient) -> None:
    other = handler_properties(**{contract.VOLUME_SIZE_IN_GB: "99"})
    earlier = ownership.generated_name(PREFIX, STACK_ID, LOGICAL_ID, "older")
    stubbed.list_models([summary(name=earlier, status="ACTIVE")])
    stubbed.get_model(
        model_description(name=earlier, tags={contract.RESERVED_TAG_KEY: owner_tag(other, "older")})
    )
    assert on_event(stubbed, event("Create", request_id=REQUEST_ID))[ACTION_KEY] == engine.CREATE


FIXED = handler_properties(**{contract.NAME_PREFIX: None, contract.NAME: "fixed"})


@pytest.mark.parametrize(
    ("tags", "status", "whose"),
    [
        ({}, "ACTIVE", "not created by cdk-cleanrooms-ml"),
        (
            {
                contract.RESERVED_TAG_KEY: ownership.make_tag(
                    "arn:aws:cloudformation:us-east-1:111122223333:stack/Other/1",
                    "Res",
                    "r",
                    "0" * 64,
                )
            },
            "ACTIVE",
            "created by stack resource Other/Res",
        ),
        (
            {
                contract.RESERVED_TAG_KEY: owner_tag(
                    handler_properties(**{contract.VOLUME_SIZE_IN_GB: "9"}), "older"
                )
            },
            "ACTIVE",
            r"created by stack resource Test/Model0301700E \(this resource, an earlier",
        ),
        (
            {contract.RESERVED_TAG_KEY: owner_tag(FIXED, "older")},
            "CREATE_FAILED",
            r"CREATE_FAILED: AlgorithmError.*this resource",
        ),
        (
            {contract.RESERVED_TAG_KEY: "v1." + ownership.digest("other", LOGICAL_ID) + ".r.c"},
            "ACTIVE",
            "an earlier release of cdk-cleanrooms-ml",
        ),
    ],
)
def test_a_name_held_by_anything_else_is_a_conflict_saying_whose_and_what_to_do(
    stubbed: StubbedClient, tags: dict[str, str], status: str, whose: str
) -> None:
    stubbed.list_models([summary(name="fixed", status=status)])
    stubbed.get_model(
        model_description(
            name="fixed",
            status=status,
            tags=tags,
            status_details={"statusCode": "AlgorithmError", "message": "bad"},
        )
    )
    with pytest.raises(
        HandlerError, match=rf"named 'fixed' already exists.*{whose}.*choose another name"
    ):
        on_event(stubbed, event("Create", FIXED, request_id=REQUEST_ID))


def test_an_inactive_namesake_holds_no_name(stubbed: StubbedClient) -> None:
    """An INACTIVE model holds no name (A1): it is not even described."""
    stubbed.list_models([summary(arn=MODEL_ARN_2, name="fixed", status="INACTIVE")])
    assert on_event(stubbed, event("Create", FIXED))[ACTION_KEY] == engine.CREATE


def test_a_conflict_on_create_adopts_a_concurrent_poll_of_the_same_request(
    stubbed: StubbedClient,
) -> None:
    raw = event("Create", request_id=REQUEST_ID)
    result = {"PhysicalResourceId": pending_id(), ACTION_KEY: engine.CREATE, STARTED_AT_KEY: NOW}
    stubbed.list_models([])
    stubbed.error("create_trained_model", "ConflictException", 409)
    stubbed.list_models([summary(name=generated())])
    stubbed.get_model(model_description(name=generated(), tags=OWNED))
    stubbed.get_model(model_description(name=generated(), tags=OWNED))
    assert is_complete(stubbed, then_poll(raw, result)) == {"IsComplete": False}


def test_a_conflict_on_create_with_nothing_of_ours_fails_with_the_reason(
    stubbed: StubbedClient,
) -> None:
    raw = event("Create", FIXED, request_id=REQUEST_ID)
    result = {
        "PhysicalResourceId": pending_id("fixed"),
        ACTION_KEY: engine.CREATE,
        STARTED_AT_KEY: NOW,
    }
    stubbed.list_models([])
    stubbed.error("create_trained_model", "ConflictException", 409, "name taken")
    stubbed.list_models([])  # not a concurrent poll of this request
    stubbed.list_models([])  # nor anything else that holds the name now
    with pytest.raises(
        HandlerError, match=r"creating trained model 'fixed' failed \(Conflict.*name taken"
    ):
        is_complete(stubbed, then_poll(raw, result))


# --- waiting ------------------------------------------------------------------------


def waiting(props: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    raw = event("Create", props, request_id=REQUEST_ID)
    result = {"PhysicalResourceId": MODEL_ARN, ACTION_KEY: engine.WAIT, STARTED_AT_KEY: NOW}
    result.update(extra)
    return then_poll(raw, result)


@pytest.mark.parametrize("status", ["CREATE_PENDING", "CREATE_IN_PROGRESS"])
def test_training_is_not_complete_and_reports_nothing(stubbed: StubbedClient, status: str) -> None:
    stubbed.get_model(model_description(status=status))
    assert is_complete(stubbed, waiting()) == {"IsComplete": False}


def test_a_failed_training_fails_with_the_services_reason_redacted(stubbed: StubbedClient) -> None:
    props = handler_properties(**{contract.HYPERPARAMETERS: {"token": "hp-SECRET-1"}})
    model = model_description(
        status="CREATE_FAILED",
        status_details={"statusCode": "AlgorithmError", "message": "bad token hp-SECRET-1"},
    )
    model["hyperparameters"] = {"token": "hp-SECRET-1"}
    stubbed.get_model(model)
    with pytest.raises(HandlerError) as raised:
        is_complete(stubbed, waiting(props))
    message = str(raised.value)
    assert f"({MODEL_ARN}) failed (CREATE_FAILED): AlgorithmError: bad token ***" in message
    assert "hp-SECRET-1" not in message


@pytest.mark.parametrize("status", ["CANCEL_PENDING", "DELETE_IN_PROGRESS", "INACTIVE"])
def test_cancel_or_delete_reached_during_create_fails(stubbed: StubbedClient, status: str) -> None:
    stubbed.get_model(model_description(status=status))
    with pytest.raises(HandlerError, match=f"reached {status} while it was being created"):
        is_complete(stubbed, waiting())


def test_a_timeout_names_the_model_its_last_status_the_time_and_the_policy(
    stubbed: StubbedClient,
) -> None:
    props = handler_properties(**{contract.COMPLETION_TIMEOUT_SECONDS: "600"})
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    assert is_complete(stubbed, waiting(props), NOW + 599) == {"IsComplete": False}
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    with pytest.raises(
        HandlerError, match=r"timed out after 600 s.*last status CREATE_IN_PROGRESS.*retain"
    ):
        is_complete(stubbed, waiting(props), NOW + 600)


def test_the_short_path_gives_up_inside_cloudformations_hour(stubbed: StubbedClient) -> None:
    assert contract.SHORT_PATH_DEADLINE_SECONDS < contract.SHORT_PATH_MAX_SECONDS
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    with pytest.raises(HandlerError, match="timed out after 3480 s"):
        is_complete(stubbed, waiting(), NOW + contract.SHORT_PATH_DEADLINE_SECONDS)


def test_without_waiting_a_training_model_completes_and_a_failed_one_still_fails(
    stubbed: StubbedClient,
) -> None:
    props = handler_properties(**{contract.WAIT_FOR_COMPLETION: "false"})
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    assert is_complete(stubbed, waiting(props))["IsComplete"] is True
    stubbed.get_model(model_description(status="CREATE_FAILED"))
    with pytest.raises(HandlerError, match="CREATE_FAILED"):
        is_complete(stubbed, waiting(props))


TRANSIENT_CLIENT_ERRORS = ["ThrottlingException", "InternalServiceException"]


def _transient(stubbed: StubbedClient, operation: str, fault: str | Exception) -> None:
    stubbed.fail(operation, fault)


def fault_id(fault: str | Exception) -> str:
    return fault if isinstance(fault, str) else type(fault).__name__


FAULTS: list[str | Exception] = [*TRANSIENT_CLIENT_ERRORS, *CONNECTION_ERRORS]


@pytest.mark.parametrize("fault", FAULTS, ids=fault_id)
def test_a_transient_failure_while_polling_is_not_yet(
    stubbed: StubbedClient, fault: str | Exception
) -> None:
    _transient(stubbed, "get_trained_model", fault)
    assert is_complete(stubbed, waiting()) == {"IsComplete": False}


@pytest.mark.parametrize("fault", FAULTS, ids=fault_id)
def test_a_transient_failure_past_the_deadline_fails(
    stubbed: StubbedClient, fault: str | Exception
) -> None:
    _transient(stubbed, "get_trained_model", fault)
    with pytest.raises(HandlerError, match=r"timed out after 3480 s.*the last look failed"):
        is_complete(stubbed, waiting(), NOW + contract.SHORT_PATH_DEADLINE_SECONDS)


@pytest.mark.parametrize("fault", FAULTS, ids=fault_id)
def test_a_transient_failure_of_create_is_tried_by_the_next_poll(
    stubbed: StubbedClient, fault: str | Exception
) -> None:
    raw = event("Create", request_id=REQUEST_ID)
    poll = then_poll(
        raw, {"PhysicalResourceId": pending_id(), ACTION_KEY: engine.CREATE, STARTED_AT_KEY: NOW}
    )
    stubbed.list_models([])
    _transient(stubbed, "create_trained_model", fault)
    assert is_complete(stubbed, poll) == {"IsComplete": False}
    stubbed.list_models([])  # did it get through after all? no: create it now
    stubbed.create_model(expected=create_request(generated()))
    stubbed.get_model(model_description(name=generated(), tags=OWNED))
    assert is_complete(stubbed, poll) == {"IsComplete": False}


@pytest.mark.parametrize("fault", FAULTS, ids=fault_id)
def test_on_event_tries_a_transient_failure_again_within_its_budget(
    stubbed: StubbedClient, fault: str | Exception
) -> None:
    sleeps: list[float] = []
    _transient(stubbed, "list_trained_models", fault)
    _transient(stubbed, "list_trained_models", fault)
    stubbed.list_models([])
    result = on_event(
        stubbed, event("Create", request_id=REQUEST_ID), deadline=NOW + 290, sleeps=sleeps
    )
    assert result[ACTION_KEY] == engine.CREATE
    assert sleeps == [2.0, 4.0]


def test_on_event_gives_up_when_its_budget_is_spent(stubbed: StubbedClient) -> None:
    stubbed.error("list_trained_models", "ThrottlingException", 429)
    with pytest.raises(HandlerError, match=r"\(ThrottlingException\).*deploy again"):
        on_event(stubbed, event("Create"), deadline=NOW + 100)  # less than one more call


# --- update ----------------------------------------------------------------------------


def _update(
    props: dict[str, Any],
    old: dict[str, Any] | None = None,
    physical_id: str = MODEL_ARN,
    request_id: str = "update-request",
) -> dict[str, Any]:
    return event(
        "Update",
        props,
        physical_id=physical_id,
        old_properties=old or handler_properties(),
        request_id=request_id,
    )


def test_a_tags_only_change_is_applied_in_place(stubbed: StubbedClient) -> None:
    stubbed.get_model(model_description(status="ACTIVE", tags={"old": "x", "keep": "1", **OWNED}))
    stubbed.untag(["old"])
    stubbed.tag({"new": "y"})
    props = handler_properties(**{contract.TAGS: {"keep": "1", "new": "y"}})
    result = on_event(stubbed, _update(props))
    assert result["PhysicalResourceId"] == MODEL_ARN
    assert result[ACTION_KEY] == engine.REFRESH


def test_an_update_of_a_release_0_1_0_model_keeps_its_tag(stubbed: StubbedClient) -> None:
    """A v1 tag is read, never rewritten: release 0.1.0's handler, back after a rolled-back
    upgrade, still knows the model as its own."""
    stubbed.get_model(
        model_description(status="ACTIVE", tags={contract.RESERVED_TAG_KEY: v1_tag()})
    )
    assert on_event(stubbed, _update(handler_properties()))["PhysicalResourceId"] == MODEL_ARN


def test_an_update_that_changes_nothing_calls_nothing_but_get(stubbed: StubbedClient) -> None:
    stubbed.get_model(model_description(status="ACTIVE", tags=OWNED))
    assert on_event(stubbed, _update(handler_properties()))[ACTION_KEY] == engine.REFRESH


@pytest.mark.parametrize(
    "setting",
    [
        {contract.REMOVAL_POLICY: "destroy"},
        {contract.WAIT_FOR_COMPLETION: "false"},
        {contract.COMPLETION_TIMEOUT_SECONDS: "1800"},
    ],
)
def test_handler_only_settings_never_replace(
    stubbed: StubbedClient, setting: dict[str, str]
) -> None:
    stubbed.get_model(model_description(status="ACTIVE", tags=OWNED))
    result = on_event(stubbed, _update(handler_properties(**setting)))
    assert result["PhysicalResourceId"] == MODEL_ARN


def test_a_changed_create_parameter_asks_for_a_new_model_with_a_new_name(
    stubbed: StubbedClient,
) -> None:
    changed = handler_properties(**{contract.VOLUME_SIZE_IN_GB: "100"})
    stubbed.get_model(model_description(status="ACTIVE", name=generated(), tags=OWNED))
    stubbed.list_models([summary(name=generated(), status="ACTIVE")])
    stubbed.get_model(model_description(status="ACTIVE", name=generated(), tags=OWNED))
    result = on_event(stubbed, _update(changed))
    assert result["PhysicalResourceId"] == pending_id(generated("update-request"), "update-request")
    assert result[ACTION_KEY] == engine.CREATE


def test_a_rollback_goes_back_to_the_model_that_has_the_configuration(
    stubbed: StubbedClient,
) -> None:
    """Row 6: Update(props=old, old=new, PhysicalResourceId=B) returns A, trains nothing."""
    new = handler_properties(**{contract.VOLUME_SIZE_IN_GB: "100"})
    a_name, b_name = generated(), generated("update-request")
    a_model = model_description(name=a_name, status="ACTIVE", tags=OWNED)
    b_model = model_description(
        arn=MODEL_ARN_2,
        name=b_name,
        status="ACTIVE",
        tags={contract.RESERVED_TAG_KEY: owner_tag(new, "update-request")},
    )
    stubbed.get_model(b_model)
    stubbed.list_models(
        [
            summary(name=a_name, status="ACTIVE"),
            summary(arn=MODEL_ARN_2, name=b_name, status="ACTIVE"),
        ]
    )
    stubbed.get_model(a_model)
    stubbed.get_model(b_model)
    raw = _update(handler_properties(), old=new, physical_id=MODEL_ARN_2, request_id="rollback")
    result = on_event(stubbed, raw)
    assert result["PhysicalResourceId"] == MODEL_ARN
    stubbed.get_model(a_model)
    assert is_complete(stubbed, then_poll(raw, result))["IsComplete"] is True


def test_a_fixed_name_that_needs_a_new_model_in_its_membership_is_refused(
    stubbed: StubbedClient,
) -> None:
    changed = dict(FIXED, **{contract.VOLUME_SIZE_IN_GB: "100"})
    fixed = model_description(
        name="fixed", status="ACTIVE", tags={contract.RESERVED_TAG_KEY: owner_tag(FIXED)}
    )
    stubbed.get_model(fixed)
    stubbed.list_models([summary(name="fixed", status="ACTIVE")])
    stubbed.get_model(fixed)
    with pytest.raises(HandlerError, match=r"cannot replace trained model 'fixed'.*rename it"):
        on_event(stubbed, _update(changed, old=FIXED))


def test_a_new_fixed_name_replaces(stubbed: StubbedClient) -> None:
    renamed = dict(FIXED, **{contract.NAME: "renamed"})
    stubbed.get_model(
        model_description(
            name="fixed", status="ACTIVE", tags={contract.RESERVED_TAG_KEY: owner_tag(FIXED)}
        )
    )
    stubbed.list_models([summary(name="fixed", status="ACTIVE")])
    result = on_event(stubbed, _update(renamed, old=FIXED))
    assert result["PhysicalResourceId"] == pending_id("renamed", "update-request")


def test_a_membership_change_with_a_fixed_name_is_a_replacement(stubbed: StubbedClient) -> None:
    moved = dict(FIXED, **{contract.MEMBERSHIP_IDENTIFIER: OTHER_MEMBERSHIP})
    stubbed.get_model(
        model_description(
            name="fixed", status="ACTIVE", tags={contract.RESERVED_TAG_KEY: owner_tag(FIXED)}
        )
    )
    stubbed.stubber.add_response(
        "list_trained_models", {"trainedModels": []}, {"membershipIdentifier": OTHER_MEMBERSHIP}
    )
    result = on_event(stubbed, _update(moved, old=FIXED))
    assert (
        result["PhysicalResourceId"]
        == ownership.Pending(
            OTHER_MEMBERSHIP, ownership.request_digest("update-request"), "fixed"
        ).physical_id
    )


@pytest.mark.parametrize("status", ["INACTIVE", "CREATE_FAILED"])
def test_a_model_no_longer_usable_is_retrained_on_update_never_reported_as_success(
    stubbed: StubbedClient, status: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Decision (b): its output deleted outside CloudFormation (or its training failed)."""
    stubbed.get_model(model_description(name=generated(), status=status, tags=OWNED))
    stubbed.list_models([summary(name=generated(), status=status)])
    if status != "INACTIVE":
        stubbed.get_model(model_description(name=generated(), status=status, tags=OWNED))
    result = on_event(stubbed, _update(handler_properties()))
    assert result[ACTION_KEY] == engine.CREATE
    assert f"it is {status}, no longer usable" in capsys.readouterr().out


def test_an_update_of_a_model_deleted_outside_cloudformation_trains_a_new_one(
    stubbed: StubbedClient,
) -> None:
    stubbed.error("get_trained_model", "ResourceNotFoundException", 404)
    stubbed.list_models([])
    assert on_event(stubbed, _update(handler_properties()))[ACTION_KEY] == engine.CREATE


def test_an_update_of_a_foreign_physical_id_fails(stubbed: StubbedClient) -> None:
    with pytest.raises(HandlerError, match="not a trained model this handler created"):
        on_event(stubbed, _update(handler_properties(), physical_id="something-else"))


def test_refresh_reports_the_attributes(stubbed: StubbedClient) -> None:
    raw = _update(handler_properties())
    poll = then_poll(
        raw, {"PhysicalResourceId": MODEL_ARN, ACTION_KEY: engine.REFRESH, STARTED_AT_KEY: NOW}
    )
    stubbed.get_model(model_description(status="ACTIVE"))
    done = is_complete(stubbed, poll)
    assert done["IsComplete"] is True
    assert done["Data"]["Status"] == "ACTIVE"


# --- delete -------------------------------------------------------------------------

DESTROY = handler_properties(**{contract.REMOVAL_POLICY: "destroy"})


def _delete(physical_id: str = MODEL_ARN, props: dict[str, Any] | None = None) -> dict[str, Any]:
    return event("Delete", DESTROY if props is None else props, physical_id=physical_id)


def _deleting(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    result = {"PhysicalResourceId": MODEL_ARN, ACTION_KEY: engine.DELETE, STARTED_AT_KEY: NOW}
    result[TARGET_KEY] = MODEL_ARN
    result.update(extra or {})
    return then_poll(_delete(), result)


def test_retain_deletes_nothing(stubbed: StubbedClient) -> None:
    result = on_event(stubbed, _delete(props=handler_properties()))
    assert result == {"PhysicalResourceId": MODEL_ARN, ACTION_KEY: engine.NONE, STARTED_AT_KEY: NOW}


NOT_OURS = [
    "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED",
    "Test-Model0301700E-ABCDEF123456",  # CloudFormation's invented id
    "arn:aws:s3:::bucket",
    f"{MODEL_ARN}#not-a-version",
    "pending:not-a-membership:x:y",
]


@pytest.mark.parametrize("physical_id", NOT_OURS)
def test_a_physical_id_that_is_not_ours_touches_nothing_another_life_of_the_stack_made(
    stubbed: StubbedClient, physical_id: str
) -> None:
    """Row 11: an id CloudFormation made up leads nowhere; the tags are looked at, and a
    model of this resource, with this identity and name, made by an earlier life of the
    stack (another stack id: kept by RETAIN) is left alone."""
    name = generated()
    earlier = f"{STACK_ID.rsplit('/', 1)[0]}/00000000-0000-4000-8000-000000000000"
    stubbed.list_models([summary(name=name)])
    stubbed.get_model(
        model_description(name=name, tags={contract.RESERVED_TAG_KEY: owner_tag(stack_id=earlier)})
    )
    assert on_event(stubbed, _delete(physical_id))[ACTION_KEY] == engine.NONE


@pytest.mark.parametrize("physical_id", NOT_OURS)
def test_a_physical_id_that_is_not_ours_under_retain_is_never_looked_up(
    stubbed: StubbedClient, physical_id: str
) -> None:
    assert on_event(stubbed, _delete(physical_id, handler_properties()))[ACTION_KEY] == engine.NONE


def test_a_cancelled_creates_model_is_found_by_its_tags_and_cancelled(
    stubbed: StubbedClient,
) -> None:
    """Row 11: the Create this Delete cancelled started a training; only its tags (this
    stack's life, this resource, this identity) lead back to it."""
    name = generated()
    stubbed.list_models([summary(name=name)])
    stubbed.get_model(model_description(name=name, tags=OWNED))
    stubbed.cancel()
    result = on_event(stubbed, _delete("Test-Model0301700E-ABCDEF123456"))
    assert result[ACTION_KEY] == engine.DELETE
    assert result[engine.STOPPING_KEY] == [MODEL_ARN]


def test_a_model_another_resource_created_is_never_deleted(stubbed: StubbedClient) -> None:
    stubbed.get_model(
        model_description(
            status="ACTIVE",
            tags={contract.RESERVED_TAG_KEY: ownership.make_tag(STACK_ID, "Other", "r", "0" * 64)},
        )
    )
    assert on_event(stubbed, _delete())[ACTION_KEY] == engine.NONE


def test_unreadable_properties_never_delete(stubbed: StubbedClient) -> None:
    props = dict(DESTROY, **{contract.VOLUME_SIZE_IN_GB: "lots"})
    assert on_event(stubbed, _delete(props=props))[ACTION_KEY] == engine.NONE


def test_destroy_deletes_the_output_of_the_version_it_created_and_waits(
    stubbed: StubbedClient,
) -> None:
    physical_id = f"{MODEL_ARN}#{VERSION}"
    stubbed.get_model(
        model_description(status="ACTIVE", version=VERSION, tags=OWNED), version=VERSION
    )
    stubbed.delete_output(version=VERSION)
    result = on_event(stubbed, _delete(physical_id))
    assert result["PhysicalResourceId"] == physical_id  # a Delete never changes the id
    assert result[ACTION_KEY] == engine.DELETE
    poll = then_poll(_delete(physical_id), result)
    stubbed.get_model(
        model_description(status="DELETE_IN_PROGRESS", version=VERSION, tags=OWNED), version=VERSION
    )
    assert is_complete(stubbed, poll) == {"IsComplete": False}
    stubbed.get_model(
        model_description(status="INACTIVE", version=VERSION, tags=OWNED), version=VERSION
    )
    assert is_complete(stubbed, poll) == {"IsComplete": True}


def test_destroy_of_a_pending_id_finds_what_its_request_created(stubbed: StubbedClient) -> None:
    """Row 2b/7 cleanup: the framework's FAILED answer carried the pending id."""
    physical_id = pending_id()
    stubbed.list_models([summary(name=generated(), status="CREATE_FAILED")])
    stubbed.get_model(model_description(name=generated(), status="CREATE_FAILED", tags=OWNED))
    stubbed.delete_output()
    result = on_event(stubbed, _delete(physical_id))
    assert result["PhysicalResourceId"] == physical_id
    assert result[TARGET_KEY] == MODEL_ARN  # the polls need no list
    stubbed.get_model(model_description(status="INACTIVE", tags=OWNED))
    assert is_complete(stubbed, then_poll(_delete(physical_id), result)) == {"IsComplete": True}


def test_destroy_of_a_pending_id_that_created_nothing_is_done(stubbed: StubbedClient) -> None:
    stubbed.list_models([])
    assert on_event(stubbed, _delete(pending_id()))[ACTION_KEY] == engine.NONE


def test_destroy_cancels_a_training_and_waits_until_it_is_gone(stubbed: StubbedClient) -> None:
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS", tags=OWNED))
    stubbed.cancel()
    result = on_event(stubbed, _delete())
    poll = then_poll(_delete(), result)
    stubbed.get_model(model_description(status="CANCEL_IN_PROGRESS", tags=OWNED))
    assert is_complete(stubbed, poll) == {"IsComplete": False}
    stubbed.error("get_trained_model", "ResourceNotFoundException", 404)
    assert is_complete(stubbed, poll) == {"IsComplete": True}


def test_destroy_of_an_inactive_model_completes_at_once(stubbed: StubbedClient) -> None:
    stubbed.get_model(model_description(status="INACTIVE", tags=OWNED))
    assert on_event(stubbed, _delete())[ACTION_KEY] == engine.NONE


def test_destroy_of_a_failed_training_deletes_its_output_so_the_name_is_freed(
    stubbed: StubbedClient,
) -> None:
    stubbed.get_model(model_description(status="CREATE_FAILED", tags=OWNED))
    stubbed.delete_output()
    result = on_event(stubbed, _delete())
    assert result[ACTION_KEY] == engine.DELETE
    stubbed.get_model(model_description(status="INACTIVE", tags=OWNED))
    assert is_complete(stubbed, then_poll(_delete(), result)) == {"IsComplete": True}


@pytest.mark.parametrize(
    ("code", "status"), [("ConflictException", 409), ("ValidationException", 400)]
)
def test_destroy_of_a_failed_training_with_nothing_to_delete_completes_at_once(
    stubbed: StubbedClient, code: str, status: int
) -> None:
    stubbed.get_model(model_description(status="CREATE_FAILED", tags=OWNED))
    stubbed.error("delete_trained_model_output", code, status)
    assert on_event(stubbed, _delete())[ACTION_KEY] == engine.NONE


def test_a_training_that_fails_while_the_delete_waits_is_deleted_too(
    stubbed: StubbedClient,
) -> None:
    """A failed training still holds its name (A1): a poll that sees one deletes its
    output and looks again (the deletion may fail); a service that kept it
    CREATE_FAILED is not asked again by this process, and the delete is done."""
    stubbed.get_model(model_description(status="CREATE_FAILED", tags=OWNED))
    stubbed.delete_output()
    assert is_complete(stubbed, _deleting()) == {"IsComplete": False}
    stubbed.get_model(model_description(status="CREATE_FAILED", tags=OWNED))
    assert is_complete(stubbed, _deleting()) == {"IsComplete": True}


def test_destroy_of_a_model_already_gone_succeeds(stubbed: StubbedClient) -> None:
    stubbed.error("get_trained_model", "ResourceNotFoundException", 404)
    assert on_event(stubbed, _delete())[ACTION_KEY] == engine.NONE


@pytest.mark.parametrize("status", ["DELETE_FAILED", "CANCEL_FAILED"])
def test_a_failed_delete_is_retried_once_per_delete_event_then_fails_with_the_reason(
    stubbed: StubbedClient, status: str
) -> None:
    failed = model_description(
        status=status, tags=OWNED, status_details={"message": "artifacts locked"}
    )
    stubbed.get_model(failed)
    stubbed.delete_output()  # a failed cancel too: cancelling is only for a training (A4)
    result = on_event(stubbed, _delete())
    stubbed.get_model(failed)  # failed again: the poll does not retry it
    with pytest.raises(HandlerError, match=f"{status}.*artifacts locked.*again"):
        is_complete(stubbed, then_poll(_delete(), result))


@pytest.mark.parametrize("code", TRANSIENT_CLIENT_ERRORS)
@pytest.mark.parametrize("status", ["CREATE_FAILED", "DELETE_FAILED", "CANCEL_FAILED"])
def test_a_throttled_one_time_delete_step_is_taken_by_the_next_poll(
    stubbed: StubbedClient, status: str, code: str
) -> None:
    model = model_description(status=status, tags=OWNED)
    stubbed.get_model(model)
    stubbed.error("delete_trained_model_output", code, ERRORS[code])
    result = on_event(stubbed, _delete())
    assert result[DEFERRED_STEP_KEY] == TIMESTAMP.timestamp()  # as on_event saw it
    poll = then_poll(json.loads(json.dumps(_delete())), json.loads(json.dumps(result)))
    stubbed.get_model(model)  # unchanged since: take the step now
    stubbed.delete_output()
    assert is_complete(stubbed, poll) == {"IsComplete": False}
    stubbed.get_model(model_description(status="INACTIVE", tags=OWNED))
    assert is_complete(stubbed, poll) == {"IsComplete": True}


@pytest.mark.parametrize("status", ["DELETE_FAILED", "CANCEL_FAILED"])
def test_a_deferred_step_is_never_repeated_once_the_model_changed(
    stubbed: StubbedClient, status: str
) -> None:
    later = datetime.fromtimestamp(TIMESTAMP.timestamp() + 5, UTC)
    stubbed.get_model(model_description(status=status, tags=OWNED, update_time=later))
    poll = _deleting({DEFERRED_STEP_KEY: TIMESTAMP.timestamp()})
    with pytest.raises(HandlerError, match=f"{status}.*again"):
        is_complete(stubbed, poll)


def test_a_deferred_delete_of_a_failed_training_is_harmless_if_already_made(
    stubbed: StubbedClient,
) -> None:
    """CREATE_FAILED with another updateTime: asked again, the service's Conflict
    ("nothing stored") ends the delete."""
    later = datetime.fromtimestamp(TIMESTAMP.timestamp() + 5, UTC)
    stubbed.get_model(model_description(status="CREATE_FAILED", tags=OWNED, update_time=later))
    stubbed.error("delete_trained_model_output", "ConflictException", 409)
    poll = _deleting({DEFERRED_STEP_KEY: TIMESTAMP.timestamp()})
    assert is_complete(stubbed, poll) == {"IsComplete": True}


@pytest.mark.parametrize("status", ["DELETE_FAILED", "CANCEL_FAILED"])
def test_a_deferred_retry_the_service_refuses_fails_at_once(
    stubbed: StubbedClient, status: str
) -> None:
    model = model_description(status=status, tags=OWNED, status_details={"message": "locked"})
    stubbed.get_model(model)
    stubbed.error("delete_trained_model_output", "ConflictException", 409)
    if status == "CANCEL_FAILED":  # cancelling again is tried too (either reading of A4/A6)
        stubbed.error("cancel_trained_model", "ConflictException", 409)
    with pytest.raises(HandlerError, match=f"{status}.*locked.*again"):
        is_complete(stubbed, _deleting({DEFERRED_STEP_KEY: TIMESTAMP.timestamp()}))


def test_a_cancel_failed_model_whose_output_the_service_keeps_is_cancelled_again(
    stubbed: StubbedClient,
) -> None:
    """A4/A6 unknown: a service that refuses deleting a CANCEL_FAILED model's output
    (Conflict) may take a second cancellation: the Delete event's step asks for it."""
    failed = model_description(status="CANCEL_FAILED", tags=OWNED)
    stubbed.get_model(failed)
    stubbed.error("delete_trained_model_output", "ConflictException", 409)
    stubbed.cancel()
    result = on_event(stubbed, _delete())
    stubbed.get_model(model_description(status="INACTIVE", tags=OWNED))
    assert is_complete(stubbed, then_poll(_delete(), result)) == {"IsComplete": True}


def test_the_delete_poll_finishes_what_on_event_started(stubbed: StubbedClient) -> None:
    # the model became ACTIVE after the cancel request raced it: delete its output
    stubbed.get_model(model_description(status="ACTIVE", tags=OWNED))
    stubbed.delete_output()
    assert is_complete(stubbed, _deleting()) == {"IsComplete": False}


# --- fault matrix: every error at every step ------------------------------------

FAIL = "fail"
NOT_YET = "not-yet"
DONE = "done"
OTHER = "other"
Driver = Callable[[StubbedClient, "str | Exception"], str]


def _fault(s: StubbedClient, operation: str, fault: str | Exception) -> None:
    _transient(s, operation, fault)


def _create_list(s: StubbedClient, fault: str | Exception) -> str:
    _fault(s, "list_trained_models", fault)
    on_event(s, event("Create", request_id=REQUEST_ID))
    return DONE


def _create_describe(s: StubbedClient, fault: str | Exception) -> str:
    s.list_models([summary(name=generated())])
    _fault(s, "get_trained_model", fault)
    result = on_event(s, event("Create", request_id=REQUEST_ID))  # vanished: nothing to adopt
    return DONE if result[ACTION_KEY] == engine.CREATE else OTHER


def _create(s: StubbedClient, fault: str | Exception) -> str:
    raw = event("Create", request_id=REQUEST_ID)
    poll = then_poll(
        raw, {"PhysicalResourceId": pending_id(), ACTION_KEY: engine.CREATE, STARTED_AT_KEY: NOW}
    )
    s.list_models([])
    _fault(s, "create_trained_model", fault)
    if fault == "ConflictException":
        s.list_models([])  # not a concurrent poll of this request
        s.list_models([])  # nor a holder of the name: the service's own reason
    return DONE if is_complete(s, poll)["IsComplete"] else NOT_YET


def _poll(s: StubbedClient, fault: str | Exception) -> str:
    _fault(s, "get_trained_model", fault)
    return DONE if is_complete(s, waiting())["IsComplete"] else NOT_YET


def _update_get(s: StubbedClient, fault: str | Exception) -> str:
    _fault(s, "get_trained_model", fault)
    if fault == "ResourceNotFoundException":
        s.list_models([])
    result = on_event(s, _update(handler_properties()))
    return OTHER if result[ACTION_KEY] == engine.CREATE else DONE


def _tag(s: StubbedClient, fault: str | Exception) -> str:
    s.get_model(model_description(status="ACTIVE", tags=OWNED))
    _fault(s, "tag_resource", fault)
    on_event(s, _update(handler_properties(**{contract.TAGS: {"a": "b"}})))
    return DONE


def _untag(s: StubbedClient, fault: str | Exception) -> str:
    s.get_model(model_description(status="ACTIVE", tags={"a": "b", **OWNED}))
    _fault(s, "untag_resource", fault)
    on_event(s, _update(handler_properties()))
    return DONE


def _delete_get(s: StubbedClient, fault: str | Exception) -> str:
    _fault(s, "get_trained_model", fault)
    return NOT_YET if on_event(s, _delete())[ACTION_KEY] == engine.DELETE else DONE


def _cancel(s: StubbedClient, fault: str | Exception) -> str:
    s.get_model(model_description(status="CREATE_IN_PROGRESS", tags=OWNED))
    _fault(s, "cancel_trained_model", fault)
    return NOT_YET if on_event(s, _delete())[ACTION_KEY] == engine.DELETE else DONE


def _delete_output_of(model_status: str) -> Driver:
    def step(s: StubbedClient, fault: str | Exception) -> str:
        s.get_model(model_description(status=model_status, tags=OWNED))
        _fault(s, "delete_trained_model_output", fault)
        return NOT_YET if on_event(s, _delete())[ACTION_KEY] == engine.DELETE else DONE

    return step


def _delete_poll(s: StubbedClient, fault: str | Exception) -> str:
    _fault(s, "get_trained_model", fault)
    return DONE if is_complete(s, _deleting())["IsComplete"] else NOT_YET


TRANSIENT = [*TRANSIENT_CLIENT_ERRORS, *(type(e).__name__ for e in CONNECTION_ERRORS)]
PASSES = dict.fromkeys(TRANSIENT, NOT_YET)
STEPS: dict[str, tuple[Driver, dict[str, str]]] = {
    # step: (driver, {error: outcome}); an error not listed fails the deployment.
    # on_event steps run without a budget here: a transient error that outlives
    # botocore's retries fails them with "deploy again" (see the budget tests).
    "create/list": (_create_list, {}),
    "create/describe": (_create_describe, {"ResourceNotFoundException": DONE}),
    "create/create (poll)": (_create, PASSES),
    "create/poll": (_poll, PASSES),
    "update/get": (_update_get, {"ResourceNotFoundException": OTHER}),
    "update/tag": (_tag, {}),
    "update/untag": (_untag, {}),
    "delete/get": (_delete_get, {"ResourceNotFoundException": DONE}),
    "delete/cancel": (
        _cancel,
        {"ResourceNotFoundException": DONE, "ConflictException": NOT_YET, **PASSES},
    ),
    "delete/delete-output": (
        _delete_output_of("ACTIVE"),
        {"ResourceNotFoundException": DONE, "ConflictException": NOT_YET, **PASSES},
    ),
    "delete/failed-training-output": (
        _delete_output_of("CREATE_FAILED"),
        {
            "ResourceNotFoundException": DONE,
            "ConflictException": DONE,  # nothing stored for a failed training
            "ValidationException": DONE,
            **PASSES,
        },
    ),
    "delete/poll": (_delete_poll, {"ResourceNotFoundException": DONE, **PASSES}),
}
ADVICE = {
    "ThrottlingException": "deploy again",
    "InternalServiceException": "deploy again",
    "ConflictException": "state",
    "ValidationException": "check the construct's props",
    "AccessDeniedException": "role",
    "ServiceQuotaExceededException": "quota",
    "ResourceNotFoundException": "does not exist",
    "EndpointConnectionError": "deploy again",
    "ConnectTimeoutError": "deploy again",
    "ReadTimeoutError": "deploy again",
}
EVERY_FAULT: list[str | Exception] = [*sorted(ERRORS), *CONNECTION_ERRORS]


@pytest.mark.parametrize("fault", EVERY_FAULT, ids=fault_id)
@pytest.mark.parametrize("step", sorted(STEPS))
def test_fault_matrix_every_error_at_every_step_has_a_defined_outcome(
    stubbed: StubbedClient, step: str, fault: str | Exception
) -> None:
    driver, outcomes = STEPS[step]
    name = fault if isinstance(fault, str) else type(fault).__name__
    expected = outcomes.get(name, FAIL)
    if expected == FAIL:
        with pytest.raises(HandlerError) as raised:
            driver(stubbed, fault)
        assert f"({name})" in str(raised.value)
        assert ADVICE[name] in str(raised.value)
    else:
        assert driver(stubbed, fault) == expected


# --- entry points, logs, reasons ---------------------------------------------------------


def test_index_dispatches_and_logs_one_json_line_per_step_without_secrets(
    stubbed: StubbedClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(index, "_client", stubbed.client)
    secrets = {"password": "hp-SECRET-1"}, {"TOKEN": "env-SECRET-2"}
    props = handler_properties(
        **{contract.HYPERPARAMETERS: secrets[0], contract.ENVIRONMENT: secrets[1]}
    )
    raw = event("Create", props, request_id=REQUEST_ID)
    stubbed.list_models([])
    result = index.on_event(raw, None)
    # the poll's request: the stack's operation as on_event saw it marks the tag
    expected = create_request(generated(), props, operation=cfn.stack_operation(STACK_ID))
    expected.update(hyperparameters=secrets[0], environment=secrets[1])
    stubbed.list_models([])
    stubbed.create_model(expected=expected)
    stubbed.get_model(model_description(status="ACTIVE"))
    index.is_complete(then_poll(raw, result), None)
    # a service message that echoes the secret values (decision c)
    engine.RESOLVED.clear()
    stubbed.list_models([summary(name=generated())])
    echo = model_description(
        name=generated(),
        status="CREATE_FAILED",
        tags=OWNED,
        status_details={"message": "bad password hp-SECRET-1 for env-SECRET-2"},
    )
    stubbed.get_model(echo)
    with pytest.raises(HandlerError) as raised:
        index.is_complete(then_poll(raw, result), None)
    lines = capsys.readouterr().out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["step"] for r in records] == [
        "on-event",
        "create-requested",
        "created",
        "poll",
        "poll",
        "failed",
    ]
    assert records[3]["physicalResourceId"] == MODEL_ARN
    assert records[3]["status"] == "ACTIVE"
    text = "\n".join(lines) + str(raised.value)
    assert "bad password *** for ***" in text
    for secret in ("hp-SECRET-1", "env-SECRET-2", "SECRET-PRESIGNED", "ResponseURL"):
        assert secret not in text


def test_an_unknown_resource_type_fails_by_name() -> None:
    with pytest.raises(HandlerError, match="unknown resource type 'Custom::Nope'"):
        index.on_event(event("Create", ResourceType="Custom::Nope"), None)


def test_a_huge_service_message_is_bounded_keeping_the_status_code_and_arn(
    stubbed: StubbedClient,
) -> None:
    stubbed.get_model(
        model_description(
            status="CREATE_FAILED",
            status_details={"statusCode": "AlgorithmError", "message": "x" * 100_000},
        )
    )
    with pytest.raises(HandlerError) as raised:
        is_complete(stubbed, waiting())
    message = str(raised.value)
    assert len(json.dumps(message, ensure_ascii=False).encode()) <= faults.MAX_REASON_BYTES
    assert MODEL_ARN in message
    assert "(CREATE_FAILED): AlgorithmError: xxx" in message
    assert " [...] " in message


def test_not_found_right_after_create_is_not_yet(stubbed: StubbedClient) -> None:
    """A read right after the write may not see it yet: look again, do not fail."""
    poll = then_poll(
        event("Create", request_id=REQUEST_ID),
        {"PhysicalResourceId": pending_id(), ACTION_KEY: engine.CREATE, STARTED_AT_KEY: NOW},
    )
    stubbed.list_models([])
    stubbed.create_model(arn=MODEL_ARN)
    stubbed.error("get_trained_model", "ResourceNotFoundException", 404)
    assert is_complete(stubbed, poll) == {"IsComplete": False}
    stubbed.get_model(model_description(name=generated(), tags=OWNED))  # no second create
    assert is_complete(stubbed, poll) == {"IsComplete": False}
