"""Synth-time validation of ``TrainedModel`` props: a table of rules.

Each rule looks at one prop of a ``ModelSpec`` and yields a message for every
problem it finds; a message names the prop, the value received and what is
allowed. Values that are unresolved tokens are skipped. The limits are those of
the Clean Rooms ML service model (``cleanroomsml`` 2023-09-06) and of the API
reference; see the README's props table.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from . import _contract as contract
from ._props import SECRET_NOTE, article, noun, show, unresolved
from ._spec import ModelSpec
from .instance_type import is_well_formed_instance_type

_UUID: Final = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_ML_ARN_PREFIX: Final = r"arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:membership/" + _UUID


def _ml_arn(resource: str) -> re.Pattern[str]:
    return re.compile(rf"{_ML_ARN_PREFIX}/{resource}/[-a-zA-Z0-9_/.]+")


_ACCOUNT_ARN_PREFIX: Final = r"arn:aws[-a-z]*:cleanrooms-ml:[-a-z0-9]+:[0-9]{12}:"


def _account_arn(resource: str) -> re.Pattern[str]:
    """The ARNs of a Clean Rooms ML kind of the account (no membership in them)."""
    return re.compile(rf"{_ACCOUNT_ARN_PREFIX}{resource}/[-a-zA-Z0-9_/.]+")


UUID_PATTERN: Final = re.compile(_UUID)
TRAINING_DATASET_ARN_PATTERN: Final = _account_arn("training-dataset")
AUDIENCE_MODEL_ARN_PATTERN: Final = _account_arn("audience-model")
CONFIGURED_AUDIENCE_MODEL_ARN_PATTERN: Final = _account_arn("configured-audience-model")
AUDIENCE_GENERATION_JOB_ARN_PATTERN: Final = _account_arn("audience-generation-job")
ACCOUNT_ARN_SHAPE: Final = "arn:<partition>:cleanrooms-ml:<region>:<account>:"
S3_URI_MAX: Final = 1285
ASSOCIATION_ARN_PATTERN: Final = _ml_arn("configured-model-algorithm-association")
ML_INPUT_CHANNEL_ARN_PATTERN: Final = _ml_arn("ml-input-channel")
TRAINED_MODEL_ARN_PATTERN: Final = _ml_arn("trained-model")
KMS_KEY_ARN_PATTERN: Final = re.compile(r"arn:aws[-a-z]*:kms:[-a-z0-9]+:[0-9]{12}:key/.+")
CHANNEL_NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9.\-_]+")
ENVIRONMENT_KEY_PATTERN: Final = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
ACCOUNT_ID_PATTERN: Final = re.compile(r"[0-9]{12}")
# NameString / ResourceDescription, verbatim from the service model. The
# service matches them as Java does: on UTF-16 code units, with an ASCII \s.
# Their character classes span most of Unicode: compiling them costs milliseconds, so
# they are compiled when a name or a description is first checked, not on import.
_NAME: Final = r"(?!\s*$)[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDBFF-\uDC00\uDFFF\t]*"
_DESCRIPTION: Final = r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDBFF-\uDC00\uDFFF\t\r\n]*"


@functools.cache
def _pattern(source: str) -> re.Pattern[str]:
    return re.compile(source, re.ASCII)


# Java's "." (HyperParameters keys and values are ".*") stops at these.
_JAVA_LINE_TERMINATORS: Final = re.compile("[\n\r\u0085\u2028\u2029]")


def utf16(value: str) -> str:
    """``value`` as Java sees it: one character per UTF-16 code unit."""
    data = value.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(data[i : i + 2], "little")) for i in range(0, len(data), 2))


_ML_SHAPE: Final = "arn:<partition>:cleanrooms-ml:<region>:<account>:membership/<membership-uuid>/"
ARN_MIN_LENGTH: Final = 20
ARN_MAX_LENGTH: Final = 2048
NAME_MAX_LENGTH: Final = 63
MAX_MAP_ENTRIES: Final = 100
HYPERPARAMETER_KEY_MAX: Final = 256
HYPERPARAMETER_VALUE_MAX: Final = 2500
ENVIRONMENT_KEY_MAX: Final = 512
ENVIRONMENT_VALUE_MAX: Final = 512
INSTANCE_COUNT_RANGE: Final = (1, 5)
VOLUME_SIZE_RANGE_GIB: Final = (1, 8192)
MAX_RUNTIME_RANGE_SECONDS: Final = (1, 2_419_200)
DATA_CHANNELS_RANGE: Final = (1, 20)
MAX_INCREMENTAL_CHANNELS: Final = 1
MAX_CHANNELS_IN_ALL: Final = 20
CHANNEL_NAME_MAX: Final = 64
DESCRIPTION_MAX: Final = 255
TAG_KEY_MAX: Final = 128
TAG_VALUE_MAX: Final = 256

Check = Callable[[ModelSpec], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    """One validation rule: the prop it checks and the check itself."""

    prop: str
    check: Check


_unresolved = unresolved


def _length(value: str) -> int:
    """A string's length as the service counts it (UTF-16 code units)."""
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def _num(value: float) -> str:
    return f"{value:.12g}"


