"""Reading the typed references constructs take: associations, keys, roles, resources.

Wherever an ARN is taken, the CDK's typed reference is accepted too: the L1
``CfnConfiguredModelAlgorithmAssociation`` (any
``IConfiguredModelAlgorithmAssociationRef``), an ``aws_kms.IKey``, an
``aws_iam.IRole``. Each reader returns what the construct needs (ARN strings,
tokens included) or records a failure that names the prop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import aws_iam as iam
from aws_cdk.interfaces.aws_cleanroomsml import IConfiguredModelAlgorithmAssociationRef

from ._props import Reader, implements, received, show, unresolved

if TYPE_CHECKING:
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

ASSOCIATION_ALLOWED = (
    "a CfnConfiguredModelAlgorithmAssociation (any IConfiguredModelAlgorithmAssociationRef) "
    "or its ARN"
)
KEY_ALLOWED = "an aws_kms.IKey"
KEY_HINT = "for a key ARN use aws_kms.Key.from_key_arn(self, 'Key', '<arn>')"
ROLE_ALLOWED = "an aws_iam.IRole"
ROLE_HINT = "for a role ARN use aws_iam.Role.from_role_arn(self, 'Role', '<arn>')"


def template_arn(template: Any) -> Any:
    """An analysis template's ARN: an ``aws_cleanrooms.CfnAnalysisTemplate``'s
    ``attr_arn``, or what was given (an ARN; checked to be a template's by the construct
    that takes it, with every other prop)."""
    if not isinstance(template, str) and isinstance(
        getattr(type(template), "attr_arn", None), property
    ):
        return template.attr_arn
    return template


def association_arn(
    reader: Reader, prop: str, value: object, arn_prop: str, arn: object, *, required: bool
) -> str | None:
    """``prop`` (a reference or an ARN) or the older ``arn_prop`` (an ARN): exactly one.

    Each given value is read (so a wrong type is reported for both) before the
    "exactly one" rule is checked."""
    if value is None and arn is None:
        if required:
            reader.fail(prop, f"is required; allowed: {ASSOCIATION_ALLOWED}")
        return None
    from_arn = (
        None
        if arn is None
        else reader.text(arn_prop, arn, allowed="a configured model algorithm association ARN")
    )
    from_value = None if value is None else _association(reader, prop, value)
    if value is not None and arn is not None:
        reader.fail(prop, f"give {prop} or {arn_prop}, not both")
        return None
    return from_value if value is not None else from_arn


def _association(reader: Reader, prop: str, value: object) -> str | None:
    if isinstance(value, str) or unresolved(value):
        return reader.text(prop, value, allowed=ASSOCIATION_ALLOWED)
    if implements(value, IConfiguredModelAlgorithmAssociationRef):
        found: Any = value
        reference = found.configured_model_algorithm_association_ref
        return str(reference.configured_model_algorithm_association_arn)
    reader.fail(prop, f"{received(value)} is not an association; allowed: {ASSOCIATION_ALLOWED}")
    return None


INSTANCE_TYPE_ALLOWED = "an InstanceType constant or InstanceType.of('ml.<family>.<size>')"


def instance_type(reader: Reader, prop: str, value: object) -> str | None:
    """An ``InstanceType``'s name: ``InstanceType.of(x)`` takes anything (a missing
    context value is None), so the name's type is checked here, naming the prop."""
    from .instance_type import InstanceType

    found = reader.instance(prop, value, InstanceType, required=True, allowed=INSTANCE_TYPE_ALLOWED)
    if found is None:
        return None
    name: object = found.name
    if not isinstance(name, str) or unresolved(name):
        reader.fail(
            prop,
            f"InstanceType.of({show(name)}): {received(name)} is not an instance type name; "
            "allowed: a name known at synth, such as InstanceType.of('ml.m5.xlarge')"
            + (
                " (app.node.try_get_context gives None for a key not set with -c)"
                if name is None
                else ""
            ),
        )
        return None
    return name


def key(reader: Reader, prop: str, value: object) -> kms.IKey | None:
    if value is None:
        return None
    # imported only when a key is given: a key object means its module is loaded anyway
    from aws_cdk import aws_kms

    found: kms.IKey | None = reader.interface(
        prop, value, aws_kms.IKey, allowed=KEY_ALLOWED, hint=KEY_HINT
    )
    return found


def bucket(reader: Reader, prop: str, value: object) -> s3.IBucket | None:
    if value is None:
        return None
    from aws_cdk import aws_s3  # as for keys: aws_s3 loads aws_kms and aws_events

    found: s3.IBucket | None = reader.interface(
        prop,
        value,
        aws_s3.IBucket,
        allowed="an aws_s3.IBucket",
        hint="for a bucket name use aws_s3.Bucket.from_bucket_name(self, 'Bucket', '<name>')",
    )
    return found


def role(reader: Reader, prop: str, value: object, *, required: bool = False) -> iam.IRole | None:
    found: iam.IRole | None = reader.interface(
        prop, value, iam.IRole, required=required, allowed=ROLE_ALLOWED, hint=ROLE_HINT
    )
    return found


def configuration(reader: Reader, prop: str, value: object) -> Any:
    """An ``IMLConfiguration`` (a dependency: the resource is deployed after it)."""
    from .ml_configuration import IMLConfiguration, MLConfiguration

    if value is None or isinstance(value, MLConfiguration):
        return value
    if not hasattr(type(value), "__jsii_type__") and isinstance(value, IMLConfiguration):
        return value
    reader.fail(
        prop,
        f"{received(value)} is not an IMLConfiguration; allowed: an MLConfiguration or "
        "MLConfiguration.from_membership_identifier(...)",
    )
    return None
