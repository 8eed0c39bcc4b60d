"""The ``MLInputChannel`` construct: a protected query's result, for training and inference."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import jsii
from aws_cdk import (
    ArnFormat,
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
    ASSOCIATION_ARN_PATTERN,
    ML_INPUT_CHANNEL_ARN_PATTERN,
    check_account,
    check_arn,
    check_description,
    check_kms_key,
    check_membership,
    check_string_map,
    check_whole_in_range,
    unskipped,
)
from .errors import ValidationError
from .ml_configuration import IMLConfiguration

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms  # imported where a key is given (see _refs.key)

__all__ = [
    "IMLInputChannel",
    "MLInputChannel",
    "MLInputChannelBase",
    "MLInputChannelDataSource",
    "ResultFormat",
    "WorkerComputeType",
]

ANALYSIS_TEMPLATE_ARN_PATTERN: Final = re.compile(
    r"arn:aws[-a-z]*:cleanrooms:[\w]{2}-[\w]{4,9}-[\d]:[\d]{12}:membership/[\d\w-]+"
    r"/analysistemplate/[\d\w-]+"
)
PARAMETER_NAME_PATTERN: Final = re.compile(r"[0-9a-zA-Z_]+")
QUERY_MAX: Final = 500_000
WORKER_COUNT_RANGE: Final = (2, 1024)
RETENTION_DAYS_RANGE: Final = (1, 30)
SPARK_PROPERTIES_MAX: Final = 50
_SHAPE: Final = "arn:<partition>:cleanrooms-ml:<region>:<account>:membership/<membership-uuid>/"


class WorkerComputeType(enum.Enum):
    """The size of each worker that runs the channel's protected query."""

    CR_1X = "CR.1X"
    CR_4X = "CR.4X"
    CR_8X = "CR.8X"


class ResultFormat(enum.Enum):
    """The format of the protected query's result."""

    CSV = "CSV"
    PARQUET = "PARQUET"


@dataclass(frozen=True)
class MLInputChannelDataSource:
    """The protected query that fills the channel: its SQL, or an analysis template.

    Use ``MLInputChannelDataSource.sql("SELECT ...")`` or
    ``MLInputChannelDataSource.analysis_template(template, parameters={...})``.
    """

    query_string: str | None = None
    analysis_template_arn: str | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def sql(cls, query_string: str) -> MLInputChannelDataSource:
        """A SQL query (up to 500,000 characters) run as a protected query."""
        return cls(query_string=query_string)

    @classmethod
    def analysis_template(
        cls, template: Any, parameters: Mapping[str, str] | None = None
    ) -> MLInputChannelDataSource:
        """An analysis template (an ``aws_cleanrooms.CfnAnalysisTemplate`` or its ARN) and
        its parameters (names ``[0-9a-zA-Z_]+``, 1-100 characters; values up to 1,000)."""
        return cls(
            analysis_template_arn=_refs.template_arn(template),
            parameters={} if parameters is None else parameters,
        )


@runtime_checkable
class IMLInputChannel(Protocol):
    """A Clean Rooms ML input channel, created in this app or imported."""

    @property
    def node(self) -> Node:
        """The construct tree node."""
        ...

    @property
    def ml_input_channel_arn(self) -> str:
        """The ARN of the ML input channel."""
        ...

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` (``cleanrooms-ml:...``) on this channel."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant reading the channel (``GetMLInputChannel``)."""
        ...

    def grant_start_inference(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant starting inference jobs on the channel's data."""
        ...


class MLInputChannelBase(Resource):
    """What every ML input channel, created or imported, offers (from its ARN alone)."""

    @property
    def ml_input_channel_arn(self) -> str:
        """The ARN of the ML input channel."""
        raise NotImplementedError

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` (``cleanrooms-ml:...``) on this channel only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.ml_input_channel_arn]
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant ``cleanrooms-ml:GetMLInputChannel`` on this channel."""
        return self.grant(grantee, "cleanrooms-ml:GetMLInputChannel")

    def grant_start_inference(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant ``cleanrooms-ml:StartTrainedModelInferenceJob`` on this channel (a job
        also needs it on its trained model: ``ITrainedModel.grant_start_inference``)."""
        return self.grant(grantee, "cleanrooms-ml:StartTrainedModelInferenceJob")


