"""Reading keyword arguments: every Python value is either taken or named as wrong.

A construct reads each of its props through a ``Reader``, which checks the value's
type and converts it at the edge (``Size`` to GiB, ``Duration`` to seconds, enums
to API strings, constructs to ARNs). A value of the wrong type is a failure that
names the prop, what was received and what is allowed, with an example when the
mistake is a common one (a string where a ``Size`` belongs: "use
Size.gibibytes(50)"); the reader then goes on, so that one construct call reports
every failure at once. Tokens (unresolved values) are taken as they are.

No jsii round trip is made for plain Python values: the checks look at Python
types only (a jsii object's class, or the interfaces its proxy delegates to).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from aws_cdk import Duration, Size, SizeRoundingBehavior, Token

from constructs import Construct

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")

_TOKEN_MARKERS: Final = ("${Token[", "#{Token[")
_NUMBER_TOKEN_LIMIT: Final = -1e280  # CDK encodes number tokens as huge negative doubles


def unresolved(value: object) -> bool:
    """``Token.is_unresolved`` without a jsii round trip for plain Python values."""
    if isinstance(value, str):
        return any(marker in value for marker in _TOKEN_MARKERS)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return value < _NUMBER_TOKEN_LIMIT and Token.is_unresolved(value)
    if isinstance(value, dict | list | tuple | set | frozenset | bytes):
        return False
    if not hasattr(type(value), "__jsii_type__") and not hasattr(value, "_delegates"):
        return False  # a plain Python object
    if isinstance(value, Construct):
        return False  # a Stack has a resolve() method, yet it is no token
    return bool(Token.is_unresolved(value))


def show(value: object, limit: int = 100) -> str:
    """A value as an error message shows it: as the user would write it
    (``Duration.days(1)``, ``Size.gibibytes(50)``, ``RemovalPolicy.DESTROY``, a
    construct by its kind and path), long ones cut in the middle."""
    try:
        text = _written(value, depth=0)
    except Exception:  # a broken __repr__ (or a jsii error) must not hide the real failure
        text = f"{article(noun(value))} object"
    if len(text) > limit:
        half = (limit - 3) // 2
        text = f"{text[:half]}...{text[-half:]}"
    return text


_BUILTIN_NOUNS: Final[dict[type, str]] = {
    str: "string",
    int: "int",
    float: "float",
    bool: "bool",
    bytes: "bytes object",
    bytearray: "bytearray",
    list: "list",
    tuple: "tuple",
    dict: "dict",
    set: "set",
    frozenset: "frozenset",
    type: "class",
}
_GENERIC_BASES: Final = frozenset({"Resource", "Construct", "object", "InterfaceDynamicProxy"})
_BYTE_UNITS: Final = (
    ("pebibytes", 2**50),
    ("tebibytes", 2**40),
    ("gibibytes", 2**30),
    ("mebibytes", 2**20),
    ("kibibytes", 2**10),
    ("bytes", 1),
)
_MILLISECOND_UNITS: Final = (
    ("days", 86_400_000),
    ("hours", 3_600_000),
    ("minutes", 60_000),
    ("seconds", 1_000),
    ("millis", 1),
)
_LETTER_AN: Final = frozenset("AEFHILMNORSX")
"""Letters whose name starts with a vowel sound: an IKey, an MLConfiguration, an S3 URI."""


def article(word: str) -> str:
    """``word`` with its indefinite article as it is said: an int, a string, an
    InstanceType, an IKey, an MLConfiguration, a UUID."""
    if not word:
        return word
    acronym = len(word) > 1 and word[0].isupper() and (word[1].isupper() or word[1].isdigit())
    if acronym:
        vowel = word[0] in _LETTER_AN
    elif word[0].lower() == "u":
        vowel = word.lower().startswith(("un", "up"))  # an unresolved token, a unit
    else:
        vowel = word[0].lower() in "aeio"
    return f"{'an' if vowel else 'a'} {word}"


def noun(value: object) -> str:
    """What ``value`` is, in a word: ``int``, ``string``, ``Duration``, ``IKey``, ``Bucket``."""
    if value is None:
        return "None"
    kind = type(value)
    for builtin, name in _BUILTIN_NOUNS.items():
        if kind is builtin:
            return name
    if kind.__name__ == "InterfaceDynamicProxy":  # a jsii object of a private class
        names = [_public(type(d).__name__) for d in getattr(value, "_delegates", None) or ()]
        return next((name for name in names if name not in _GENERIC_BASES), "object")
    for base in kind.__mro__:
        if not base.__name__.startswith("_") and base.__name__ not in _GENERIC_BASES:
            return _public(base.__name__)
    return _public(kind.__name__)


def _public(name: str) -> str:
    """``_IKeyProxy`` -> ``IKey``, ``BucketBase`` -> ``Bucket``, ``_ExistingMLConfiguration``
    -> ``MLConfiguration``: the name a user knows a jsii or private class by."""
    name = re.sub(r"^_(?:Imported|Existing)?", "", name)
    name = re.sub(r"Proxy$", "", name)
    return re.sub(r"(?<=.)Base$", "", name)


def _written(value: object, depth: int) -> str:
    """``value`` as the user would write it (a container's items likewise)."""
    if value is None or isinstance(value, bool | int | float | str | bytes):
        return repr(value)
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, type):
        return value.__name__
    if depth > 2:
        return "..."
    if isinstance(value, list | tuple | set | frozenset):
        items = ", ".join(_written(item, depth + 1) for item in value)
        if isinstance(value, tuple):
            return f"({items}{',' if len(value) == 1 else ''})"
        return f"[{items}]" if isinstance(value, list) else f"{{{items}}}"
    if isinstance(value, Mapping):
        pairs = (f"{_written(k, depth + 1)}: {_written(v, depth + 1)}" for k, v in value.items())
        return f"{{{', '.join(pairs)}}}"
    if isinstance(value, Duration):
        return _duration(value)
    if isinstance(value, Size):
        return _size(value)
    if isinstance(value, Construct):
        return f"{noun(value)} {value.node.path!r}"
    if dataclasses.is_dataclass(value):
        fields = (
            f"{field.name}={_written(getattr(value, field.name), depth + 1)}"
            for field in dataclasses.fields(value)
            if getattr(value, field.name) not in (None, {}, [], ())
        )
        return f"{type(value).__name__}({', '.join(fields)})"
    if unresolved(value):
        return f"the token {Token.as_string(value)}"
    if hasattr(type(value), "__jsii_type__") or hasattr(value, "_delegates"):
        path = getattr(getattr(value, "node", None), "path", None)  # an imported resource
        return (
            f"{noun(value)} {path!r}" if isinstance(path, str) else f"{article(noun(value))} object"
        )
    if type(value).__repr__ is not object.__repr__:
        return repr(value)
    return f"{article(noun(value))} object"


