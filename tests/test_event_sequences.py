"""Every row of ``shared/reference/cloudformation-event-sequences.md`` as a test.

Each row sends the exact events CloudFormation sends, in order, through the
handler's real entry points (``index.on_event`` / ``index.is_complete``, and the
long path's waiter), with the Provider framework's behaviour around them
(``cfn.Framework``), against the Clean Rooms ML emulator over HTTP on a virtual
clock. Every row runs for every combination of name (generated, fixed), removal
policy (RETAIN, DESTROY) and path (short; long: a WaitCondition signalled by the
waiter). Every call the handler makes is checked against the handler role's
policy as a synthesized stack holding the resource's construct has it
(``policies``, ``iam_sim``); row 12's Delete runs under the policy of a stack that
no longer holds any construct of its kind. A denied call fails the row.

A = the resource before the change, B = its replacement. Under RETAIN,
CloudFormation skips the Deletes marked so in the table; they are sent anyway
here, and the handler must then do nothing.

A trained model trained incrementally (``incremental-model``, from a base model the
test made), an inference job on such a model version (``inference-job-on-version``)
and the export of one (``model-export-of-version``) run every row under both readings
of incremental training (ASSUMPTION A2): a new ARN (``new-arn``), and a new version of
the base model's ARN (``shared-arn``: the ids of those cases end so), where the base
and its versions share one ARN and one tag set.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cfn import (
    CREATE_FAILED_MARKER,
    CloudFormation,
    Framework,
    InFlight,
    Response,
    Waiters,
    waiters,
)
from emulated import active_inputs, client_for, fresh_emulator, input_model, serve
from iam_sim import Enforcer
from policies import handler_policy

import contract
import index
from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorServer
from cdk_cleanrooms_ml.local.emulator.state import (
    AUDIENCE_EXPORT,
    AUDIENCE_MODEL,
    CHANNEL,
    CONFIGURED_AUDIENCE_MODEL,
    GENERATION_JOB,
    JOB,
    MODEL,
    MODEL_EXPORT,
    NEW_ARN,
    SHARED_ARN,
)
from helpers import handler_properties

M = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
PREFIX = f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{M}"
ASSOCIATION = f"{PREFIX}/configured-model-algorithm-association/a"
ROLE = "arn:aws:iam::000000000000:role/cleanrooms-ml-channel"
DATASET = "arn:aws:cleanrooms-ml:us-east-1:000000000000:training-dataset/d1"
POLICY = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": '
    '"111122223333"}, "Action": "cleanrooms-ml:StartAudienceGenerationJob", "Resource": "*"}]}'
)


@dataclass(frozen=True)
class Kind:
    """What differs between the resource kinds in these rows."""

    name: str
    emulated: str
    """The emulator's kind (``state.MODEL`` ...)."""
    props: Callable[[World, str], dict[str, Any]]
    """Configuration A or B: B replaces A (another hyperparameter, query, instance type)."""
    after_destroy: dict[str, str]
    """What DESTROY leaves of a resource by its status: a finished job stays ACTIVE."""
    list_operation: str
    paths: tuple[str, ...] = ("short",)
    removable: bool = True
    """False for an export: nothing undoes it (DESTROY leaves it, a cancelled Create's
    export stays done and the next deploy adopts it)."""
    stopped: str = "INACTIVE"
    """What a resource stopped under DESTROY is now (an audience kind's: gone)."""
    guard: bool = True
    """Whether the construct offers ``replacement_protection`` (the costly kinds)."""
    tagged: bool = True
    """Whether rows 4 and 8 change its tags in place (an export has none)."""
    in_place: dict[str, str] = field(default_factory=dict)
    """Row 4's in-place change besides tags (a property the service updates in place,
    or, for an export, a waiting setting), and row 8 takes it back."""
    instant: bool = False
    """Ready the moment it is created (a configured audience model)."""
    fails_at_once: bool = False
    """Its creation fails in the create call itself (nothing is made), not later."""
    behaviours: tuple[str, ...] = (NEW_ARN,)
    """The readings of incremental training (ASSUMPTION A2) its rows run under."""
    versioned: bool = False
    """Whether it is a model version (trained incrementally): its answer says which."""
    policy: str = ""
    """The construct of ``policies.KINDS`` whose handler policy it runs under (default:
    its name's; ``constructs``)."""

    @property
    def constructs(self) -> str:
        return self.policy or self.name

    @property
    def emulated_name(self) -> str:
        """The name of the plain kind it is a variant of (``trained-model`` ...)."""
        return _VARIANTS.get(self.name, self.name)


_VARIANTS: dict[str, str] = {
    "incremental-model": "trained-model",
    "inference-job-on-version": "inference-job",
    "model-export-of-version": "trained-model-export",
}
"""The kinds that are variants of another (the same construct, another reading of A2)."""


def _model_props(w: World, config: str) -> dict[str, Any]:
    return handler_properties(
        **{contract.HYPERPARAMETERS: {"epochs": "10" if config == "A" else "20"}}
    )


def _incremental_props(w: World, config: str) -> dict[str, Any]:
    """A model trained from the base model the test made (``World.inputs``)."""
    props = _model_props(w, config)
    props[contract.INCREMENTAL_TRAINING_DATA_CHANNELS] = [
        {contract.CHANNEL_TRAINED_MODEL_ARN: w.inputs["base"], contract.CHANNEL_NAME: "base"}
    ]
    return props


def _channel_props(w: World, config: str) -> dict[str, Any]:
    return {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.NAME_PREFIX: "Test-Channel-1A2B3C4D",
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: ASSOCIATION,
        contract.QUERY_STRING: f"SELECT * FROM t WHERE v = '{config}'",
        contract.ROLE_ARN: ROLE,
        contract.RETENTION_IN_DAYS: "7",
    }


def _job_props(w: World, config: str) -> dict[str, Any]:
    props = {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.NAME_PREFIX: "Test-Inference-5E6F7A8B",
        contract.TRAINED_MODEL_ARN: w.inputs["model"],
        contract.ML_INPUT_CHANNEL_ARN: w.inputs["channel"],
        contract.INSTANCE_TYPE: "ml.m5.xlarge" if config == "A" else "ml.m5.2xlarge",
        contract.OUTPUT_ACCOUNT_ID: "000000000000",
    }
    if w.input_version:
        props[contract.TRAINED_MODEL_VERSION_IDENTIFIER] = w.input_version
    return props


