"""The trained model kind: ``Custom::CleanRoomsMLTrainedModel``'s calls behind ``engine.Kind``.

Properties arrive as CloudFormation delivers them (every scalar a string); the
create request is the identity document (``identity.trained_model_document``) plus
the name and tags.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import contract
import faults
import identity
import kinds
import ownership
from engine import CREATE_FAILED, IN_PROGRESS, READY, USABLE, Desired, Observed, Step, Summary
from jsonlog import log
from ownership import Pending, Ref

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

ARN: Final = ownership.arn_pattern("trained-model")
DELETE_FAILURES: Final = frozenset({"DELETE_FAILED", "CANCEL_FAILED"})
STORED: Final = frozenset({READY, CREATE_FAILED}) | DELETE_FAILURES
"""Statuses in which a model's output may be deleted (ASSUMPTION A6)."""
CHANGING: Final = frozenset(
    {"DELETE_PENDING", "DELETE_IN_PROGRESS", "CANCEL_PENDING", "CANCEL_IN_PROGRESS"}
)


def secret_values(props: Mapping[str, Any]) -> tuple[str, ...]:
    """The values of the properties that may hold secrets (never shown)."""
    values: list[str] = []
    for key in (contract.HYPERPARAMETERS, contract.ENVIRONMENT):
        entries = props.get(key)
        if isinstance(entries, Mapping):
            values.extend(str(v) for v in entries.values())
    return tuple(values)


def parse(props: Mapping[str, Any]) -> Desired:
    document = identity.trained_model_document(props)
    desired = kinds.desired(props, document, secret_values(props))
    bases = tuple(
        str(channel["trainedModelArn"])
        for channel in document.get("incrementalTrainingDataChannels", ())
    )
    return replace(desired, base_arns=bases) if bases else desired


def create_request(desired: Desired, name: str, tags: Mapping[str, str]) -> dict[str, Any]:
    """The full ``create_trained_model`` arguments."""
    return kinds.request(desired, name, tags)


def _key(ref: Ref) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"membershipIdentifier": ref.membership, "trainedModelArn": ref.arn}
    if ref.version:
        kwargs["versionIdentifier"] = ref.version
    return kwargs


def _response_secrets(model: Mapping[str, Any]) -> list[str]:
    """Hyperparameter and environment values as the service holds them."""
    values: list[str] = []
    for key in ("hyperparameters", "environment"):
        values.extend(str(v) for v in (model.get(key) or {}).values())
    return values


def _versions(client: CleanRoomsMLClient, ref: Ref) -> Iterator[Mapping[str, Any]]:
    """Every version of ``ref``'s ARN (``ListTrainedModelVersions``)."""
    paginator = client.get_paginator("list_trained_model_versions")
    for page in paginator.paginate(membershipIdentifier=ref.membership, trainedModelArn=ref.arn):
        yield from page.get("trainedModels", [])


def _is_base(item: Mapping[str, Any]) -> bool:
    return str(item.get("versionIdentifier") or "") in ownership.NO_VERSION


def _base_version(client: CleanRoomsMLClient, ref: Ref) -> Mapping[str, Any] | None:
    """The entry of the base version of ``ref``'s ARN, if it has one."""
    return next((item for item in _versions(client, ref) if _is_base(item)), None)


def _versions_kept(client: CleanRoomsMLClient, observed: Observed) -> str | None:
    """Before a base model's output is deleted: what its ARN's other versions allow.

    Under the "shared ARN" reading (ASSUMPTION A2) incremental versions live on the
    base model's ARN, and what ``DeleteTrainedModelOutput`` without a version (the
    base version) does to them is not documented: it may delete the base version only,
    every version, or be refused. A version another resource keeps (RETAIN) must
    survive whatever the service does, so while one is usable (training or ACTIVE)
    the base's output is kept: the step is done, and said so. While one is being
    deleted or cancelled, the step waits for it. None: nothing stands in the way.
    """
    versions = [
        (str(item.get("versionIdentifier")), str(item.get("status", "")))
        for item in _versions(client, observed.ref)
        if not _is_base(item)
    ]
    live = [version for version, status in versions if status in USABLE]
    if live:
        log(
            "kept",
            reason="incremental versions on its ARN are in use: its output is kept",
            physicalResourceId=observed.ref.physical_id,
            versions=live,
        )
        return Step.DONE
    if any(status in CHANGING for _, status in versions):
        return Step.WAIT
    return None


