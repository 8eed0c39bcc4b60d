"""The ``ConfiguredAudienceModel`` construct: an audience model configured for generation,
its output, sizes and resource policy, updated in place."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import jsii
from aws_cdk import (
    IStableAnyProducer,
    ITaggable,
    Lazy,
    RemovalPolicy,
    Resource,
    Stack,
    TagManager,
    Token,
)
from aws_cdk import aws_iam as iam

from constructs import Construct, IValidation, Node

from . import _contract as contract
from . import _lifecycle, _refs
from ._nag import acknowledge, policy_resource
from ._props import Reader, received, unresolved
from ._provider import CleanRoomsMLProvider, nag_text
from ._resource import ManagedResource, name_prefix
from ._validation import (
    ACCOUNT_ARN_SHAPE,
    AUDIENCE_MODEL_ARN_PATTERN,
    CONFIGURED_AUDIENCE_MODEL_ARN_PATTERN,
    S3_URI_MAX,
    check_arn,
    check_description,
    check_whole_in_range,
    unskipped,
)
from .audience_model import AudienceModelBase, IAudienceModel
from .errors import ValidationError

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3  # imported where a bucket is given (see _refs.bucket)

__all__ = [
    "AudienceSizeConfig",
    "AudienceSizeType",
    "ConfiguredAudienceModel",
    "ConfiguredAudienceModelBase",
    "IConfiguredAudienceModel",
    "SharedAudienceMetrics",
    "TagOnCreatePolicy",
]

MIN_MATCHING_SEED_SIZE_RANGE: Final = (25, 500_000)
SIZE_BINS_RANGE: Final = (1, 25)
ABSOLUTE_SIZE_RANGE: Final = (1, 20_000_000)
PERCENTAGE_SIZE_RANGE: Final = (1, 100)
POLICY_MAX: Final = 20_480


class SharedAudienceMetrics(enum.Enum):
    """Whether the audience metrics are shared with the collaboration."""

    ALL = "ALL"
    NONE = "NONE"


class AudienceSizeType(enum.Enum):
    """How audience sizes are counted: identifiers, or a percentage of the model's."""

    ABSOLUTE = "ABSOLUTE"
    PERCENTAGE = "PERCENTAGE"


class TagOnCreatePolicy(enum.Enum):
    """How the audience generation jobs of a configured audience model are tagged."""

    FROM_PARENT_RESOURCE = "FROM_PARENT_RESOURCE"
    """They take the configured audience model's tags (a job's own win)."""
    NONE = "NONE"
    """Only a job's own tags."""


@dataclass(frozen=True)
class AudienceSizeConfig:
    """The audience sizes a generation job of the model may ask for (and an export).

    :param size_type: ``ABSOLUTE`` (identifiers) or ``PERCENTAGE`` (1-100).
    :param bins: 1-25 sizes: 1-20,000,000 identifiers, or 1-100 percent.
    """

    size_type: AudienceSizeType
    bins: Sequence[int]


