"""Instance types for Clean Rooms ML training and inference (an open set).

The constants are the 133 values of the ``InstanceType`` enum (training) and the
ones only ``InferenceInstanceType`` has (inference) in the Clean Rooms ML service
model (``cleanroomsml`` 2023-09-06, botocore 1.44.5); a test keeps them in step
with it. For a type added after this release, use ``InstanceType.of("ml.x.y")``:
it is sent as it is, and the construct warns (with the closest known types) at
synth, in case it is a misspelling.
"""

from __future__ import annotations

import re
from typing import ClassVar, Final

_INSTANCE_TYPE_PATTERN: Final = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9-]+$")


class InstanceType:
    """An ML compute instance type for training or inference, such as ``ml.m5.xlarge``.

    Use a constant (``InstanceType.ML_M5_XLARGE``) or, for a type this release
    does not list yet, ``InstanceType.of("ml.m5.xlarge")``.
    """

    ML_M4_XLARGE: ClassVar[InstanceType]
    """``ml.m4.xlarge``"""
    ML_M4_2XLARGE: ClassVar[InstanceType]
    """``ml.m4.2xlarge``"""
    ML_M4_4XLARGE: ClassVar[InstanceType]
    """``ml.m4.4xlarge``"""
    ML_M4_10XLARGE: ClassVar[InstanceType]
    """``ml.m4.10xlarge``"""
    ML_M4_16XLARGE: ClassVar[InstanceType]
    """``ml.m4.16xlarge``"""
    ML_G4DN_XLARGE: ClassVar[InstanceType]
    """``ml.g4dn.xlarge``"""
    ML_G4DN_2XLARGE: ClassVar[InstanceType]
    """``ml.g4dn.2xlarge``"""
    ML_G4DN_4XLARGE: ClassVar[InstanceType]
    """``ml.g4dn.4xlarge``"""
    ML_G4DN_8XLARGE: ClassVar[InstanceType]
    """``ml.g4dn.8xlarge``"""
    ML_G4DN_12XLARGE: ClassVar[InstanceType]
    """``ml.g4dn.12xlarge``"""
    ML_G4DN_16XLARGE: ClassVar[InstanceType]
    """``ml.g4dn.16xlarge``"""
    ML_M5_LARGE: ClassVar[InstanceType]
    """``ml.m5.large``"""
    ML_M5_XLARGE: ClassVar[InstanceType]
    """``ml.m5.xlarge``"""
    ML_M5_2XLARGE: ClassVar[InstanceType]
    """``ml.m5.2xlarge``"""
    ML_M5_4XLARGE: ClassVar[InstanceType]
    """``ml.m5.4xlarge``"""
    ML_M5_12XLARGE: ClassVar[InstanceType]
    """``ml.m5.12xlarge``"""
    ML_M5_24XLARGE: ClassVar[InstanceType]
    """``ml.m5.24xlarge``"""
    ML_C4_XLARGE: ClassVar[InstanceType]
    """``ml.c4.xlarge``"""
    ML_C4_2XLARGE: ClassVar[InstanceType]
    """``ml.c4.2xlarge``"""
    ML_C4_4XLARGE: ClassVar[InstanceType]
    """``ml.c4.4xlarge``"""
    ML_C4_8XLARGE: ClassVar[InstanceType]
    """``ml.c4.8xlarge``"""
    ML_P2_XLARGE: ClassVar[InstanceType]
    """``ml.p2.xlarge``"""
    ML_P2_8XLARGE: ClassVar[InstanceType]
    """``ml.p2.8xlarge``"""
    ML_P2_16XLARGE: ClassVar[InstanceType]
    """``ml.p2.16xlarge``"""
    ML_P4D_24XLARGE: ClassVar[InstanceType]
    """``ml.p4d.24xlarge``"""
    ML_P4DE_24XLARGE: ClassVar[InstanceType]
    """``ml.p4de.24xlarge``"""
    ML_P5_48XLARGE: ClassVar[InstanceType]
    """``ml.p5.48xlarge``"""
    ML_C5_XLARGE: ClassVar[InstanceType]
    """``ml.c5.xlarge``"""
    ML_C5_2XLARGE: ClassVar[InstanceType]
    """``ml.c5.2xlarge``"""
    ML_C5_4XLARGE: ClassVar[InstanceType]
    """``ml.c5.4xlarge``"""
    ML_C5_9XLARGE: ClassVar[InstanceType]
    """``ml.c5.9xlarge``"""
    ML_C5_18XLARGE: ClassVar[InstanceType]
    """``ml.c5.18xlarge``"""
    ML_C5N_XLARGE: ClassVar[InstanceType]
    """``ml.c5n.xlarge``"""
    ML_C5N_2XLARGE: ClassVar[InstanceType]
    """``ml.c5n.2xlarge``"""
    ML_C5N_4XLARGE: ClassVar[InstanceType]
    """``ml.c5n.4xlarge``"""
    ML_C5N_9XLARGE: ClassVar[InstanceType]
    """``ml.c5n.9xlarge``"""
    ML_C5N_18XLARGE: ClassVar[InstanceType]
    """``ml.c5n.18xlarge``"""
    ML_G5_XLARGE: ClassVar[InstanceType]
    """``ml.g5.xlarge``"""
    ML_G5_2XLARGE: ClassVar[InstanceType]
    """``ml.g5.2xlarge``"""
    ML_G5_4XLARGE: ClassVar[InstanceType]
    """``ml.g5.4xlarge``"""
    ML_G5_8XLARGE: ClassVar[InstanceType]
    """``ml.g5.8xlarge``"""
    ML_G5_16XLARGE: ClassVar[InstanceType]
    """``ml.g5.16xlarge``"""
    ML_G5_12XLARGE: ClassVar[InstanceType]
    """``ml.g5.12xlarge``"""
    ML_G5_24XLARGE: ClassVar[InstanceType]
    """``ml.g5.24xlarge``"""
    ML_G5_48XLARGE: ClassVar[InstanceType]
    """``ml.g5.48xlarge``"""
    ML_TRN1_2XLARGE: ClassVar[InstanceType]
    """``ml.trn1.2xlarge``"""
    ML_TRN1_32XLARGE: ClassVar[InstanceType]
    """``ml.trn1.32xlarge``"""
    ML_TRN1N_32XLARGE: ClassVar[InstanceType]
    """``ml.trn1n.32xlarge``"""
    ML_M6I_LARGE: ClassVar[InstanceType]
    """``ml.m6i.large``"""
    ML_M6I_XLARGE: ClassVar[InstanceType]
    """``ml.m6i.xlarge``"""
    ML_M6I_2XLARGE: ClassVar[InstanceType]
    """``ml.m6i.2xlarge``"""
    ML_M6I_4XLARGE: ClassVar[InstanceType]
    """``ml.m6i.4xlarge``"""
    ML_M6I_8XLARGE: ClassVar[InstanceType]
    """``ml.m6i.8xlarge``"""
    ML_M6I_12XLARGE: ClassVar[InstanceType]
    """``ml.m6i.12xlarge``"""
    ML_M6I_16XLARGE: ClassVar[InstanceType]
    """``ml.m6i.16xlarge``"""
    ML_M6I_24XLARGE: ClassVar[InstanceType]
    """``ml.m6i.24xlarge``"""
    ML_M6I_32XLARGE: ClassVar[InstanceType]
    """``ml.m6i.32xlarge``"""
    ML_C6I_XLARGE: ClassVar[InstanceType]
    """``ml.c6i.xlarge``"""
    ML_C6I_2XLARGE: ClassVar[InstanceType]
    """``ml.c6i.2xlarge``"""
    ML_C6I_8XLARGE: ClassVar[InstanceType]
    """``ml.c6i.8xlarge``"""
    ML_C6I_4XLARGE: ClassVar[InstanceType]
    """``ml.c6i.4xlarge``"""
    ML_C6I_12XLARGE: ClassVar[InstanceType]
    """``ml.c6i.12xlarge``"""
    ML_C6I_16XLARGE: ClassVar[InstanceType]
    """``ml.c6i.16xlarge``"""
    ML_C6I_24XLARGE: ClassVar[InstanceType]
    """``ml.c6i.24xlarge``"""
    ML_C6I_32XLARGE: ClassVar[InstanceType]
    """``ml.c6i.32xlarge``"""
    ML_R5D_LARGE: ClassVar[InstanceType]
    """``ml.r5d.large``"""
    ML_R5D_XLARGE: ClassVar[InstanceType]
    """``ml.r5d.xlarge``"""
    ML_R5D_2XLARGE: ClassVar[InstanceType]
    """``ml.r5d.2xlarge``"""
    ML_R5D_4XLARGE: ClassVar[InstanceType]
    """``ml.r5d.4xlarge``"""
    ML_R5D_8XLARGE: ClassVar[InstanceType]
    """``ml.r5d.8xlarge``"""
    ML_R5D_12XLARGE: ClassVar[InstanceType]
    """``ml.r5d.12xlarge``"""
    ML_R5D_16XLARGE: ClassVar[InstanceType]
    """``ml.r5d.16xlarge``"""
    ML_R5D_24XLARGE: ClassVar[InstanceType]
    """``ml.r5d.24xlarge``"""
    ML_T3_MEDIUM: ClassVar[InstanceType]
    """``ml.t3.medium``"""
    ML_T3_LARGE: ClassVar[InstanceType]
    """``ml.t3.large``"""
    ML_T3_XLARGE: ClassVar[InstanceType]
    """``ml.t3.xlarge``"""
    ML_T3_2XLARGE: ClassVar[InstanceType]
    """``ml.t3.2xlarge``"""
    ML_R5_LARGE: ClassVar[InstanceType]
    """``ml.r5.large``"""
    ML_R5_XLARGE: ClassVar[InstanceType]
    """``ml.r5.xlarge``"""
    ML_R5_2XLARGE: ClassVar[InstanceType]
    """``ml.r5.2xlarge``"""
    ML_R5_4XLARGE: ClassVar[InstanceType]
    """``ml.r5.4xlarge``"""
    ML_R5_8XLARGE: ClassVar[InstanceType]
    """``ml.r5.8xlarge``"""
    ML_R5_12XLARGE: ClassVar[InstanceType]
    """``ml.r5.12xlarge``"""
    ML_R5_16XLARGE: ClassVar[InstanceType]
    """``ml.r5.16xlarge``"""
    ML_R5_24XLARGE: ClassVar[InstanceType]
    """``ml.r5.24xlarge``"""
    ML_C7I_LARGE: ClassVar[InstanceType]
    """``ml.c7i.large``"""
    ML_C7I_XLARGE: ClassVar[InstanceType]
    """``ml.c7i.xlarge``"""
    ML_C7I_2XLARGE: ClassVar[InstanceType]
    """``ml.c7i.2xlarge``"""
    ML_C7I_4XLARGE: ClassVar[InstanceType]
    """``ml.c7i.4xlarge``"""
    ML_C7I_8XLARGE: ClassVar[InstanceType]
    """``ml.c7i.8xlarge``"""
    ML_C7I_12XLARGE: ClassVar[InstanceType]
    """``ml.c7i.12xlarge``"""
    ML_C7I_16XLARGE: ClassVar[InstanceType]
    """``ml.c7i.16xlarge``"""
    ML_C7I_24XLARGE: ClassVar[InstanceType]
    """``ml.c7i.24xlarge``"""
    ML_C7I_48XLARGE: ClassVar[InstanceType]
    """``ml.c7i.48xlarge``"""
    ML_M7I_LARGE: ClassVar[InstanceType]
    """``ml.m7i.large``"""
    ML_M7I_XLARGE: ClassVar[InstanceType]
    """``ml.m7i.xlarge``"""
    ML_M7I_2XLARGE: ClassVar[InstanceType]
    """``ml.m7i.2xlarge``"""
    ML_M7I_4XLARGE: ClassVar[InstanceType]
    """``ml.m7i.4xlarge``"""
    ML_M7I_8XLARGE: ClassVar[InstanceType]
    """``ml.m7i.8xlarge``"""
    ML_M7I_12XLARGE: ClassVar[InstanceType]
    """``ml.m7i.12xlarge``"""
    ML_M7I_16XLARGE: ClassVar[InstanceType]
    """``ml.m7i.16xlarge``"""
    ML_M7I_24XLARGE: ClassVar[InstanceType]
    """``ml.m7i.24xlarge``"""
    ML_M7I_48XLARGE: ClassVar[InstanceType]
    """``ml.m7i.48xlarge``"""
    ML_R7I_LARGE: ClassVar[InstanceType]
    """``ml.r7i.large``"""
    ML_R7I_XLARGE: ClassVar[InstanceType]
    """``ml.r7i.xlarge``"""
    ML_R7I_2XLARGE: ClassVar[InstanceType]
    """``ml.r7i.2xlarge``"""
    ML_R7I_4XLARGE: ClassVar[InstanceType]
    """``ml.r7i.4xlarge``"""
    ML_R7I_8XLARGE: ClassVar[InstanceType]
    """``ml.r7i.8xlarge``"""
    ML_R7I_12XLARGE: ClassVar[InstanceType]
    """``ml.r7i.12xlarge``"""
    ML_R7I_16XLARGE: ClassVar[InstanceType]
    """``ml.r7i.16xlarge``"""
    ML_R7I_24XLARGE: ClassVar[InstanceType]
    """``ml.r7i.24xlarge``"""
    ML_R7I_48XLARGE: ClassVar[InstanceType]
    """``ml.r7i.48xlarge``"""
    ML_G6_XLARGE: ClassVar[InstanceType]
    """``ml.g6.xlarge``"""
    ML_G6_2XLARGE: ClassVar[InstanceType]
    """``ml.g6.2xlarge``"""
    ML_G6_4XLARGE: ClassVar[InstanceType]
    """``ml.g6.4xlarge``"""
    ML_G6_8XLARGE: ClassVar[InstanceType]
    """``ml.g6.8xlarge``"""
    ML_G6_12XLARGE: ClassVar[InstanceType]
    """``ml.g6.12xlarge``"""
    ML_G6_16XLARGE: ClassVar[InstanceType]
    """``ml.g6.16xlarge``"""
    ML_G6_24XLARGE: ClassVar[InstanceType]
    """``ml.g6.24xlarge``"""
    ML_G6_48XLARGE: ClassVar[InstanceType]
    """``ml.g6.48xlarge``"""
    ML_G6E_XLARGE: ClassVar[InstanceType]
    """``ml.g6e.xlarge``"""
    ML_G6E_2XLARGE: ClassVar[InstanceType]
    """``ml.g6e.2xlarge``"""
    ML_G6E_4XLARGE: ClassVar[InstanceType]
    """``ml.g6e.4xlarge``"""
    ML_G6E_8XLARGE: ClassVar[InstanceType]
    """``ml.g6e.8xlarge``"""
    ML_G6E_12XLARGE: ClassVar[InstanceType]
    """``ml.g6e.12xlarge``"""
    ML_G6E_16XLARGE: ClassVar[InstanceType]
    """``ml.g6e.16xlarge``"""
    ML_G6E_24XLARGE: ClassVar[InstanceType]
    """``ml.g6e.24xlarge``"""
    ML_G6E_48XLARGE: ClassVar[InstanceType]
    """``ml.g6e.48xlarge``"""
    ML_P5EN_48XLARGE: ClassVar[InstanceType]
    """``ml.p5en.48xlarge``"""
    ML_P3_2XLARGE: ClassVar[InstanceType]
    """``ml.p3.2xlarge``"""
    ML_P3_8XLARGE: ClassVar[InstanceType]
    """``ml.p3.8xlarge``"""
    ML_P3_16XLARGE: ClassVar[InstanceType]
    """``ml.p3.16xlarge``"""
    ML_P3DN_24XLARGE: ClassVar[InstanceType]
    """``ml.p3dn.24xlarge``"""

    __slots__ = ("_name",)

    ML_R6I_16XLARGE: ClassVar[InstanceType]
    """``ml.r6i.16xlarge`` (inference only)"""
    ML_R6I_8XLARGE: ClassVar[InstanceType]
    """``ml.r6i.8xlarge`` (inference only)"""
    ML_R6I_LARGE: ClassVar[InstanceType]
    """``ml.r6i.large`` (inference only)"""
    ML_C6I_LARGE: ClassVar[InstanceType]
    """``ml.c6i.large`` (inference only)"""
    ML_R6I_32XLARGE: ClassVar[InstanceType]
    """``ml.r6i.32xlarge`` (inference only)"""
    ML_R6I_XLARGE: ClassVar[InstanceType]
    """``ml.r6i.xlarge`` (inference only)"""
    ML_R6I_12XLARGE: ClassVar[InstanceType]
    """``ml.r6i.12xlarge`` (inference only)"""
    ML_R6I_24XLARGE: ClassVar[InstanceType]
    """``ml.r6i.24xlarge`` (inference only)"""
    ML_R6I_2XLARGE: ClassVar[InstanceType]
    """``ml.r6i.2xlarge`` (inference only)"""
    ML_R6I_4XLARGE: ClassVar[InstanceType]
    """``ml.r6i.4xlarge`` (inference only)"""

    def __init__(self, name: str) -> None:
        self._name = name

    @classmethod
    def of(cls, name: str) -> InstanceType:
        """An instance type by its API name, such as ``"ml.m5.xlarge"``.

        The name is checked at synth time against the ``ml.<family>.<size>`` shape
        (tokens are not allowed here: the instance type is part of the model's
        identity and must be known when the app is synthesized).
        """
        return cls(name)

    @property
    def name(self) -> str:
        """The API name of the instance type, such as ``"ml.m5.xlarge"``."""
        return self._name

    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        """As it is written: ``InstanceType.ML_M5_XLARGE``, or ``InstanceType.of('ml.x.y')``."""
        constant = _constant(self._name) if isinstance(self._name, str) else ""
        known = constant and getattr(InstanceType, constant, None) == self
        return f"InstanceType.{constant}" if known else f"InstanceType.of({self._name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InstanceType) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)


