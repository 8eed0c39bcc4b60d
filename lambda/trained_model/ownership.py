"""Names, physical ids and the ownership tag (pure functions).

A model this handler creates carries the tag ``contract.RESERVED_TAG_KEY`` whose
value is ``v1.<owner>.<request>.<config>``:

- ``owner``: a digest of the stack id and logical id: which resource made it;
- ``request``: a digest of the CloudFormation request id: which create/update
  request made it (a retried delivery of the same request has the same id);
- ``config``: a digest of the immutable create parameters.

Generated names append a digest of stack id, logical id and request id to the
construct's prefix, so a retried request computes the same name (and adopts
its own model) while a replacement always gets a new one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

import contract

TAG_VERSION: Final = "v1"
DIGEST_LENGTH: Final = 16
_TRAINED_MODEL_ARN: Final = re.compile(
    r"arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/"
    r"(?P<membership>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"/trained-model/[-a-zA-Z0-9_/.]+"
)
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PHYSICAL_ID_SEPARATOR: Final = "#"


def _digest(*parts: str, length: int = DIGEST_LENGTH) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:length]


def owner_digest(stack_id: str, logical_id: str) -> str:
    return _digest(stack_id, logical_id)


def request_digest(request_id: str) -> str:
    return _digest(request_id)


def ownership_tag(stack_id: str, logical_id: str, request_id: str, config_hash: str) -> str:
    """The value of the reserved tag for a model created by this request."""
    return ".".join(
        (
            TAG_VERSION,
            owner_digest(stack_id, logical_id),
            request_digest(request_id),
            config_hash[:DIGEST_LENGTH],
        )
    )


@dataclass(frozen=True)
class Ownership:
    owner: str
    request: str
    config: str


def parse_ownership_tag(value: str | None) -> Ownership | None:
    """The parts of a reserved tag value, or None when it is not one of ours."""
    if not value:
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != TAG_VERSION:
        return None
    return Ownership(owner=parts[1], request=parts[2], config=parts[3])


def generated_name(prefix: str, stack_id: str, logical_id: str, request_id: str) -> str:
    """``<prefix>-<12 hex digits>``: the same for a retried request, new for a new one."""
    suffix = _digest(
        stack_id, logical_id, request_id, length=contract.GENERATED_NAME_SUFFIX_LENGTH - 1
    )
    return f"{prefix[: contract.GENERATED_NAME_PREFIX_MAX_LENGTH]}-{suffix}"


@dataclass(frozen=True)
class ModelId:
    """A trained model version this handler manages."""

    arn: str
    version: str | None
    membership: str

    @property
    def physical_id(self) -> str:
        if self.version:
            return f"{self.arn}{PHYSICAL_ID_SEPARATOR}{self.version}"
        return self.arn


def make_model_id(arn: str, version: str | None) -> ModelId:
    match = _TRAINED_MODEL_ARN.fullmatch(arn)
    if match is None:
        raise ValueError(f"not a trained model ARN: {arn!r}")
    return ModelId(arn=arn, version=version or None, membership=match.group("membership"))


def parse_physical_id(physical_id: str | None) -> ModelId | None:
    """The model a physical id names, or None when it is not one of ours.

    Anything else (the Provider framework's marker after a failed create, a
    malformed or foreign id) is None, and the handler never acts on it.
    """
    if not physical_id:
        return None
    arn, _, version = physical_id.partition(PHYSICAL_ID_SEPARATOR)
    if version and not _UUID.fullmatch(version):
        return None
    try:
        return make_model_id(arn, version or None)
    except ValueError:
        return None
