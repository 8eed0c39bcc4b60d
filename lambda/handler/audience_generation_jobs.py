"""The audience generation job kind: ``Custom::CleanRoomsMLAudienceGenerationJob``.

A job generates an audience (a lookalike segment) from a seed audience, in S3 or from
a protected query, with a configured audience model; it ends ACTIVE when the audience
is generated (ASSUMPTION A24). It belongs to the account and region. Under DESTROY it
is deleted with its data (``DeleteAudienceGenerationJob``), also while it runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import contract
import identity
import kinds
import ownership
from engine import Desired, Observed, Summary
from ownership import Pending, Ref

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

ARN: Final = ownership.account_arn_pattern("audience-generation-job")


def secret_values(props: Mapping[str, Any]) -> tuple[str, ...]:
    """A SQL seed's query and parameter values: the service model marks them sensitive."""
    values = [str(v) for v in identity.string_map(props, contract.PARAMETERS).values()]
    query = props.get(contract.QUERY_STRING)
    if isinstance(query, str):
        values.append(query)
    return tuple(values)


def parse(props: Mapping[str, Any]) -> Desired:
    document = identity.audience_generation_job_document(props)
    return kinds.desired(props, document, secret_values(props), scope=ownership.ACCOUNT)


class AudienceGenerationJobs(kinds.Defaults):
    """``engine.Kind`` for Clean Rooms ML audience generation jobs."""

    resource_type = contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE
    noun = "audience generation job"
    cancellable = True
    """Deleting one still running stops it (A24)."""
    starts = "a new audience generation job"

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None:
        return ownership.parse_physical_id(ARN, physical_id, ownership.ACCOUNT_SCOPE)

    def parse(self, props: Mapping[str, Any]) -> Desired:
        return parse(props)

    def create(
        self, client: CleanRoomsMLClient, desired: Desired, name: str, tags: Mapping[str, str]
    ) -> Ref:
        response = client.start_audience_generation_job(**kinds.request(desired, name, tags))
        return ownership.make_ref(ARN, response["audienceGenerationJobArn"], None)

    def describe(self, client: CleanRoomsMLClient, ref: Ref) -> Observed:
        job: Mapping[str, Any] = client.get_audience_generation_job(
            audienceGenerationJobArn=ref.arn
        )
        sql = (job.get("seedAudience") or {}).get("sqlParameters") or {}
        hidden = [str(v) for v in (sql.get("parameters") or {}).values()]
        if sql.get("queryString"):
            hidden.append(str(sql["queryString"]))
        return kinds.observed(
            ref,
            job,
            hidden,
            {
                contract.ATTR_AUDIENCE_GENERATION_JOB_ARN: ref.arn,
                contract.ATTR_NAME: str(job.get("name", "")),
                contract.ATTR_STATUS: str(job.get("status", "")),
            },
        )

    def summaries(self, client: CleanRoomsMLClient, membership: str) -> Iterator[Summary]:
        for page in client.get_paginator("list_audience_generation_jobs").paginate():
            for item in page.get("audienceGenerationJobs", []):
                arn = str(item["audienceGenerationJobArn"])
                yield kinds.summary(ownership.make_ref(ARN, arn, None), item)

    def delete_step(self, client: CleanRoomsMLClient, observed: Observed, first: bool) -> str:
        """Delete it with its data, whatever it is doing (a running job stops)."""
        return kinds.delete_account_resource(
            self.noun,
            observed,
            first,
            lambda: client.delete_audience_generation_job(
                audienceGenerationJobArn=observed.ref.arn
            ),
            "the service refused to delete it: remove what uses it (or keep this one with "
            "RemovalPolicy.RETAIN) and delete again",
        )


KIND: Final = AudienceGenerationJobs()
