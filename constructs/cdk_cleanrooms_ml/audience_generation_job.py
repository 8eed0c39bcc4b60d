"""The ``AudienceGenerationJob`` construct: an audience generated from a seed audience."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import jsii
from aws_cdk import (
    Duration,
    ITaggable,
    RemovalPolicy,
    Resource,
    Stack,
    TagManager,
    Token,
)
from aws_cdk import aws_iam as iam

from constructs import Construct, Node

from . import _contract as contract
from . import _lifecycle, _refs
from ._nag import acknowledge, policy_resource
from ._props import Reader, received, show, unresolved
from ._provider import CleanRoomsMLProvider, nag_text
from ._resource import ManagedResource, name_prefix
from ._validation import (
    ACCOUNT_ARN_SHAPE,
    AUDIENCE_GENERATION_JOB_ARN_PATTERN,
    CONFIGURED_AUDIENCE_MODEL_ARN_PATTERN,
    S3_URI_MAX,
    UUID_PATTERN,
    check_arn,
    check_description,
    check_string_map,
    check_whole_in_range,
    unskipped,
)
from .configured_audience_model import ConfiguredAudienceModelBase, IConfiguredAudienceModel
from .errors import ValidationError
from .ml_input_channel import (
    ANALYSIS_TEMPLATE_ARN_PATTERN,
    PARAMETER_NAME_PATTERN,
    QUERY_MAX,
    SPARK_PROPERTIES_MAX,
    WORKER_COUNT_RANGE,
    WorkerComputeType,
    grant_protected_query,
)

if TYPE_CHECKING:
    from aws_cdk import aws_s3 as s3

__all__ = [
    "AudienceGenerationJob",
    "AudienceGenerationJobBase",
    "IAudienceGenerationJob",
    "SeedAudience",
]


@dataclass(frozen=True)
class SeedAudience:
    """The seed audience a job generates a lookalike audience from: objects in S3, or the
    result of a protected query in a collaboration (its SQL or an analysis template).

    Use ``SeedAudience.from_bucket(bucket, key)``, ``SeedAudience.sql("SELECT ...")`` or
    ``SeedAudience.analysis_template(template, parameters={...})``.
    """

    bucket: Any = None
    key: str | None = None
    query_string: str | None = None
    analysis_template_arn: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_bucket(cls, bucket: s3.IBucket, key: str) -> SeedAudience:
        """The seed users in ``s3://<bucket>/<key>`` (an object, or a prefix ending in ``/``)."""
        return cls(bucket=bucket, key=key)

    @classmethod
    def sql(cls, query_string: str) -> SeedAudience:
        """A protected query's result (its SQL, up to 500,000 characters)."""
        return cls(query_string=query_string)

    @classmethod
    def analysis_template(
        cls, template: Any, parameters: Mapping[str, str] | None = None
    ) -> SeedAudience:
        """An analysis template's result (an ``aws_cleanrooms.CfnAnalysisTemplate`` or its
        ARN) with its parameters."""
        return cls(
            analysis_template_arn=_refs.template_arn(template),
            parameters={} if parameters is None else parameters,
        )


@runtime_checkable
class IAudienceGenerationJob(Protocol):
    """A Clean Rooms ML audience generation job, created in this app or imported."""

    @property
    def node(self) -> Node:
        """The construct tree node."""
        ...

    @property
    def audience_generation_job_arn(self) -> str:
        """The ARN of the audience generation job."""
        ...

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` (``cleanrooms-ml:...``) on this job."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant reading the job (``GetAudienceGenerationJob``)."""
        ...

    def grant_export(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant exporting the job's audience (``StartAudienceExportJob``)."""
        ...


class AudienceGenerationJobBase(Resource):
    """What every audience generation job, created or imported, offers (from its ARN)."""

    @property
    def audience_generation_job_arn(self) -> str:
        """The ARN of the audience generation job."""
        raise NotImplementedError

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` (``cleanrooms-ml:...``) on this job only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(actions),
            resource_arns=[self.audience_generation_job_arn],
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant ``cleanrooms-ml:GetAudienceGenerationJob`` on this job."""
        return self.grant(grantee, "cleanrooms-ml:GetAudienceGenerationJob")

    def grant_export(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant ``cleanrooms-ml:StartAudienceExportJob`` and ``ListAudienceExportJobs``
        on this job."""
        return self.grant(
            grantee, "cleanrooms-ml:StartAudienceExportJob", "cleanrooms-ml:ListAudienceExportJobs"
        )


