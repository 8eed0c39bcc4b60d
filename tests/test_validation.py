"""One failing test per validation rule, plus tokens and the single-raise contract."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Size, Stack, Tags, Token
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Annotations, Match, Template

from cdk_cleanrooms_ml import (
    DataChannel,
    IncrementalTrainingDataChannel,
    InstanceType,
    TrainedModel,
    TrainedModelValidationError,
)
from cdk_cleanrooms_ml._validation import RULES
from helpers import BASE_MODEL_ARN, CHANNEL_ARN, PREFIX, new_stack, valid_props


def _channels(count: int, name: str = "c") -> list[DataChannel]:
    return [
        DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name=f"{name}{i}")
        for i in range(count)
    ]


class _Foreign:
    """An ITrainedModel of the user's own making, whose ARN is wrong."""

    def __init__(self, arn: str) -> None:
        self.node = new_stack().node
        self.trained_model_arn = arn
        self.version_identifier = None

    def grant(self, grantee: Any, *actions: str) -> Any:
        raise NotImplementedError

    def grant_read(self, grantee: Any) -> Any:
        raise NotImplementedError

    def grant_start_inference(self, grantee: Any) -> Any:
        raise NotImplementedError


def _base(channel_name: str = "base", version: str | None = None) -> IncrementalTrainingDataChannel:
    stack = new_stack()
    return IncrementalTrainingDataChannel(
        trained_model=TrainedModel.from_trained_model_arn(stack, "Base", BASE_MODEL_ARN),
        channel_name=channel_name,
        version_identifier=version,
    )


