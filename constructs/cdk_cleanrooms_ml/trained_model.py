"""The ``TrainedModel`` construct, its interface and import methods."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import jsii
from aws_cdk import (
    CfnWaitCondition,
    CfnWaitConditionHandle,
    CustomResource,
    Duration,
    ITaggable,
    Names,
    RemovalPolicy,
    Resource,
    Size,
    SizeRoundingBehavior,
    Stack,
    TagManager,
    TagType,
    Token,
)
from aws_cdk import aws_kms as kms

from constructs import Construct, Node

from . import _contract as contract
from ._provider import TrainedModelProvider
from ._render import render_properties
from ._spec import ChannelSpec, IncrementalChannelSpec, ModelSpec
from ._validation import validate
from .errors import TrainedModelValidationError
from .instance_type import InstanceType
from .types import (
    DataChannel,
    IncrementalTrainingDataChannel,
    S3DataDistributionType,
    TrainingInputMode,
)

__all__ = ["ITrainedModel", "TrainedModel", "TrainedModelBase"]

_NOT_IDENTITY = frozenset(
    {contract.TAGS, contract.REMOVAL_POLICY, contract.WAIT_FOR_COMPLETION, contract.WAIT_HANDLE_URL}
)
"""Properties whose change neither replaces the model nor needs a new WaitCondition."""


@runtime_checkable
class ITrainedModel(Protocol):
    """A Clean Rooms ML trained model, created in this app or imported."""

    @property
    def node(self) -> Node:
        """The construct tree node."""
        ...

    @property
    def trained_model_arn(self) -> str:
        """The ARN of the trained model."""
        ...

    @property
    def version_identifier(self) -> str | None:
        """The model's version identifier (a UUID), or ``None`` when it has none.

        A ``TrainedModel`` trained incrementally has one (a token that resolves to
        the version's UUID); a base model has none. For an imported model it is
        what was given, or ``None``.
        """
        ...


class TrainedModelBase(Resource):
    """What every trained model, created or imported, offers (from its ARN alone)."""

    @property
    def trained_model_arn(self) -> str:
        """The ARN of the trained model."""
        raise NotImplementedError

    @property
    def version_identifier(self) -> str | None:
        """The model's version identifier, when known (see ``ITrainedModel``)."""
        raise NotImplementedError


class _ImportedTrainedModel(TrainedModelBase):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trained_model_arn: str,
        version_identifier: str | None,
    ) -> None:
        super().__init__(scope, construct_id, environment_from_arn=trained_model_arn)
        self._arn = trained_model_arn
        self._version = version_identifier

    @property
    def trained_model_arn(self) -> str:
        return self._arn

    @property
    def version_identifier(self) -> str | None:
        return self._version


def _seconds(prop: str, value: Duration | None, failures: list[str]) -> float | None:
    if value is None:
        return None
    if not isinstance(value, Duration):
        failures.append(f"{prop}: {value!r} is not a Duration; allowed: aws_cdk.Duration")
        return None
    seconds: float = value.to_seconds(integral=False)
    return seconds