def _model_export_props(w: World, config: str) -> dict[str, Any]:
    props = {
        contract.MEMBERSHIP_IDENTIFIER: M,
        contract.NAME_PREFIX: "Test-Export-9C0D1E2F",
        contract.TRAINED_MODEL_ARN: w.inputs["model"],
        contract.OUTPUT_ACCOUNT_ID: "111122223333" if config == "A" else "444455556666",
    }
    if w.input_version:
        props[contract.TRAINED_MODEL_VERSION_IDENTIFIER] = w.input_version
    return props


def _audience_model_props(w: World, config: str) -> dict[str, Any]:
    return {
        contract.NAME_PREFIX: "Test-Audience-3A4B5C6D",
        contract.TRAINING_DATASET_ARN: DATASET,
        contract.TRAINING_DATA_START_TIME: f"2026-0{1 if config == 'A' else 2}-01T00:00:00Z",
    }


def _configured_props(w: World, config: str) -> dict[str, Any]:
    props = {
        contract.NAME_PREFIX: "Test-Configured-7E8F9A0B",
        contract.AUDIENCE_MODEL_ARN: w.inputs["audience-model"],
        contract.OUTPUT_S3_URI: "s3://audiences/out/",
        contract.ROLE_ARN: ROLE,
        contract.SHARED_AUDIENCE_METRICS: "ALL",
        contract.AUDIENCE_SIZE_TYPE: "ABSOLUTE",
        contract.AUDIENCE_SIZE_BINS: ["1000", "5000"],
        contract.DESCRIPTION: "first",
        contract.RESOURCE_POLICY: POLICY,
    }
    if config == "B":  # the one thing besides the name that an update cannot change
        props[contract.CHILD_RESOURCE_TAG_ON_CREATE_POLICY] = "FROM_PARENT_RESOURCE"
    return props


def _generation_props(w: World, config: str) -> dict[str, Any]:
    return {
        contract.NAME_PREFIX: "Test-Generation-1C2D3E4F",
        contract.CONFIGURED_AUDIENCE_MODEL_ARN: w.inputs["configured"],
        contract.SEED_S3_URI: f"s3://seeds/{config.lower()}.csv",
        contract.ROLE_ARN: ROLE,
    }


def _audience_export_props(w: World, config: str) -> dict[str, Any]:
    return {
        contract.NAME_PREFIX: "Test-AudienceExport-5A6B7C8D",
        contract.AUDIENCE_GENERATION_JOB_ARN: w.inputs["generation"],
        contract.AUDIENCE_SIZE_TYPE: "ABSOLUTE",
        contract.AUDIENCE_SIZE_VALUE: "1000" if config == "A" else "5000",
    }


GONE = {"ACTIVE": "INACTIVE", "CREATE_FAILED": "INACTIVE"}
DELETED = {"ACTIVE": "DELETED", "CREATE_FAILED": "DELETED"}
KEPT = {"ACTIVE": "ACTIVE", "CREATE_FAILED": "CREATE_FAILED"}
"""Nothing to stop or delete: a finished job, an export."""
WAIT_LESS = {contract.COMPLETION_TIMEOUT_SECONDS: "1800"}
BOTH = (NEW_ARN, SHARED_ARN)
KINDS = {
    kind.name: kind
    for kind in (
        Kind("trained-model", MODEL, _model_props, GONE, "ListTrainedModels", ("short", "long")),
        Kind("ml-input-channel", CHANNEL, _channel_props, GONE, "ListMLInputChannels"),
        Kind("inference-job", JOB, _job_props, KEPT, "ListTrainedModelInferenceJobs"),
        Kind(
            "incremental-model",
            MODEL,
            _incremental_props,
            GONE,
            "ListTrainedModels",
            ("short", "long"),
            behaviours=BOTH,
            versioned=True,
        ),
        Kind(
            "inference-job-on-version",
            JOB,
            _job_props,
            KEPT,
            "ListTrainedModelInferenceJobs",
            behaviours=BOTH,
            policy="inference-job",
        ),
        Kind(
            "trained-model-export",
            MODEL_EXPORT,
            _model_export_props,
            KEPT,
            "ListCollaborationTrainedModelExportJobs",
            removable=False,
            guard=False,
            tagged=False,
            in_place=WAIT_LESS,
        ),
        Kind(
            "model-export-of-version",
            MODEL_EXPORT,
            _model_export_props,
            KEPT,
            "ListCollaborationTrainedModelExportJobs",
            removable=False,
            guard=False,
            tagged=False,
            in_place=WAIT_LESS,
            behaviours=BOTH,
            policy="trained-model-export",
        ),
        Kind(
            "audience-model",
            AUDIENCE_MODEL,
            _audience_model_props,
            DELETED,
            "ListAudienceModels",
            ("short", "long"),
            stopped="DELETED",
        ),
        Kind(
            "configured-audience-model",
            CONFIGURED_AUDIENCE_MODEL,
            _configured_props,
            {"ACTIVE": "DELETED"},
            "ListConfiguredAudienceModels",
            stopped="DELETED",
            guard=False,
            in_place={contract.DESCRIPTION: "second"},
            instant=True,
            fails_at_once=True,
        ),
        Kind(
            "audience-generation-job",
            GENERATION_JOB,
            _generation_props,
            DELETED,
            "ListAudienceGenerationJobs",
            stopped="DELETED",
        ),
        Kind(
            "audience-export",
            AUDIENCE_EXPORT,
            _audience_export_props,
            KEPT,
            "ListAudienceExportJobs",
            removable=False,
            guard=False,
            tagged=False,
            in_place=WAIT_LESS,
        ),
    )
}
INPUTS = frozenset({"input-model", "input-version"})
"""The names of the models the test makes: a base model, a version trained from it."""