_KNOWN: Final[tuple[str, ...]] = (
    "ml.m4.xlarge",
    "ml.m4.2xlarge",
    "ml.m4.4xlarge",
    "ml.m4.10xlarge",
    "ml.m4.16xlarge",
    "ml.g4dn.xlarge",
    "ml.g4dn.2xlarge",
    "ml.g4dn.4xlarge",
    "ml.g4dn.8xlarge",
    "ml.g4dn.12xlarge",
    "ml.g4dn.16xlarge",
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.m5.2xlarge",
    "ml.m5.4xlarge",
    "ml.m5.12xlarge",
    "ml.m5.24xlarge",
    "ml.c4.xlarge",
    "ml.c4.2xlarge",
    "ml.c4.4xlarge",
    "ml.c4.8xlarge",
    "ml.p2.xlarge",
    "ml.p2.8xlarge",
    "ml.p2.16xlarge",
    "ml.p4d.24xlarge",
    "ml.p4de.24xlarge",
    "ml.p5.48xlarge",
    "ml.c5.xlarge",
    "ml.c5.2xlarge",
    "ml.c5.4xlarge",
    "ml.c5.9xlarge",
    "ml.c5.18xlarge",
    "ml.c5n.xlarge",
    "ml.c5n.2xlarge",
    "ml.c5n.4xlarge",
    "ml.c5n.9xlarge",
    "ml.c5n.18xlarge",
    "ml.g5.xlarge",
    "ml.g5.2xlarge",
    "ml.g5.4xlarge",
    "ml.g5.8xlarge",
    "ml.g5.16xlarge",
    "ml.g5.12xlarge",
    "ml.g5.24xlarge",
    "ml.g5.48xlarge",
    "ml.trn1.2xlarge",
    "ml.trn1.32xlarge",
    "ml.trn1n.32xlarge",
    "ml.m6i.large",
    "ml.m6i.xlarge",
    "ml.m6i.2xlarge",
    "ml.m6i.4xlarge",
    "ml.m6i.8xlarge",
    "ml.m6i.12xlarge",
    "ml.m6i.16xlarge",
    "ml.m6i.24xlarge",
    "ml.m6i.32xlarge",
    "ml.c6i.xlarge",
    "ml.c6i.2xlarge",
    "ml.c6i.8xlarge",
    "ml.c6i.4xlarge",
    "ml.c6i.12xlarge",
    "ml.c6i.16xlarge",
    "ml.c6i.24xlarge",
    "ml.c6i.32xlarge",
    "ml.r5d.large",
    "ml.r5d.xlarge",
    "ml.r5d.2xlarge",
    "ml.r5d.4xlarge",
    "ml.r5d.8xlarge",
    "ml.r5d.12xlarge",
    "ml.r5d.16xlarge",
    "ml.r5d.24xlarge",
    "ml.t3.medium",
    "ml.t3.large",
    "ml.t3.xlarge",
    "ml.t3.2xlarge",
    "ml.r5.large",
    "ml.r5.xlarge",
    "ml.r5.2xlarge",
    "ml.r5.4xlarge",
    "ml.r5.8xlarge",
    "ml.r5.12xlarge",
    "ml.r5.16xlarge",
    "ml.r5.24xlarge",
    "ml.c7i.large",
    "ml.c7i.xlarge",
    "ml.c7i.2xlarge",
    "ml.c7i.4xlarge",
    "ml.c7i.8xlarge",
    "ml.c7i.12xlarge",
    "ml.c7i.16xlarge",
    "ml.c7i.24xlarge",
    "ml.c7i.48xlarge",
    "ml.m7i.large",
    "ml.m7i.xlarge",
    "ml.m7i.2xlarge",
    "ml.m7i.4xlarge",
    "ml.m7i.8xlarge",
    "ml.m7i.12xlarge",
    "ml.m7i.16xlarge",
    "ml.m7i.24xlarge",
    "ml.m7i.48xlarge",
    "ml.r7i.large",
    "ml.r7i.xlarge",
    "ml.r7i.2xlarge",
    "ml.r7i.4xlarge",
    "ml.r7i.8xlarge",
    "ml.r7i.12xlarge",
    "ml.r7i.16xlarge",
    "ml.r7i.24xlarge",
    "ml.r7i.48xlarge",
    "ml.g6.xlarge",
    "ml.g6.2xlarge",
    "ml.g6.4xlarge",
    "ml.g6.8xlarge",
    "ml.g6.12xlarge",
    "ml.g6.16xlarge",
    "ml.g6.24xlarge",
    "ml.g6.48xlarge",
    "ml.g6e.xlarge",
    "ml.g6e.2xlarge",
    "ml.g6e.4xlarge",
    "ml.g6e.8xlarge",
    "ml.g6e.12xlarge",
    "ml.g6e.16xlarge",
    "ml.g6e.24xlarge",
    "ml.g6e.48xlarge",
    "ml.p5en.48xlarge",
    "ml.p3.2xlarge",
    "ml.p3.8xlarge",
    "ml.p3.16xlarge",
    "ml.p3dn.24xlarge",
)
"""Every instance type the service model lists, in its order."""