def _duration(value: Duration) -> str:
    if value.is_unresolved():
        return "a Duration token"
    millis: float = value.to_milliseconds(integral=False)
    for unit, size in _MILLISECOND_UNITS:
        if millis and float(millis / size).is_integer():
            return f"Duration.{unit}({millis // size:.0f})"
    return f"Duration.millis({millis:g})"


def _size(value: Size) -> str:
    if value.is_unresolved():
        return "a Size token"
    count: float = value.to_bytes(rounding=SizeRoundingBehavior.NONE)
    for unit, size in _BYTE_UNITS:
        if count and float(count / size).is_integer():
            return f"Size.{unit}({count // size:.0f})"
    return f"Size.bytes({count:g})"


def received(value: object) -> str:
    """``'2' (a string)``: the value as written and, when that does not name its type
    (a plain value, not ``Duration.days(1)`` or a construct), its type."""
    shown = show(value)
    if value is None or type(value) not in _BUILTIN_NOUNS:
        return shown
    return f"{shown} ({article(noun(value))})"


SECRET_NOTE: Final = "not shown: values may be secrets"
"""Said where a map's value is wrong: hyperparameter and environment values are never shown."""
_NUMBER: Final = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_CONTEXT: Final = "a context value (-c key=value) is always a string"


def context_hint(value: object, conversion: str) -> str:
    """``; a context value ... convert it with int(...)``, for a string of digits (or
    ``true``/``false``) given where a number (or a bool) belongs; else nothing."""
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if conversion == "bool":
        if text.lower() in ("true", "false"):
            return f"; {_CONTEXT}: convert it, e.g. value.lower() == 'true'"
        return ""
    return f"; {_CONTEXT}: convert it with {conversion}" if _NUMBER.fullmatch(text) else ""


