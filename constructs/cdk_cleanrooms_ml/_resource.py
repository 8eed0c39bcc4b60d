"""The custom resource behind each construct, whose removal policy is its handler's too.

CloudFormation applies ``DeletionPolicy``/``UpdateReplacePolicy``; the handler reads
the ``RemovalPolicy`` property (it decides what a Delete event may delete, during
rollbacks too). Both come from one place: every way CDK sets a removal policy — the
construct's ``removal_policy`` prop, ``construct.apply_removal_policy(...)``,
``RemovalPolicies.of(scope)``, ``RemovalPolicy`` aspects, the resource's own
``apply_removal_policy`` — ends in ``ManagedResource.apply_removal_policy``, which
sets both. A policy the handler cannot honour (``SNAPSHOT``,
``RETAIN_ON_UPDATE_OR_DELETE``) is refused there with a clear error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import jsii
from aws_cdk import CfnDeletionPolicy, CfnResource, Names, RemovalPolicy

from constructs import Construct, IValidation

from . import _contract as contract
from .errors import RemovalPolicyError

SUPPORTED: Final = {
    RemovalPolicy.RETAIN: contract.REMOVAL_POLICY_RETAIN,
    RemovalPolicy.DESTROY: contract.REMOVAL_POLICY_DESTROY,
}


_POLICY_PATHS: Final = frozenset(
    {"DeletionPolicy", "UpdateReplacePolicy", f"Properties.{contract.REMOVAL_POLICY}"}
)


def handler_policy(policy: RemovalPolicy, owner: str) -> str:
    """The handler's word for ``policy``, or a clear error."""
    if not isinstance(policy, RemovalPolicy):
        raise RemovalPolicyError(
            f"{owner}: removal policy {policy!r} (a {type(policy).__name__}) is not a "
            "RemovalPolicy; allowed: RemovalPolicy.RETAIN or RemovalPolicy.DESTROY"
        )
    found = SUPPORTED.get(policy)
    if found is None:
        raise RemovalPolicyError(
            f"{owner}: removal policy {policy.name} is not supported; allowed: RETAIN (keep "
            "the resource) or DESTROY (delete it); the handler decides what a Delete event "
            "deletes, so no other policy can be honoured"
        )
    return found


class ManagedResource(CfnResource):
    """A ``Custom::CleanRoomsML*`` resource (construct id ``Resource``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_type: str,
        service_token: str,
        properties: Mapping[str, Any],
        removal_policy: RemovalPolicy,
    ) -> None:
        self._owner = scope.node.path
        policy = handler_policy(removal_policy, self._owner)
        rendered = {"ServiceToken": service_token, **properties}
        if policy != contract.REMOVAL_POLICY_RETAIN:
            rendered[contract.REMOVAL_POLICY] = policy
        super().__init__(scope, construct_id, type=resource_type, properties=rendered)
        self._policy = policy
        super().apply_removal_policy(removal_policy)
        self.node.add_validation(_AgreesWithHandler(self))

    def apply_removal_policy(
        self,
        policy: RemovalPolicy | None = None,
        *,
        apply_to_update_replace_policy: bool | None = None,
        default: RemovalPolicy | None = None,
    ) -> None:
        """Set ``DeletionPolicy``, ``UpdateReplacePolicy`` and the handler's policy at once."""
        chosen = policy or default or RemovalPolicy.RETAIN
        found = handler_policy(chosen, self._owner)
        if apply_to_update_replace_policy is False:
            raise RemovalPolicyError(
                f"{self._owner}: a removal policy must apply to replacements too (the handler "
                "deletes a replaced resource only under DESTROY)"
            )
        super().apply_removal_policy(chosen)
        if found != self._policy:
            self._policy = found
            # the CDK's addPropertyOverride calls addOverride (this class's, through jsii)
            self._setting_policy = True
            try:
                super().add_property_override(contract.REMOVAL_POLICY, found)
            finally:
                self._setting_policy = False

    # The raw escape hatches cannot set a removal policy behind the handler's back.

    def add_override(self, path: str, value: Any) -> None:
        self._guard(path)
        super().add_override(path, value)

    def add_deletion_override(self, path: str) -> None:
        self._guard(path)
        super().add_deletion_override(path)

    def add_property_override(self, property_path: str, value: Any) -> None:
        self._guard(f"Properties.{property_path}")
        super().add_property_override(property_path, value)

    def add_property_deletion_override(self, property_path: str) -> None:
        self._guard(f"Properties.{property_path}")
        super().add_property_deletion_override(property_path)

    def _guard(self, path: str) -> None:
        if path in _POLICY_PATHS and not getattr(self, "_setting_policy", False):
            raise RemovalPolicyError(
                f"{self._owner}: {path} cannot be overridden: it must agree with the "
                "handler's removal policy; use apply_removal_policy(RemovalPolicy.RETAIN "
                "or DESTROY), which sets both"
            )


_CFN_POLICY: Final = {
    contract.REMOVAL_POLICY_RETAIN: CfnDeletionPolicy.RETAIN,
    contract.REMOVAL_POLICY_DESTROY: CfnDeletionPolicy.DELETE,
}


@jsii.implements(IValidation)
class _AgreesWithHandler:
    """``cfn_options`` set directly must say what the handler will do."""

    def __init__(self, resource: ManagedResource) -> None:
        self._resource = resource

    def validate(self) -> list[str]:
        resource = self._resource
        want = _CFN_POLICY[resource._policy]
        options = resource.cfn_options
        failures = []
        for attribute, found in (
            ("DeletionPolicy", options.deletion_policy),
            ("UpdateReplacePolicy", options.update_replace_policy),
        ):
            if found != want:
                failures.append(
                    f"{resource._owner}: {attribute} {found.name if found else 'unset'} "
                    f"disagrees with the handler's removal policy ({resource._policy}); set "
                    "the policy with apply_removal_policy(RemovalPolicy.RETAIN or DESTROY), "
                    "which sets both"
                )
        return failures


def name_prefix(scope: Construct) -> str:
    """A generated name's prefix: unique in the stack, stable across synths (at most 49)."""
    return Names.unique_resource_name(
        scope, max_length=contract.GENERATED_NAME_PREFIX_MAX_LENGTH, separator="-"
    )
