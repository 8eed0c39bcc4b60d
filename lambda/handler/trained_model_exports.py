"""The trained model export job kind: ``Custom::CleanRoomsMLTrainedModelExportJob``.

``StartTrainedModelExportJob`` exports a trained model (a version of it) to a member
account. An export has no ARN, no tags, no Get, no cancel and no delete: it is listed
with the model's others by ``ListCollaborationTrainedModelExportJobs`` (in the
collaboration of the model's membership, read once per membership from
``GetTrainedModel``) and known there by its name (ASSUMPTION A26). Its physical id is
``<model ARN>/export-job/<name>`` (``ownership.export_arn``), ``#<version>`` after it
for a version. A Delete undoes nothing (the model was exported); a replacement is a
second export.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import contract
import identity
import kinds
import ownership
from engine import Desired, Observed, Step, Summary
from ownership import Pending, Ref

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

MODEL: Final = ownership.arn_pattern("trained-model")
ARN: Final = ownership.export_pattern(MODEL)
SCOPE: Final = re.compile(
    f"{MODEL.pattern}(?:{re.escape(ownership.PHYSICAL_ID_SEPARATOR)}{ownership.UUID.pattern})?"
)
"""A pending export's scope: the exported model's physical id (``<ARN>[#<version>]``)."""
LIST: Final = "ListCollaborationTrainedModelExportJobs"

_COLLABORATIONS: dict[str, str] = {}
"""Each membership's collaboration, read once per container (it never changes)."""


def parse(props: Mapping[str, Any]) -> Desired:
    document = identity.trained_model_export_job_document(props)
    version = document.get("trainedModelVersionIdentifier")
    model = str(document["trainedModelArn"])
    scope = f"{model}{ownership.PHYSICAL_ID_SEPARATOR}{version}" if version else model
    return kinds.desired(props, document, (), scope=scope)


def document_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of an export the service lists (as ``parse`` builds it)."""
    document: dict[str, Any] = {
        "membershipIdentifier": item.get("membershipIdentifier"),
        "trainedModelArn": item.get("trainedModelArn"),
        "outputConfiguration": {
            "members": [
                {"accountId": m.get("accountId")}
                for m in (item.get("outputConfiguration") or {}).get("members", [])
            ]
        },
    }
    if item.get("trainedModelVersionIdentifier"):
        document["trainedModelVersionIdentifier"] = item["trainedModelVersionIdentifier"]
    if item.get("description"):
        document["description"] = item["description"]
    return document


def _collaboration(client: CleanRoomsMLClient, membership: str, model: str) -> str:
    found = _COLLABORATIONS.get(membership)
    if found is None:
        got = client.get_trained_model(membershipIdentifier=membership, trainedModelArn=model)
        found = _COLLABORATIONS[membership] = str(got["collaborationIdentifier"])
    return found


def _exports(client: CleanRoomsMLClient, model: Ref) -> Iterator[Mapping[str, Any]]:
    """The exports of ``model`` (its version, if it has one), as the service lists them."""
    collaboration = _collaboration(client, model.membership, model.arn)
    arguments: dict[str, Any] = {
        "collaborationIdentifier": collaboration,
        "trainedModelArn": model.arn,
    }
    if model.version:
        arguments["trainedModelVersionIdentifier"] = model.version
    paginator = client.get_paginator("list_collaboration_trained_model_export_jobs")
    for page in paginator.paginate(**arguments):
        for item in page.get("collaborationTrainedModelExportJobs", []):
            if item.get("trainedModelVersionIdentifier") == model.version:
                yield item


class TrainedModelExports(kinds.Defaults):
    """``engine.Kind`` for Clean Rooms ML trained model export jobs."""

    resource_type = contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE
    noun = "trained model export job"
    cancellable = True
    """Nothing to stop: an export is not removable at all."""
    removable = False
    starts = "a new export of the model"

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None:
        return ownership.parse_physical_id(ARN, physical_id, SCOPE)

    def parse(self, props: Mapping[str, Any]) -> Desired:
        return parse(props)

    def create(
        self, client: CleanRoomsMLClient, desired: Desired, name: str, tags: Mapping[str, str]
    ) -> Ref:
        # an export takes no tags (the ownership tag included): it is known by its name
        client.start_trained_model_export_job(name=name, **desired.request)
        model = str(desired.request["trainedModelArn"])
        version = desired.request.get("trainedModelVersionIdentifier")
        return ownership.make_ref(ARN, ownership.export_arn(model, name), version)

    def describe(self, client: CleanRoomsMLClient, ref: Ref) -> Observed:
        model, name = ownership.export_parts(ref)
        exported = Ref(arn=model, version=ref.version, membership=ref.membership)
        for item in _exports(client, exported):
            if item.get("name") == name:
                return kinds.exported(
                    ref,
                    item,
                    document_of(item),
                    {
                        contract.ATTR_NAME: name,
                        contract.ATTR_STATUS: str(item.get("status", "")),
                    },
                )
        raise kinds.not_found(LIST, f"export {name!r} of trained model {model}")

    def summaries(self, client: CleanRoomsMLClient, membership: str) -> Iterator[Summary]:
        model, _, version = membership.partition(ownership.PHYSICAL_ID_SEPARATOR)
        exported = ownership.make_ref(MODEL, model, version or None)
        for item in _exports(client, exported):
            name = str(item.get("name", ""))
            ref = ownership.make_ref(ARN, ownership.export_arn(model, name), exported.version)
            yield kinds.summary(ref, item)

    def delete_step(self, client: CleanRoomsMLClient, observed: Observed, first: bool) -> str:
        return Step.DONE  # never asked (not removable): an export cannot be undone


KIND: Final = TrainedModelExports()
