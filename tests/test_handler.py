"""Handler lifecycle tests with botocore's Stubber (requests and responses are
validated against the cleanroomsml service model; every test ends with
``assert_no_pending_responses()`` through the ``stubbed`` fixture)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

import contract
import index
import lifecycle
import ownership
from helpers import (
    ASSOCIATION_ARN,
    CHANNEL_ARN,
    ERRORS,
    LOGICAL_ID,
    MEMBERSHIP,
    MODEL_ARN,
    MODEL_ARN_2,
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
from lifecycle import TRANSIENT_ERRORS
from properties import parse_properties

REQUEST_ID = "5e0d2c64-0000-4000-8000-000000000001"
NOW = 1_800_000_000.0
PREFIX = "Test-Model-85D470EB"


def generated(request_id: str = REQUEST_ID) -> str:
    return ownership.generated_name(PREFIX, STACK_ID, LOGICAL_ID, request_id)


def owner_tag(props: dict[str, Any] | None = None, request_id: str = REQUEST_ID) -> str:
    desired = parse_properties(props or handler_properties())
    return ownership.ownership_tag(STACK_ID, LOGICAL_ID, request_id, desired.config_hash)


def create_request(
    name: str,
    props: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    request_id: str = REQUEST_ID,
) -> dict[str, Any]:
    all_tags = dict(tags or {})
    all_tags[contract.RESERVED_TAG_KEY] = owner_tag(props, request_id)
    return {
        "membershipIdentifier": MEMBERSHIP,
        "name": name,
        "configuredModelAlgorithmAssociationArn": ASSOCIATION_ARN,
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 50},
        "dataChannels": [{"mlInputChannelArn": CHANNEL_ARN, "channelName": "train"}],
        "tags": all_tags,
    }


# --- create ------------------------------------------------------------------


def test_create_starts_training_with_a_generated_name_and_the_ownership_tag(
    stubbed: StubbedClient,
) -> None:
    stubbed.list_models([])
    stubbed.create_model(arn=MODEL_ARN, expected=create_request(generated()))
    result = lifecycle.on_event(stubbed.client, event("Create", request_id=REQUEST_ID), NOW)
    assert result["PhysicalResourceId"] == MODEL_ARN
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_WAIT_CREATE
    assert result[lifecycle.STARTED_AT_KEY] == NOW
    name = generated()
    assert name.startswith(f"{PREFIX}-")
    assert len(name) <= 63


def test_generated_name_differs_per_request_and_is_stable_per_request() -> None:
    assert generated("a") == generated("a")
    assert generated("a") != generated("b")


def test_create_with_a_fixed_name_and_user_tags(stubbed: StubbedClient) -> None:
    props = handler_properties(
        **{contract.NAME_PREFIX: None, contract.NAME: "fixed", contract.TAGS: {"team": "ml"}}
    )
    stubbed.list_models([])
    stubbed.create_model(
        arn=MODEL_ARN, version=VERSION, expected=create_request("fixed", props, {"team": "ml"})
    )
    result = lifecycle.on_event(stubbed.client, event("Create", props, request_id=REQUEST_ID), NOW)
    assert result["PhysicalResourceId"] == f"{MODEL_ARN}#{VERSION}"


def test_create_looks_through_every_page_before_creating(stubbed: StubbedClient) -> None:
    stubbed.list_models([summary(arn=MODEL_ARN_2, name="other")], next_token="page2")
    stubbed.list_models([summary(arn=MODEL_ARN_2, name="another")], token="page2")
    stubbed.create_model(expected=create_request(generated()))
    lifecycle.on_event(stubbed.client, event("Create", request_id=REQUEST_ID), NOW)


def test_retried_create_adopts_the_model_its_first_attempt_started(stubbed: StubbedClient) -> None:
    name = generated()
    stubbed.list_models([summary(name=name)])
    stubbed.get_model(model_description(name=name, tags={contract.RESERVED_TAG_KEY: owner_tag()}))
    # no create_trained_model: a second training job is never started
    result = lifecycle.on_event(stubbed.client, event("Create", request_id=REQUEST_ID), NOW)
    assert result["PhysicalResourceId"] == MODEL_ARN


def test_same_name_with_a_different_configuration_is_a_failure_not_an_adoption(
    stubbed: StubbedClient,
) -> None:
    name = generated()
    other = handler_properties(**{contract.VOLUME_SIZE_IN_GB: "99"})
    stubbed.list_models([summary(name=name)])
    stubbed.get_model(
        model_description(name=name, tags={contract.RESERVED_TAG_KEY: owner_tag(other)})
    )
    with pytest.raises(lifecycle.HandlerError, match="different configuration"):
        lifecycle.on_event(stubbed.client, event("Create", request_id=REQUEST_ID), NOW)


@pytest.mark.parametrize(
    ("tags", "whose"),
    [
        ({}, "something other than this resource"),
        ({contract.RESERVED_TAG_KEY: "not-ours"}, "something other than this resource"),
        (
            {
                contract.RESERVED_TAG_KEY: ownership.ownership_tag(
                    "other-stack", LOGICAL_ID, REQUEST_ID, "0" * 64
                )
            },
            "something other",
        ),
        (
            {
                contract.RESERVED_TAG_KEY: ownership.ownership_tag(
                    STACK_ID, LOGICAL_ID, "older-request", "0" * 64
                )
            },
            "an earlier deployment",
        ),
    ],
)
def test_a_same_named_model_made_by_anything_else_fails_the_create(
    stubbed: StubbedClient, tags: dict[str, str], whose: str
) -> None:
    props = handler_properties(**{contract.NAME_PREFIX: None, contract.NAME: "fixed"})
    stubbed.list_models([summary(name="fixed")])
    stubbed.get_model(model_description(name="fixed", tags=tags))
    with pytest.raises(
        lifecycle.HandlerError, match=f"already exists.*{whose}.*another trained_model_name"
    ):
        lifecycle.on_event(stubbed.client, event("Create", props, request_id=REQUEST_ID), NOW)


def test_conflict_on_create_adopts_a_concurrent_attempt_of_the_same_request(
    stubbed: StubbedClient,
) -> None:
    name = generated()
    stubbed.list_models([])
    stubbed.error("create_trained_model", "ConflictException", 409)
    stubbed.list_models([summary(name=name)])
    stubbed.get_model(model_description(name=name, tags={contract.RESERVED_TAG_KEY: owner_tag()}))
    result = lifecycle.on_event(stubbed.client, event("Create", request_id=REQUEST_ID), NOW)
    assert result["PhysicalResourceId"] == MODEL_ARN


def test_a_foreign_inactive_namesake_neither_blocks_the_create_nor_hides_an_adoption(
    stubbed: StubbedClient,
) -> None:
    """An INACTIVE model holds no name (A1); a conflict then finds this request's model."""
    name = generated()
    foreign = model_description(arn=MODEL_ARN_2, name=name, status="INACTIVE", tags={})
    stubbed.list_models([summary(arn=MODEL_ARN_2, name=name, status="INACTIVE")])
    stubbed.get_model(foreign)
    stubbed.error("create_trained_model", "ConflictException", 409)
    stubbed.list_models(
        [summary(arn=MODEL_ARN_2, name=name, status="INACTIVE"), summary(name=name)]
    )
    stubbed.get_model(foreign)
    stubbed.get_model(model_description(name=name, tags={contract.RESERVED_TAG_KEY: owner_tag()}))
    result = lifecycle.on_event(stubbed.client, event("Create", request_id=REQUEST_ID), NOW)
    assert result["PhysicalResourceId"] == MODEL_ARN  # adopted; the foreign model untouched


