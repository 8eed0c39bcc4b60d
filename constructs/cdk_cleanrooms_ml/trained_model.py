"""The ``TrainedModel`` construct, its interface, grants and import methods."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import jsii
from aws_cdk import (
    Annotations,
    CfnWaitCondition,
    CustomResource,
    Duration,
    ITaggable,
    RemovalPolicy,
    Resource,
    Size,
    TagManager,
    Token,
)
from aws_cdk import aws_iam as iam

from constructs import Construct, Node

from . import _contract as contract
from . import _long_path, _refs
from ._props import Reader, received
from ._provider import CleanRoomsMLProvider
from ._render import render_properties
from ._resource import ManagedResource, name_prefix
from ._spec import ChannelSpec, IncrementalChannelSpec, ModelSpec
from ._validation import TRAINED_MODEL_ARN_PATTERN, UUID_PATTERN, check_arn, validate
from .errors import TrainedModelValidationError
from .instance_type import InstanceType, known_instance_types
from .ml_configuration import IMLConfiguration
from .types import (
    DataChannel,
    IncrementalTrainingDataChannel,
    S3DataDistributionType,
    TrainingInputMode,
)

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms  # imported where a key is given (see _refs.key)

__all__ = ["ITrainedModel", "TrainedModel", "TrainedModelBase"]

_ARN_SHAPE: Final = (
    "arn:<partition>:cleanrooms-ml:<region>:<account>:membership/<membership-uuid>"
    "/trained-model/<id>"
)


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

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` (``cleanrooms-ml:...``) on this model."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant reading the model and its versions."""
        ...

    def grant_start_inference(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant starting inference jobs with this model."""
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

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` (``cleanrooms-ml:...``) on this model only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.trained_model_arn]
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant ``GetTrainedModel`` and ``ListTrainedModelVersions`` on this model."""
        return self.grant(
            grantee, "cleanrooms-ml:GetTrainedModel", "cleanrooms-ml:ListTrainedModelVersions"
        )

    def grant_start_inference(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant ``StartTrainedModelInferenceJob`` with this model (a job also needs it on
        its ML input channel: ``IMLInputChannel.grant_start_inference``)."""
        return self.grant(grantee, "cleanrooms-ml:StartTrainedModelInferenceJob")


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
    :param configured_model_algorithm_association: the configured model algorithm
        association to train with: a ``CfnConfiguredModelAlgorithmAssociation`` (any
        ``IConfiguredModelAlgorithmAssociationRef``) or its ARN.
    :param configured_model_algorithm_association_arn: the same, as an ARN (the
        0.1.0 name): give one of the two.
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
    :param ml_configuration: the membership's ``MLConfiguration`` (where exports, logs
        and metrics go): the model is deployed after it. Default: none.
    :param replacement_protection: a retrain guard, like a database's deletion
        protection: an update that would replace it (a new training: a changed create
        parameter, name or membership) fails before anything starts, naming what
        changed; the handler enforces it, whatever tool deploys. Allow it for one
        deploy with ``cdk deploy -c cdk-cleanrooms-ml:allowReplacement=<construct path>``
        (or ``*``), or set it to ``False``. A rollback is never refused. Default: off.

    :raises TrainedModelValidationError: once, listing every invalid prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        membership_identifier: str,
        instance_type: InstanceType,
        volume_size: Size,
        data_channels: Sequence[DataChannel],
        configured_model_algorithm_association: Any = None,
        configured_model_algorithm_association_arn: str | None = None,
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
        ml_configuration: IMLConfiguration | None = None,
        replacement_protection: bool | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        reader = Reader()
        configuration = _refs.configuration(reader, "ml_configuration", ml_configuration)
        association = _refs.association_arn(
            reader,
            "configured_model_algorithm_association",
            configured_model_algorithm_association,
            "configured_model_algorithm_association_arn",
            configured_model_algorithm_association_arn,
            required=True,
        )
        key = _refs.key(reader, "encryption_key", encryption_key)
        spec = _read(
            reader,
            membership_identifier=membership_identifier,
            association=association,
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
            kms_key_arn=key.key_arn if key is not None else None,
            association_prop=(
                "configured_model_algorithm_association"
                if configured_model_algorithm_association is not None
                else "configured_model_algorithm_association_arn"
            ),
            ml_model_training_payer_account_id=ml_model_training_payer_account_id,
            tags=tags,
            removal_policy=removal_policy,
            wait_for_completion=wait_for_completion,
            completion_timeout=completion_timeout,
            replacement_protection=replacement_protection,
        )
        failed = set(reader.failed)
        if "configured_model_algorithm_association" in failed:
            failed.add("configured_model_algorithm_association_arn")
        failures = reader.failures + validate(spec, frozenset(failed))
        if failures:
            raise TrainedModelValidationError(self.node.path, failures)
        self._spec_value = spec
        self._versioned = bool(spec.incremental_training_data_channels)
        """Only incremental training makes a version; a base model has none."""
        if spec.instance_type not in known_instance_types() and not Token.is_unresolved(
            spec.instance_type
        ):
            _warn_unknown_instance_type(self, spec.instance_type)

        provider = CleanRoomsMLProvider.of(scope)
        # Tags added later with Tags.of are checked once the app is built, by one
        # validation per stack (on the provider) for all its resources.
        self._tags = provider.resource_tags(self, contract.RESOURCE_TYPE, spec.tags)
        provider.grant_model(
            membership_identifier=spec.membership_identifier,
            association_arn=spec.configured_model_algorithm_association_arn,
            encryption_key=key,
        )
        prefix = (
            None
            if spec.trained_model_name is not None
            else name_prefix(self, scope=scope, construct_id=construct_id, stack=provider.stack)
        )
        properties = render_properties(spec, name_prefix=prefix)
        properties.pop(contract.REMOVAL_POLICY, None)  # the resource renders it
        provider.protect(self, properties, spec.replacement_protection)
        self._wait_condition: CfnWaitCondition | None = None
        self._attributes: CustomResource | None = None
        long_path = (
            spec.wait_for_completion
            and spec.completion_timeout_in_seconds > contract.SHORT_PATH_MAX_SECONDS
        )
        handle = None
        if long_path:
            handle = _long_path.wait_handle(self, provider, properties, "trained-model")
        too_large = self._tags.fit(properties)
        if too_large:
            raise TrainedModelValidationError(self.node.path, too_large)
        if self._tags.rendered is not None:
            properties[contract.TAGS] = self._tags.rendered

        self._resource = ManagedResource(
            self,
            "Resource",
            resource_type=contract.RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            removal_policy=(
                RemovalPolicy.DESTROY
                if spec.removal_policy == contract.REMOVAL_POLICY_DESTROY
                else RemovalPolicy.RETAIN
            ),
        )
        self._tags.attach(self._resource)
        if handle is not None:
            self._wait_condition = _long_path.wait(
                self, handle, self._resource, spec.completion_timeout_in_seconds
            )
            # Attributes come from a resource created after the WaitCondition, so
            # whatever references them is created only once the model is ACTIVE.
            echoed = [contract.ATTR_TRAINED_MODEL_ARN, contract.ATTR_TRAINED_MODEL_NAME]
            if self._versioned:
                echoed.append(contract.ATTR_VERSION_IDENTIFIER)
            self._attributes = _long_path.attributes(
                self, provider, self._resource, self._wait_condition, echoed
            )
        if configuration is not None:
            self._resource.node.add_dependency(configuration)

    @classmethod
    def from_trained_model_arn(
        cls, scope: Construct, construct_id: str, trained_model_arn: str
    ) -> ITrainedModel:
        """Import an existing trained model by its ARN (its version is unknown).

        :raises TrainedModelValidationError: when ``trained_model_arn`` is not one.
        """
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
        """Import an existing trained model by its ARN and, optionally, a version (a UUID).

        :raises TrainedModelValidationError: naming the attribute that is not valid.
        """
        reader = Reader()
        arn = reader.text("trained_model_arn", trained_model_arn, required=True)
        version = reader.text("version_identifier", version_identifier)
        failures = reader.failures
        failures += check_arn(
            "trained_model_arn", arn, TRAINED_MODEL_ARN_PATTERN, "a trained model ARN", _ARN_SHAPE
        )
        if (
            version is not None
            and not Token.is_unresolved(version)
            and not UUID_PATTERN.fullmatch(version)
        ):
            failures.append(
                f"version_identifier: {received(version)} is not a version identifier; "
                "allowed: a lowercase UUID (a base model has none: omit it)"
            )
        if failures:
            raise TrainedModelValidationError(f"{scope.node.path}/{construct_id}", failures)
        return _ImportedTrainedModel(
            scope,
            construct_id,
            trained_model_arn=str(arn),
            version_identifier=version,
        )

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """``RETAIN`` or ``DESTROY``: CloudFormation's policy and the handler's at once."""
        self._resource.apply_removal_policy(policy)

    @property
    def tags(self) -> TagManager:
        """The model's tags (``ITaggable``); ``Tags.of(model).add()`` lands here."""
        return self._tags.manager

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
    def custom_resource(self) -> ManagedResource:
        """The underlying custom resource (construct id ``"Resource"``)."""
        return self._resource


def _warn_unknown_instance_type(model: Construct, name: str) -> None:
    """A type this release does not know: allowed (new types appear), but said."""
    import difflib  # only for a message: not on every synth's import

    closest = difflib.get_close_matches(name, known_instance_types(), n=3, cutoff=0.6)
    hint = f"; closest known: {', '.join(closest)}" if closest else ""
    Annotations.of(model).add_warning_v2(
        "cdk-cleanrooms-ml:unknownInstanceType",
        f"instance_type: {name!r} is not a training instance type this release knows"
        f"{hint}. It is sent as it is (new types appear); check its spelling.",
    )


def _is_model(value: object) -> bool:
    """``ITrainedModel``, checked without reading a construct's attributes for it."""
    return isinstance(value, TrainedModelBase) or (
        not hasattr(type(value), "__jsii_type__") and isinstance(value, ITrainedModel)
    )


def _is_channel(value: object) -> bool:
    # imported when a channel construct is given (an app of models alone never loads it)
    from .ml_input_channel import IMLInputChannel, MLInputChannelBase

    return isinstance(value, MLInputChannelBase) or (
        not hasattr(type(value), "__jsii_type__") and isinstance(value, IMLInputChannel)
    )


def _read(
    reader: Reader,
    *,
    membership_identifier: object,
    association: str | None,
    instance_type: object,
    volume_size: object,
    data_channels: object,
    trained_model_name: object,
    hyperparameters: object,
    environment: object,
    instance_count: object,
    max_runtime: object,
    incremental_training_data_channels: object,
    training_input_mode: object,
    description: object,
    kms_key_arn: str | None,
    association_prop: str,
    ml_model_training_payer_account_id: object,
    tags: object,
    removal_policy: object,
    wait_for_completion: object,
    completion_timeout: object,
    replacement_protection: object = None,
) -> ModelSpec:
    """Every prop read (type checked, units converted); failures go to ``reader``."""
    membership = reader.text(
        "membership_identifier",
        membership_identifier,
        required=True,
        allowed="a membership id (a lowercase UUID)",
    )
    instance_name = _refs.instance_type(reader, "instance_type", instance_type)
    volume = reader.size_gib("volume_size", volume_size, required=True)
    if data_channels is None:
        reader.fail("data_channels", "is required; allowed: a list of 1-20 DataChannel")
    channels: list[ChannelSpec] = []
    for index, item in enumerate(
        reader.items("data_channels", data_channels, allowed="a list of DataChannel")
    ):
        prop = f"data_channels[{index}]"
        channel = reader.instance(
            prop, item, DataChannel, allowed="a DataChannel, e.g. DataChannel.of(channel, 'train')"
        )
        if channel is None:
            continue
        arn = _channel_arn(reader, prop, channel)
        name = reader.text(f"{prop}.channel_name", channel.channel_name, required=True)
        distribution = reader.choice(
            f"{prop}.s3_data_distribution_type",
            channel.s3_data_distribution_type,
            S3DataDistributionType,
        )
        channels.append(
            ChannelSpec(
                ml_input_channel_arn=arn or "",
                channel_name=name or "",
                s3_data_distribution_type=distribution.value if distribution else None,
            )
        )
    bases: list[IncrementalChannelSpec] = []
    for index, item in enumerate(
        reader.items(
            "incremental_training_data_channels",
            incremental_training_data_channels,
            allowed="a list of IncrementalTrainingDataChannel",
        )
    ):
        prop = f"incremental_training_data_channels[{index}]"
        base = reader.instance(
            prop, item, IncrementalTrainingDataChannel, allowed="an IncrementalTrainingDataChannel"
        )
        if base is None:
            continue
        if not _is_model(base.trained_model):
            reader.fail(
                f"{prop}.trained_model",
                f"{received(base.trained_model)} is not an ITrainedModel; allowed: a "
                "TrainedModel, or TrainedModel.from_trained_model_arn(...)",
            )
            continue
        name = reader.text(f"{prop}.channel_name", base.channel_name, required=True)
        version = reader.text(f"{prop}.version_identifier", base.version_identifier)
        if version is None and base.version_identifier is None:
            version = base.trained_model.version_identifier
        bases.append(
            IncrementalChannelSpec(
                trained_model_arn=base.trained_model.trained_model_arn,
                channel_name=name or "",
                version_identifier=version,
            )
        )
    mode = reader.choice("training_input_mode", training_input_mode, TrainingInputMode)
    policy = reader.choice("removal_policy", removal_policy, RemovalPolicy) or RemovalPolicy.RETAIN
    if policy not in (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY):
        reader.fail("removal_policy", f"{policy} is not supported; allowed: RETAIN, DESTROY")
    timeout = reader.seconds("completion_timeout", completion_timeout, example="Duration.hours(6)")
    return ModelSpec(
        membership_identifier=membership or "",
        configured_model_algorithm_association_arn=association or "",
        association_prop=association_prop,
        instance_type="ml.unknown.unknown" if instance_name is None else instance_name,
        volume_size_in_gb=1 if volume is None else volume,
        data_channels=tuple(channels),
        trained_model_name=reader.text("trained_model_name", trained_model_name),
        hyperparameters=reader.strings("hyperparameters", hyperparameters),
        environment=reader.strings("environment", environment),
        instance_count=reader.whole("instance_count", instance_count, example="2"),
        max_runtime_in_seconds=reader.seconds(
            "max_runtime", max_runtime, example="Duration.hours(3)"
        ),
        incremental_training_data_channels=tuple(bases),
        training_input_mode=mode.value if mode else None,
        description=reader.text("description", description),
        kms_key_arn=kms_key_arn,
        ml_model_training_payer_account_id=reader.text(
            "ml_model_training_payer_account_id", ml_model_training_payer_account_id
        ),
        tags=reader.strings("tags", tags),
        removal_policy=(
            contract.REMOVAL_POLICY_DESTROY
            if policy == RemovalPolicy.DESTROY
            else contract.REMOVAL_POLICY_RETAIN
        ),
        wait_for_completion=reader.flag("wait_for_completion", wait_for_completion, default=True),
        completion_timeout_in_seconds=(
            contract.DEFAULT_COMPLETION_TIMEOUT_SECONDS if timeout is None else timeout
        ),
        replacement_protection=reader.flag(
            "replacement_protection", replacement_protection, default=False
        ),
    )


def _channel_arn(reader: Reader, prop: str, channel: DataChannel) -> str | None:
    """A data channel's ML input channel: ``ml_input_channel`` or ``ml_input_channel_arn``."""
    given, arn = channel.ml_input_channel, channel.ml_input_channel_arn
    if (given is None) == (arn is None):
        reader.fail(prop, "give ml_input_channel (an IMLInputChannel) or ml_input_channel_arn")
        return None
    if given is None:
        return reader.text(f"{prop}.ml_input_channel_arn", arn)
    if not _is_channel(given):
        reader.fail(
            f"{prop}.ml_input_channel",
            f"{received(given)} is not an IMLInputChannel; allowed: an MLInputChannel, or "
            "MLInputChannel.from_ml_input_channel_arn(...)",
        )
        return None
    return str(given.ml_input_channel_arn)
