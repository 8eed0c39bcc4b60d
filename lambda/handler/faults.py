"""What an error means to the lifecycle, and the rules for every text the handler emits.

An error is **transient** when trying again later can succeed: throttling, the
service's internal errors and every connection or timeout error (botocore's
``EndpointConnectionError``, ``ConnectTimeoutError``, ``ReadTimeoutError``, ...,
which are ``BotoCoreError``, not ``ClientError``). ``on_event`` tries a transient
failure again while its time budget lasts; ``is_complete`` counts it as "not yet";
the long path's waiter polls again. Anything else is final.

Every reason that reaches CloudFormation is **bounded** (``bounded``): the Provider
framework wraps it (``Error: <reason>`` + the log group + its own stack frames) into
a response that CloudFormation rejects over 4,096 bytes. Every text that came from
the service is **redacted** (``redact``) of the values of secret properties
(hyperparameters, environment, SQL parameters), which a service message may echo.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

TRANSIENT_CODES: Final = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServiceException",
        "InternalServerException",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ExecutionLimitExceeded",
    }
)
"""Error codes that pass: throttling, the service's own failures, request timeouts."""

MAX_REASON_BYTES: Final = 2000
"""The most a reason may take, JSON-encoded as CloudFormation receives it. The Provider
framework adds about 600 bytes (``Error: ``, the log group, its stack frames) and the
response's other fields at most about 1,300 (tested against the framework's own code
with the longest ids CloudFormation allows): the response stays under 4,096 bytes."""

REDACTED: Final = "***"
SHORT_SECRET: Final = 4
"""Secret values shorter than this are redacted only where they stand as a whole word,
so that a hyperparameter such as ``epochs=10`` does not blank every "10" of a message."""


_hidden: tuple[str, ...] = ()


@contextmanager
def hiding(values: Iterable[str]) -> Iterator[None]:
    """While inside, every ``HandlerError`` and every logged text is redacted of ``values``
    (the secret values of the invocation under way)."""
    global _hidden
    previous, _hidden = _hidden, tuple(values)
    try:
        yield
    finally:
        _hidden = previous


def hidden() -> tuple[str, ...]:
    """The secret values of the invocation under way (see ``hiding``)."""
    return _hidden


class HandlerError(Exception):
    """A failure whose message is shown in the CloudFormation event: redacted of the
    invocation's secret values first, then bounded (a bound that cut a secret in two
    would leave its halves unrecognisable to the redaction)."""

    def __init__(self, message: str) -> None:
        super().__init__(bounded(redact(message, _hidden)))


class NotYet(Exception):  # noqa: N818 (a signal, not an error)
    """A poll met a transient failure: the resource is not done yet, look again."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(describe(cause))
        self.cause = cause


def error_code(error: BaseException) -> str:
    """The service's error code, or the exception's class for botocore's own errors."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "Unknown")
    return type(error).__name__


def service_message(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message") or "") or str(error)
    return str(error)


def describe(error: BaseException) -> str:
    return f"{error_code(error)}: {service_message(error)}"


def is_transient(error: BaseException) -> bool:
    """Whether trying again later can succeed (see the module docstring)."""
    if isinstance(error, ClientError):
        if error_code(error) in TRANSIENT_CODES:
            return True
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return isinstance(status, int) and status >= 500
    return isinstance(error, BotoConnectionError | HTTPClientError)


def is_not_found(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error_code(error) == "ResourceNotFoundException"


def is_conflict(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error_code(error) == "ConflictException"


_ADVICE: Final = {
    "ValidationException": "Clean Rooms ML rejected the request; check the construct's props",
    "AccessDeniedException": (
        "the handler's role may not do this; check that the ids given to the construct are "
        "the ones you meant and that no permission boundary or SCP denies cleanrooms-ml access"
    ),
    "ServiceQuotaExceededException": (
        "a Clean Rooms ML quota is exhausted; delete unused resources or request a quota "
        "increase, then deploy again"
    ),
    "ResourceNotFoundException": (
        "a resource it refers to does not exist; check the membership, association, "
        "channels and base model given to the construct"
    ),
    "ConflictException": "the resource is in a state that does not allow this now",
}


def explain(error: BaseException, operation: str, subject: str, secrets: Iterable[str]) -> str:
    """``<operation> <subject> failed (<code>): <message> - <advice>``, redacted."""
    code = error_code(error)
    advice = _ADVICE.get(code)
    if advice is None:
        advice = (
            "it kept failing after retries; deploy again"
            if is_transient(error)
            else "unexpected error"
        )
    detail = redact(service_message(error), secrets)
    return f"{operation} {subject} failed ({code}): {detail} - {advice}"


def _json_size(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8"))


def well_formed(text: str) -> str:
    """``text`` with every lone surrogate (half of a UTF-16 pair, which botocore makes of
    a service's ``"\\ud83d"`` cut from an emoji) replaced by U+FFFD: UTF-8 cannot carry it."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _longest(text: str, budget: int, *, suffix: bool) -> str:
    """The longest prefix (or suffix) of ``text`` whose JSON string takes ``budget`` bytes."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        part = text[len(text) - middle :] if suffix else text[:middle]
        if _json_size(part) <= budget:
            low = middle
        else:
            high = middle - 1
    return text[len(text) - low :] if suffix else text[:low]


def bounded(text: str, limit: int = MAX_REASON_BYTES) -> str:
    """``text`` cut in the middle to fit ``limit`` bytes as a JSON string.

    Messages put what identifies the failure first (operation, status code, ARN) and
    the advice last: two thirds of the room go to the head, the rest to the tail, and
    the service's details in between give way. Lone surrogates become U+FFFD.
    """
    text = well_formed(text)
    if _json_size(text) <= limit:
        return text
    marker = " [...] "
    head = _longest(text, limit * 2 // 3, suffix=False)
    room = limit - _json_size(head + marker) + 2  # the two quotes are counted once
    tail = _longest(text[len(head) :], room, suffix=True)
    return head + marker + tail


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced by ``***`` (longest first)."""
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(value) >= SHORT_SECRET:
            text = text.replace(value, REDACTED)
        else:
            text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", REDACTED, text)
    return text
