"""The service model: loading it, validating wire values against shapes (strictly:
types, enums, patterns, min/max, required and unknown members, unions, timestamp
formats), writing responses as the protocol does, and routing."""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import json
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel, Shape

from ..._asset import handler_asset_path

SERVICE_MODEL_PATH: Final = handler_asset_path() / "data/cleanroomsml/2023-09-06/service-2.json"
"""The service model the handler asset ships (in the wheel: ``_lambda/handler``)."""


@cache
def service_model() -> ServiceModel:
    """botocore's cleanroomsml model (the copy the handler asset ships)."""
    return ServiceModel(json.loads(SERVICE_MODEL_PATH.read_text()), service_name="cleanroomsml")


@cache
def _pattern(text: str) -> re.Pattern[str]:
    # The service is Java: "\s" is ASCII whitespace (re.ASCII) and strings are
    # matched as UTF-16 code units (see ``utf16``).
    return re.compile(text, re.ASCII)


def utf16(value: str) -> str:
    """``value`` as Java sees it: one character per UTF-16 code unit."""
    data = value.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(data[i : i + 2], "little")) for i in range(0, len(data), 2))


INT32: Final = (-(2**31), 2**31 - 1)
INT64: Final = (-(2**63), 2**63 - 1)
NON_FINITE: Final = ("NaN", "Infinity", "-Infinity")
"""How JSON protocols write a double that is not a finite number."""
ISO8601: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")
"""A ``date-time`` as Smithy defines it: RFC 3339, UTC (``Z``), optional fractional
seconds (``2014-04-29T18:30:38Z``, ``2014-04-29T18:30:38.123Z``)."""


def timestamp_format(shape: Shape) -> str:
    """The wire format of a timestamp: its ``timestampFormat``, else the protocol's
    default for where it travels (rest-json: epoch seconds in the body, ISO 8601 in
    a URI or query string, RFC 822 in a header)."""
    declared: str | None = shape.serialization.get("timestampFormat")
    if declared:
        return declared
    location = shape.serialization.get("location")
    if location in ("uri", "querystring"):
        return "iso8601"
    return "rfc822" if location == "header" else "unixTimestamp"


