"""The emulator's state machine: trained models on a configurable clock.

Every behaviour here that the service model does not state is an ASSUMPTION,
listed with its reasoning in ``local/ASSUMPTIONS.md`` (the ids A1... below
refer to it).
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

REGION: Final = "us-east-1"
ACCOUNT: Final = "000000000000"
MAX_TAGS: Final = 50  # A9: the API reference's documented limit (the model says 200)
DEFAULT_PAGE_SIZE: Final = 10

TRAINING: Final = ("CREATE_PENDING", "CREATE_IN_PROGRESS")


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


@dataclass
class _Model:
    arn: str
    version: str | None
    membership: str
    collaboration: str
    name: str
    request: dict[str, Any]
    created_at: float
    created_time: datetime
    timeline: list[tuple[float, str]]
    failure: dict[str, str] | None = None

    def status(self, now: float) -> str:
        current = self.timeline[0][1]
        for at, status in self.timeline:
            if at <= now:
                current = status
        return current

    def changed_at(self, now: float) -> float:
        latest = self.timeline[0][0]
        for at, _ in self.timeline:
            if at <= now:
                latest = at
        return latest

    def replan(self, now: float, steps: list[tuple[float, str]]) -> None:
        self.timeline = [(at, s) for at, s in self.timeline if at <= now] + steps


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
    _models: list[_Model] = field(default_factory=list)
    _tags: dict[str, dict[str, str]] = field(default_factory=dict)
    _faults: dict[str, list[_Fault]] = field(default_factory=dict)
    _fail_next_trainings: list[dict[str, str]] = field(default_factory=list)
    _fail_next_deletes: list[dict[str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    history: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every call with its parameters, faults included (for tests)."""
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # --- knobs ---------------------------------------------------------------
    def inject_fault(self, operation: str, code: str, count: int = 1, message: str = "") -> None:
        """The next ``count`` calls of ``operation`` fail with the modelled error ``code``."""
        with self._lock:
            text = message or f"injected {code}"
            self._faults.setdefault(operation, []).append(_Fault(code, text, count))

    def fail_next_training(self, message: str = "AlgorithmError: training failed") -> None:
        """The next model created ends in CREATE_FAILED with this status message."""
        with self._lock:
            code, _, text = message.partition(": ")
            self._fail_next_trainings.append(
                {"statusCode": code if text else "TrainingFailed", "message": text or message}
            )

    def fail_next_delete(self, message: str = "artifacts could not be deleted") -> None:
        """The next delete of a model's output ends in DELETE_FAILED."""
        with self._lock:
            self._fail_next_deletes.append({"statusCode": "DeleteFailed", "message": message})

    def snapshot(self) -> list[dict[str, Any]]:
        """Every model version with its current status (for tests and the CLI)."""
        with self._lock:
            now = self.clock.now()
            return [
                {
                    "trainedModelArn": m.arn,
                    "versionIdentifier": m.version,
                    "name": m.name,
                    "membershipIdentifier": m.membership,
                    "status": m.status(now),
                    "tags": dict(self._tags.get(m.arn, {})),
                    "hyperparameters": dict(m.request.get("hyperparameters", {})),
                }
                for m in self._models
            ]

    # --- dispatch ---------------------------------------------------------------
    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run one API operation; raises ``EmulatorError`` for modelled errors."""
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
            handler = getattr(self, f"_op_{operation}", None)
            if handler is None:
                raise EmulatorError(
                    "ValidationException", f"{operation} is not supported by this emulator"
                )
            result: dict[str, Any] = handler(params)
            return result

    # --- helpers ----------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.now()

    def _find(self, membership: str, arn: str, version: str | None) -> _Model:
        versions = [m for m in self._models if m.arn == arn and m.membership == membership]
        if version is not None:
            versions = [m for m in versions if m.version == version]
        if not versions:
            raise EmulatorError("ResourceNotFoundException", f"trained model {arn} not found")
        return max(versions, key=lambda m: m.created_at)  # A3: no version = the latest

    def _describe(self, model: _Model, *, full: bool) -> dict[str, Any]:
        now = self._now()
        status = model.status(now)
        changed = model.created_time.timestamp() + (model.changed_at(now) - model.created_at) / max(
            self.clock.scale, 1e-9
        )
        out: dict[str, Any] = {
            "createTime": model.created_time,
            "updateTime": datetime.fromtimestamp(changed, UTC),
            "trainedModelArn": model.arn,
            "name": model.name,
            "membershipIdentifier": model.membership,
            "collaborationIdentifier": model.collaboration,
            "status": status,
            "configuredModelAlgorithmAssociationArn": model.request[
                "configuredModelAlgorithmAssociationArn"
            ],
        }
        if model.version:
            out["versionIdentifier"] = model.version
        if "description" in model.request:
            out["description"] = model.request["description"]
        incremental = model.request.get("incrementalTrainingDataChannels")
        if incremental:
            out["incrementalTrainingDataChannels"] = [
                {k: v for k, v in channel.items() if k != "trainedModelArn"}
                for channel in incremental
            ]
        if "mlModelTrainingPayerAccountId" in model.request:
            out["mlModelTrainingPayerAccountId"] = model.request["mlModelTrainingPayerAccountId"]
        if not full:
            return out
        if status.endswith("FAILED") and model.failure:
            out["statusDetails"] = dict(model.failure)
        for key in (
            "resourceConfig",
            "trainingInputMode",
            "stoppingCondition",
            "hyperparameters",
            "environment",
            "kmsKeyArn",
            "dataChannels",
        ):
            if key in model.request:
                out[key] = copy.deepcopy(model.request[key])
        out["tags"] = dict(self._tags.get(model.arn, {}))
        return out

    @staticmethod
    def _page(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        size = int(params.get("maxResults") or DEFAULT_PAGE_SIZE)
        start = int(params.get("nextToken") or 0)
        page: dict[str, Any] = {"trainedModels": items[start : start + size]}
        if start + size < len(items):
            page["nextToken"] = str(start + size)
        return page

    # --- operations ----------------------------------------------------------------
    def _op_CreateTrainedModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        now = self._now()
        membership = params["membershipIdentifier"]
        live = [m for m in self._models if m.membership == membership]
        if any(m.name == params["name"] and m.status(now) != "INACTIVE" for m in live):
            # A1: names are unique among a membership's models that are not INACTIVE
            raise EmulatorError(
                "ConflictException", f"a trained model named {params['name']!r} already exists"
            )
        if len([m for m in live if m.status(now) != "INACTIVE"]) >= self.max_models_per_membership:
            raise EmulatorError("ServiceQuotaExceededException", "trained model quota reached")
        version = None
        for channel in params.get("incrementalTrainingDataChannels", []):
            base = self._find(
                membership, channel["trainedModelArn"], channel.get("versionIdentifier")
            )
            if base.status(now) != "ACTIVE":
                raise EmulatorError(
                    "ValidationException",
                    f"base model {base.arn} is {base.status(now)}, not ACTIVE",
                )
            channel.setdefault("modelName", base.name)
            version = str(uuid.uuid4())  # A2: incremental training yields a versioned new model
        tags = params.get("tags") or {}
        if len(tags) > MAX_TAGS:
            raise EmulatorError("ValidationException", f"{len(tags)} tags; at most {MAX_TAGS}")
        arn = (
            f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{membership}"
            f"/trained-model/{uuid.uuid4()}"
        )
        failure = self._fail_next_trainings.pop(0) if self._fail_next_trainings else None
        t = self.timings
        request = copy.deepcopy(params)
        request.pop("tags", None)
        model = _Model(
            arn=arn,
            version=version,
            membership=membership,
            collaboration=str(uuid.uuid5(uuid.NAMESPACE_URL, membership)),
            name=params["name"],
            request=request,
            created_at=now,
            created_time=datetime.now(UTC),
            timeline=[
                (now, "CREATE_PENDING"),
                (now + t.pending_seconds, "CREATE_IN_PROGRESS"),
                (
                    now + t.pending_seconds + t.training_seconds,
                    "CREATE_FAILED" if failure else "ACTIVE",
                ),
            ],
            failure=failure,
        )
        self._models.append(model)
        self._tags[arn] = dict(tags)
        out: dict[str, Any] = {"trainedModelArn": arn}
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
        items = [
            self._describe(m, full=False)
            for m in self._models
            if m.membership == params["membershipIdentifier"]
        ]
        return self._page(items, params)

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
        model = self._find(
            params["membershipIdentifier"],
            params["trainedModelArn"],
            params.get("versionIdentifier"),
        )
        now = self._now()
        return model, now, model.status(now)

    def _phases(self, now: float, *statuses: str) -> list[tuple[float, str]]:
        step = self.timings.transition_seconds
        return [(now + i * step, status) for i, status in enumerate(statuses)]

    def _op_CancelTrainedModel(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model, now, status = self._target(params)
        if status not in TRAINING:  # A4: only a model still training can be cancelled
            raise EmulatorError("ConflictException", f"cannot cancel a model that is {status}")
        # A5: a cancelled training ends INACTIVE
        model.replan(now, self._phases(now, "CANCEL_PENDING", "CANCEL_IN_PROGRESS", "INACTIVE"))
        return {}

    def _op_DeleteTrainedModelOutput(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        model, now, status = self._target(params)
        if status == "INACTIVE":
            raise EmulatorError("ResourceNotFoundException", "the model has no output left")
        if status not in ("ACTIVE", "CREATE_FAILED", "DELETE_FAILED", "CANCEL_FAILED"):
            # A6: output can be deleted once training has ended or was not cancelled
            raise EmulatorError(
                "ConflictException", f"cannot delete the output of a model that is {status}"
            )
        failure = self._fail_next_deletes.pop(0) if self._fail_next_deletes else None
        if failure:
            model.failure = failure
        end = "DELETE_FAILED" if failure else "INACTIVE"  # A7
        model.replan(now, self._phases(now, "DELETE_PENDING", "DELETE_IN_PROGRESS", end))
        return {}

    def _tagged(self, arn: str) -> dict[str, str]:
        if arn not in self._tags:
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
