"""Ownership tags, generated names and physical ids (pure functions).

Every resource the handler creates carries the tag ``contract.RESERVED_TAG_KEY``:

    v2.<owner>.<request>.<identity>.<stack name>/<logical id>@<instance>

- ``owner``: a digest of the stack (its ARN without the trailing id: region, account
  and stack name) and the logical id. A stack deleted and created again under the same
  name (``cdk deploy`` after a rolled-back first deploy) owns what the first one kept;
- ``request``: a digest of the CloudFormation request that created it (a retried
  delivery of the same request has the same id);
- ``identity``: the first 16 hex digits of the resource's identity (``identity.py``);
- ``<stack name>/<logical id>``: for people, in conflict messages (cut to fit the
  tag's 256 characters);
- ``@<instance>``: 12 hex digits of the stack *id* (this life of the stack). A Create
  that CloudFormation cancelled (a sibling failed, row 11) is deleted with an id
  CloudFormation made up: the Delete finds what the Create started by its owner, its
  identity and this mark, and never touches what an earlier life of the stack kept.
- ``~<operation>`` (optional): 8 hex digits of when the stack operation that made it
  began (``DescribeStacks``' LastUpdatedTime): a rollback that goes back to the
  original stops a replacement the failed update made even once it has finished,
  never one an earlier operation made (kept by RETAIN).
  Releases up to 0.2.0 wrote no marks; their tags are read as before (and the marks are
  invisible to them: they are part of the text after the fourth dot).

Release 0.1.0 wrote ``v1.<owner>.<request>.<config>`` with the owner a digest of the
stack *id*; such tags are still read and never rewritten, so that release 0.1.0's
handler, back after a rolled-back upgrade, still knows its models.

A model trained incrementally (a version) writes this value under a key of its own,
``contract.version_tag_key(<its name>)``, never under ``RESERVED_TAG_KEY``: tags are per
ARN, and under the "shared ARN" reading of incremental training (ASSUMPTION A2) the
version lives on its base model's ARN, whose ``RESERVED_TAG_KEY`` is the base's. Its
name is what ties a version to its key: chosen before the create call (so that an
attempt whose answer was lost is found by it) and returned by every describe of the
version. A name is held by one live model at a time (A1); an INACTIVE namesake on the
same ARN shows the newer version's tag, and is never taken for it (the search for an
earlier attempt, ``engine.shared.resolve_pending``, takes the newest first; elsewhere an
INACTIVE model holds nothing).

Physical ids: ``<arn>`` or ``<arn>#<version>`` for a resource that exists, and
``pending:<scope>:<request>:<name>`` for one the poll is to create (a creation is
never started before the Provider framework's waiter runs; see ``engine``). The scope
is where the kind finds its resources by name: a membership (its id), the account
(``ACCOUNT``: the audience kinds, whose ARNs name no membership), or, for an export,
the resource it exports (its physical id). An export has no ARN of its own: its
physical id is ``<exported resource's ARN>/export-job/<name, percent-encoded>``
(``#<version>`` after it for a trained model's version).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote

import contract

TAG_V1: Final = "v1"
TAG_V2: Final = "v2"
DIGEST_LENGTH: Final = 16
INSTANCE_LENGTH: Final = 12
TAG_VALUE_MAX: Final = 256
_INSTANCE_MARK: Final = re.compile(
    r"(?P<who>.*)@(?P<instance>[0-9a-f]{12})(?:~(?P<operation>[0-9a-f]{8}))?", re.DOTALL
)
OPERATION_LENGTH: Final = 8
UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ARN: Final = (
    r"arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/"
    r"(?P<membership>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"/{segment}/[-a-zA-Z0-9_/.]+"
)
_ACCOUNT_ARN: Final = (
    r"arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:{segment}/[-a-zA-Z0-9_/.]+"
)
ACCOUNT: Final = "account"
"""The scope of a resource of the account and region, not of a membership (an audience
model, a configured audience model, an audience generation job: their ARNs name none).
``Ref.membership`` and ``Pending.membership`` hold it for such a resource."""
EXPORT_SEGMENT: Final = "/export-job/"
"""Between an exported resource's ARN and an export's (encoded) name in its physical id."""
_EXPORT_NAME: Final = r"(?P<export>[-A-Za-z0-9_.~%]+)"
_PENDING_BY_REQUEST: Final = re.compile(
    r"(?P<scope>.+?):(?P<request>[0-9a-f]{16}):(?P<name>.+)", re.DOTALL
)
"""A pending id whose scope holds colons (an export's: an ARN), cut at its request digest."""
_STACK_ARN: Final = re.compile(
    r"(?P<key>arn:[^:]+:cloudformation:[^:]*:[^:]*:stack/(?P<name>[^/]+))/.+"
)
PHYSICAL_ID_SEPARATOR: Final = "#"
PENDING_PREFIX: Final = "pending:"
NO_VERSION: Final = frozenset({"", contract.BASE_VERSION})
"""Version values that mean "no version": the API documents a base version's identifier
as "NULL", and release 0.1.0 reported that literal as an attribute."""


def digest(*parts: str, length: int = DIGEST_LENGTH) -> str:
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:length]


