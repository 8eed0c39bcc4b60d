"""The configured audience model kind: ``Custom::CleanRoomsMLConfiguredAudienceModel``.

The first kind with properties an update applies in place by a service call:
``UpdateConfiguredAudienceModel`` changes its output configuration, audience model,
shared metrics, minimum seed size, size bins and description; its resource policy is
put (``PutConfiguredAudienceModelPolicy``, with the hash of the policy read just
before, so that a change made meanwhile fails the update instead of being overwritten)
or deleted. Only its name and ``childResourceTagOnCreatePolicy`` replace it (its
identity, ``identity.configured_audience_model_document``). A setting the service
cannot unset (a minimum seed size, size bins) that the properties drop replaces it too
(ASSUMPTION A22). It is ACTIVE at once; under DESTROY it is deleted
(``DeleteConfiguredAudienceModel``, its policy with it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import contract
import faults
import identity
import kinds
import ownership
from engine import Desired, Observed, Summary
from ownership import Pending, Ref

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

ARN: Final = ownership.account_arn_pattern("configured-audience-model")
UPDATABLE: Final = identity.CONFIGURED_AUDIENCE_MODEL_UPDATABLE
POLICY: Final = "policy"
"""The settings' and the observed document's key for the resource policy's text."""
POLICY_HASH: Final = "policyHash"
UNSET: Final = {"description": ""}
"""How an update unsets what it can unset; the others (a minimum seed size, size
bins) cannot be: dropping one replaces the resource."""


def parse(props: Mapping[str, Any]) -> Desired:
    request = identity.configured_audience_model_request(props)
    settings: dict[str, Any] = {key: request[key] for key in UPDATABLE if key in request}
    settings[POLICY] = identity.resource_policy(props)
    return kinds.desired(
        props,
        identity.configured_audience_model_document(props),
        (),
        scope=ownership.ACCOUNT,
        request=request,
        settings=settings,
    )


def _same_policy(wanted: str | None, held: str | None) -> bool:
    """Whether two policies say the same (as JSON: spacing and key order aside)."""
    if wanted is None or held is None:
        return wanted is held
    try:
        return bool(json.loads(wanted) == json.loads(held))
    except ValueError:
        return wanted == held


class ConfiguredAudienceModels(kinds.Defaults):
    """``engine.Kind`` for Clean Rooms ML configured audience models."""

    resource_type = contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE
    noun = "configured audience model"
    cancellable = True
    starts = "a new configured audience model"

    def parse_physical_id(self, physical_id: str | None) -> Ref | Pending | None:
        return ownership.parse_physical_id(ARN, physical_id, ownership.ACCOUNT_SCOPE)

    def parse(self, props: Mapping[str, Any]) -> Desired:
        return parse(props)

    def create(
        self, client: CleanRoomsMLClient, desired: Desired, name: str, tags: Mapping[str, str]
    ) -> Ref:
        # the policy is not a create argument: the poll puts it (engine.shared.sync_settings)
        response = client.create_configured_audience_model(**kinds.request(desired, name, tags))
        return ownership.make_ref(ARN, response["configuredAudienceModelArn"], None)

    def describe(self, client: CleanRoomsMLClient, ref: Ref) -> Observed:
        held: Mapping[str, Any] = client.get_configured_audience_model(
            configuredAudienceModelArn=ref.arn
        )
        document: dict[str, Any] = {key: held[key] for key in UPDATABLE if key in held}
        try:
            policy = client.get_configured_audience_model_policy(configuredAudienceModelArn=ref.arn)
        except Exception as error:
            if not faults.is_not_found(error):
                raise
            document[POLICY] = None
        else:
            document[POLICY] = policy["configuredAudienceModelPolicy"]
            document[POLICY_HASH] = policy["policyHash"]
        observed = kinds.observed(
            ref,
            held,
            (),
            {
                contract.ATTR_CONFIGURED_AUDIENCE_MODEL_ARN: ref.arn,
                contract.ATTR_NAME: str(held.get("name", "")),
                contract.ATTR_STATUS: str(held.get("status", "")),
            },
        )
        return Observed(**{**vars(observed), "document": document})

    def summaries(self, client: CleanRoomsMLClient, membership: str) -> Iterator[Summary]:
        for page in client.get_paginator("list_configured_audience_models").paginate():
            for item in page.get("configuredAudienceModels", []):
                arn = str(item["configuredAudienceModelArn"])
                yield kinds.summary(ownership.make_ref(ARN, arn, None), item)

    def delete_step(self, client: CleanRoomsMLClient, observed: Observed, first: bool) -> str:
        """Delete it (at once, its policy with it); gone is done (the poll looks)."""
        return kinds.delete_account_resource(
            self.noun,
            observed,
            first,
            lambda: client.delete_configured_audience_model(
                configuredAudienceModelArn=observed.ref.arn
            ),
            "something still uses it (an audience generation job?): remove that first (or "
            "keep this one with RemovalPolicy.RETAIN) and delete again",
        )

    def in_place(self, observed: Observed, desired: Desired) -> Mapping[str, Any] | None:
        """The settings that differ, as ``UpdateConfiguredAudienceModel`` takes them (and
        the policy); None when one the service holds cannot be unset."""
        held, wanted = observed.document, desired.settings
        changes: dict[str, Any] = {}
        for key in UPDATABLE:
            want, have = wanted.get(key), held.get(key)
            if key in UNSET:
                want, have = want or UNSET[key], have or UNSET[key]
            if want == have:
                continue
            if want is None:
                return None  # set once, it cannot be unset: a new one is made
            changes[key] = want
        if not _same_policy(wanted.get(POLICY), held.get(POLICY)):
            changes[POLICY] = wanted.get(POLICY)
        return changes

    def update(
        self, client: CleanRoomsMLClient, observed: Observed, changes: Mapping[str, Any]
    ) -> None:
        arn = observed.ref.arn
        fields = {k: v for k, v in changes.items() if k != POLICY}
        if fields:
            client.update_configured_audience_model(configuredAudienceModelArn=arn, **fields)
        if POLICY not in changes:
            return
        wanted = changes[POLICY]
        if wanted is None:
            try:
                client.delete_configured_audience_model_policy(configuredAudienceModelArn=arn)
            except Exception as error:
                if not faults.is_not_found(error):
                    raise
            return
        # the hash of the policy read before: a policy changed meanwhile is not overwritten
        held_hash = observed.document.get(POLICY_HASH)
        guard: dict[str, Any] = (
            {"previousPolicyHash": held_hash}
            if held_hash
            else {"policyExistenceCondition": "POLICY_MUST_NOT_EXIST"}
        )
        try:
            client.put_configured_audience_model_policy(
                configuredAudienceModelArn=arn, configuredAudienceModelPolicy=wanted, **guard
            )
        except Exception:
            # a retried call whose first attempt was made (its answer lost) finds its own
            # policy there: that is done; anything else is the refusal it was
            if not _same_policy(wanted, self._policy(client, arn)):
                raise

    @staticmethod
    def _policy(client: CleanRoomsMLClient, arn: str) -> str | None:
        try:
            found = client.get_configured_audience_model_policy(configuredAudienceModelArn=arn)
        except Exception as error:
            if faults.is_not_found(error):
                return None
            raise
        policy: str = found["configuredAudienceModelPolicy"]
        return policy


KIND: Final = ConfiguredAudienceModels()
