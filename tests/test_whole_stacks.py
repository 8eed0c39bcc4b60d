"""Whole stacks: app histories deployed as CloudFormation runs them (``stack_sim``).

The event-sequence table drives one resource at a time; here a stack of all four
kinds is deployed, changed, failed anywhere and destroyed, with the handler's policy
of the template in force enforced on every call. After every deploy and destroy
(and once every waiter CloudFormation stopped waiting for has run out):

- no stack is stuck in a ``*_FAILED`` state (ROLLBACK_FAILED, UPDATE_ROLLBACK_FAILED,
  DELETE_FAILED) and no call was denied;
- every resource of ours the service still holds (a training, a channel's data, a
  job still running, a configuration) is one the stack holds, or one CloudFormation
  let go under RETAIN: nothing is orphaned, nothing bills unseen;
- one training (query, job) per create request, and a rollback never trains to
  restore a configuration a resource of ours still has (row 6's rule);
- what the stack holds exists with the properties' identity.

Scripted histories reproduce each hole of issue 20; ``test_generated_histories``
explores more with hypothesis (``WHOLE_STACK_HISTORIES`` sets how many; the suite runs
a few, a hunt runs hundreds).
"""

from __future__ import annotations

import collections
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from cfn import waiters
from emulated import client_for, fresh_emulator, serve
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from iam_sim import Enforcer
from stack_apps import (
    EXISTING_AUDIENCE_MODEL,
    EXISTING_CHANNEL,
    EXISTING_CONFIGURED,
    EXISTING_GENERATION,
    EXISTING_MODEL,
    KINDS,
    MEMBERSHIPS,
    SIZES,
    AppSpec,
    Piece,
    template,
)
from stack_sim import Failure, Record, Simulator

import contract
import identity
import index
import ownership
from cdk_cleanrooms_ml import ValidationError, preview
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import (
    AUDIENCE_EXPORT,
    AUDIENCE_MODEL,
    CHANNEL,
    CONFIGURED_AUDIENCE_MODEL,
    DELETED,
    GENERATION_JOB,
    JOB,
    MODEL,
    MODEL_EXPORT,
)

STUCK = {"ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED"}
STATS: collections.Counter[str] = collections.Counter()
"""What the generated histories did (``WHOLE_STACK_REPORT=<file>`` writes it)."""


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


