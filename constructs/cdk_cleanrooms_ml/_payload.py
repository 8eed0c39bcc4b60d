"""What fits in the Provider framework's waiter: every event, with its rollback.

The framework starts its waiter (a Step Functions execution) with the whole event
plus ``on_event``'s answer as input, and Step Functions refuses an input over
262,144 bytes: the framework then answers FAILED, and the rollback's event is just
as large (UPDATE_ROLLBACK_FAILED). An Update carries the old and the new properties,
so each set must fit twice, with room for the rest of the event (the pre-signed
ResponseURL, the ids, ``on_event``'s keys). A construct whose properties cannot is
refused at synth, naming the limit and the largest properties.

Sizes are counted as CloudFormation delivers the properties (every scalar a string),
as the framework serializes them (JSON, UTF-8). A value known only at deploy time (a
token) counts as ``TOKEN_BYTES``: the longest ARN the API takes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from . import _contract as contract

WAITER_INPUT_MAX_BYTES: Final = 262_144
"""Step Functions' largest execution input (``StartExecution``)."""
EVENT_ENVELOPE_BYTES: Final = 12_288
"""Room for the event around its two property sets: the ResponseURL (a pre-signed S3
URL, about 1-2.5 KB), stack id, request id, logical and physical ids, resource type,
service token, and the keys ``on_event`` adds (what the polls do and look at)."""
MAX_PROPERTIES_BYTES: Final = (WAITER_INPUT_MAX_BYTES - EVENT_ENVELOPE_BYTES) // 2
"""The largest one resource's properties may be: an Update carries two sets."""
TOKEN_BYTES: Final = 2048
"""What a value known only at deploy time counts for: the longest ARN the API takes."""
_TOKEN: Final = re.compile(r"[$#]\{Token\[[^\]]*\]\}")
PROPS: Final = {
    contract.QUERY_STRING: "data_source (its query)",
    contract.PARAMETERS: "data_source (its parameters)",
    contract.HYPERPARAMETERS: "hyperparameters",
    contract.ENVIRONMENT: "environment",
    contract.SPARK_PROPERTIES: "spark_properties",
    contract.DATA_CHANNELS: "data_channels",
    contract.INCREMENTAL_TRAINING_DATA_CHANNELS: "incremental_training_data_channels",
    contract.DESCRIPTION: "description",
}
"""How the messages name a property: the prop that sets it."""
_NUMBER_TOKEN_LIMIT: Final = -1e280


def _delivered(value: Any) -> Any:
    """``value`` as CloudFormation hands it over: scalars as strings, tokens at their
    largest (each counted as ``TOKEN_BYTES`` of one-byte characters)."""
    if isinstance(value, Mapping):
        return {_delivered(k): _delivered(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_delivered(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return "x" * TOKEN_BYTES if value < _NUMBER_TOKEN_LIMIT else str(value)
    if isinstance(value, str):
        return _TOKEN.sub("x" * TOKEN_BYTES, value)
    return "x" * TOKEN_BYTES  # an object standing for a token (a Lazy, an intrinsic)


def size(value: Any) -> int:
    """The bytes ``value`` takes in the event (JSON, UTF-8), tokens at their largest."""
    text = json.dumps(_delivered(value), ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", errors="surrogatepass"))


def properties_size(properties: Mapping[str, Any]) -> int:
    """The bytes a resource's properties take, ``Tags`` aside (``tags_size``), with the
    ``ServiceToken`` and ``RemovalPolicy`` the resource adds counted at their largest."""
    counted = {k: v for k, v in properties.items() if k != contract.TAGS}
    counted.setdefault("ServiceToken", "x" * TOKEN_BYTES)
    counted.setdefault(contract.REMOVAL_POLICY, contract.REMOVAL_POLICY_DESTROY)
    return size(counted)


def tags_size(tags: Mapping[str, Any] | None) -> int:
    """The bytes the ``Tags`` property adds (its key, comma and map), 0 for none."""
    if not tags:
        return 0
    return size({contract.TAGS: dict(tags)}) - 1  # "{...}" around it is counted once


def failure(properties: Mapping[str, Any], tags: Mapping[str, Any] | None, prop: str) -> str | None:
    """The problem with these properties' size, or None when they fit.

    ``prop`` names the tags in the message (``tags`` or "tags (including those added
    with Tags.of)").
    """
    own = properties_size(properties)
    total = own + tags_size(tags)
    if total <= MAX_PROPERTIES_BYTES:
        return None
    largest = sorted(
        ((size(v), k) for k, v in properties.items() if k != contract.TAGS), reverse=True
    )[:3]
    if tags:
        largest = sorted([*largest, (tags_size(tags), prop)], reverse=True)[:3]
    bytes_, key = largest[0]
    others = ", ".join(f"{PROPS.get(k, k)} {b:,}" for b, k in largest[1:])
    return (
        f"{PROPS.get(key, key)}: {bytes_:,} bytes, and the resource's properties take "
        f"{total:,} bytes in all as CloudFormation sends them (next largest: {others}); "
        f"allowed at most {MAX_PROPERTIES_BYTES:,} in all: an update's event carries the "
        "old and the new properties, and the Provider framework's waiter (Step Functions) "
        f"takes at most {WAITER_INPUT_MAX_BYTES:,} bytes of input (a value known only at "
        f"deploy time counts {TOKEN_BYTES:,} bytes)"
    )
