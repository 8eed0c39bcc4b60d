"""The ``MLConfiguration`` construct: a membership's default output location and role."""

from __future__ import annotations

import hashlib
import json
import weakref
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from aws_cdk import ArnFormat, RemovalPolicy, Resource, Stack
from aws_cdk import aws_iam as iam

from constructs import Construct, IConstruct, Node

from . import _contract as contract
from . import _refs
from ._lifecycle import SUPPORTED_POLICIES
from ._nag import acknowledge, policy_resource
from ._props import Reader, unresolved
from ._provider import CleanRoomsMLProvider, nag_text
from ._resource import ManagedResource
from ._validation import check_membership
from .errors import ValidationError

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3  # imported where a bucket is given (see _refs.bucket)

__all__ = ["IMLConfiguration", "MLConfiguration"]

METRICS_NAMESPACE: Final = "/aws/cleanroomsml/*"
"""Where Clean Rooms ML publishes metrics and logs for a member (the AWS docs)."""
S3_URI_MAX: Final = 1285

_BY_APP: weakref.WeakKeyDictionary[IConstruct, dict[str, str]] = weakref.WeakKeyDictionary()
"""Memberships configured in each app: membership -> construct path (one per membership)."""


@runtime_checkable
class IMLConfiguration(Protocol):
    """A membership's ML configuration, made in this app or already there."""

    @property
    def node(self) -> Node:
        """The construct tree node."""
        ...

    @property
    def membership_identifier(self) -> str:
        """The membership it configures."""
        ...


class _ExistingMLConfiguration(Resource):
    def __init__(self, scope: Construct, construct_id: str, membership_identifier: str) -> None:
        super().__init__(scope, construct_id)
        self._membership = membership_identifier

    @property
    def membership_identifier(self) -> str:
        return self._membership


class MLConfiguration(Resource):
    """A membership's ML configuration (``Custom::CleanRoomsMLConfiguration``).

    ``PutMLConfiguration`` sets where Clean Rooms ML writes this member's results
    (trained model exports, inference output) and the role it assumes to write them
    and to publish the member's metrics and logs (CloudWatch namespace and log
    groups ``/aws/cleanroomsml/*``). It is the prerequisite for inference output,
    exports, logs and metrics: ``TrainedModel``, ``MLInputChannel`` and
    ``TrainedModelInferenceJob`` take it as ``ml_configuration`` and are then
    deployed after it.

    A membership has one ML configuration: two in one app for the same membership
    are an error at synth; one that the membership already has is adopted when it is
    the same, and refused (with how to import or remove it) when it is not. Changing
    the output or the role updates it in place; another membership replaces it. Its
    resource's logical id is made from the membership (``MLConfiguration<8 hex>``),
    not from the construct's path: renaming or moving the construct within its stack
    (with its default role, which is then a new one, or a new output location) is an
    update in place.
    ``DESTROY`` deletes it (``DeleteMLConfiguration``), unless it was changed outside
    CloudFormation; ``RETAIN`` (the default) keeps it.

    :param membership_identifier: the membership (UUID) to configure.
    :param output_bucket: where results go. Default: none (then the configuration
        only says which role publishes metrics and logs).
    :param output_prefix: the key prefix in ``output_bucket``. Default: the bucket's root.
    :param role: the role Clean Rooms ML assumes. Default: a role with exactly the
        permissions AWS documents for it: ``s3:PutObject`` under the output location
        (and the bucket's KMS key, if any), ``cloudwatch:PutMetricData`` in the
        ``/aws/cleanroomsml/*`` namespaces, and writing to the ``/aws/cleanroomsml/*``
        log groups; trusted by ``cleanrooms-ml.amazonaws.com`` for this account and
        membership only.
    :param removal_policy: ``RETAIN`` (default) or ``DESTROY``.

    :raises ValidationError: once, listing every invalid prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        membership_identifier: str,
        output_bucket: s3.IBucket | None = None,
        output_prefix: str | None = None,
        role: iam.IRole | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        reader = Reader()
        membership = reader.text(
            "membership_identifier", membership_identifier, required=True, allowed="a UUID"
        )
        bucket = _refs.bucket(reader, "output_bucket", output_bucket)
        prefix = reader.text("output_prefix", output_prefix) or ""
        if output_prefix is not None and output_bucket is None:
            reader.fail("output_prefix", "needs output_bucket")
        given_role = _refs.role(reader, "role", role)
        policy = (
            reader.choice(
                "removal_policy", removal_policy, RemovalPolicy, members=SUPPORTED_POLICIES
            )
            or RemovalPolicy.RETAIN
        )
        failures = reader.failures
        if "membership_identifier" not in reader.failed:
            failures += check_membership("membership_identifier", membership)
        if prefix and not unresolved(prefix):
            # s3://<bucket>/<prefix>: the bucket's name counts when it is known
            name = bucket.bucket_name if bucket is not None else None
            known = isinstance(name, str) and not unresolved(name)
            room = S3_URI_MAX - len("s3://") - 1 - (len(name) if known and name else 63)
            if len(prefix) > room:
                failures.append(
                    f"output_prefix: {len(prefix)} characters; allowed at most {room} "
                    f"(the output location s3://<bucket>/<prefix> has at most {S3_URI_MAX})"
                )
        if not failures and membership is not None and not unresolved(membership):
            configured = _BY_APP.setdefault(self.node.root, {})
            other = configured.get(membership)
            if other is not None:
                failures.append(
                    f"membership_identifier: {membership!r} is already configured by {other}; "
                    "a membership has one ML configuration: use that one (or "
                    "MLConfiguration.from_membership_identifier)"
                )
            configured[membership] = self.node.path
        if failures:
            raise ValidationError("MLConfiguration", self.node.path, failures)
        assert membership is not None
        self._membership = membership
        self.role = given_role or _service_role(self, membership, bucket, prefix)
        provider = CleanRoomsMLProvider.of(scope)
        provider.grant_configuration(membership_identifier=membership, role=self.role)
        properties: dict[str, Any] = {
            contract.MEMBERSHIP_IDENTIFIER: membership,
            contract.ROLE_ARN: self.role.role_arn,
        }
        if bucket is not None:
            properties[contract.OUTPUT_S3_URI] = f"s3://{bucket.bucket_name}/{prefix}"
        self._resource = ManagedResource(
            self,
            "Resource",
            resource_type=contract.ML_CONFIGURATION_RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            removal_policy=policy,
        )
        self._resource.override_logical_id(
            logical_id_of(
                membership
                if not unresolved(membership)
                # a token: what it refers to (a parameter, an import, an attribute) names
                # the membership as well across renames (one resolve, for a token only)
                else json.dumps(Stack.of(self).resolve(membership), sort_keys=True)
            )
        )
        if isinstance(self.role, iam.Role):
            # the service may use the role at once: not before the role's policy exists
            self._resource.node.add_dependency(self.role)

    @classmethod
    def from_membership_identifier(
        cls, scope: Construct, construct_id: str, membership_identifier: str
    ) -> IMLConfiguration:
        """A membership's ML configuration that exists already (made elsewhere)."""
        reader = Reader()
        membership = reader.text("membership_identifier", membership_identifier, required=True)
        failures = reader.failures or list(check_membership("membership_identifier", membership))
        if failures:
            raise ValidationError("MLConfiguration", f"{scope.node.path}/{construct_id}", failures)
        return _ExistingMLConfiguration(scope, construct_id, str(membership))

    @property
    def membership_identifier(self) -> str:
        """The membership it configures."""
        return self._membership

    @property
    def resource(self) -> ManagedResource:
        """The underlying custom resource (construct id ``"Resource"``)."""
        return self._resource

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """``RETAIN`` or ``DESTROY``: CloudFormation's policy and the handler's at once."""
        self._resource.apply_removal_policy(policy)


