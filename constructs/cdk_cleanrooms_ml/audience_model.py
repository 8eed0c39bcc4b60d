"""The ``AudienceModel`` construct: a lookalike model trained on a training dataset."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

import jsii
from aws_cdk import (
    CfnWaitCondition,
    CustomResource,
    Duration,
    ITaggable,
    RemovalPolicy,
    Resource,
    TagManager,
    Token,
)
from aws_cdk import aws_iam as iam
from aws_cdk.interfaces.aws_cleanroomsml import ITrainingDatasetRef

from constructs import Construct, Node

from . import _contract as contract
from . import _lifecycle, _long_path, _refs
from ._props import Reader, implements, received, unresolved
from ._provider import CleanRoomsMLProvider
from ._resource import ManagedResource, name_prefix
from ._validation import (
    ACCOUNT_ARN_SHAPE,
    AUDIENCE_MODEL_ARN_PATTERN,
    TRAINING_DATASET_ARN_PATTERN,
    check_arn,
    check_description,
    check_kms_key,
    unskipped,
)
from .errors import ValidationError

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms  # imported where a key is given (see _refs.key)

__all__ = ["AudienceModel", "AudienceModelBase", "IAudienceModel"]

TRAINING_DATASET_ALLOWED: Final = (
    "an aws_cleanroomsml.CfnTrainingDataset (any ITrainingDatasetRef) or its ARN"
)


@runtime_checkable
class IAudienceModel(Protocol):
    """A Clean Rooms ML audience model (a lookalike model), created in this app or imported."""

    @property
    def node(self) -> Node:
        """The construct tree node."""
        ...

    @property
    def audience_model_arn(self) -> str:
        """The ARN of the audience model."""
        ...

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` (``cleanrooms-ml:...``) on this audience model."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant reading the audience model (``GetAudienceModel``)."""
        ...


