"""One structured JSON line per step, with an allow-list of fields.

Only the fields below are ever written: never the event, its ``ResponseURL``,
the resource properties, hyperparameter or environment values. Text fields are
also redacted of the secret values of the invocation under way
(``faults.hiding``), in case a service message echoed one.
"""

from __future__ import annotations

import json
import sys
from typing import Final

import faults

ALLOWED_FIELDS: Final = frozenset(
    {
        "step",
        "requestType",
        "logicalResourceId",
        "physicalResourceId",
        "status",
        "elapsedSeconds",
        "reason",
        "errorCode",
        "operation",
        "httpStatus",
        "retrying",
    }
)


def log(step: str, **fields: object) -> None:
    """Write one JSON line for ``step``; fields outside the allow-list are dropped."""
    record: dict[str, object] = {"step": step}
    for key, value in fields.items():
        if key in ALLOWED_FIELDS and value is not None:
            record[key] = faults.redact(value, faults.hidden()) if isinstance(value, str) else value
    sys.stdout.write(json.dumps(record, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()