@jsii.implements(ITaggable)
class TrainedModel(TrainedModelBase):
    """An AWS Clean Rooms ML trained model (``Custom::CleanRoomsMLTrainedModel``).

    Creating the construct trains a model with ``CreateTrainedModel``: the
    deployment waits (by default) until training ends and fails if it fails.
    Every create parameter is immutable: changing one trains a new model (a
    replacement). Tags are updated in place. The model is kept on stack delete
    and replacement unless ``removal_policy`` is ``RemovalPolicy.DESTROY``.

    All models of a stack share one handler (one set of provider resources).

    :param scope: the parent construct.
    :param construct_id: the construct id.
    :param membership_identifier: id (UUID) of the membership the model is
        trained in. Tokens allowed.
    :param configured_model_algorithm_association_arn: ARN of the configured
        model algorithm association to train with.
    :param instance_type: the training instance type.
    :param volume_size: storage volume of each instance: whole GiB, 1-8192 GiB.
    :param data_channels: 1-20 ML input channels with the training data.
    :param trained_model_name: the model's name, 1-63 characters. Default: a
        generated name of at most 63 characters, unique in the stack and stable
        across synths; a replacement gets a new one. A fixed name cannot be
        replaced: changing another create parameter then fails, rename too.
    :param hyperparameters: hyperparameters for the algorithm; at most 100,
        keys 1-256 and values 1-2500 characters. Default: none.
    :param environment: environment variables for the training container; at
        most 100, keys 1-512 characters matching ``[a-zA-Z_][a-zA-Z0-9_]*``,
        values 1-512 characters. Default: none.
    :param instance_count: number of instances, 1-5. Default: not sent (the
        service uses 1).
    :param max_runtime: training time limit, whole seconds from 1 second to 28
        days. Default: not sent (the service's default applies).
    :param incremental_training_data_channels: at most one base model to train
        from; at most 20 channels in all. Default: none (a base model).
    :param training_input_mode: how the container reads data. Default: not sent
        (the service uses ``File``).
    :param description: up to 255 characters. Default: none.
    :param encryption_key: KMS key for the model's artifacts; the handler gets
        permission to use it. Default: AWS-owned encryption.
    :param ml_model_training_payer_account_id: the account (12 digits) that
        pays for training. Default: not sent (the service decides).
    :param tags: tags for the model; at most 49 (the construct keeps one of the
        API's 50 for itself), keys 1-128 characters not starting with ``aws:``,
        values up to 256. ``Tags.of(model).add()`` reaches the model too.
    :param removal_policy: ``RETAIN`` (default) keeps the model on stack delete
        and on replacement; ``DESTROY`` cancels training still running and
        deletes the model's output. ``SNAPSHOT`` is not supported.
    :param wait_for_completion: wait until training has ended (``ACTIVE``)
        before the resource is created. Default: True. When False, the resource
        is created as soon as the model exists and has not failed.
    :param completion_timeout: how long to wait for training, whole seconds up
        to 12 hours. Default: one hour. Up to one hour the custom resource itself
        waits (the short path); beyond, the custom resource returns once the model
        exists and a ``WaitCondition`` (timeout = ``completion_timeout``) waits,
        signalled by the stack's waiter state machine (the long path). Either way,
        whatever references the model's attributes is created only once it is ACTIVE.

    :raises TrainedModelValidationError: once, listing every invalid prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        membership_identifier: str,
        configured_model_algorithm_association_arn: str,
        instance_type: InstanceType,
        volume_size: Size,
        data_channels: Sequence[DataChannel],
        trained_model_name: str | None = None,
        hyperparameters: Mapping[str, str] | None = None,
        environment: Mapping[str, str] | None = None,
        instance_count: int | None = None,
        max_runtime: Duration | None = None,
        incremental_training_data_channels: Sequence[IncrementalTrainingDataChannel] | None = None,
        training_input_mode: TrainingInputMode | None = None,
        description: str | None = None,
        encryption_key: kms.IKey | None = None,
        ml_model_training_payer_account_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
        wait_for_completion: bool | None = None,
        completion_timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        failures: list[str] = []
        spec = self._spec(
            failures,
            membership_identifier=membership_identifier,
            configured_model_algorithm_association_arn=configured_model_algorithm_association_arn,
            instance_type=instance_type,
            volume_size=volume_size,
            data_channels=data_channels,
            trained_model_name=trained_model_name,
            hyperparameters=hyperparameters,
            environment=environment,
            instance_count=instance_count,
            max_runtime=max_runtime,
            incremental_training_data_channels=incremental_training_data_channels,
            training_input_mode=training_input_mode,
            description=description,
            encryption_key=encryption_key,
            ml_model_training_payer_account_id=ml_model_training_payer_account_id,
            tags=tags,
            removal_policy=removal_policy,
            wait_for_completion=wait_for_completion,
            completion_timeout=completion_timeout,
        )
        if spec is not None:
            failures.extend(validate(spec))
        if failures or spec is None:
            raise TrainedModelValidationError(self.node.path, failures)
        self._spec_value = spec
        self._versioned = bool(spec.incremental_training_data_channels)
        """Only incremental training makes a version; a base model has none."""

        self._tags = TagManager(TagType.MAP, contract.RESOURCE_TYPE, dict(spec.tags) or None)

        provider = TrainedModelProvider.of(scope)
        # Tags added later with Tags.of are checked once the app is built, by one
        # validation per stack (on the provider) for all its models.
        rendered_tags = provider.validate_tags_of(self, self._tags)
        provider.grant_model(
            membership_identifier=spec.membership_identifier,
            association_arn=spec.configured_model_algorithm_association_arn,
            encryption_key=encryption_key,
        )
        name_prefix = None
        if spec.trained_model_name is None:
            name_prefix = Names.unique_resource_name(
                self,
                max_length=contract.GENERATED_NAME_PREFIX_MAX_LENGTH,
                separator="-",
            )
        properties = render_properties(spec, name_prefix=name_prefix)
        self._wait_condition: CfnWaitCondition | None = None
        self._attributes: CustomResource | None = None
        long_path = (
            spec.wait_for_completion
            and spec.completion_timeout_in_seconds > contract.SHORT_PATH_MAX_SECONDS
        )
        handle = None
        if long_path:
            # The WaitCondition's construct id carries a digest of everything that
            # replaces the model (and of its timeout, which CloudFormation cannot
            # update): a replacement gets a fresh wait; other updates do not wait.
            stack = Stack.of(self)
            identity = {k: v for k, v in properties.items() if k not in _NOT_IDENTITY}
            digest = (
                hashlib.sha256(json.dumps(stack.resolve(identity), sort_keys=True).encode())
                .hexdigest()[:8]
                .upper()
            )
            handle = CfnWaitConditionHandle(self, f"WaitHandle{digest}")
            properties[contract.WAIT_HANDLE_URL] = handle.ref
            provider.long_waiter()
        properties[contract.TAGS] = rendered_tags

        self._resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=contract.RESOURCE_TYPE,
            properties=properties,
            removal_policy=removal_policy or RemovalPolicy.RETAIN,
        )
        if handle is not None:
            self._wait_condition = CfnWaitCondition(
                self,
                handle.node.id.replace("WaitHandle", "Wait"),
                handle=handle.ref,
                timeout=str(int(spec.completion_timeout_in_seconds)),
                count=1,
            )
            self._wait_condition.node.add_dependency(self._resource)
            # Attributes come from a resource created after the WaitCondition, so
            # whatever references them is created only once the model is ACTIVE.
            echoed = [contract.ATTR_TRAINED_MODEL_ARN, contract.ATTR_TRAINED_MODEL_NAME]
            if self._versioned:
                echoed.append(contract.ATTR_VERSION_IDENTIFIER)
            self._attributes = CustomResource(
                self,
                "Attributes",
                service_token=provider.service_token,
                resource_type=contract.ATTRIBUTES_RESOURCE_TYPE,
                properties={
                    **{key: self._resource.get_att_string(key) for key in echoed},
                    contract.ATTR_STATUS: "ACTIVE",
                },
            )
            self._attributes.node.add_dependency(self._wait_condition)

    @staticmethod
    def _spec(
        failures: list[str],
        *,
        membership_identifier: str,
        configured_model_algorithm_association_arn: str,
        instance_type: InstanceType,
        volume_size: Size,
        data_channels: Sequence[DataChannel],
        trained_model_name: str | None,
        hyperparameters: Mapping[str, str] | None,
        environment: Mapping[str, str] | None,
        instance_count: int | None,
        max_runtime: Duration | None,
        incremental_training_data_channels: Sequence[IncrementalTrainingDataChannel] | None,
        training_input_mode: TrainingInputMode | None,
        description: str | None,
        encryption_key: kms.IKey | None,
        ml_model_training_payer_account_id: str | None,
        tags: Mapping[str, str] | None,
        removal_policy: RemovalPolicy | None,
        wait_for_completion: bool | None,
        completion_timeout: Duration | None,
    ) -> ModelSpec | None:
        """Convert props to a ``ModelSpec`` (units at the edge); type errors go to failures."""
        if not isinstance(instance_type, InstanceType):
            failures.append(
                f"instance_type: {instance_type!r} is not an InstanceType; "
                "allowed: an InstanceType constant or InstanceType.of('ml.<family>.<size>')"
            )
        volume_gib: float = 0
        if isinstance(volume_size, Size):
            volume_gib = volume_size.to_gibibytes(rounding=SizeRoundingBehavior.NONE)
        else:
            failures.append(f"volume_size: {volume_size!r} is not a Size; allowed: aws_cdk.Size")
        if training_input_mode is not None and not isinstance(
            training_input_mode, TrainingInputMode
        ):
            failures.append(
                f"training_input_mode: {training_input_mode!r} is not a TrainingInputMode; "
                f"allowed: {', '.join(m.name for m in TrainingInputMode)}"
            )
        policy = removal_policy or RemovalPolicy.RETAIN
        if policy not in (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY):
            failures.append(f"removal_policy: {policy} is not supported; allowed: RETAIN, DESTROY")
        channels: list[ChannelSpec] = []
        for index, channel in enumerate(data_channels or ()):
            if not isinstance(channel, DataChannel):
                failures.append(f"data_channels[{index}]: {channel!r} is not a DataChannel")
                continue
            distribution = channel.s3_data_distribution_type
            if distribution is not None and not isinstance(distribution, S3DataDistributionType):
                failures.append(
                    f"data_channels[{index}].s3_data_distribution_type: {distribution!r} is not "
                    f"an S3DataDistributionType; allowed: "
                    f"{', '.join(m.name for m in S3DataDistributionType)}"
                )
                distribution = None
            channels.append(
                ChannelSpec(
                    ml_input_channel_arn=channel.ml_input_channel_arn,
                    channel_name=channel.channel_name,
                    s3_data_distribution_type=distribution.value if distribution else None,
                )
            )
        incremental: list[IncrementalChannelSpec] = []
        for index, base in enumerate(incremental_training_data_channels or ()):
            if not isinstance(base, IncrementalTrainingDataChannel) or not isinstance(
                base.trained_model, ITrainedModel
            ):
                failures.append(
                    f"incremental_training_data_channels[{index}]: {base!r} is not an "
                    "IncrementalTrainingDataChannel with an ITrainedModel"
                )
                continue
            version = base.version_identifier
            if version is None:
                version = base.trained_model.version_identifier
            incremental.append(
                IncrementalChannelSpec(
                    trained_model_arn=base.trained_model.trained_model_arn,
                    channel_name=base.channel_name,
                    version_identifier=version,
                )
            )
        timeout = _seconds("completion_timeout", completion_timeout, failures)
        runtime = _seconds("max_runtime", max_runtime, failures)
        if failures:
            return None
        return ModelSpec(
            membership_identifier=membership_identifier,
            configured_model_algorithm_association_arn=configured_model_algorithm_association_arn,
            instance_type=instance_type.name,
            volume_size_in_gb=volume_gib,
            data_channels=tuple(channels),
            trained_model_name=trained_model_name,
            hyperparameters=dict(hyperparameters or {}),
            environment=dict(environment or {}),
            instance_count=instance_count,
            max_runtime_in_seconds=runtime,
            incremental_training_data_channels=tuple(incremental),
            training_input_mode=training_input_mode.value if training_input_mode else None,
            description=description,
            kms_key_arn=encryption_key.key_arn if encryption_key is not None else None,
            ml_model_training_payer_account_id=ml_model_training_payer_account_id,
            tags=dict(tags or {}),
            removal_policy=(
                contract.REMOVAL_POLICY_DESTROY
                if policy == RemovalPolicy.DESTROY
                else contract.REMOVAL_POLICY_RETAIN
            ),
            wait_for_completion=True if wait_for_completion is None else wait_for_completion,
            completion_timeout_in_seconds=(
                contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS if timeout is None else timeout
            ),
        )

    @classmethod
    def from_trained_model_arn(
        cls, scope: Construct, construct_id: str, trained_model_arn: str
    ) -> ITrainedModel:
        """Import an existing trained model by its ARN (its version is unknown)."""
        return cls.from_trained_model_attributes(
            scope, construct_id, trained_model_arn=trained_model_arn
        )

    @classmethod
    def from_trained_model_attributes(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        trained_model_arn: str,
        version_identifier: str | None = None,
    ) -> ITrainedModel:
        """Import an existing trained model by its ARN and, optionally, a version."""
        return _ImportedTrainedModel(
            scope,
            construct_id,
            trained_model_arn=trained_model_arn,
            version_identifier=version_identifier,
        )

    @property
    def tags(self) -> TagManager:
        """The model's tags (``ITaggable``); ``Tags.of(model).add()`` lands here."""
        return self._tags

    def _attribute(self, name: str) -> str:
        """An attribute of the custom resource, or (long path) of the attributes
        resource after the WaitCondition, so that whatever references it is created
        only once the model is ACTIVE."""
        source = self._resource if self._attributes is None else self._attributes
        return Token.as_string(source.get_att(name))

    @property
    def wait_condition(self) -> CfnWaitCondition | None:
        """The long path's WaitCondition (``completion_timeout`` over an hour), else None."""
        return self._wait_condition

    @property
    def trained_model_arn(self) -> str:
        """The ARN of the trained model (``Fn::GetAtt TrainedModelArn``)."""
        return self._attribute(contract.ATTR_TRAINED_MODEL_ARN)

    @property
    def version_identifier(self) -> str | None:
        """The version this resource created, or ``None`` for a base model.

        A model trained incrementally (``incremental_training_data_channels``) is
        a new version: this is ``Fn::GetAtt VersionIdentifier``, its UUID. A base
        model has no version identifier, and no attribute pretends otherwise.
        """
        if not self._versioned:
            return None
        return self._attribute(contract.ATTR_VERSION_IDENTIFIER)

    @property
    def trained_model_name(self) -> str:
        """The model's name, given or generated (``Fn::GetAtt TrainedModelName``)."""
        return self._attribute(contract.ATTR_TRAINED_MODEL_NAME)

    @property
    def status(self) -> str:
        """The model's status when the resource was last created or updated."""
        return self._attribute(contract.ATTR_STATUS)

    @property
    def custom_resource(self) -> CustomResource:
        """The underlying custom resource (construct id ``"Resource"``)."""
        return self._resource