# --- waiting -------------------------------------------------------------------


def _poll_event(
    props: dict[str, Any] | None = None,
    physical_id: str = MODEL_ARN,
    started: float = NOW,
    action: str = lifecycle.ACTION_WAIT_CREATE,
) -> dict[str, Any]:
    return then_poll(
        event("Create", props, request_id=REQUEST_ID),
        {
            "PhysicalResourceId": physical_id,
            lifecycle.ACTION_KEY: action,
            lifecycle.STARTED_AT_KEY: started,
        },
    )


def test_active_completes_with_every_attribute(stubbed: StubbedClient) -> None:
    stubbed.get_model(model_description(status="ACTIVE", name="n"))
    result = lifecycle.is_complete(stubbed.client, _poll_event(), NOW + 60)
    assert result == {
        "IsComplete": True,
        "Data": {
            "TrainedModelArn": MODEL_ARN,
            "VersionIdentifier": contract.BASE_VERSION,
            "TrainedModelName": "n",
            "Status": "ACTIVE",
        },
    }


def test_a_versioned_model_reports_its_version(stubbed: StubbedClient) -> None:
    stubbed.get_model(model_description(status="ACTIVE", version=VERSION), version=VERSION)
    result = lifecycle.is_complete(
        stubbed.client, _poll_event(physical_id=f"{MODEL_ARN}#{VERSION}"), NOW
    )
    assert result["Data"]["VersionIdentifier"] == VERSION


@pytest.mark.parametrize("status", ["CREATE_PENDING", "CREATE_IN_PROGRESS"])
def test_training_is_not_complete_and_returns_no_data(stubbed: StubbedClient, status: str) -> None:
    stubbed.get_model(model_description(status=status))
    assert lifecycle.is_complete(stubbed.client, _poll_event(), NOW + 30) == {"IsComplete": False}


def test_failed_training_fails_the_deploy_with_the_services_reason(stubbed: StubbedClient) -> None:
    stubbed.get_model(
        model_description(
            status="CREATE_FAILED",
            status_details={"statusCode": "AlgorithmError", "message": "out of memory"},
        )
    )
    with pytest.raises(lifecycle.HandlerError, match="failed: AlgorithmError: out of memory"):
        lifecycle.is_complete(stubbed.client, _poll_event(), NOW + 30)