def _is_whole(value: float) -> bool:
    return float(value).is_integer()


def _check_length(prop: str, value: str, low: int, high: int) -> Iterator[str]:
    if not low <= len(value) <= high:
        yield f"{prop}: {show(value)} has {len(value)} characters; allowed {low}-{high}"


def _check_pattern(prop: str, value: str, pattern: re.Pattern[str], what: str) -> Iterator[str]:
    if not pattern.fullmatch(value):
        yield f"{prop}: {show(value)} is not {what}"


def check_arn(
    prop: str, value: str | None, pattern: re.Pattern[str], what: str, shape: str
) -> Iterator[str]:
    if value is None or _unresolved(value):
        return
    if not ARN_MIN_LENGTH <= len(value) <= ARN_MAX_LENGTH or not pattern.fullmatch(value):
        yield (
            f"{prop}: {show(value)} is not {what}; allowed: {shape} "
            f"({ARN_MIN_LENGTH}-{ARN_MAX_LENGTH} characters)"
        )


def check_whole_in_range(
    prop: str, value: float | None, bounds: tuple[int, int], unit: str
) -> Iterator[str]:
    if value is None or _unresolved(value):
        return
    low, high = bounds
    if not _is_whole(value):
        yield f"{prop}: {_num(value)} {unit} is not a whole number of {unit}"
    elif not low <= value <= high:
        yield f"{prop}: {_num(value)} {unit} is out of range; allowed {low}-{high} {unit}"


def check_membership(prop: str, value: str | None) -> Iterator[str]:
    if value is not None and not _unresolved(value) and not UUID_PATTERN.fullmatch(value):
        yield (
            f"{prop}: {show(value)} is not a membership id; "
            "allowed: a lowercase UUID such as 0f3d2a1b-1234-4cde-8f00-0123456789ab"
        )


def check_name(prop: str, value: str | None) -> Iterator[str]:
    """A ``NameString`` of the service model, matched as the service (Java) does."""
    if value is None or _unresolved(value):
        return
    units = utf16(value)
    if not 1 <= len(units) <= NAME_MAX_LENGTH:
        yield f"{prop}: {show(value)} has {len(units)} characters; allowed 1-63"
    elif not _pattern(_NAME).fullmatch(units):
        yield (
            f"{prop}: {show(value)} is not allowed; a name must not be blank and "
            "may hold printable characters (no emoji or other supplementary characters) "
            "and tabs only"
        )


def check_description(prop: str, value: str | None) -> Iterator[str]:
    if value is None or _unresolved(value):
        return
    units = utf16(value)
    if len(units) > DESCRIPTION_MAX:
        yield f"{prop}: {show(value)} has {len(units)} characters; allowed 0-255"
    elif not _pattern(_DESCRIPTION).fullmatch(units):
        yield (
            f"{prop}: {show(value)} is not allowed; allowed: printable characters "
            "(no emoji or other supplementary characters), tabs and line breaks"
        )