class _ImportedAudienceGenerationJob(AudienceGenerationJobBase):
    def __init__(self, scope: Construct, construct_id: str, arn: str) -> None:
        super().__init__(scope, construct_id, environment_from_arn=arn)
        self._arn = arn

    @property
    def audience_generation_job_arn(self) -> str:
        return self._arn


@dataclass(frozen=True, kw_only=True)
class GenerationSpec:
    """The resolved props of an ``AudienceGenerationJob``."""

    configured_audience_model_arn: str
    seed_s3_uri: str | None
    query_string: str | None
    analysis_template_arn: str | None
    parameters: Mapping[str, str]
    worker_type: str | None
    worker_count: float | None
    spark_properties: Mapping[str, str]
    include_seed_in_output: bool | None
    collaboration_id: str | None
    description: str | None
    lifecycle: _lifecycle.Lifecycle


def validate(spec: GenerationSpec, skip: frozenset[str]) -> list[str]:
    """Every value rule of an ``AudienceGenerationJob`` (props in ``skip`` had a wrong type)."""

    def rules() -> Iterator[str]:
        yield from check_arn(
            "configured_audience_model",
            spec.configured_audience_model_arn,
            CONFIGURED_AUDIENCE_MODEL_ARN_PATTERN,
            "a configured audience model ARN",
            f"{ACCOUNT_ARN_SHAPE}configured-audience-model/<id>",
        )
        uri = spec.seed_s3_uri
        if uri is not None and not unresolved(uri) and len(uri) > S3_URI_MAX:
            yield f"seed_audience: the S3 location has {len(uri)} characters; allowed {S3_URI_MAX}"
        query = spec.query_string
        if query is not None and not unresolved(query) and not 1 <= len(query) <= QUERY_MAX:
            yield f"seed_audience: the query has {len(query)} characters; allowed 1-{QUERY_MAX}"
        template = spec.analysis_template_arn
        if (
            template is not None
            and not unresolved(template)
            and (len(template) > 200 or not ANALYSIS_TEMPLATE_ARN_PATTERN.fullmatch(template))
        ):
            yield (
                f"seed_audience: {show(template)} is not an analysis template ARN; allowed: "
                "arn:<partition>:cleanrooms:<region>:<account>:membership/<id>"
                "/analysistemplate/<id>"
            )
        yield from check_string_map(
            "seed_audience.parameters",
            spec.parameters,
            100,
            1000,
            PARAMETER_NAME_PATTERN,
            value_min=0,
        )
        sql = spec.query_string is not None or spec.analysis_template_arn is not None
        compute = {
            "worker_type": spec.worker_type,
            "worker_count": spec.worker_count,
            "spark_properties": spec.spark_properties or None,
        }
        for prop, value in compute.items():
            if value is not None and not sql:
                yield f"{prop}: is for a seed audience from SQL; a seed in S3 takes none"
        yield from check_whole_in_range(
            "worker_count", spec.worker_count, WORKER_COUNT_RANGE, "workers"
        )
        yield from check_string_map(
            "spark_properties",
            spec.spark_properties,
            200,
            500,
            None,
            max_entries=SPARK_PROPERTIES_MAX,
            value_min=0,
        )
        collaboration = spec.collaboration_id
        if sql and collaboration is None:
            yield (
                "collaboration_id: is required with a seed audience from SQL (its protected "
                "query runs in the collaboration); allowed: the collaboration's id (a UUID)"
            )
        if (
            collaboration is not None
            and not unresolved(collaboration)
            and not UUID_PATTERN.fullmatch(collaboration)
        ):
            yield (
                f"collaboration_id: {show(collaboration)} is not a collaboration id; "
                "allowed: a lowercase UUID"
            )
        yield from check_description("description", spec.description)

    found = unskipped(rules(), skip)
    found.extend(
        _lifecycle.failures(
            spec.lifecycle,
            name_prop="audience_generation_job_name",
            max_timeout=contract.SHORT_PATH_MAX_SECONDS,
        )
    )
    return found


