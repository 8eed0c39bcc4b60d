"""The IAM stand-in the lifecycle tests enforce (``iam_sim``) allows what a policy
allows and nothing else, and asks of each call what AWS documents."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.exceptions import ClientError
from iam_sim import (
    Enforcer,
    Need,
    Policy,
    Statement,
    UnresolvableError,
    membership_arn,
    pseudo,
    required,
    resolve,
)
from policies import KINDS, PREFIX, M, handler_policy, handler_role, synthesize

STACK = (
    "arn:aws:cloudformation:us-east-1:000000000000:stack/Test/11111111-2222-4333-8444-555555555555"
)


def _statement(**raw: object) -> Statement:
    return Statement.of({"Effect": "Allow", **raw})


def test_actions_and_resources_match_with_wildcards() -> None:
    statement = _statement(
        Action=["cleanrooms-ml:Get*"],
        Resource="arn:aws:cleanrooms-ml:*:*:membership/*/trained-model/*",
    )
    model = f"{PREFIX}/trained-model/m1"
    assert statement.allows("cleanrooms-ml:GetTrainedModel", model, {})
    assert statement.allows("CLEANROOMS-ML:gettrainedmodel", model, {})  # actions: any case
    assert not statement.allows("cleanrooms-ml:CancelTrainedModel", model, {})
    assert not statement.allows("cleanrooms-ml:GetTrainedModel", f"{PREFIX}/ml-input-channel/c", {})


def test_conditions_must_hold_and_a_missing_key_fails_unless_if_exists() -> None:
    strict = _statement(
        Action="iam:PassRole",
        Resource="*",
        Condition={"StringEquals": {"iam:PassedToService": "cleanrooms-ml.amazonaws.com"}},
    )
    assert strict.allows(
        "iam:PassRole", "r", {"iam:PassedToService": "cleanrooms-ml.amazonaws.com"}
    )
    assert not strict.allows("iam:PassRole", "r", {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not strict.allows("iam:PassRole", "r", {})
    lenient = _statement(
        Action="iam:PassRole", Resource="*", Condition={"StringLikeIfExists": {"k": "v*"}}
    )
    assert lenient.allows("iam:PassRole", "r", {})
    assert not lenient.allows("iam:PassRole", "r", {"k": "w"})


def test_what_it_does_not_model_is_an_error_never_an_allow() -> None:
    with pytest.raises(ValueError, match="not modelled"):
        Statement.of({"Effect": "Deny", "Action": "*", "Resource": "*"})
    with pytest.raises(ValueError, match="not modelled"):
        _statement(Action="*", Resource="*", Condition={"NumericLessThan": {"k": "1"}}).allows(
            "a:b", "r", {"k": "0"}
        )
    with pytest.raises(UnresolvableError):
        resolve({"Fn::ImportValue": "x"}, {}, {})


def test_intrinsic_functions_resolve_as_a_deployed_stack_has_them() -> None:
    refs = pseudo(STACK)
    joined = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::b/", {"Ref": "Bucket"}]]}
    assert resolve(joined, refs, {}) == "arn:aws:s3:::b/Bucket-physical"
    assert resolve({"Fn::Sub": "${AWS::Region}-${X.Arn}"}, refs, {"X.Arn": "a"}) == "us-east-1-a"
    assert resolve({"Fn::Select": [1, {"Fn::Split": ["/", "a/b/c"]}]}, refs, {}) == "b"


def test_every_operation_the_handler_calls_has_its_permissions_modelled() -> None:
    from test_iam import _called_operations

    model = botocore.session.get_session().get_service_model("cleanroomsml")
    for operation in _called_operations():
        shape = model.operation_model(operation).input_shape
        assert shape is not None
        params = {name: _example(name) for name in shape.required_members}
        needs = required(operation, params)
        assert needs, operation
        if "membershipIdentifier" in params:
            assert Need("cleanrooms:PassMembership", membership_arn(M)) in needs
        if "collaborationIdentifier" in params:
            assert any(n.action == "cleanrooms:PassCollaboration" for n in needs)


ASSOCIATION = f"{PREFIX}/configured-model-algorithm-association/a"


def _example(member: str) -> object:
    return {
        "membershipIdentifier": M,
        "configuredModelAlgorithmAssociationArn": ASSOCIATION,
        "configuredModelAlgorithmAssociations": [ASSOCIATION],
        "inputChannel": {"roleArn": "arn:aws:iam::000000000000:role/r"},
        "defaultOutputLocation": {"roleArn": "arn:aws:iam::000000000000:role/r"},
        "dataSource": {"mlInputChannelArn": f"{PREFIX}/ml-input-channel/c"},
        "seedAudience": {"roleArn": "arn:aws:iam::000000000000:role/r"},
        "outputConfig": {"roleArn": "arn:aws:iam::000000000000:role/r"},
        "collaborationIdentifier": "11111111-2222-4333-8444-555555555555",
        "audienceSize": {"type": "ABSOLUTE", "value": 1000},
        "sharedAudienceMetrics": ["ALL"],
    }.get(member, f"{PREFIX}/trained-model/x")


def test_a_denied_call_is_refused_as_aws_refuses_it_and_kept() -> None:
    enforcer = Enforcer(Policy([]), phase="UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    with pytest.raises(ClientError) as raised:
        enforcer.check(
            "GetTrainedModel",
            required(
                "GetTrainedModel",
                {"membershipIdentifier": M, "trainedModelArn": f"{PREFIX}/trained-model/x"},
            ),
        )
    assert raised.value.response["Error"]["Code"] == "AccessDeniedException"
    (denial,) = enforcer.denials
    assert denial.phase == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert denial.need.action == "cleanrooms:PassMembership"


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_synthesized_handler_policy_allows_its_kind_s_calls(kind: str) -> None:
    policy = handler_policy(kind, STACK)
    model = f"{PREFIX}/trained-model/abc"
    assert policy.allows(Need("cleanrooms-ml:GetTrainedModel", model))
    assert policy.allows(Need("cloudformation:DescribeStacks", STACK))
    assert not policy.allows(Need("cloudformation:DescribeStacks", STACK.replace("Test", "Other")))
    assert not policy.allows(
        Need(
            "cleanrooms-ml:DeleteTrainedModelOutput",
            "arn:aws:cleanrooms-ml:eu-west-1:000000000000:membership/x/trained-model/y",
        )
    )


def test_the_handler_role_is_found_in_a_synthesized_template() -> None:
    assert handler_role(synthesize(KINDS["trained-model"])).startswith("CleanRoomsML")