class _ImportedMLInputChannel(MLInputChannelBase):
    def __init__(self, scope: Construct, construct_id: str, arn: str) -> None:
        super().__init__(scope, construct_id, environment_from_arn=arn)
        self._arn = arn

    @property
    def ml_input_channel_arn(self) -> str:
        return self._arn


@dataclass(frozen=True, kw_only=True)
class ChannelSpec:
    """The resolved, unit-converted props of an ``MLInputChannel``."""

    membership_identifier: str
    association_arn: str
    query_string: str | None
    analysis_template_arn: str | None
    parameters: Mapping[str, str]
    role_arn: str
    worker_type: str | None
    worker_count: float | None
    spark_properties: Mapping[str, str]
    result_format: str | None
    retention_days: float | None
    description: str | None
    kms_key_arn: str | None
    compute_payer_account_id: str | None
    synthetic_data_payer_account_id: str | None
    lifecycle: _lifecycle.Lifecycle


def validate(spec: ChannelSpec, skip: frozenset[str]) -> list[str]:
    """Every value rule of an ``MLInputChannel`` (props in ``skip`` had a wrong type)."""

    def rules() -> Iterator[str]:
        yield from check_membership("membership_identifier", spec.membership_identifier)
        yield from check_arn(
            "configured_model_algorithm_association",
            spec.association_arn,
            ASSOCIATION_ARN_PATTERN,
            "a configured model algorithm association ARN",
            f"{_SHAPE}configured-model-algorithm-association/<id>",
        )
        query = spec.query_string
        if query is not None and not unresolved(query) and not 1 <= len(query) <= QUERY_MAX:
            yield f"data_source: the query has {len(query)} characters; allowed 1-{QUERY_MAX}"
        template = spec.analysis_template_arn
        if (
            template is not None
            and not unresolved(template)
            and (len(template) > 200 or not ANALYSIS_TEMPLATE_ARN_PATTERN.fullmatch(template))
        ):
            yield (
                f"data_source: {show(template)} is not an analysis template ARN; allowed: "
                "arn:<partition>:cleanrooms:<region>:<account>:membership/<id>"
                "/analysistemplate/<id>"
            )
        yield from check_string_map(
            "data_source.parameters",
            spec.parameters,
            100,
            1000,
            PARAMETER_NAME_PATTERN,
            value_min=0,
        )
        yield from check_whole_in_range(
            "worker_count", spec.worker_count, WORKER_COUNT_RANGE, "workers"
        )
        yield from check_string_map(
            "spark_properties",
            spec.spark_properties,
            200,  # the service model's SparkProperties: keys 1-200, values 0-500
            500,
            None,
            max_entries=SPARK_PROPERTIES_MAX,
            value_min=0,
        )
        yield from check_whole_in_range(
            "retention", spec.retention_days, RETENTION_DAYS_RANGE, "days"
        )
        yield from check_description("description", spec.description)
        yield from check_kms_key("encryption_key", spec.kms_key_arn)
        yield from check_account("compute_payer_account_id", spec.compute_payer_account_id)
        yield from check_account(
            "synthetic_data_payer_account_id", spec.synthetic_data_payer_account_id
        )

    found = unskipped(rules(), skip)
    found.extend(
        _lifecycle.failures(
            spec.lifecycle,
            name_prop="ml_input_channel_name",
            max_timeout=contract.SHORT_PATH_MAX_SECONDS,
        )
    )
    return found


def render(spec: ChannelSpec, prefix: str | None) -> dict[str, Any]:
    """The ``Custom::CleanRoomsMLInputChannel`` properties (defaults left out)."""
    props: dict[str, Any] = {
        contract.MEMBERSHIP_IDENTIFIER: spec.membership_identifier,
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: spec.association_arn,
        contract.ROLE_ARN: spec.role_arn,
        contract.RETENTION_IN_DAYS: _number(spec.retention_days),
        **_lifecycle.render(spec.lifecycle, prefix),
    }
    optional = {
        contract.QUERY_STRING: spec.query_string,
        contract.ANALYSIS_TEMPLATE_ARN: spec.analysis_template_arn,
        contract.PARAMETERS: dict(spec.parameters) or None,
        contract.WORKER_TYPE: spec.worker_type,
        contract.WORKER_COUNT: _number(spec.worker_count),
        contract.SPARK_PROPERTIES: dict(spec.spark_properties) or None,
        contract.RESULT_FORMAT: spec.result_format,
        contract.DESCRIPTION: spec.description,
        contract.KMS_KEY_ARN: spec.kms_key_arn,
        contract.COMPUTE_PAYER_ACCOUNT_ID: spec.compute_payer_account_id,
        contract.SYNTHETIC_DATA_PAYER_ACCOUNT_ID: spec.synthetic_data_payer_account_id,
    }
    props.update({k: v for k, v in optional.items() if v is not None})
    return props