def render(spec: GenerationSpec, role_arn: str, prefix: str | None) -> dict[str, Any]:
    """The ``Custom::CleanRoomsMLAudienceGenerationJob`` properties (defaults left out)."""
    props: dict[str, Any] = {
        contract.CONFIGURED_AUDIENCE_MODEL_ARN: spec.configured_audience_model_arn,
        contract.ROLE_ARN: role_arn,
        **_lifecycle.render(spec.lifecycle, prefix),
    }
    optional: dict[str, Any] = {
        contract.SEED_S3_URI: spec.seed_s3_uri,
        contract.QUERY_STRING: spec.query_string,
        contract.ANALYSIS_TEMPLATE_ARN: spec.analysis_template_arn,
        contract.PARAMETERS: dict(spec.parameters) or None,
        contract.WORKER_TYPE: spec.worker_type,
        contract.WORKER_COUNT: _number(spec.worker_count),
        contract.SPARK_PROPERTIES: dict(spec.spark_properties) or None,
        contract.INCLUDE_SEED_IN_OUTPUT: spec.include_seed_in_output,
        contract.COLLABORATION_ID: spec.collaboration_id,
        contract.DESCRIPTION: spec.description,
    }
    props.update({k: v for k, v in optional.items() if v is not None})
    return props


def _number(value: float | None) -> Any:
    if value is None:
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def configured_audience_model_arn(reader: Reader, prop: str, value: object) -> str | None:
    """An ``IConfiguredAudienceModel``'s ARN."""
    if value is None:
        reader.fail(prop, "is required; allowed: an IConfiguredAudienceModel")
        return None
    if isinstance(value, ConfiguredAudienceModelBase) or (
        not hasattr(type(value), "__jsii_type__") and isinstance(value, IConfiguredAudienceModel)
    ):
        return value.configured_audience_model_arn
    reader.fail(
        prop,
        f"{received(value)} is not an IConfiguredAudienceModel; allowed: a "
        "ConfiguredAudienceModel or "
        "ConfiguredAudienceModel.from_configured_audience_model_arn(...)",
    )
    return None