# (case id, overrides, text the error must contain: prop, value and what is allowed)
CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "membership-not-uuid",
        {"membership_identifier": "not-a-uuid"},
        ["membership_identifier", "'not-a-uuid'", "UUID"],
    ),
    (
        "membership-uppercase",
        {"membership_identifier": "0F3D2A1B-1234-4CDE-8F00-0123456789AB"},
        ["membership_identifier", "lowercase UUID"],
    ),
    ("name-empty", {"trained_model_name": ""}, ["trained_model_name", "''", "1-63"]),
    (
        "name-too-long",
        {"trained_model_name": "x" * 64},
        ["trained_model_name", "64 characters", "1-63"],
    ),
    ("name-blank", {"trained_model_name": "   "}, ["trained_model_name", "blank"]),
    ("name-control-char", {"trained_model_name": "a\x00b"}, ["trained_model_name", "printable"]),
    ("name-emoji", {"trained_model_name": "model-\U0001f600"}, ["trained_model_name", "emoji"]),
    (
        "hyperparameter-value-multiline",
        {"hyperparameters": {"k": "line1\nline2"}},
        ["hyperparameters: the value of key 'k'", "line break", "single line"],
    ),
    (
        "association-arn",
        {"configured_model_algorithm_association_arn": f"{PREFIX}/ml-input-channel/x"},
        [
            "configured_model_algorithm_association_arn",
            "ml-input-channel/x",
            "configured-model-algorithm-association",
        ],
    ),
    (
        "hyperparameters-too-many",
        {"hyperparameters": {f"k{i}": "v" for i in range(101)}},
        ["hyperparameters", "101 entries", "at most 100"],
    ),
    (
        "hyperparameter-key-too-long",
        {"hyperparameters": {"k" * 257: "v"}},
        ["hyperparameters", "257 characters", "1-256"],
    ),
    (
        "hyperparameter-value-too-long",
        {"hyperparameters": {"k": "v" * 2501}},
        ["hyperparameters: the value of key 'k'", "2501 characters", "1-2500"],
    ),
    (
        "hyperparameter-value-empty",
        {"hyperparameters": {"k": ""}},
        ["hyperparameters: the value of key 'k'", "0 characters", "1-2500"],
    ),
    (
        "hyperparameter-key-jsii-reserved",
        {"hyperparameters": {"__proto__": "v"}},
        ["hyperparameters", "'__proto__'", "jsii"],
    ),
    (
        "environment-key-jsii-reserved",
        {"environment": {"__proto__": "v"}},
        ["environment", "'__proto__'", "jsii"],
    ),
    (
        "tag-key-jsii-reserved",
        {"tags": {"__proto__": "v"}},
        ["tags", "'__proto__'", "jsii"],
    ),
    (
        "environment-too-many",
        {"environment": {f"K{i}": "v" for i in range(101)}},
        ["environment", "101 entries", "at most 100"],
    ),
    (
        "environment-key-pattern",
        {"environment": {"1BAD": "v"}},
        ["environment", "'1BAD'", "[a-zA-Z_][a-zA-Z0-9_]*"],
    ),
    (
        "environment-key-too-long",
        {"environment": {"K" * 513: "v"}},
        ["environment", "513 characters", "1-512"],
    ),
    (
        "environment-value-too-long",
        {"environment": {"K": "v" * 513}},
        ["environment: the value of key 'K'", "513 characters", "1-512"],
    ),
    (
        "instance-type-shape",
        {"instance_type": InstanceType.of("m5.xlarge")},
        ["instance_type", "'m5.xlarge'", "InstanceType.of"],
    ),
    (
        "instance-type-not-enum",
        {"instance_type": "ml.m5.xlarge"},
        ["instance_type", "'ml.m5.xlarge'", "InstanceType"],
    ),
    ("instance-count-zero", {"instance_count": 0}, ["instance_count", "0 instances", "1-5"]),
    ("instance-count-six", {"instance_count": 6}, ["instance_count", "6 instances", "1-5"]),
    ("volume-zero", {"volume_size": Size.gibibytes(0)}, ["volume_size", "0 GiB", "1-8192"]),
    (
        "volume-too-big",
        {"volume_size": Size.gibibytes(8193)},
        ["volume_size", "8193 GiB", "1-8192"],
    ),
    (
        "volume-fraction",
        {"volume_size": Size.mebibytes(1536)},
        ["volume_size", "1.5 GiB", "whole number"],
    ),
    ("volume-not-size", {"volume_size": 50}, ["volume_size", "50", "Size"]),
    (
        "runtime-too-long",
        {"max_runtime": Duration.days(29)},
        ["max_runtime", "2505600 seconds", "1-2419200"],
    ),
    (
        "runtime-fraction",
        {"max_runtime": Duration.millis(1500)},
        ["max_runtime", "1.5 seconds", "whole number"],
    ),
    (
        "runtime-zero",
        {"max_runtime": Duration.seconds(0)},
        ["max_runtime", "0 seconds", "1-2419200"],
    ),
    ("data-channels-none", {"data_channels": []}, ["data_channels", "0 channels", "1-20"]),
    (
        "data-channels-too-many",
        {"data_channels": _channels(21)},
        ["data_channels", "21 channels", "1-20"],
    ),
    (
        "data-channel-arn",
        {
            "data_channels": [
                DataChannel(ml_input_channel_arn="arn:aws:s3:::bucket/key", channel_name="t")
            ]
        },
        ["data_channels[0].ml_input_channel_arn", "arn:aws:s3:::bucket/key", "ml-input-channel"],
    ),
    (
        "data-channel-distribution-type",
        {
            "data_channels": [
                DataChannel(
                    ml_input_channel_arn=CHANNEL_ARN,
                    channel_name="t",
                    s3_data_distribution_type="FullyReplicated",  # type: ignore[arg-type]
                )
            ]
        },
        ["s3_data_distribution_type", "'FullyReplicated'", "FULLY_REPLICATED"],
    ),
    (
        "channel-name-pattern",
        {
            "data_channels": [
                DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name="has space")
            ]
        },
        ["data_channels[0].channel_name", "'has space'", "A-Z a-z 0-9 . - _"],
    ),
    (
        "channel-name-too-long",
        {"data_channels": [DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name="c" * 65)]},
        ["data_channels[0].channel_name", "65 characters", "1-64"],
    ),
    (
        "channel-name-duplicate",
        {"data_channels": _channels(1, "x") + _channels(1, "x")},
        ["data_channels[1].channel_name", "'x0'", "unique"],
    ),
    (
        "channel-name-duplicate-across-kinds",
        {"data_channels": _channels(1, "x"), "incremental_training_data_channels": [_base("x0")]},
        ["incremental_training_data_channels[0].channel_name", "'x0'", "unique"],
    ),
    (
        "channels-in-all",
        {"data_channels": _channels(20), "incremental_training_data_channels": [_base()]},
        ["21 channels", "at most 20 in all"],
    ),
    (
        "incremental-too-many",
        {"incremental_training_data_channels": [_base("a"), _base("b")]},
        ["incremental_training_data_channels", "2 channels", "at most 1"],
    ),
    (
        "incremental-arn",
        {
            "incremental_training_data_channels": [
                IncrementalTrainingDataChannel(
                    trained_model=_Foreign(f"{PREFIX}/ml-input-channel/x"),
                    channel_name="b",
                )
            ]
        },
        ["incremental_training_data_channels[0].trained_model", "trained-model"],
    ),
    (
        "incremental-version",
        {"incremental_training_data_channels": [_base(version="v1")]},
        ["incremental_training_data_channels[0].version_identifier", "'v1'", "UUID"],
    ),
    (
        "incremental-not-a-model",
        {
            "incremental_training_data_channels": [
                IncrementalTrainingDataChannel(trained_model="arn", channel_name="b")  # type: ignore[arg-type]
            ]
        },
        ["incremental_training_data_channels[0]", "ITrainedModel"],
    ),
    (
        "description-too-long",
        {"description": "d" * 256},
        ["description", "256 characters", "0-255"],
    ),
    ("description-control-char", {"description": "a\x07"}, ["description", "printable"]),
    (
        "encryption-key-alias",
        {
            "encryption_key": kms.Key.from_key_arn(
                new_stack(), "K", "arn:aws:kms:us-east-1:111122223333:alias/my-key"
            )
        },
        ["encryption_key", "alias/my-key", "key/<key-id>"],
    ),
    (
        "payer-account",
        {"ml_model_training_payer_account_id": "12345"},
        ["ml_model_training_payer_account_id", "'12345'", "12 digits"],
    ),
    (
        "tags-too-many",
        {"tags": {f"k{i}": "v" for i in range(50)}},
        ["tags", "50 tags", "at most 49"],
    ),
    ("tag-key-too-long", {"tags": {"k" * 129: "v"}}, ["tags", "129 characters", "1-128"]),
    ("tag-key-aws-prefix", {"tags": {"AWS:thing": "v"}}, ["tags", "'AWS:thing'", "aws:"]),
    ("tag-key-reserved", {"tags": {"cdk-cleanrooms-ml:owner": "v"}}, ["tags", "reserved"]),
    (
        "tag-key-reserved-for-a-version",
        {"tags": {"cdk-cleanrooms-ml:owner/0123456789abcdef": "v"}},
        ["tags", "reserved"],
    ),
    (
        "tag-value-too-long",
        {"tags": {"k": "v" * 257}},
        ["tags: the value of key 'k'", "257 characters", "0-256"],
    ),
    (
        "training-input-mode",
        {"training_input_mode": "File"},
        ["training_input_mode", "'File'", "FAST_FILE"],
    ),
    (
        "removal-policy-snapshot",
        {"removal_policy": RemovalPolicy.SNAPSHOT},
        ["removal_policy", "SNAPSHOT", "RETAIN, DESTROY"],
    ),
    (
        "completion-timeout-over-an-hour",
        {"completion_timeout": Duration.minutes(721)},
        ["completion_timeout", "43260 seconds", "1-43200"],
    ),
    (
        "completion-timeout-not-duration",
        {"completion_timeout": 60},
        ["completion_timeout", "60", "Duration"],
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), [pytest.param(o, e, id=i) for i, o, e in CASES])
def test_invalid_prop_is_rejected_with_prop_value_and_allowed(
    overrides: dict[str, Any], expected: list[str]
) -> None:
    stack = new_stack()
    with pytest.raises(TrainedModelValidationError) as raised:
        TrainedModel(stack, "Model", **valid_props(**overrides))
    message = str(raised.value)
    for text in expected:
        assert text in message, f"{text!r} not in {message!r}"
    assert raised.value.construct_path == "Test/Model"