@pytest.mark.parametrize(
    "status",
    [
        "CANCEL_PENDING",
        "CANCEL_IN_PROGRESS",
        "CANCEL_FAILED",
        "DELETE_PENDING",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "INACTIVE",
    ],
)
def test_cancel_or_delete_reached_during_create_fails(stubbed: StubbedClient, status: str) -> None:
    stubbed.get_model(
        model_description(status=status, status_details={"message": "cancelled by user"})
    )
    with pytest.raises(lifecycle.HandlerError, match=f"reached {status}.*cancelled by user"):
        lifecycle.is_complete(stubbed.client, _poll_event(), NOW + 30)


def test_timeout_names_the_model_last_status_and_elapsed_time(stubbed: StubbedClient) -> None:
    props = handler_properties(**{contract.COMPLETION_TIMEOUT_SECONDS: "600"})
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS", name="slow"))
    with pytest.raises(
        lifecycle.HandlerError,
        match=r"timed out after 601 s .*'slow'.*last status CREATE_IN_PROGRESS",
    ):
        lifecycle.is_complete(stubbed.client, _poll_event(props), NOW + 601)


@pytest.mark.parametrize("timeout", [None, "3600", "3500"])
def test_the_handler_times_out_before_cloudformation_does(
    stubbed: StubbedClient, timeout: str | None
) -> None:
    """CloudFormation gives a custom resource 3600 s from its request: the handler
    gives up two minutes earlier, so its own message reaches the stack events."""
    fields = {} if timeout is None else {contract.COMPLETION_TIMEOUT_SECONDS: timeout}
    props = handler_properties(**fields)
    deadline = contract.SHORT_PATH_DEADLINE_SECONDS
    assert deadline <= contract.SHORT_PATH_MAX_SECONDS - 120
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    assert lifecycle.is_complete(stubbed.client, _poll_event(props), NOW + deadline - 1) == {
        "IsComplete": False
    }
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS"))
    with pytest.raises(lifecycle.HandlerError, match=f"timed out after {deadline} s"):
        lifecycle.is_complete(stubbed.client, _poll_event(props), NOW + deadline)


def test_without_waiting_a_training_model_completes_at_once(stubbed: StubbedClient) -> None:
    props = handler_properties(**{contract.WAIT_FOR_COMPLETION: "false"})
    stubbed.get_model(model_description(status="CREATE_PENDING"))
    result = lifecycle.is_complete(stubbed.client, _poll_event(props), NOW)
    assert result["IsComplete"] is True
    assert result["Data"]["Status"] == "CREATE_PENDING"


def test_without_waiting_a_failed_model_still_fails(stubbed: StubbedClient) -> None:
    props = handler_properties(**{contract.WAIT_FOR_COMPLETION: "false"})
    stubbed.get_model(model_description(status="CREATE_FAILED"))
    with pytest.raises(lifecycle.HandlerError, match="failed"):
        lifecycle.is_complete(stubbed.client, _poll_event(props), NOW)


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServiceException"])
def test_throttled_poll_is_not_complete_and_tries_again(stubbed: StubbedClient, code: str) -> None:
    stubbed.error("get_trained_model", code, 429 if code.startswith("Thr") else 500)
    assert lifecycle.is_complete(stubbed.client, _poll_event(), NOW + 20) == {"IsComplete": False}


def test_throttled_poll_past_the_timeout_fails(stubbed: StubbedClient) -> None:
    stubbed.error("get_trained_model", "ThrottlingException", 429)
    with pytest.raises(lifecycle.HandlerError, match="timed out"):
        lifecycle.is_complete(
            stubbed.client, _poll_event(), NOW + contract.SHORT_PATH_DEADLINE_SECONDS
        )


# --- update --------------------------------------------------------------------


