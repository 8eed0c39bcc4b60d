"""The ``TrainedModelExportJob`` construct: a trained model exported to a member account."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Resource, Token

from constructs import Construct

from . import _contract as contract
from . import _lifecycle, _refs
from ._props import Reader, received, unresolved
from ._provider import CleanRoomsMLProvider
from ._resource import ManagedResource, name_prefix
from ._validation import (
    TRAINED_MODEL_ARN_PATTERN,
    UUID_PATTERN,
    check_account,
    check_arn,
    check_description,
    check_membership,
    unskipped,
)
from .errors import ValidationError
from .ml_configuration import IMLConfiguration
from .trained_model import ITrainedModel, TrainedModelBase

__all__ = ["TrainedModelExportJob"]


@dataclass(frozen=True, kw_only=True)
class ExportSpec:
    """The resolved props of a ``TrainedModelExportJob``."""

    membership_identifier: str
    trained_model_arn: str
    trained_model_version_identifier: str | None
    output_account_id: str
    description: str | None
    lifecycle: _lifecycle.Lifecycle


def validate(spec: ExportSpec, skip: frozenset[str]) -> list[str]:
    """Every value rule of a ``TrainedModelExportJob`` (props in ``skip`` had a wrong type)."""

    def rules() -> Iterator[str]:
        yield from check_membership("membership_identifier", spec.membership_identifier)
        yield from check_arn(
            "trained_model",
            spec.trained_model_arn,
            TRAINED_MODEL_ARN_PATTERN,
            "a trained model ARN",
            "arn:<partition>:cleanrooms-ml:<region>:<account>:membership/<membership-uuid>"
            "/trained-model/<id>",
        )
        version = spec.trained_model_version_identifier
        if version is not None and not unresolved(version) and not UUID_PATTERN.fullmatch(version):
            yield (
                f"trained_model_version_identifier: {received(version)} is not a version "
                "identifier; allowed: a lowercase UUID (a base model has none: omit it)"
            )
        yield from check_account("output_account_id", spec.output_account_id)
        yield from check_description("description", spec.description)

    found = unskipped(rules(), skip)
    found.extend(
        _lifecycle.failures(
            spec.lifecycle,
            name_prop="trained_model_export_job_name",
            max_timeout=contract.SHORT_PATH_MAX_SECONDS,
        )
    )
    return found


def render(spec: ExportSpec, prefix: str | None) -> dict[str, Any]:
    """The ``Custom::CleanRoomsMLTrainedModelExportJob`` properties (defaults left out)."""
    props: dict[str, Any] = {
        contract.MEMBERSHIP_IDENTIFIER: spec.membership_identifier,
        contract.TRAINED_MODEL_ARN: spec.trained_model_arn,
        contract.OUTPUT_ACCOUNT_ID: spec.output_account_id,
        **_lifecycle.render(spec.lifecycle, prefix),
    }
    optional = {
        contract.TRAINED_MODEL_VERSION_IDENTIFIER: spec.trained_model_version_identifier,
        contract.DESCRIPTION: spec.description,
    }
    props.update({k: v for k, v in optional.items() if v is not None})
    return props


def _model(reader: Reader, prop: str, value: object) -> tuple[str | None, str | None]:
    """An ``ITrainedModel``'s ARN and version."""
    if value is None:
        reader.fail(prop, "is required; allowed: an ITrainedModel")
        return None, None
    if isinstance(value, TrainedModelBase) or (
        not hasattr(type(value), "__jsii_type__") and isinstance(value, ITrainedModel)
    ):
        return value.trained_model_arn, value.version_identifier
    reader.fail(
        prop,
        f"{received(value)} is not an ITrainedModel; allowed: a TrainedModel or "
        "TrainedModel.from_trained_model_arn(...)",
    )
    return None, None


