"""A base model and the models trained from it, under both readings of incremental
training (ASSUMPTION A2): a new ARN (``new-arn``), or a new version of the base model's
ARN (``shared-arn``), where the base and its versions share one ARN and one tag set.

Each resource touches only what is its own, whichever reading the service has:

- ownership: a version's ownership tag never overwrites the base's, nor another
  version's (``contract.version_tag_key``), so the base stays its own resource's and
  every version is found again by the request that made it;
- tags: one resource's tag update never removes another's tags from a shared ARN;
- calls without a version: the base model is described as the base version, never as
  the latest version its ARN answers for without one;
- a stack delete that removes the base (DESTROY) while a version of it is kept (RETAIN)
  leaves the kept version as it was, whatever deleting the base's output does;
- an inference job runs on the version the model's construct reports.

Through the handler's real entry points, the Provider framework's behaviour around them
and the in-process CloudFormation (``emulated``), against the emulator over HTTP; the
readings the emulator cannot tell apart from its answers are checked call by call with
botocore's Stubber.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk.assertions import Template
from emulated import BEHAVIOURS, World, model_props, serve

import contract
import engine
import index
import ownership
from cdk_cleanrooms_ml import (
    IncrementalTrainingDataChannel,
    MLInputChannel,
    TrainedModel,
    TrainedModelInferenceJob,
)
from cdk_cleanrooms_ml.local import resources
from cdk_cleanrooms_ml.local.emulator import EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import (
    BASE_OUTPUT_DELETE,
    MODEL,
    SHARED_ARN,
)
from helpers import (
    ACCOUNT,
    CHANNEL_ARN,
    MEMBERSHIP,
    STACK_ID,
    StubbedClient,
    event,
    handler_properties,
    logical_id,
    model_description,
    new_stack,
    summary,
    valid_props,
)

RETAIN = {contract.REMOVAL_POLICY: "retain"}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


@pytest.fixture(params=BEHAVIOURS)
def world(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, server: EmulatorServer
) -> World:
    return World.on(monkeypatch, server, incremental_training=request.param)


def _shared(world: World) -> bool:
    return world.emulator.incremental_training == SHARED_ARN


def _version_props(
    base_arn: str,
    epochs: str = "20",
    *,
    tags: dict[str, str] | None = None,
    retain: bool = False,
) -> dict[str, Any]:
    """A model trained from ``base_arn`` (the construct's own name prefix), DESTROY
    unless ``retain``."""
    extra: dict[str, Any] = dict(RETAIN) if retain else {}
    if tags is not None:
        extra[contract.TAGS] = tags
    return model_props(
        epochs,
        **{
            contract.NAME_PREFIX: "Test-Successor",
            contract.INCREMENTAL_TRAINING_DATA_CHANNELS: [
                {contract.CHANNEL_TRAINED_MODEL_ARN: base_arn, contract.CHANNEL_NAME: "base"}
            ],
            **extra,
        },
    )


def _models(world: World) -> dict[str, dict[str, Any]]:
    """The emulator's model versions by physical id."""
    found = {}
    for model in world.emulator.snapshot(MODEL):
        version = model["versionIdentifier"]
        found[f"{model['arn']}#{version}" if version else model["arn"]] = model
    return found


def _status(world: World, physical_id: str) -> str:
    return str(_models(world)[physical_id]["status"])


def _tags(world: World, arn: str) -> dict[str, str]:
    answer = world.emulator.call("ListTagsForResource", {"resourceArn": arn})
    return dict(answer["tags"])


def test_a_version_never_takes_the_base_models_ownership(world: World) -> None:
    """Hazard (i): under a shared ARN a version's create would overwrite the base's
    ownership tag (tags are per ARN): the base would look "not ours" and its DESTROY
    delete be skipped. Each keeps its own: a stack delete (the version first, as
    CloudFormation deletes what depends on the base first) deletes both outputs."""
    base_cfn, next_cfn = world.cfn(logical_id="Base"), world.cfn(logical_id="Successor")
    base = base_cfn.create(model_props("10"))
    assert base.ok, base.reason
    successor = next_cfn.create(_version_props(base.physical_id))
    assert successor.ok, successor.reason
    version = successor.data["VersionIdentifier"]
    arn = successor.data["TrainedModelArn"]
    assert (arn == base.physical_id) == _shared(world)
    assert successor.physical_id == f"{arn}#{version}"
    held = [
        ownership.parse_tag(value)
        for key, value in _tags(world, arn).items()
        if contract.is_reserved_tag_key(key)
    ]
    owners = sorted(tag.who or "" for tag in held if tag is not None)
    assert owners == (["Test/Base", "Test/Successor"] if _shared(world) else ["Test/Successor"])
    assert next_cfn.delete(_version_props(base.physical_id), physical_id=successor.physical_id).ok
    world.settle()
    assert base_cfn.delete(model_props("10"), physical_id=base.physical_id).ok
    world.settle()
    assert _status(world, successor.physical_id) == "INACTIVE"
    assert _status(world, base.physical_id) == "INACTIVE", (
        "the base model's DESTROY delete was skipped: its ownership tag was overwritten"
    )


def test_each_version_is_found_again_by_the_request_that_made_it(world: World) -> None:
    """Hazard (i), adoption: a poll that lost the create call's answer (another
    container: nothing resolved in memory) finds the version its request made by its
    own tag, also after another resource made a version of the same base since; it
    creates nothing more."""
    base = world.cfn(logical_id="Base").create(model_props("10"))
    assert base.ok, base.reason
    flight = world.cfn(logical_id="Second").start(_version_props(base.physical_id, "30"))
    flight.poll()  # creates the version (its answer is kept by this "container" only)
    made = [m for m in world.emulator.snapshot(MODEL) if m["hyperparameters"] == {"epochs": "30"}]
    assert len(made) == 1
    third = world.cfn(logical_id="Third").create(_version_props(base.physical_id, "40"))
    assert third.ok, third.reason
    engine.RESOLVED.clear()  # the next poll runs in another container
    while (done := flight.poll()) is None:
        world.settle(10)
    assert done.ok, done.reason
    assert done.physical_id == f"{made[0]['arn']}#{made[0]['versionIdentifier']}"
    assert len(world.emulator.snapshot(MODEL)) == 3  # base, second, third: none again


def test_a_fixed_name_used_again_finds_the_new_version_not_the_inactive_one(
    world: World,
) -> None:
    """A version's tag key comes from its name: a fixed name used again (the first
    version deleted, INACTIVE, holds no name: A1) puts the new version's tag under the
    same key, which the INACTIVE namesake on a shared ARN then shows too. The search
    for an earlier attempt (another container) takes the newest, the new version."""
    base = world.cfn(logical_id="Base").create(model_props("10"))
    assert base.ok, base.reason
    fixed = _version_props(base.physical_id)
    fixed.pop(contract.NAME_PREFIX)
    fixed[contract.NAME] = "successor"
    cfn = world.cfn(logical_id="Successor")
    first = cfn.create(fixed)
    assert first.ok, first.reason
    assert cfn.delete(fixed, physical_id=first.physical_id).ok
    world.settle(600)
    assert _status(world, first.physical_id) == "INACTIVE"
    cfn.recreate_stack()
    flight = cfn.start(fixed)
    flight.poll()  # creates the new version under the same name
    engine.RESOLVED.clear()
    while (done := flight.poll()) is None:
        world.settle(10)
    assert done.ok, done.reason
    assert done.physical_id != first.physical_id
    assert _status(world, done.physical_id) == "ACTIVE"
    assert len(world.emulator.snapshot(MODEL)) == 3  # base, first, the new one


def test_a_tag_update_never_removes_another_resources_tags(world: World) -> None:
    """Hazard (ii): on a shared ARN the tag set is every version's; the base's tag
    update must not remove the version's tags (nor the other way round): each removes
    only what its old properties asked for and its new ones do not."""
    base_props = model_props("10", **{contract.TAGS: {"team": "base"}})
    base_cfn, next_cfn = world.cfn(logical_id="Base"), world.cfn(logical_id="Successor")
    base = base_cfn.create(base_props)
    assert base.ok, base.reason
    next_props = _version_props(base.physical_id, tags={"owner": "successor"})
    successor = next_cfn.create(next_props)
    assert successor.ok, successor.reason
    arn = successor.data["TrainedModelArn"]
    retagged = model_props("10", **{contract.TAGS: {"team": "base2"}})
    updated = base_cfn.update(retagged, old=base_props, physical_id=base.physical_id)
    assert updated.ok, updated.reason
    assert updated.physical_id == base.physical_id
    assert _tags(world, base.physical_id)["team"] == "base2"
    assert _tags(world, arn)["owner"] == "successor", "the base's update removed its tag"
    untagged = _version_props(base.physical_id)
    dropped = next_cfn.update(untagged, old=next_props, physical_id=successor.physical_id)
    assert dropped.ok, dropped.reason
    assert "owner" not in _tags(world, arn)
    assert _tags(world, base.physical_id)["team"] == "base2", "the version's update removed it"
    assert len(world.emulator.snapshot(MODEL)) == 2


def test_the_base_model_is_described_as_the_base_version(world: World) -> None:
    """Hazard (iii): ``GetTrainedModel`` without a version answers for the ARN's latest
    version, under a shared ARN the incremental one. The base's in-place update after
    one was trained from it is still in place (no replacement, no new training), and
    reports the base's own name and status."""
    base_cfn = world.cfn(logical_id="Base")
    base_props = model_props("10")
    base = base_cfn.create(base_props)
    assert base.ok, base.reason
    world.emulator.timings.training_seconds = 3600  # the version is still training
    flight = world.cfn(logical_id="Successor").start(_version_props(base.physical_id))
    flight.poll()
    tagged = model_props("10", **{contract.TAGS: {"team": "ml"}})
    updated = base_cfn.update(tagged, old=base_props, physical_id=base.physical_id)
    assert updated.ok, updated.reason
    assert updated.physical_id == base.physical_id
    assert updated.data["TrainedModelName"] == base.data["TrainedModelName"]
    assert updated.data["Status"] == "ACTIVE"
    assert "VersionIdentifier" not in updated.data
    assert len(world.emulator.snapshot(MODEL)) == 2  # nothing trained again


def _train_by_hand(world: World, name: str, arn: str, version: str | None = None) -> str:
    """A model trained from ``arn`` (``version``) outside CloudFormation: its physical
    id as the handler would write it."""
    channel = {"trainedModelArn": arn, "channelName": "base"}
    if version:
        channel["versionIdentifier"] = version
    made = world.emulator.call(
        "CreateTrainedModel",
        {
            "membershipIdentifier": MEMBERSHIP,
            "name": name,
            "configuredModelAlgorithmAssociationArn": handler_properties()[
                contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN
            ],
            "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
            "dataChannels": [{"mlInputChannelArn": CHANNEL_ARN, "channelName": "t"}],
            "incrementalTrainingDataChannels": [channel],
        },
    )
    world.settle(600)
    return f"{made['trainedModelArn']}#{made['versionIdentifier']}"


@pytest.mark.parametrize("made_by", ["a stack", "hand"])
@pytest.mark.parametrize("deleting", BASE_OUTPUT_DELETE)
def test_a_kept_version_survives_the_deletion_of_its_base(
    monkeypatch: pytest.MonkeyPatch, server: EmulatorServer, deleting: str, made_by: str
) -> None:
    """Hazard (iv): a stack delete removes the base (DESTROY) while a version trained
    from it is kept: another resource's (RETAIN), or one made outside CloudFormation.
    What ``DeleteTrainedModelOutput`` without a version does to the other versions of a
    shared ARN is not documented (the base version only, every version, or refused): the
    kept version must stay ACTIVE and usable whatever it does, so the base's output is
    kept while a version of it is in use. Under a new ARN nothing is shared, and the
    base is deleted."""
    for behaviour in BEHAVIOURS:
        world = World.on(
            monkeypatch, server, incremental_training=behaviour, base_output_delete=deleting
        )
        base_cfn, next_cfn = world.cfn(logical_id="Base"), world.cfn(logical_id="Successor")
        base = base_cfn.create(model_props("10"))
        assert base.ok, base.reason
        if made_by == "hand":
            kept = _train_by_hand(world, f"by-hand-{behaviour}", base.physical_id)
        else:
            kept_props = _version_props(base.physical_id, retain=True)
            made = next_cfn.create(kept_props)
            assert made.ok, made.reason
            kept = made.physical_id
            # the stack delete: Delete(successor) (CloudFormation skips it: Retain) ...
            assert next_cfn.delete(kept_props, physical_id=kept).ok
        # ... and Delete(base)
        gone = base_cfn.delete(model_props("10"), physical_id=base.physical_id)
        assert gone.ok, gone.reason
        world.settle(600)
        assert _status(world, kept) == "ACTIVE", (behaviour, deleting)
        expected = "ACTIVE" if behaviour == SHARED_ARN else "INACTIVE"
        assert _status(world, base.physical_id) == expected, (behaviour, deleting)
        arn, _, version = kept.partition("#")
        _train_by_hand(world, f"from-the-kept-one-{behaviour}", arn, version)  # still usable


def test_the_base_is_deleted_once_its_versions_are_gone(
    monkeypatch: pytest.MonkeyPatch, server: EmulatorServer
) -> None:
    """Hazard (iv), the other way: the base's output is kept only while a version of it
    is in use. A retried stack delete, once the kept version's output was deleted by
    hand, deletes the base."""
    world = World.on(monkeypatch, server, incremental_training=SHARED_ARN)
    base_cfn = world.cfn(logical_id="Base")
    base = base_cfn.create(model_props("10"))
    kept = _train_by_hand(world, "by-hand", base.physical_id)
    assert base_cfn.delete(model_props("10"), physical_id=base.physical_id).ok
    world.settle(600)
    assert _status(world, base.physical_id) == "ACTIVE"
    arn, _, version = kept.partition("#")
    world.emulator.call(
        "DeleteTrainedModelOutput",
        {"membershipIdentifier": MEMBERSHIP, "trainedModelArn": arn, "versionIdentifier": version},
    )
    world.settle(600)
    assert base_cfn.delete(model_props("10"), physical_id=base.physical_id).ok
    world.settle(600)
    assert _status(world, base.physical_id) == "INACTIVE"


def test_status_names_the_owner_of_each_version(world: World) -> None:
    """``cdk-cleanrooms-ml local status``/``destroy`` read a version's owner from its own
    tag, not the base's (the ARN's) one."""
    base = world.cfn(logical_id="Base").create(model_props("10", **RETAIN))
    successor_props = _version_props(base.physical_id, retain=True)
    successor = world.cfn(logical_id="Successor").create(successor_props)
    shaped = resources.shaped(world.emulator.resources())[resources.MODEL]
    owners = {resources.physical_id(resources.MODEL, r): r["owner"] for r in shaped}
    assert owners == {base.physical_id: "Test/Base", successor.physical_id: "Test/Successor"}


def test_a_job_on_a_model_trained_incrementally_names_its_version() -> None:
    """Hazard (v), the construct: a job on an incremental ``TrainedModel`` sends the
    version that model reports (``Fn::GetAtt VersionIdentifier``) with its ARN, so it
    runs on that version, never on whichever version is its ARN's latest."""
    stack = new_stack()
    base = TrainedModel(stack, "Base", **valid_props())
    successor = TrainedModel(
        stack,
        "Successor",
        **valid_props(
            incremental_training_data_channels=[
                IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
            ]
        ),
    )
    job = TrainedModelInferenceJob(
        stack,
        "Job",
        membership_identifier=MEMBERSHIP,
        trained_model=successor,
        data_source=MLInputChannel.from_ml_input_channel_arn(stack, "Scores", CHANNEL_ARN),
        instance_type=valid_props()["instance_type"],
        output_account_id=ACCOUNT,
    )
    properties = Template.from_stack(stack).to_json()["Resources"][logical_id(job.resource)][
        "Properties"
    ]
    made = logical_id(successor.custom_resource)
    assert properties[contract.TRAINED_MODEL_ARN] == {"Fn::GetAtt": [made, "TrainedModelArn"]}
    assert properties[contract.TRAINED_MODEL_VERSION_IDENTIFIER] == {
        "Fn::GetAtt": [made, "VersionIdentifier"]
    }


# --- the readings, call by call (botocore's Stubber) -----------------------------------

BASE = f"arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/{MEMBERSHIP}/trained-model/base"
V1 = "11111111-2222-4333-8444-555555555555"
BASE_NAME = "Test-Model-85D470EB-0123456789ab"
BASE_TAG = ownership.make_tag(STACK_ID, "Base", "create-base", "0" * 64)
VERSION_TAG = ownership.make_tag(STACK_ID, "Successor", "create-next", "1" * 64)
SHARED_TAGS = {
    contract.RESERVED_TAG_KEY: BASE_TAG,
    contract.version_tag_key("next"): VERSION_TAG,
    "team": "base",
    "owner": "next",
}


def _call(stubbed: StubbedClient, raw: dict[str, Any], polling: bool) -> engine.Call:
    return engine.Call(
        kind=index.kind_of(raw["ResourceType"]),  # type: ignore[arg-type]
        client=stubbed.client,
        event=engine.Event.from_dict(raw),
        now=1_800_000_000.0,
        polling=polling,
        deadline=None,
    )


def _versions(stubbed: StubbedClient, *entries: dict[str, Any]) -> None:
    stubbed.stubber.add_response(
        "list_trained_model_versions",
        {"trainedModels": list(entries)},
        {"membershipIdentifier": MEMBERSHIP, "trainedModelArn": BASE},
    )


def test_a_base_whose_arn_answers_for_a_later_version_is_read_from_its_versions(
    stubbed: StubbedClient,
) -> None:
    """``GetTrainedModel`` without a version answers for the latest (the member's
    documentation): a base whose answer is another version is read from
    ``ListTrainedModelVersions`` (the entry without a version), with the ARN's tags, and
    its ownership is the base's (``RESERVED_TAG_KEY``), not the version's."""
    kind = index.kind_of(contract.RESOURCE_TYPE)
    assert kind is not None
    stubbed.get_model(
        model_description(
            arn=BASE, name="next", status="CREATE_IN_PROGRESS", version=V1, tags=SHARED_TAGS
        )
    )
    _versions(
        stubbed,
        summary(arn=BASE, name=BASE_NAME, status="ACTIVE"),
        summary(arn=BASE, name="next", status="CREATE_IN_PROGRESS", version=V1),
    )
    ref = ownership.Ref(arn=BASE, version=None, membership=MEMBERSHIP)
    observed = kind.describe(stubbed.client, ref)
    assert (observed.name, observed.status) == (BASE_NAME, "ACTIVE")
    assert observed.shared
    assert observed.tag is not None
    assert observed.tag.who == "Test/Base"
    assert observed.user_tags() == {"team": "base", "owner": "next"}
    assert observed.data == {
        contract.ATTR_TRAINED_MODEL_ARN: BASE,
        contract.ATTR_TRAINED_MODEL_NAME: BASE_NAME,
        contract.ATTR_STATUS: "ACTIVE",
    }


def test_a_version_reads_its_own_ownership_tag_on_a_shared_arn(stubbed: StubbedClient) -> None:
    kind = index.kind_of(contract.RESOURCE_TYPE)
    assert kind is not None
    stubbed.get_model(
        model_description(arn=BASE, name="next", status="ACTIVE", version=V1, tags=SHARED_TAGS),
        version=V1,
    )
    observed = kind.describe(
        stubbed.client, ownership.Ref(arn=BASE, version=V1, membership=MEMBERSHIP)
    )
    assert observed.tag is not None
    assert observed.tag.who == "Test/Successor"
    assert observed.shared


@pytest.mark.parametrize(
    ("other", "expected"),
    [
        ("ACTIVE", "kept"),  # in use: the base's output is kept, nothing is called
        ("CREATE_IN_PROGRESS", "kept"),
        ("DELETE_IN_PROGRESS", "waits"),  # being deleted: look again at the next poll
        ("INACTIVE", "deleted"),  # nothing in use: the base version's output is deleted
    ],
)
def test_a_base_delete_looks_at_the_other_versions_first(
    stubbed: StubbedClient, other: str, expected: str
) -> None:
    """Under a shared ARN the base's DESTROY delete asks ``ListTrainedModelVersions``
    before ``DeleteTrainedModelOutput`` (without a version: the base version, per its
    documentation; it may take the other versions along, or be refused)."""
    props = handler_properties(**{contract.REMOVAL_POLICY: "destroy"})
    raw = event("Delete", props, physical_id=BASE, logical_id="Base")
    stubbed.get_model(
        model_description(arn=BASE, name=BASE_NAME, status="ACTIVE", tags=SHARED_TAGS)
    )
    _versions(
        stubbed,
        summary(arn=BASE, name=BASE_NAME, status="ACTIVE"),
        summary(arn=BASE, name="next", status=other, version=V1),
    )
    if expected == "deleted":
        stubbed.delete_output(arn=BASE)  # no versionIdentifier: the base version
    result = engine.on_event(_call(stubbed, raw, polling=False))
    action = result.get(engine.ACTION_KEY)
    assert action == (engine.NONE if expected == "kept" else engine.DELETE)


def test_shared_removals_are_only_what_the_old_properties_asked_for(
    stubbed: StubbedClient,
) -> None:
    """Hazard (ii), call by call: the version's Update drops its tag "owner"; the
    base's "team" (not in its properties) is left on the shared ARN."""
    old = _version_props(BASE, tags={"owner": "next", "env": "dev"})
    new = _version_props(BASE, tags={"env": "prod"})
    name = "Test-Successor-0123456789ab"
    made = ownership.make_tag(STACK_ID, "Successor", "create-next", _identity(new))
    tags = {**SHARED_TAGS, contract.version_tag_key(name): made, "env": "dev"}
    raw = event(
        "Update", new, old_properties=old, physical_id=f"{BASE}#{V1}", logical_id="Successor"
    )
    stubbed.get_model(
        model_description(arn=BASE, name=name, status="ACTIVE", version=V1, tags=tags),
        version=V1,
    )
    stubbed.untag(["owner"], arn=BASE)
    stubbed.tag({"env": "prod"}, arn=BASE)
    result = engine.on_event(_call(stubbed, raw, polling=False))
    assert result["PhysicalResourceId"] == f"{BASE}#{V1}"
    assert result[engine.ACTION_KEY] == engine.REFRESH


def _identity(props: dict[str, Any]) -> str:
    kind = index.kind_of(contract.RESOURCE_TYPE)
    assert kind is not None
    return kind.parse(props).identity