class World:
    """A simulator on a fresh emulator, and the checks every step ends with."""

    def __init__(self, server: EmulatorServer, patch: pytest.MonkeyPatch) -> None:
        patch.setenv("CDK_VALIDATION", "false")
        client = client_for(server)
        self.reader = client_for(server)
        """A client of the emulator the handler's policy does not govern (for checks)."""
        self.enforcer = Enforcer()
        self.enforcer.install(client)
        self.emulator: Emulator = fresh_emulator(patch, server, client)
        self._handles = waiters(self.emulator.clock.advance)
        handles = self._handles.__enter__()
        self.sim = Simulator(self.emulator, self.enforcer, handles)
        self.sim.install(patch)
        self.existing = _existing(self.emulator)

    def close(self) -> None:
        self._handles.__exit__(None, None, None)

    generated = False
    """In a hypothesis history: outcomes are recorded (``--hypothesis-show-statistics``)."""

    def note(self, outcome: str) -> None:
        if self.generated:
            hypothesis.event(outcome)
            STATS[outcome] += 1

    def spec(self, *pieces: Piece, **fields: Any) -> AppSpec:
        return AppSpec(pieces=pieces, existing=self.existing, **fields)

    def deploy(
        self, spec: AppSpec, failure: Failure | None = None, *, settle: bool = True
    ) -> Record:
        """``cdk deploy`` of ``spec``, then (unless ``settle`` is off: the next deploy
        follows at once) the invariants."""
        synthesized = template(spec)
        # a stack whose first deploy rolled back is created anew (diff reads its status)
        gone = ("NONE", "DELETE_COMPLETE", "ROLLBACK_COMPLETE")
        before = self.sim.template if self.sim.status not in gone else None
        held = {k: r.physical_id for k, r in self.sim.resources.items() if r.ours}
        predicted = preview.preview("Sim", before or None, synthesized)
        record = self.sim.deploy(synthesized, failure)
        if record.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE") and not record.failed:
            self.as_predicted(predicted, held)
        self.note(f"deploy: {record.status}")
        if settle:
            self.check(record)
        return record

    def as_predicted(self, predicted: preview.Preview, held: dict[str, str]) -> None:
        """``cdk-cleanrooms-ml diff``'s preview said what the deploy did: the resources
        it replaced, created and deleted (the handler's own identity code decides both)."""
        now = {k: r.physical_id for k, r in self.sim.resources.items() if r.ours}
        ours = {c.logical_id: c.action for c in predicted.changes}
        done = {}
        for logical_id, action in ours.items():
            if logical_id not in held:
                done[logical_id] = preview.CREATED
            elif logical_id not in now:
                done[logical_id] = preview.DELETED
            elif now[logical_id] != held[logical_id]:
                done[logical_id] = preview.REPLACED
            else:
                done[logical_id] = (
                    action if action in (preview.UPDATED, preview.UNCHANGED) else "kept"
                )
        assert done == ours, (done, ours)

    def destroy(self) -> Record:
        record = self.sim.destroy()
        self.note(f"destroy: {record.status}")
        self.check(record)
        return record

    # --- the invariants ----------------------------------------------------------
    def check(self, record: Record) -> None:
        self.sim.settle()
        assert record.status not in STUCK, (record, self.sim.log[-30:])
        assert self.enforcer.denials == [], self.enforcer.denials
        assert record.rollback_creations == [], record
        self.nothing_orphaned()
        self.one_creation_per_request()
        self.held_exist()

    def ours(self) -> Iterator[tuple[str, dict[str, Any], ownership.Tag]]:
        for kind in TAGGED:
            for resource in self.emulator.snapshot(kind):
                tag = ownership.parse_tag(resource["tags"].get(contract.RESERVED_TAG_KEY))
                if tag is not None:
                    yield kind, resource, tag

    def kept(self, resource: dict[str, Any], tag: ownership.Tag) -> bool:
        """Whether CloudFormation let it go under RETAIN: by its id, by the pending id of
        the request that made it (a Create that failed before it answered with an ARN),
        or as what a cancelled Create made (its owner and this life of the stack)."""
        for physical_id in self.sim.kept:
            if physical_id.split("#")[0] == resource["arn"]:
                return True
            pending = ownership.parse_physical_id(
                ownership.arn_pattern("x"), physical_id
            ) or ownership.parse_physical_id(
                ownership.account_arn_pattern("x"), physical_id, ownership.ACCOUNT_SCOPE
            )
            if (
                isinstance(pending, ownership.Pending)
                and pending.name == resource["name"]
                and pending.request == tag.request
            ):
                return True
        return any(
            tag.made_by(stack_id) and tag.owned_by(stack_id, logical_id)
            for stack_id, logical_id in self.sim.kept_cancelled
        )

    def delete_reached(self, tag: ownership.Tag) -> bool:
        """Whether a Delete went to the resource that made it, by any physical id (a
        cancelled Create's Delete carries one CloudFormation made up)."""
        return any(
            tag.made_by(stack_id) and tag.owned_by(stack_id, logical_id)
            for stack_id, logical_id in self.sim.deleted_logical_ids
        )

    def nothing_orphaned(self) -> None:
        held = self.sim.held_ids()
        held_arns = {physical_id.split("#")[0] for physical_id in held}
        deleted = {physical_id.split("#")[0] for physical_id in self.sim.deletes_sent}
        cancelled = {
            str(params.get("trainedModelInferenceJobArn"))
            for operation, params in self.emulator.history
            if operation == "CancelTrainedModelInferenceJob"
        }
        for kind, resource, tag in self.ours():
            status = resource["status"]
            if status in ("INACTIVE", "CREATE_FAILED") and kind == JOB:
                continue  # stopped, or failed: nothing runs
            if status in ("INACTIVE", DELETED):
                continue  # stopped or deleted
            if (
                kind == JOB
                and status == "ACTIVE"
                and (
                    resource["arn"] in deleted
                    or resource["arn"] in cancelled
                    or self.delete_reached(tag)
                )
            ):
                continue  # it ended before its Delete (a job has no delete) or was stopped
            assert resource["arn"] in held_arns or self.kept(resource, tag), (
                f"{kind} {resource['name']} ({status}) is neither held by the stack nor "
                f"kept under RETAIN: {tag.who}; held {sorted(held)}; log {self.sim.log[-40:]}"
            )
        configured = self.emulator.configurations()
        for membership in configured:
            physical_id = f"ml-configuration:{membership}"
            assert physical_id in held or physical_id in self.sim.kept, (
                f"the ML configuration of {membership} is left: {self.sim.log[-30:]}"
            )

    def one_creation_per_request(self) -> None:
        made: dict[tuple[str, str], int] = {}
        for kind, _, tag in self.ours():
            made[(kind, tag.request)] = made.get((kind, tag.request), 0) + 1
        assert all(count == 1 for count in made.values()), made
        # an export has no tag: its generated name is its request's own, and no two
        # exports of one resource share a name (the service refuses a second)
        for kind in (MODEL_EXPORT, AUDIENCE_EXPORT):
            names = [(r["parent"], r["name"]) for r in self.emulator.snapshot(kind)]
            assert len(names) == len(set(names)), names

    def held_exist(self) -> None:
        """What the stack holds exists, with its properties' identity (it is settled)."""
        if self.sim.status.endswith("_FAILED"):
            return
        snapshot = {r["arn"]: (k, r) for k, r, _ in self.ours()}
        for applied in self.sim.resources.values():
            if not applied.ours or applied.type.endswith("Attributes"):
                continue
            if applied.type == contract.ML_CONFIGURATION_RESOURCE_TYPE:
                membership = applied.physical_id.split(":", 1)[1]
                assert membership in self.emulator.configurations(), applied
                continue
            if applied.type in EXPORTS:
                self.export_holds(applied)
                continue
            found = snapshot.get(applied.physical_id.split("#")[0])
            assert found is not None, f"{applied.logical_id} holds a gone {applied.physical_id}"
            kind, resource = found
            assert resource["status"] not in ("INACTIVE", DELETED), (
                applied.logical_id,
                resource["status"],
            )
            tag = ownership.parse_tag(resource["tags"].get(contract.RESERVED_TAG_KEY))
            assert tag is not None
            document = {
                MODEL: identity.trained_model_document,
                CHANNEL: identity.ml_input_channel_document,
                JOB: identity.inference_job_document,
                AUDIENCE_MODEL: identity.audience_model_document,
                CONFIGURED_AUDIENCE_MODEL: identity.configured_audience_model_document,
                GENERATION_JOB: identity.audience_generation_job_document,
            }[kind](applied.properties)
            assert tag.identity == identity.digest(document)[: ownership.DIGEST_LENGTH]
            if kind == CONFIGURED_AUDIENCE_MODEL:  # and its settings, updated in place
                held = resource["request"]
                wanted = identity.configured_audience_model_request(applied.properties)
                for key in identity.CONFIGURED_AUDIENCE_MODEL_UPDATABLE:
                    assert held.get(key) == wanted.get(key), (applied.logical_id, key)

    def export_holds(self, applied: Any) -> None:
        """An export the stack holds was made with its properties: read as the handler
        reads it (its name in its resource's list, its content's identity)."""
        kind = index.kind_of(applied.type)
        assert kind is not None
        ref = kind.parse_physical_id(applied.physical_id)
        assert isinstance(ref, ownership.Ref), applied
        observed = kind.describe(self.reader, ref)
        assert observed.identity == kind.parse(applied.properties).identity, applied.logical_id