def logical_id_of(membership_identifier: str) -> str:
    """The configuration resource's logical id: ``MLConfiguration`` and 8 hex digits of
    the membership (for one known only at deploy time, of what its token refers to), not
    the construct's path. A membership has one configuration, so
    renaming (or moving) the construct within its stack changes nothing in
    CloudFormation: a new role or output location is an update in place, and its
    rollback puts the old one back (a new logical id would be a second resource taking
    over the membership's one configuration, which a rollback could not give back)."""
    digest = hashlib.sha256(membership_identifier.encode("utf-8")).hexdigest()
    return f"MLConfiguration{digest[:8].upper()}"


def _service_role(
    owner: MLConfiguration, membership: str, bucket: s3.IBucket | None, prefix: str
) -> iam.IRole:
    """The role AWS documents for ``PutMLConfiguration``, scoped to this membership."""
    stack = Stack.of(owner)
    membership_arn = stack.format_arn(
        service="cleanrooms",
        resource="membership",
        resource_name=membership,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )
    role = iam.Role(
        owner,
        "ServiceRole",
        assumed_by=iam.ServicePrincipal(
            "cleanrooms-ml.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": membership_arn},
            },
        ),
        description="Clean Rooms ML writes this member's results, metrics and logs as this role",
    )
    findings = [
        (
            "IAM5[Resource::*]",
            "cloudwatch:PutMetricData takes no resource; it is limited to the "
            "/aws/cleanroomsml/* namespaces by a condition, as AWS documents",
        )
    ]
    if bucket is not None:
        this_account = {"StringEquals": {"s3:ResourceAccount": stack.account}}
        # AWS documents s3:PutObject under the output location; its own sample
        # (aws-samples/sample-AWSCleanRoomsCustomMLModel, the ML configuration role) also
        # grants s3:GetObject, s3:ListBucket and s3:GetBucketLocation: granted here on the
        # output location only (ListBucket for keys under its prefix)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteAndReadResultsUnderTheOutputLocation",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{prefix}*")],
                conditions=this_account,
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="LocateTheOutputBucket",
                actions=["s3:GetBucketLocation"],
                resources=[bucket.bucket_arn],
                conditions=this_account,
            )
        )
        listing = dict(this_account)
        if prefix:
            listing["StringLike"] = {"s3:prefix": f"{prefix}*"}
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ListTheOutputLocation",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions=listing,
            )
        )
        findings.append(
            (
                f"IAM5[Resource::{_nag_text(stack, bucket.arn_for_objects(f'{prefix}*'))}]",
                "Clean Rooms ML names the result objects it writes (and reads back) under the "
                "output location",
            )
        )
        if bucket.encryption_key is not None:
            # AWS documents kms:Encrypt and kms:GenerateDataKey* for the bucket's key,
            # limited to the bucket's objects by the encryption context; named here (no
            # wildcard), with Decrypt for multipart uploads of large results
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[bucket.encryption_key.key_arn],
                    conditions={
                        "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{bucket.bucket_arn}*"}
                    },
                )
            )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": METRICS_NAMESPACE}},
        )
    )
    log_groups = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=METRICS_NAMESPACE,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
            ],
            resources=[log_groups],
        )
    )
    findings.append(
        (
            f"IAM5[Resource::{_nag_text(stack, log_groups)}]",
            "Clean Rooms ML names its log groups under /aws/cleanroomsml/ per job",
        )
    )
    acknowledge(role, findings, [policy_resource(role)])
    return role


def _nag_text(stack: Stack, value: str) -> str:
    return nag_text(stack.resolve(value))
