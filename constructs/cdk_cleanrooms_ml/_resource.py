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

import hashlib
import math
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import jsii
from aws_cdk import CfnDeletionPolicy, CfnResource, ICfnResourceOptions, Names, RemovalPolicy, Stack

from constructs import Construct, IConstruct, IValidation

from . import _contract as contract
from ._props import unresolved
from .errors import RemovalPolicyError

SUPPORTED: Final = {
    RemovalPolicy.RETAIN: contract.REMOVAL_POLICY_RETAIN,
    RemovalPolicy.DESTROY: contract.REMOVAL_POLICY_DESTROY,
}


_POLICY_PATHS: Final = frozenset(
    {"DeletionPolicy", "UpdateReplacePolicy", f"Properties.{contract.REMOVAL_POLICY}"}
)


def handler_policy(policy: RemovalPolicy, owner: IConstruct) -> str:
    """The handler's word for ``policy``, or a clear error naming ``owner``'s path."""
    if not isinstance(policy, RemovalPolicy):
        raise RemovalPolicyError(
            f"{owner.node.path}: removal policy {policy!r} (a {type(policy).__name__}) is not "
            "a RemovalPolicy; allowed: RemovalPolicy.RETAIN or RemovalPolicy.DESTROY"
        )
    found = SUPPORTED.get(policy)
    if found is None:
        raise RemovalPolicyError(
            f"{owner.node.path}: removal policy {policy.name} is not supported; allowed: RETAIN "
            "(keep the resource) or DESTROY (delete it); the handler decides what a Delete event "
            "deletes, so no other policy can be honoured"
        )
    return found


class _HandedOut:
    """``ManagedResource.cfn_options``: the CDK's, and a check of it from then on.

    ``cfn_options`` set directly (``resource.cfn_options.deletion_policy = ...``) must
    agree with the handler's removal policy; the check (a validation at synth) is
    added the first time the options are handed out, so a resource whose options no
    code reads costs no kernel call for it. A non-data descriptor (``__get__`` only):
    jsii registers no override for it, and the CDK's own code reads the options on
    the JavaScript side as before.
    """

    def __get__(self, resource: ManagedResource | None, owner: type | None = None) -> Any:
        if resource is None:
            return self
        if not resource._checked:
            resource._checked = True
            resource.node.add_validation(_AgreesWithHandler(resource))
        return _CDK_OPTIONS.__get__(resource)


_CDK_OPTIONS: Final = CfnResource.__dict__["cfn_options"]
"""``CfnResource.cfn_options``, the jsii property."""


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
        # the owner's path is read (two kernel calls) only for an error message
        self._owner = scope
        self._checked = False
        policy = handler_policy(removal_policy, scope)
        rendered = {"ServiceToken": service_token, **properties}
        if policy != contract.REMOVAL_POLICY_RETAIN:
            rendered[contract.REMOVAL_POLICY] = policy
        super().__init__(scope, construct_id, type=resource_type, properties=rendered)
        self._policy = policy
        super().apply_removal_policy(removal_policy)

    cfn_options: ICfnResourceOptions = cast(ICfnResourceOptions, _HandedOut())
    """The resource's ``cfn_options`` (``CfnResource.cfn_options``): once handed out, a
    check at synth that what is set there agrees with the handler's removal policy."""

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
                f"{self._owner.node.path}: a removal policy must apply to replacements too (the "
                "handler deletes a replaced resource only under DESTROY)"
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
                f"{self._owner.node.path}: {path} cannot be overridden: it must agree with the "
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
                    f"{resource._owner.node.path}: {attribute} "
                    f"{found.name if found else 'unset'} "
                    f"disagrees with the handler's removal policy ({resource._policy}); set "
                    "the policy with apply_removal_policy(RemovalPolicy.RETAIN or DESTROY), "
                    "which sets both"
                )
        return failures


_SEPARATOR: Final = "-"
_HASH_LENGTH: Final = 8
_NOT_ALLOWED: Final = re.compile("[^A-Za-z0-9]")
_SANITIZED: Final = re.compile("[/\n]")