TAGGED = (MODEL, CHANNEL, JOB, AUDIENCE_MODEL, CONFIGURED_AUDIENCE_MODEL, GENERATION_JOB)
"""The emulator's kinds whose resources carry the ownership tag."""
EXPORTS = frozenset(
    {contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE, contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE}
)


def _existing(emulator: Emulator) -> tuple[str, ...]:
    """A model, a channel, an audience model, a configured audience model and a
    generation job that exist already (ACTIVE), for pieces without their own."""
    prefix = f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{MEMBERSHIPS[0]}"
    association = f"{prefix}/configured-model-algorithm-association/a"
    channel = emulator.call(
        "CreateMLInputChannel",
        {
            "membershipIdentifier": MEMBERSHIPS[0],
            "name": EXISTING_CHANNEL,
            "configuredModelAlgorithmAssociations": [association],
            "inputChannel": {
                "dataSource": {
                    "protectedQueryInputParameters": {"sqlParameters": {"queryString": "q"}}
                },
                "roleArn": "arn:aws:iam::000000000000:role/r",
            },
            "retentionInDays": 30,
        },
    )["mlInputChannelArn"]
    model = emulator.call(
        "CreateTrainedModel",
        {
            "membershipIdentifier": MEMBERSHIPS[0],
            "name": EXISTING_MODEL,
            "configuredModelAlgorithmAssociationArn": association,
            "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
            "dataChannels": [{"mlInputChannelArn": channel, "channelName": "t"}],
        },
    )["trainedModelArn"]
    audience = emulator.call(
        "CreateAudienceModel",
        {
            "name": EXISTING_AUDIENCE_MODEL,
            "trainingDatasetArn": (
                "arn:aws:cleanrooms-ml:us-east-1:000000000000:training-dataset/existing"
            ),
        },
    )["audienceModelArn"]
    emulator.clock.advance(3600)
    role = "arn:aws:iam::000000000000:role/r"
    configured = emulator.call(
        "CreateConfiguredAudienceModel",
        {
            "name": EXISTING_CONFIGURED,
            "audienceModelArn": audience,
            "outputConfig": {
                "destination": {"s3Destination": {"s3Uri": "s3://audiences/"}},
                "roleArn": role,
            },
            "sharedAudienceMetrics": ["ALL"],
            "audienceSizeConfig": {"audienceSizeType": "ABSOLUTE", "audienceSizeBins": list(SIZES)},
        },
    )["configuredAudienceModelArn"]
    generation = emulator.call(
        "StartAudienceGenerationJob",
        {
            "name": EXISTING_GENERATION,
            "configuredAudienceModelArn": configured,
            "seedAudience": {"dataSource": {"s3Uri": "s3://seeds/x.csv"}, "roleArn": role},
        },
    )["audienceGenerationJobArn"]
    emulator.clock.advance(3600)
    return str(model), str(channel), str(audience), str(configured), str(generation)


