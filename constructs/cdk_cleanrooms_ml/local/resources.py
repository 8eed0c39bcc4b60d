"""The emulator's Clean Rooms ML resources, each kind with its own fields.

``status`` shows them (``--json`` prints exactly these records) and ``destroy``
finds among them what a destroyed stack left. The owner of a model, channel, job
or audience resource is the ``<stack name>/<logical id>`` its ownership tag ends in
(an ML configuration has no tags: a stack's record of it says whose it is). The
audience kinds belong to the account, not to a membership; an export has neither
ARN nor tags: it is known by what it exports and its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import quote

from .._contract import RESERVED_TAG_KEY, version_tag_key

MODEL: Final = "trained-model"
CHANNEL: Final = "ml-input-channel"
JOB: Final = "trained-model-inference-job"
CONFIGURATION: Final = "ml-configuration"
MODEL_EXPORT: Final = "trained-model-export-job"
AUDIENCE_MODEL: Final = "audience-model"
CONFIGURED_AUDIENCE_MODEL: Final = "configured-audience-model"
GENERATION_JOB: Final = "audience-generation-job"
AUDIENCE_EXPORT: Final = "audience-export-job"
ACCOUNT_KINDS: Final = (AUDIENCE_MODEL, CONFIGURED_AUDIENCE_MODEL, GENERATION_JOB)
"""The account's kinds: their ARNs and records name no membership."""
EXPORTS: Final = (MODEL_EXPORT, AUDIENCE_EXPORT)
"""Kinds with no ARN and no tags: an export is what it exports and its name."""
KINDS: Final = (MODEL, CHANNEL, JOB, CONFIGURATION, MODEL_EXPORT, *ACCOUNT_KINDS, AUDIENCE_EXPORT)
EXPORT_SEGMENT: Final = "/export-job/"
"""Between what an export exports and its name in its physical id (the handler's
``ownership.export_arn``)."""

CONFIGURATION_ID_PREFIX: Final = "ml-configuration:"
"""An ML configuration's physical id: ``ml-configuration:<membership>``."""
_OWNER: Final = re.compile(
    r"(?P<stack>[A-Za-z][-A-Za-z0-9]*)/(?P<logical>[A-Za-z0-9]+)"
    r"(?:@[0-9a-f]{12}(?:~[0-9a-f]{8})?)?$"
)
"""The tag's end (``ownership.make_tag``): ``<stack>/<logical>[@<instance>[~<operation>]]``."""
GONE: Final = frozenset({"INACTIVE"})
"""A model's output or a channel's data deleted (a cancelled job ends there too)."""

Record = dict[str, Any]


def owner(tags: Mapping[str, str] | None, name: str = "", version: str | None = None) -> str | None:
    """``<stack name>/<logical id>`` from the ownership tag, or None when it has none.

    A model version (``version``) reads its own key (``version_tag_key`` of its
    ``name``) first: under the "shared ARN" reading its ARN's tags are its base
    model's too (ASSUMPTION A2).
    """
    keys = [version_tag_key(name), RESERVED_TAG_KEY]
    if not version:
        keys.reverse()
    held = tags or {}
    value = next((held[key] for key in keys if key in held), "")
    found = _OWNER.search(value)
    return f"{found['stack']}/{found['logical']}" if found else None


def owner_stack(record: Mapping[str, Any]) -> str | None:
    who = record.get("owner")
    return str(who).partition("/")[0] if who else None


def shaped(raw: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, list[Record]]:
    """The emulator's ``/_emulator/resources`` answer, each kind with its own fields."""
    found: dict[str, list[Record]] = {kind: [] for kind in KINDS}
    for kind, items in raw.items():
        for item in items:
            if kind == CONFIGURATION:
                found[kind].append(_configuration(item))
                continue
            if kind in EXPORTS:
                found[kind].append(_export(kind, item))
                continue
            record: Record = {"arn": item["arn"]}
            if kind == MODEL:
                record["version"] = item.get("versionIdentifier")
            record.update(name=item["name"], status=item["status"])
            if kind not in ACCOUNT_KINDS:
                record["membership"] = item["membershipIdentifier"]
            record["owner"] = owner(item.get("tags"), item["name"], item.get("versionIdentifier"))
            if kind == MODEL:
                record["hyperparameters"] = dict(item.get("hyperparameters") or {})
            found.setdefault(kind, []).append(record)
    return found


def _configuration(item: Mapping[str, Any]) -> Record:
    location = item.get("defaultOutputLocation") or {}
    destination = (location.get("destination") or {}).get("s3Destination") or {}
    return {
        "membership": item["membershipIdentifier"],
        "output_location": destination.get("s3Uri"),
        "role": location.get("roleArn"),
    }


def _export(kind: str, item: Mapping[str, Any]) -> Record:
    request = item.get("request") or {}
    record: Record = {"exported": item["parent"]}
    if kind == MODEL_EXPORT:
        record["version"] = request.get("trainedModelVersionIdentifier")
    record.update(name=item["name"], status=item["status"])
    if kind == AUDIENCE_EXPORT:
        record["audience_size"] = request.get("audienceSize")
    return record


def physical_id(kind: str, record: Mapping[str, Any]) -> str:
    """The physical id CloudFormation holds for the resource (as the handler writes it)."""
    if kind == CONFIGURATION:
        return f"{CONFIGURATION_ID_PREFIX}{record['membership']}"
    if kind in EXPORTS:
        arn = f"{record['exported']}{EXPORT_SEGMENT}{quote(str(record['name']), safe='')}"
    else:
        arn = str(record["arn"])
    version = record.get("version")
    return f"{arn}#{version}" if version else arn


def line(kind: str, record: Mapping[str, Any]) -> str:
    """One line of ``status``: the kind, then what tells the resource apart."""
    if kind == CONFIGURATION:
        return f"{kind}  {record['membership']}  {record['output_location'] or ''}"
    if kind in EXPORTS:
        return f"{kind}  {record['name']}  {record['status']}  of {record['exported']}"
    return f"{kind}  {record['name']}  {record['status']}  {record['arn']}"
