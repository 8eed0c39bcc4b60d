"""parliament (PyPI, an IAM policy linter over AWS's action, resource and condition
database) over every IAM policy of a synthesized app.

``documents(template)`` takes every policy out of a template: identity policies
(``AWS::IAM::Policy``, ``AWS::IAM::ManagedPolicy``, a role's inline ``Policies``),
role trust policies and resource policies (``AWS::S3::BucketPolicy``,
``AWS::KMS::Key``), CloudFormation's intrinsic functions resolved to representative
values of the right shape (a role's ``Arn`` is ``arn:aws:iam::<account>:role/<id>``, a
bucket's ``Ref`` a bucket name, an import a value of what it names), so that parliament
parses every ARN as the deployed policy would have it. A trust policy has no
``Resource``: the role's own ARN is given to its statements (``sts:AssumeRole`` acts on
the role), as parliament needs one to check the statement at all.

``findings(app)`` lints them all; each ``Finding`` names the app, the stack, the
policy's logical id and kind, parliament's issue and its detail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Final

import parliament  # type: ignore[import-untyped]
from aws_cdk import App
from iam_sim import Fabricated, UnresolvableError, resolve

PARLIAMENT_VERSION: Final = "1.6.4"
ACCOUNT: Final = "111122223333"
REGION: Final = "us-east-1"
IMPORTS: Final = {
    # tests/apps.py's kitchen sink imports these (Fn.import_value)
    "MembershipId": "99999999-8888-4777-8666-555555555555",
    "AssociationArn": (
        f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/"
        "99999999-8888-4777-8666-555555555555/configured-model-algorithm-association/imported"
    ),
    "ChannelArn": (
        f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/"
        "99999999-8888-4777-8666-555555555555/ml-input-channel/imported"
    ),
}
"""What each imported value stands for."""

_ARN_OF_TYPE: Final = {
    "AWS::IAM::Role": "arn:aws:iam::{account}:role/{id}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{id}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{id}",
    "AWS::Logs::LogGroup": "arn:aws:logs:{region}:{account}:log-group:{id}:*",
    "AWS::KMS::Key": "arn:aws:kms:{region}:{account}:key/{id}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::CleanRoomsML::ConfiguredModelAlgorithm": (
        "arn:aws:cleanrooms-ml:{region}:{account}:configured-model-algorithm/{id}"
    ),
    "AWS::CleanRoomsML::ConfiguredModelAlgorithmAssociation": (
        "arn:aws:cleanrooms-ml:{region}:{account}:membership/"
        "0f3d2a1b-1234-4cde-8f00-0123456789ab/configured-model-algorithm-association/{id}"
    ),
    "AWS::CleanRoomsML::TrainingDataset": (
        "arn:aws:cleanrooms-ml:{region}:{account}:training-dataset/{id}"
    ),
    # the constructs' custom resources (their ARN attributes)
    **{
        kind: (
            "arn:aws:cleanrooms-ml:{region}:{account}:membership/"
            f"0f3d2a1b-1234-4cde-8f00-0123456789ab/{segment}/{{id}}"
        )
        for kind, segment in (
            ("Custom::CleanRoomsMLTrainedModel", "trained-model"),
            ("Custom::CleanRoomsMLTrainedModelAttributes", "trained-model"),
            ("Custom::CleanRoomsMLInputChannel", "ml-input-channel"),
            ("Custom::CleanRoomsMLTrainedModelInferenceJob", "trained-model-inference-job"),
        )
    },
    # the lookalike kinds live in the account, not in a membership
    **{
        kind: f"arn:aws:cleanrooms-ml:{{region}}:{{account}}:{segment}/{{id}}"
        for kind, segment in (
            ("Custom::CleanRoomsMLAudienceModel", "audience-model"),
            ("Custom::CleanRoomsMLConfiguredAudienceModel", "configured-audience-model"),
            ("Custom::CleanRoomsMLAudienceGenerationJob", "audience-generation-job"),
        )
    },
}
"""A representative ``Fn::GetAtt <id>.Arn`` (and ARN-valued attribute) by resource type."""

_REF_OF_TYPE: Final = {
    "AWS::IAM::Role": "{id}",
    "AWS::Lambda::Function": "{id}",
    "AWS::StepFunctions::StateMachine": _ARN_OF_TYPE["AWS::StepFunctions::StateMachine"],
    "AWS::Logs::LogGroup": "{id}",
    "AWS::KMS::Key": "{id}",
    "AWS::S3::Bucket": "{name}",
    "AWS::CloudFormation::WaitConditionHandle": "https://example.com/{id}",
    # these L1s' Ref is their ARN
    "AWS::CleanRoomsML::ConfiguredModelAlgorithm": _ARN_OF_TYPE[
        "AWS::CleanRoomsML::ConfiguredModelAlgorithm"
    ],
    "AWS::CleanRoomsML::ConfiguredModelAlgorithmAssociation": _ARN_OF_TYPE[
        "AWS::CleanRoomsML::ConfiguredModelAlgorithmAssociation"
    ],
    "AWS::CleanRoomsML::TrainingDataset": _ARN_OF_TYPE["AWS::CleanRoomsML::TrainingDataset"],
}
"""A representative ``Ref <id>`` by resource type."""


class _Values(Fabricated):
    """``Ref`` and ``Fn::GetAtt`` values of one template's resources (and pseudo
    parameters); any other reference is an error, never a guess."""

    def __init__(self, resources: Mapping[str, Any]) -> None:
        super().__init__(
            {
                "AWS::Partition": "aws",
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT,
                "AWS::StackId": (
                    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/Stack/"
                    "7e4c1b70-0000-11ef-8000-0a1b2c3d4e5f"
                ),
                "AWS::StackName": "Stack",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::NoValue": None,
            }
        )
        self._types = {k: str(v.get("Type", "")) for k, v in resources.items()}

    def __missing__(self, key: str) -> Any:
        logical, _, attribute = key.partition(".")
        kind = self._types.get(logical)
        if kind is None:
            raise KeyError(key)
        values = {
            "account": ACCOUNT,
            "region": REGION,
            "id": logical,
            "name": re.sub(r"[^a-z0-9-]", "-", logical.lower())[:63],
        }
        table = _REF_OF_TYPE if not attribute else _ARN_OF_TYPE
        if attribute and not attribute.endswith("Arn"):
            raise KeyError(key)
        if kind not in table:
            raise KeyError(key)
        return table[kind].format(**values)


def _imports_resolved(value: Any) -> Any:
    if isinstance(value, list):
        return [_imports_resolved(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Fn::ImportValue"}:
            return IMPORTS[str(value["Fn::ImportValue"])]
        return {k: _imports_resolved(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Document:
    """One policy of a template, resolved."""

    logical_id: str
    kind: str
    """``identity``, ``trust`` or ``resource``."""
    policy: dict[str, Any]


def _resolved(document: Any, values: _Values) -> dict[str, Any]:
    try:
        resolved = resolve(_imports_resolved(document), values, values)
    except (UnresolvableError, KeyError) as error:
        raise AssertionError(f"no representative value for {error}") from None
    assert isinstance(resolved, dict)
    return resolved


def documents(template: Mapping[str, Any]) -> Iterator[Document]:
    """Every IAM policy of ``template``, resolved (see the module's docstring)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    values = _Values(resources)
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        props = resource.get("Properties", {})
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield Document(logical_id, "identity", _resolved(props["PolicyDocument"], values))
        elif kind == "AWS::IAM::Role":
            trust = _resolved(props["AssumeRolePolicyDocument"], values)
            role = values[f"{logical_id}.Arn"]
            for statement in trust["Statement"]:
                statement.setdefault("Resource", role)
            yield Document(logical_id, "trust", trust)
            for inline in props.get("Policies", []):
                yield Document(logical_id, "identity", _resolved(inline["PolicyDocument"], values))
        elif kind == "AWS::S3::BucketPolicy":
            yield Document(logical_id, "resource", _resolved(props["PolicyDocument"], values))
        elif kind == "AWS::KMS::Key":
            yield Document(logical_id, "resource", _resolved(props["KeyPolicy"], values))


@dataclass(frozen=True)
class Finding:
    """One parliament finding in one policy of one app."""

    app: str
    stack: str
    logical_id: str
    kind: str
    issue: str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.app} {self.stack}/{self.logical_id} ({self.kind}): {self.issue} {self.detail}"
        )


def lint(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """parliament's findings on one policy, its community auditors included (credentials
    exposure, permissions management, privilege escalation...): ``(issue, detail)`` each,
    the detail as JSON."""
    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
    return [
        # the community auditors name the actions in the location, not the detail
        (str(f.issue), json.dumps(_sorted(f.detail or f.location.get("actions", "")), default=str))
        for f in policy.findings
    ]


def _sorted(detail: Any) -> Any:
    """A list of actions in a stable order (the community auditors' is a set's)."""
    return (
        sorted(detail)
        if isinstance(detail, list) and all(isinstance(d, str) for d in detail)
        else detail
    )


def parliament_version() -> str:
    return version("parliament")


def findings(name: str, app: App) -> list[Finding]:
    """Every finding of every policy of every stack of ``app`` (the app named ``name``)."""
    found = []
    for stack in app.synth().stacks:
        for document in documents(stack.template):
            for issue, detail in lint(document.policy):
                found.append(
                    Finding(
                        name, stack.stack_name, document.logical_id, document.kind, issue, detail
                    )
                )
    return found
