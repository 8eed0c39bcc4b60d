"""Edges of the pipeline constructs found by an adversarial review, one test each:
rendered props the handler or the API would reject, secrets echoed in errors, values
that crashed instead of being named, IAM gaps, removal-policy escape hatches and
deploy-order races."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from iam_sim import Fabricated, Need, Policy, pseudo

import ml_configurations
import ml_input_channels
from cdk_cleanrooms_ml import (
    InstanceType,
    MLConfiguration,
    MLInputChannel,
    MLInputChannelDataSource,
    RemovalPolicyError,
    TrainedModel,
    TrainedModelInferenceJob,
    ValidationError,
)
from helpers import (
    ACCOUNT,
    MEMBERSHIP,
    REGION,
    STACK_ID,
    api_accepts,
    channel_props,
    job_props,
    logical_id,
    new_stack,
    synthesized_properties,
    valid_props,
)

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/query"
SECRET = "s3cr3t-Value-42"


def _with_role(props: dict[str, Any]) -> dict[str, Any]:
    """Resolve the RoleArn GetAtt as CloudFormation would."""
    if isinstance(props.get("RoleArn"), dict):
        props = dict(props, RoleArn=ROLE_ARN)
    return props


# --- 2. rendered props the handler or the API rejects ----------------------------------


def test_ml_configuration_without_output_bucket_deploys() -> None:
    """The docstring: ``output_bucket`` "Default: none (then the configuration only says
    which role publishes metrics and logs)". The API agrees (``destination`` is optional
    in MLOutputConfiguration). The construct synthesizes it, but the handler's ``parse``
    requires OutputS3Uri: every deploy of this resource fails."""
    stack = new_stack()
    configuration = MLConfiguration(stack, "Config", membership_identifier=MEMBERSHIP)
    props = _with_role(synthesized_properties(configuration))
    desired = ml_configurations.parse(props)  # raises PropertyError today
    api_accepts("PutMLConfiguration", dict(desired.request))


def test_spark_properties_are_checked_with_the_apis_limits() -> None:
    """SparkProperties: keys 1-200, values 0-500 (the service model). The largest
    accepted values pass botocore's validator; one more character is named at synth."""
    stack = new_stack()
    channel = MLInputChannel(
        stack, "Channel", **channel_props(spark_properties={"k" * 200: "v" * 500, "e": ""})
    )
    props = _with_role(synthesized_properties(channel))
    desired = ml_input_channels.parse(props)
    api_accepts("CreateMLInputChannel", ml_input_channels.create_request(desired, "name", {}))
    with pytest.raises(ValidationError) as raised:
        MLInputChannel(
            new_stack(), "Channel", **channel_props(spark_properties={"k" * 201: "v" * 501})
        )
    assert len(raised.value.failures) == 2
    assert "allowed 1-200" in raised.value.failures[0]


def test_inference_instance_type_is_checked_at_synth_like_the_models() -> None:
    """``TrainedModel`` refuses ``InstanceType.of("m5.xlarge")`` at synth (not
    ``ml.<family>.<size>``); ``TrainedModelInferenceJob`` only warns and renders it,
    and the request fails the API's InferenceInstanceType enum at deploy."""
    stack = new_stack()
    with pytest.raises(ValidationError, match="instance_type"):
        TrainedModel(stack, "Model", **valid_props(instance_type=InstanceType.of("m5.xlarge")))
    stack = new_stack()
    with pytest.raises(ValidationError, match="instance_type"):
        TrainedModelInferenceJob(
            stack, "Job", **job_props(stack, instance_type=InstanceType.of("m5.xlarge"))
        )


def test_query_string_with_parameters_is_refused() -> None:
    """Parameters belong to an analysis template: with a SQL query the handler would
    not send them, so the construct refuses them instead of rendering them."""
    source = MLInputChannelDataSource(query_string="SELECT :p", parameters={"p": "1"})
    with pytest.raises(ValidationError, match="parameters belong to an analysis template"):
        MLInputChannel(new_stack(), "Channel", **channel_props(data_source=source))