def check_account(prop: str, value: str | None) -> Iterator[str]:
    if value is not None and not _unresolved(value) and not ACCOUNT_ID_PATTERN.fullmatch(value):
        yield f"{prop}: {show(value)} is not an account id; allowed: 12 digits"


def check_kms_key(prop: str, value: str | None) -> Iterator[str]:
    yield from check_arn(
        prop,
        value,
        KMS_KEY_ARN_PATTERN,
        "a KMS key ARN",
        "arn:<partition>:kms:<region>:<account>:key/<key-id>",
    )


def _membership(spec: ModelSpec) -> Iterator[str]:
    yield from check_membership("membership_identifier", spec.membership_identifier)


def _name(spec: ModelSpec) -> Iterator[str]:
    yield from check_name("trained_model_name", spec.trained_model_name)


def _association(spec: ModelSpec) -> Iterator[str]:
    yield from check_arn(
        spec.association_prop,
        spec.configured_model_algorithm_association_arn,
        ASSOCIATION_ARN_PATTERN,
        "a configured model algorithm association ARN",
        f"{_ML_SHAPE}configured-model-algorithm-association/<id>",
    )


JSII_RESERVED_KEYS: Final = frozenset({"__proto__"})
"""Map keys jsii (the bridge from Python to the CDK's JavaScript) refuses."""


def _jsii_reserved(prop: str, key: str) -> Iterator[str]:
    if key in JSII_RESERVED_KEYS:
        yield (
            f"{prop}: key {show(key)} cannot be used; jsii, which passes Python values to "
            "the CDK, refuses it as a map key"
        )


def check_string_map(
    prop: str,
    entries: Mapping[str, str],
    key_max: int,
    value_max: int,
    key_pattern: re.Pattern[str] | None,
    single_line: bool = False,
    *,
    max_entries: int = MAX_MAP_ENTRIES,
    value_min: int = 1,
) -> Iterator[str]:
    """A map's size, keys and values (values are never shown: they may be secrets)."""
    if _unresolved(entries):
        return
    if len(entries) > max_entries:
        yield f"{prop}: {len(entries)} entries; allowed at most {max_entries}"
    for key, value in entries.items():
        if _unresolved(key):
            continue
        if not 1 <= _length(key) <= key_max:
            yield f"{prop}: key {show(key)} has {_length(key)} characters; allowed 1-{key_max}"
        if key_pattern is not None and not key_pattern.fullmatch(key):
            yield f"{prop}: key {show(key)} does not match {key_pattern.pattern}"
        if single_line and _JAVA_LINE_TERMINATORS.search(key):
            yield f"{prop}: key {show(key)} has a line break; allowed: a single line"
        yield from _jsii_reserved(prop, key)
        if _unresolved(value):
            continue
        # Values are never shown: they may be secrets.
        which = f"{prop}: the value of key {show(key)}"
        if not isinstance(value, str):
            yield f"{which} is {article(noun(value))} ({SECRET_NOTE}); allowed: a string"
        elif not value_min <= _length(value) <= value_max:
            yield (
                f"{which} has {_length(value)} characters ({SECRET_NOTE}); "
                f"allowed {value_min}-{value_max}"
            )
        elif single_line and _JAVA_LINE_TERMINATORS.search(value):
            yield f"{which} has a line break ({SECRET_NOTE}); allowed: a single line"


def _hyperparameters(spec: ModelSpec) -> Iterator[str]:
    yield from check_string_map(
        "hyperparameters",
        spec.hyperparameters,
        HYPERPARAMETER_KEY_MAX,
        HYPERPARAMETER_VALUE_MAX,
        None,
        single_line=True,
    )


def _environment(spec: ModelSpec) -> Iterator[str]:
    yield from check_string_map(
        "environment",
        spec.environment,
        ENVIRONMENT_KEY_MAX,
        ENVIRONMENT_VALUE_MAX,
        ENVIRONMENT_KEY_PATTERN,
    )