@runtime_checkable
class IConfiguredAudienceModel(Protocol):
    """A Clean Rooms ML configured audience model, created in this app or imported."""

    @property
    def node(self) -> Node:
        """The construct tree node."""
        ...

    @property
    def configured_audience_model_arn(self) -> str:
        """The ARN of the configured audience model."""
        ...

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` on this configured audience model (another account's
        principal through its resource policy)."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant reading it (``GetConfiguredAudienceModel``)."""
        ...

    def grant_start_audience_generation(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant starting audience generation jobs with it."""
        ...


class ConfiguredAudienceModelBase(Resource):
    """What every configured audience model, created or imported, offers (from its ARN
    alone); only one created in this app has a resource policy to add to."""

    @property
    def configured_audience_model_arn(self) -> str:
        """The ARN of the configured audience model."""
        raise NotImplementedError

    def add_to_resource_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToResourcePolicyResult:
        """Add ``statement`` to the resource policy: not possible for an imported one
        (``statement_added`` is False)."""
        return iam.AddToResourcePolicyResult(statement_added=False)

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` (``cleanrooms-ml:...``) on this configured audience model: to
        a principal of this account through its own policy, to another account's (a
        collaboration member's) through the resource policy, whose statement names the
        model as ``*`` (itself: a policy cannot name its own ARN, which exists only once
        the model does), as aws-cdk-lib does for KMS keys."""
        return iam.Grant.add_to_principal_or_resource(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self.configured_audience_model_arn],
            resource=self,
            resource_self_arns=["*"],
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant ``cleanrooms-ml:GetConfiguredAudienceModel``."""
        return self.grant(grantee, "cleanrooms-ml:GetConfiguredAudienceModel")

    def grant_start_audience_generation(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant ``cleanrooms-ml:StartAudienceGenerationJob`` with this model."""
        return self.grant(grantee, "cleanrooms-ml:StartAudienceGenerationJob")


@jsii.implements(iam.IResourceWithPolicy)
class _ImportedConfiguredAudienceModel(ConfiguredAudienceModelBase):
    def __init__(self, scope: Construct, construct_id: str, arn: str) -> None:
        super().__init__(scope, construct_id, environment_from_arn=arn)
        self._arn = arn

    @property
    def configured_audience_model_arn(self) -> str:
        return self._arn


@dataclass(frozen=True, kw_only=True)
class ConfiguredSpec:
    """The resolved props of a ``ConfiguredAudienceModel``."""

    audience_model_arn: str
    output_location: str
    shared_audience_metrics: str
    min_matching_seed_size: float | None
    size_type: str | None
    size_bins: tuple[Any, ...]
    child_resource_tag_on_create_policy: str | None
    description: str | None
    lifecycle: _lifecycle.Lifecycle


def validate(spec: ConfiguredSpec, skip: frozenset[str]) -> list[str]:
    """Every value rule of a ``ConfiguredAudienceModel`` (props in ``skip`` had a wrong type)."""

    def rules() -> Iterator[str]:
        yield from check_arn(
            "audience_model",
            spec.audience_model_arn,
            AUDIENCE_MODEL_ARN_PATTERN,
            "an audience model ARN",
            f"{ACCOUNT_ARN_SHAPE}audience-model/<id>",
        )
        location = spec.output_location
        if not unresolved(location) and len(location) > S3_URI_MAX:
            yield (
                f"output_prefix: the output location has {len(location)} characters; allowed "
                f"at most {S3_URI_MAX} (s3://<bucket>/<prefix>)"
            )
        yield from check_whole_in_range(
            "min_matching_seed_size",
            spec.min_matching_seed_size,
            MIN_MATCHING_SEED_SIZE_RANGE,
            "identifiers",
        )
        if spec.size_type is not None:
            low, high = SIZE_BINS_RANGE
            if not low <= len(spec.size_bins) <= high:
                count = len(spec.size_bins)
                yield f"audience_size_config.bins: {count} sizes; allowed {low}-{high}"
            bounds, unit = (
                (PERCENTAGE_SIZE_RANGE, "percent")
                if spec.size_type == AudienceSizeType.PERCENTAGE.value
                else (ABSOLUTE_SIZE_RANGE, "identifiers")
            )
            for index, value in enumerate(spec.size_bins):
                yield from check_whole_in_range(
                    f"audience_size_config.bins[{index}]", value, bounds, unit
                )
        yield from check_description("description", spec.description)

    found = unskipped(rules(), skip)
    found.extend(
        _lifecycle.failures(
            spec.lifecycle,
            name_prop="configured_audience_model_name",
            max_timeout=contract.SHORT_PATH_MAX_SECONDS,
        )
    )
    return found


def render(spec: ConfiguredSpec, role_arn: str, prefix: str | None) -> dict[str, Any]:
    """The ``Custom::CleanRoomsMLConfiguredAudienceModel`` properties (defaults left out)."""
    props: dict[str, Any] = {
        contract.AUDIENCE_MODEL_ARN: spec.audience_model_arn,
        contract.OUTPUT_S3_URI: spec.output_location,
        contract.ROLE_ARN: role_arn,
        contract.SHARED_AUDIENCE_METRICS: spec.shared_audience_metrics,
        **_lifecycle.render(spec.lifecycle, prefix),
    }
    props.pop(contract.WAIT_FOR_COMPLETION, None)  # it is ACTIVE at once: nothing to wait for
    optional: dict[str, Any] = {
        contract.MIN_MATCHING_SEED_SIZE: _number(spec.min_matching_seed_size),
        contract.AUDIENCE_SIZE_TYPE: spec.size_type,
        contract.AUDIENCE_SIZE_BINS: [_number(b) for b in spec.size_bins] or None,
        contract.CHILD_RESOURCE_TAG_ON_CREATE_POLICY: spec.child_resource_tag_on_create_policy,
        contract.DESCRIPTION: spec.description,
    }
    props.update({k: v for k, v in optional.items() if v is not None})
    return props


def _number(value: float | None) -> Any:
    if value is None:
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def audience_model_arn(reader: Reader, prop: str, value: object) -> str | None:
    """An ``IAudienceModel``'s ARN."""
    if value is None:
        reader.fail(prop, "is required; allowed: an IAudienceModel")
        return None
    if isinstance(value, AudienceModelBase) or (
        not hasattr(type(value), "__jsii_type__") and isinstance(value, IAudienceModel)
    ):
        return value.audience_model_arn
    reader.fail(
        prop,
        f"{received(value)} is not an IAudienceModel; allowed: an AudienceModel or "
        "AudienceModel.from_audience_model_arn(...)",
    )
    return None


@jsii.implements(IValidation)
class _PolicyRules:
    """The resource policy as the app left it at synth (statements may be added until
    then): it cannot name its own model's ARN (CloudFormation knows it only once the
    model exists: a circular dependency; ``*`` is the model itself), and its text takes
    at most ``POLICY_MAX`` characters (the API's limit)."""

    def __init__(self, owner: ConfiguredAudienceModel) -> None:
        self._owner = owner

    def validate(self) -> list[str]:
        owner = self._owner
        document = owner._policy
        if document is None or document.is_empty:
            return []
        stack = Stack.of(owner)
        own = stack.resolve(owner._resource.logical_id)
        resolved = stack.resolve(document.to_json())
        text = json.dumps(resolved)
        found = []
        if f'"Fn::GetAtt": ["{own}"' in text or f'"Ref": "{own}"' in text:
            found.append(
                f"{owner.node.path}: resource_policy: a statement names this configured "
                "audience model's own ARN, which exists only once the model does (a circular "
                "dependency); write Resource '*' for the model itself"
            )
        length = _least_length(resolved)
        if length > POLICY_MAX:
            found.append(
                f"{owner.node.path}: resource_policy: its text takes at least {length:,} "
                f"characters; allowed at most {POLICY_MAX:,} (split it, or grant fewer "
                "principals one statement each)"
            )
        return found


def _least_length(resolved: Any) -> int:
    """The fewest characters the policy's text can take once deployed: its compact JSON
    (as ``Stack.to_json_string`` renders it), a deploy-time value counted as one."""

    def known(value: Any) -> Any:
        if isinstance(value, dict):
            if len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::")):
                return "x"  # an intrinsic: known only at deploy time
            return {key: known(item) for key, item in value.items()}
        if isinstance(value, list):
            return [known(item) for item in value]
        return value

    return len(json.dumps(known(resolved), separators=(",", ":"), ensure_ascii=False))


@jsii.implements(IStableAnyProducer)
class _PolicyText:
    """The resource policy's text, made at synth (statements may be added until then);
    nothing when it has none."""

    def __init__(self, owner: ConfiguredAudienceModel, stack: Stack) -> None:
        self._owner = owner
        self._stack = stack

    def produce(self) -> Any:
        policy = self._owner._policy
        if policy is None or policy.is_empty:
            return None
        return self._stack.to_json_string(policy)


@jsii.implements(ITaggable, iam.IResourceWithPolicy)
class ConfiguredAudienceModel(ConfiguredAudienceModelBase):
    """A Clean Rooms ML configured audience model
    (``Custom::CleanRoomsMLConfiguredAudienceModel``): an audience model made ready for
    audience generation (``CreateConfiguredAudienceModel``), with where the generated
    audiences go, which sizes may be asked for and who may use it.

    It belongs to the account and region and is ACTIVE at once. The first construct
    whose settings update in place: its audience model, output, shared metrics, minimum
    seed size, size bins and description change with ``UpdateConfiguredAudienceModel``
    (a rollback puts the old ones back the same way), its resource policy with
    ``PutConfiguredAudienceModelPolicy`` (guarded by the hash of the policy it replaces:
    one changed meanwhile fails the update rather than being overwritten). Its name and
    ``child_resource_tag_on_create_policy`` replace it, and so does dropping a minimum
    seed size or size bins once set (the service cannot unset them). Tags are updated in
    place. ``DESTROY`` deletes it (``DeleteConfiguredAudienceModel``); ``RETAIN`` (the
    default) keeps it.

    :param audience_model: the audience model to configure (an ``IAudienceModel``).
    :param output_bucket: where generated audiences go.
    :param shared_audience_metrics: whether the audience metrics are shared (``ALL``)
        or not (``NONE``).
    :param output_prefix: the key prefix in ``output_bucket``. Default: the bucket's root.
    :param output_role: the role Clean Rooms ML writes the audiences as. Default: a role
        with ``s3:PutObject`` under the output location (and the bucket key's
        ``GenerateDataKey``), trusted by ``cleanrooms-ml.amazonaws.com`` for this account.
    :param min_matching_seed_size: the fewest seed users that must match the training
        data, 25-500,000. Default: not sent (the service's).
    :param audience_size_config: the sizes a job may generate. Default: not sent.
    :param child_resource_tag_on_create_policy: how its generation jobs are tagged.
        Default: not sent (``NONE``).
    :param description: up to 255 characters. Default: none.
    :param configured_audience_model_name: 1-63 characters. Default: generated.
    :param resource_policy: its resource policy (who in the collaboration may use it):
        an ``aws_iam.PolicyDocument``; statements name the model as ``*``; its JSON text
        at most 20,480 characters (checked at synth). Default: none.
        ``add_to_resource_policy`` and the ``grant_*`` methods add to it.
    :param tags: at most 49; ``Tags.of(model)`` reaches it too.
    :param removal_policy: ``RETAIN`` (default) or ``DESTROY``.

    :raises ValidationError: once, listing every invalid prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        audience_model: IAudienceModel,
        output_bucket: s3.IBucket,
        shared_audience_metrics: SharedAudienceMetrics,
        output_prefix: str | None = None,
        output_role: iam.IRole | None = None,
        min_matching_seed_size: int | None = None,
        audience_size_config: AudienceSizeConfig | None = None,
        child_resource_tag_on_create_policy: TagOnCreatePolicy | None = None,
        description: str | None = None,
        configured_audience_model_name: str | None = None,
        resource_policy: iam.PolicyDocument | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        reader = Reader()
        model = audience_model_arn(reader, "audience_model", audience_model)
        bucket = _refs.bucket(reader, "output_bucket", output_bucket)
        if output_bucket is None:
            reader.fail("output_bucket", "is required; allowed: an aws_s3.IBucket")
        prefix = reader.text("output_prefix", output_prefix) or ""
        role = _refs.role(reader, "output_role", output_role)
        metrics = reader.choice(
            "shared_audience_metrics",
            shared_audience_metrics,
            SharedAudienceMetrics,
            required=True,
        )
        sizes = reader.instance(
            "audience_size_config",
            audience_size_config,
            AudienceSizeConfig,
            allowed="an AudienceSizeConfig, e.g. AudienceSizeConfig(AudienceSizeType.ABSOLUTE, "
            "[10000, 50000])",
        )
        size_type = bins = None
        if sizes is not None:
            size_type = reader.choice(
                "audience_size_config.size_type", sizes.size_type, AudienceSizeType, required=True
            )
            bins = [
                reader.whole(f"audience_size_config.bins[{i}]", b, required=True)
                for i, b in enumerate(
                    reader.items(
                        "audience_size_config.bins", sizes.bins, allowed="a list of whole numbers"
                    )
                )
            ]
        tagging = reader.choice(
            "child_resource_tag_on_create_policy",
            child_resource_tag_on_create_policy,
            TagOnCreatePolicy,
        )
        policy = reader.instance(
            "resource_policy",
            resource_policy,
            iam.PolicyDocument,
            allowed="an aws_iam.PolicyDocument",
        )
        lifecycle = _lifecycle.read(
            reader,
            name_prop="configured_audience_model_name",
            name=configured_audience_model_name,
            tags=tags,
            removal_policy=removal_policy,
            wait_for_completion=None,
            completion_timeout=None,
        )
        location = f"s3://{bucket.bucket_name}/{prefix}" if bucket is not None else "s3://unknown/"
        spec = ConfiguredSpec(
            audience_model_arn=model or "",
            output_location=location,
            shared_audience_metrics=metrics.value if metrics else "",
            min_matching_seed_size=reader.whole(
                "min_matching_seed_size", min_matching_seed_size, example="1000"
            ),
            size_type=size_type.value if size_type else None,
            size_bins=tuple(b for b in (bins or []) if b is not None),
            child_resource_tag_on_create_policy=tagging.value if tagging else None,
            description=reader.text("description", description),
            lifecycle=lifecycle,
        )
        failures = reader.failures + validate(spec, frozenset(reader.failed))
        if failures:
            raise ValidationError("ConfiguredAudienceModel", self.node.path, failures)
        assert bucket is not None

        provider = CleanRoomsMLProvider.of(scope)
        self.output_role = role or _output_role(self, bucket, prefix)
        provider.grant_configured_audience_model(
            audience_model_arn=spec.audience_model_arn, role=self.output_role
        )
        self._tags = provider.resource_tags(
            self, contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE, lifecycle.tags
        )
        self._policy = policy
        properties = render(
            spec,
            self.output_role.role_arn,
            None
            if lifecycle.name is not None
            else name_prefix(self, scope=scope, construct_id=construct_id, stack=provider.stack),
        )
        stack = provider.stack
        # statements may be added later (add_to_resource_policy, grants): rendered at synth
        properties[contract.RESOURCE_POLICY] = Lazy.any(_PolicyText(self, stack))
        too_large = self._tags.fit(properties)
        if too_large:
            raise ValidationError("ConfiguredAudienceModel", self.node.path, too_large)
        if self._tags.rendered is not None:
            properties[contract.TAGS] = self._tags.rendered
        self._resource = ManagedResource(
            self,
            "Resource",
            resource_type=contract.CONFIGURED_AUDIENCE_MODEL_RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            removal_policy=lifecycle.removal_policy,
        )
        self._tags.attach(self._resource)
        self.node.add_validation(_PolicyRules(self))
        if isinstance(self.output_role, iam.Role):
            # the service may write as the role at once: not before its policy exists
            self._resource.node.add_dependency(self.output_role)

    @classmethod
    def from_configured_audience_model_arn(
        cls, scope: Construct, construct_id: str, configured_audience_model_arn: str
    ) -> IConfiguredAudienceModel:
        """An existing configured audience model, by its ARN.

        :raises ValidationError: when it is not one.
        """
        reader = Reader()
        arn = reader.text(
            "configured_audience_model_arn", configured_audience_model_arn, required=True
        )
        failures = reader.failures or list(
            check_arn(
                "configured_audience_model_arn",
                arn,
                CONFIGURED_AUDIENCE_MODEL_ARN_PATTERN,
                "a configured audience model ARN",
                f"{ACCOUNT_ARN_SHAPE}configured-audience-model/<id>",
            )
        )
        if failures:
            path = f"{scope.node.path}/{construct_id}"
            raise ValidationError("ConfiguredAudienceModel", path, failures)
        return _ImportedConfiguredAudienceModel(scope, construct_id, str(arn))

    def add_to_resource_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToResourcePolicyResult:
        """Add ``statement`` to the model's resource policy (made on first use); name the
        model as ``*``. Applied in place by the next deploy."""
        if self._policy is None:
            self._policy = iam.PolicyDocument()
        self._policy.add_statements(statement)
        return iam.AddToResourcePolicyResult(statement_added=True)

    @property
    def resource_policy(self) -> iam.PolicyDocument | None:
        """The resource policy (None until a statement is given or added)."""
        return self._policy

    @property
    def tags(self) -> TagManager:
        """The model's tags (``ITaggable``); ``Tags.of(model).add()`` lands here."""
        return self._tags.manager

    @property
    def resource(self) -> ManagedResource:
        """The underlying custom resource (construct id ``"Resource"``)."""
        return self._resource

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """``RETAIN`` or ``DESTROY``: CloudFormation's policy and the handler's at once."""
        self._resource.apply_removal_policy(policy)

    @property
    def configured_audience_model_arn(self) -> str:
        """Its ARN (``Fn::GetAtt ConfiguredAudienceModelArn``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_CONFIGURED_AUDIENCE_MODEL_ARN))

    @property
    def configured_audience_model_name(self) -> str:
        """Its name, given or generated (``Fn::GetAtt Name``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_NAME))

    @property
    def status(self) -> str:
        """Its status when it was last created or updated (``ACTIVE``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_STATUS))


def _output_role(owner: Construct, bucket: s3.IBucket, prefix: str) -> iam.IRole:
    """The role Clean Rooms ML writes generated audiences as: ``s3:PutObject`` under the
    output location (the API reference), the bucket key's data keys when it has one."""
    stack = Stack.of(owner)
    role = iam.Role(
        owner,
        "OutputRole",
        assumed_by=iam.ServicePrincipal(
            "cleanrooms-ml.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ),
        description="Clean Rooms ML writes the configured audience model's audiences as this role",
    )
    objects = bucket.arn_for_objects(f"{prefix}*")
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:PutObject"],
            resources=[objects],
            conditions={"StringEquals": {"s3:ResourceAccount": stack.account}},
        )
    )
    if bucket.encryption_key is not None:
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[bucket.encryption_key.key_arn],
                conditions={
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{bucket.bucket_arn}*"}
                },
            )
        )
    acknowledge(
        role,
        [
            (
                f"IAM5[Resource::{nag_text(stack.resolve(objects))}]",
                "Clean Rooms ML names the audience objects it writes under the output location",
            )
        ],
        [policy_resource(role)],
    )
    return role
