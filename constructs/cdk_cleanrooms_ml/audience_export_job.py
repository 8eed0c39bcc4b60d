"""The ``AudienceExportJob`` construct: a generated audience exported, at one of its sizes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Resource, Token

from constructs import Construct

from . import _contract as contract
from . import _lifecycle
from ._props import Reader, received
from ._provider import CleanRoomsMLProvider
from ._resource import ManagedResource, name_prefix
from ._validation import (
    ACCOUNT_ARN_SHAPE,
    AUDIENCE_GENERATION_JOB_ARN_PATTERN,
    check_arn,
    check_description,
    check_whole_in_range,
    unskipped,
)
from .audience_generation_job import AudienceGenerationJobBase, IAudienceGenerationJob
from .configured_audience_model import (
    ABSOLUTE_SIZE_RANGE,
    PERCENTAGE_SIZE_RANGE,
    AudienceSizeType,
)
from .errors import ValidationError

__all__ = ["AudienceExportJob", "AudienceSize"]


@dataclass(frozen=True)
class AudienceSize:
    """The size of an audience to export: one of its configured audience model's sizes.

    :param size_type: ``ABSOLUTE`` (identifiers) or ``PERCENTAGE``.
    :param value: 1-20,000,000 identifiers, or 1-100 percent.
    """

    size_type: AudienceSizeType
    value: int


@dataclass(frozen=True, kw_only=True)
class AudienceExportSpec:
    """The resolved props of an ``AudienceExportJob``."""

    audience_generation_job_arn: str
    size_type: str
    size_value: float | None
    description: str | None
    lifecycle: _lifecycle.Lifecycle


def validate(spec: AudienceExportSpec, skip: frozenset[str]) -> list[str]:
    """Every value rule of an ``AudienceExportJob`` (props in ``skip`` had a wrong type)."""

    def rules() -> Iterator[str]:
        yield from check_arn(
            "audience_generation_job",
            spec.audience_generation_job_arn,
            AUDIENCE_GENERATION_JOB_ARN_PATTERN,
            "an audience generation job ARN",
            f"{ACCOUNT_ARN_SHAPE}audience-generation-job/<id>",
        )
        bounds, unit = (
            (PERCENTAGE_SIZE_RANGE, "percent")
            if spec.size_type == AudienceSizeType.PERCENTAGE.value
            else (ABSOLUTE_SIZE_RANGE, "identifiers")
        )
        yield from check_whole_in_range("audience_size.value", spec.size_value, bounds, unit)
        yield from check_description("description", spec.description)

    found = unskipped(rules(), skip)
    found.extend(
        _lifecycle.failures(
            spec.lifecycle,
            name_prop="audience_export_job_name",
            max_timeout=contract.SHORT_PATH_MAX_SECONDS,
        )
    )
    return found


def render(spec: AudienceExportSpec, prefix: str | None) -> dict[str, Any]:
    """The ``Custom::CleanRoomsMLAudienceExportJob`` properties (defaults left out)."""
    value = spec.size_value
    props: dict[str, Any] = {
        contract.AUDIENCE_GENERATION_JOB_ARN: spec.audience_generation_job_arn,
        contract.AUDIENCE_SIZE_TYPE: spec.size_type,
        contract.AUDIENCE_SIZE_VALUE: int(value)
        if value is not None and float(value).is_integer()
        else value,
        **_lifecycle.render(spec.lifecycle, prefix),
    }
    if spec.description is not None:
        props[contract.DESCRIPTION] = spec.description
    return props


def audience_generation_job_arn(reader: Reader, prop: str, value: object) -> str | None:
    """An ``IAudienceGenerationJob``'s ARN."""
    if value is None:
        reader.fail(prop, "is required; allowed: an IAudienceGenerationJob")
        return None
    if isinstance(value, AudienceGenerationJobBase) or (
        not hasattr(type(value), "__jsii_type__") and isinstance(value, IAudienceGenerationJob)
    ):
        return value.audience_generation_job_arn
    reader.fail(
        prop,
        f"{received(value)} is not an IAudienceGenerationJob; allowed: an "
        "AudienceGenerationJob or AudienceGenerationJob.from_audience_generation_job_arn(...)",
    )
    return None


