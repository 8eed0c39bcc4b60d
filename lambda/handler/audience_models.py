"""The audience model kind: ``Custom::CleanRoomsMLAudienceModel`` behind ``engine.Kind``.

An audience model (a lookalike model) is trained on a training dataset; it belongs to
the account and region, not to a membership (its ARN names none: ``ownership.ACCOUNT``).
Training can take hours: over an hour the long path waits (a WaitCondition signalled
by the stack's waiter). Under DESTROY it is deleted (``DeleteAudienceModel``), also
while it trains (ASSUMPTION A21), once no configured audience model uses it.
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

ARN: Final = ownership.account_arn_pattern("audience-model")


def parse(props: Mapping[str, Any]) -> Desired:
    document = identity.audience_model_document(props)
    return kinds.desired(props, document, (), scope=ownership.ACCOUNT)


class AudienceModels(kinds.Defaults):
    """``engine.Kind`` for Clean Rooms ML audience models."""

    resource_type = contract.AUDIENCE_MODEL_RESOURCE_TYPE
    noun = "audience model"
    cancellable = True
    """Deleting one still training stops it (A21)."""
    starts = "a new audience model training"

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None:
        return ownership.parse_physical_id(ARN, physical_id, ownership.ACCOUNT_SCOPE)

    def parse(self, props: Mapping[str, Any]) -> Desired:
        return parse(props)

    def create(
        self, client: CleanRoomsMLClient, desired: Desired, name: str, tags: Mapping[str, str]
    ) -> Ref:
        response = client.create_audience_model(**kinds.request(desired, name, tags))
        return ownership.make_ref(ARN, response["audienceModelArn"], None)

    def describe(self, client: CleanRoomsMLClient, ref: Ref) -> Observed:
        model: Mapping[str, Any] = client.get_audience_model(audienceModelArn=ref.arn)
        return kinds.observed(
            ref,
            model,
            (),
            {
                contract.ATTR_AUDIENCE_MODEL_ARN: ref.arn,
                contract.ATTR_NAME: str(model.get("name", "")),
                contract.ATTR_STATUS: str(model.get("status", "")),
            },
        )

    def summaries(self, client: CleanRoomsMLClient, membership: str) -> Iterator[Summary]:
        for page in client.get_paginator("list_audience_models").paginate():
            for item in page.get("audienceModels", []):
                yield kinds.summary(
                    ownership.make_ref(ARN, str(item["audienceModelArn"]), None), item
                )

    def delete_step(self, client: CleanRoomsMLClient, observed: Observed, first: bool) -> str:
        """Delete it, whatever it is doing (a training stops), and wait until it is gone."""
        return kinds.delete_account_resource(
            self.noun,
            observed,
            first,
            lambda: client.delete_audience_model(audienceModelArn=observed.ref.arn),
            "a configured audience model still uses it: remove that one (or keep this one "
            "with RemovalPolicy.RETAIN) and delete again",
        )


KIND: Final = AudienceModels()