def _number(value: float | None) -> Any:
    if value is None:
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


@jsii.implements(ITaggable)
class MLInputChannel(MLInputChannelBase):
    """An AWS Clean Rooms ML input channel (``Custom::CleanRoomsMLInputChannel``).

    Creating it runs a protected query (it takes minutes); the deployment waits
    until the channel is ACTIVE and fails if the query fails. The channel keeps the
    query's result for ``retention`` (1 to 30 days): after that its data expires
    and a training or inference that reads it fails, so keep the channel's life
    and its consumers' together. Every parameter is immutable: a change creates a
    new channel (the query runs again). Tags are updated in place. ``DESTROY``
    deletes the channel's data (``DeleteMLInputChannelData``); ``RETAIN`` (the
    default) keeps it.

    :param membership_identifier: the membership (UUID) that runs the query.
    :param configured_model_algorithm_association: the association the channel is
        for: a ``CfnConfiguredModelAlgorithmAssociation`` (any
        ``IConfiguredModelAlgorithmAssociationRef``) or its ARN.
    :param data_source: the protected query: ``MLInputChannelDataSource.sql(...)``
        or ``MLInputChannelDataSource.analysis_template(...)``.
    :param retention: how long the channel keeps its data: whole days, 1-30.
    :param role: the role Clean Rooms ML assumes to run the query. Default: a role
        created with the permissions AWS documents for it (``StartProtectedQuery``,
        ``GetSchema``, ``GetCollaborationAnalysisTemplate``; ``Get/UpdateProtectedQuery``
        on the membership), trusted by ``cleanrooms-ml.amazonaws.com`` only.
    :param worker_type: the size of the query's workers. Default: not sent.
    :param worker_count: the number of workers, 2-1024. Default: not sent.
    :param spark_properties: Spark properties for the query's workers, at most 50.
        Default: none.
    :param result_format: the result's format. Default: not sent (the service
        uses CSV).
    :param ml_input_channel_name: 1-63 characters. Default: a generated name,
        unique in the stack; a replacement gets a new one.
    :param description: up to 255 characters. Default: none.
    :param encryption_key: KMS key for the channel's data; the handler gets
        permission to use it. Default: AWS-owned encryption.
    :param compute_payer_account_id: the account (12 digits) that pays for the
        query's compute. Default: not sent.
    :param synthetic_data_payer_account_id: the account (12 digits) that pays for
        synthetic data generation. Default: not sent.
    :param tags: at most 49, keys 1-128 characters not starting with ``aws:``,
        values up to 256; ``Tags.of(channel)`` reaches the channel too.
    :param removal_policy: ``RETAIN`` (default) or ``DESTROY``.
    :param wait_for_completion: wait until the channel is ACTIVE. Default: True.
    :param completion_timeout: how long to wait, whole seconds up to an hour.
        Default: one hour.
    :param ml_configuration: the membership's ``MLConfiguration`` (where logs and
        metrics go): the channel is deployed after it. Default: none.
    :param replacement_protection: a retrain guard, like a database's deletion
        protection: an update that would replace it (a new protected query: a changed create
        parameter, name or membership) fails before anything starts, naming what
        changed; the handler enforces it, whatever tool deploys. Allow it for one
        deploy with ``cdk deploy -c cdk-cleanrooms-ml:allowReplacement=<construct path>``
        (or ``*``), or set it to ``False``. A rollback is never refused. Default: off.

    :raises ValidationError: once, listing every invalid prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        membership_identifier: str,
        configured_model_algorithm_association: Any,
        data_source: MLInputChannelDataSource,
        retention: Duration,
        role: iam.IRole | None = None,
        worker_type: WorkerComputeType | None = None,
        worker_count: int | None = None,
        spark_properties: Mapping[str, str] | None = None,
        result_format: ResultFormat | None = None,
        ml_input_channel_name: str | None = None,
        description: str | None = None,
        encryption_key: kms.IKey | None = None,
        compute_payer_account_id: str | None = None,
        synthetic_data_payer_account_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
        wait_for_completion: bool | None = None,
        completion_timeout: Duration | None = None,
        ml_configuration: IMLConfiguration | None = None,
        replacement_protection: bool | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        reader = Reader()
        configuration = _refs.configuration(reader, "ml_configuration", ml_configuration)
        membership = reader.text(
            "membership_identifier", membership_identifier, required=True, allowed="a UUID"
        )
        association = _refs.association_arn(
            reader,
            "configured_model_algorithm_association",
            configured_model_algorithm_association,
            "configured_model_algorithm_association",
            None,
            required=True,
        )
        source = reader.instance(
            "data_source",
            data_source,
            MLInputChannelDataSource,
            required=True,
            allowed="MLInputChannelDataSource.sql(...) or .analysis_template(...)",
        )
        query = template = None
        parameters: dict[str, str] = {}
        if source is not None:
            if (source.query_string is None) == (source.analysis_template_arn is None):
                reader.fail(
                    "data_source", "give exactly one of a query string or an analysis template"
                )
            query = reader.text("data_source.query_string", source.query_string)
            template = reader.text(
                "data_source.analysis_template",
                source.analysis_template_arn,
                allowed="an aws_cleanrooms.CfnAnalysisTemplate or its ARN",
            )
            parameters = reader.strings("data_source.parameters", source.parameters)
            if parameters and source.query_string is not None:
                reader.fail(
                    "data_source.parameters",
                    "parameters belong to an analysis template; a SQL query takes none "
                    "(use MLInputChannelDataSource.analysis_template(...))",
                )
        retention_seconds = reader.seconds("retention", retention, example="Duration.days(7)")
        if retention is None:
            reader.fail("retention", "is required; allowed: a Duration of 1-30 whole days")
        given_role = _refs.role(reader, "role", role)
        key = _refs.key(reader, "encryption_key", encryption_key)
        worker = reader.choice("worker_type", worker_type, WorkerComputeType)
        result = reader.choice("result_format", result_format, ResultFormat)
        lifecycle = _lifecycle.read(
            reader,
            name_prop="ml_input_channel_name",
            name=ml_input_channel_name,
            tags=tags,
            removal_policy=removal_policy,
            wait_for_completion=wait_for_completion,
            completion_timeout=completion_timeout,
            replacement_protection=replacement_protection,
        )
        spec = ChannelSpec(
            membership_identifier=membership or "",
            association_arn=association or "",
            query_string=query,
            analysis_template_arn=template,
            parameters=parameters,
            role_arn="",
            worker_type=worker.value if worker else None,
            worker_count=reader.whole("worker_count", worker_count, example="2"),
            spark_properties=reader.strings("spark_properties", spark_properties),
            result_format=result.value if result else None,
            retention_days=None if retention_seconds is None else retention_seconds / 86400,
            description=reader.text("description", description),
            kms_key_arn=key.key_arn if key is not None else None,
            compute_payer_account_id=reader.text(
                "compute_payer_account_id", compute_payer_account_id
            ),
            synthetic_data_payer_account_id=reader.text(
                "synthetic_data_payer_account_id", synthetic_data_payer_account_id
            ),
            lifecycle=lifecycle,
        )
        failures = reader.failures + validate(spec, frozenset(reader.failed))
        if failures:
            raise ValidationError("MLInputChannel", self.node.path, failures)

        provider = CleanRoomsMLProvider.of(scope)
        self.role = given_role or _query_role(
            self, spec.membership_identifier, spec.analysis_template_arn
        )
        provider.grant_channel(
            membership_identifier=spec.membership_identifier,
            association_arn=spec.association_arn,
            role=self.role,
            encryption_key=key,
        )
        self._tags = provider.resource_tags(
            self, contract.ML_INPUT_CHANNEL_RESOURCE_TYPE, lifecycle.tags
        )
        properties = render(
            dataclasses.replace(spec, role_arn=self.role.role_arn),
            None
            if lifecycle.name is not None
            else name_prefix(self, scope=scope, construct_id=construct_id, stack=provider.stack),
        )
        provider.protect(self, properties, lifecycle.replacement_protection)
        too_large = self._tags.fit(properties)
        if too_large:
            raise ValidationError("MLInputChannel", self.node.path, too_large)
        if self._tags.rendered is not None:
            properties[contract.TAGS] = self._tags.rendered
        self._resource = ManagedResource(
            self,
            "Resource",
            resource_type=contract.ML_INPUT_CHANNEL_RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            removal_policy=lifecycle.removal_policy,
        )
        self._tags.attach(self._resource)
        if configuration is not None:
            self._resource.node.add_dependency(configuration)
        if isinstance(self.role, iam.Role):
            # the query runs as the role as soon as the channel is created: not before
            # the role's policy exists (a reference to the role alone does not wait for it)
            self._resource.node.add_dependency(self.role)

    @classmethod
    def from_ml_input_channel_arn(
        cls, scope: Construct, construct_id: str, ml_input_channel_arn: str
    ) -> IMLInputChannel:
        """Import an existing ML input channel by its ARN.

        :raises ValidationError: when ``ml_input_channel_arn`` is not one.
        """
        failures = list(
            check_arn(
                "ml_input_channel_arn",
                _imported_arn(ml_input_channel_arn),
                ML_INPUT_CHANNEL_ARN_PATTERN,
                "an ML input channel ARN",
                f"{_SHAPE}ml-input-channel/<id>",
            )
        )
        if not isinstance(ml_input_channel_arn, str):
            failures = [
                f"ml_input_channel_arn: {received(ml_input_channel_arn)} is not a string; "
                "allowed: an ML input channel ARN"
            ]
        if failures:
            raise ValidationError("MLInputChannel", f"{scope.node.path}/{construct_id}", failures)
        return _ImportedMLInputChannel(scope, construct_id, ml_input_channel_arn)

    @property
    def tags(self) -> TagManager:
        """The channel's tags (``ITaggable``); ``Tags.of(channel).add()`` lands here."""
        return self._tags.manager

    @property
    def resource(self) -> ManagedResource:
        """The underlying custom resource (construct id ``"Resource"``)."""
        return self._resource

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """``RETAIN`` or ``DESTROY``: CloudFormation's and the handler's policy at once."""
        self._resource.apply_removal_policy(policy)

    @property
    def ml_input_channel_arn(self) -> str:
        """The channel's ARN (``Fn::GetAtt MlInputChannelArn``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_ML_INPUT_CHANNEL_ARN))

    @property
    def ml_input_channel_name(self) -> str:
        """The channel's name, given or generated (``Fn::GetAtt Name``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_NAME))

    @property
    def status(self) -> str:
        """The channel's status when it was last created or updated."""
        return Token.as_string(self._resource.get_att(contract.ATTR_STATUS))