@dataclass
class World:
    """One resource's stack, the emulator behind it, and what to assert with."""

    cfn: CloudFormation
    emulator: Emulator
    waiters: Waiters
    kind: Kind
    name: str
    policy: str
    path: str
    enforcer: Enforcer
    inputs: dict[str, str] = field(default_factory=dict)
    """What the kind's resource uses, made ACTIVE by the test: an inference job's trained
    model and ML input channel, an export's model or generation job, an incremental
    model's base model, ..."""
    guard: str = "off"
    """``replacement_protection``: "off", or "allowed" (on, and this deploy lifts it:
    every row as without it)."""
    input_version: str | None = None
    """The version of ``inputs["model"]`` an inference job runs on (a model trained
    incrementally), if any."""
    behaviour: str = NEW_ARN
    """The reading of incremental training the emulator plays (ASSUMPTION A2)."""

    def recreate_stack(self) -> None:
        """The stack deleted and created again under its name: its own handler policy."""
        self.cfn.recreate_stack()
        self.enforcer.policy = handler_policy(self.kind.constructs, self.cfn.stack_id)

    def remove_the_kind(self) -> None:
        """UPDATE_IN_PROGRESS rewrote the shared handler policy: the template in force
        holds no construct of this kind any more (row 12)."""
        self.enforcer.policy = handler_policy(
            self.kind.constructs, self.cfn.stack_id, only_other_kinds=True
        )
        self.enforcer.phase = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"

    def run_out(self, flight: InFlight) -> Response:
        """The framework's waiter, polling on until it ends (its answer CloudFormation
        may ignore), and the long path's waiter executions it started."""
        while (response := flight.poll()) is None:
            self.emulator.clock.advance(flight.framework.query_interval)
        if self.path == "long":
            self.waiters.run()
        return response

    def props(self, config: str = "A", tags: dict[str, str] | None = None) -> dict[str, Any]:
        """Configuration A or B (B replaces A), with this world's name, policy and path."""
        props = self.kind.props(self, config)
        props[contract.REMOVAL_POLICY] = self.policy
        if tags:
            props[contract.TAGS] = tags
        if self.name == "fixed":
            props.pop(contract.NAME_PREFIX)
            props[contract.NAME] = f"{self.kind.name}-{config.lower()}"
        if self.path == "long":
            props[contract.COMPLETION_TIMEOUT_SECONDS] = "7200"
            props[contract.WAIT_HANDLE_URL] = self.waiters.url(config)
        if self.guard != "off":
            props[contract.REPLACEMENT_PROTECTION] = "Test/Resource"
            props[contract.REPLACEMENT_ALLOWED] = "true"
        return props

    @property
    def destroy(self) -> bool:
        return self.policy == "destroy"

    def deployed(self, response: Response, config: str) -> bool:
        """Whether the resource deployed: its answer, and on the long path its WaitCondition."""
        if not response.ok or self.path == "short":
            return response.ok
        self.waiters.run()
        signals = self.waiters.signals(self.waiters.url(config))
        return bool(signals) and signals[-1]["Status"] == "SUCCESS"

    def resources(self) -> list[dict[str, Any]]:
        """The kind's resources, the models the test made as inputs left out."""
        return [m for m in self.emulator.snapshot(self.kind.emulated) if m["name"] not in INPUTS]

    @staticmethod
    def physical(resource: dict[str, Any]) -> str:
        """A resource's physical id: its ARN, ``#<version>`` for a model version (and for
        the export of one: ``<model ARN>/export-job/<name>#<version>``)."""
        version = resource.get("versionIdentifier")
        if "/export-job/" in str(resource["arn"]):
            version = resource["request"].get("trainedModelVersionIdentifier")
        return f"{resource['arn']}#{version}" if version else str(resource["arn"])

    def trainings(self) -> int:
        """Resources created (trainings, queries, jobs started), ever."""
        return len(self.resources())

    def fail_next(self, message: str) -> None:
        """The next creation fails (a configured audience model's create call is refused)."""
        self.emulator.fail_next_creation(self.kind.emulated, message)

    def status(self, physical_id: str) -> str:
        return str(self.find(physical_id)["status"])

    def find(self, physical_id: str) -> dict[str, Any]:
        """The resource with this physical id (a model version's names its version)."""
        exact = [m for m in self.resources() if self.physical(m) == physical_id]
        if not exact:
            arn = physical_id.split("#")[0]  # an export's: what it exports, then its name
            exact = [m for m in self.resources() if m["arn"] == arn]
        (found,) = exact
        return found
        return str(found["status"])

    def change_in_place(self, props: dict[str, Any]) -> dict[str, Any]:
        """Row 4's change: tags (a kind with tags) and the kind's own in-place change."""
        changed = dict(props, **self.kind.in_place)
        if self.kind.tagged:
            changed[contract.TAGS] = {"team": "ml"}
        return changed

    def changed_in_place(self) -> bool:
        """Whether the one resource holds row 4's change (the service's copy of it)."""
        (resource,) = self.resources()
        held = resource["request"]
        return (not self.kind.tagged or resource["tags"].get("team") == "ml") and all(
            held.get(_API.get(key, key)) == value
            for key, value in self.kind.in_place.items()
            if key in _API
        )

    def statuses(self) -> list[str]:
        return sorted(m["status"] for m in self.resources())

    def destroyed(self, status: str) -> str:
        """What the status of a resource deleted under this world's policy is now."""
        return self.kind.after_destroy[status] if self.destroy else status

    def settle(self) -> None:
        """Let deletions and cancellations finish."""
        self.emulator.clock.advance(60)


_API = {contract.DESCRIPTION: "description"}
"""The service's name of each in-place change that reaches it (a waiting setting does not)."""


def _inputs(emulator: Emulator, kind: Kind) -> dict[str, str]:
    """What the kind's resource uses, ACTIVE (A16, A21-A26); ``version``: the version of
    the model an inference job runs on (a model trained incrementally)."""
    found: dict[str, str] = {}
    if kind.emulated == JOB:
        model, channel, version = active_inputs(emulator, version=kind.behaviours != (NEW_ARN,))
        found.update(model=model, channel=channel)
        if version:
            found["version"] = version
    elif kind.emulated == MODEL_EXPORT:
        exported = input_model(emulator)
        if kind.behaviours != (NEW_ARN,):  # the export of a version trained from it
            exported = input_model(emulator, exported["trainedModelArn"])
            found["version"] = str(exported["versionIdentifier"])
        found["model"] = str(exported["trainedModelArn"])
    elif kind.versioned:
        found["base"] = str(input_model(emulator)["trainedModelArn"])
    if kind.emulated in (CONFIGURED_AUDIENCE_MODEL, GENERATION_JOB, AUDIENCE_EXPORT):
        made = emulator.call(
            "CreateAudienceModel", {"name": "input-audience", "trainingDatasetArn": DATASET}
        )
        found["audience-model"] = made["audienceModelArn"]
        emulator.clock.advance(3600)
    if kind.emulated in (GENERATION_JOB, AUDIENCE_EXPORT):
        found["configured"] = emulator.call(
            "CreateConfiguredAudienceModel",
            {
                "name": "input-configured",
                "audienceModelArn": found["audience-model"],
                "outputConfig": {
                    "destination": {"s3Destination": {"s3Uri": "s3://audiences/out/"}},
                    "roleArn": ROLE,
                },
                "sharedAudienceMetrics": ["ALL"],
                "audienceSizeConfig": {
                    "audienceSizeType": "ABSOLUTE",
                    "audienceSizeBins": [1000, 5000],
                },
            },
        )["configuredAudienceModelArn"]
    if kind.emulated == AUDIENCE_EXPORT:
        found["generation"] = emulator.call(
            "StartAudienceGenerationJob",
            {
                "name": "input-generation",
                "configuredAudienceModelArn": found["configured"],
                "seedAudience": {"dataSource": {"s3Uri": "s3://seeds/x.csv"}, "roleArn": ROLE},
            },
        )["audienceGenerationJobArn"]
    emulator.clock.advance(3600)
    return {key: str(value) for key, value in found.items()}