def _update(
    props: dict[str, Any],
    physical_id: str = MODEL_ARN,
    request_id: str = "update-1",
    old: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return event(
        "Update",
        props,
        physical_id=physical_id,
        old_properties=old or handler_properties(),
        request_id=request_id,
    )


def test_tags_only_change_is_applied_in_place(stubbed: StubbedClient) -> None:
    props = handler_properties(**{contract.TAGS: {"keep": "1", "change": "new", "add": "x"}})
    current_tags = {
        "keep": "1",
        "change": "old",
        "drop": "y",
        contract.RESERVED_TAG_KEY: owner_tag(),
    }
    stubbed.get_model(model_description(status="ACTIVE", tags=current_tags))
    stubbed.untag(["drop"])
    stubbed.tag({"change": "new", "add": "x"})
    result = lifecycle.on_event(stubbed.client, _update(props), NOW)
    assert result["PhysicalResourceId"] == MODEL_ARN
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_REFRESH


def test_update_with_the_current_models_properties_is_a_no_op(stubbed: StubbedClient) -> None:
    # An update rollback re-sends the old properties; the model already has them.
    stubbed.get_model(
        model_description(status="ACTIVE", tags={contract.RESERVED_TAG_KEY: owner_tag()})
    )
    changed = handler_properties(**{contract.VOLUME_SIZE_IN_GB: "99"})
    result = lifecycle.on_event(stubbed.client, _update(handler_properties(), old=changed), NOW)
    assert result["PhysicalResourceId"] == MODEL_ARN


@pytest.mark.parametrize(
    "change",
    [
        {contract.REMOVAL_POLICY: "destroy"},
        {contract.WAIT_FOR_COMPLETION: "false"},
        {contract.COMPLETION_TIMEOUT_SECONDS: "60"},
    ],
)
def test_handler_only_settings_never_replace(
    stubbed: StubbedClient, change: dict[str, Any]
) -> None:
    stubbed.get_model(
        model_description(status="ACTIVE", tags={contract.RESERVED_TAG_KEY: owner_tag()})
    )
    result = lifecycle.on_event(stubbed.client, _update(handler_properties(**change)), NOW)
    assert result["PhysicalResourceId"] == MODEL_ARN


def test_a_changed_create_parameter_trains_a_new_model_with_a_new_name(
    stubbed: StubbedClient,
) -> None:
    props = handler_properties(**{contract.HYPERPARAMETERS: {"epochs": "20"}})
    stubbed.get_model(
        model_description(
            status="ACTIVE", name=generated(), tags={contract.RESERVED_TAG_KEY: owner_tag()}
        )
    )
    new_name = generated("update-1")
    assert new_name != generated()
    stubbed.list_models([summary(name=generated())])
    request = create_request(new_name, props, request_id="update-1")
    request["hyperparameters"] = {"epochs": "20"}
    stubbed.create_model(arn=MODEL_ARN_2, expected=request)
    result = lifecycle.on_event(stubbed.client, _update(props), NOW)
    assert result["PhysicalResourceId"] == MODEL_ARN_2
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_WAIT_CREATE


def test_a_fixed_name_that_needs_replacement_fails_with_rename_advice(
    stubbed: StubbedClient,
) -> None:
    old = handler_properties(**{contract.NAME_PREFIX: None, contract.NAME: "fixed"})
    new = dict(old, **{contract.VOLUME_SIZE_IN_GB: "60"})
    stubbed.get_model(
        model_description(
            status="ACTIVE", name="fixed", tags={contract.RESERVED_TAG_KEY: owner_tag(old)}
        )
    )
    with pytest.raises(lifecycle.HandlerError, match="rename"):
        lifecycle.on_event(stubbed.client, _update(new, old=old), NOW)


def test_a_new_fixed_name_replaces(stubbed: StubbedClient) -> None:
    old = handler_properties(**{contract.NAME_PREFIX: None, contract.NAME: "fixed"})
    new = dict(old, **{contract.NAME: "fixed-2"})
    stubbed.get_model(
        model_description(
            status="ACTIVE", name="fixed", tags={contract.RESERVED_TAG_KEY: owner_tag(old)}
        )
    )
    stubbed.list_models([summary(name="fixed")])
    stubbed.create_model(
        arn=MODEL_ARN_2, expected=create_request("fixed-2", new, request_id="update-1")
    )
    assert (
        lifecycle.on_event(stubbed.client, _update(new, old=old), NOW)["PhysicalResourceId"]
        == MODEL_ARN_2
    )


def test_update_of_a_model_deleted_outside_cloudformation_trains_a_new_one(
    stubbed: StubbedClient,
) -> None:
    stubbed.error("get_trained_model", "ResourceNotFoundException", 404)
    stubbed.list_models([])
    stubbed.create_model(arn=MODEL_ARN_2)
    assert (
        lifecycle.on_event(stubbed.client, _update(handler_properties()), NOW)["PhysicalResourceId"]
        == MODEL_ARN_2
    )


def test_update_of_a_foreign_physical_id_fails(stubbed: StubbedClient) -> None:
    with pytest.raises(lifecycle.HandlerError, match="not a trained model"):
        lifecycle.on_event(
            stubbed.client, _update(handler_properties(), physical_id="something-else"), NOW
        )


def test_refresh_after_update_reports_attributes(stubbed: StubbedClient) -> None:
    stubbed.get_model(model_description(status="ACTIVE"))
    poll = then_poll(
        _update(handler_properties()),
        {
            "PhysicalResourceId": MODEL_ARN,
            lifecycle.ACTION_KEY: lifecycle.ACTION_REFRESH,
            lifecycle.STARTED_AT_KEY: NOW,
        },
    )
    assert lifecycle.is_complete(stubbed.client, poll, NOW)["IsComplete"] is True


# --- delete --------------------------------------------------------------------

DESTROY = handler_properties(**{contract.REMOVAL_POLICY: "destroy"})
OWNED = {
    contract.RESERVED_TAG_KEY: ownership.ownership_tag(
        STACK_ID, LOGICAL_ID, "any-request", "0" * 64
    )
}


def _delete(props: dict[str, Any] = DESTROY, physical_id: str = MODEL_ARN) -> dict[str, Any]:
    return event("Delete", props, physical_id=physical_id)


def _deleting_poll() -> dict[str, Any]:
    """The poll event after on_event started deleting the model."""
    return then_poll(
        _delete(),
        {
            "PhysicalResourceId": MODEL_ARN,
            lifecycle.ACTION_KEY: lifecycle.ACTION_DELETE,
            lifecycle.STARTED_AT_KEY: NOW,
        },
    )


def test_retain_deletes_nothing(stubbed: StubbedClient) -> None:
    result = lifecycle.on_event(stubbed.client, _delete(handler_properties()), NOW)
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_NONE
    assert lifecycle.is_complete(stubbed.client, then_poll(_delete(), result), NOW) == {
        "IsComplete": True
    }


@pytest.mark.parametrize(
    "physical_id",
    [
        "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED",
        "",
        "arn:aws:s3:::bucket",
        f"{MODEL_ARN}#not-a-version",
        MODEL_ARN.replace("trained-model", "ml-input-channel"),
    ],
)
def test_a_physical_id_that_is_not_ours_is_never_touched(
    stubbed: StubbedClient, physical_id: str
) -> None:
    result = lifecycle.on_event(stubbed.client, _delete(physical_id=physical_id), NOW)
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_NONE


def test_a_model_another_resource_created_is_never_deleted(stubbed: StubbedClient) -> None:
    foreign = {
        contract.RESERVED_TAG_KEY: ownership.ownership_tag(STACK_ID, "OtherModel", "r", "0" * 64)
    }
    stubbed.get_model(model_description(status="ACTIVE", tags=foreign))
    assert (
        lifecycle.on_event(stubbed.client, _delete(), NOW)[lifecycle.ACTION_KEY]
        == lifecycle.ACTION_NONE
    )


def test_unreadable_properties_never_delete(stubbed: StubbedClient) -> None:
    broken = dict(DESTROY, **{contract.VOLUME_SIZE_IN_GB: "lots"})
    assert (
        lifecycle.on_event(stubbed.client, _delete(broken), NOW)[lifecycle.ACTION_KEY]
        == lifecycle.ACTION_NONE
    )


def test_destroy_deletes_the_output_of_the_version_it_created_and_waits(
    stubbed: StubbedClient,
) -> None:
    physical_id = f"{MODEL_ARN}#{VERSION}"
    stubbed.get_model(
        model_description(status="ACTIVE", version=VERSION, tags=OWNED), version=VERSION
    )
    stubbed.delete_output(version=VERSION)
    result = lifecycle.on_event(stubbed.client, _delete(physical_id=physical_id), NOW)
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_DELETE
    poll = then_poll(_delete(physical_id=physical_id), result)
    stubbed.get_model(
        model_description(status="DELETE_IN_PROGRESS", version=VERSION, tags=OWNED), version=VERSION
    )
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 10) == {"IsComplete": False}
    stubbed.get_model(
        model_description(status="INACTIVE", version=VERSION, tags=OWNED), version=VERSION
    )
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 20) == {"IsComplete": True}