@pytest.fixture
def world(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    made = World(server, monkeypatch)
    yield made
    made.close()


def _statuses(w: World) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for kind, resource, _ in w.ours():
        found.setdefault(kind, []).append(resource["status"])
    return found


PIPELINE = (
    Piece("config", "Configuration"),
    Piece("channel", "Rows"),
    Piece("model", "Model"),
    Piece("job", "Scores"),
)


# --- issue 20's holes, each as a whole stack -------------------------------------------


@pytest.mark.parametrize("ticks", [0, 1, 3])
def test_a_sibling_failing_during_the_first_deploy_leaves_nothing_running(
    world: World, ticks: int
) -> None:
    """Row 11 in a stack: the sibling fails while ours are being created (after 0, 1
    or 3 polls): every Create is cancelled, each gets a Delete with an id CloudFormation
    made up, and whatever one started is stopped (DESTROY)."""
    record = world.deploy(world.spec(*PIPELINE, sibling=1), Failure(sibling_after_ticks=ticks))
    assert record.status == "ROLLBACK_COMPLETE"
    for kind, statuses in _statuses(world).items():
        assert all(s in ("INACTIVE", "ACTIVE" if kind == JOB else "INACTIVE") for s in statuses)


def test_a_sibling_failing_while_an_added_resource_is_created_leaves_it_stopped(
    world: World,
) -> None:
    """Row 11 in an update: a model added by the update is cancelled mid-training."""
    base = world.spec(Piece("channel", "Rows"))
    assert world.deploy(base).status == "CREATE_COMPLETE"
    grown = world.spec(Piece("channel", "Rows"), Piece("model", "Model"), sibling=1)
    record = world.deploy(grown, Failure(sibling_after_ticks=2))
    assert record.status == "UPDATE_ROLLBACK_COMPLETE"
    assert _statuses(world)[MODEL] == ["INACTIVE"]


def test_the_stack_deleted_after_a_cancelled_create_under_retain_adopts_nothing_twice(
    world: World,
) -> None:
    """Under RETAIN a cancelled Create's training is kept, and the next deploy (a new
    life of the stack) adopts it: one training."""
    kept = world.spec(Piece("model", "Model", destroy=False), sibling=1)
    assert world.deploy(kept, Failure(sibling_after_ticks=2)).status == "ROLLBACK_COMPLETE"
    assert world.deploy(world.spec(Piece("model", "Model", destroy=False))).status == (
        "CREATE_COMPLETE"
    )
    assert len(world.emulator.snapshot(MODEL)) == 2  # the existing input model, and ours


def test_a_job_that_finished_before_its_cancelled_create_was_deleted_is_let_be(
    world: World,
) -> None:
    """Two jobs; one's run fails, the other's Create is cancelled and gets a Delete with
    an id CloudFormation made up. If its run had already ended (ACTIVE), the Delete
    finds it and leaves it: a finished job has nothing to stop or delete (A14)."""
    jobs = world.spec(Piece("job", "A"), Piece("job", "B"))
    record = world.deploy(jobs, Failure(training_of=JOB))
    assert record.status == "ROLLBACK_COMPLETE"
    assert world.destroy().status == "DELETE_COMPLETE"


@pytest.mark.parametrize("kind", KINDS)
def test_removing_the_last_construct_of_a_kind_deletes_it_under_the_new_policy(
    world: World, kind: str
) -> None:
    """Row 12: the update rewrites the shared handler policy without the kind's
    construct; the cleanup's Delete still may (no denied call) and deletes it."""
    other = Piece("config", "Configuration") if kind != "config" else Piece("model", "Model")
    piece = Piece(kind, "Removed")
    assert world.deploy(world.spec(other, piece)).status == "CREATE_COMPLETE"
    assert world.deploy(world.spec(other)).status == "UPDATE_COMPLETE"


def test_a_replacement_whose_update_was_cancelled_is_kept_under_retain(world: World) -> None:
    """A sibling fails while a job's replacement (it now reads the channel the deploy
    adds) is being made: CloudFormation cancels the Update and never gets the new job's
    id. Under RETAIN the handler keeps what the Update made, as a cancelled Create's (a
    later deploy with the same configuration adopts it): not orphaned, by the harness's
    account too (the deploy's invariants)."""
    assert world.deploy(world.spec(Piece("job", "A", destroy=False))).status == ("CREATE_COMPLETE")
    pieces = (Piece("job", "A", destroy=False), Piece("channel", "B", destroy=False))
    grown = world.spec(*pieces, sibling=1, sibling_after="B")
    assert world.deploy(grown, Failure(sibling_after_ticks=4)).status == (
        "UPDATE_ROLLBACK_COMPLETE"
    )
    held = {p.split("#")[0] for p in world.sim.held_ids()}
    kept = [
        resource
        for kind, resource, tag in world.ours()
        if kind == JOB and resource["arn"] not in held and world.kept(resource, tag)
    ]
    assert [r["status"] for r in kept] == ["ACTIVE"]


LOOKALIKE = (
    Piece("audience", "Audience"),
    Piece("configured", "Configured"),
    Piece("generation", "Generation"),
    Piece("audience_export", "Export"),
)


def test_a_replaced_audience_model_is_swapped_in_place_under_its_configured_model(
    world: World,
) -> None:
    """The chain deployed; the audience model retrained (a replacement): the configured
    audience model takes the new one in place (UpdateConfiguredAudienceModel), so it
    keeps its ARN and its generation job and export stay; the old audience model, no
    longer used, is deleted in the cleanup (DESTROY)."""
    assert world.deploy(world.spec(*LOOKALIKE)).status == "CREATE_COMPLETE"
    before = {k: r.physical_id for k, r in world.sim.resources.items() if r.ours}
    retrained = world.spec(LOOKALIKE[0].with_(variant=1), *LOOKALIKE[1:])
    assert world.deploy(retrained).status == "UPDATE_COMPLETE"
    after = {k: r.physical_id for k, r in world.sim.resources.items() if r.ours}
    changed = {k for k in after if after[k] != before.get(k)}
    assert {k[:-8] for k in changed} == {"Audience"}
    models = {r["arn"]: r["status"] for r in world.emulator.snapshot(AUDIENCE_MODEL)}
    (configured,) = [r for r in world.emulator.snapshot(CONFIGURED_AUDIENCE_MODEL) if r["tags"]]
    assert models[configured["request"]["audienceModelArn"]] == "ACTIVE"
    assert sorted(models.values()).count(DELETED) == 1
    assert world.destroy().status == "DELETE_COMPLETE"


@pytest.mark.parametrize("fail", [False, True])
def test_a_configured_audience_model_s_settings_update_in_place_and_roll_back(
    world: World, fail: bool
) -> None:
    """Its description (variant 0 -> 1) is updated in place; a deploy that fails after
    it puts the old description back in place (row 8 in a stack)."""
    assert world.deploy(world.spec(*LOOKALIKE[:2])).status == "CREATE_COMPLETE"
    changed = world.spec(LOOKALIKE[0], LOOKALIKE[1].with_(variant=1), sibling=int(fail))
    record = world.deploy(changed, Failure(sibling_after_ticks=1) if fail else None)
    assert record.status == ("UPDATE_ROLLBACK_COMPLETE" if fail else "UPDATE_COMPLETE")
    (configured,) = [r for r in world.emulator.snapshot(CONFIGURED_AUDIENCE_MODEL) if r["tags"]]
    assert configured["request"]["description"] == ("v0" if fail else "v1")


def test_moving_a_model_to_another_membership_deletes_the_old_one_under_the_new_policy(
    world: World,
) -> None:
    assert world.deploy(world.spec(Piece("model", "Model"))).status == "CREATE_COMPLETE"
    moved = world.spec(Piece("model", "Model", membership=1))
    assert world.deploy(moved).status == "UPDATE_COMPLETE"
    mine = [r for k, r, _ in world.ours() if k == MODEL]
    assert sorted(r["status"] for r in mine) == ["ACTIVE", "INACTIVE"]


def test_a_move_rolled_back_deletes_the_replacement_under_the_old_policy(world: World) -> None:
    """The mirror of row 12: the rollback restores the policy before its cleanup deletes
    the replacement made in the other membership."""
    assert world.deploy(world.spec(Piece("model", "Model"))).status == "CREATE_COMPLETE"
    moved = world.spec(Piece("model", "Model", membership=1), sibling=1)
    record = world.deploy(moved, Failure(sibling_after_ticks=20))
    assert record.status == "UPDATE_ROLLBACK_COMPLETE"


@pytest.mark.parametrize("query_bytes", [60_000, 118_000])
def test_a_large_channel_updates_and_rolls_back(world: World, query_bytes: int) -> None:
    """An Update carries the old and the new properties (and its rollback again): a
    channel whose query is as large as the construct accepts updates in place and
    rolls back without the waiter's input limit (UPDATE_ROLLBACK_FAILED before)."""
    channel = Piece("channel", "Rows", query_bytes=query_bytes)
    assert world.deploy(world.spec(channel)).status == "CREATE_COMPLETE"
    retagged = world.spec(channel.with_(tag=1), sibling=1)
    record = world.deploy(retagged, Failure(sibling_after_ticks=1))
    assert record.status == "UPDATE_ROLLBACK_COMPLETE", record
    assert world.deploy(world.spec(channel.with_(tag=1))).status == "UPDATE_COMPLETE"
    # the update and its rollback each carried both sets of properties
    assert 2 * query_bytes < world.sim.largest_event <= 262_144


def test_a_channel_too_large_for_an_update_event_is_refused_at_synth(world: World) -> None:
    """A query of 140,000 characters deployed, and its next tag change failed to start
    the waiter (an Update carries it twice) and rolled back the same way:
    UPDATE_ROLLBACK_FAILED. The construct now refuses it, naming the limit."""
    with pytest.raises(ValidationError, match="allowed at most 124,928 in all"):
        template(world.spec(Piece("channel", "Rows", query_bytes=140_000)))


def test_turning_waiting_on_deploys_the_job_that_needs_the_model_ready(world: World) -> None:
    """Issue 20 (4): waiting turned on in an update waits, so the job added in the same
    deploy starts on an ACTIVE model."""
    unwaited = world.spec(Piece("model", "Model", wait=False))
    assert world.deploy(unwaited, settle=False).status == "CREATE_COMPLETE"
    both = world.spec(Piece("model", "Model"), Piece("job", "Scores"))
    assert world.deploy(both).status == "UPDATE_COMPLETE"


@pytest.mark.parametrize("fail", [False, True])
def test_renaming_a_configuration_with_its_default_role_and_a_new_location(
    world: World, fail: bool
) -> None:
    """Issue 20 (5): renamed (a new default role) with a new output location, it is
    updated in place; a failed deploy puts the old one back."""
    before = Piece("config", "Configuration", variant=0)
    assert world.deploy(world.spec(before)).status == "CREATE_COMPLETE"
    held = world.emulator.configurations()[MEMBERSHIPS[0]]
    renamed = world.spec(Piece("config", "Renamed", variant=1), sibling=int(fail))
    record = world.deploy(renamed, Failure(sibling_after_ticks=1) if fail else None)
    now = world.emulator.configurations()[MEMBERSHIPS[0]]
    if fail:
        assert record.status == "UPDATE_ROLLBACK_COMPLETE"
        assert now["defaultOutputLocation"] == held["defaultOutputLocation"]
    else:
        assert record.status == "UPDATE_COMPLETE"
        location = now["defaultOutputLocation"]
        assert location["destination"]["s3Destination"]["s3Uri"].endswith("/v1/")
        assert location["roleArn"] != held["defaultOutputLocation"]["roleArn"]


@pytest.mark.parametrize("names_failed", [True, False])
def test_a_replacement_whose_training_fails_rolls_back_to_the_original(
    world: World, names_failed: bool
) -> None:
    """Row 7 in a stack, both readings of the rollback's physical id."""
    assert world.deploy(world.spec(*PIPELINE)).status == "CREATE_COMPLETE"
    changed = world.spec(*PIPELINE[:2], PIPELINE[2].with_(variant=1), PIPELINE[3])
    failure = Failure(training_of=MODEL, rollback_names_failed=names_failed)
    assert world.deploy(changed, failure).status == "UPDATE_ROLLBACK_COMPLETE"
    assert world.destroy().status == "DELETE_COMPLETE"


# --- generated histories ---------------------------------------------------------------

HISTORIES = int(os.environ.get("WHOLE_STACK_HISTORIES", "6"))
STEPS = int(os.environ.get("WHOLE_STACK_STEPS", "8"))
NAMES = ("A", "B", "C", "D", "E", "F")
LATE = st.booleans()
"""Each Create and Update of ours reaches the handler a tick late (the framework's
onEvent is invoked asynchronously): after a sibling's failure that came meanwhile."""
THROTTLED = st.sampled_from([0, 0, 1, 3])
"""The handler's next DescribeStacks calls throttled."""
FAILURES = st.one_of(
    st.just(None),
    st.builds(Failure, late_on_event=LATE, throttled_stack_reads=THROTTLED),
    st.builds(
        Failure,
        sibling_after_ticks=st.sampled_from([0, 1, 2, 4, 8]),
        rollback_names_failed=st.booleans(),
        late_on_event=LATE,
        throttled_stack_reads=THROTTLED,
    ),
    st.builds(
        Failure,
        training_of=st.sampled_from(
            [MODEL, CHANNEL, JOB, AUDIENCE_MODEL, CONFIGURED_AUDIENCE_MODEL, GENERATION_JOB]
        ),
        rollback_names_failed=st.booleans(),
        late_on_event=LATE,
    ),
)


class Histories(RuleBasedStateMachine):
    """Add, remove, rename, change, re-tag constructs of all nine kinds, flip their
    removal policy and waiting, move a configuration or a model to another membership,
    deploy (a failure anywhere, or none), destroy; the invariants after each step."""

    server: EmulatorServer

    def __init__(self) -> None:
        super().__init__()
        self.patch = pytest.MonkeyPatch()
        self.world = World(self.server, self.patch)
        self.world.generated = True
        STATS["histories"] += 1
        self.app = self.world.spec()
        self.deploys = 0

    def teardown(self) -> None:
        self.world.close()
        self.patch.undo()

    @initialize(kinds=st.lists(st.sampled_from(KINDS), max_size=3))
    def start(self, kinds: list[str]) -> None:
        for kind in kinds:
            self._add(kind, destroy=True)

    def _add(self, kind: str, *, destroy: bool) -> None:
        taken = {p.name for p in self.app.pieces}
        if kind == "config" and any(p.kind == "config" for p in self.app.pieces):
            return  # one per membership: the second one would be refused at synth
        name = next((n for n in NAMES if n not in taken), None)
        if name is not None:
            self.app = AppSpec(
                pieces=(*self.app.pieces, Piece(kind, name, destroy=destroy)),
                sibling=self.app.sibling,
                sibling_after=self.app.sibling_after,
                existing=self.app.existing,
            )

    @rule(kind=st.sampled_from(KINDS), destroy=st.booleans())
    def add(self, kind: str, destroy: bool) -> None:
        self._add(kind, destroy=destroy)

    @precondition(lambda self: self.app.pieces)
    @rule(data=st.data())
    def edit(self, data: st.DataObject) -> None:
        piece = data.draw(st.sampled_from(self.app.pieces))
        how = data.draw(
            st.sampled_from(["remove", "rename", "change", "retag", "policy", "wait", "move"])
        )
        if how == "remove":
            self.app = self.app.replace(piece.name, None)
        elif how == "rename":
            free = [n for n in NAMES if self.app.named(n) is None]
            if free:
                self.app = self.app.replace(piece.name, piece.with_(name=free[0]))
        elif how == "change":
            self.app = self.app.replace(piece.name, piece.with_(variant=piece.variant + 1))
        elif how == "retag":
            self.app = self.app.replace(piece.name, piece.with_(tag=piece.tag + 1))
        elif how == "policy":
            self.app = self.app.replace(piece.name, piece.with_(destroy=not piece.destroy))
        elif how == "wait" and piece.kind != "config":
            self.app = self.app.replace(piece.name, piece.with_(wait=not piece.wait))
        elif how == "move" and piece.kind in ("config", "model"):
            self.app = self.app.replace(piece.name, piece.with_(membership=1 - piece.membership))

    @precondition(lambda self: self.app.pieces)
    @rule(failure=FAILURES, after=st.booleans())
    def deploy(self, failure: Failure | None, after: bool) -> None:
        app = self.app
        if failure is not None and failure.sibling_after_ticks is not None:
            app = AppSpec(
                pieces=app.pieces,
                sibling=app.sibling + 1,
                sibling_after=app.pieces[-1].name if after else None,
                existing=app.existing,
            )
        self.world.deploy(app, failure)
        self.deploys += 1

    @precondition(lambda self: self.deploys > 0)
    @rule()
    def destroy(self) -> None:
        self.world.destroy()

    @invariant()
    def settled(self) -> None:
        assert self.world.sim.status not in STUCK


def test_generated_histories(server: EmulatorServer) -> None:
    Histories.server = server
    STATS.clear()
    started = time.monotonic()
    run_state_machine_as_test(
        Histories,
        settings=settings(
            max_examples=HISTORIES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=os.environ.get("WHOLE_STACK_RANDOM") is None,
        ),
    )
    report = os.environ.get("WHOLE_STACK_REPORT")
    if report:
        found = dict(STATS, seconds=round(time.monotonic() - started, 1))
        Path(report).write_text(json.dumps(found, indent=2, sort_keys=True))