Cloud = tuple[EmulatorServer, Any, Waiters, Enforcer]


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    """One emulator server, client (its calls checked by an ``Enforcer``) and handle
    server for the module (fast tests)."""
    for server in serve():
        client = client_for(server)
        client.meta.events.register("before-call.cleanroomsml", _count_call)
        enforcer = Enforcer()
        enforcer.install(client)
        with waiters(lambda seconds: None) as handles:
            yield server, client, handles, enforcer


def _enforce(monkeypatch: pytest.MonkeyPatch, enforcer: Enforcer, kind: str, stack: str) -> None:
    """The handler's calls checked against its policy as a stack of ``kind`` has it,
    CloudFormation's too (``index``'s, served in-process by ``cfn``)."""
    enforcer.policy = handler_policy(kind, stack)
    enforcer.phase = "deploying"
    enforcer.denials.clear()
    for name, action in (
        ("_stack_resources", "cloudformation:ListStackResources"),
        ("_stack_operation", "cloudformation:DescribeStacks"),
    ):
        monkeypatch.setattr(index, name, enforcer.guard(action, getattr(index, name)))


def _world(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, cloud: Cloud) -> World:
    kind, name, policy, path, guard, behaviour = request.param
    server, client, handles, enforcer = cloud
    # a fresh cloud for each test
    emulator = fresh_emulator(monkeypatch, server, client, incremental_training=behaviour)
    advance = emulator.clock.advance
    handles.reset(advance)
    monkeypatch.setattr(index, "_starter", lambda: handles.start)
    cfn = CloudFormation(Framework(advance=advance), resource_type=_TYPES[kind.emulated_name])
    enforcer.policy = None  # the resource's inputs are made by the test, not the handler
    inputs = _inputs(emulator, kind)
    version = inputs.pop("version", None)
    _enforce(monkeypatch, enforcer, kind.constructs, cfn.stack_id)
    world = World(cfn, emulator, handles, kind, name, policy, path, enforcer, inputs, guard)
    world.input_version, world.behaviour = version, behaviour
    return world


def _ids(param: tuple[Any, ...]) -> str:
    kind, name, policy, path, guard, behaviour = param
    extra = (["guard-allowed"] if guard != "off" else []) + (
        [behaviour] if behaviour != NEW_ARN else []
    )
    return "-".join((kind.name, name, policy, path, *extra))


@pytest.fixture(
    params=[
        *(
            (kind, name, policy, path, "off", behaviour)
            for kind in KINDS.values()
            for behaviour in kind.behaviours
            for path in kind.paths
            for name in ("generated", "fixed")
            for policy in ("retain", "destroy")
        ),
        # the retrain guard on, lifted for the deploy: every row as without it
        *(
            (kind, "generated", "destroy", "short", "allowed", NEW_ARN)
            for kind in KINDS.values()
            if kind.guard and not kind.versioned and kind.behaviours == (NEW_ARN,)
        ),
    ],
    ids=_ids,
)
def world(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, cloud: Cloud) -> World:
    return _world(request, monkeypatch, cloud)


@pytest.fixture(
    params=[
        (kind, name, policy, path, "off", behaviour)
        for kind in KINDS.values()
        if kind.guard
        for behaviour in kind.behaviours
        for path in kind.paths
        for name in ("generated", "fixed")
        for policy in ("retain", "destroy")
    ],
    ids=_ids,
)
def guarded(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, cloud: Cloud) -> World:
    """A world of a kind that offers ``replacement_protection``."""
    return _world(request, monkeypatch, cloud)


_TYPES = {
    "trained-model": contract.RESOURCE_TYPE,
    "ml-input-channel": contract.ML_INPUT_CHANNEL_RESOURCE_TYPE,
    "inference-job": contract.INFERENCE_JOB_RESOURCE_TYPE,
    "trained-model-export": contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE,
    "audience-model": contract.AUDIENCE_MODEL_RESOURCE_TYPE,
    "configured-audience-model": contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE,
    "audience-generation-job": contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE,
    "audience-export": contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE,
}


ROWS: dict[str, Callable[[World], None]] = {}


def row(number: str) -> Callable[[Callable[[World], None]], Callable[[World], None]]:
    def register(test: Callable[[World], None]) -> Callable[[World], None]:
        ROWS[number] = test
        return test

    return register


@row("1 first deploy, succeeds")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))  # Create(new) -> returns A
    assert w.deployed(a, "A"), a.reason
    assert a.physical_id.startswith("arn:aws:cleanrooms-ml:")
    assert a.data["Status"] in ("ACTIVE", "CREATE_IN_PROGRESS", "CREATE_PENDING")
    if w.kind.versioned:  # a model trained incrementally: a version, on the base's ARN or not
        assert a.physical_id == f"{a.data['TrainedModelArn']}#{a.data['VersionIdentifier']}"
        assert (a.data["TrainedModelArn"] == w.inputs["base"]) == (w.behaviour == SHARED_ARN)
    else:
        assert "VersionIdentifier" not in a.data  # a base model has no version, nor the others
    if w.input_version and w.kind.emulated == MODEL_EXPORT:  # it exports the version named
        (export,) = [
            e
            for e in w.emulator.snapshot("trained-model-export-job")
            if e["parent"] == w.inputs["model"]
        ]
        assert export["request"].get("trainedModelVersionIdentifier") == w.input_version
    elif w.input_version:  # an inference job runs on the model version it names
        job = w.emulator.call(
            "GetTrainedModelInferenceJob",
            {"membershipIdentifier": M, "trainedModelInferenceJobArn": a.physical_id},
        )
        assert (job["trainedModelArn"], job["trainedModelVersionIdentifier"]) == (
            w.inputs["model"],
            w.input_version,
        )
    assert w.trainings() == 1
    assert w.status(a.physical_id) == "ACTIVE"