class TrainedModels(kinds.Defaults):
    """``engine.Kind`` for Clean Rooms ML trained models."""

    resource_type = contract.RESOURCE_TYPE
    noun = "trained model"
    cancellable = True
    starts = "a new training"

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None:
        return ownership.parse_physical_id(ARN, physical_id)

    def parse(self, props: Mapping[str, Any]) -> Desired:
        return parse(props)

    def create(
        self, client: CleanRoomsMLClient, desired: Desired, name: str, tags: Mapping[str, str]
    ) -> Ref:
        response = client.create_trained_model(**create_request(desired, name, tags))
        return ownership.make_ref(
            ARN, response["trainedModelArn"], response.get("versionIdentifier")
        )

    def describe(self, client: CleanRoomsMLClient, ref: Ref) -> Observed:
        """The model version ``ref`` names.

        A base model (no version) is asked for without one, and ``GetTrainedModel``
        then answers for the *latest* version of its ARN: under the "shared ARN"
        reading (ASSUMPTION A2) a later incremental version. The API has no way to
        name the base version (its identifier "NULL" is not a UUID), so such an
        answer is replaced by the base version's entry of ``ListTrainedModelVersions``
        (status, name, times), with the tags of the answer (tags are per ARN).
        """
        answer: Mapping[str, Any] = client.get_trained_model(**_key(ref))
        model = answer
        shared = False
        if ref.version is None and str(answer.get("versionIdentifier") or "") not in (
            ownership.NO_VERSION
        ):
            base = _base_version(client, ref)
            if base is not None:  # else the ARN has no base version: its answer is it
                model = {**base, "tags": dict(answer.get("tags") or {})}
                shared = True
        data = {
            contract.ATTR_TRAINED_MODEL_ARN: ref.arn,
            contract.ATTR_TRAINED_MODEL_NAME: str(model.get("name", "")),
            contract.ATTR_STATUS: str(model.get("status", "")),
        }
        if ref.version:
            data[contract.ATTR_VERSION_IDENTIFIER] = ref.version
        observed = kinds.observed(ref, model, _response_secrets(answer), data)
        return replace(observed, shares_arn=True) if shared else observed

    def summaries(self, client: CleanRoomsMLClient, membership: str) -> Iterator[Summary]:
        paginator = client.get_paginator("list_trained_models")
        for page in paginator.paginate(membershipIdentifier=membership):
            for item in page.get("trainedModels", []):
                ref = ownership.make_ref(
                    ARN, str(item["trainedModelArn"]), item.get("versionIdentifier")
                )
                yield kinds.summary(ref, item)

    def delete_step(self, client: CleanRoomsMLClient, observed: Observed, first: bool) -> str:
        """One step towards deletion: cancel a training, else delete its output (or wait).

        A failed cancellation is retried by deleting the output (cancelling is only for
        a model still training, A4), or, when the service refuses that, by cancelling again
        (either reading of A4/A6). The output of a failed training is deleted too, so
        that the model stops holding its name (ASSUMPTIONs A1, A6; ``kinds.delete_stored``).
        """
        key = _key(observed.ref)
        if observed.status in IN_PROGRESS:
            client.cancel_trained_model(**key)
            return Step.WAIT
        if observed.ref.version is None and observed.shared and observed.status in STORED:
            kept = _versions_kept(client, observed)
            if kept is not None:
                return kept

        def delete() -> None:
            try:
                client.delete_trained_model_output(**key)
            except Exception as error:
                if observed.status != "CANCEL_FAILED" or not faults.is_conflict(error):
                    raise
                # A4/A6 unknown: a service that keeps a CANCEL_FAILED model's output may
                # let it be cancelled again instead; if not, the refusal stands
                try:
                    client.cancel_trained_model(**key)
                except Exception as cancel_error:
                    if faults.is_transient(cancel_error):
                        raise
                    raise error from cancel_error

        return kinds.delete_stored(self.noun, observed, first, DELETE_FAILURES, delete)


KIND: Final = TrainedModels()