def format_timestamp(value: datetime, form: str) -> str | float:
    """``value`` (an aware datetime) in the wire format ``form``, to the millisecond (A19)."""
    instant = value.astimezone(UTC)
    instant = instant.replace(microsecond=instant.microsecond // 1000 * 1000)
    if form == "iso8601":
        whole = instant.strftime("%Y-%m-%dT%H:%M:%S")
        millis = instant.microsecond // 1000
        return f"{whole}.{millis:03d}Z" if millis else f"{whole}Z"
    if form == "rfc822":
        return email.utils.format_datetime(instant, usegmt=True)
    return round(instant.timestamp(), 3)


def _timestamp_problem(value: Any, form: str) -> str | None:
    """Why ``value`` is not a timestamp in the wire format ``form`` (None if it is)."""
    if form == "iso8601":
        if isinstance(value, str) and ISO8601.fullmatch(value):
            with contextlib.suppress(ValueError):
                datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
                return None
        return f"{value!r} is not an ISO 8601 date-time (as 2014-04-29T18:30:38Z)"
    if form == "rfc822":
        if isinstance(value, str) and value.endswith(" GMT"):
            with contextlib.suppress(TypeError, ValueError):
                email.utils.parsedate_to_datetime(value)
                return None
        return f"{value!r} is not an RFC 822 date (as Tue, 29 Apr 2014 18:30:38 GMT)"
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return None
    return f"{value!r} is not epoch seconds (a number)"


def validate(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Every way ``value``, as it travels on the wire, breaks ``shape`` (an empty list
    when it conforms): types, required and unknown members, unions, enums, patterns,
    lengths, sizes, ranges and timestamp formats."""
    where = path or shape.name
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        return _structure(shape, value, where)
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        errors = _bounds(where, len(value), meta, "items")
        for index, item in enumerate(value):
            errors.extend(validate(shape.member, item, f"{where}[{index}]"))  # type: ignore[attr-defined]
        return errors
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map"]
        errors = _bounds(where, len(value), meta, "entries")
        for key, item in value.items():
            errors.extend(validate(shape.key, key, f"{where} key {key!r}"))  # type: ignore[attr-defined]
            errors.extend(validate(shape.value, item, f"{where}[{key!r}]"))  # type: ignore[attr-defined]
        return errors
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        return _string(shape, value, where)
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected an integer"]
        low, high = INT32 if kind == "integer" else INT64
        if not low <= value <= high:
            return [f"{where}: {value} does not fit a {kind} ({low} to {high})"]
        return _bounds(where, value, meta)
    if kind in ("double", "float"):
        if value in NON_FINITE:
            return []
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{where}: expected a number"]
        return _bounds(where, value, meta)
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean"]
    if kind == "timestamp":
        problem = _timestamp_problem(value, timestamp_format(shape))
        return [f"{where}: {problem}"] if problem else []
    if kind == "blob":
        if isinstance(value, str):
            with contextlib.suppress(binascii.Error):
                base64.b64decode(value, validate=True)
                return []
        return [f"{where}: expected base64 text"]
    return [f"{where}: {kind} values are not checked by this emulator"]


def _structure(shape: Shape, value: dict[str, Any], where: str) -> list[str]:
    errors: list[str] = []
    members = shape.members  # type: ignore[attr-defined]
    for required in shape.required_members:
        if value.get(required) is None:
            errors.append(f"{where}.{required}: required")
    for key, item in value.items():
        if key not in members:
            errors.append(f"{where}.{key}: unknown member")
        elif item is not None:
            errors.extend(validate(members[key], item, f"{where}.{key}"))
    if shape.is_tagged_union:  # type: ignore[attr-defined]
        chosen = [key for key, item in value.items() if item is not None]
        if len(chosen) != 1:
            named = ", ".join(chosen) or "none"
            errors.append(f"{where}: a union takes exactly one member, got {named}")
    return errors


def _string(shape: Shape, value: str, where: str) -> list[str]:
    meta = shape.metadata
    units = utf16(value)
    errors = _bounds(where, len(units), meta, "characters")
    enum = shape.enum  # type: ignore[attr-defined]
    if enum and value not in enum:
        allowed = ", ".join(enum) if len(enum) <= 12 else f"the {len(enum)} values of {shape.name}"
        errors.append(f"{where}: {value!r} is not one of {allowed}")
    if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(units):
        errors.append(f"{where}: {value!r} does not match {meta['pattern']}")
    return errors


def _bounds(where: str, size: float, meta: dict[str, Any], unit: str = "") -> list[str]:
    """``size`` against the shape's ``min`` and ``max``: a number's range, or (with
    ``unit``) a count of characters, items or entries."""
    errors = []
    for limit, word, side in (("min", "minimum", -1), ("max", "maximum", 1)):
        if limit in meta and (size - meta[limit]) * side > 0:
            if unit:
                errors.append(f"{where}: {size} {unit}; the {word} is {meta[limit]}")
            else:
                beyond = "below" if side < 0 else "above"
                errors.append(f"{where}: {size} is {beyond} the {word} {meta[limit]}")
    return errors


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    method: str
    regex: re.Pattern[str]


@cache
def routes() -> tuple[Route, ...]:
    """One route per operation, from its ``http.requestUri``."""
    model = service_model()
    built = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        uri = operation.http["requestUri"].split("?")[0]
        regex = re.sub(
            r"\{([A-Za-z0-9_]+)(\+?)\}",
            lambda m: f"(?P<{m.group(1)}>{'.+' if m.group(2) else '[^/]+'})",
            re.escape(uri).replace(r"\{", "{").replace(r"\}", "}"),
        )
        built.append(Route(operation, operation.http["method"], re.compile(f"^{regex}$")))
    # Literal segments first: /trained-models/{arn}/versions before /trained-models/{arn}
    built.sort(key=lambda r: -r.regex.pattern.count("/"))
    return tuple(built)


def match(method: str, path: str) -> tuple[OperationModel, dict[str, str]] | None:
    for route in routes():
        if route.method != method:
            continue
        found = route.regex.match(path)
        if found:
            return route.operation, {k: unquote(v) for k, v in found.groupdict().items()}
    return None


def _scalar(shape: Shape, raw: str) -> Any:
    if shape.type_name in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            return raw  # validation reports it
    if shape.type_name == "boolean":
        return raw.lower() == "true"
    return raw


def parse_request(
    operation: OperationModel,
    labels: dict[str, str],
    query: dict[str, list[str]],
    body: bytes,
) -> dict[str, Any]:
    """The operation's input as botocore would have built it from the wire."""
    shape = operation.input_shape
    params: dict[str, Any] = {}
    if shape is None:
        return params
    payload: dict[str, Any] = {}
    if body:
        loaded = json.loads(body)
        if not isinstance(loaded, dict):
            raise ValueError("request body must be a JSON object")
        payload = loaded
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in labels:
                params[name] = _scalar(member, labels[wire_name])
        elif location == "querystring":
            if wire_name in query:
                values = query[wire_name]
                if member.type_name == "list":
                    item_shape: Shape = member.member  # type: ignore[attr-defined]
                    params[name] = [_scalar(item_shape, v) for v in values]
                else:
                    params[name] = _scalar(member, values[-1])
        elif location == "header":
            continue
        elif name in payload:
            params[name] = payload.pop(name)
    for extra in payload:
        params[extra] = payload[extra]  # reported as unknown members
    return params


def leaves(shape: Shape, value: Any, path: str = "") -> Iterator[tuple[Shape, Any, str]]:
    """Every scalar in ``value`` (a request's parameters, a response) that ``shape``
    declares, with its shape and where it is."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        for key, item in value.items():
            if key in members:
                yield from leaves(members[key], item, f"{path}.{key}" if path else key)
    elif kind == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(shape.member, item, f"{path}[{index}]")  # type: ignore[attr-defined]
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(shape.value, item, f"{path}[{key!r}]")  # type: ignore[attr-defined]
    elif kind not in ("structure", "list", "map"):
        yield shape, value, path


def to_wire(shape: Shape | None, value: Any) -> Any:
    """``value`` as the protocol writes it: timestamps in their shape's wire format,
    members that are None left out. What the shape does not know passes unchanged (the
    response check then names it)."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members  # type: ignore[attr-defined]
        return {k: to_wire(members.get(k), v) for k, v in value.items() if v is not None}
    if kind == "list" and isinstance(value, list):
        return [to_wire(shape.member, v) for v in value]  # type: ignore[attr-defined]
    if kind == "map" and isinstance(value, dict):
        return {k: to_wire(shape.value, v) for k, v in value.items()}  # type: ignore[attr-defined]
    if kind == "timestamp" and isinstance(value, datetime):
        return format_timestamp(value, timestamp_format(shape))
    return value


class Tally:
    """A count shared by threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        return self._count


CHECKED: Final = Tally()
"""Responses ``check_response`` verified in this process (``GET /_emulator/stats``)."""


def check_response(shape: Shape, wire: Any) -> list[str]:
    """Every way a response body (its wire form) breaks its shape; counted in ``CHECKED``."""
    problems = validate(shape, wire)
    CHECKED.add()
    return problems


FRAMEWORK_ERRORS: Final = {"UnknownOperationException": 404}
"""Errors of the protocol, not of the service model, with their HTTP status: a
restJson1 server answers a request it routes to no operation with
``UnknownOperationException``, a client error (Smithy's ``smithy.framework``
shape, HTTP 404; what smithy-rs servers send)."""


def error_status(code: str) -> int:
    """The HTTP status of an error: the service model's for its error shapes."""
    if code in FRAMEWORK_ERRORS:
        return FRAMEWORK_ERRORS[code]
    shape = service_model().shape_for(code)
    status: int = shape.metadata.get("error", {}).get("httpStatusCode", 400)
    return status