def test_output_prefix_limit_accounts_for_the_bucket_name() -> None:
    """The construct allows a prefix up to 1275 characters, whatever the bucket name;
    ``s3://<63-char bucket>/<1275-char prefix>`` is 1344 characters, over the API's 1285."""
    stack = new_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "B", "b" * 63)
    try:
        configuration = MLConfiguration(
            stack,
            "Config",
            membership_identifier=MEMBERSHIP,
            output_bucket=bucket,
            output_prefix="p" * 1275,
        )
    except ValidationError:
        return
    props = _with_role(synthesized_properties(configuration))
    api_accepts("PutMLConfiguration", dict(ml_configurations.parse(props).request))


# --- 1. values that raise something other than ValidationError; secrets echoed ---------


@pytest.mark.parametrize("value", [None, 123], ids=["None (missing -c context)", "int"])
def test_instance_type_of_a_non_string_is_a_validation_error(value: object) -> None:
    """``InstanceType.of(app.node.try_get_context("instanceType"))`` with the context
    missing is named as the prop's failure, for both constructs."""
    stack = new_stack()
    with pytest.raises(ValidationError, match="instance_type"):
        TrainedModel(stack, "Model", **valid_props(instance_type=InstanceType.of(value)))  # type: ignore[arg-type]
    stack = new_stack()
    with pytest.raises(ValidationError, match="instance_type"):
        TrainedModelInferenceJob(
            stack,
            "Job",
            **job_props(stack, instance_type=InstanceType.of(value)),  # type: ignore[arg-type]
        )


def _build(construct: str, prop: str, value: object) -> None:
    stack = new_stack()
    if construct == "TrainedModel":
        TrainedModel(stack, "Subject", **valid_props(**{prop: value}))
    else:
        TrainedModelInferenceJob(stack, "Subject", **job_props(stack, **{prop: value}))


@pytest.mark.parametrize(
    ("construct", "prop", "value"),
    [
        ("TrainedModel", "hyperparameters", [("learning_rate", SECRET)]),
        ("TrainedModel", "environment", f"API_TOKEN={SECRET}"),
        ("TrainedModelInferenceJob", "environment", [("API_TOKEN", SECRET)]),
        ("TrainedModelInferenceJob", "environment", f"API_TOKEN={SECRET}"),
    ],
)
def test_a_secret_map_of_the_wrong_type_is_not_echoed(
    construct: str, prop: str, value: object
) -> None:
    """A map given in the wrong shape (a list of pairs, a ``KEY=value`` string) is named
    by its type only: its values may be secrets."""
    with pytest.raises(ValidationError) as raised:
        _build(construct, prop, value)
    assert prop in str(raised.value)
    assert SECRET not in str(raised.value), str(raised.value)


def test_apply_removal_policy_with_a_string_is_a_clear_error() -> None:
    """``model.apply_removal_policy("destroy")``: AttributeError ('str' object has no
    attribute 'name') from inside ``handler_policy``."""
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props())
    with pytest.raises((ValidationError, TypeError, ValueError)) as raised:
        model.apply_removal_policy("destroy")  # type: ignore[arg-type]
    assert not isinstance(raised.value, AttributeError)


# --- 4. removal policy --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "args"),
    [
        ("add_override", ("DeletionPolicy", "Delete")),
        ("add_override", ("UpdateReplacePolicy", "Delete")),
        ("add_override", ("Properties.RemovalPolicy", "destroy")),
        ("add_deletion_override", ("DeletionPolicy",)),
        ("add_property_override", ("RemovalPolicy", "destroy")),
        ("add_property_deletion_override", ("RemovalPolicy",)),
    ],
)
def test_a_raw_override_of_a_removal_policy_path_is_refused(
    override: str, args: tuple[str, ...]
) -> None:
    """The CDK's escape hatches cannot write a DeletionPolicy that disagrees with the
    handler's removal policy; other paths stay open."""
    stack = new_stack()
    model = TrainedModel(stack, "Model", **valid_props())
    with pytest.raises(RemovalPolicyError, match="cannot be overridden"):
        getattr(model.custom_resource, override)(*args)
    model.custom_resource.add_override("Metadata.Note", "other paths are open")
    Template.from_stack(stack)