@row("2a first deploy, on_event itself fails")
def _(w: World) -> None:
    w.emulator.inject_fault(w.kind.list_operation, "AccessDeniedException", count=1)
    a = w.cfn.create(w.props("A"))  # Create(new) -> FAILED with the marker id
    assert a.status == "FAILED"
    assert a.physical_id == CREATE_FAILED_MARKER
    assert "AccessDeniedException" in a.reason
    calls = len(w.emulator.calls)
    rollback = w.cfn.delete(w.props("A"), physical_id=a.physical_id)  # answered by the framework
    assert rollback.ok
    assert len(w.emulator.calls) == calls  # never reached the handler
    assert w.trainings() == 0


@row("2b first deploy, the training fails")
def _(w: World) -> None:
    w.fail_next("AlgorithmError: loss is NaN")
    a = w.cfn.create(w.props("A"))  # on_event returned A, then FAILED carrying A
    assert not w.deployed(a, "A")
    reason = a.reason if w.path == "short" else w.waiters.signals(w.waiters.url("A"))[-1]["Reason"]
    assert "AlgorithmError: loss is NaN" in reason
    assert a.physical_id != CREATE_FAILED_MARKER  # the framework answers with A's id
    w.cfn.delete(w.props("A"), physical_id=a.physical_id)  # rollback: Delete(A)
    w.settle()
    if w.kind.fails_at_once:  # refused in the create call: nothing was made
        assert w.trainings() == 0
        return
    (status,) = w.statuses()
    assert status == w.destroyed("CREATE_FAILED")
    assert w.trainings() == 1


@row("3 first deploy, a later resource fails")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    assert w.cfn.delete(w.props("A"), physical_id=a.physical_id).ok  # rollback: Delete(A)
    w.settle()
    assert w.status(a.physical_id) == w.destroyed("ACTIVE")
    # cdk deploy again: the rolled-back stack is deleted and created under its name
    w.recreate_stack()
    again = w.cfn.create(w.props("A"))
    assert w.deployed(again, "A"), again.reason
    if w.status(a.physical_id) == "ACTIVE":  # kept: adopted, no second training
        assert again.physical_id == a.physical_id
        assert w.trainings() == 1
    else:
        assert w.trainings() == 2


@row("4 in-place update (tags, and what the kind updates in place)")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    changed = w.change_in_place(w.props("A"))
    updated = w.cfn.update(changed, old=w.props("A"), physical_id=a.physical_id)
    assert updated.ok, updated.reason
    assert updated.physical_id == a.physical_id  # Update(new, old, A) -> returns A
    assert w.changed_in_place()
    assert w.trainings() == 1


@row("4 in-place update that turns waiting on")
def _(w: World) -> None:
    unwaited = w.props("A")
    unwaited[contract.WAIT_FOR_COMPLETION] = "false"
    unwaited.pop(contract.WAIT_HANDLE_URL, None)  # the long path is for a wait only
    unwaited.pop(contract.COMPLETION_TIMEOUT_SECONDS, None)
    a = w.cfn.create(unwaited)
    assert a.ok, a.reason
    assert w.kind.instant or w.status(a.physical_id) != "ACTIVE"  # it did not wait
    # Update(new, old, A): waiting is on now; whatever uses it next is deployed after it
    waited = w.cfn.update(w.props("A"), old=unwaited, physical_id=a.physical_id)
    assert w.deployed(waited, "A"), waited.reason
    assert waited.physical_id == a.physical_id
    assert w.status(a.physical_id) == "ACTIVE"
    if w.path == "short":
        assert waited.data["Status"] == "ACTIVE"
    assert w.trainings() == 1


def _replace(w: World) -> tuple[Response, Response]:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    b = w.cfn.update(w.props("B"), old=w.props("A"), physical_id=a.physical_id)
    assert w.deployed(b, "B"), b.reason
    assert b.physical_id != a.physical_id  # Update(new, old, A) -> returns B
    return a, b


@row("5 replacing update, all succeeds")
def _(w: World) -> None:
    a, b = _replace(w)
    cleanup = w.cfn.delete(w.props("A"), physical_id=a.physical_id)  # Delete(A, props=old)
    assert cleanup.ok, cleanup.reason
    w.settle()
    assert w.status(a.physical_id) == w.destroyed("ACTIVE")
    assert w.status(b.physical_id) == "ACTIVE"
    assert w.trainings() == 2


@row("6 replacing update succeeds, a later resource fails")
def _(w: World) -> None:
    a, b = _replace(w)
    # UPDATE_ROLLBACK: Update(props=old, OldResourceProperties=new, PhysicalResourceId=B)
    back = w.cfn.update(w.props("A"), old=w.props("B"), physical_id=b.physical_id, rollback=True)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id  # A still exists and is returned
    assert w.trainings() == 2  # no third training
    # UPDATE_ROLLBACK_COMPLETE_CLEANUP: Delete(B, props=new)
    assert w.cfn.delete(w.props("B"), physical_id=b.physical_id).ok
    w.settle()
    assert w.status(a.physical_id) == "ACTIVE"  # never touched
    assert w.status(b.physical_id) == w.destroyed("ACTIVE")


def _row_7(w: World, rollback_id: str) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    w.fail_next("AlgorithmError: out of memory")
    b = w.cfn.update(w.props("B"), old=w.props("A"), physical_id=a.physical_id)
    assert not w.deployed(b, "B")  # this resource fails: the framework's FAILED carries B
    assert b.physical_id != a.physical_id
    # UPDATE_ROLLBACK: Update(props=old, old=new) with B or A as PhysicalResourceId
    current = b.physical_id if rollback_id == "B" else a.physical_id
    back = w.cfn.update(w.props("A"), old=w.props("B"), physical_id=current, rollback=True)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    assert w.trainings() == (1 if w.kind.fails_at_once else 2)
    if rollback_id == "B":  # cleanup of the replacement CloudFormation knows
        assert w.cfn.delete(w.props("B"), physical_id=b.physical_id).ok
    w.settle()
    assert w.status(a.physical_id) == "ACTIVE"
    if w.kind.fails_at_once:
        return  # B's create call was refused: nothing to stop
    (model,) = [m for m in w.resources() if w.physical(m) != a.physical_id]
    # B: deleted under DESTROY (by the cleanup's Delete, or by the rollback naming A,
    # after which no Delete comes for it), else kept
    assert model["status"] == w.destroyed("CREATE_FAILED")
    assert w.status(a.physical_id) == "ACTIVE"


@row("7 replacing update, this resource fails; rollback names B")
def _(w: World) -> None:
    _row_7(w, "B")


@row("7 replacing update, this resource fails; rollback names A")
def _(w: World) -> None:
    _row_7(w, "A")