@jsii.implements(ITaggable)
class AudienceGenerationJob(AudienceGenerationJobBase):
    """A Clean Rooms ML audience generation job (``Custom::CleanRoomsMLAudienceGenerationJob``):
    a lookalike audience generated from a seed audience with a configured audience model
    (``StartAudienceGenerationJob``).

    It belongs to the account and region. The deployment waits (by default) until the
    job is ACTIVE, the audience generated, and fails with the service's reason if it
    fails. Every parameter is immutable: a change starts a new job (a replacement, which
    ``replacement_protection`` can refuse). Tags are updated in place. ``DESTROY``
    deletes the job and its data (``DeleteAudienceGenerationJob``), also while it runs;
    ``RETAIN`` (the default) keeps it.

    :param configured_audience_model: the configured audience model to generate with.
    :param seed_audience: the seed: ``SeedAudience.from_bucket(bucket, key)``,
        ``SeedAudience.sql(...)`` or ``SeedAudience.analysis_template(...)``.
    :param role: the role Clean Rooms ML reads the seed as. Default: a role made for it,
        trusted by ``cleanrooms-ml.amazonaws.com`` for this account: ``s3:GetObject`` on
        the seed's objects and ``s3:ListBucket`` on its bucket (and the bucket key's
        ``Decrypt``) for a seed in S3; for a seed from SQL the protected query permissions
        AWS documents for an ML input channel's query role (``StartProtectedQuery``,
        ``GetSchema``, ``GetCollaborationAnalysisTemplate``, ``Get``/
        ``UpdateProtectedQuery``), scoped to this account's memberships in the region,
        their templates and tables, and the job's collaboration (never ``*``).
    :param collaboration_id: the collaboration (a UUID) the job belongs to; required with
        a seed from SQL, whose protected query runs there. Default: not sent.
    :param include_seed_in_output: whether the seed is part of the generated audience.
        Default: not sent (the service's).
    :param worker_type: the size of a SQL seed's query workers. Default: not sent.
    :param worker_count: their number, 2-1024. Default: not sent.
    :param spark_properties: their Spark properties, at most 50. Default: none.
    :param audience_generation_job_name: 1-63 characters. Default: generated.
    :param description: up to 255 characters. Default: none.
    :param tags: at most 49; ``Tags.of(job)`` reaches it too.
    :param removal_policy: ``RETAIN`` (default) or ``DESTROY``.
    :param wait_for_completion: wait until the job is ACTIVE. Default: True.
    :param completion_timeout: how long to wait, whole seconds up to an hour. Default:
        one hour. A longer job: ``wait_for_completion=False``.
    :param replacement_protection: an update that would replace it (a new job) fails
        before anything starts, naming what changed; lift it for one deploy with
        ``cdk deploy -c cdk-cleanrooms-ml:allowReplacement=<construct path>``. A rollback
        is never refused. Default: off.

    :raises ValidationError: once, listing every invalid prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        configured_audience_model: IConfiguredAudienceModel,
        seed_audience: SeedAudience,
        role: iam.IRole | None = None,
        collaboration_id: str | None = None,
        include_seed_in_output: bool | None = None,
        worker_type: WorkerComputeType | None = None,
        worker_count: int | None = None,
        spark_properties: Mapping[str, str] | None = None,
        audience_generation_job_name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
        wait_for_completion: bool | None = None,
        completion_timeout: Duration | None = None,
        replacement_protection: bool | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        reader = Reader()
        configured = configured_audience_model_arn(
            reader, "configured_audience_model", configured_audience_model
        )
        seed = reader.instance(
            "seed_audience",
            seed_audience,
            SeedAudience,
            required=True,
            allowed="SeedAudience.from_bucket(...), .sql(...) or .analysis_template(...)",
        )
        bucket: s3.IBucket | None = None
        key = query = template = None
        parameters: dict[str, str] = {}
        if seed is not None:
            given = [
                seed.bucket is not None or seed.key is not None,
                seed.query_string is not None,
                seed.analysis_template_arn is not None,
            ]
            if sum(given) != 1:
                reader.fail(
                    "seed_audience",
                    "give exactly one of a bucket and key, a query string or an analysis template",
                )
            if seed.bucket is not None or seed.key is not None:
                bucket = _refs.bucket(reader, "seed_audience.bucket", seed.bucket)
                key = reader.text("seed_audience.key", seed.key, required=True)
                if seed.bucket is None:
                    reader.fail("seed_audience.bucket", "is required; allowed: an aws_s3.IBucket")
            query = reader.text("seed_audience.query_string", seed.query_string)
            template = reader.text(
                "seed_audience.analysis_template",
                seed.analysis_template_arn,
                allowed="an aws_cleanrooms.CfnAnalysisTemplate or its ARN",
            )
            parameters = reader.strings("seed_audience.parameters", seed.parameters)
            if parameters and seed.query_string is not None:
                reader.fail(
                    "seed_audience.parameters",
                    "parameters belong to an analysis template; a SQL query takes none",
                )
        given_role = _refs.role(reader, "role", role)
        worker = reader.choice("worker_type", worker_type, WorkerComputeType)
        lifecycle = _lifecycle.read(
            reader,
            name_prop="audience_generation_job_name",
            name=audience_generation_job_name,
            tags=tags,
            removal_policy=removal_policy,
            wait_for_completion=wait_for_completion,
            completion_timeout=completion_timeout,
            replacement_protection=replacement_protection,
        )
        include = (
            None
            if include_seed_in_output is None
            else reader.flag("include_seed_in_output", include_seed_in_output, default=False)
        )
        spec = GenerationSpec(
            configured_audience_model_arn=configured or "",
            seed_s3_uri=(
                f"s3://{bucket.bucket_name}/{key}"
                if bucket is not None and key is not None
                else None
            ),
            query_string=query,
            analysis_template_arn=template,
            parameters=parameters,
            worker_type=worker.value if worker else None,
            worker_count=reader.whole("worker_count", worker_count, example="4"),
            spark_properties=reader.strings("spark_properties", spark_properties),
            include_seed_in_output=include,
            collaboration_id=reader.text("collaboration_id", collaboration_id),
            description=reader.text("description", description),
            lifecycle=lifecycle,
        )
        failures = reader.failures + validate(spec, frozenset(reader.failed))
        if failures:
            raise ValidationError("AudienceGenerationJob", self.node.path, failures)

        provider = CleanRoomsMLProvider.of(scope)
        self.role = given_role or (
            _s3_seed_role(self, bucket, key or "")
            if bucket is not None
            else _query_seed_role(self, spec.collaboration_id, spec.analysis_template_arn)
        )
        provider.grant_audience_generation_job(
            configured_audience_model_arn=spec.configured_audience_model_arn,
            role=self.role,
            collaboration_id=spec.collaboration_id,
        )
        self._tags = provider.resource_tags(
            self, contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE, lifecycle.tags
        )
        properties = render(
            spec,
            self.role.role_arn,
            None
            if lifecycle.name is not None
            else name_prefix(self, scope=scope, construct_id=construct_id, stack=provider.stack),
        )
        provider.protect(self, properties, lifecycle.replacement_protection)
        too_large = self._tags.fit(properties)
        if too_large:
            raise ValidationError("AudienceGenerationJob", self.node.path, too_large)
        if self._tags.rendered is not None:
            properties[contract.TAGS] = self._tags.rendered
        self._resource = ManagedResource(
            self,
            "Resource",
            resource_type=contract.AUDIENCE_GENERATION_JOB_RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            removal_policy=lifecycle.removal_policy,
        )
        self._tags.attach(self._resource)
        if isinstance(self.role, iam.Role):
            # the job reads the seed as the role at once: not before its policy exists
            self._resource.node.add_dependency(self.role)

    @classmethod
    def from_audience_generation_job_arn(
        cls, scope: Construct, construct_id: str, audience_generation_job_arn: str
    ) -> IAudienceGenerationJob:
        """An existing audience generation job, by its ARN.

        :raises ValidationError: when it is not one.
        """
        reader = Reader()
        arn = reader.text("audience_generation_job_arn", audience_generation_job_arn, required=True)
        failures = reader.failures or list(
            check_arn(
                "audience_generation_job_arn",
                arn,
                AUDIENCE_GENERATION_JOB_ARN_PATTERN,
                "an audience generation job ARN",
                f"{ACCOUNT_ARN_SHAPE}audience-generation-job/<id>",
            )
        )
        if failures:
            path = f"{scope.node.path}/{construct_id}"
            raise ValidationError("AudienceGenerationJob", path, failures)
        return _ImportedAudienceGenerationJob(scope, construct_id, str(arn))

    @property
    def tags(self) -> TagManager:
        """The job's tags (``ITaggable``); ``Tags.of(job).add()`` lands here."""
        return self._tags.manager

    @property
    def resource(self) -> ManagedResource:
        """The underlying custom resource (construct id ``"Resource"``)."""
        return self._resource

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """``RETAIN`` or ``DESTROY``: CloudFormation's policy and the handler's at once."""
        self._resource.apply_removal_policy(policy)

    @property
    def audience_generation_job_arn(self) -> str:
        """The job's ARN (``Fn::GetAtt AudienceGenerationJobArn``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_AUDIENCE_GENERATION_JOB_ARN))

    @property
    def audience_generation_job_name(self) -> str:
        """The job's name, given or generated (``Fn::GetAtt Name``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_NAME))

    @property
    def status(self) -> str:
        """The job's status when it was last created or updated."""
        return Token.as_string(self._resource.get_att(contract.ATTR_STATUS))


