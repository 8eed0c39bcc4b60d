"""Validation is total: for every prop of every construct, any Python value either
synthesizes or raises ``ValidationError`` naming the prop, with every failure of the
call listed at once.

Hypothesis draws one to three props and an arbitrary value for each (None, bools,
ints, floats, strings, bytes, lists, dicts, plain objects, CDK values of the wrong
kind, constructs, tokens, and the library's own value types filled with arbitrary
fields); the rest of the props stay valid. Nothing but ``ValidationError`` may come
out: no TypeError, AttributeError or jsii error, at construction or at synth.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_cdk import App, Aws, Duration, Fn, RemovalPolicy, Size, Stack, Token
from aws_cdk import aws_cleanroomsml as cleanroomsml
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_validation_wording import badly_worded

from cdk_cleanrooms_ml import (
    AudienceExportJob,
    AudienceGenerationJob,
    AudienceModel,
    AudienceSize,
    AudienceSizeConfig,
    AudienceSizeType,
    ConfiguredAudienceModel,
    DataChannel,
    IncrementalTrainingDataChannel,
    InstanceType,
    MLConfiguration,
    MLInputChannel,
    MLInputChannelDataSource,
    ResultFormat,
    S3DataDistributionType,
    SeedAudience,
    SharedAudienceMetrics,
    TagOnCreatePolicy,
    TrainedModel,
    TrainedModelExportJob,
    TrainedModelInferenceJob,
    TrainingInputMode,
    ValidationError,
    WorkerComputeType,
)
from helpers import (
    ACCOUNT,
    ASSOCIATION_ARN,
    AUDIENCE_GENERATION_JOB_ARN,
    AUDIENCE_MODEL_ARN,
    CHANNEL_ARN,
    CONFIGURED_AUDIENCE_MODEL_ARN,
    KMS_KEY_ARN,
    MEMBERSHIP,
    MODEL_ARN,
    REGION,
    TRAINING_DATASET_ARN,
    audience_export_props,
    audience_model_props,
    channel_props,
    configured_props,
    generation_props,
    job_props,
    model_export_props,
    valid_props,
)

Make = Callable[[Stack], Any]
"""A value is made in the stack under test: some values are constructs."""

CONSTRUCTS: dict[str, tuple[type, Callable[[Stack], dict[str, Any]]]] = {
    "TrainedModel": (TrainedModel, lambda stack: valid_props()),
    "MLInputChannel": (MLInputChannel, lambda stack: channel_props()),
    "TrainedModelInferenceJob": (TrainedModelInferenceJob, job_props),
    "MLConfiguration": (
        MLConfiguration,
        lambda stack: {
            "membership_identifier": MEMBERSHIP,
            "output_bucket": s3.Bucket.from_bucket_name(stack, "Output", "results"),
        },
    ),
    "TrainedModelExportJob": (TrainedModelExportJob, model_export_props),
    "AudienceModel": (AudienceModel, lambda stack: audience_model_props()),
    "ConfiguredAudienceModel": (ConfiguredAudienceModel, configured_props),
    "AudienceGenerationJob": (AudienceGenerationJob, generation_props),
    "AudienceExportJob": (AudienceExportJob, audience_export_props),
}


def _props_of(construct: type) -> list[str]:
    parameters = inspect.signature(vars(construct)["__init__"]).parameters.values()
    return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]


def _const(value: Any) -> Make:
    return lambda stack: value


def _construct(name: str, make: Callable[[Stack, str], Any]) -> st.SearchStrategy[Make]:
    """A construct made in the stack (a fresh id each time it is made)."""

    def build(stack: Stack) -> Any:
        return make(stack, f"{name}{len(stack.node.children)}")

    return st.just(build)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.binary(max_size=8),
    st.sampled_from(
        [
            "",
            "2",
            "50",
            "50GiB",
            "true",
            "no",
            MEMBERSHIP,
            MEMBERSHIP.upper(),
            ASSOCIATION_ARN,
            CHANNEL_ARN,
            MODEL_ARN,
            KMS_KEY_ARN,
            TRAINING_DATASET_ARN,
            AUDIENCE_MODEL_ARN,
            CONFIGURED_AUDIENCE_MODEL_ARN,
            AUDIENCE_GENERATION_JOB_ARN,
            "s3://bucket/key",
            "ml.m5.xlarge",
            "DESTROY",
            "destroy",
            "\ud800",  # a lone surrogate
            "x" * 70_000,
        ]
    ),
)
plain = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers()), children, max_size=3),
    ),
    max_leaves=6,
)
cdk_values = st.sampled_from(
    [
        Duration.days(3),
        Duration.hours(1),
        Duration.millis(1500),
        Duration.seconds(0),
        Size.gibibytes(2),
        Size.mebibytes(1),
        Size.kibibytes(5),
        RemovalPolicy.DESTROY,
        RemovalPolicy.SNAPSHOT,
        InstanceType.ML_M5_XLARGE,
        InstanceType.of("ml.m55.xlarge"),
        WorkerComputeType.CR_1X,
        ResultFormat.CSV,
        TrainingInputMode.FILE,
        S3DataDistributionType.FULLY_REPLICATED,
        MLInputChannelDataSource.sql("SELECT 1"),
        SharedAudienceMetrics.ALL,
        AudienceSizeType.PERCENTAGE,
        TagOnCreatePolicy.NONE,
        AudienceSizeConfig(AudienceSizeType.ABSOLUTE, [1000]),
        AudienceSize(AudienceSizeType.ABSOLUTE, 1000),
        SeedAudience.sql("SELECT 1"),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1),
        object(),
        int,
    ]
)
tokens = st.sampled_from(
    [
        Aws.ACCOUNT_ID,
        Fn.import_value("Exported"),
        Token.as_number(Fn.import_value("Number")),
        Token.as_list(Fn.import_value("List")),
        Fn.join("-", [Aws.REGION, "x"]),
        Token.as_any(Fn.import_value("Any")),
    ]
)
constructs = st.one_of(
    _construct("Key", lambda s, i: kms.Key.from_key_arn(s, i, KMS_KEY_ARN)),
    _construct("NewKey", lambda s, i: kms.Key(s, i)),
    _construct("Role", lambda s, i: iam.Role.from_role_arn(s, i, f"arn:aws:iam::{ACCOUNT}:role/r")),
    _construct("Bucket", lambda s, i: s3.Bucket.from_bucket_name(s, i, "bucket-b")),
    _construct("Model", lambda s, i: TrainedModel.from_trained_model_arn(s, i, MODEL_ARN)),
    _construct("Channel", lambda s, i: MLInputChannel.from_ml_input_channel_arn(s, i, CHANNEL_ARN)),
    _construct(
        "Association",
        lambda s, i: cleanroomsml.CfnConfiguredModelAlgorithmAssociation(
            s,
            i,
            configured_model_algorithm_arn=f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:"
            "configured-model-algorithm/a",
            membership_identifier=MEMBERSHIP,
            name="a",
        ),
    ),
    _construct("Config", lambda s, i: MLConfiguration.from_membership_identifier(s, i, MEMBERSHIP)),
    _construct(
        "Audience", lambda s, i: AudienceModel.from_audience_model_arn(s, i, AUDIENCE_MODEL_ARN)
    ),
    _construct(
        "Configured",
        lambda s, i: ConfiguredAudienceModel.from_configured_audience_model_arn(
            s, i, CONFIGURED_AUDIENCE_MODEL_ARN
        ),
    ),
    _construct(
        "Generation",
        lambda s, i: AudienceGenerationJob.from_audience_generation_job_arn(
            s, i, AUDIENCE_GENERATION_JOB_ARN
        ),
    ),
    _construct("Policy", lambda s, i: iam.PolicyDocument()),
    st.just(lambda stack: stack),
)
anything: st.SearchStrategy[Make] = st.one_of(
    plain.map(_const), cdk_values.map(_const), tokens.map(_const), constructs
)


def _data_channel(fields: dict[str, Make]) -> Make:
    return lambda stack: DataChannel(**{k: make(stack) for k, make in fields.items()})


def _incremental(fields: dict[str, Make]) -> Make:
    return lambda stack: IncrementalTrainingDataChannel(
        **{k: make(stack) for k, make in fields.items()}
    )


def _list_of(item: st.SearchStrategy[Make]) -> st.SearchStrategy[Make]:
    return st.lists(item, min_size=0, max_size=3).map(
        lambda makes: lambda stack: [make(stack) for make in makes]
    )


# the library's own value types, their fields arbitrary
data_channels = st.fixed_dictionaries(
    {"channel_name": anything},
    optional={
        "ml_input_channel": anything,
        "ml_input_channel_arn": anything,
        "s3_data_distribution_type": anything,
    },
).map(_data_channel)
incremental_channels = st.fixed_dictionaries(
    {"trained_model": anything, "channel_name": anything},
    optional={"version_identifier": anything},
).map(_incremental)
data_sources = st.one_of(
    anything.map(lambda make: lambda stack: MLInputChannelDataSource.sql(make(stack))),
    st.tuples(anything, anything).map(
        lambda makes: (
            lambda stack: MLInputChannelDataSource.analysis_template(
                makes[0](stack), makes[1](stack)
            )
        )
    ),
)
seeds = st.one_of(
    st.tuples(anything, anything).map(
        lambda makes: lambda stack: SeedAudience.from_bucket(makes[0](stack), makes[1](stack))
    ),
    anything.map(lambda make: lambda stack: SeedAudience.sql(make(stack))),
    st.tuples(anything, anything).map(
        lambda makes: lambda stack: SeedAudience.analysis_template(makes[0](stack), makes[1](stack))
    ),
    st.tuples(anything, anything).map(
        lambda makes: lambda stack: SeedAudience(bucket=makes[0](stack), key=makes[1](stack))
    ),
)
sizes = st.tuples(anything, anything).map(
    lambda makes: lambda stack: AudienceSize(makes[0](stack), makes[1](stack))
)
size_configs = st.tuples(anything, st.one_of(anything, _list_of(anything))).map(
    lambda makes: lambda stack: AudienceSizeConfig(makes[0](stack), makes[1](stack))
)
SHAPED: dict[str, st.SearchStrategy[Make]] = {
    "data_channels": st.one_of(_list_of(data_channels), data_channels),
    "incremental_training_data_channels": st.one_of(
        _list_of(incremental_channels), incremental_channels
    ),
    "data_source": data_sources,
    "seed_audience": seeds,
    "audience_size": sizes,
    "audience_size_config": size_configs,
}


def _values(prop: str) -> st.SearchStrategy[Make]:
    shaped = SHAPED.get(prop)
    return anything if shaped is None else st.one_of(anything, shaped)


def _prop_root(failure: str) -> str:
    return re.split(r"[.\[:]", failure, maxsplit=1)[0]


def _attempt(kind: str, overrides: dict[str, Make]) -> ValidationError | None:
    """Build the construct with ``overrides`` over its valid props and synthesize it."""
    construct, base = CONSTRUCTS[kind]
    stack = Stack(App(), "Test", env={"account": ACCOUNT, "region": REGION})
    props = base(stack)
    for prop, make in overrides.items():
        props[prop] = make(stack)
    try:
        construct(stack, "Subject", **props)
    except ValidationError as error:
        return error
    stack.node.root.synth()  # type: ignore[attr-defined]
    return None


def _check(kind: str, overrides: dict[str, Make]) -> None:
    error = _attempt(kind, overrides)
    if error is None:
        event(f"{kind}: synthesized")
        return
    event(f"{kind}: ValidationError")
    props = set(_props_of(CONSTRUCTS[kind][0]))
    named = {_prop_root(failure) for failure in error.failures}
    assert named <= props, error.failures  # every failure names a prop
    for failure in error.failures:  # and the value as written (test_validation_wording.py)
        assert not badly_worded(failure), (failure, badly_worded(failure))
    # every prop that fails on its own is reported when it fails with the others
    if len(overrides) > 1:
        for prop, make in overrides.items():
            alone = _attempt(kind, {prop: make})
            if alone is not None:
                assert {_prop_root(f) for f in alone.failures} <= named, (prop, error.failures)


def _overrides(kind: str) -> st.SearchStrategy[dict[str, Make]]:
    props = _props_of(CONSTRUCTS[kind][0])
    return st.lists(st.sampled_from(props), min_size=1, max_size=3, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({prop: _values(prop) for prop in chosen})
    )


EXAMPLES = int(os.environ.get("TOTAL_VALIDATION_EXAMPLES", "120"))


@pytest.mark.parametrize("kind", list(CONSTRUCTS))
def test_any_value_of_any_prop_synthesizes_or_is_a_named_validation_error(kind: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(overrides=_overrides(kind))
    def run(overrides: dict[str, Make]) -> None:
        _check(kind, overrides)

    run()


def test_the_generator_reaches_every_prop_of_every_construct() -> None:
    """The signature is the prop list: a new prop is drawn without editing this test."""
    assert set(_props_of(TrainedModel)) >= {
        "membership_identifier",
        "configured_model_algorithm_association",
        "data_channels",
        "removal_policy",
    }
    for kind, (construct, _) in CONSTRUCTS.items():
        assert len(_props_of(construct)) >= 4, kind
