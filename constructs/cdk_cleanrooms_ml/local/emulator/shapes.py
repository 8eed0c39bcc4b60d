"""The service model: loading it, validating values against shapes (strictly:
enums, patterns, min/max, required and unknown members), and routing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
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


def validate(shape: Shape, value: Any, path: str = "") -> list[str]:
    """Every way ``value`` breaks ``shape`` (an empty list when it conforms)."""
    where = path or shape.name
    kind = shape.type_name
    errors: list[str] = []
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        members = shape.members  # type: ignore[attr-defined]
        for required in shape.required_members:
            if value.get(required) is None:
                errors.append(f"{where}.{required}: required")
        for key, item in value.items():
            if key not in members:
                errors.append(f"{where}.{key}: unknown member")
            elif item is not None:
                errors.extend(validate(members[key], item, f"{where}.{key}"))
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        errors.extend(_bounds(where, len(value), meta, "items"))
        for index, item in enumerate(value):
            errors.extend(validate(shape.member, item, f"{where}[{index}]"))  # type: ignore[attr-defined]
        return errors
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map"]
        errors.extend(_bounds(where, len(value), meta, "entries"))
        for key, item in value.items():
            errors.extend(validate(shape.key, key, f"{where} key {key!r}"))  # type: ignore[attr-defined]
            errors.extend(validate(shape.value, item, f"{where}[{key!r}]"))  # type: ignore[attr-defined]
        return errors
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        units = utf16(value)
        errors.extend(_bounds(where, len(units), meta, "characters"))
        enum = shape.enum  # type: ignore[attr-defined]
        if enum and value not in enum:
            allowed = (
                ", ".join(enum) if len(enum) <= 12 else f"the {len(enum)} values of {shape.name}"
            )
            errors.append(f"{where}: {value!r} is not one of {allowed}")
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(units):
            errors.append(f"{where}: {value!r} does not match {meta['pattern']}")
        return errors
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected an integer"]
        if "min" in meta and value < meta["min"]:
            errors.append(f"{where}: {value} is below the minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            errors.append(f"{where}: {value} is above the maximum {meta['max']}")
        return errors
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean"]
    if kind == "timestamp":
        ok = isinstance(value, datetime | int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a timestamp"]
    if kind in ("double", "float"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number"]
    return []


def _bounds(where: str, size: int, meta: dict[str, Any], unit: str) -> list[str]:
    errors = []
    if "min" in meta and size < meta["min"]:
        errors.append(f"{where}: {size} {unit}; the minimum is {meta['min']}")
    if "max" in meta and size > meta["max"]:
        errors.append(f"{where}: {size} {unit}; the maximum is {meta['max']}")
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


def serialize_response(operation: OperationModel, output: dict[str, Any]) -> bytes:
    """The JSON body of a response (timestamps as epoch seconds, rest-json's default)."""

    def encode(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [encode(v) for v in value]
        return value

    return json.dumps(encode(output)).encode()


def error_status(code: str) -> int:
    """The HTTP status the service model gives an error shape."""
    shape = service_model().shape_for(code)
    status: int = shape.metadata.get("error", {}).get("httpStatusCode", 400)
    return status
