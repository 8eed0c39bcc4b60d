"""How a validation error names what it received: as the user wrote it
(``Duration.days(1)``, ``Size.gibibytes(50)``, ``InstanceType.ML_M5_XLARGE``, a construct
by its kind and path), with the right article ("an int", "an InstanceType"), a map's key
told apart from its value, and a hint for a context value (always a string) given where a
number belongs. The structure stays: prop, value received, what is allowed; lowercase, no
final period.

Every message the validation code can produce is reached by the total-validation
generator (any value of any prop of every construct): ``test_total_validation`` checks
each with ``badly_worded``; the cases below pin the wording itself.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import Duration, Size, Stack
from aws_cdk import aws_kms as kms

from cdk_cleanrooms_ml import (
    InstanceType,
    MLInputChannel,
    TrainedModel,
    TrainedModelInferenceJob,
    ValidationError,
)
from cdk_cleanrooms_ml._props import article, show
from helpers import KMS_KEY_ARN, channel_props, job_props, new_stack, valid_props

UNWRITTEN = [
    (re.compile(r"object at 0x"), "a raw repr"),
    (re.compile(r"<class |<\w+\.\w+: "), "a raw repr of a class or an enum member"),
    (re.compile(r"\b(?:a|an) (?:str|type|NoneType)\b"), "a Python type name"),
    (re.compile(r"Proxy\b|\b_[A-Z]|InterfaceDynamicProxy"), "a jsii or private class"),
    (re.compile(r"InstanceType\('"), "an instance type not as written"),
    # a prop subscripted (``hyperparameters['epochs'] is ...``), not a value's repr that
    # holds a bracket (``{'0[': None}``)
    (re.compile(r"(?<![\w'\"])[A-Za-z_]\w*\[['\"]"), "a map's key or value not said which"),
    (
        re.compile(
            r"\ba (?:[aeioAEIO]\w|I[A-Z]|M[A-Z]|S3)|\ban (?:[bcdgjkpqtvwyzBCDGJKPQTVWYZ]|u[^np])"
        ),
        "a wrong article",
    ),
]


def badly_worded(failure: str) -> list[str]:
    """How ``failure`` misnames what it received (empty when it reads right);
    ``test_total_validation`` checks every message it reaches with it."""
    found = [why for pattern, why in UNWRITTEN if pattern.search(failure)]
    prop, sep, message = failure.partition(": ")
    if not sep or not re.fullmatch(r"[a-z_]+(?:\[\d+\])?(?:\.[a-z_]+)?", prop):
        found.append("no prop first")
    if message[:1].isupper() and not re.match(r"[A-Z][A-Za-z0-9]*[.( ']", message):
        found.append("a capital first letter")  # a value as written may open it
    if failure.endswith("."):
        found.append("a final period")
    return found


def _failures(build: Any) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        build()
    return list(raised.value.failures)


def _model(**overrides: Any) -> list[str]:
    return _failures(lambda: TrainedModel(new_stack(), "Model", **valid_props(**overrides)))


def _job(**overrides: Any) -> list[str]:
    stack = new_stack()
    return _failures(
        lambda: TrainedModelInferenceJob(stack, "Job", **job_props(stack, **overrides))
    )


def _channel(**overrides: Any) -> list[str]:
    return _failures(lambda: MLInputChannel(new_stack(), "Rows", **channel_props(**overrides)))


CONTEXT = "a context value (-c key=value) is always a string"

EXACT = [
    (
        lambda: _model(hyperparameters={"epochs": 10}),
        "hyperparameters: the value of key 'epochs' is an int (not shown: values may be "
        "secrets); allowed: a string (convert it with str(...))",
    ),
    (
        lambda: _model(instance_type="ml.m5.xlarge"),
        "instance_type: 'ml.m5.xlarge' (a string) is not an InstanceType; allowed: an "
        "InstanceType constant or InstanceType.of('ml.<family>.<size>')",
    ),
    (
        lambda: _model(instance_count="2"),
        "instance_count: '2' (a string) is not a number; allowed: a whole number, e.g. "
        f"instance_count=2; {CONTEXT}: convert it with int(...)",
    ),
    (
        lambda: _model(volume_size="50"),
        "volume_size: '50' (a string) is not a Size; allowed: aws_cdk.Size, e.g. "
        f"Size.gibibytes(50); {CONTEXT}: convert it with Size.gibibytes(int(...))",
    ),
    (
        lambda: _model(max_runtime=Size.gibibytes(50)),
        "max_runtime: Size.gibibytes(50) is not a Duration; allowed: aws_cdk.Duration, e.g. "
        "Duration.hours(3)",
    ),
    (
        lambda: _model(max_runtime="3600"),
        "max_runtime: '3600' (a string) is not a Duration; allowed: aws_cdk.Duration, e.g. "
        f"Duration.hours(3); {CONTEXT}: convert it with Duration.hours(int(...))",
    ),
    (
        lambda: _model(wait_for_completion="false"),
        "wait_for_completion: 'false' (a string) is not a bool; allowed: True or False; "
        f"{CONTEXT}: convert it, e.g. value.lower() == 'true'",
    ),
    (
        lambda: _model(training_input_mode=Duration.days(1)),
        "training_input_mode: Duration.days(1) is not a TrainingInputMode; allowed: "
        "TrainingInputMode.FILE, TrainingInputMode.FAST_FILE, TrainingInputMode.PIPE",
    ),
    (
        lambda: _model(hyperparameters={"k": "v" * 2501}),
        "hyperparameters: the value of key 'k' has 2501 characters (not shown: values may be "
        "secrets); allowed 1-2500",
    ),
    (
        lambda: _model(tags={"team": "t" * 257}),
        f"tags: the value of key 'team', {show('t' * 257)}, has 257 characters; allowed 0-256",
    ),
    (
        lambda: _job(max_payload=6),
        "max_payload: 6 (an int) is not a Size; allowed: aws_cdk.Size, e.g. Size.mebibytes(6)",
    ),
    (
        lambda: _job(instance_type=InstanceType.of(None)),  # type: ignore[arg-type]
        "instance_type: InstanceType.of(None): None is not an instance type name; allowed: a "
        "name known at synth, such as InstanceType.of('ml.m5.xlarge') "
        "(app.node.try_get_context gives None for a key not set with -c)",
    ),
    (
        lambda: _channel(retention=Duration.hours(36)),
        "retention: 1.5 days is not a whole number of days",  # a range is checked in its unit
    ),
]


@pytest.mark.parametrize(("make", "expected"), EXACT, ids=[e[1].split(":")[0] for e in EXACT])
def test_a_message_names_the_value_the_key_and_the_fix(make: Any, expected: str) -> None:
    assert expected in make()


def test_constructs_and_imports_are_named_by_kind_and_path() -> None:
    stack = new_stack()
    key = kms.Key.from_key_arn(stack, "Imported", KMS_KEY_ARN)
    failures = _failures(lambda: TrainedModel(stack, "M", **valid_props(description=key)))
    assert failures == ["description: IKey 'Test/Imported' is not a string; allowed: a string"], (
        failures
    )
    assert show(stack) == "Stack 'Test'"
    assert show(InstanceType.ML_M5_XLARGE) == "InstanceType.ML_M5_XLARGE"
    assert show(Duration.minutes(90)) == "Duration.minutes(90)"
    assert show(Size.mebibytes(1536)) == "Size.mebibytes(1536)"
    assert show(Stack) == "Stack"


@pytest.mark.parametrize(
    ("word", "said"),
    [
        ("int", "an int"),
        ("string", "a string"),
        ("InstanceType", "an InstanceType"),
        ("IKey", "an IKey"),
        ("MLConfiguration", "an MLConfiguration"),
        ("S3DataDistributionType", "an S3DataDistributionType"),
        ("UUID", "a UUID"),
        ("Duration", "a Duration"),
        ("object", "an object"),
        ("unresolved token", "an unresolved token"),
    ],
)
def test_articles_are_as_said(word: str, said: str) -> None:
    assert article(word) == said