def _trusted(owner: Construct, construct_id: str, description: str) -> iam.Role:
    stack = Stack.of(owner)
    return iam.Role(
        owner,
        construct_id,
        assumed_by=iam.ServicePrincipal(
            "cleanrooms-ml.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ),
        description=description,
    )


def _s3_seed_role(owner: Construct, bucket: s3.IBucket, key: str) -> iam.IRole:
    """The role Clean Rooms ML reads a seed in S3 as: its objects and their bucket."""
    stack = Stack.of(owner)
    role = _trusted(owner, "SeedRole", "Clean Rooms ML reads the seed audience as this role")
    objects = bucket.arn_for_objects(f"{key}*")
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects]))
    role.add_to_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
    )
    if bucket.encryption_key is not None:
        role.add_to_policy(
            iam.PolicyStatement(actions=["kms:Decrypt"], resources=[bucket.encryption_key.key_arn])
        )
    acknowledge(
        role,
        [
            (
                f"IAM5[Resource::{nag_text(stack.resolve(objects))}]",
                "the seed audience is the object at the key, or every object under it",
            )
        ],
        [policy_resource(role)],
    )
    return role


def _query_seed_role(
    owner: Construct, collaboration_id: str | None, template_arn: str | None
) -> iam.IRole:
    """The role Clean Rooms ML runs a SQL seed's protected query as: the permissions AWS
    documents for an ML input channel's query role, scoped as the channel's are.

    AWS's sample allows ``StartProtectedQuery``, ``GetSchema`` and
    ``GetCollaborationAnalysisTemplate`` on ``*``; the Service Authorization Reference
    gives them resources (a membership and its analysis templates, configured table
    associations and ID mapping tables; a collaboration). The job names its
    collaboration, not this account's membership in it: the memberships of this account
    in the region, and the job's collaboration (its creator's account is not known).
    """
    stack = Stack.of(owner)
    role = _trusted(
        owner, "SeedRole", "Clean Rooms ML runs the seed audience's protected query as this role"
    )

    granted = grant_protected_query(role, "*", collaboration_id or "*", template_arn, "Seeds")
    memberships, collaboration = granted.membership, granted.collaboration
    templates, tables, mapping_tables = granted.templates, granted.tables, granted.mapping_tables

    def spelled(arn: str) -> str:
        return f"IAM5[Resource::{nag_text(stack.resolve(arn))}]"

    findings = [
        (
            spelled(memberships),
            "the query runs in this account's membership of the job's collaboration, "
            "which the job does not name (it names the collaboration)",
        ),
        *(
            (
                spelled(arn),
                f"the {what} of that membership that the seed's query names (the Service "
                "Authorization Reference's resource types for StartProtectedQuery, GetSchema "
                "and GetCollaborationAnalysisTemplate)",
            )
            for arn, what in (
                (templates, "analysis templates"),
                (tables, "configured table associations"),
                (mapping_tables, "ID mapping tables"),
            )
        ),
        (
            spelled(collaboration),
            "the job's collaboration, created by an account the construct does not know",
        ),
    ]
    acknowledge(role, findings, [policy_resource(role)])
    return role