def test_destroy_cancels_training_then_deletes_nothing_more_once_cancelled(
    stubbed: StubbedClient,
) -> None:
    stubbed.get_model(model_description(status="CREATE_IN_PROGRESS", tags=OWNED))
    stubbed.cancel()
    result = lifecycle.on_event(stubbed.client, _delete(), NOW)
    poll = then_poll(_delete(), result)
    stubbed.get_model(model_description(status="CANCEL_IN_PROGRESS", tags=OWNED))
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 10) == {"IsComplete": False}
    stubbed.error("get_trained_model", "ResourceNotFoundException", 404)
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 20) == {"IsComplete": True}


def test_destroy_of_an_inactive_model_completes_at_once(stubbed: StubbedClient) -> None:
    stubbed.get_model(model_description(status="INACTIVE", tags=OWNED))
    assert (
        lifecycle.on_event(stubbed.client, _delete(), NOW)[lifecycle.ACTION_KEY]
        == lifecycle.ACTION_NONE
    )


def test_destroy_of_a_failed_training_deletes_its_output_so_the_name_is_freed(
    stubbed: StubbedClient,
) -> None:
    stubbed.get_model(model_description(status="CREATE_FAILED", tags=OWNED))
    stubbed.delete_output()
    result = lifecycle.on_event(stubbed.client, _delete(), NOW)
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_DELETE
    poll = then_poll(_delete(), result)
    stubbed.get_model(model_description(status="DELETE_IN_PROGRESS", tags=OWNED))
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 10) == {"IsComplete": False}
    stubbed.get_model(model_description(status="INACTIVE", tags=OWNED))
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 20) == {"IsComplete": True}


@pytest.mark.parametrize(
    ("code", "status"), [("ConflictException", 409), ("ValidationException", 400)]
)
def test_destroy_of_a_failed_training_with_nothing_to_delete_completes_at_once(
    stubbed: StubbedClient, code: str, status: int
) -> None:
    stubbed.get_model(model_description(status="CREATE_FAILED", tags=OWNED))
    stubbed.error("delete_trained_model_output", code, status)
    result = lifecycle.on_event(stubbed.client, _delete(), NOW)
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_NONE


