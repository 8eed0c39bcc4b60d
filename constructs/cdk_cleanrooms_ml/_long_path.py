"""The long path: a resource waited for longer than an hour (a trained model, an
audience model), through a WaitCondition that the stack's waiter signals.

The custom resource returns once the resource exists; the WaitCondition (its handle
a property of the resource, so the handler's first poll starts the waiter) waits up
to 12 hours; an attributes resource after it echoes the resource's attributes, so
whatever references them is created only once it is ACTIVE.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Final

from aws_cdk import (
    CfnResource,
    CfnWaitCondition,
    CfnWaitConditionHandle,
    CustomResource,
    Stack,
    Token,
)

from constructs import Construct

from . import _contract as contract
from ._provider import CleanRoomsMLProvider

NOT_IDENTITY: Final = frozenset(
    {
        contract.TAGS,
        contract.REMOVAL_POLICY,
        contract.WAIT_FOR_COMPLETION,
        contract.WAIT_HANDLE_URL,
        contract.REPLACEMENT_PROTECTION,
        contract.REPLACEMENT_ALLOWED,
    }
)
"""Properties whose change neither replaces the resource nor needs a new WaitCondition."""


def wait_handle(
    owner: Construct, provider: CleanRoomsMLProvider, properties: dict[str, Any], kind: str
) -> CfnWaitConditionHandle:
    """The WaitCondition's handle, its URL put into ``properties``; the stack's waiter
    made (able to read ``kind``, the resource's ARN segment).

    The handle's construct id carries a digest of everything that replaces the resource
    (and of its timeout, which CloudFormation cannot update): a replacement gets a
    fresh wait; other updates do not wait.
    """
    stack = Stack.of(owner)
    identity = {k: v for k, v in properties.items() if k not in NOT_IDENTITY}
    digest = (
        hashlib.sha256(json.dumps(stack.resolve(identity), sort_keys=True).encode())
        .hexdigest()[:8]
        .upper()
    )
    handle = CfnWaitConditionHandle(owner, f"WaitHandle{digest}")
    properties[contract.WAIT_HANDLE_URL] = handle.ref
    provider.long_waiter(kind)
    return handle


def wait(
    owner: Construct, handle: CfnWaitConditionHandle, resource: CfnResource, timeout: float
) -> CfnWaitCondition:
    """The WaitCondition (after the resource), ``timeout`` whole seconds."""
    condition = CfnWaitCondition(
        owner,
        handle.node.id.replace("WaitHandle", "Wait"),
        handle=handle.ref,
        timeout=str(int(timeout)),
        count=1,
    )
    condition.node.add_dependency(resource)
    return condition


def attributes(
    owner: Construct,
    provider: CleanRoomsMLProvider,
    resource: CfnResource,
    condition: CfnWaitCondition,
    echoed: Sequence[str],
) -> CustomResource:
    """The resource after the WaitCondition that echoes ``echoed`` attributes (and
    ``Status`` ACTIVE): what references the resource references this."""
    found = CustomResource(
        owner,
        "Attributes",
        service_token=provider.service_token,
        resource_type=contract.ATTRIBUTES_RESOURCE_TYPE,
        properties={
            **{key: Token.as_string(resource.get_att(key)) for key in echoed},
            contract.ATTR_STATUS: "ACTIVE",
        },
    )
    found.node.add_dependency(condition)
    return found
