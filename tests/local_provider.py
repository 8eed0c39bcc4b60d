"""An in-process stand-in for CloudFormation plus the CDK Provider framework.

It sends the same events CloudFormation would (properties stringified), calls
the real handler's ``on_event`` once and ``is_complete`` until done, exactly as
the framework does (``{...event, ...onEventResult}`` as the poll input; a
failed ``on_event`` on Create reports the framework's marker physical id), and
returns the response CloudFormation would receive.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import lifecycle
from helpers import LOGICAL_ID, STACK_ID, cfn_stringify

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient

CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"


@dataclass
class Response:
    status: str
    physical_id: str
    data: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    polls: int = 0


@dataclass
class LocalProvider:
    client: CleanRoomsMLClient
    interval: float = 0.05
    timeout: float = 60.0

    def send(
        self,
        request_type: str,
        properties: Mapping[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        logical_id: str = LOGICAL_ID,
    ) -> Response:
        event: dict[str, Any] = {
            "RequestType": request_type,
            "RequestId": request_id or str(uuid.uuid4()),
            "StackId": STACK_ID,
            "LogicalResourceId": logical_id,
            "ResourceType": "Custom::CleanRoomsMLTrainedModel",
            "ResponseURL": "https://example.invalid/presigned-SECRET",
            "ResourceProperties": cfn_stringify(dict(properties)),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = cfn_stringify(dict(old_properties))
        if request_type == "Delete" and physical_id == CREATE_FAILED_MARKER:
            return Response("SUCCESS", physical_id)  # the framework never calls the handler
        try:
            result = lifecycle.on_event(self.client, event)
        except Exception as error:  # the framework reports any error as FAILED
            failed_id = CREATE_FAILED_MARKER if request_type == "Create" else str(physical_id)
            return Response("FAILED", failed_id, reason=str(error))
        merged = {**event, **result}
        deadline = time.monotonic() + self.timeout
        polls = 0
        while True:
            polls += 1
            try:
                done = lifecycle.is_complete(self.client, merged)
            except Exception as error:
                return Response(
                    "FAILED", result["PhysicalResourceId"], reason=str(error), polls=polls
                )
            if done.get("IsComplete"):
                data = {**result.get("Data", {}), **done.get("Data", {})}
                return Response("SUCCESS", result["PhysicalResourceId"], data, polls=polls)
            assert not done.get("Data"), "Data is not allowed when IsComplete is False"
            if time.monotonic() > deadline:
                return Response("FAILED", result["PhysicalResourceId"], reason="framework timeout")
            time.sleep(self.interval)
