"""cdk-nag findings the constructs cannot fix, acknowledged where they arise, with reasons.

Each finding is ``(rule and finding, reason)``, such as
``("IAM5[Resource::*]", "why it must be so")``: cdk-nag 3 (a validation plugin)
reads acknowledgments made with ``Validations.of(scope).acknowledge``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Validations

from constructs import IConstruct


def acknowledge(scope: IConstruct, findings: Sequence[tuple[str, str]]) -> None:
    """Acknowledge AwsSolutions ``findings`` on ``scope`` (one call for all of them)."""
    Validations.of(scope).acknowledge(
        *(
            Acknowledgment(id=f"AwsSolutions::AwsSolutions-{finding}", reason=reason)
            for finding, reason in findings
        )
    )