def stack_key(stack_id: str) -> str:
    """The stack ARN without its trailing id: the same for a stack created again."""
    match = _STACK_ARN.fullmatch(stack_id)
    return match.group("key") if match else stack_id


def stack_name(stack_id: str) -> str:
    match = _STACK_ARN.fullmatch(stack_id)
    return match.group("name") if match else stack_id


def owner(stack_id: str, logical_id: str) -> str:
    return digest(stack_key(stack_id), logical_id)


def request_digest(request_id: str) -> str:
    return digest(request_id)


def instance(stack_id: str) -> str:
    """This life of the stack: a digest of its id (a stack created again has a new id)."""
    return digest(stack_id, length=INSTANCE_LENGTH)


def operation_mark(operation: str | None) -> str | None:
    """A stack operation's mark: a digest of when it began (the part of
    ``engine.Call.stack_operation``'s answer after ``@``, which a rollback keeps)."""
    if not operation or "@" not in operation:
        return None
    return digest(operation.partition("@")[2], length=OPERATION_LENGTH)


def make_tag(
    stack_id: str,
    logical_id: str,
    request_id: str,
    identity: str,
    operation: str | None = None,
) -> str:
    """The reserved tag's value for a resource this request creates (in ``operation``,
    the stack's, when known)."""
    head = ".".join(
        (
            TAG_V2,
            owner(stack_id, logical_id),
            request_digest(request_id),
            identity[:DIGEST_LENGTH],
        )
    )
    made_in = operation_mark(operation)
    mark = f"@{instance(stack_id)}" + (f"~{made_in}" if made_in else "")
    who = f"{stack_name(stack_id)}/{logical_id}"[: TAG_VALUE_MAX - len(head) - 1 - len(mark)]
    return f"{head}.{who}{mark}"


@dataclass(frozen=True)
class Tag:
    version: str
    owner: str
    request: str
    identity: str
    who: str | None = None
    """``<stack name>/<logical id>`` (v2 only)."""
    instance: str | None = None
    """The life of the stack that created it (``instance``); None before release 0.3.0."""
    operation: str | None = None
    """The stack operation that created it (``operation_mark``), when known."""

    def owned_by(self, stack_id: str, logical_id: str) -> bool:
        if self.version == TAG_V1:
            return self.owner == digest(stack_id, logical_id)
        return self.owner == owner(stack_id, logical_id)

    def made_by(self, stack_id: str) -> bool:
        """Whether this life of the stack (its id, not only its name) created it."""
        return self.instance is not None and self.instance == instance(stack_id)


def tag_key(version_name: str | None) -> str:
    """The key a creation writes its ownership tag under: a model version's own key
    (``version_name``: the name it is created with), else ``contract.RESERVED_TAG_KEY``."""
    if version_name is None:
        return contract.RESERVED_TAG_KEY
    return contract.version_tag_key(version_name)


def own_tag_key(tags: Mapping[str, str], name: str, versioned: bool) -> str | None:
    """The key of the ownership tag of the resource named ``name`` among ``tags`` (its
    ARN's), or None when it has none.

    A version (``versioned``) reads its own key first, then ``RESERVED_TAG_KEY``
    (earlier releases wrote that one on an incremental model, whose ARN was its
    own under the "new ARN" reading); anything else reads ``RESERVED_TAG_KEY`` first,
    then the version key of its name (an incremental model the service gave no
    version).
    """
    keys = [contract.version_tag_key(name), contract.RESERVED_TAG_KEY]
    if not versioned:
        keys.reverse()
    return next((key for key in keys if key in tags), None)


def parse_tag(value: str | None) -> Tag | None:
    """The parts of a reserved tag value, or None when it is not one of ours."""
    if not value:
        return None
    parts = value.split(".", 4)
    if parts[0] == TAG_V1 and len(parts) == 4:
        return Tag(TAG_V1, parts[1], parts[2], parts[3])
    if parts[0] == TAG_V2 and len(parts) == 5:
        marked = _INSTANCE_MARK.fullmatch(parts[4])
        if marked is None:
            return Tag(TAG_V2, parts[1], parts[2], parts[3], parts[4])
        return Tag(
            TAG_V2,
            parts[1],
            parts[2],
            parts[3],
            marked.group("who"),
            marked.group("instance"),
            marked.group("operation"),
        )
    return None


def generated_name(prefix: str, stack_id: str, logical_id: str, request_id: str) -> str:
    """``<prefix>-<12 hex digits>``: the same for a retried request, new for a new one."""
    suffix = digest(
        stack_id, logical_id, request_id, length=contract.GENERATED_NAME_SUFFIX_LENGTH - 1
    )
    return f"{generated_prefix(prefix)}-{suffix}"


