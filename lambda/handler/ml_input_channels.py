"""The ML input channel kind: ``Custom::CleanRoomsMLInputChannel`` behind ``engine.Kind``.

A channel runs a protected query (minutes) and keeps its result for
``retentionInDays``. Under DESTROY its data is deleted (``DeleteMLInputChannelData``);
a channel still being created is waited for first (there is no cancel; ASSUMPTION A13).
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

ARN: Final = ownership.arn_pattern("ml-input-channel")
DELETE_FAILURES: Final = frozenset({"DELETE_FAILED"})


def secret_values(props: Mapping[str, Any]) -> tuple[str, ...]:
    """The query and its parameters' values: the service model marks them sensitive."""
    values = [str(v) for v in identity.string_map(props, contract.PARAMETERS).values()]
    query = props.get(contract.QUERY_STRING)
    if isinstance(query, str):
        values.append(query)
    return tuple(values)


def parse(props: Mapping[str, Any]) -> Desired:
    document = identity.ml_input_channel_document(props)
    return kinds.desired(props, document, secret_values(props))


def create_request(desired: Desired, name: str, tags: Mapping[str, str]) -> dict[str, Any]:
    """The full ``create_ml_input_channel`` arguments."""
    return kinds.request(desired, name, tags)


def _key(ref: Ref) -> dict[str, Any]:
    return {"membershipIdentifier": ref.membership, "mlInputChannelArn": ref.arn}


class MLInputChannels(kinds.Defaults):
    """``engine.Kind`` for Clean Rooms ML input channels."""

    resource_type = contract.ML_INPUT_CHANNEL_RESOURCE_TYPE
    noun = "ML input channel"
    cancellable = False
    starts = "a new protected query"

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None:
        return ownership.parse_physical_id(ARN, physical_id)

    def parse(self, props: Mapping[str, Any]) -> Desired:
        return parse(props)

    def create(
        self, client: CleanRoomsMLClient, desired: Desired, name: str, tags: Mapping[str, str]
    ) -> Ref:
        response = client.create_ml_input_channel(**create_request(desired, name, tags))
        return ownership.make_ref(ARN, response["mlInputChannelArn"], None)

    def describe(self, client: CleanRoomsMLClient, ref: Ref) -> Observed:
        channel: Mapping[str, Any] = client.get_ml_input_channel(**_key(ref))
        sql = (
            ((channel.get("inputChannel") or {}).get("dataSource") or {}).get(
                "protectedQueryInputParameters"
            )
            or {}
        ).get("sqlParameters") or {}
        hidden = [str(v) for v in (sql.get("parameters") or {}).values()]
        if sql.get("queryString"):
            hidden.append(str(sql["queryString"]))
        return kinds.observed(
            ref,
            channel,
            hidden,
            {
                contract.ATTR_ML_INPUT_CHANNEL_ARN: ref.arn,
                contract.ATTR_NAME: str(channel.get("name", "")),
                contract.ATTR_STATUS: str(channel.get("status", "")),
            },
        )

    def summaries(self, client: CleanRoomsMLClient, membership: str) -> Iterator[Summary]:
        paginator = client.get_paginator("list_ml_input_channels")
        for page in paginator.paginate(membershipIdentifier=membership):
            for item in page.get("mlInputChannelsList", []):
                ref = ownership.make_ref(ARN, str(item["mlInputChannelArn"]), None)
                yield kinds.summary(ref, item)

    def delete_step(self, client: CleanRoomsMLClient, observed: Observed, first: bool) -> str:
        """Delete the channel's data once it is created (or its creation failed).

        A channel still being created cannot be stopped: wait for it (if its query
        then fails, the failed channel is deleted too, freeing its name). A failed
        deletion is tried again once per Delete event (``kinds.delete_stored``).
        """
        if observed.status in IN_PROGRESS:
            return Step.WAIT
        return kinds.delete_stored(
            self.noun,
            observed,
            first,
            DELETE_FAILURES,
            lambda: client.delete_ml_input_channel_data(**_key(observed.ref)),
        )


KIND: Final = MLInputChannels()
