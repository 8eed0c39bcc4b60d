"""The ``TrainedModelInferenceJob`` construct: a trained model run over a channel's data."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import jsii
from aws_cdk import (
    Annotations,
    Duration,
    ITaggable,
    RemovalPolicy,
    Resource,
    Size,
    TagManager,
    Token,
)

from constructs import Construct

from . import _contract as contract
from . import _lifecycle, _refs
from ._props import Reader, received, unresolved
from ._provider import CleanRoomsMLProvider
from ._resource import ManagedResource, name_prefix
from ._validation import (
    ASSOCIATION_ARN_PATTERN,
    ENVIRONMENT_KEY_PATTERN,
    ML_INPUT_CHANNEL_ARN_PATTERN,
    TRAINED_MODEL_ARN_PATTERN,
    UUID_PATTERN,
    check_account,
    check_arn,
    check_description,
    check_instance_type,
    check_kms_key,
    check_membership,
    check_string_map,
    check_whole_in_range,
    unskipped,
)
from .errors import ValidationError
from .instance_type import InstanceType, known_inference_instance_types
from .ml_configuration import IMLConfiguration
from .ml_input_channel import IMLInputChannel, MLInputChannelBase
from .trained_model import ITrainedModel, TrainedModelBase

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms  # imported where a key is given (see _refs.key)

__all__ = ["TrainedModelInferenceJob", "TrainedModelInferenceJobBase"]

INSTANCE_COUNT_RANGE: Final = (1, 10)
MAX_PAYLOAD_RANGE_MB: Final = (1, 100)
ENVIRONMENT_MAX: Final = 16
ACCEPT_MAX: Final = 256
_SHAPE: Final = "arn:<partition>:cleanrooms-ml:<region>:<account>:membership/<membership-uuid>/"
JOB_ARN_PATTERN: Final = re.compile(
    TRAINED_MODEL_ARN_PATTERN.pattern.replace("trained-model/", "trained-model-inference-job/")
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobSpec:
    """The resolved, unit-converted props of a ``TrainedModelInferenceJob``."""

    membership_identifier: str
    trained_model_arn: str
    trained_model_version_identifier: str | None
    ml_input_channel_arn: str
    association_arn: str | None
    instance_type: str
    instance_count: float | None
    output_account_id: str
    accept: str | None
    max_payload_in_mb: float | None
    environment: Mapping[str, str]
    description: str | None
    kms_key_arn: str | None
    payer_account_id: str | None
    lifecycle: _lifecycle.Lifecycle


def validate(spec: JobSpec, skip: frozenset[str]) -> list[str]:
    """Every value rule of a ``TrainedModelInferenceJob`` (props in ``skip`` had a wrong type)."""

    def rules() -> Iterator[str]:
        yield from check_membership("membership_identifier", spec.membership_identifier)
        yield from check_instance_type("instance_type", spec.instance_type)
        yield from check_arn(
            "trained_model",
            spec.trained_model_arn,
            TRAINED_MODEL_ARN_PATTERN,
            "a trained model ARN",
            f"{_SHAPE}trained-model/<id>",
        )
        version = spec.trained_model_version_identifier
        if version is not None and not unresolved(version) and not UUID_PATTERN.fullmatch(version):
            yield (
                f"trained_model_version_identifier: {received(version)} is not a version "
                "identifier; allowed: a lowercase UUID (a base model has none: omit it)"
            )
        yield from check_arn(
            "data_source",
            spec.ml_input_channel_arn,
            ML_INPUT_CHANNEL_ARN_PATTERN,
            "an ML input channel ARN",
            f"{_SHAPE}ml-input-channel/<id>",
        )
        yield from check_arn(
            "configured_model_algorithm_association",
            spec.association_arn,
            ASSOCIATION_ARN_PATTERN,
            "a configured model algorithm association ARN",
            f"{_SHAPE}configured-model-algorithm-association/<id>",
        )
        yield from check_whole_in_range(
            "instance_count", spec.instance_count, INSTANCE_COUNT_RANGE, "instances"
        )
        yield from check_account("output_account_id", spec.output_account_id)
        accept = spec.accept
        if accept is not None and not unresolved(accept) and len(accept) > ACCEPT_MAX:
            yield f"accept: {len(accept)} characters; allowed 0-{ACCEPT_MAX}"
        yield from check_whole_in_range(
            "max_payload", spec.max_payload_in_mb, MAX_PAYLOAD_RANGE_MB, "MiB"
        )
        yield from check_string_map(
            "environment",
            spec.environment,
            1024,
            10240,
            ENVIRONMENT_KEY_PATTERN,
            max_entries=ENVIRONMENT_MAX,
        )
        yield from check_description("description", spec.description)
        yield from check_kms_key("encryption_key", spec.kms_key_arn)
        yield from check_account("ml_model_inference_payer_account_id", spec.payer_account_id)

    found = unskipped(rules(), skip)
    found.extend(
        _lifecycle.failures(
            spec.lifecycle,
            name_prop="trained_model_inference_job_name",
            max_timeout=contract.SHORT_PATH_MAX_SECONDS,
        )
    )
    return found


def render(spec: JobSpec, prefix: str | None) -> dict[str, Any]:
    """The ``Custom::CleanRoomsMLTrainedModelInferenceJob`` properties (defaults left out)."""
    props: dict[str, Any] = {
        contract.MEMBERSHIP_IDENTIFIER: spec.membership_identifier,
        contract.TRAINED_MODEL_ARN: spec.trained_model_arn,
        contract.ML_INPUT_CHANNEL_ARN: spec.ml_input_channel_arn,
        contract.INSTANCE_TYPE: spec.instance_type,
        contract.OUTPUT_ACCOUNT_ID: spec.output_account_id,
        **_lifecycle.render(spec.lifecycle, prefix),
    }
    optional = {
        contract.TRAINED_MODEL_VERSION_IDENTIFIER: spec.trained_model_version_identifier,
        contract.CONFIGURED_MODEL_ALGORITHM_ASSOCIATION_ARN: spec.association_arn,
        contract.INSTANCE_COUNT: _number(spec.instance_count),
        contract.ACCEPT: spec.accept,
        contract.MAX_PAYLOAD_IN_MB: _number(spec.max_payload_in_mb),
        contract.ENVIRONMENT: dict(spec.environment) or None,
        contract.DESCRIPTION: spec.description,
        contract.KMS_KEY_ARN: spec.kms_key_arn,
        contract.ML_MODEL_INFERENCE_PAYER_ACCOUNT_ID: spec.payer_account_id,
    }
    props.update({k: v for k, v in optional.items() if v is not None})
    return props


def _number(value: float | None) -> Any:
    if value is None:
        return None
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


class TrainedModelInferenceJobBase(Resource):
    """What every inference job, created or imported, offers (from its ARN alone)."""

    @property
    def trained_model_inference_job_arn(self) -> str:
        """The ARN of the inference job."""
        raise NotImplementedError


class _ImportedJob(TrainedModelInferenceJobBase):
    def __init__(self, scope: Construct, construct_id: str, arn: str) -> None:
        super().__init__(scope, construct_id, environment_from_arn=arn)
        self._arn = arn

    @property
    def trained_model_inference_job_arn(self) -> str:
        return self._arn


@jsii.implements(ITaggable)
class TrainedModelInferenceJob(TrainedModelInferenceJobBase):
    """A Clean Rooms ML trained model inference job
    (``Custom::CleanRoomsMLTrainedModelInferenceJob``).

    Creating it starts ``StartTrainedModelInferenceJob``: the trained model runs
    over an ML input channel's data and its output goes to one member account.
    The deployment waits (by default) until the job is ACTIVE, its output ready,
    and fails if it fails. Every parameter is immutable: a change starts a new
    job. Tags are updated in place. There is no delete: under ``DESTROY`` a job
    still running is cancelled; a finished one stays (``RETAIN``, the default,
    never cancels).

    :param membership_identifier: the membership (UUID) that runs the job.
    :param trained_model: the model to run (an ``ITrainedModel``); its
        ``version_identifier`` is used unless ``trained_model_version_identifier`` is given.
    :param data_source: the ML input channel with the data (an ``IMLInputChannel``).
    :param instance_type: the inference instance type.
    :param output_account_id: the member account (12 digits) that receives the output.
    :param trained_model_version_identifier: the model's version to run (a UUID).
        Default: the model's ``version_identifier``, or none (the latest).
    :param instance_count: 1-10. Default: not sent (the service uses 1).
    :param accept: the MIME type of the output, up to 256 characters. Default: not sent.
    :param max_payload: the largest payload per request: whole MiB, 1-100. Default:
        not sent (the service's default applies).
    :param environment: the container's environment: at most 16, keys 1-1024
        characters matching ``[a-zA-Z_][a-zA-Z0-9_]*``, values 1-10240.
    :param configured_model_algorithm_association: the association to run with: a
        ``CfnConfiguredModelAlgorithmAssociation`` (any
        ``IConfiguredModelAlgorithmAssociationRef``) or its ARN. Default: not sent.
    :param ml_configuration: the membership's ``MLConfiguration`` (where the output
        goes): the job is deployed after it. Default: none.
    :param trained_model_inference_job_name: 1-63 characters. Default: generated.
    :param description: up to 255 characters. Default: none.
    :param encryption_key: KMS key for the output; the handler may use it.
    :param ml_model_inference_payer_account_id: the account (12 digits) that pays.
    :param tags: at most 49; ``Tags.of(job)`` reaches the job too.
    :param removal_policy: ``RETAIN`` (default) or ``DESTROY``.
    :param wait_for_completion: wait until the job is ACTIVE. Default: True.
    :param completion_timeout: how long to wait, whole seconds up to an hour.
        Default: one hour. A longer job: ``wait_for_completion=False``.
    :param replacement_protection: a retrain guard, like a database's deletion
        protection: an update that would replace it (a new inference job: a changed create
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
        trained_model: ITrainedModel,
        data_source: IMLInputChannel,
        instance_type: InstanceType,
        output_account_id: str,
        trained_model_version_identifier: str | None = None,
        instance_count: int | None = None,
        accept: str | None = None,
        max_payload: Size | None = None,
        environment: Mapping[str, str] | None = None,
        configured_model_algorithm_association: Any = None,
        ml_configuration: IMLConfiguration | None = None,
        trained_model_inference_job_name: str | None = None,
        description: str | None = None,
        encryption_key: kms.IKey | None = None,
        ml_model_inference_payer_account_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
        wait_for_completion: bool | None = None,
        completion_timeout: Duration | None = None,
        replacement_protection: bool | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        reader = Reader()
        membership = reader.text(
            "membership_identifier", membership_identifier, required=True, allowed="a UUID"
        )
        model_arn = version = None
        if trained_model is None:
            reader.fail("trained_model", "is required; allowed: an ITrainedModel")
        elif isinstance(trained_model, TrainedModelBase) or (
            not hasattr(type(trained_model), "__jsii_type__")
            and isinstance(trained_model, ITrainedModel)
        ):
            model_arn = trained_model.trained_model_arn
            version = trained_model.version_identifier
        else:
            reader.fail(
                "trained_model",
                f"{received(trained_model)} is not an ITrainedModel; allowed: a TrainedModel "
                "or TrainedModel.from_trained_model_arn(...)",
            )
        given_version = reader.text(
            "trained_model_version_identifier", trained_model_version_identifier
        )
        channel_arn = None
        if data_source is None:
            reader.fail("data_source", "is required; allowed: an IMLInputChannel")
        elif isinstance(data_source, MLInputChannelBase) or (
            not hasattr(type(data_source), "__jsii_type__")
            and isinstance(data_source, IMLInputChannel)
        ):
            channel_arn = data_source.ml_input_channel_arn
        else:
            reader.fail(
                "data_source",
                f"{received(data_source)} is not an IMLInputChannel; allowed: an "
                "MLInputChannel or MLInputChannel.from_ml_input_channel_arn(...)",
            )
        instance_name = _refs.instance_type(reader, "instance_type", instance_type)
        association = _refs.association_arn(
            reader,
            "configured_model_algorithm_association",
            configured_model_algorithm_association,
            "configured_model_algorithm_association",
            None,
            required=False,
        )
        configuration = _refs.configuration(reader, "ml_configuration", ml_configuration)
        key = _refs.key(reader, "encryption_key", encryption_key)
        lifecycle = _lifecycle.read(
            reader,
            name_prop="trained_model_inference_job_name",
            name=trained_model_inference_job_name,
            tags=tags,
            removal_policy=removal_policy,
            wait_for_completion=wait_for_completion,
            completion_timeout=completion_timeout,
            replacement_protection=replacement_protection,
        )
        spec = JobSpec(
            membership_identifier=membership or "",
            trained_model_arn=model_arn or "",
            trained_model_version_identifier=version if given_version is None else given_version,
            ml_input_channel_arn=channel_arn or "",
            association_arn=association,
            instance_type="" if instance_name is None else instance_name,
            instance_count=reader.whole("instance_count", instance_count, example="1"),
            output_account_id=reader.text(
                "output_account_id", output_account_id, required=True, allowed="12 digits"
            )
            or "",
            accept=reader.text("accept", accept),
            max_payload_in_mb=reader.size_mib("max_payload", max_payload),
            environment=reader.strings("environment", environment),
            description=reader.text("description", description),
            kms_key_arn=key.key_arn if key is not None else None,
            payer_account_id=reader.text(
                "ml_model_inference_payer_account_id", ml_model_inference_payer_account_id
            ),
            lifecycle=lifecycle,
        )
        failures = reader.failures + validate(spec, frozenset(reader.failed))
        if failures:
            raise ValidationError("TrainedModelInferenceJob", self.node.path, failures)
        if spec.instance_type not in known_inference_instance_types():
            _warn(self, spec.instance_type)  # well formed (checked): new types appear

        provider = CleanRoomsMLProvider.of(scope)
        provider.grant_job(
            membership_identifier=spec.membership_identifier,
            association_arn=spec.association_arn,
            encryption_key=key,
        )
        self._tags = provider.resource_tags(
            self, contract.INFERENCE_JOB_RESOURCE_TYPE, lifecycle.tags
        )
        prefix = (
            None
            if lifecycle.name is not None
            else name_prefix(self, scope=scope, construct_id=construct_id, stack=provider.stack)
        )
        properties = render(spec, prefix)
        provider.protect(self, properties, lifecycle.replacement_protection)
        too_large = self._tags.fit(properties)
        if too_large:
            raise ValidationError("TrainedModelInferenceJob", self.node.path, too_large)
        if self._tags.rendered is not None:
            properties[contract.TAGS] = self._tags.rendered
        self._resource = ManagedResource(
            self,
            "Resource",
            resource_type=contract.INFERENCE_JOB_RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            removal_policy=lifecycle.removal_policy,
        )
        self._tags.attach(self._resource)
        if configuration is not None:
            self._resource.node.add_dependency(configuration)

    @classmethod
    def from_trained_model_inference_job_arn(
        cls, scope: Construct, construct_id: str, trained_model_inference_job_arn: str
    ) -> TrainedModelInferenceJobBase:
        """An existing inference job, by its ARN.

        :raises ValidationError: when it is not one.
        """
        reader = Reader()
        arn = reader.text(
            "trained_model_inference_job_arn", trained_model_inference_job_arn, required=True
        )
        failures = reader.failures or list(
            check_arn(
                "trained_model_inference_job_arn",
                arn,
                JOB_ARN_PATTERN,
                "a trained model inference job ARN",
                f"{_SHAPE}trained-model-inference-job/<id>",
            )
        )
        if failures:
            path = f"{scope.node.path}/{construct_id}"
            raise ValidationError("TrainedModelInferenceJob", path, failures)
        return _ImportedJob(scope, construct_id, str(arn))

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
    def trained_model_inference_job_arn(self) -> str:
        """The job's ARN (``Fn::GetAtt TrainedModelInferenceJobArn``)."""
        return Token.as_string(
            self._resource.get_att(contract.ATTR_TRAINED_MODEL_INFERENCE_JOB_ARN)
        )

    @property
    def trained_model_inference_job_name(self) -> str:
        """The job's name, given or generated (``Fn::GetAtt Name``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_NAME))

    @property
    def status(self) -> str:
        """The job's status when it was last created or updated (``Fn::GetAtt Status``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_STATUS))


def _warn(job: Construct, name: str) -> None:
    closest = difflib.get_close_matches(name, known_inference_instance_types(), n=3, cutoff=0.6)
    hint = f"; closest known: {', '.join(closest)}" if closest else ""
    Annotations.of(job).add_warning_v2(
        "cdk-cleanrooms-ml:unknownInferenceInstanceType",
        f"instance_type: {name!r} is not an inference instance type this release knows"
        f"{hint}. It is sent as it is (new types appear); check its spelling.",
    )
