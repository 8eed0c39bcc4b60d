"""The trained model kind: ``Custom::CleanRoomsMLTrainedModel``'s calls behind ``engine.Kind``.

Properties arrive as CloudFormation delivers them (every scalar a string); the
create request is the identity document (``identity.trained_model_document``) plus
the name and tags.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import contract
import identity
import kinds
import ownership
from engine import IN_PROGRESS, Desired, Observed, Step, Summary
from ownership import Pending, Ref

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

ARN: Final = ownership.arn_pattern("trained-model")
DELETE_FAILURES: Final = frozenset({"DELETE_FAILED", "CANCEL_FAILED"})


def secret_values(props: Mapping[str, Any]) -> tuple[str, ...]:
    """The values of the properties that may hold secrets (never shown)."""
    values: list[str] = []
    for key in (contract.HYPERPARAMETERS, contract.ENVIRONMENT):
        entries = props.get(key)
        if isinstance(entries, Mapping):
            values.extend(str(v) for v in entries.values())
    return tuple(values)


def parse(props: Mapping[str, Any]) -> Desired:
    return kinds.desired(props, identity.trained_model_document(props), secret_values(props))


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
        model: Mapping[str, Any] = client.get_trained_model(**_key(ref))
        data = {
            contract.ATTR_TRAINED_MODEL_ARN: ref.arn,
            contract.ATTR_TRAINED_MODEL_NAME: str(model.get("name", "")),
            contract.ATTR_STATUS: str(model.get("status", "")),
        }
        if ref.version:
            data[contract.ATTR_VERSION_IDENTIFIER] = ref.version
        return kinds.observed(ref, model, _response_secrets(model), data)

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

        A failed cancellation is retried by deleting the output: cancelling is only for
        a model still training (A4). The output of a failed training is deleted too, so
        that the model stops holding its name (ASSUMPTIONs A1, A6; ``kinds.delete_stored``).
        """
        key = _key(observed.ref)
        if observed.status in IN_PROGRESS:
            client.cancel_trained_model(**key)
            return Step.WAIT
        return kinds.delete_stored(
            self.noun,
            observed,
            first,
            DELETE_FAILURES,
            lambda: client.delete_trained_model_output(**key),
        )


KIND: Final = TrainedModels()