# --- 5. dependencies ------------------------------------------------------------------------


def _depends_on(stack: Stack, construct: Any) -> list[str]:
    template = Template.from_stack(stack).to_json()
    found = template["Resources"][logical_id(construct.resource)].get("DependsOn", [])
    return [found] if isinstance(found, str) else list(found)


def test_a_channel_waits_for_its_query_roles_policy() -> None:
    """CreateMLInputChannel starts the protected query at once, as the query role; the
    channel's resource references only the role (GetAtt Arn), not its DefaultPolicy, so
    CloudFormation may create the channel before the role has any permission and the
    query fails (AccessDenied -> CREATE_FAILED)."""
    stack = new_stack()
    channel = MLInputChannel(stack, "Channel", **channel_props())
    policy = channel.role.node.find_child("DefaultPolicy").node.default_child
    assert logical_id(policy) in _depends_on(stack, channel)


def test_an_ml_configuration_waits_for_its_service_roles_policy() -> None:
    stack = new_stack()
    configuration = MLConfiguration(
        stack,
        "Config",
        membership_identifier=MEMBERSHIP,
        output_bucket=s3.Bucket.from_bucket_name(stack, "B", "results"),
    )
    policy = configuration.role.node.find_child("DefaultPolicy").node.default_child
    assert logical_id(policy) in _depends_on(stack, configuration)


# --- 3. IAM of the default roles -----------------------------------------------------------


def _role_document(stack: Stack, role: Any) -> dict[str, Any]:
    template = Template.from_stack(stack).to_json()
    document: dict[str, Any] = template["Resources"][logical_id(role)]["Properties"][
        "AssumeRolePolicyDocument"
    ]
    return document


def test_the_query_role_trust_is_scoped_to_this_account_and_membership() -> None:
    """The guard AWS documents for the ML configuration's role (the same service, for
    the same membership): aws:SourceAccount is this account (StringEquals, not IfExists),
    aws:SourceArn the membership or its Clean Rooms ML resources."""
    stack = new_stack()
    channel = MLInputChannel(stack, "Channel", **channel_props())
    (statement,) = _role_document(stack, channel.role)["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {
            "aws:SourceArn": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            f":cleanrooms:{REGION}:{ACCOUNT}:membership/{MEMBERSHIP}",
                        ],
                    ]
                },
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            f":cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{MEMBERSHIP}/*",
                        ],
                    ]
                },
            ]
        },
    }


def _query_policy(stack: Stack, role: iam.IRole) -> Policy:
    template = Template.from_stack(stack).to_json()
    return Policy.of_role(
        template, logical_id(role), pseudo(STACK_ID, REGION, ACCOUNT), Fabricated()
    )


CLEAN_ROOMS = f"arn:aws:cleanrooms:{REGION}"
OURS = f"{CLEAN_ROOMS}:{ACCOUNT}:membership/{MEMBERSHIP}"
THEIRS = f"{CLEAN_ROOMS}:444455556666:membership/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


