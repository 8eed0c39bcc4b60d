"""The audience export job kind: ``Custom::CleanRoomsMLAudienceExportJob``.

``StartAudienceExportJob`` exports an audience of one of its configured model's sizes
from an audience generation job. An export has no ARN, no tags, no Get, no cancel and
no delete: it is listed with its job's others by ``ListAudienceExportJobs`` and known
there by its name (ASSUMPTION A25). Its physical id is
``<generation job ARN>/export-job/<name>`` (``ownership.export_arn``). A Delete undoes
nothing (the audience was exported); a replacement is a second export.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import contract
import identity
import kinds
import ownership
from audience_generation_jobs import ARN as JOB
from engine import Desired, Observed, Step, Summary
from ownership import Pending, Ref

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

ARN: Final = ownership.export_pattern(JOB)
LIST: Final = "ListAudienceExportJobs"


def parse(props: Mapping[str, Any]) -> Desired:
    document = identity.audience_export_job_document(props)
    return kinds.desired(props, document, (), scope=str(document["audienceGenerationJobArn"]))


def document_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The identity document of an export the service lists (as ``parse`` builds it)."""
    size = item.get("audienceSize") or {}
    document: dict[str, Any] = {
        "audienceGenerationJobArn": item.get("audienceGenerationJobArn"),
        "audienceSize": {"type": size.get("type"), "value": size.get("value")},
    }
    if item.get("description"):
        document["description"] = item["description"]
    return document


def _exports(client: CleanRoomsMLClient, job: str) -> Iterator[Mapping[str, Any]]:
    paginator = client.get_paginator("list_audience_export_jobs")
    for page in paginator.paginate(audienceGenerationJobArn=job):
        yield from page.get("audienceExportJobs", [])


class AudienceExports(kinds.Defaults):
    """``engine.Kind`` for Clean Rooms ML audience export jobs."""

    resource_type = contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE
    noun = "audience export job"
    cancellable = True
    """Nothing to stop: an export is not removable at all."""
    removable = False
    starts = "a new export of the audience"

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None:
        return ownership.parse_physical_id(ARN, physical_id, JOB)

    def parse(self, props: Mapping[str, Any]) -> Desired:
        return parse(props)

    def create(
        self, client: CleanRoomsMLClient, desired: Desired, name: str, tags: Mapping[str, str]
    ) -> Ref:
        # an export takes no tags (the ownership tag included): it is known by its name
        client.start_audience_export_job(name=name, **desired.request)
        job = str(desired.request["audienceGenerationJobArn"])
        return ownership.make_ref(ARN, ownership.export_arn(job, name), None)

    def describe(self, client: CleanRoomsMLClient, ref: Ref) -> Observed:
        job, name = ownership.export_parts(ref)
        for item in _exports(client, job):
            if item.get("name") == name:
                data = {
                    contract.ATTR_NAME: name,
                    contract.ATTR_STATUS: str(item.get("status", "")),
                }
                if item.get("outputLocation"):
                    data[contract.ATTR_OUTPUT_LOCATION] = str(item["outputLocation"])
                return kinds.exported(ref, item, document_of(item), data)
        raise kinds.not_found(LIST, f"export {name!r} of audience generation job {job}")

    def summaries(self, client: CleanRoomsMLClient, membership: str) -> Iterator[Summary]:
        for item in _exports(client, membership):
            name = str(item.get("name", ""))
            yield kinds.summary(
                ownership.make_ref(ARN, ownership.export_arn(membership, name), None), item
            )

    def delete_step(self, client: CleanRoomsMLClient, observed: Observed, first: bool) -> str:
        return Step.DONE  # never asked (not removable): an export cannot be undone


KIND: Final = AudienceExports()