def _imported_arn(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ProtectedQueryGrants:
    """The ARNs ``grant_protected_query`` granted on (for acknowledging their wildcards)."""

    membership: str
    templates: str
    tables: str
    mapping_tables: str
    collaboration: str


def grant_protected_query(
    role: iam.Role,
    membership: str,
    collaboration: str,
    template_arn: str | None,
    subject: str,
) -> ProtectedQueryGrants:
    """What Clean Rooms ML needs to run a protected query as ``role`` (an ML input
    channel's, a SQL seed's), on the resources the Service Authorization Reference gives
    each action: ``StartProtectedQuery`` on the membership (an id, or ``*``: this
    account's in the region) and its analysis templates, configured table associations
    and ID mapping tables (and ``template_arn``, if named); ``GetSchema`` and
    ``GetCollaborationAnalysisTemplate`` on the collaboration (an id or ``*``, of any
    creator account) and those templates and tables; ``Get``/``UpdateProtectedQuery`` on
    the membership. ``subject`` names the statements (``StartThe<subject>Query``)."""
    stack = Stack.of(role)

    def of_membership(rest: str = "") -> str:
        return stack.format_arn(
            service="cleanrooms",
            resource="membership",
            resource_name=f"{membership}{rest}",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    granted = ProtectedQueryGrants(
        membership=of_membership(),
        templates=of_membership("/analysistemplate/*"),
        tables=of_membership("/configuredtableassociation/*"),
        mapping_tables=of_membership("/idmappingtable/*"),
        collaboration=stack.format_arn(
            service="cleanrooms",
            account="*",
            resource="collaboration",
            resource_name=collaboration,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        ),
    )
    named_template = [template_arn] if template_arn is not None else []
    role.add_to_policy(
        iam.PolicyStatement(
            sid=f"StartThe{subject}Query",
            actions=["cleanrooms:StartProtectedQuery"],
            resources=[
                granted.membership,
                granted.templates,
                granted.tables,
                granted.mapping_tables,
                *named_template,
            ],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ReadTheQuerysSchemasAndTemplate",
            actions=["cleanrooms:GetSchema", "cleanrooms:GetCollaborationAnalysisTemplate"],
            resources=[granted.collaboration, granted.templates, granted.tables, *named_template],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid=f"FollowThe{subject}Query",
            actions=["cleanrooms:GetProtectedQuery", "cleanrooms:UpdateProtectedQuery"],
            resources=[granted.membership],
        )
    )
    return granted


def _query_role(
    owner: Construct, membership_identifier: str, template_arn: str | None
) -> iam.IRole:
    """The role AWS documents for running an ML input channel's protected query, scoped
    to the channel's membership.

    AWS's policy (Clean Rooms User Guide, "Set up service roles for AWS Clean Rooms ML",
    "Create a service role to query a dataset") allows ``StartProtectedQuery``,
    ``GetSchema`` and ``GetCollaborationAnalysisTemplate`` on ``*``. The Service
    Authorization Reference gives them resources: ``StartProtectedQuery`` a membership
    (and its analysis templates, configured table associations and ID mapping tables),
    ``GetSchema`` a collaboration or a configured table association,
    ``GetCollaborationAnalysisTemplate`` a collaboration or an analysis template. They
    are granted on this membership's, on the analysis template the channel names, and on
    the collaborations of the region: the construct knows the membership, not its
    collaboration, whose ARN carries the id and the account of the member that created
    it (``arn:<partition>:cleanrooms:<region>:<creator account>:collaboration/<id>``).
    """
    stack = Stack.of(owner)

    def membership(service: str, rest: str = "") -> str:
        return stack.format_arn(
            service=service,
            resource="membership",
            resource_name=f"{membership_identifier}{rest}",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    membership_arn = membership("cleanrooms")
    role = iam.Role(
        owner,
        "QueryRole",
        # the confused-deputy guard AWS documents for the ML configuration's role, the
        # same service acting for the same membership: this account, this membership
        # (AWS's own policy for this role has none). The membership's Clean Rooms ML
        # resources are accepted as the source too: which ARN the service names when it
        # runs a channel's query is not documented (ASSUMPTIONS I1)
        assumed_by=iam.ServicePrincipal(
            "cleanrooms-ml.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": [membership_arn, membership("cleanrooms-ml", "/*")]},
            },
        ),
        description="Clean Rooms ML runs the ML input channel's protected query as this role",
    )
    granted = grant_protected_query(role, membership_identifier, "*", template_arn, "Channels")
    templates, tables, mapping_tables = granted.templates, granted.tables, granted.mapping_tables
    collaborations = granted.collaboration

    def spelled(arn: str) -> str:
        return f"IAM5[Resource::{nag_text(stack.resolve(arn))}]"

    findings = [
        (
            spelled(arn),
            f"the {what} of the channel's membership that its query names (the Service "
            "Authorization Reference's resource types for StartProtectedQuery, GetSchema and "
            "GetCollaborationAnalysisTemplate); their ids are the collaboration's",
        )
        for arn, what in (
            (templates, "analysis templates"),
            (tables, "configured table associations"),
            (mapping_tables, "ID mapping tables"),
        )
    ]
    findings.append(
        (
            spelled(collaborations),
            "GetSchema and GetCollaborationAnalysisTemplate act on the membership's "
            "collaboration, whose id and creator account the construct does not know (it "
            "takes a membership): the collaborations of the stack's region; the trust policy "
            "limits the role's use to this membership",
        )
    )
    acknowledge(role, findings, [policy_resource(role)])
    return role
