"""The emulator's state machine: trained models on a configurable clock.

Every behaviour here that the service model does not state is an ASSUMPTION,
listed with its reasoning in ``cdk_cleanrooms_ml/local/ASSUMPTIONS.md`` (the ids A1... below
refer to it).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final

from .. import cloud
from . import shapes

REGION: Final = cloud.REGION
"""The region of a request that names none (the local cloud's)."""
ACCOUNT: Final = cloud.ACCOUNT
"""The account the emulator's resources belong to (the local cloud's)."""
CLEAN_ROOMS_ARN: Final = re.compile(
    r"arn:(?P<partition>aws[-a-z]*):cleanrooms(?:-ml)?:(?P<region>[-a-z0-9]*):[0-9]*:"
)
"""A Clean Rooms or Clean Rooms ML ARN: a resource of one region."""
MAX_TAGS: Final = 50  # A9: the API reference's documented limit (the model says 200)
DEFAULT_PAGE_SIZE: Final = 10

TRAINING: Final = ("CREATE_PENDING", "CREATE_IN_PROGRESS")

NEW_ARN: Final = "new-arn"
"""A2 (a): incremental training makes a new trained model, a new ARN with a version."""
SHARED_ARN: Final = "shared-arn"
"""A2 (b): incremental training makes a new version of the base model's ARN."""
INCREMENTAL_TRAINING: Final = (NEW_ARN, SHARED_ARN)
"""The readings of incremental training the emulator plays (``Emulator.incremental_training``)."""
BASE_ONLY: Final = "base-only"
"""A2: ``DeleteTrainedModelOutput`` without a version deletes the base version only."""
ALL_VERSIONS: Final = "all-versions"
"""A2: ... deletes every version of the ARN (refused while one is still changing)."""
REFUSED: Final = "refused"
"""A2: ... is refused (``ConflictException``) while another version of the ARN is live."""
BASE_OUTPUT_DELETE: Final = (BASE_ONLY, ALL_VERSIONS, REFUSED)
"""What deleting a base version's output does to the other versions of its ARN (shared
ARN only; ``Emulator.base_output_delete``)."""
STORED: Final = ("ACTIVE", "CREATE_FAILED", "DELETE_FAILED", "CANCEL_FAILED")
"""A6: a model version in one of these has output that can be deleted."""


@cache
def partition(region: str) -> str:
    """The partition of ``region`` (``aws-cn`` for ``cn-north-1``), ``aws`` if unknown."""
    import botocore.exceptions
    import botocore.session

    try:
        found: str = botocore.session.get_session().get_partition_for_region(region)
    except botocore.exceptions.UnknownRegionError:
        return "aws"
    return found


def not_emulated(operation: str) -> str:
    """The message of an operation the model has and the emulator does not implement."""
    return (
        f"{operation} is not emulated: this Clean Rooms ML emulator implements only the "
        "operations cdk-cleanrooms-ml calls (the README lists them)"
    )


class EmulatorError(Exception):
    """A modelled service error: ``code`` is the error shape's name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Clock:
    """Seconds since an origin, optionally scaled (``scale=60``: a minute a second)."""

    def __init__(self, scale: float = 1.0, source: Callable[[], float] = time.monotonic) -> None:
        self.scale = scale
        self._source = source
        self._origin = source()
        self._offset = 0.0

    def now(self) -> float:
        return (self._source() - self._origin) * self.scale + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward (tests)."""
        self._offset += seconds


@dataclass
class Timings:
    """How long each phase takes, in clock seconds."""

    pending_seconds: float = 1.0
    training_seconds: float = 5.0
    transition_seconds: float = 1.0
    audience_model_seconds: float | None = None
    """How long an audience model trains (A21: hours on AWS); None: ``training_seconds``."""

    def audience_model(self) -> float:
        found = self.audience_model_seconds
        return self.training_seconds if found is None else found


MODEL: Final = "trained-model"
CHANNEL: Final = "ml-input-channel"
JOB: Final = "trained-model-inference-job"
AUDIENCE_MODEL: Final = "audience-model"
CONFIGURED_AUDIENCE_MODEL: Final = "configured-audience-model"
GENERATION_JOB: Final = "audience-generation-job"
AUDIENCE_EXPORT: Final = "audience-export-job"
MODEL_EXPORT: Final = "trained-model-export-job"
NOUNS: Final = {
    MODEL: "trained model",
    CHANNEL: "ML input channel",
    JOB: "trained model inference job",
    AUDIENCE_MODEL: "audience model",
    CONFIGURED_AUDIENCE_MODEL: "configured audience model",
    GENERATION_JOB: "audience generation job",
    AUDIENCE_EXPORT: "audience export job",
    MODEL_EXPORT: "trained model export job",
}
ACCOUNT_KINDS: Final = (AUDIENCE_MODEL, CONFIGURED_AUDIENCE_MODEL, GENERATION_JOB)
"""Kinds of the account and region (their ARNs name no membership)."""
EXPORTS: Final = (AUDIENCE_EXPORT, MODEL_EXPORT)
"""Kinds with no ARN and no tags, found through what they export (A25, A26)."""
DELETED: Final = "DELETED"
"""The emulator's own mark of an audience kind's resource that was deleted: its API
knows it no more (``ResourceNotFoundException``, left out of lists; A21)."""
DELETING: Final = ("DELETE_PENDING", "DELETE_IN_PROGRESS")


@dataclass
class _Model:
    """A trained model version, an ML input channel or an inference job (``kind``)."""

    arn: str
    version: str | None
    region: str
    membership: str
    collaboration: str
    name: str
    request: dict[str, Any]
    created_at: float
    created_time: datetime
    timeline: list[tuple[float, str]]
    failure: dict[str, str] | None = None
    kind: str = MODEL
    parent: str | None = None
    """An export's: the ARN of what it exports (A25, A26)."""

    def _reached(self, now: float) -> tuple[float, str]:
        """The timeline's latest step at ``now`` (its first before it starts)."""
        reached = [step for step in self.timeline if step[0] <= now]
        return reached[-1] if reached else self.timeline[0]

    def status(self, now: float) -> str:
        return self._reached(now)[1]

    def changed_at(self, now: float) -> float:
        return self._reached(now)[0]

    def replan(self, now: float, steps: list[tuple[float, str]]) -> None:
        self.timeline = [(at, s) for at, s in self.timeline if at <= now] + steps


def _copy(model: _Model, out: dict[str, Any], *keys: str) -> None:
    """The request's members ``keys`` (those it had) into the description ``out``."""
    for key in keys:
        if key in model.request:
            out[key] = copy.deepcopy(model.request[key])


@dataclass(frozen=True)
class Readings:
    """How the emulator reads what AWS does not document (ASSUMPTIONS.md): the default is
    the reading the ASSUMPTIONs state; each knob plays the other one, so that the handler's
    tests can run under both.
    """

    inactive_holds_name: bool = False
    """A1, A12: False, a name is free again once its resource is INACTIVE (deleted,
    cancelled); True, the service keeps it: a namesake, even INACTIVE, is a conflict."""
    strict_states: bool = False
    """A4, A6, A13, A15: False, as the ASSUMPTIONs state (a model or job is cancellable
    while CREATE_PENDING or CREATE_IN_PROGRESS; what a failed creation stored, or a
    CANCEL_FAILED model's output, can be deleted); True, cancellable only once
    CREATE_IN_PROGRESS or again after CANCEL_FAILED, a failed creation stores nothing
    (deleting it is ConflictException) and a CANCEL_FAILED model's output cannot be
    deleted (it must be cancelled again)."""

    def cancellable(self) -> tuple[str, ...]:
        """The statuses a model or a job can be cancelled in (A4, A15)."""
        return ("CREATE_IN_PROGRESS", "CANCEL_FAILED") if self.strict_states else TRAINING

    def deletable(self, kind: str) -> tuple[str, ...]:
        """The statuses a model's output (a channel's data) can be deleted in (A6, A13)."""
        if self.strict_states:
            return ("ACTIVE", "DELETE_FAILED")
        if kind == MODEL:
            return ("ACTIVE", "CREATE_FAILED", "DELETE_FAILED", "CANCEL_FAILED")
        return ("ACTIVE", "CREATE_FAILED", "DELETE_FAILED")


@dataclass
class _Fault:
    code: str
    message: str
    remaining: int


@dataclass
class Emulator:
    """All trained models and the knobs tests turn (thread-safe)."""

    timings: Timings = field(default_factory=Timings)
    clock: Clock = field(default_factory=Clock)
    max_models_per_membership: int = 100
    region: str = REGION
    """The region of a request that names none."""
    account: str = ACCOUNT
    """The account in every ARN the emulator makes."""
    readings: Readings = field(default_factory=Readings)
    """Which reading of each unknown the emulator plays (``Readings``)."""
    incremental_training: str = NEW_ARN
    """A2: which reading of incremental training it plays (``INCREMENTAL_TRAINING``)."""
    base_output_delete: str = BASE_ONLY
    """A2, shared ARN: what deleting the base version's output does to the other
    versions of its ARN (``BASE_OUTPUT_DELETE``)."""
    _models: list[_Model] = field(default_factory=list)
    _tags: dict[str, dict[str, str]] = field(default_factory=dict)
    _faults: dict[str, list[_Fault]] = field(default_factory=dict)
    _fail_next_creations: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    _fail_next_deletes: list[dict[str, str]] = field(default_factory=list)
    _fail_next_cancels: list[dict[str, str]] = field(default_factory=list)
    _configurations: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """Each (region, membership)'s ML configuration."""
    _policies: dict[str, str] = field(default_factory=dict)
    """Each configured audience model's resource policy, by its ARN (A23)."""
    calls: list[str] = field(default_factory=list)
    history: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every call with its parameters, faults included (for tests)."""
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _region: str = field(default="", init=False, repr=False)
    """The region of the call being served."""

    def __post_init__(self) -> None:
        self.configure()

    # --- knobs ---------------------------------------------------------------
    def configure(
        self, incremental_training: str | None = None, base_output_delete: str | None = None
    ) -> None:
        """Set the readings it plays (A2); a value it does not know is a ``ValueError``."""
        with self._lock:
            training = incremental_training or self.incremental_training
            deleting = base_output_delete or self.base_output_delete
            if training not in INCREMENTAL_TRAINING:
                raise ValueError(
                    f"incremental training {training!r}; allowed: {', '.join(INCREMENTAL_TRAINING)}"
                )
            if deleting not in BASE_OUTPUT_DELETE:
                raise ValueError(
                    f"base output delete {deleting!r}; allowed: {', '.join(BASE_OUTPUT_DELETE)}"
                )
            self.incremental_training, self.base_output_delete = training, deleting

    def settings(self) -> dict[str, str]:
        """The readings it plays (the ``/_emulator/settings`` route)."""
        return {
            "incremental_training": self.incremental_training,
            "base_output_delete": self.base_output_delete,
        }

    def inject_fault(self, operation: str, code: str, count: int = 1, message: str = "") -> None:
        """The next ``count`` calls of ``operation`` fail with the modelled error ``code``."""
        with self._lock:
            text = message or f"injected {code}"
            self._faults.setdefault(operation, []).append(_Fault(code, text, count))

    def fail_next_training(self, message: str = "AlgorithmError: training failed") -> None:
        """The next model created ends in CREATE_FAILED with this status message."""
        self.fail_next_creation(MODEL, message)

    def fail_next_creation(self, kind: str, message: str) -> None:
        """The next ``kind`` (``MODEL``, ``CHANNEL``, ``JOB``, ...) created ends in
        CREATE_FAILED."""
        with self._lock:
            code, _, text = message.partition(": ")
            self._fail_next_creations.setdefault(kind, []).append(
                {"statusCode": code if text else "CreateFailed", "message": text or message}
            )

    def fail_next_delete(self, message: str = "artifacts could not be deleted") -> None:
        """The next delete of a model's output (a channel's data, an audience model, an
        audience generation job) ends in DELETE_FAILED."""
        with self._lock:
            self._fail_next_deletes.append({"statusCode": "DeleteFailed", "message": message})

    def fail_next_cancel(self, message: str = "the job could not be stopped") -> None:
        """The next cancellation of a model or a job ends in CANCEL_FAILED."""
        with self._lock:
            self._fail_next_cancels.append({"statusCode": "CancelFailed", "message": message})

    def _cancel(self, model: _Model, now: float, status: str, noun: str) -> None:
        """A4, A5, A15: a cancellable model or job goes CANCEL_PENDING ->
        CANCEL_IN_PROGRESS -> INACTIVE (or CANCEL_FAILED, ``fail_next_cancel``)."""
        if status not in self.readings.cancellable():
            raise EmulatorError("ConflictException", f"cannot cancel a {noun} that is {status}")
        failure = self._fail_next_cancels.pop(0) if self._fail_next_cancels else None
        if failure:
            model.failure = failure
        end = "CANCEL_FAILED" if failure else "INACTIVE"
        model.replan(now, self._phases(now, "CANCEL_PENDING", "CANCEL_IN_PROGRESS", end))

    def _deletable(self, model: _Model, status: str, noun: str) -> None:
        """A6, A13: whether what ``model`` stores can be deleted now."""
        if status == "INACTIVE":
            raise EmulatorError("ResourceNotFoundException", f"the {noun} has nothing left")
        if status not in self.readings.deletable(model.kind):
            raise EmulatorError(
                "ConflictException", f"cannot delete what a {noun} that is {status} stores"
            )

    def snapshot(self, kind: str = MODEL) -> list[dict[str, Any]]:
        """Every model version (channel, job, ...) with its current status, deleted audience
        resources included (``DELETED``): tests count what was ever created."""
        with self._lock:
            now = self.clock.now()
            return [
                {
                    "trainedModelArn": m.arn,
                    "versionIdentifier": m.version,
                    "region": m.region,
                    "name": m.name,
                    "membershipIdentifier": m.membership,
                    "status": m.status(now),
                    "tags": dict(self._tags.get(m.arn, {})),
                    "hyperparameters": dict(m.request.get("hyperparameters", {})),
                    # the ARN's own field for the other kinds (an export has none: the
                    # ARN of what it exports, with its name after it)
                    "arn": m.arn,
                    "parent": m.parent,
                    "request": copy.deepcopy(m.request),
                }
                for m in self._models
                if m.kind == kind
            ]

    def resources(self) -> dict[str, list[dict[str, Any]]]:
        """Every resource by kind, and the ML configurations (the CLI's status); a deleted
        audience resource is gone, and an audience export with its job (A25)."""
        with self._lock:
            kinds = (MODEL, CHANNEL, JOB, *ACCOUNT_KINDS, *EXPORTS)
            found = {
                kind: [r for r in self.snapshot(kind) if r["status"] != DELETED] for kind in kinds
            }
            jobs = {r["arn"] for r in found[GENERATION_JOB]}
            found[AUDIENCE_EXPORT] = [r for r in found[AUDIENCE_EXPORT] if r["parent"] in jobs]
            found["ml-configuration"] = [
                {"region": region, "membershipIdentifier": membership, **copy.deepcopy(held)}
                for (region, membership), held in self._configurations.items()
            ]
            return found

    def configurations(self, region: str | None = None) -> dict[str, dict[str, Any]]:
        """Every membership's ML configuration in ``region`` (default: the emulator's)."""
        with self._lock:
            wanted = region or self.region
            return {
                membership: copy.deepcopy(held)
                for (where, membership), held in self._configurations.items()
                if where == wanted
            }

    # --- dispatch ---------------------------------------------------------------
    @classmethod
    @cache
    def operations(cls) -> frozenset[str]:
        """The API operations the emulator implements (the others are not emulated)."""
        return frozenset(name.removeprefix("_op_") for name in dir(cls) if name.startswith("_op_"))

    def call(
        self, operation: str, params: dict[str, Any], *, region: str | None = None
    ) -> dict[str, Any]:
        """Run one API operation as asked in ``region`` (default: the emulator's); raises
        ``EmulatorError`` for modelled errors, ``UnknownOperationException`` for an
        operation it does not implement."""
        with self._lock:
            self.calls.append(operation)
            self.history.append((operation, copy.deepcopy(params)))
            queue = self._faults.get(operation) or []
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.pop(0)
                raise EmulatorError(fault.code, fault.message)
            if operation not in self.operations():
                raise EmulatorError("UnknownOperationException", not_emulated(operation))
            self._region = region or self.region
            self._in_region(operation, params)
            result: dict[str, Any] = getattr(self, f"_op_{operation}")(params)
            return result

    def _in_region(self, operation: str, params: dict[str, Any]) -> None:
        """A20: every Clean Rooms (ML) ARN a request names is in the request's region
        (and its partition), else ResourceNotFoundException: a region's service finds
        nothing of another region."""
        shape = shapes.service_model().operation_model(operation).input_shape
        here = (partition(self._region), self._region)
        for member, text, path in shapes.leaves(shape, params) if shape else ():
            if not member.metadata.get("pattern", "").startswith("arn:"):
                continue
            found = CLEAN_ROOMS_ARN.match(text)
            if found and (found["partition"], found["region"]) != here:
                raise EmulatorError(
                    "ResourceNotFoundException",
                    f"{path}: {text} not found in {self._region} (it names {found['region']})",
                )

    # --- helpers ----------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.now()

    def _ours(self, model: _Model, membership: str) -> bool:
        """Whether ``model`` is the membership's in the region of the call."""
        return model.membership == membership and model.region == self._region

    def _find(
        self, membership: str, arn: str, version: str | None, *, latest: bool = True
    ) -> _Model:
        """A trained model version; without ``version``, the latest of the ARN (A3), or
        its base version (not ``latest``: what cancel and delete address, A2)."""
        versions = [
            m
            for m in self._models
            if m.kind == MODEL and m.arn == arn and m.membership == membership
        ]
        if version is not None:
            versions = [m for m in versions if m.version == version]
        elif not latest:
            versions = [m for m in versions if m.version is None] or versions
        if not versions:
            raise EmulatorError("ResourceNotFoundException", f"trained model {arn} not found")
        return max(versions, key=lambda m: m.created_at)  # A3: no version = the latest

    def _source(self, membership: str, arn: str, version: str | None) -> _Model:
        """The model version a training or a job uses: the one named, else the ARN's
        latest ACTIVE one (A3), else its latest (which the caller then refuses)."""
        if version is not None:
            return self._find(membership, arn, version)
        now = self._now()
        versions = [
            m
            for m in self._models
            if m.kind == MODEL
            and m.arn == arn
            and m.membership == membership
            and m.status(now) == "ACTIVE"
        ]
        if versions:
            return max(versions, key=lambda m: m.created_at)
        return self._find(membership, arn, None)

    def _describe(self, model: _Model, *, full: bool) -> dict[str, Any]:
        out = self._common(model, "trainedModelArn")
        association = model.request["configuredModelAlgorithmAssociationArn"]
        out["configuredModelAlgorithmAssociationArn"] = association
        if model.version:
            out["versionIdentifier"] = model.version
        incremental = model.request.get("incrementalTrainingDataChannels")
        if incremental:
            out["incrementalTrainingDataChannels"] = [
                {k: v for k, v in channel.items() if k != "trainedModelArn"}
                for channel in incremental
            ]
        _copy(model, out, "mlModelTrainingPayerAccountId")
        if not full:
            return out
        _copy(
            model,
            out,
            "resourceConfig",
            "trainingInputMode",
            "stoppingCondition",
            "hyperparameters",
            "environment",
            "kmsKeyArn",
            "dataChannels",
        )
        return self._failed(model, out)

    def _list(
        self,
        kind: str,
        params: dict[str, Any],
        describe: Callable[..., dict[str, Any]],
        key: str,
    ) -> dict[str, Any]:
        """A page of the membership's resources of ``kind``, each as its summary."""
        items = [
            describe(m, full=False)
            for m in self._models
            if m.kind == kind and self._ours(m, params["membershipIdentifier"])
        ]
        return self._page(items, params, key)

    @staticmethod
    def _page(
        items: list[dict[str, Any]], params: dict[str, Any], key: str = "trainedModels"
    ) -> dict[str, Any]:
        size = int(params.get("maxResults") or DEFAULT_PAGE_SIZE)
        start = int(params.get("nextToken") or 0)
        page: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            page["nextToken"] = str(start + size)
        return page

    # --- operations ----------------------------------------------------------------
    def _op_CreateTrainedModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        now = self._now()
        membership = params["membershipIdentifier"]
        live = self._live(MODEL, params)  # A1: names unique among these
        if len(live) >= self.max_models_per_membership:
            raise EmulatorError("ServiceQuotaExceededException", "trained model quota reached")
        version = arn = None
        for channel in params.get("incrementalTrainingDataChannels", []):
            base = self._source(
                membership, channel["trainedModelArn"], channel.get("versionIdentifier")
            )
            if base.status(now) != "ACTIVE":
                raise EmulatorError(
                    "ValidationException",
                    f"base model {base.arn} is {base.status(now)}, not ACTIVE",
                )
            channel.setdefault("modelName", base.name)
            if base.version:  # the version it was trained from, also when it named none
                channel["versionIdentifier"] = base.version
            version = str(uuid.uuid4())  # A2: incremental training yields a version ...
            if self.incremental_training == SHARED_ARN:
                arn = base.arn  # ... of the base model's ARN (b), else of a new one (a)
        out = self._new(
            MODEL, params, self.timings.training_seconds, "trainedModelArn", version, arn
        )
        if version:
            out["versionIdentifier"] = version
        return out

    def _op_GetTrainedModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model = self._find(
            params["membershipIdentifier"],
            params["trainedModelArn"],
            params.get("versionIdentifier"),
        )
        return self._describe(model, full=True)

    def _op_ListTrainedModels(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._list(MODEL, params, self._describe, "trainedModels")

    def _op_ListTrainedModelVersions(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._find(params["membershipIdentifier"], params["trainedModelArn"], None)
        now = self._now()
        items = [
            self._describe(m, full=False)
            for m in self._models
            if m.arn == params["trainedModelArn"]
            and (not params.get("status") or m.status(now) == params["status"])
        ]
        return self._page(items, params)

    def _target(self, params: dict[str, Any]) -> tuple[_Model, float, str]:
        """The version a cancel or a delete addresses: without one, the base (A2)."""
        model = self._find(
            params["membershipIdentifier"],
            params["trainedModelArn"],
            params.get("versionIdentifier"),
            latest=False,
        )
        now = self._now()
        return model, now, model.status(now)

    def _phases(self, now: float, *statuses: str) -> list[tuple[float, str]]:
        step = self.timings.transition_seconds
        return [(now + i * step, status) for i, status in enumerate(statuses)]

    def _op_CancelTrainedModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model, now, status = self._target(params)
        self._cancel(model, now, status, "model")  # A4, A5
        return {}

    def _op_DeleteTrainedModelOutput(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model, now, status = self._target(params)
        self._deletable(model, status, "model")  # A6: once training has ended
        deleted = [model]
        if model.version is None and "versionIdentifier" not in params:
            deleted += self._with_the_base(model, now)
        failure = self._fail_next_deletes.pop(0) if self._fail_next_deletes else None
        if failure:
            model.failure = failure
        end = "DELETE_FAILED" if failure else "INACTIVE"  # A7
        for each in deleted:
            ending = end if each is model else "INACTIVE"
            each.replan(now, self._phases(now, "DELETE_PENDING", "DELETE_IN_PROGRESS", ending))
        return {}

    def _with_the_base(self, base: _Model, now: float) -> list[_Model]:
        """A2, shared ARN: the other versions a deletion of the base version's output
        takes along (``base_output_delete``); refused (``ConflictException``) when it
        cannot take them."""
        others = [
            m
            for m in self._models
            if m.kind == MODEL
            and m.arn == base.arn
            and m is not base
            and m.status(now) != "INACTIVE"
        ]
        if not others or self.base_output_delete == BASE_ONLY:
            return []
        changing = [m.version for m in others if m.status(now) not in STORED]
        if self.base_output_delete == REFUSED or changing:
            raise EmulatorError(
                "ConflictException",
                f"trained model {base.arn} has other versions: "
                + ", ".join(str(m.version) for m in others),
            )
        return others  # ALL_VERSIONS

    def _tagged(self, arn: str) -> dict[str, str]:
        now = self._now()
        deleted = any(m.arn == arn and m.status(now) == DELETED for m in self._models)
        if arn not in self._tags or deleted:
            raise EmulatorError("ResourceNotFoundException", f"resource {arn} not found")
        return self._tags[arn]

    def _op_TagResource(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        tags = self._tagged(params["resourceArn"])
        merged = {**tags, **params["tags"]}
        if len(merged) > MAX_TAGS:
            raise EmulatorError("ValidationException", f"{len(merged)} tags; at most {MAX_TAGS}")
        tags.update(params["tags"])
        return {}

    def _op_UntagResource(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        tags = self._tagged(params["resourceArn"])
        for key in params["tagKeys"]:
            tags.pop(key, None)
        return {}

    def _op_ListTagsForResource(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"tags": dict(self._tagged(params["resourceArn"]))}

    # --- ML input channels (A12, A13, A18) and inference jobs (A12, A14-A16, A18) ------
    def _next_failure(self, kind: str) -> dict[str, str] | None:
        queue = self._fail_next_creations.get(kind) or []
        return queue.pop(0) if queue else None

    def _live(self, kind: str, params: dict[str, Any]) -> list[_Model]:
        """The membership's resources of ``kind`` that are not INACTIVE, none named as
        ``params`` asks (A1 for models, A12 for channels and jobs; ``Readings``)."""
        now = self._now()
        ours = [
            m
            for m in self._models
            if m.kind == kind and self._ours(m, params["membershipIdentifier"])
        ]
        live = [m for m in ours if m.status(now) != "INACTIVE"]
        # A1, A12: an INACTIVE namesake holds no name, unless the service keeps names
        holders = ours if self.readings.inactive_holds_name else live
        if any(m.name == params["name"] for m in holders):
            raise EmulatorError(
                "ConflictException", f"a {NOUNS[kind]} named {params['name']!r} already exists"
            )
        return live

    def _start(
        self, kind: str, params: dict[str, Any], seconds: float, arn_field: str
    ) -> dict[str, Any]:
        """A new channel or job, its name unique among the membership's live ones (A12)."""
        self._live(kind, params)
        return self._new(kind, params, seconds, arn_field)

    def _new(
        self,
        kind: str,
        params: dict[str, Any],
        seconds: float,
        arn_field: str,
        version: str | None = None,
        arn: str | None = None,
        *,
        parent: str | None = None,
    ) -> dict[str, Any]:
        """A model (version), channel, job, audience model ... that takes ``seconds`` once
        pending ended: of the request's membership, else of the account; a version of
        ``arn`` (A2, shared ARN), whose tags it merges into the ARN's (A9); an export
        (``parent``: what it exports) has no ARN and no tags, and the answer is empty."""
        now = self._now()
        membership = str(params.get("membershipIdentifier") or "")
        tags = {**self._tags.get(arn or "", {}), **(params.get("tags") or {})}
        if len(tags) > MAX_TAGS:
            raise EmulatorError("ValidationException", f"{len(tags)} tags; at most {MAX_TAGS}")
        region = self._region
        account = f"arn:{partition(region)}:cleanrooms-ml:{region}:{self.account}"
        if parent is not None:
            arn = f"{parent}/export-job/{params['name']}"  # the emulator's own key
        elif arn is not None:
            pass  # a version of this ARN (A2, shared ARN)
        elif kind in ACCOUNT_KINDS:
            arn = f"{account}:{kind}/{uuid.uuid4()}"
        else:
            arn = f"{account}:membership/{membership}/{kind}/{uuid.uuid4()}"
        failure = self._next_failure(kind)
        request = copy.deepcopy(params)
        request.pop("tags", None)
        t = self.timings
        self._models.append(
            _Model(
                arn=arn,
                version=version,
                region=region,
                membership=membership,
                collaboration=str(uuid.uuid5(uuid.NAMESPACE_URL, membership)),
                name=params["name"],
                request=request,
                created_at=now,
                created_time=datetime.now(UTC),
                timeline=[
                    (now, "CREATE_PENDING"),
                    (now + t.pending_seconds, "CREATE_IN_PROGRESS"),
                    (now + t.pending_seconds + seconds, "CREATE_FAILED" if failure else "ACTIVE"),
                ],
                failure=failure,
                kind=kind,
                parent=parent,
            )
        )
        if parent is not None:
            return {}
        self._tags[arn] = dict(tags)
        return {arn_field: arn}

    def _common(self, model: _Model, arn_field: str) -> dict[str, Any]:
        now = self._now()
        changed = model.created_time.timestamp() + (model.changed_at(now) - model.created_at) / max(
            self.clock.scale, 1e-9
        )
        out: dict[str, Any] = {
            "createTime": model.created_time,
            "updateTime": datetime.fromtimestamp(changed, UTC),
            arn_field: model.arn,
            "name": model.name,
            "membershipIdentifier": model.membership,
            "collaborationIdentifier": model.collaboration,
            "status": model.status(now),
        }
        _copy(model, out, "description", "mlModelInferencePayerAccountId")
        return out

    def _failed(self, model: _Model, out: dict[str, Any]) -> dict[str, Any]:
        if out["status"].endswith("FAILED") and model.failure:
            out["statusDetails"] = dict(model.failure)
        out["tags"] = dict(self._tags.get(model.arn, {}))
        return out

    def _of(self, kind: str, membership: str, arn: str) -> _Model:
        """A channel or job, found in its own membership only (A18)."""
        found = [m for m in self._models if m.kind == kind and m.arn == arn]
        if not found or found[0].membership != membership:
            raise EmulatorError("ResourceNotFoundException", f"{kind} {arn} not found")
        return found[0]

    def _op_CreateMLInputChannel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        # the protected query takes as long as a training here (A13); the association
        # and the role are not looked up (A18)
        return self._start(CHANNEL, params, self.timings.training_seconds, "mlInputChannelArn")

    def _channel(self, model: _Model, *, full: bool) -> dict[str, Any]:
        out = self._common(model, "mlInputChannelArn")
        out["configuredModelAlgorithmAssociations"] = list(
            model.request["configuredModelAlgorithmAssociations"]
        )
        _copy(model, out, "payerConfiguration")
        if not full:
            return out
        _copy(model, out, "retentionInDays", "inputChannel", "kmsKeyArn")
        if out["status"] == "ACTIVE":
            out["numberOfRecords"] = 1000  # A13: a made-up count
        return self._failed(model, out)

    def _op_GetMLInputChannel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model = self._of(CHANNEL, params["membershipIdentifier"], params["mlInputChannelArn"])
        return self._channel(model, full=True)

    def _op_ListMLInputChannels(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._list(CHANNEL, params, self._channel, "mlInputChannelsList")

    def _op_DeleteMLInputChannelData(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model = self._of(CHANNEL, params["membershipIdentifier"], params["mlInputChannelArn"])
        now = self._now()
        status = model.status(now)
        self._deletable(model, status, "channel")  # A13: once its query has ended (no cancel)
        failure = self._fail_next_deletes.pop(0) if self._fail_next_deletes else None
        if failure:
            model.failure = failure
        end = "DELETE_FAILED" if failure else "INACTIVE"
        model.replan(now, self._phases(now, "DELETE_PENDING", "DELETE_IN_PROGRESS", end))
        return {}

    def _op_StartTrainedModelInferenceJob(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        membership = params["membershipIdentifier"]
        now = self._now()
        model = self._source(
            membership, params["trainedModelArn"], params.get("trainedModelVersionIdentifier")
        )
        channel = self._of(CHANNEL, membership, params["dataSource"]["mlInputChannelArn"])
        for what, found in (("trained model", model), ("ML input channel", channel)):
            if found.status(now) != "ACTIVE":  # A16
                raise EmulatorError(
                    "ValidationException", f"{what} {found.arn} is {found.status(now)}, not ACTIVE"
                )
        if model.version:  # the version it runs on, also when it named none (A3)
            params["trainedModelVersionIdentifier"] = model.version
        # A14: a job runs as long as a training and ends ACTIVE, which means finished
        return self._start(
            JOB, params, self.timings.training_seconds, "trainedModelInferenceJobArn"
        )

    def _job(self, model: _Model, *, full: bool) -> dict[str, Any]:
        out = self._common(model, "trainedModelInferenceJobArn")
        _copy(
            model,
            out,
            "trainedModelArn",
            "trainedModelVersionIdentifier",
            "outputConfiguration",
            "configuredModelAlgorithmAssociationArn",
        )
        if not full:
            return out
        del out["collaborationIdentifier"]  # the summary has it, GetTrainedModelInferenceJob not
        _copy(
            model,
            out,
            "resourceConfig",
            "dataSource",
            "containerExecutionParameters",
            "environment",
            "kmsKeyArn",
        )
        return self._failed(model, out)

    def _op_GetTrainedModelInferenceJob(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        arn = params["trainedModelInferenceJobArn"]
        return self._job(self._of(JOB, params["membershipIdentifier"], arn), full=True)

    def _op_ListTrainedModelInferenceJobs(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._list(JOB, params, self._job, "trainedModelInferenceJobs")

    def _op_CancelTrainedModelInferenceJob(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        arn = params["trainedModelInferenceJobArn"]
        model = self._of(JOB, params["membershipIdentifier"], arn)
        now = self._now()
        self._cancel(model, now, model.status(now), "job")  # A15: only a running job
        return {}

    # --- ML configurations (A17) --------------------------------------------------------
    def _op_PutMLConfiguration(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        key = (self._region, params["membershipIdentifier"])
        now = datetime.now(UTC)
        held = self._configurations.get(key)
        self._configurations[key] = {
            "defaultOutputLocation": copy.deepcopy(params["defaultOutputLocation"]),
            "createTime": held["createTime"] if held else now,
            "updateTime": now,
        }
        return {}

    def _op_GetMLConfiguration(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        membership = params["membershipIdentifier"]
        held = self._configurations.get((self._region, membership))
        if held is None:
            raise EmulatorError(
                "ResourceNotFoundException", f"no ML configuration for {membership}"
            )
        return {"membershipIdentifier": membership, **copy.deepcopy(held)}

    def _op_DeleteMLConfiguration(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        membership = params["membershipIdentifier"]
        if self._configurations.pop((self._region, membership), None) is None:
            raise EmulatorError(
                "ResourceNotFoundException", f"no ML configuration for {membership}"
            )
        return {}

    # --- audience models (A21), configured audience models (A22, A23), audience ----------
    # --- generation jobs (A24) and the exports (A25, A26) ----------------------------------
    def _here(self, kind: str) -> list[_Model]:
        """The region's resources of ``kind`` (a deleted audience resource is gone)."""
        now = self._now()
        return [
            m
            for m in self._models
            if m.kind == kind and m.region == self._region and m.status(now) != DELETED
        ]

    def _named_once(self, kind: str, name: str, among: list[_Model]) -> None:
        """A21, A22, A24-A26: a name is unique among ``among`` (ConflictException)."""
        if any(m.name == name for m in among):
            raise EmulatorError(
                "ConflictException", f"a {NOUNS[kind]} named {name!r} already exists"
            )

    def _account(self, kind: str, arn: str) -> _Model:
        """An audience kind's resource of the region, by its ARN."""
        found = [m for m in self._here(kind) if m.arn == arn]
        if not found:
            raise EmulatorError("ResourceNotFoundException", f"{NOUNS[kind]} {arn} not found")
        return found[0]

    def _times(self, model: _Model) -> dict[str, Any]:
        now = self._now()
        changed = model.created_time.timestamp() + (model.changed_at(now) - model.created_at) / max(
            self.clock.scale, 1e-9
        )
        return {
            "createTime": model.created_time,
            "updateTime": datetime.fromtimestamp(changed, UTC),
            "name": model.name,
            "status": model.status(now),
        }

    def _details(self, model: _Model, out: dict[str, Any]) -> dict[str, Any]:
        if out["status"].endswith("FAILED") and model.failure:
            out["statusDetails"] = dict(model.failure)
        return out

    def _delete_audience_kind(self, model: _Model) -> None:
        """A21, A24: DELETE_PENDING, DELETE_IN_PROGRESS, then gone (or DELETE_FAILED); one
        still being created stops. Deleting one being deleted is a ConflictException."""
        now = self._now()
        status = model.status(now)
        if status in DELETING:
            raise EmulatorError("ConflictException", f"{NOUNS[model.kind]} is {status}")
        failure = self._fail_next_deletes.pop(0) if self._fail_next_deletes else None
        if failure:
            model.failure = failure
        end = "DELETE_FAILED" if failure else DELETED
        model.replan(now, self._phases(now, "DELETE_PENDING", "DELETE_IN_PROGRESS", end))

    def _op_CreateAudienceModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._named_once(AUDIENCE_MODEL, params["name"], self._here(AUDIENCE_MODEL))
        start, end = params.get("trainingDataStartTime"), params.get("trainingDataEndTime")
        if start and end and _instant(start) >= _instant(end):
            raise EmulatorError(
                "ValidationException", "trainingDataStartTime must be before trainingDataEndTime"
            )
        # A21: the training dataset is not looked up (A8); training takes its own time
        seconds = self.timings.audience_model()
        return self._new(AUDIENCE_MODEL, params, seconds, "audienceModelArn")

    def _audience_model(self, model: _Model, *, full: bool) -> dict[str, Any]:
        out = self._times(model)
        out["audienceModelArn"] = model.arn
        _copy(model, out, "trainingDatasetArn", "description")
        if not full:
            return out
        for key in ("trainingDataStartTime", "trainingDataEndTime"):
            if key in model.request:
                out[key] = _instant(model.request[key])
        _copy(model, out, "kmsKeyArn")
        out["tags"] = dict(self._tags.get(model.arn, {}))
        return self._details(model, out)

    def _op_GetAudienceModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model = self._account(AUDIENCE_MODEL, params["audienceModelArn"])
        return self._audience_model(model, full=True)

    def _op_ListAudienceModels(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        items = [self._audience_model(m, full=False) for m in self._here(AUDIENCE_MODEL)]
        return self._page(items, params, "audienceModels")

    def _op_DeleteAudienceModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model = self._account(AUDIENCE_MODEL, params["audienceModelArn"])
        users = [
            m.name
            for m in self._here(CONFIGURED_AUDIENCE_MODEL)
            if m.request["audienceModelArn"] == model.arn
        ]
        if users:  # the API reference: not while a configured audience model depends on it
            raise EmulatorError(
                "ConflictException",
                f"configured audience models depend on this audience model: {', '.join(users)}",
            )
        self._delete_audience_kind(model)
        return {}

    def _active_audience_model(self, arn: str) -> None:
        """A22: the audience model of a configured one exists and is ACTIVE."""
        model = self._account(AUDIENCE_MODEL, arn)
        status = model.status(self._now())
        if status != "ACTIVE":
            raise EmulatorError(
                "ValidationException", f"audience model {arn} is {status}, not ACTIVE"
            )

    @staticmethod
    def _sizes(config: dict[str, Any] | None) -> None:
        """A22: a PERCENTAGE size is 1-100 (the API reference), an ABSOLUTE one 1-20000000."""
        if config and config["audienceSizeType"] == "PERCENTAGE":
            wrong = [b for b in config["audienceSizeBins"] if not 1 <= b <= 100]
            if wrong:
                raise EmulatorError(
                    "ValidationException", f"percentage audience sizes must be 1-100, got {wrong}"
                )

    def _op_CreateConfiguredAudienceModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        here = self._here(CONFIGURED_AUDIENCE_MODEL)
        self._named_once(CONFIGURED_AUDIENCE_MODEL, params["name"], here)
        self._active_audience_model(params["audienceModelArn"])
        self._sizes(params.get("audienceSizeConfig"))
        refused = self._next_failure(CONFIGURED_AUDIENCE_MODEL)
        if refused is not None:  # it has no failed status: its create call is refused
            raise EmulatorError(
                "ValidationException", f"{refused['statusCode']}: {refused['message']}"
            )
        out = self._new(CONFIGURED_AUDIENCE_MODEL, params, 0.0, "configuredAudienceModelArn")
        # A22: ACTIVE at once (the only status the model has)
        self._models[-1].timeline = [(self._now(), "ACTIVE")]
        return out

    def _configured(self, model: _Model, *, full: bool) -> dict[str, Any]:
        out = self._times(model)
        out["configuredAudienceModelArn"] = model.arn
        _copy(model, out, "audienceModelArn", "outputConfig", "description")
        if not full:
            return out
        _copy(
            model,
            out,
            "sharedAudienceMetrics",
            "minMatchingSeedSize",
            "audienceSizeConfig",
            "childResourceTagOnCreatePolicy",
        )
        out["tags"] = dict(self._tags.get(model.arn, {}))
        return out

    def _op_GetConfiguredAudienceModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model = self._account(CONFIGURED_AUDIENCE_MODEL, params["configuredAudienceModelArn"])
        return self._configured(model, full=True)

    def _op_ListConfiguredAudienceModels(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        items = [self._configured(m, full=False) for m in self._here(CONFIGURED_AUDIENCE_MODEL)]
        return self._page(items, params, "configuredAudienceModels")

    def _op_UpdateConfiguredAudienceModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        arn = params["configuredAudienceModelArn"]
        model = self._account(CONFIGURED_AUDIENCE_MODEL, arn)
        if "audienceModelArn" in params:
            self._active_audience_model(params["audienceModelArn"])
        self._sizes(params.get("audienceSizeConfig"))
        # A22: each member given replaces the one held; one left out is kept
        for key, value in params.items():
            if key != "configuredAudienceModelArn":
                model.request[key] = copy.deepcopy(value)
        now = self._now()
        model.timeline = [(now, "ACTIVE")]  # updateTime moves
        return {"configuredAudienceModelArn": arn}

    def _op_DeleteConfiguredAudienceModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model = self._account(CONFIGURED_AUDIENCE_MODEL, params["configuredAudienceModelArn"])
        # A22: gone at once, with its policy (A23)
        model.timeline = [*model.timeline, (self._now(), DELETED)]
        self._policies.pop(model.arn, None)
        self._tags.pop(model.arn, None)
        return {}

    # --- the configured audience model's resource policy (A23) ----------------------------
    def _policy_of(self, arn: str) -> str | None:
        self._account(CONFIGURED_AUDIENCE_MODEL, arn)
        return self._policies.get(arn)

    def _op_PutConfiguredAudienceModelPolicy(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        arn = params["configuredAudienceModelArn"]
        held = self._policy_of(arn)
        text = params["configuredAudienceModelPolicy"]
        try:
            json.loads(text)
        except ValueError:
            raise EmulatorError("ValidationException", "the policy is not JSON") from None
        condition = params.get("policyExistenceCondition")
        if condition == "POLICY_MUST_EXIST" and held is None:
            raise EmulatorError(
                "ValidationException", "the model has no policy (POLICY_MUST_EXIST)"
            )
        if condition == "POLICY_MUST_NOT_EXIST" and held is not None:
            raise EmulatorError(
                "ValidationException", "the model has a policy already (POLICY_MUST_NOT_EXIST)"
            )
        previous = params.get("previousPolicyHash")
        if previous is not None and (held is None or previous != policy_hash(held)):
            raise EmulatorError(
                "ValidationException",
                "previousPolicyHash is not the hash of the policy the model has: it changed",
            )
        self._policies[arn] = text
        return {"configuredAudienceModelPolicy": text, "policyHash": policy_hash(text)}

    def _op_GetConfiguredAudienceModelPolicy(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        arn = params["configuredAudienceModelArn"]
        held = self._policy_of(arn)
        if held is None:
            raise EmulatorError("ResourceNotFoundException", f"{arn} has no policy")
        return {
            "configuredAudienceModelArn": arn,
            "configuredAudienceModelPolicy": held,
            "policyHash": policy_hash(held),
        }

    def _op_DeleteConfiguredAudienceModelPolicy(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        arn = params["configuredAudienceModelArn"]
        if self._policy_of(arn) is None:
            raise EmulatorError("ResourceNotFoundException", f"{arn} has no policy")
        del self._policies[arn]
        return {}

    # --- audience generation jobs (A24) ---------------------------------------------------
    def _op_StartAudienceGenerationJob(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self._named_once(GENERATION_JOB, params["name"], self._here(GENERATION_JOB))
        self._account(CONFIGURED_AUDIENCE_MODEL, params["configuredAudienceModelArn"])
        seed = params["seedAudience"]
        if ("dataSource" in seed) == ("sqlParameters" in seed):
            raise EmulatorError(
                "ValidationException", "seedAudience takes exactly one of dataSource, sqlParameters"
            )
        if "sqlParameters" in seed:
            sql = seed["sqlParameters"]
            if ("queryString" in sql) == ("analysisTemplateArn" in sql):
                raise EmulatorError(
                    "ValidationException",
                    "sqlParameters takes exactly one of queryString, analysisTemplateArn",
                )
            if not params.get("collaborationId"):
                raise EmulatorError(
                    "ValidationException", "a seed audience from SQL needs a collaborationId"
                )
        elif "sqlComputeConfiguration" in seed:
            raise EmulatorError(
                "ValidationException", "sqlComputeConfiguration is for a seed audience from SQL"
            )
        seconds = self.timings.training_seconds
        return self._new(GENERATION_JOB, params, seconds, "audienceGenerationJobArn")

    def _generation_job(self, model: _Model, *, full: bool) -> dict[str, Any]:
        out = self._times(model)
        out["audienceGenerationJobArn"] = model.arn
        out["startedBy"] = self.account
        _copy(model, out, "configuredAudienceModelArn", "collaborationId", "description")
        if not full:
            return out
        _copy(model, out, "seedAudience", "includeSeedInOutput")
        if out["status"] == "ACTIVE":
            # A24: made-up quality metrics for each size the configured model offers
            sizes = self._configured_sizes(model.request["configuredAudienceModelArn"])
            out["metrics"] = {
                "relevanceMetrics": [{"audienceSize": size, "score": 5.0} for size in sizes],
                "recallMetric": 0.5,
            }
            if "sqlParameters" in model.request["seedAudience"]:
                out["protectedQueryIdentifier"] = str(uuid.uuid5(uuid.NAMESPACE_URL, model.arn))
        out["tags"] = dict(self._tags.get(model.arn, {}))
        return self._details(model, out)

    def _configured_sizes(self, arn: str) -> list[dict[str, Any]]:
        held = next((m for m in self._models if m.arn == arn), None)
        config = (held.request.get("audienceSizeConfig") if held else None) or {}
        return [
            {"type": config["audienceSizeType"], "value": value}
            for value in config.get("audienceSizeBins", [])
        ]

    def _op_GetAudienceGenerationJob(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model = self._account(GENERATION_JOB, params["audienceGenerationJobArn"])
        return self._generation_job(model, full=True)

    def _op_ListAudienceGenerationJobs(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        items = [
            self._generation_job(m, full=False)
            for m in self._here(GENERATION_JOB)
            if params.get("configuredAudienceModelArn")
            in (None, m.request["configuredAudienceModelArn"])
            and params.get("collaborationId") in (None, m.request.get("collaborationId"))
        ]
        return self._page(items, params, "audienceGenerationJobs")

    def _op_DeleteAudienceGenerationJob(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model = self._account(GENERATION_JOB, params["audienceGenerationJobArn"])
        self._delete_audience_kind(model)  # A25: its exports go with it
        return {}

    # --- exports (A25, A26) -----------------------------------------------------------------
    def _exports(self, kind: str, parent: str) -> list[_Model]:
        return [m for m in self._models if m.kind == kind and m.parent == parent]

    def _op_StartAudienceExportJob(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        arn = params["audienceGenerationJobArn"]
        job = self._account(GENERATION_JOB, arn)
        status = job.status(self._now())
        if status != "ACTIVE":
            raise EmulatorError(
                "ValidationException", f"audience generation job {arn} is {status}, not ACTIVE"
            )
        size = params["audienceSize"]
        if size not in self._configured_sizes(job.request["configuredAudienceModelArn"]):
            # the API reference: the size must be one the configured audience model has
            raise EmulatorError(
                "ValidationException",
                f"audience size {size} is not one of the configured audience model's sizes",
            )
        self._named_once(AUDIENCE_EXPORT, params["name"], self._exports(AUDIENCE_EXPORT, arn))
        return self._new(AUDIENCE_EXPORT, params, self.timings.training_seconds, "", parent=arn)

    def _audience_export(self, model: _Model) -> dict[str, Any]:
        out = self._times(model)
        _copy(model, out, "audienceGenerationJobArn", "audienceSize", "description")
        if out["status"] == "ACTIVE":
            job = next(m for m in self._models if m.arn == model.parent)
            configured = next(
                m for m in self._models if m.arn == job.request["configuredAudienceModelArn"]
            )
            destination = configured.request["outputConfig"]["destination"]["s3Destination"]
            out["outputLocation"] = f"{destination['s3Uri'].rstrip('/')}/{job.name}/{model.name}/"
        return self._details(model, out)

    def _op_ListAudienceExportJobs(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        wanted = params.get("audienceGenerationJobArn")
        live = {m.arn for m in self._here(GENERATION_JOB)}  # A25: gone with their job
        items = [
            self._audience_export(m)
            for m in self._models
            if m.kind == AUDIENCE_EXPORT
            and m.region == self._region
            and m.parent in live
            and wanted in (None, m.parent)
        ]
        return self._page(items, params, "audienceExportJobs")

    def _op_StartTrainedModelExportJob(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        # without a version, the ARN's latest ACTIVE version (A3), as a job's model
        model = self._source(
            params["membershipIdentifier"],
            params["trainedModelArn"],
            params.get("trainedModelVersionIdentifier"),
        )
        status = model.status(self._now())
        if status != "ACTIVE":
            raise EmulatorError(
                "ValidationException", f"trained model {model.arn} is {status}, not ACTIVE"
            )
        self._named_once(MODEL_EXPORT, params["name"], self._exports(MODEL_EXPORT, model.arn))
        return self._new(MODEL_EXPORT, params, self.timings.training_seconds, "", parent=model.arn)

    def _op_ListCollaborationTrainedModelExportJobs(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        version = params.get("trainedModelVersionIdentifier")
        items = []
        for m in self._exports(MODEL_EXPORT, params["trainedModelArn"]):
            if m.region != self._region or m.collaboration != params["collaborationIdentifier"]:
                continue  # A26: the collaboration of the model's membership only
            if version is not None and m.request.get("trainedModelVersionIdentifier") != version:
                continue
            out = self._times(m)
            out.update(
                collaborationIdentifier=m.collaboration,
                creatorAccountId=self.account,
                membershipIdentifier=m.membership,
            )
            _copy(
                m,
                out,
                "outputConfiguration",
                "description",
                "trainedModelArn",
                "trainedModelVersionIdentifier",
            )
            items.append(self._details(m, out))
        return self._page(items, params, "collaborationTrainedModelExportJobs")


def policy_hash(text: str) -> str:
    """A23: a configured audience model policy's hash (SHA-256 of its text, in hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _instant(value: Any) -> datetime:
    """A timestamp as a request carries it (ISO 8601 text on the wire) or a datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    text = str(value).replace("Z", "+00:00")
    return datetime.fromisoformat(text).astimezone(UTC)
