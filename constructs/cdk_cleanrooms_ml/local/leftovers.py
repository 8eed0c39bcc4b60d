"""What ``destroy`` leaves on the local cloud, and how the command clears it.

``RETAIN`` (the constructs' default) keeps a resource when its stack is deleted,
as CloudFormation does on AWS: the emulator keeps the stack's trained models,
channels, running inference jobs, ML configurations and audience resources until
``down``. After ``cdk destroy`` the command names what the destroyed stacks left;
``--purge`` deletes it through the API, as a user would by hand
(``CancelTrainedModel`` for a training still running, ``DeleteTrainedModelOutput``,
``DeleteMLInputChannelData``, ``CancelTrainedModelInferenceJob`` for a running
job, ``DeleteMLConfiguration``, ``DeleteAudienceGenerationJob``,
``DeleteConfiguredAudienceModel``, ``DeleteAudienceModel``: in that order, as an
audience model is not deleted while a configured one uses it), and waits until it
is gone. A finished inference job and an export are records the API cannot delete
(on AWS too): they are neither named nor purged.

A model, channel or job belongs to the stack its ownership tag names; an ML
configuration has no tags, so the stack's own resource list, read before the
stack is destroyed, says whose it is (kept in the cloud's folder, for a later
``destroy --purge``). Whatever a live stack still holds is never touched.

MiniStack deletes a destroyed (or rolled-back) stack's Lambda functions but leaves
their worker processes running (its CloudFormation drops a function without
stopping its warm workers, and no API reaches them afterwards): ``stop_workers``
ends every worker whose function is gone (found through ``/proc``, on Linux).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from . import processes
from .cloud import REGION, Cloud
from .resources import (
    AUDIENCE_MODEL,
    CHANNEL,
    CONFIGURATION,
    CONFIGURED_AUDIENCE_MODEL,
    EXPORTS,
    GENERATION_JOB,
    GONE,
    JOB,
    KINDS,
    MODEL,
    Record,
    line,
    owner_stack,
    physical_id,
    shaped,
)

RECORD_FILE: Final = "destroyed-stacks.json"
"""In the cloud's folder: each destroyed stack's Clean Rooms ML physical ids."""
RUNNING: Final = frozenset({"CREATE_PENDING", "CREATE_IN_PROGRESS"})
DELETABLE: Final = frozenset({"ACTIVE", "CREATE_FAILED", "DELETE_FAILED", "CANCEL_FAILED"})
DELETING: Final = frozenset({"DELETE_PENDING", "DELETE_IN_PROGRESS"})
"""An audience resource on its way out (then gone from the emulator's lists)."""
_DELETE_AUDIENCE: Final = {
    GENERATION_JOB: ("delete_audience_generation_job", "audienceGenerationJobArn"),
    CONFIGURED_AUDIENCE_MODEL: ("delete_configured_audience_model", "configuredAudienceModelArn"),
    AUDIENCE_MODEL: ("delete_audience_model", "audienceModelArn"),
}
"""The account's kinds in the order a purge deletes them (what uses one goes first)."""
_DESTROYED: Final = re.compile(r"\s(\S+): destroyed\s*$")
"""The aws-cdk CLI's ``✅  <stack>: destroyed`` line."""
_FUNCTION_NAME: Final = "AWS_LAMBDA_FUNCTION_NAME"
_OURS: Final = "Custom::CleanRoomsML"


@dataclass(frozen=True)
class Stack:
    """A stack of the local cloud and its Clean Rooms ML resources."""

    name: str
    clean_rooms: frozenset[str]
    """The physical ids of its ``Custom::CleanRoomsML*`` resources."""


def _client(cloud: Cloud, service: str, endpoint_url: str) -> Any:
    import boto3  # the `local` extra; imported here so `--help` does not pay for it

    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def stacks(cloud: Cloud) -> dict[str, Stack]:
    """Every stack MiniStack holds (deleted ones aside), with its Clean Rooms ML ids."""
    from botocore.exceptions import ClientError

    cloudformation = _client(cloud, "cloudformation", cloud.ministack_url)
    found = {}
    for page in cloudformation.get_paginator("list_stacks").paginate():
        for summary in page["StackSummaries"]:
            if summary["StackStatus"] == "DELETE_COMPLETE":
                continue
            ours = set()
            listing = cloudformation.get_paginator("list_stack_resources")
            with contextlib.suppress(ClientError):  # a stack deleted meanwhile: none
                for resources in listing.paginate(StackName=summary["StackId"]):
                    for resource in resources["StackResourceSummaries"]:
                        physical = resource.get("PhysicalResourceId")
                        if physical and resource["ResourceType"].startswith(_OURS):
                            ours.add(physical)
            found[summary["StackName"]] = Stack(summary["StackName"], frozenset(ours))
    return found


def destroyed(
    before: Mapping[str, Stack], after: Collection[str], output: Iterable[str]
) -> set[str]:
    """The stacks a ``cdk destroy`` removed: gone since ``before``, or said to be
    destroyed in its ``output`` (a stack destroyed earlier is named there again)."""
    named = {found[1] for line in output if (found := _DESTROYED.search(line))}
    return {name for name in (set(before) | named) if name not in after}


def remember(cloud: Cloud, gone: Iterable[Stack]) -> dict[str, list[str]]:
    """Add the destroyed stacks' Clean Rooms ML ids to the cloud's record; the record."""
    path = cloud.dir / RECORD_FILE
    try:
        record: dict[str, list[str]] = json.loads(path.read_text())
    except (OSError, ValueError):
        record = {}
    for stack in gone:
        record[stack.name] = sorted(set(record.get(stack.name, [])) | stack.clean_rooms)
    path.write_text(json.dumps(record, indent=2))
    return record


def _remains(kind: str, record: Mapping[str, Any]) -> bool:
    if kind == CONFIGURATION:
        return True
    if kind in EXPORTS:
        return False  # an export cannot be undone
    if kind == JOB:
        return record["status"] in RUNNING  # a finished job cannot be deleted
    if kind in _DELETE_AUDIENCE:
        return record["status"] not in DELETING  # a deleted one is gone from the list
    return record["status"] not in GONE


def left(
    resources: Mapping[str, Iterable[Record]],
    gone: Collection[str],
    recorded: Mapping[str, Iterable[str]],
    live: Iterable[Stack],
) -> list[tuple[str, Record]]:
    """What the ``gone`` stacks left among ``resources`` (``shaped``), by kind: theirs by
    ownership tag or by ``recorded`` physical id, not held by a ``live`` stack."""
    ids = {physical for name in gone for physical in recorded.get(name, ())}
    held = {physical for stack in live for physical in stack.clean_rooms}
    found = []
    for kind in KINDS:
        for record in resources.get(kind, ()):
            physical = physical_id(kind, record)
            theirs = owner_stack(record) in gone or physical in ids
            if theirs and physical not in held and _remains(kind, record):
                found.append((kind, record))
    return found


def _action(kind: str, record: Mapping[str, Any]) -> tuple[str, dict[str, str]] | None:
    """The API call that removes ``record`` in its current status (None: wait, or done)."""
    status = record.get("status")
    if kind in _DELETE_AUDIENCE:  # one still being created stops (A21, A24)
        operation, field = _DELETE_AUDIENCE[kind]
        return None if status in DELETING else (operation, {field: record["arn"]})
    membership = {"membershipIdentifier": record["membership"]}
    if kind == CONFIGURATION:
        return "delete_ml_configuration", membership
    if kind == MODEL:
        target = {**membership, "trainedModelArn": record["arn"]}
        if record.get("version"):
            target["versionIdentifier"] = record["version"]
        if status in RUNNING:
            return "cancel_trained_model", target
        return ("delete_trained_model_output", target) if status in DELETABLE else None
    if kind == CHANNEL:
        target = {**membership, "mlInputChannelArn": record["arn"]}
        return ("delete_ml_input_channel_data", target) if status in DELETABLE else None
    if status in RUNNING:
        return "cancel_trained_model_inference_job", {
            **membership,
            "trainedModelInferenceJobArn": record["arn"],
        }
    return None


def _ordered(found: Sequence[tuple[str, Record]]) -> list[tuple[str, Record]]:
    """``found`` with the account's kinds last, in ``_DELETE_AUDIENCE``'s order."""
    order = list(_DELETE_AUDIENCE)
    return sorted(found, key=lambda item: order.index(item[0]) if item[0] in order else -1)


def purge(cloud: Cloud, found: Sequence[tuple[str, Record]], timeout: float = 120.0) -> list[str]:
    """Delete ``found`` through the emulator's API and wait until it is gone; what could
    not be deleted, each with its reason (empty when all went)."""
    from botocore.exceptions import ClientError

    client = _client(cloud, "cleanroomsml", cloud.emulator_url)
    pending = {physical_id(kind, record): (kind, record) for kind, record in _ordered(found)}
    asked: dict[str, int] = {}
    problems: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for key, (kind, record) in list(pending.items()):
            action = _action(kind, record)
            if action is None:
                continue
            if asked.get(key, 0) >= 2:  # a second failed deletion: the emulator means it
                problems[key] = f"{line(kind, record)}: still {record.get('status')}"
                del pending[key]
                continue
            asked[key] = asked.get(key, 0) + 1
            operation, params = action
            try:
                getattr(client, operation)(**params)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ResourceNotFoundException":
                    problems[key] = f"{line(kind, record)}: {error}"
                    del pending[key]
                    continue
            if kind == CONFIGURATION:
                del pending[key]
        time.sleep(0.2)
        current = shaped(cloud.emulator("resources"))
        by_id = {physical_id(k, r): (k, r) for k in KINDS for r in current[k]}
        for key in list(pending):
            now = by_id.get(key)
            if now is None or not _remains(*now):
                del pending[key]
                asked.pop(key, None)
            else:
                pending[key] = now
    for key, (kind, record) in pending.items():
        problems[key] = f"{line(kind, record)}: still {record.get('status')} after {timeout:.0f} s"
    return list(problems.values())


def stop_workers(cloud: Cloud) -> int:
    """Stop MiniStack's Lambda workers whose function is gone; how many there were.

    The workers are read first and the functions then, so that a function created
    meanwhile (a deploy running beside this command) keeps its worker."""
    ministack = next((p for p in cloud.processes if p.name == "ministack"), None)
    if ministack is None:
        return 0
    workers = {
        pid: name
        for pid in processes.tree(ministack.pid)
        if (name := processes.environment(pid).get(_FUNCTION_NAME))
    }
    if not workers:
        return 0
    functions = _client(cloud, "lambda", cloud.ministack_url).get_paginator("list_functions")
    live = {f["FunctionName"] for page in functions.paginate() for f in page["Functions"]}
    orphans = [pid for pid, name in workers.items() if name not in live]
    processes.terminate(orphans)
    return len(orphans)