@row("8 rollback of an in-place update")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    changed = w.change_in_place(w.props("A"))
    assert w.cfn.update(changed, old=w.props("A"), physical_id=a.physical_id).ok
    assert w.changed_in_place()
    back = w.cfn.update(w.props("A"), old=changed, physical_id=a.physical_id, rollback=True)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id  # Update(props=old, old=new, A) -> returns A
    (model,) = w.resources()
    assert "team" not in model["tags"]
    held = model["request"]  # what the service holds is the original's again
    original = w.props("A")
    for key in w.kind.in_place:
        if key in _API:
            assert held.get(_API[key]) == original.get(key)
    assert w.trainings() == 1


@row("9 stack delete")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    assert w.cfn.delete(w.props("A"), physical_id=a.physical_id).ok  # Delete(A)
    w.settle()
    assert w.status(a.physical_id) == w.destroyed("ACTIVE")


@row("10 any event delivered twice")
def _(w: World) -> None:
    first = w.cfn.create(w.props("A"), request_id="create-1")
    second = w.cfn.create(w.props("A"), request_id="create-1")
    assert w.deployed(first, "A"), first.reason
    assert second.ok, second.reason
    assert first.physical_id == second.physical_id
    assert w.trainings() == 1
    b1 = w.cfn.update(
        w.props("B"), old=w.props("A"), physical_id=first.physical_id, request_id="update-1"
    )
    b2 = w.cfn.update(
        w.props("B"), old=w.props("A"), physical_id=first.physical_id, request_id="update-1"
    )
    assert w.deployed(b1, "B"), b1.reason
    assert b2.ok, b2.reason
    assert b1.physical_id == b2.physical_id
    assert w.trainings() == 2
    for _ in range(2):
        assert w.cfn.delete(w.props("B"), physical_id=b1.physical_id, request_id="delete-1").ok
    w.settle()
    assert w.status(b1.physical_id) == w.destroyed("ACTIVE")


def _cancelled_first_deploy(w: World, started: int) -> None:
    """After a first deploy CloudFormation cancelled: under DESTROY nothing is left
    running (the Delete or the poll stopped it); under RETAIN what was started is kept,
    and deploying again adopts it (no second training)."""
    w.settle()
    if w.destroy and w.kind.removable:
        assert all(status == w.kind.stopped for status in w.statuses()), w.statuses()
    else:  # RETAIN kept it; an export cannot be undone
        live = ("CREATE_PENDING", "CREATE_IN_PROGRESS", "ACTIVE")
        assert all(status in live for status in w.statuses()), w.statuses()
    assert w.trainings() == started
    w.recreate_stack()
    again = w.cfn.create(w.props("A"))
    assert w.deployed(again, "A"), again.reason
    kept = started and (not w.destroy or not w.kind.removable)
    assert w.trainings() == (started if kept else started + 1)


@row("11 a sibling fails after the first poll created it")
def _(w: World) -> None:
    flight = w.cfn.start(w.props("A"))  # Create(new): on_event answered a pending id
    assert flight.response is None
    flight.poll()  # the waiter's first poll creates it (the long path's also answers)
    assert w.trainings() == 1
    made_up = w.cfn.cancel()  # ours: CREATE_FAILED "Resource creation cancelled"
    # ROLLBACK_IN_PROGRESS: Delete(props=new, an id CloudFormation made up)
    assert w.cfn.delete(w.props("A"), physical_id=made_up).ok
    w.run_out(flight)  # the framework's waiter is not stopped: its answer is ignored
    _cancelled_first_deploy(w, started=1)


@row("11 the stack is deleted while the create is in flight")
def _(w: World) -> None:
    flight = w.cfn.start(w.props("A"))
    flight.poll()
    made_up = w.cfn.cancel("DELETE_IN_PROGRESS")
    assert w.cfn.delete(w.props("A"), physical_id=made_up).ok
    w.run_out(flight)
    _cancelled_first_deploy(w, started=1)


@row("11 a sibling fails before the first poll")
def _(w: World) -> None:
    flight = w.cfn.start(w.props("A"))
    made_up = w.cfn.cancel()
    # the Delete arrives before the waiter's first poll: nothing exists yet
    assert w.cfn.delete(w.props("A"), physical_id=made_up).ok
    failed = w.run_out(flight)  # and then the poll must create nothing
    assert failed.status == "FAILED"
    assert "nothing was created" in failed.reason
    _cancelled_first_deploy(w, started=0)


@row("11 a sibling fails while the first poll creates it")
def _(w: World) -> None:
    flight = w.cfn.start(w.props("A"))
    before = index._stack_operation(w.cfn.stack_id)
    made_up = w.cfn.cancel()
    # the Delete looked before the creation landed: it found nothing
    assert w.cfn.delete(w.props("A"), physical_id=made_up).ok
    assert w.trainings() == 0
    # ... and the poll's look at the stack came before the cancellation
    looked = index._stack_operation
    seen = iter([before])
    index._stack_operation = lambda stack_id: next(seen, None) or looked(stack_id)
    try:
        flight.poll()
    finally:
        index._stack_operation = looked
    assert w.trainings() == 1
    w.run_out(flight)  # the poll's second look saw the cancellation
    _cancelled_first_deploy(w, started=1)


@row("12 a removed resource's Delete runs under the new template's policy")
def _(w: World) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.deployed(a, "A"), a.reason
    # deploy 2 removes the last construct of this kind: UPDATE_IN_PROGRESS rewrites the
    # shared handler policy; UPDATE_COMPLETE_CLEANUP then sends Delete(A, props=old)
    w.remove_the_kind()
    gone = w.cfn.delete(w.props("A"), physical_id=a.physical_id)
    assert gone.ok, gone.reason
    w.settle()
    assert w.status(a.physical_id) == w.destroyed("ACTIVE")


def _guarded(w: World, config: str, *, allowed: bool = False) -> dict[str, Any]:
    props = w.props(config)
    props[contract.REPLACEMENT_PROTECTION] = "Test/Resource"
    props.pop(contract.REPLACEMENT_ALLOWED, None)
    if allowed:
        props[contract.REPLACEMENT_ALLOWED] = "true"
    return props