def implements(value: object, interface: type) -> bool:
    """Whether a jsii object implements a jsii interface (``kms.IKey``, ``iam.IRole``...)."""
    declared = getattr(type(value), "__jsii_ifaces__", None) or ()
    if any(interface in getattr(i, "__mro__", ()) for i in declared):
        return True
    proxy = getattr(interface, "__jsii_proxy_class__", None)
    proxy_class = proxy() if callable(proxy) else None
    delegates = getattr(value, "_delegates", None) or ()
    return proxy_class is not None and any(isinstance(d, proxy_class) for d in delegates)


def sendable(text: str) -> bool:
    """Whether jsii can send ``text`` to the CDK: no lone surrogate (it is UTF-8 encodable)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Reader:
    """Reads one construct's props, collecting every failure."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.failed: set[str] = set()
        """The props (top-level names) that had a failure."""

    def fail(self, prop: str, message: str) -> None:
        self.failures.append(f"{prop}: {message}")
        self.failed.add(re.split(r"[.\[]", prop, maxsplit=1)[0])

    def _missing(self, prop: str, value: object, required: bool, allowed: str) -> bool:
        if value is None and required:
            self.fail(prop, f"is required; allowed: {allowed}")
        return value is None

    def text(
        self, prop: str, value: object, *, required: bool = False, allowed: str = "a string"
    ) -> str | None:
        """A string (or a token)."""
        if self._missing(prop, value, required, allowed):
            return None
        if isinstance(value, str):
            if not sendable(value):
                self.fail(prop, f"{show(value)} holds a lone surrogate, which cannot be sent")
                return None
            return value
        if unresolved(value):
            return str(Token.as_string(value))
        self.fail(prop, f"{received(value)} is not a string; allowed: {allowed}")
        return None

    def whole(
        self,
        prop: str,
        value: object,
        *,
        required: bool = False,
        allowed: str = "a whole number",
        example: str = "",
    ) -> float | None:
        """An int (a number token passes); a float only when whole."""
        if self._missing(prop, value, required, allowed):
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            hint = f", e.g. {prop}={example}" if example else ""
            hint += context_hint(value, "int(...)")
            self.fail(prop, f"{received(value)} is not a number; allowed: {allowed}{hint}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(prop, f"{show(value)} is not a whole number; allowed: {allowed}")
            return None
        return value

    def flag(self, prop: str, value: object, *, default: bool) -> bool:
        """A bool: True or False (not "no", not 0)."""
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        hint = context_hint(value, "bool")
        self.fail(prop, f"{received(value)} is not a bool; allowed: True or False{hint}")
        return default

    def size_gib(self, prop: str, value: object, *, required: bool = False) -> float | None:
        if self._missing(prop, value, required, "an aws_cdk.Size, e.g. Size.gibibytes(50)"):
            return None
        if isinstance(value, Size):
            gib: float = value.to_gibibytes(rounding=SizeRoundingBehavior.NONE)
            return gib
        hint = _size_hint(value) + context_hint(value, "Size.gibibytes(int(...))")
        self.fail(prop, f"{received(value)} is not a Size; allowed: aws_cdk.Size, e.g. {hint}")
        return None

    def size_mib(self, prop: str, value: object) -> float | None:
        if value is None:
            return None
        if isinstance(value, Size):
            mib: float = value.to_mebibytes(rounding=SizeRoundingBehavior.NONE)
            return mib
        allowed = "aws_cdk.Size, e.g. Size.mebibytes(6)"
        allowed += context_hint(value, "Size.mebibytes(int(...))")
        self.fail(prop, f"{received(value)} is not a Size; allowed: {allowed}")
        return None

    def seconds(self, prop: str, value: object, *, example: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, Duration):
            seconds: float = value.to_seconds(integral=False)
            return seconds
        allowed = f"aws_cdk.Duration, e.g. {example}"
        allowed += context_hint(value, re.sub(r"\(.*\)", "(int(...))", example))
        self.fail(prop, f"{received(value)} is not a Duration; allowed: {allowed}")
        return None

    def instant(self, prop: str, value: object) -> str | None:
        """A ``datetime`` with its time zone, as UTC ISO 8601 text (a token passes)."""
        if value is None:
            return None
        example = "datetime(2026, 1, 1, tzinfo=timezone.utc)"
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                self.fail(
                    prop,
                    f"{show(value)} has no time zone, so the instant it means is unknown; "
                    f"allowed: a datetime with one, e.g. {example}",
                )
                return None
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        if unresolved(value):
            return str(Token.as_string(value))
        self.fail(prop, f"{received(value)} is not a datetime; allowed: a datetime, e.g. {example}")
        return None

    def choice(
        self,
        prop: str,
        value: object,
        kind: type[E],
        *,
        required: bool = False,
        members: Sequence[E] | None = None,
    ) -> E | None:
        """A member of the enum ``kind`` (of ``members``, when given)."""
        allowed_members = list(kind) if members is None else list(members)
        allowed = ", ".join(f"{kind.__name__}.{m.name}" for m in allowed_members)
        if self._missing(prop, value, required, allowed):
            return None
        if isinstance(value, kind):
            if value in allowed_members:
                return value
            self.fail(prop, f"{kind.__name__}.{value.name} is not supported; allowed: {allowed}")
            return None
        hint = ""
        if isinstance(value, str):
            wanted = value.strip().lower()
            match = next(
                (m for m in allowed_members if wanted in (str(m.value).lower(), m.name.lower())),
                None,
            )
            if match is not None:
                hint = f" (use {kind.__name__}.{match.name})"
        what = article(kind.__name__)
        self.fail(prop, f"{received(value)} is not {what}{hint}; allowed: {allowed}")
        return None

    def instance(
        self, prop: str, value: object, kind: type[T], *, required: bool = False, allowed: str
    ) -> T | None:
        if self._missing(prop, value, required, allowed):
            return None
        if isinstance(value, kind):
            return value
        self.fail(prop, f"{received(value)} is not {article(kind.__name__)}; allowed: {allowed}")
        return None

    def interface(
        self,
        prop: str,
        value: object,
        interface: type,
        *,
        required: bool = False,
        allowed: str,
        hint: str = "",
    ) -> Any:
        """A jsii object implementing ``interface`` (``kms.IKey``, ``iam.IRole``)."""
        if self._missing(prop, value, required, allowed):
            return None
        if implements(value, interface):
            return value
        extra = f"; {hint}" if hint and isinstance(value, str) else ""
        what = article(interface.__name__)
        self.fail(prop, f"{received(value)} is not {what}; allowed: {allowed}{extra}")
        return None

    def strings(self, prop: str, value: object) -> dict[str, str]:
        """A map of strings to strings (values may be tokens)."""
        if value is None:
            return {}
        if unresolved(value):
            allowed = "a dict of strings (its values may be tokens)"
            self.fail(prop, f"a token is not a dict; allowed: {allowed}")
            return {}
        if not isinstance(value, Mapping):
            # the type only: a map's values may be secrets, in any shape they come
            allowed = "a dict of strings to strings"
            self.fail(prop, f"{article(noun(value))} is not a dict; allowed: {allowed}")
            return {}
        found: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not sendable(key):
                self.fail(prop, f"key {received(key)} is not a string; allowed: string keys")
                continue
            if isinstance(item, str) and not sendable(item):
                self.fail(
                    prop, f"the value of key {key!r} holds a lone surrogate, which cannot be sent"
                )
            elif isinstance(item, str) or unresolved(item):
                found[key] = item if isinstance(item, str) else str(Token.as_string(item))
            else:
                self.fail(
                    prop,
                    f"the value of key {key!r} is {article(noun(item))} ({SECRET_NOTE}); "
                    "allowed: a string (convert it with str(...))",
                )
        return found

    def items(self, prop: str, value: object, *, allowed: str) -> list[Any]:
        """A list (or tuple) of items, each checked by the caller."""
        if value is None:
            return []
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            self.fail(prop, f"{received(value)} is not a list; allowed: {allowed}")
            return []
        return list(value)


def _size_hint(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"Size.gibibytes({value})"
    if isinstance(value, str) and value.strip().lower().rstrip("gib ").isdigit():
        return f"Size.gibibytes({value.strip().lower().rstrip('gib ')})"
    return "Size.gibibytes(50)"
