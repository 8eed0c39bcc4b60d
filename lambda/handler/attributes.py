"""The long path's attributes resource (``Custom::CleanRoomsMLTrainedModelAttributes``).

It stands after the WaitCondition and echoes the attributes of the resource waited for
(a trained model, an audience model), so whatever references them is created only
once that resource is ACTIVE. It never calls AWS.
"""

from __future__ import annotations

from typing import Any, Final

import contract
from engine import ACTION_KEY, NONE, STARTED_AT_KEY, Event

KEYS: Final = (
    contract.ATTR_TRAINED_MODEL_ARN,
    contract.ATTR_VERSION_IDENTIFIER,
    contract.ATTR_TRAINED_MODEL_NAME,
    contract.ATTR_STATUS,
)


AUDIENCE_MODEL_KEYS: Final = (
    contract.ATTR_AUDIENCE_MODEL_ARN,
    contract.ATTR_NAME,
    contract.ATTR_STATUS,
)


def echo(event: Event, now: float) -> dict[str, Any]:
    """Its properties become its attributes; a version only when there is one."""
    if event.properties.get(contract.ATTR_AUDIENCE_MODEL_ARN):
        return _echo_audience_model(event, now)
    data = {key: str(event.properties[key]) for key in KEYS if event.properties.get(key)}
    if data.get(contract.ATTR_VERSION_IDENTIFIER) == contract.BASE_VERSION:
        del data[contract.ATTR_VERSION_IDENTIFIER]
    physical_id = event.physical_id
    if event.request_type != "Delete":
        arn = data.get(contract.ATTR_TRAINED_MODEL_ARN, "")
        version = data.get(contract.ATTR_VERSION_IDENTIFIER, contract.BASE_VERSION)
        physical_id = f"attributes:{arn}:{version}"  # as release 0.1.0 made it
    return {
        "PhysicalResourceId": physical_id,
        "Data": data,
        ACTION_KEY: NONE,
        STARTED_AT_KEY: now,
    }


def _echo_audience_model(event: Event, now: float) -> dict[str, Any]:
    data = {
        key: str(event.properties[key]) for key in AUDIENCE_MODEL_KEYS if event.properties.get(key)
    }
    physical_id = event.physical_id
    if event.request_type != "Delete":
        physical_id = f"attributes:{data[contract.ATTR_AUDIENCE_MODEL_ARN]}"
    return {
        "PhysicalResourceId": physical_id,
        "Data": data,
        ACTION_KEY: NONE,
        STARTED_AT_KEY: now,
    }