def unique_resource_name(components: Sequence[str], *, max_length: int, separator: str) -> str:
    """aws-cdk-lib's ``makeUniqueResourceName`` (``core/lib/private/unique-resource-name``).

    ``components`` are the top-level stack's name and the ids below it, down to the
    construct. The same name the CDK makes (a test compares them over generated paths):
    the human part (no ``Default``/``Resource`` ids, no repeats, only letters and digits,
    cut in the middle when too long) and 8 hex digits of the path's MD5.
    """
    components = [c for c in components if c != "Default"]
    if not components:
        raise ValueError("no components to make a unique resource name from")
    if len(components) == 1:
        top = _NOT_ALLOWED.sub("", components[0])
        if len(top) <= max_length:
            return top
    digest = hashlib.md5("/".join(components).encode("utf-8"), usedforsecurity=False)
    kept: list[str] = []
    for component in components:
        if not kept or not kept[-1].endswith(component):
            kept.append(component)
    parts = (_NOT_ALLOWED.sub("", c) for c in kept if c != "Resource")
    human = separator.join(p for p in parts if p) + separator
    room = max_length - _HASH_LENGTH
    if len(human) > room:
        half = math.trunc(room / 2)  # JavaScript's slice truncates a fractional index
        human = human[:half] + (human[-half:] if half else human)
    return human + digest.hexdigest()[:_HASH_LENGTH].upper()


@dataclass(frozen=True)
class _ScopeNames:
    """What the generated names of one scope's children start with."""

    components: list[str] | None
    """The top-level stack's name and the ids down to the scope, once the replica made
    the CDK's own name for the scope's first child; None: the CDK makes every name."""


_SCOPES: weakref.WeakKeyDictionary[IConstruct, _ScopeNames] = weakref.WeakKeyDictionary()
_STACK_NAMES: weakref.WeakKeyDictionary[Stack, str] = weakref.WeakKeyDictionary()


def name_prefix(construct: Construct, *, scope: IConstruct, construct_id: str, stack: Stack) -> str:
    """A generated name's prefix: unique in the stack, stable across synths (at most 49).

    ``Names.unique_resource_name(construct, max_length=49, separator="-")``: a kernel
    call for a scope's first child, whose name also checks the replica
    (``unique_resource_name``, from the top-level stack's name and the scope's
    stack-relative path); the scope's other children get the replica's names, no
    kernel call. Where the replica did not match (a nested stack, a token stack
    name), the CDK makes every name.
    """
    known = _SCOPES.get(scope)
    if known is not None:
        # an id the construct tree sanitizes ("/" and newlines become "--") is left
        # to the CDK: the node's id is then not the id given
        if known.components is not None and not _SANITIZED.search(construct_id):
            return _replica([*known.components, construct_id])
        return _cdk_name_prefix(construct)
    made = _cdk_name_prefix(construct)
    if _SANITIZED.search(construct_id):
        return made  # no check from this one: the next child will
    components = _components_above(scope, stack)
    if components is not None and _replica([*components, construct_id]) != made:
        components = None
    _SCOPES[scope] = _ScopeNames(components)
    return made


def _replica(components: list[str]) -> str:
    return unique_resource_name(
        components, max_length=contract.GENERATED_NAME_PREFIX_MAX_LENGTH, separator=_SEPARATOR
    )


def _cdk_name_prefix(construct: Construct) -> str:
    return Names.unique_resource_name(
        construct, max_length=contract.GENERATED_NAME_PREFIX_MAX_LENGTH, separator=_SEPARATOR
    )


def _components_above(scope: IConstruct, stack: Stack) -> list[str] | None:
    """The top-level stack's name and the ids from it down to ``scope``, or None when
    the CDK must be asked (a nested stack or a token stack name: ``stack`` is then not
    the last top-level stack of the path)."""
    name = _STACK_NAMES.get(stack)
    if name is None:
        name = _STACK_NAMES[stack] = stack.stack_name
    if unresolved(name):
        return None
    if scope is stack:
        return [name]
    relative = getattr(Names, "stack_relative_construct_path", None)
    if relative is None:  # an aws-cdk-lib without it
        return None
    path = relative(scope)
    return [name, *path.split("/")] if path else [name]