def test_the_guard_refuses_a_replacement_before_anything_starts(guarded: World) -> None:
    """``replacement_protection``: a replacing update (rows 5 to 7 begin with one: a
    changed create parameter) fails before anything starts, naming what changed and how to allow it;
    its rollback, Update(props=old, old=new, A), returns A and starts nothing; an
    in-place update (tags) still goes through, and a deploy that lifts the guard
    replaces as row 5 does."""
    w = guarded
    created = w.cfn.create(_guarded(w, "A"))
    assert w.deployed(created, "A"), created.reason
    refused = w.cfn.update(_guarded(w, "B"), old=_guarded(w, "A"), physical_id=created.physical_id)
    assert refused.status == "FAILED"
    assert "replacement_protection" in refused.reason
    assert "allowReplacement=Test/Resource" in refused.reason
    changed = {
        "trained-model": "hyperparameters['epochs']: changed (values hidden)",
        "ml-input-channel": "data_source (its query): changed (values hidden)",
        "inference-job": "instance_type: 'ml.m5.xlarge' -> 'ml.m5.2xlarge'",
        "audience-model": (
            "training_data_start_time: '2026-01-01T00:00:00Z' -> '2026-02-01T00:00:00Z'"
        ),
        "audience-generation-job": (
            "seed_audience (its S3 location): 's3://seeds/a.csv' -> 's3://seeds/b.csv'"
        ),
    }[w.kind.emulated_name]
    assert changed in refused.reason, refused.reason
    assert w.trainings() == 1  # nothing started
    back = w.cfn.update(_guarded(w, "A"), old=_guarded(w, "B"), physical_id=created.physical_id)
    assert back.ok, back.reason
    assert back.physical_id == created.physical_id
    tagged = dict(_guarded(w, "A"), **{contract.TAGS: {"team": "ml"}})
    in_place = w.cfn.update(tagged, old=_guarded(w, "A"), physical_id=created.physical_id)
    assert in_place.ok, in_place.reason
    assert w.trainings() == 1
    allowed = w.cfn.update(
        _guarded(w, "B", allowed=True), old=tagged, physical_id=created.physical_id
    )
    assert w.deployed(allowed, "B"), allowed.reason
    assert allowed.physical_id != created.physical_id
    assert w.trainings() == 2


@pytest.mark.parametrize("number", list(ROWS))
def test_row(number: str, world: World, request: pytest.FixtureRequest) -> None:
    CALLS.clear()
    ROWS[number](world)
    assert world.enforcer.denials == []
    assert world.enforcer.checked > 0
    _report(request.node.name, world.trainings())


CALLS: collections.Counter[str] = collections.Counter()
"""The API calls the handler made in the current row, by operation."""


def _count_call(model: Any, **_: Any) -> None:
    CALLS[model.name] += 1