def check_instance_type(prop: str, value: str) -> Iterator[str]:
    """An instance type's name has the ``ml.<family>.<size>`` shape."""
    if not _unresolved(value) and not is_well_formed_instance_type(value):
        yield (
            f"{prop}: {show(value)} is not an instance type; "
            "allowed: an InstanceType constant or InstanceType.of('ml.<family>.<size>')"
        )


def _instance_type(spec: ModelSpec) -> Iterator[str]:
    yield from check_instance_type("instance_type", spec.instance_type)


def _instance_count(spec: ModelSpec) -> Iterator[str]:
    yield from check_whole_in_range(
        "instance_count", spec.instance_count, INSTANCE_COUNT_RANGE, "instances"
    )


def _volume_size(spec: ModelSpec) -> Iterator[str]:
    yield from check_whole_in_range(
        "volume_size", spec.volume_size_in_gb, VOLUME_SIZE_RANGE_GIB, "GiB"
    )


def _max_runtime(spec: ModelSpec) -> Iterator[str]:
    yield from check_whole_in_range(
        "max_runtime", spec.max_runtime_in_seconds, MAX_RUNTIME_RANGE_SECONDS, "seconds"
    )


def _data_channels(spec: ModelSpec) -> Iterator[str]:
    low, high = DATA_CHANNELS_RANGE
    count = len(spec.data_channels)
    if not low <= count <= high:
        yield f"data_channels: {count} channels; allowed {low}-{high}"
    for index, channel in enumerate(spec.data_channels):
        yield from check_arn(
            f"data_channels[{index}].ml_input_channel_arn",
            channel.ml_input_channel_arn,
            ML_INPUT_CHANNEL_ARN_PATTERN,
            "an ML input channel ARN",
            f"{_ML_SHAPE}ml-input-channel/<id>",
        )


def _incremental_channels(spec: ModelSpec) -> Iterator[str]:
    count = len(spec.incremental_training_data_channels)
    if count > MAX_INCREMENTAL_CHANNELS:
        yield (
            f"incremental_training_data_channels: {count} channels; "
            f"allowed at most {MAX_INCREMENTAL_CHANNELS}"
        )
    for index, channel in enumerate(spec.incremental_training_data_channels):
        prop = f"incremental_training_data_channels[{index}]"
        yield from check_arn(
            f"{prop}.trained_model",
            channel.trained_model_arn,
            TRAINED_MODEL_ARN_PATTERN,
            "a trained model ARN",
            f"{_ML_SHAPE}trained-model/<id>",
        )
        version = channel.version_identifier
        if version is not None and not _unresolved(version) and not UUID_PATTERN.fullmatch(version):
            hint = ""
            if version == contract.BASE_VERSION:
                hint = " (a base model has no version: omit version_identifier)"
            yield (
                f"{prop}.version_identifier: {show(version)} is not a version identifier; "
                f"allowed: a lowercase UUID{hint}"
            )


def _channel_names(spec: ModelSpec) -> Iterator[str]:
    named = [(f"data_channels[{i}]", c.channel_name) for i, c in enumerate(spec.data_channels)]
    named += [
        (f"incremental_training_data_channels[{i}]", c.channel_name)
        for i, c in enumerate(spec.incremental_training_data_channels)
    ]
    if len(named) > MAX_CHANNELS_IN_ALL:
        yield (
            f"data_channels + incremental_training_data_channels: {len(named)} channels; "
            f"allowed at most {MAX_CHANNELS_IN_ALL} in all"
        )
    seen: dict[str, str] = {}
    for prop, name in named:
        if _unresolved(name):
            continue
        yield from _check_length(f"{prop}.channel_name", name, 1, CHANNEL_NAME_MAX)
        if name and not CHANNEL_NAME_PATTERN.fullmatch(name):
            yield (
                f"{prop}.channel_name: {show(name)} is not allowed; "
                "allowed characters: A-Z a-z 0-9 . - _"
            )
        if name in seen:
            yield (
                f"{prop}.channel_name: {show(name)} is already used by {seen[name]}; "
                "channel names must be unique within a model"
            )
        seen.setdefault(name, prop)


