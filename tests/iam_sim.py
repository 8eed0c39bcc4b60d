"""IAM for the tests: a synthesized policy enforced on every call the handler makes.

``Policy.of_role`` takes the handler role's policies out of a synthesized template
(every statement, intrinsic functions resolved with the values a deployed stack has);
``required`` says which actions on which resources one Clean Rooms ML call needs, as
AWS's Service Authorization Reference lists them (the resource types of each action,
``cleanrooms:PassMembership`` for every call that names a membership, ``iam:PassRole``
for a role passed in, ``TagResource`` for tags given at creation);
``Enforcer`` checks each call of the handler's client (a botocore ``before-call``
hook) and of its CloudFormation calls, and answers a denied one as AWS does
(``AccessDeniedException``), keeping every denial for the test to assert on.

The evaluator supports what these policies use: Allow statements, ``Action`` and
``Resource`` with ``*``/``?`` wildcards (case-insensitive actions), and the
conditions ``StringEquals``, ``StringLike``, ``ArnLike``, ``ArnEquals``, ``Bool``
(with ``IfExists``); anything else in a statement is an error, never silently allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
REGION = "us-east-1"
PARTITION = "aws"
_SUPPORTED_CONDITIONS = {"StringEquals", "StringLike", "ArnLike", "ArnEquals", "Bool"}


class UnresolvableError(ValueError):
    """An intrinsic function the resolver does not know."""


def resolve(value: Any, refs: Mapping[str, Any], attributes: Mapping[str, Any]) -> Any:
    """``value`` with CloudFormation's intrinsic functions evaluated.

    ``refs``: what ``Ref`` gives, for resources and pseudo parameters;
    ``attributes``: what ``Fn::GetAtt`` gives, by ``"<logical id>.<attribute>"``.
    """
    if isinstance(value, list):
        return [resolve(item, refs, attributes) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            try:
                return refs[argument]
            except KeyError:
                raise UnresolvableError(f"Ref {argument}") from None
        if key == "Fn::GetAtt":
            name = ".".join(argument) if isinstance(argument, list) else str(argument)
            try:
                return attributes[name]
            except KeyError:
                raise UnresolvableError(f"Fn::GetAtt {name}") from None
        if key == "Fn::Join":
            separator, parts = argument
            return str(separator).join(
                str(resolve(part, refs, attributes)) for part in resolve(parts, refs, attributes)
            )
        if key == "Fn::Select":
            index, items = argument
            return resolve(items, refs, attributes)[int(resolve(index, refs, attributes))]
        if key == "Fn::Split":
            separator, text = argument
            return str(resolve(text, refs, attributes)).split(separator)
        if key == "Fn::Sub":
            template, names = (argument, {}) if isinstance(argument, str) else argument
            local = {k: resolve(v, refs, attributes) for k, v in names.items()}

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in local:
                    return str(local[name])
                if "." in name and name in attributes:
                    return str(attributes[name])
                if name in refs:
                    return str(refs[name])
                raise UnresolvableError(f"Fn::Sub ${{{name}}}")

            return re.sub(r"\$\{([^}!]+)\}", substitute, template)
        if key.startswith("Fn::") or key == "Condition":
            raise UnresolvableError(key)
    return {k: resolve(v, refs, attributes) for k, v in value.items()}


class Fabricated(dict[str, Any]):
    """Values for references a test does not care about: ``Ref X`` is ``X-physical``,
    ``Fn::GetAtt X.Arn`` is ``arn:aws:simulated:::X`` (pseudo parameters given)."""

    def __missing__(self, key: str) -> Any:
        if key.startswith("AWS::"):
            raise KeyError(key)
        logical, _, attribute = key.partition(".")
        if attribute:
            return f"arn:{PARTITION}:simulated:{REGION}:{ACCOUNT}:{logical}/{attribute}"
        return f"{logical}-physical"


def pseudo(stack_id: str, region: str = REGION, account: str = ACCOUNT) -> Fabricated:
    """``Ref`` values of a stack's pseudo parameters (and fabricated ones for resources)."""
    return Fabricated(
        {
            "AWS::Partition": PARTITION,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::StackId": stack_id,
            "AWS::StackName": stack_id.split("/")[1] if "/" in stack_id else stack_id,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = 0 if case else re.IGNORECASE
    return re.fullmatch(regex, value, flags | re.DOTALL) is not None


def _condition_holds(operator: str, key: str, wanted: Any, context: Mapping[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    if base not in _SUPPORTED_CONDITIONS:
        raise ValueError(f"condition operator {operator} is not modelled")
    if key not in context:
        return if_exists
    value = context[key]
    options = [str(w) for w in _listed(wanted)]
    if base == "StringEquals" or base == "ArnEquals":
        return value in options
    if base == "Bool":
        return value.lower() in (option.lower() for option in options)
    return any(_like(option, value) for option in options)


@dataclass(frozen=True)
class Statement:
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]]
    sid: str = ""

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Statement:
        unknown = set(raw) - {"Sid", "Effect", "Action", "Resource", "Condition"}
        if unknown or raw.get("Effect") != "Allow":
            raise ValueError(f"statement not modelled: {dict(raw)!r}")
        return cls(
            actions=tuple(str(a) for a in _listed(raw["Action"])),
            resources=tuple(str(r) for r in _listed(raw["Resource"])),
            conditions=dict(raw.get("Condition") or {}),
            sid=str(raw.get("Sid", "")),
        )

    def allows(self, action: str, resource: str, context: Mapping[str, str]) -> bool:
        if not any(_like(a, action, case=False) for a in self.actions):
            return False
        if not any(_like(r, resource) for r in self.resources):
            return False
        return all(
            _condition_holds(operator, key, wanted, context)
            for operator, keys in self.conditions.items()
            for key, wanted in keys.items()
        )


@dataclass(frozen=True)
class Need:
    """One permission a call needs: ``action`` on ``resource`` (with a request context)."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Policy:
    """The statements of one principal's identity policies."""

    statements: list[Statement]

    @classmethod
    def of_role(
        cls,
        template: Mapping[str, Any],
        role_logical_id: str,
        refs: Mapping[str, Any],
        attributes: Mapping[str, Any],
    ) -> Policy:
        """Every statement of the ``AWS::IAM::Policy`` resources (and inline policies)
        attached to ``role_logical_id`` in ``template``, resolved."""
        statements: list[Statement] = []
        resources = template.get("Resources", {})
        for resource in resources.values():
            if resource.get("Type") != "AWS::IAM::Policy":
                continue
            props = resource.get("Properties", {})
            if not any(r == {"Ref": role_logical_id} for r in props.get("Roles", [])):
                continue
            document = resolve(props["PolicyDocument"], refs, attributes)
            statements.extend(Statement.of(s) for s in document["Statement"])
        role = resources.get(role_logical_id, {}).get("Properties", {})
        for inline in role.get("Policies", []):
            document = resolve(inline["PolicyDocument"], refs, attributes)
            statements.extend(Statement.of(s) for s in document["Statement"])
        if role.get("ManagedPolicyArns"):
            raise ValueError(f"{role_logical_id}: managed policies are not modelled")
        return cls(statements)

    def allows(self, need: Need) -> bool:
        return any(s.allows(need.action, need.resource, need.context) for s in self.statements)


# --- what each call needs ------------------------------------------------------------

_MEMBERSHIP_OPERATIONS_WITHOUT_ARN = {
    "ListTrainedModels",
    "ListMLInputChannels",
    "ListTrainedModelInferenceJobs",
    "PutMLConfiguration",
    "GetMLConfiguration",
    "DeleteMLConfiguration",
    "ListAudienceModels",
    "ListConfiguredAudienceModels",
}
_OPTIONAL_RESOURCE = {
    "ListAudienceGenerationJobs": "configuredAudienceModelArn",
    "ListAudienceExportJobs": "audienceGenerationJobArn",
}
"""List actions whose resource type is optional: the ARN the request filters by, else '*'."""
_ARN_OF = {
    "GetTrainedModel": "trainedModelArn",
    "CancelTrainedModel": "trainedModelArn",
    "DeleteTrainedModelOutput": "trainedModelArn",
    "ListTrainedModelVersions": "trainedModelArn",
    "GetMLInputChannel": "mlInputChannelArn",
    "DeleteMLInputChannelData": "mlInputChannelArn",
    "GetTrainedModelInferenceJob": "trainedModelInferenceJobArn",
    "CancelTrainedModelInferenceJob": "trainedModelInferenceJobArn",
    "TagResource": "resourceArn",
    "UntagResource": "resourceArn",
    "GetAudienceModel": "audienceModelArn",
    "DeleteAudienceModel": "audienceModelArn",
    "GetConfiguredAudienceModel": "configuredAudienceModelArn",
    "DeleteConfiguredAudienceModel": "configuredAudienceModelArn",
    "GetConfiguredAudienceModelPolicy": "configuredAudienceModelArn",
    "PutConfiguredAudienceModelPolicy": "configuredAudienceModelArn",
    "DeleteConfiguredAudienceModelPolicy": "configuredAudienceModelArn",
    "GetAudienceGenerationJob": "audienceGenerationJobArn",
    "DeleteAudienceGenerationJob": "audienceGenerationJobArn",
    "StartAudienceExportJob": "audienceGenerationJobArn",
    "StartTrainedModelExportJob": "trainedModelArn",
    "ListCollaborationTrainedModelExportJobs": "trainedModelArn",
    "CreateAudienceModel": "trainingDatasetArn",
    "CreateConfiguredAudienceModel": "audienceModelArn",
    "StartAudienceGenerationJob": "configuredAudienceModelArn",
}


def membership_arn(membership: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:{PARTITION}:cleanrooms:{region}:{account}:membership/{membership}"


def collaboration_arn(collaboration: str, region: str = REGION, account: str = ACCOUNT) -> str:
    """A collaboration's ARN (its creator's account: here the tests' own)."""
    return f"arn:{PARTITION}:cleanrooms:{region}:{account}:collaboration/{collaboration}"


_CREATES = {
    "CreateTrainedModel": "trained-model",
    "CreateMLInputChannel": "ml-input-channel",
    "StartTrainedModelInferenceJob": "trained-model-inference-job",
}
_ACCOUNT_CREATES = {
    "CreateAudienceModel": "audience-model",
    "CreateConfiguredAudienceModel": "configured-audience-model",
    "StartAudienceGenerationJob": "audience-generation-job",
}


def required(operation: str, params: Mapping[str, Any]) -> list[Need]:
    """What one Clean Rooms ML call needs (the Service Authorization Reference).

    A create with tags needs ``TagResource`` too, on the resource it makes (in the
    caller's account and region; its id is the service's: ``new`` stands for it). A
    call that names a membership needs ``cleanrooms:PassMembership`` on it, one that
    names a collaboration ``cleanrooms:PassCollaboration`` (the Clean Rooms User Guide).
    """
    action = f"cleanrooms-ml:{operation}"
    needs: list[Need] = []
    membership = params.get("membershipIdentifier")
    if membership:
        needs.append(Need("cleanrooms:PassMembership", membership_arn(str(membership))))
    collaboration = params.get("collaborationIdentifier") or params.get("collaborationId")
    if collaboration:
        needs.append(Need("cleanrooms:PassCollaboration", collaboration_arn(str(collaboration))))
    if operation in _ARN_OF:
        needs.append(Need(action, str(params[_ARN_OF[operation]])))
        if operation == "UpdateConfiguredAudienceModel" and params.get("audienceModelArn"):
            needs.append(Need(action, str(params["audienceModelArn"])))
    elif operation == "UpdateConfiguredAudienceModel":
        needs.append(Need(action, str(params["configuredAudienceModelArn"])))
        if params.get("audienceModelArn"):  # its optional resource type
            needs.append(Need(action, str(params["audienceModelArn"])))
    elif operation in _OPTIONAL_RESOURCE:
        needs.append(Need(action, str(params.get(_OPTIONAL_RESOURCE[operation]) or "*")))
    elif operation in _MEMBERSHIP_OPERATIONS_WITHOUT_ARN:
        needs.append(Need(action, "*"))
    elif operation in ("CreateTrainedModel", "CreateMLInputChannel"):
        associations = (
            [params["configuredModelAlgorithmAssociationArn"]]
            if operation == "CreateTrainedModel"
            else list(params["configuredModelAlgorithmAssociations"])
        )
        needs.extend(Need(action, str(arn)) for arn in associations)
    elif operation == "StartTrainedModelInferenceJob":
        needs.append(Need(action, str(params["trainedModelArn"])))
        needs.append(Need(action, str(params["dataSource"]["mlInputChannelArn"])))
        if params.get("configuredModelAlgorithmAssociationArn"):
            needs.append(Need(action, str(params["configuredModelAlgorithmAssociationArn"])))
    else:
        raise ValueError(f"{operation}: its permissions are not modelled here")
    if params.get("tags") and operation in _CREATES:
        created = (
            f"arn:{PARTITION}:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{membership}"
            f"/{_CREATES[operation]}/new"
        )
        needs.append(Need("cleanrooms-ml:TagResource", created))
    if params.get("tags") and operation in _ACCOUNT_CREATES:
        created = (
            f"arn:{PARTITION}:cleanrooms-ml:{REGION}:{ACCOUNT}:{_ACCOUNT_CREATES[operation]}/new"
        )
        needs.append(Need("cleanrooms-ml:TagResource", created))
    role = _passed_role(operation, params)
    if role is not None:
        needs.append(
            Need("iam:PassRole", role, {"iam:PassedToService": "cleanrooms-ml.amazonaws.com"})
        )
    return needs


def _passed_role(operation: str, params: Mapping[str, Any]) -> str | None:
    if operation == "CreateMLInputChannel":
        return str(params["inputChannel"]["roleArn"])
    if operation == "PutMLConfiguration":
        return str(params["defaultOutputLocation"]["roleArn"])
    if operation in ("CreateConfiguredAudienceModel", "UpdateConfiguredAudienceModel"):
        output = params.get("outputConfig")
        return str(output["roleArn"]) if output else None
    if operation == "StartAudienceGenerationJob":
        return str(params["seedAudience"]["roleArn"])
    return None


# --- enforcing ----------------------------------------------------------------------


@dataclass
class Denial:
    operation: str
    need: Need
    phase: str


@dataclass
class Enforcer:
    """The policy in force (``policy``: switched as the stack's phases go) checked on
    every call; ``denials`` keeps what was refused."""

    policy: Policy | None = None
    phase: str = ""
    denials: list[Denial] = field(default_factory=list)
    checked: int = 0

    def check(self, operation: str, needs: list[Need]) -> None:
        if self.policy is None:
            return
        self.checked += 1
        for need in needs:
            if not self.policy.allows(need):
                self.denials.append(Denial(operation, need, self.phase))
                raise ClientError(
                    {
                        "Error": {
                            "Code": "AccessDeniedException",
                            "Message": (
                                f"User is not authorized to perform: {need.action} on "
                                f"resource: {need.resource}"
                            ),
                        },
                        "ResponseMetadata": {"HTTPStatusCode": 403},  # type: ignore[typeddict-item]
                    },
                    operation,
                )

    def install(self, client: Any) -> None:
        """Check every call of ``client`` (a cleanroomsml client) before it is sent."""

        def before_parameter_build(model: Any, params: Mapping[str, Any], **_: Any) -> None:
            self.check(model.name, required(model.name, params))

        client.meta.events.register_first(
            "before-parameter-build.cleanroomsml", before_parameter_build
        )

    def guard(self, action: str, call: Callable[[str], Any]) -> Callable[[str], Any]:
        """A CloudFormation call of the handler (``index._stack_resources``,
        ``_stack_operation``: its argument is the stack id), checked first."""

        def guarded(stack_id: str) -> Any:
            self.check(action.split(":", 1)[1], [Need(action, stack_id)])
            return call(stack_id)

        return guarded


__all__ = [
    "ACCOUNT",
    "REGION",
    "Denial",
    "Enforcer",
    "Fabricated",
    "Need",
    "Policy",
    "Statement",
    "UnresolvableError",
    "collaboration_arn",
    "membership_arn",
    "pseudo",
    "required",
    "resolve",
]