def test_a_failed_training_seen_while_deleting_is_not_deleted_again(
    stubbed: StubbedClient,
) -> None:
    """Only on_event tries it: a service that keeps CREATE_FAILED cannot loop the poll."""
    poll = _deleting_poll()
    stubbed.get_model(model_description(status="CREATE_FAILED", tags=OWNED))
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 10) == {"IsComplete": True}


def test_destroy_of_a_model_already_gone_succeeds(stubbed: StubbedClient) -> None:
    stubbed.error("get_trained_model", "ResourceNotFoundException", 404)
    assert (
        lifecycle.on_event(stubbed.client, _delete(), NOW)[lifecycle.ACTION_KEY]
        == lifecycle.ACTION_NONE
    )


@pytest.mark.parametrize("status", ["DELETE_FAILED", "CANCEL_FAILED"])
def test_a_failed_delete_is_retried_once_per_delete_event_then_fails_with_the_reason(
    stubbed: StubbedClient, status: str
) -> None:
    failed = model_description(
        status=status, tags=OWNED, status_details={"message": "artifacts locked"}
    )
    stubbed.get_model(failed)
    # the new Delete event (e.g. the user retries the stack delete) deletes the output;
    # a failed cancel too: cancelling again is only for a model still training (A4)
    stubbed.delete_output()
    result = lifecycle.on_event(stubbed.client, _delete(), NOW)
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_DELETE
    stubbed.get_model(failed)  # it failed again: no second retry from the poll
    with pytest.raises(lifecycle.HandlerError, match=f"{status}.*artifacts locked.*again"):
        lifecycle.is_complete(stubbed.client, then_poll(_delete(), result), NOW + 10)


def test_a_retried_delete_that_succeeds_completes(stubbed: StubbedClient) -> None:
    stubbed.get_model(model_description(status="DELETE_FAILED", tags=OWNED))
    stubbed.delete_output()
    result = lifecycle.on_event(stubbed.client, _delete(), NOW)
    stubbed.get_model(model_description(status="INACTIVE", tags=OWNED))
    assert lifecycle.is_complete(stubbed.client, then_poll(_delete(), result), NOW + 10) == {
        "IsComplete": True
    }


@pytest.mark.parametrize("code", sorted(TRANSIENT_ERRORS))
@pytest.mark.parametrize("status", ["CREATE_FAILED", "DELETE_FAILED", "CANCEL_FAILED"])
def test_a_throttled_one_time_delete_step_is_taken_by_the_next_poll(
    stubbed: StubbedClient, status: str, code: str
) -> None:
    """Throttling never skips deleting a failed training's output or retrying a failed delete."""
    model = model_description(status=status, tags=OWNED)
    stubbed.get_model(model)
    stubbed.error("delete_trained_model_output", code, ERRORS[code])
    result = lifecycle.on_event(stubbed.client, _delete(), NOW)
    assert result[lifecycle.ACTION_KEY] == lifecycle.ACTION_DELETE
    assert result[lifecycle.DEFERRED_STEP_KEY] == TIMESTAMP.timestamp()  # as on_event saw it
    poll = then_poll(json.loads(json.dumps(_delete())), json.loads(json.dumps(result)))
    stubbed.get_model(model)  # unchanged since on_event saw it: take the step now
    stubbed.error("delete_trained_model_output", code, ERRORS[code])
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 10) == {"IsComplete": False}
    stubbed.get_model(model)
    stubbed.delete_output()
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 20) == {"IsComplete": False}
    stubbed.get_model(model_description(status="INACTIVE", tags=OWNED))
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 30) == {"IsComplete": True}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("CREATE_FAILED", "done"), ("DELETE_FAILED", "fails"), ("CANCEL_FAILED", "fails")],
)
def test_a_deferred_step_is_never_repeated_once_the_model_changed(
    stubbed: StubbedClient, status: str, outcome: str
) -> None:
    """After the step was taken (the model changed since the event), a poll never repeats it."""
    poll = then_poll(
        _delete(),
        {
            "PhysicalResourceId": MODEL_ARN,
            lifecycle.ACTION_KEY: lifecycle.ACTION_DELETE,
            lifecycle.STARTED_AT_KEY: NOW,
            lifecycle.DEFERRED_STEP_KEY: TIMESTAMP.timestamp(),
        },
    )
    later = datetime.fromtimestamp(TIMESTAMP.timestamp() + 5, UTC)
    stubbed.get_model(model_description(status=status, tags=OWNED, update_time=later))
    if outcome == "done":
        assert lifecycle.is_complete(stubbed.client, poll, NOW + 10) == {"IsComplete": True}
    else:
        with pytest.raises(lifecycle.HandlerError, match=f"{status}.*again"):
            lifecycle.is_complete(stubbed.client, poll, NOW + 10)