@pytest.mark.parametrize(
    ("action", "resource", "allowed"),
    [
        ("StartProtectedQuery", OURS, True),
        ("StartProtectedQuery", f"{OURS}/analysistemplate/t", True),
        ("StartProtectedQuery", f"{OURS}/configuredtableassociation/t", True),
        ("StartProtectedQuery", THEIRS, False),
        ("StartProtectedQuery", f"arn:aws:cleanrooms:eu-west-1:{ACCOUNT}:membership/x", False),
        ("GetSchema", f"{CLEAN_ROOMS}:444455556666:collaboration/c", True),
        ("GetSchema", f"{OURS}/configuredtableassociation/t", True),
        ("GetSchema", f"arn:aws:cleanrooms:eu-west-1:{ACCOUNT}:collaboration/c", False),
        ("GetCollaborationAnalysisTemplate", f"{CLEAN_ROOMS}:{ACCOUNT}:collaboration/c", True),
        ("GetCollaborationAnalysisTemplate", f"{OURS}/analysistemplate/t", True),
        ("GetCollaborationAnalysisTemplate", f"{THEIRS}/analysistemplate/t", False),
        ("GetProtectedQuery", OURS, True),
        ("UpdateProtectedQuery", OURS, True),
        ("UpdateProtectedQuery", THEIRS, False),
        ("StartProtectedQuery", "*", False),
    ],
)
def test_the_query_role_acts_only_in_its_membership_and_collaboration(
    action: str, resource: str, allowed: bool
) -> None:
    """AWS's policy for this role names '*' for StartProtectedQuery, GetSchema and
    GetCollaborationAnalysisTemplate; the Service Authorization Reference gives them
    membership, collaboration, template and table ARNs: the default role allows them on
    the channel's membership (and its templates and tables) and on collaborations of its
    region (their id and creator account are not known at synth)."""
    stack = new_stack()
    channel = MLInputChannel(stack, "Channel", **channel_props())
    policy = _query_policy(stack, channel.role)
    assert policy.allows(Need(f"cleanrooms:{action}", resource)) is allowed


def test_the_query_role_reaches_the_analysis_template_the_channel_names() -> None:
    """A template another member created (its ARN names that member's membership) is
    allowed by its ARN, and no other of theirs."""
    stack = new_stack()
    template = f"{THEIRS}/analysistemplate/shared"
    channel = MLInputChannel(
        stack,
        "Channel",
        **channel_props(
            data_source=MLInputChannelDataSource.analysis_template(template, parameters={})
        ),
    )
    policy = _query_policy(stack, channel.role)
    for action in ("StartProtectedQuery", "GetCollaborationAnalysisTemplate"):
        assert policy.allows(Need(f"cleanrooms:{action}", template))
        assert not policy.allows(Need(f"cleanrooms:{action}", f"{THEIRS}/analysistemplate/other"))


# --- 3b. the handler's grants for an inference job ------------------------------------------

OTHER_ACCOUNT = "444455556666"
OTHER_MEMBERSHIP_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
FOREIGN_ASSOCIATION = (
    f"arn:aws:cleanrooms-ml:us-east-1:{OTHER_ACCOUNT}:membership/{OTHER_MEMBERSHIP_ID}"
    "/configured-model-algorithm-association/theirs"
)


def _handler_statements(stack: Stack) -> list[dict[str, Any]]:
    from cdk_cleanrooms_ml._provider import CleanRoomsMLProvider

    provider = CleanRoomsMLProvider.of(stack)
    policy = provider.role.node.find_child("DefaultPolicy").node.default_child
    template = Template.from_stack(stack).to_json()
    statements: list[dict[str, Any]] = template["Resources"][logical_id(policy)]["Properties"][
        "PolicyDocument"
    ]["Statement"]
    return statements


def test_a_job_may_start_with_the_association_it_names() -> None:
    """AWS documents that a member calls StartTrainedModelInferenceJob with a
    ConfiguredModelAlgorithmAssociation owned by another member (its ARN names that
    member's account and membership): the handler may start a job with the association
    it names, as it may create a model or a channel with theirs."""
    stack = new_stack()
    TrainedModelInferenceJob(
        stack,
        "Job",
        **job_props(stack, configured_model_algorithm_association=FOREIGN_ASSOCIATION),
    )
    (statement,) = [
        s for s in _handler_statements(stack) if s.get("Sid") == "StartTrainedModelInferenceJob"
    ]
    resources = statement["Resource"]
    resources = resources if isinstance(resources, list) else [resources]
    assert FOREIGN_ASSOCIATION in resources, resources