def test_every_rule_has_a_failing_case() -> None:
    covered = {o for _, overrides, _ in CASES for o in overrides}
    for rule in RULES:
        assert rule.prop in covered or rule.prop == "channel_name", rule.prop


def test_all_failures_are_reported_at_once() -> None:
    with pytest.raises(TrainedModelValidationError) as raised:
        TrainedModel(
            new_stack(),
            "Model",
            **valid_props(membership_identifier="x", instance_count=9, description="d" * 300),
        )
    assert len(raised.value.failures) == 3
    assert "(3 problems)" in str(raised.value)


def test_error_is_an_exported_value_error() -> None:
    assert issubclass(TrainedModelValidationError, ValueError)


def test_hyperparameter_values_are_never_echoed() -> None:
    with pytest.raises(TrainedModelValidationError) as raised:
        TrainedModel(
            new_stack(), "Model", **valid_props(hyperparameters={"password": "s3cr3t" * 500})
        )
    assert "s3cr3t" not in str(raised.value)


def test_unresolved_tokens_are_skipped() -> None:
    stack = new_stack(env=False)
    TrainedModel(
        stack,
        "Model",
        **valid_props(
            membership_identifier=Fn.import_value("Membership"),
            trained_model_name=Fn.import_value("Name"),
            configured_model_algorithm_association_arn=Fn.import_value("Assoc"),
            data_channels=[
                DataChannel(
                    ml_input_channel_arn=Fn.import_value("Ch"),
                    channel_name=Fn.import_value("ChName"),
                )
            ],
            instance_count=Token.as_number(Fn.import_value("Count")),
            volume_size=Size.gibibytes(Token.as_number(Fn.import_value("Gib"))),
            max_runtime=Duration.seconds(Token.as_number(Fn.import_value("Secs"))),
            description=Fn.import_value("Desc"),
            ml_model_training_payer_account_id=Fn.import_value("Payer"),
            hyperparameters={"k": Fn.import_value("Hp")},
            tags={"k": Fn.import_value("TagValue")},
        ),
    )
    Template.from_stack(stack)