@pytest.mark.parametrize("status", ["DELETE_FAILED", "CANCEL_FAILED"])
def test_a_deferred_retry_the_service_refuses_fails_at_once_instead_of_looping(
    stubbed: StubbedClient, status: str
) -> None:
    model = model_description(status=status, tags=OWNED, status_details={"message": "locked"})
    stubbed.get_model(model)
    stubbed.error("delete_trained_model_output", "ThrottlingException", 429)
    poll = then_poll(_delete(), lifecycle.on_event(stubbed.client, _delete(), NOW))
    stubbed.get_model(model)
    stubbed.error("delete_trained_model_output", "ConflictException", 409)
    with pytest.raises(lifecycle.HandlerError, match=f"{status}.*locked.*again"):
        lifecycle.is_complete(stubbed.client, poll, NOW + 10)


def test_a_deferred_step_compares_the_services_clock_only(stubbed: StubbedClient) -> None:
    """A model that changed just before on_event looked (or a service clock ahead of
    the Lambda's) still gets its deferred step: only updateTime values are compared."""
    model = model_description(
        status="CREATE_FAILED", tags=OWNED, update_time=datetime.fromtimestamp(NOW + 30, UTC)
    )
    stubbed.get_model(model)
    stubbed.error("delete_trained_model_output", "ThrottlingException", 429)
    poll = then_poll(_delete(), lifecycle.on_event(stubbed.client, _delete(), NOW))
    stubbed.get_model(model)
    stubbed.delete_output()
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 10) == {"IsComplete": False}


def test_delete_poll_finishes_what_on_event_started(stubbed: StubbedClient) -> None:
    # The model became ACTIVE after the cancel request raced it: delete its output.
    poll = _deleting_poll()
    stubbed.get_model(model_description(status="ACTIVE", tags=OWNED))
    stubbed.delete_output()
    assert lifecycle.is_complete(stubbed.client, poll, NOW + 10) == {"IsComplete": False}


# --- fault matrix: every error at every step ------------------------------------

FAIL = "fail"
NOT_YET = "not-yet"
DONE = "done"
OTHER = "other"

ALL_ERRORS = ERRORS  # every error the operations the handler calls can return


def _step_create_list(s: StubbedClient, code: str, status: int) -> str:
    s.error("list_trained_models", code, status)
    lifecycle.on_event(s.client, event("Create", request_id=REQUEST_ID), NOW)
    return DONE


def _step_create_adopt_get(s: StubbedClient, code: str, status: int) -> str:
    s.list_models([summary(name=generated())])
    s.error("get_trained_model", code, status)
    if code == "ResourceNotFoundException":
        s.create_model()  # the listed model vanished: nothing to adopt
    lifecycle.on_event(s.client, event("Create", request_id=REQUEST_ID), NOW)
    return DONE


def _step_create(s: StubbedClient, code: str, status: int) -> str:
    s.list_models([])
    s.error("create_trained_model", code, status)
    if code == "ConflictException":
        s.list_models([])
    lifecycle.on_event(s.client, event("Create", request_id=REQUEST_ID), NOW)
    return DONE


def _step_poll(s: StubbedClient, code: str, status: int) -> str:
    s.error("get_trained_model", code, status)
    result = lifecycle.is_complete(s.client, _poll_event(), NOW + 10)
    return DONE if result["IsComplete"] else NOT_YET


def _step_update_get(s: StubbedClient, code: str, status: int) -> str:
    s.error("get_trained_model", code, status)
    if code == "ResourceNotFoundException":
        s.list_models([])
        s.create_model(arn=MODEL_ARN_2)
        result = lifecycle.on_event(s.client, _update(handler_properties()), NOW)
        return OTHER if result["PhysicalResourceId"] == MODEL_ARN_2 else DONE
    lifecycle.on_event(s.client, _update(handler_properties()), NOW)
    return DONE


def _step_tag(s: StubbedClient, code: str, status: int) -> str:
    s.get_model(model_description(status="ACTIVE", tags={contract.RESERVED_TAG_KEY: owner_tag()}))
    s.error("tag_resource", code, status)
    lifecycle.on_event(s.client, _update(handler_properties(**{contract.TAGS: {"a": "b"}})), NOW)
    return DONE


def _step_untag(s: StubbedClient, code: str, status: int) -> str:
    s.get_model(
        model_description(status="ACTIVE", tags={"a": "b", contract.RESERVED_TAG_KEY: owner_tag()})
    )
    s.error("untag_resource", code, status)
    lifecycle.on_event(s.client, _update(handler_properties()), NOW)
    return DONE


def _step_delete_get(s: StubbedClient, code: str, status: int) -> str:
    s.error("get_trained_model", code, status)
    result = lifecycle.on_event(s.client, _delete(), NOW)
    return NOT_YET if result[lifecycle.ACTION_KEY] == lifecycle.ACTION_DELETE else DONE


def _step_cancel(s: StubbedClient, code: str, status: int) -> str:
    s.get_model(model_description(status="CREATE_IN_PROGRESS", tags=OWNED))
    s.error("cancel_trained_model", code, status)
    result = lifecycle.on_event(s.client, _delete(), NOW)
    return NOT_YET if result[lifecycle.ACTION_KEY] == lifecycle.ACTION_DELETE else DONE