def _report(case: str, created: int) -> None:
    """With ``EVENT_SEQUENCES_REPORT=<file>``, a JSON line per case: the calls made and
    the resources created (trainings, queries, jobs started) - for the closing notes."""
    path = os.environ.get("EVENT_SEQUENCES_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as report:
            report.write(json.dumps({"case": case, "created": created, "calls": CALLS}) + "\n")


# --- the ML configuration: one per membership, no name, no tags, no status ------------
# Its replacement is a move to another membership (B); an in-place change is a new
# output location or role (A2). "Created" counts the memberships configured.

M2 = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


@dataclass
class ConfigWorld:
    cfn: CloudFormation
    emulator: Emulator
    policy: str
    enforcer: Enforcer

    def props(self, config: str = "A") -> dict[str, Any]:
        return {
            contract.MEMBERSHIP_IDENTIFIER: M2 if config == "B" else M,
            contract.OUTPUT_S3_URI: f"s3://bucket/{config.lower()}/",
            contract.ROLE_ARN: "arn:aws:iam::000000000000:role/cleanrooms-ml-config",
            contract.REMOVAL_POLICY: self.policy,
        }

    @property
    def destroy(self) -> bool:
        return self.policy == "destroy"

    def held(self) -> dict[str, str]:
        """Each membership's output location, as the service holds it."""
        return {
            membership: held["defaultOutputLocation"]["destination"]["s3Destination"]["s3Uri"]
            for membership, held in self.emulator.configurations().items()
        }

    def puts(self) -> int:
        return self.emulator.calls.count("PutMLConfiguration")


@pytest.fixture(params=["retain", "destroy"])
def config_world(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    cloud: Cloud,
) -> ConfigWorld:
    server, client, _, enforcer = cloud
    emulator = fresh_emulator(monkeypatch, server, client)
    framework = Framework(advance=emulator.clock.advance)
    cfn = CloudFormation(framework, resource_type=contract.ML_CONFIGURATION_RESOURCE_TYPE)
    _enforce(monkeypatch, enforcer, "ml-configuration", cfn.stack_id)
    return ConfigWorld(cfn, emulator, request.param, enforcer)


CONFIG_ROWS: dict[str, Callable[[ConfigWorld], None]] = {}


def config_row(number: str) -> Callable[[Callable[[ConfigWorld], None]], Any]:
    def register(test: Callable[[ConfigWorld], None]) -> Callable[[ConfigWorld], None]:
        CONFIG_ROWS[number] = test
        return test

    return register


@config_row("1 first deploy, succeeds")
def _(w: ConfigWorld) -> None:
    a = w.cfn.create(w.props("A"))
    assert a.ok, a.reason
    assert a.physical_id == f"ml-configuration:{M}"
    assert a.data == {"MembershipIdentifier": M}
    assert w.held() == {M: "s3://bucket/a/"}


@config_row("2a first deploy, on_event itself fails")
def _(w: ConfigWorld) -> None:
    w.emulator.inject_fault("GetMLConfiguration", "AccessDeniedException")
    a = w.cfn.create(w.props("A"))
    assert a.status == "FAILED"
    assert a.physical_id == CREATE_FAILED_MARKER
    assert w.cfn.delete(w.props("A"), physical_id=a.physical_id).ok
    assert w.held() == {}


@config_row("2b first deploy, the put fails")
def _(w: ConfigWorld) -> None:
    w.emulator.inject_fault("PutMLConfiguration", "AccessDeniedException")
    a = w.cfn.create(w.props("A"))
    assert a.status == "FAILED"
    assert "AccessDeniedException" in a.reason
    assert w.cfn.delete(w.props("A"), physical_id=a.physical_id).ok  # nothing to delete
    assert w.held() == {}


@config_row("3 first deploy, a later resource fails")
def _(w: ConfigWorld) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.cfn.delete(w.props("A"), physical_id=a.physical_id).ok
    assert w.held() == ({} if w.destroy else {M: "s3://bucket/a/"})
    w.cfn.recreate_stack()
    w.enforcer.policy = handler_policy("ml-configuration", w.cfn.stack_id)
    again = w.cfn.create(w.props("A"))
    assert again.ok, again.reason
    assert w.puts() == (2 if w.destroy else 1)  # the kept one is adopted, as it is


@config_row("4 in-place update (another output location)")
def _(w: ConfigWorld) -> None:
    a = w.cfn.create(w.props("A"))
    changed = dict(w.props("A"), **{contract.OUTPUT_S3_URI: "s3://bucket/a2/"})
    updated = w.cfn.update(changed, old=w.props("A"), physical_id=a.physical_id)
    assert updated.ok, updated.reason
    assert updated.physical_id == a.physical_id
    assert w.held() == {M: "s3://bucket/a2/"}


@config_row("5 replacing update (another membership), all succeeds")
def _(w: ConfigWorld) -> None:
    a = w.cfn.create(w.props("A"))
    b = w.cfn.update(w.props("B"), old=w.props("A"), physical_id=a.physical_id)
    assert b.ok, b.reason
    assert b.physical_id == f"ml-configuration:{M2}"
    assert w.cfn.delete(w.props("A"), physical_id=a.physical_id).ok  # cleanup: Delete(A)
    expected = {M2: "s3://bucket/b/"} if w.destroy else {M: "s3://bucket/a/", M2: "s3://bucket/b/"}
    assert w.held() == expected


@config_row("6 replacing update succeeds, a later resource fails")
def _(w: ConfigWorld) -> None:
    a = w.cfn.create(w.props("A"))
    b = w.cfn.update(w.props("B"), old=w.props("A"), physical_id=a.physical_id)
    back = w.cfn.update(w.props("A"), old=w.props("B"), physical_id=b.physical_id, rollback=True)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    assert w.puts() == 2  # A was not put again
    assert w.cfn.delete(w.props("B"), physical_id=b.physical_id).ok
    expected = {M: "s3://bucket/a/"} if w.destroy else {M: "s3://bucket/a/", M2: "s3://bucket/b/"}
    assert w.held() == expected


def _row_7_config(w: ConfigWorld, rollback_id: str) -> None:
    a = w.cfn.create(w.props("A"))
    w.emulator.inject_fault("PutMLConfiguration", "AccessDeniedException")
    b = w.cfn.update(w.props("B"), old=w.props("A"), physical_id=a.physical_id)
    assert b.status == "FAILED"
    current = b.physical_id if rollback_id == "B" else a.physical_id
    back = w.cfn.update(w.props("A"), old=w.props("B"), physical_id=current, rollback=True)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    if rollback_id == "B":
        assert w.cfn.delete(w.props("B"), physical_id=b.physical_id).ok
    assert w.held() == {M: "s3://bucket/a/"}


@config_row("7 replacing update, this resource fails; rollback names B")
def _(w: ConfigWorld) -> None:
    _row_7_config(w, "B")


@config_row("7 replacing update, this resource fails; rollback names A")
def _(w: ConfigWorld) -> None:
    _row_7_config(w, "A")


@config_row("8 rollback of an in-place update")
def _(w: ConfigWorld) -> None:
    a = w.cfn.create(w.props("A"))
    changed = dict(w.props("A"), **{contract.OUTPUT_S3_URI: "s3://bucket/a2/"})
    assert w.cfn.update(changed, old=w.props("A"), physical_id=a.physical_id).ok
    back = w.cfn.update(w.props("A"), old=changed, physical_id=a.physical_id, rollback=True)
    assert back.ok, back.reason
    assert back.physical_id == a.physical_id
    assert w.held() == {M: "s3://bucket/a/"}


@config_row("9 stack delete")
def _(w: ConfigWorld) -> None:
    a = w.cfn.create(w.props("A"))
    assert w.cfn.delete(w.props("A"), physical_id=a.physical_id).ok
    assert w.held() == ({} if w.destroy else {M: "s3://bucket/a/"})


@config_row("10 any event delivered twice")
def _(w: ConfigWorld) -> None:
    first = w.cfn.create(w.props("A"), request_id="c-1")
    second = w.cfn.create(w.props("A"), request_id="c-1")
    assert first.ok, first.reason
    assert second.ok, second.reason
    assert first.physical_id == second.physical_id
    for _ in range(2):
        assert w.cfn.delete(w.props("A"), physical_id=first.physical_id, request_id="d-1").ok
    assert w.held() == ({} if w.destroy else {M: "s3://bucket/a/"})


def _run_out(w: ConfigWorld, flight: InFlight) -> Response:
    while (response := flight.poll()) is None:
        w.emulator.clock.advance(flight.framework.query_interval)
    return response


@config_row("11 a sibling fails after the poll put it")
def _(w: ConfigWorld) -> None:
    flight = w.cfn.start(w.props("A"))
    assert flight.poll() is not None  # the put is one call: done, but not yet read
    made_up = w.cfn.cancel()
    assert w.cfn.delete(w.props("A"), physical_id=made_up).ok
    assert w.held() == ({} if w.destroy else {M: "s3://bucket/a/"})


@config_row("11 a sibling fails before the poll")
def _(w: ConfigWorld) -> None:
    flight = w.cfn.start(w.props("A"))
    made_up = w.cfn.cancel()
    assert w.cfn.delete(w.props("A"), physical_id=made_up).ok
    assert _run_out(w, flight).status == "FAILED"
    assert w.held() == {}
    assert w.puts() == 0


@config_row("11 a sibling fails while the poll puts it")
def _(w: ConfigWorld) -> None:
    flight = w.cfn.start(w.props("A"))
    before = index._stack_operation(w.cfn.stack_id)
    made_up = w.cfn.cancel()
    assert w.cfn.delete(w.props("A"), physical_id=made_up).ok  # nothing put yet
    looked = index._stack_operation
    seen = iter([before])
    index._stack_operation = lambda stack_id: next(seen, None) or looked(stack_id)
    try:
        assert _run_out(w, flight).status == "FAILED"  # its second look saw it
    finally:
        index._stack_operation = looked
    assert w.puts() == 1
    assert w.held() == ({} if w.destroy else {M: "s3://bucket/a/"})


@config_row("12 a removed configuration's Delete runs under the new template's policy")
def _(w: ConfigWorld) -> None:
    a = w.cfn.create(w.props("A"))
    assert a.ok, a.reason
    w.enforcer.policy = handler_policy("ml-configuration", w.cfn.stack_id, only_other_kinds=True)
    gone = w.cfn.delete(w.props("A"), physical_id=a.physical_id)
    assert gone.ok, gone.reason
    assert w.held() == ({} if w.destroy else {M: "s3://bucket/a/"})


@pytest.mark.parametrize("number", list(CONFIG_ROWS))
def test_ml_configuration_row(
    number: str, config_world: ConfigWorld, request: pytest.FixtureRequest
) -> None:
    CALLS.clear()
    CONFIG_ROWS[number](config_world)
    assert config_world.enforcer.denials == []
    _report(request.node.name, config_world.puts())