class TrainedModelExportJob(Resource):
    """A Clean Rooms ML trained model export job (``Custom::CleanRoomsMLTrainedModelExportJob``):
    a trained model (a version of it) exported to a member account
    (``StartTrainedModelExportJob``), where that member's ML configuration says.

    The deployment waits (by default) until the export is ACTIVE and fails with the
    service's reason if it fails. An export has no ARN, no tags and no delete, nor a
    cancel: it is found in the model's exports by its name. So a **Delete does nothing
    it could undo**: removing the construct (or the stack, whatever its removal policy)
    leaves the export done, the model where it went. **A replacement is a second
    export**: changing a parameter (the model, its version, the account, the
    description) exports the model again under a new name, the first export stays. The
    model must be ACTIVE, as its ``TrainedModel`` waits for by default.

    :param membership_identifier: the membership (UUID) that exports (the model's).
    :param trained_model: the model to export (an ``ITrainedModel``); its
        ``version_identifier`` is exported unless ``trained_model_version_identifier`` is given.
    :param output_account_id: the member account (12 digits) that receives it.
    :param trained_model_version_identifier: the version to export (a UUID). Default: the
        model's ``version_identifier``, or none (the service's choice for a base model).
    :param ml_configuration: the membership's ``MLConfiguration``: the export is deployed
        after it. Default: none.
    :param trained_model_export_job_name: 1-63 characters. Default: generated, unique in
        the stack; a replacement gets a new one.
    :param description: up to 255 characters. Default: none.
    :param wait_for_completion: wait until the export is ACTIVE. Default: True.
    :param completion_timeout: how long to wait, whole seconds up to an hour. Default:
        one hour.

    :raises ValidationError: once, listing every invalid prop.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        membership_identifier: str,
        trained_model: ITrainedModel,
        output_account_id: str,
        trained_model_version_identifier: str | None = None,
        ml_configuration: IMLConfiguration | None = None,
        trained_model_export_job_name: str | None = None,
        description: str | None = None,
        wait_for_completion: bool | None = None,
        completion_timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        reader = Reader()
        membership = reader.text(
            "membership_identifier", membership_identifier, required=True, allowed="a UUID"
        )
        model_arn, version = _model(reader, "trained_model", trained_model)
        given_version = reader.text(
            "trained_model_version_identifier", trained_model_version_identifier
        )
        configuration = _refs.configuration(reader, "ml_configuration", ml_configuration)
        lifecycle = _lifecycle.read(
            reader,
            name_prop="trained_model_export_job_name",
            name=trained_model_export_job_name,
            tags=None,
            removal_policy=None,
            wait_for_completion=wait_for_completion,
            completion_timeout=completion_timeout,
        )
        spec = ExportSpec(
            membership_identifier=membership or "",
            trained_model_arn=model_arn or "",
            trained_model_version_identifier=version if given_version is None else given_version,
            output_account_id=reader.text(
                "output_account_id", output_account_id, required=True, allowed="12 digits"
            )
            or "",
            description=reader.text("description", description),
            lifecycle=lifecycle,
        )
        failures = reader.failures + validate(spec, frozenset(reader.failed))
        if failures:
            raise ValidationError("TrainedModelExportJob", self.node.path, failures)

        provider = CleanRoomsMLProvider.of(scope)
        provider.grant_trained_model_export(
            membership_identifier=spec.membership_identifier,
            trained_model_arn=spec.trained_model_arn,
        )
        properties = render(
            spec,
            None
            if lifecycle.name is not None
            else name_prefix(self, scope=scope, construct_id=construct_id, stack=provider.stack),
        )
        self._resource = ManagedResource(
            self,
            "Resource",
            resource_type=contract.TRAINED_MODEL_EXPORT_JOB_RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            removal_policy=lifecycle.removal_policy,
        )
        if configuration is not None:
            self._resource.node.add_dependency(configuration)

    @property
    def resource(self) -> ManagedResource:
        """The underlying custom resource (construct id ``"Resource"``)."""
        return self._resource

    @property
    def trained_model_export_job_name(self) -> str:
        """The export's name, given or generated (``Fn::GetAtt Name``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_NAME))

    @property
    def status(self) -> str:
        """The export's status when it was last created or updated."""
        return Token.as_string(self._resource.get_att(contract.ATTR_STATUS))