def generated_prefix(prefix: str) -> str:
    return prefix[: contract.GENERATED_NAME_PREFIX_MAX_LENGTH]


def is_generated_from(name: str, prefix: str) -> bool:
    """Whether ``name`` is a name ``generated_name`` makes from ``prefix``."""
    head = generated_prefix(prefix) + "-"
    suffix = name[len(head) :]
    return (
        name.startswith(head)
        and len(suffix) == contract.GENERATED_NAME_SUFFIX_LENGTH - 1
        and all(c in "0123456789abcdef" for c in suffix)
    )


@dataclass(frozen=True)
class Ref:
    """A resource (a trained model version, a channel, a job) that exists."""

    arn: str
    """Its ARN (for an export, which has none: ``export_arn``)."""
    version: str | None
    membership: str
    """Its membership's id, or ``ACCOUNT`` for a resource of the account."""

    @property
    def physical_id(self) -> str:
        if self.version:
            return f"{self.arn}{PHYSICAL_ID_SEPARATOR}{self.version}"
        return self.arn


@dataclass(frozen=True)
class Pending:
    """A resource a request asked for, which the poll creates (or finds created)."""

    membership: str
    """Its scope (``Desired.membership``): a membership's id, ``ACCOUNT``, or the physical
    id of the resource an export exports."""
    request: str
    name: str

    @property
    def physical_id(self) -> str:
        return f"{PENDING_PREFIX}{self.membership}:{self.request}:{self.name}"


def arn_pattern(segment: str) -> re.Pattern[str]:
    """The ARNs of a kind of a membership (``membership/<id>/<segment>/<id>``)."""
    return re.compile(_ARN.replace("{segment}", re.escape(segment)))


def account_arn_pattern(segment: str) -> re.Pattern[str]:
    """The ARNs of a kind of the account (``<account>:<segment>/<id>``: no membership)."""
    return re.compile(_ACCOUNT_ARN.replace("{segment}", re.escape(segment)))


ACCOUNT_SCOPE: Final = re.compile(re.escape(ACCOUNT))
"""The pending scope of a kind of the account (``parse_physical_id``)."""


def export_pattern(exported: re.Pattern[str]) -> re.Pattern[str]:
    """An export's physical id (without a version): the ARN of what it exports
    (``exported``), ``EXPORT_SEGMENT`` and its encoded name (``export_arn``)."""
    return re.compile(exported.pattern + re.escape(EXPORT_SEGMENT) + _EXPORT_NAME)


def export_arn(exported_arn: str, name: str) -> str:
    """An export's stand-in for an ARN: what it exports and its name (percent-encoded:
    a name may hold any printable character, the encoding none of ``/#:``)."""
    return f"{exported_arn}{EXPORT_SEGMENT}{quote(name, safe='')}"


def export_parts(ref: Ref) -> tuple[str, str]:
    """The ARN of what an export (``export_arn``) exports, and the export's name."""
    exported, _, encoded = ref.arn.rpartition(EXPORT_SEGMENT)
    return exported, unquote(encoded)


def make_ref(pattern: re.Pattern[str], arn: str, version: str | None) -> Ref:
    """A ``Ref``; a version of "NULL" or "" is no version."""
    match = pattern.fullmatch(arn)
    if match is None:
        raise ValueError(f"not an ARN of this kind: {arn!r}")
    if version in NO_VERSION:
        version = None
    membership = match.groupdict().get("membership") or ACCOUNT
    return Ref(arn=arn, version=version, membership=membership)


def parse_physical_id(
    pattern: re.Pattern[str], physical_id: str | None, scope: re.Pattern[str] = UUID
) -> Ref | Pending | None:
    """What a physical id names, or None when it is not one of ours.

    Anything else (the Provider framework's marker after a failed create, the id
    CloudFormation invents for a create that never answered, a foreign id) is None,
    and the handler never acts on it. ``scope``: what a pending id's scope must be (a
    membership's id; ``ACCOUNT_SCOPE``; an exported resource's physical id).
    """
    if not physical_id:
        return None
    if physical_id.startswith(PENDING_PREFIX):
        rest = physical_id[len(PENDING_PREFIX) :]
        parts = rest.split(":", 2)
        if len(parts) == 3 and scope.fullmatch(parts[0]) and parts[2]:
            return Pending(membership=parts[0], request=parts[1], name=parts[2])
        # a scope with colons (an ARN): cut where the request's digest stands; a scope a
        # membership's id or ACCOUNT never has one, so their ids parse as they always did
        cut = _PENDING_BY_REQUEST.fullmatch(rest)
        if cut is not None and scope.fullmatch(cut["scope"]):
            return Pending(membership=cut["scope"], request=cut["request"], name=cut["name"])
        return None
    arn, _, version = physical_id.partition(PHYSICAL_ID_SEPARATOR)
    if version and version not in NO_VERSION and not UUID.fullmatch(version):
        return None
    try:
        return make_ref(pattern, arn, version or None)
    except ValueError:
        return None