class AudienceExportJob(Resource):
    """A Clean Rooms ML audience export job (``Custom::CleanRoomsMLAudienceExportJob``): a
    generated audience exported at one of its configured audience model's sizes
    (``StartAudienceExportJob``), to that model's output location.

    The deployment waits (by default) until the export is ACTIVE and fails with the
    service's reason if it fails. An export has no ARN, no tags and no delete, nor a
    cancel: it is found in its generation job's exports by its name. So a **Delete
    does nothing it could undo**: removing the construct (or the stack, whatever its
    removal policy) leaves the exported audience where it went. **A replacement is a
    second export**: changing a parameter exports the audience again under a new name,
    the first export stays.

    :param audience_generation_job: the job whose audience to export (ACTIVE, as an
        ``AudienceGenerationJob`` waits for by default).
    :param audience_size: the size to export, one its configured audience model has.
    :param audience_export_job_name: 1-63 characters. Default: generated, unique in the
        stack; a replacement gets a new one.
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
        audience_generation_job: IAudienceGenerationJob,
        audience_size: AudienceSize,
        audience_export_job_name: str | None = None,
        description: str | None = None,
        wait_for_completion: bool | None = None,
        completion_timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        reader = Reader()
        job = audience_generation_job_arn(
            reader, "audience_generation_job", audience_generation_job
        )
        size = reader.instance(
            "audience_size",
            audience_size,
            AudienceSize,
            required=True,
            allowed="an AudienceSize, e.g. AudienceSize(AudienceSizeType.ABSOLUTE, 10000)",
        )
        size_type = value = None
        if size is not None:
            size_type = reader.choice(
                "audience_size.size_type", size.size_type, AudienceSizeType, required=True
            )
            value = reader.whole("audience_size.value", size.value, required=True)
        lifecycle = _lifecycle.read(
            reader,
            name_prop="audience_export_job_name",
            name=audience_export_job_name,
            tags=None,
            removal_policy=None,
            wait_for_completion=wait_for_completion,
            completion_timeout=completion_timeout,
        )
        spec = AudienceExportSpec(
            audience_generation_job_arn=job or "",
            size_type=size_type.value if size_type else "",
            size_value=value,
            description=reader.text("description", description),
            lifecycle=lifecycle,
        )
        failures = reader.failures + validate(spec, frozenset(reader.failed))
        if failures:
            raise ValidationError("AudienceExportJob", self.node.path, failures)

        provider = CleanRoomsMLProvider.of(scope)
        provider.grant_audience_export(audience_generation_job_arn=spec.audience_generation_job_arn)
        properties = render(
            spec,
            None
            if lifecycle.name is not None
            else name_prefix(self, scope=scope, construct_id=construct_id, stack=provider.stack),
        )
        self._resource = ManagedResource(
            self,
            "Resource",
            resource_type=contract.AUDIENCE_EXPORT_JOB_RESOURCE_TYPE,
            service_token=provider.service_token,
            properties=properties,
            removal_policy=lifecycle.removal_policy,
        )

    @property
    def resource(self) -> ManagedResource:
        """The underlying custom resource (construct id ``"Resource"``)."""
        return self._resource

    @property
    def audience_export_job_name(self) -> str:
        """The export's name, given or generated (``Fn::GetAtt Name``)."""
        return Token.as_string(self._resource.get_att(contract.ATTR_NAME))

    @property
    def status(self) -> str:
        """The export's status when it was last created or updated."""
        return Token.as_string(self._resource.get_att(contract.ATTR_STATUS))

    @property
    def output_location(self) -> str:
        """Where the audience went (``Fn::GetAtt OutputLocation``), once it is ACTIVE."""
        return Token.as_string(self._resource.get_att(contract.ATTR_OUTPUT_LOCATION))