def _step_delete_output_of(model_status: str) -> Any:
    """The Delete event's DeleteTrainedModelOutput, for a model in ``model_status``."""

    def step(s: StubbedClient, code: str, status: int) -> str:
        s.get_model(model_description(status=model_status, tags=OWNED))
        s.error("delete_trained_model_output", code, status)
        result = lifecycle.on_event(s.client, _delete(), NOW)
        return NOT_YET if result[lifecycle.ACTION_KEY] == lifecycle.ACTION_DELETE else DONE

    return step


def _step_delete_poll(s: StubbedClient, code: str, status: int) -> str:
    poll = _deleting_poll()
    s.error("get_trained_model", code, status)
    return DONE if lifecycle.is_complete(s.client, poll, NOW + 10)["IsComplete"] else NOT_YET


TRANSIENT = {"ThrottlingException", "InternalServiceException"}

STEPS: dict[str, tuple[Any, dict[str, str]]] = {
    # step: (driver, {error code: outcome}); codes not listed fail the deployment
    "create/list": (_step_create_list, {}),
    "create/adopt-get": (_step_create_adopt_get, {"ResourceNotFoundException": DONE}),
    "create/create": (_step_create, {}),
    "create/poll": (_step_poll, dict.fromkeys(TRANSIENT, NOT_YET)),
    "update/get": (_step_update_get, {"ResourceNotFoundException": OTHER}),
    "update/tag": (_step_tag, {}),
    "update/untag": (_step_untag, {}),
    "delete/get": (_step_delete_get, {"ResourceNotFoundException": DONE}),
    "delete/cancel": (
        _step_cancel,
        {
            "ResourceNotFoundException": DONE,
            "ConflictException": NOT_YET,
            **dict.fromkeys(TRANSIENT, NOT_YET),
        },
    ),
    "delete/delete-output": (
        _step_delete_output_of("ACTIVE"),
        {
            "ResourceNotFoundException": DONE,
            "ConflictException": NOT_YET,
            **dict.fromkeys(TRANSIENT, NOT_YET),
        },
    ),
    "delete/failed-training-output": (
        _step_delete_output_of("CREATE_FAILED"),
        {
            "ResourceNotFoundException": DONE,
            "ConflictException": DONE,  # nothing stored for a failed training
            "ValidationException": DONE,
            **dict.fromkeys(TRANSIENT, NOT_YET),
        },
    ),
    "delete/poll": (
        _step_delete_poll,
        {"ResourceNotFoundException": DONE, **dict.fromkeys(TRANSIENT, NOT_YET)},
    ),
}

ADVICE = {
    "ThrottlingException": "deploy again",
    "InternalServiceException": "deploy again",
    "ConflictException": "state",
    "ValidationException": "check the TrainedModel props",
    "AccessDeniedException": "role",
    "ServiceQuotaExceededException": "quota",
    "ResourceNotFoundException": "does not exist",
}


@pytest.mark.parametrize("code", sorted(ALL_ERRORS))
@pytest.mark.parametrize("step", sorted(STEPS))
def test_fault_matrix_every_error_at_every_step_has_a_defined_outcome(
    stubbed: StubbedClient, step: str, code: str
) -> None:
    driver, outcomes = STEPS[step]
    expected = outcomes.get(code, FAIL)
    if expected == FAIL:
        with pytest.raises(lifecycle.HandlerError) as raised:
            driver(stubbed, code, ALL_ERRORS[code])
        assert f"({code})" in str(raised.value)
        assert ADVICE[code] in str(raised.value)
    else:
        assert driver(stubbed, code, ALL_ERRORS[code]) == expected


# --- entry points and logs ------------------------------------------------------------


def test_index_dispatches_and_logs_one_json_line_per_step_without_secrets(
    stubbed: StubbedClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(index, "_client", stubbed.client)
    props = handler_properties(
        **{
            contract.HYPERPARAMETERS: {"password": "hp-SECRET-1"},
            contract.ENVIRONMENT: {"TOKEN": "env-SECRET-2"},
        }
    )
    raw = event("Create", props, request_id=REQUEST_ID)
    stubbed.list_models([])
    expected = create_request(generated(), props)
    expected.update(
        hyperparameters={"password": "hp-SECRET-1"}, environment={"TOKEN": "env-SECRET-2"}
    )
    stubbed.create_model(expected=expected)
    result = index.on_event(raw, None)
    stubbed.get_model(model_description(status="ACTIVE"))
    index.is_complete(then_poll(raw, result), None)
    stubbed.get_model(model_description(status="CREATE_FAILED", status_details={"message": "bad"}))
    with pytest.raises(lifecycle.HandlerError):
        index.is_complete(then_poll(raw, result), None)
    lines = capsys.readouterr().out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["step"] for r in records] == ["on-event", "created", "poll", "poll", "failed"]
    assert records[2]["trainedModelArn"] == MODEL_ARN
    assert records[2]["status"] == "ACTIVE"
    assert "elapsedSeconds" in records[2]
    text = "\n".join(lines)
    for secret in ("hp-SECRET-1", "env-SECRET-2", "SECRET-PRESIGNED", "ResponseURL"):
        assert secret not in text