class AudienceModelBase(Resource):
    """What every audience model, created or imported, offers (from its ARN alone)."""

    @property
    def audience_model_arn(self) -> str:
        """The ARN of the audience model."""
        raise NotImplementedError

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant ``actions`` (``cleanrooms-ml:...``) on this audience model only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.audience_model_arn]
        )

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Grant ``cleanrooms-ml:GetAudienceModel`` on this audience model."""
        return self.grant(grantee, "cleanrooms-ml:GetAudienceModel")


class _ImportedAudienceModel(AudienceModelBase):
    def __init__(self, scope: Construct, construct_id: str, arn: str) -> None:
        super().__init__(scope, construct_id, environment_from_arn=arn)
        self._arn = arn

    @property
    def audience_model_arn(self) -> str:
        return self._arn


@dataclass(frozen=True, kw_only=True)
class AudienceModelSpec:
    """The resolved props of an ``AudienceModel``."""

    training_dataset_arn: str
    training_data_start_time: str | None
    training_data_end_time: str | None
    description: str | None
    kms_key_arn: str | None
    lifecycle: _lifecycle.Lifecycle


def validate(
    spec: AudienceModelSpec, skip: frozenset[str], start: object, end: object
) -> list[str]:
    """Every value rule of an ``AudienceModel`` (props in ``skip`` had a wrong type)."""

    def rules() -> Iterator[str]:
        yield from check_arn(
            "training_dataset",
            spec.training_dataset_arn,
            TRAINING_DATASET_ARN_PATTERN,
            "a training dataset ARN",
            f"{ACCOUNT_ARN_SHAPE}training-dataset/<id>",
        )
        if (
            isinstance(start, datetime)
            and isinstance(end, datetime)
            and spec.training_data_start_time is not None
            and spec.training_data_end_time is not None
            and start >= end
        ):
            yield (
                f"training_data_end_time: {received(end)} is not after training_data_start_time "
                f"{received(start)}; allowed: a training window that ends after it starts"
            )
        yield from check_description("description", spec.description)
        yield from check_kms_key("encryption_key", spec.kms_key_arn)

    found = unskipped(rules(), skip)
    found.extend(
        _lifecycle.failures(
            spec.lifecycle,
            name_prop="audience_model_name",
            max_timeout=contract.MAX_COMPLETION_TIMEOUT_SECONDS,
        )
    )
    return found


def render(spec: AudienceModelSpec, prefix: str | None) -> dict[str, Any]:
    """The ``Custom::CleanRoomsMLAudienceModel`` properties (defaults left out)."""
    props: dict[str, Any] = {
        contract.TRAINING_DATASET_ARN: spec.training_dataset_arn,
        **_lifecycle.render(spec.lifecycle, prefix),
    }
    optional = {
        contract.TRAINING_DATA_START_TIME: spec.training_data_start_time,
        contract.TRAINING_DATA_END_TIME: spec.training_data_end_time,
        contract.DESCRIPTION: spec.description,
        contract.KMS_KEY_ARN: spec.kms_key_arn,
    }
    props.update({k: v for k, v in optional.items() if v is not None})
    return props


def training_dataset_arn(reader: Reader, prop: str, value: object) -> str | None:
    """A training dataset: the L1 ``CfnTrainingDataset`` (any ``ITrainingDatasetRef``) or
    its ARN."""
    if value is None:
        reader.fail(prop, f"is required; allowed: {TRAINING_DATASET_ALLOWED}")
        return None
    if isinstance(value, str) or unresolved(value):
        return reader.text(prop, value, allowed=TRAINING_DATASET_ALLOWED)
    if implements(value, ITrainingDatasetRef):
        found: Any = value
        return str(found.training_dataset_ref.training_dataset_arn)
    reader.fail(
        prop, f"{received(value)} is not a training dataset; allowed: {TRAINING_DATASET_ALLOWED}"
    )
    return None


@jsii.implements(ITaggable)
class AudienceModel(AudienceModelBase):
    """A Clean Rooms ML audience model (``Custom::CleanRoomsMLAudienceModel``): the
    lookalike model Clean Rooms ML trains on a training dataset (``CreateAudienceModel``).

    It belongs to the account and region, not to a membership. Training can take hours:
    the deployment waits (by default) until the model is ACTIVE and fails with the
    service's reason if training fails; a ``completion_timeout`` over an hour (up to 12
    hours) takes the long path, as a ``TrainedModel``'s: a ``WaitCondition`` signalled
    by the stack's waiter, and whatever references the model is created once it is
    ACTIVE. Every parameter is immutable: a change trains a new model (a replacement,
    which ``replacement_protection`` can refuse). Tags are updated in place. ``DESTROY``
    deletes it (``DeleteAudienceModel``), also while it trains; a configured audience
    model that still uses it makes the deletion fail with the service's reason.
    ``RETAIN`` (the default) keeps it.

    :param training_dataset: the training dataset: an
        ``aws_cleanroomsml.CfnTrainingDataset`` (any ``ITrainingDatasetRef``) or its ARN.
    :param training_data_start_time: the start of the training window, a ``datetime``
        with its time zone. Default: not sent (all the data).
    :param training_data_end_time: the end of the training window, after its start.
        Default: not sent.
    :param audience_model_name: 1-63 characters. Default: generated, unique in the
        stack; a replacement gets a new one.
    :param description: up to 255 characters. Default: none.
    :param encryption_key: KMS key for the model and its data; the handler may use it.
        Default: AWS-owned encryption.
    :param tags: at most 49; ``Tags.of(model)`` reaches it too.
    :param removal_policy: ``RETAIN`` (default) or ``DESTROY``.
    :param wait_for_completion: wait until the model is ACTIVE. Default: True.
    :param completion_timeout: how long to wait, whole seconds up to 12 hours; over an
        hour takes the long path. Default: one hour.
    :param replacement_protection: an update that would replace it (a new training)
        fails before anything starts, naming what changed; lift it for one deploy with
        ``cdk deploy -c cdk-cleanrooms-ml:allowReplacement=<construct path>``. A
        rollback is never refused. Default: off.

    :raises ValidationError: once, listing every invalid prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        training_dataset: Any,
        training_data_start_time: datetime | None = None,
        training_data_end_time: datetime | None = None,
        audience_model_name: str | None = None,
        description: str | None = None,
        encryption_key: kms.IKey | None = None,
        tags: Mapping[str, str] | None = None,
        removal_policy: RemovalPolicy | None = None,
        wait_for_completion: bool | None = None,
        completion_timeout: Duration | None = None,
        replacement_protection: bool | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        reader = Reader()
        dataset = training_dataset_arn(reader, "training_dataset", training_dataset)
        key = _refs.key(reader, "encryption_key", encryption_key)
        lifecycle = _lifecycle.read(
            reader,
            name_prop="audience_model_name",
            name=audience_model_name,
            tags=tags,
            removal_policy=removal_policy,
            wait_for_completion=wait_for_completion,
            completion_timeout=completion_timeout,
            replacement_protection=replacement_protection,
        )
        spec = AudienceModelSpec(
            training_dataset_arn=dataset or "",
            training_data_start_time=reader.instant(
                "training_data_start_time", training_data_start_time
            ),
            training_data_end_time=reader.instant("training_data_end_time", training_data_end_time),
            description=reader.text("description", description),
            kms_key_arn=key.key_arn if key is not None else None,
            lifecycle=lifecycle,
        )
        failures = reader.failures + validate(
            spec, frozenset(reader.failed), training_data_start_time, training_data_end_time
        )
        if failures:
            raise ValidationError("AudienceModel", self.node.path, failures)

        provider = CleanRoomsMLProvider.of(scope)
        provider.grant_audience_model(
            training_dataset_arn=spec.training_dataset_arn, encryption_key=key
        )
        self._tags = provider.resource_tags(
            self, contract.AUDIENCE_MODEL_RESOURCE_TYPE, lifecycle.tags
        )
        prefix = (
            None
            if lifecycle.name is not None
            else name_prefix(self, scope=scope, construct_id=construct_id, stack=provider.stack)
        )
        properties = render(spec, prefix)
        provider.protect(self, properties, lifecycle.replacement_protection)
        long_path = (
            lifecycle.wait_for_completion
            and lifecycle.completion_timeout_seconds > contract.SHORT_PATH_MAX_SECONDS
        )
        handle = (
            _long_path.wait_handle(self, provider, properties, "audience-model")
            if long_path
            else None
        )
        too_large = self._tags.fit(properties)
        if too_large:
            raise ValidationError("AudienceModel", self.node.path, too_large)
        if self._tags.rendered is not None:
            properties[contract.TAGS] = self._tags.rendered
        self._resource = ManagedResource(
            self,
            "Resource",
            resource_type=contract.AUDIENCE_MODEL_RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            removal_policy=lifecycle.removal_policy,
        )
        self._tags.attach(self._resource)
        self._wait_condition: CfnWaitCondition | None = None
        self._attributes: CustomResource | None = None
        if handle is not None:
            self._wait_condition = _long_path.wait(
                self, handle, self._resource, lifecycle.completion_timeout_seconds
            )
            self._attributes = _long_path.attributes(
                self,
                provider,
                self._resource,
                self._wait_condition,
                [contract.ATTR_AUDIENCE_MODEL_ARN, contract.ATTR_NAME],
            )

    @classmethod
    def from_audience_model_arn(
        cls, scope: Construct, construct_id: str, audience_model_arn: str
    ) -> IAudienceModel:
        """An existing audience model, by its ARN.

        :raises ValidationError: when it is not one.
        """
        reader = Reader()
        arn = reader.text("audience_model_arn", audience_model_arn, required=True)
        failures = reader.failures or list(
            check_arn(
                "audience_model_arn",
                arn,
                AUDIENCE_MODEL_ARN_PATTERN,
                "an audience model ARN",
                f"{ACCOUNT_ARN_SHAPE}audience-model/<id>",
            )
        )
        if failures:
            raise ValidationError("AudienceModel", f"{scope.node.path}/{construct_id}", failures)
        return _ImportedAudienceModel(scope, construct_id, str(arn))

    @property
    def tags(self) -> TagManager:
        """The model's tags (``ITaggable``); ``Tags.of(model).add()`` lands here."""
        return self._tags.manager

    @property
    def resource(self) -> ManagedResource:
        """The underlying custom resource (construct id ``"Resource"``)."""
        return self._resource

    @property
    def wait_condition(self) -> CfnWaitCondition | None:
        """The long path's WaitCondition (``completion_timeout`` over an hour), else None."""
        return self._wait_condition

    def apply_removal_policy(self, policy: RemovalPolicy) -> None:
        """``RETAIN`` or ``DESTROY``: CloudFormation's policy and the handler's at once."""
        self._resource.apply_removal_policy(policy)

    def _attribute(self, name: str) -> str:
        """An attribute of the custom resource, or (long path) of the attributes resource
        after the WaitCondition, so that whatever references it waits for ACTIVE."""
        source = self._resource if self._attributes is None else self._attributes
        return Token.as_string(source.get_att(name))

    @property
    def audience_model_arn(self) -> str:
        """The model's ARN (``Fn::GetAtt AudienceModelArn``)."""
        return self._attribute(contract.ATTR_AUDIENCE_MODEL_ARN)

    @property
    def audience_model_name(self) -> str:
        """The model's name, given or generated (``Fn::GetAtt Name``)."""
        return self._attribute(contract.ATTR_NAME)

    @property
    def status(self) -> str:
        """The model's status when it was last created or updated."""
        return self._attribute(contract.ATTR_STATUS)