def _description(spec: ModelSpec) -> Iterator[str]:
    yield from check_description("description", spec.description)


def _kms_key(spec: ModelSpec) -> Iterator[str]:
    yield from check_kms_key("encryption_key", spec.kms_key_arn)


def _payer_account(spec: ModelSpec) -> Iterator[str]:
    yield from check_account(
        "ml_model_training_payer_account_id", spec.ml_model_training_payer_account_id
    )


def tag_failures(prop: str, tags: Mapping[str, str]) -> list[str]:
    """Problems with a set of user tags (also used for tags added with ``Tags.of``)."""
    failures: list[str] = []
    if len(tags) > contract.MAX_USER_TAGS:
        failures.append(
            f"{prop}: {len(tags)} tags; allowed at most {contract.MAX_USER_TAGS} "
            f"(the API allows 50 and the construct keeps one, {contract.RESERVED_TAG_KEY!r})"
        )
    for key, value in tags.items():
        if _unresolved(key):
            continue
        if not 1 <= _length(key) <= TAG_KEY_MAX:
            failures.append(
                f"{prop}: key {show(key)} has {_length(key)} characters; allowed 1-{TAG_KEY_MAX}"
            )
        if key.lower().startswith("aws:"):
            failures.append(f"{prop}: key {show(key)} starts with 'aws:', which AWS reserves")
        if contract.is_reserved_tag_key(key):
            failures.append(f"{prop}: key {show(key)} is reserved for the construct's own use")
        failures.extend(_jsii_reserved(prop, key))
        if isinstance(value, str) and not _unresolved(value) and _length(value) > TAG_VALUE_MAX:
            failures.append(
                f"{prop}: the value of key {show(key)}, {show(value)}, has {_length(value)} "
                f"characters; allowed 0-{TAG_VALUE_MAX}"
            )
    return failures


def _tags(spec: ModelSpec) -> Iterator[str]:
    if not _unresolved(spec.tags):
        yield from tag_failures("tags", spec.tags)


def _completion_timeout(spec: ModelSpec) -> Iterator[str]:
    value = spec.completion_timeout_in_seconds
    if _unresolved(value):
        return
    high = contract.MAX_COMPLETION_TIMEOUT_SECONDS
    if not _is_whole(value) or not 1 <= value <= high:
        yield (
            f"completion_timeout: {_num(value)} seconds is out of range; "
            f"allowed 1-{high} whole seconds (12 hours, CloudFormation's WaitCondition cap)"
        )


RULES: Final[tuple[Rule, ...]] = (
    Rule("membership_identifier", _membership),
    Rule("trained_model_name", _name),
    Rule("configured_model_algorithm_association_arn", _association),
    Rule("hyperparameters", _hyperparameters),
    Rule("environment", _environment),
    Rule("instance_type", _instance_type),
    Rule("instance_count", _instance_count),
    Rule("volume_size", _volume_size),
    Rule("max_runtime", _max_runtime),
    Rule("data_channels", _data_channels),
    Rule("incremental_training_data_channels", _incremental_channels),
    Rule("channel_name", _channel_names),
    Rule("description", _description),
    Rule("encryption_key", _kms_key),
    Rule("ml_model_training_payer_account_id", _payer_account),
    Rule("tags", _tags),
    Rule("completion_timeout", _completion_timeout),
)
"""Every rule, in the order of the props table."""


def unskipped(failures: Iterable[str], skip: frozenset[str]) -> list[str]:
    """``failures`` except those of a prop (the text before its first ``.``, ``[`` or
    ``:``) in ``skip``: a prop whose type was wrong has been reported already."""
    return [f for f in failures if re.split(r"[.\[:]", f, maxsplit=1)[0] not in skip]


def validate(spec: ModelSpec, skip: frozenset[str] = frozenset()) -> list[str]:
    """Every problem with ``spec``, or an empty list when it is valid.

    ``skip``: props whose type was wrong (already reported): their rules do not run.
    """
    return [failure for rule in RULES if rule.prop not in skip for failure in rule.check(spec)]