def _tag_errors(stack: Stack) -> dict[str, list[str]]:
    """Error annotations by construct path (how a Tags.of failure is reported)."""
    errors: dict[str, list[str]] = {}
    for found in Annotations.from_stack(stack).find_error("*", Match.any_value()):
        errors.setdefault(found.id, []).append(str(found.entry.data))
    return errors


def test_tags_added_with_tags_of_are_validated_at_synth() -> None:
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props())
    Tags.of(model).add("k" * 129, "v")
    (message,) = _tag_errors(stack)["/Test/Model"]
    assert "129 characters" in message


def test_tags_of_failures_name_only_the_model_that_has_them() -> None:
    """One check for all of a stack's models: untagged and token-tagged models pass,
    and each failure is an error on its own model (no exception, no traceback)."""
    stack = new_stack()
    TrainedModel(stack, "Untagged", **valid_props())
    tokens = TrainedModel(stack, "Tokens", **valid_props())
    Tags.of(tokens).add("team", Fn.import_value("Team"))
    bad = TrainedModel(stack, "Bad", **valid_props(tags={"ok": "1"}))
    Tags.of(bad).add("aws:reserved", "v")
    errors = _tag_errors(stack)
    assert list(errors) == ["/Test/Bad"]
    assert "aws:" in errors["/Test/Bad"][0]


def test_a_reserved_tag_key_with_a_token_value_is_still_rejected() -> None:
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props())
    Tags.of(model).add("aws:team", Fn.import_value("Team"))  # a literal key, a token value
    assert "aws:" in _tag_errors(stack)["/Test/Model"][0]


def test_tags_with_token_values_count_towards_the_limit() -> None:
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props(tags={f"k{i}": "v" for i in range(45)}))
    for i in range(10):
        Tags.of(model).add(f"t{i}", Aws.REGION)  # 55 tags in all; allowed at most 49
    assert "55 tags; allowed at most 49" in _tag_errors(stack)["/Test/Model"][0]