def _constant(name: str) -> str:
    """The constant's name for an instance type: ``ml.m5.xlarge`` -> ``ML_M5_XLARGE``."""
    return name.upper().replace(".", "_").replace("-", "_")


for _value in _KNOWN:
    setattr(InstanceType, _constant(_value), InstanceType(_value))


def is_well_formed_instance_type(name: str) -> bool:
    """Whether ``name`` has the shape of a training instance type (``ml.x.y``)."""
    return bool(_INSTANCE_TYPE_PATTERN.match(name))


def known_instance_types() -> tuple[str, ...]:
    """The instance types this release knows from the service model."""
    return _KNOWN


_INFERENCE: Final[tuple[str, ...]] = (
    "ml.r7i.48xlarge",
    "ml.r6i.16xlarge",
    "ml.m6i.xlarge",
    "ml.m5.4xlarge",
    "ml.p2.xlarge",
    "ml.m4.16xlarge",
    "ml.r7i.16xlarge",
    "ml.m7i.xlarge",
    "ml.m6i.12xlarge",
    "ml.r7i.8xlarge",
    "ml.r7i.large",
    "ml.m7i.12xlarge",
    "ml.m6i.24xlarge",
    "ml.m7i.24xlarge",
    "ml.r6i.8xlarge",
    "ml.r6i.large",
    "ml.g5.2xlarge",
    "ml.m5.large",
    "ml.m7i.48xlarge",
    "ml.m6i.16xlarge",
    "ml.p2.16xlarge",
    "ml.g5.4xlarge",
    "ml.m7i.16xlarge",
    "ml.c4.2xlarge",
    "ml.c5.2xlarge",
    "ml.c6i.32xlarge",
    "ml.c4.4xlarge",
    "ml.g5.8xlarge",
    "ml.c6i.xlarge",
    "ml.c5.4xlarge",
    "ml.g4dn.xlarge",
    "ml.c7i.xlarge",
    "ml.c6i.12xlarge",
    "ml.g4dn.12xlarge",
    "ml.c7i.12xlarge",
    "ml.c6i.24xlarge",
    "ml.g4dn.2xlarge",
    "ml.c7i.24xlarge",
    "ml.c7i.2xlarge",
    "ml.c4.8xlarge",
    "ml.c6i.2xlarge",
    "ml.g4dn.4xlarge",
    "ml.c7i.48xlarge",
    "ml.c7i.4xlarge",
    "ml.c6i.16xlarge",
    "ml.c5.9xlarge",
    "ml.g4dn.16xlarge",
    "ml.c7i.16xlarge",
    "ml.c6i.4xlarge",
    "ml.c5.xlarge",
    "ml.c4.xlarge",
    "ml.g4dn.8xlarge",
    "ml.c7i.8xlarge",
    "ml.c7i.large",
    "ml.g5.xlarge",
    "ml.c6i.8xlarge",
    "ml.c6i.large",
    "ml.g5.12xlarge",
    "ml.g5.24xlarge",
    "ml.m7i.2xlarge",
    "ml.c5.18xlarge",
    "ml.g5.48xlarge",
    "ml.m6i.2xlarge",
    "ml.g5.16xlarge",
    "ml.m7i.4xlarge",
    "ml.r6i.32xlarge",
    "ml.m6i.4xlarge",
    "ml.m5.xlarge",
    "ml.m4.10xlarge",
    "ml.r6i.xlarge",
    "ml.m5.12xlarge",
    "ml.m4.xlarge",
    "ml.r7i.2xlarge",
    "ml.r7i.xlarge",
    "ml.r6i.12xlarge",
    "ml.m5.24xlarge",
    "ml.r7i.12xlarge",
    "ml.m7i.8xlarge",
    "ml.m7i.large",
    "ml.r6i.24xlarge",
    "ml.r6i.2xlarge",
    "ml.m4.2xlarge",
    "ml.r7i.24xlarge",
    "ml.r7i.4xlarge",
    "ml.m6i.8xlarge",
    "ml.m6i.large",
    "ml.m5.2xlarge",
    "ml.p2.8xlarge",
    "ml.r6i.4xlarge",
    "ml.m6i.32xlarge",
    "ml.m4.4xlarge",
    "ml.p3.16xlarge",
    "ml.p3.2xlarge",
    "ml.p3.8xlarge",
)
"""Every inference instance type the service model lists (``InferenceInstanceType``), in its
order; ``InstanceType.of`` names the others."""


def known_inference_instance_types() -> tuple[str, ...]:
    """The inference instance types this release knows from the service model."""
    return _INFERENCE


for _value in _INFERENCE:
    if _value not in _KNOWN:
        setattr(
            InstanceType, _value.upper().replace(".", "_").replace("-", "_"), InstanceType(_value)
        )
