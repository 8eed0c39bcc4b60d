"""cdk-nag (AwsSolutions), cfn-lint and parliament over every synthesized template.

cdk-nag findings the construct cannot fix are acknowledged by the construct
itself, each with a reason (see ``_provider.py``); everything else must pass.
cfn-lint may report nothing but W3005 (the redundant DependsOn CDK writes).
parliament (with its community auditors) lints every IAM policy, trust policy and
resource policy (``iam_lint``): each finding left is acknowledged below
(``PARLIAMENT_ACKNOWLEDGED``), with its reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import apps
import botocore.session
import iam_lint
import pytest
from aws_cdk import App, CfnResource, Stack, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

import imported_base


@pytest.mark.parametrize("name", apps.APPS)
def test_cdk_nag_aws_solutions_finds_nothing_unacknowledged(name: str) -> None:
    app = apps.build(name)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises with the findings when any is not acknowledged


@pytest.mark.parametrize("name", apps.APPS)
def test_cfn_lint_reports_nothing_but_w3005(name: str, tmp_path: Path) -> None:
    assembly = apps.build(name).synth()
    templates = []
    for stack in assembly.stacks:
        path = tmp_path / f"{stack.stack_name}.json"
        path.write_text(json.dumps(stack.template))
        templates.append(str(path))
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--ignore-checks",
            "W3005",
            "--",
            *templates,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_checks_do_fail_on_a_bad_template(tmp_path: Path) -> None:
    from aws_cdk import aws_iam as iam

    app = App()
    stack = Stack(app, "Bad")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:*"], resources=["*"]))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="AwsSolutions-IAM5"):
        app.synth()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"Resources": {"X": {"Type": "AWS::Not::AThing"}}}))
    run = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0


@pytest.mark.parametrize("version", [None, "1b2c3d4e-0000-4000-8000-00000000abcd"])
def test_the_imported_base_example_trains_from_the_arn_it_imports(version: str | None) -> None:
    """By ARN (the service takes the latest version), or pinned to a version."""
    context = {"baseModelArn": imported_base.PLACEHOLDER_BASE_ARN.replace("existing", "other")}
    if version:
        context["baseVersion"] = version
    app = App(context=context)
    stack = imported_base.build(app)
    models = Template.from_stack(stack).find_resources("Custom::CleanRoomsMLTrainedModel")
    ((properties,),) = [[r["Properties"] for r in models.values()]]
    (channel,) = properties["IncrementalTrainingDataChannels"]
    assert channel["TrainedModelArn"] == context["baseModelArn"]
    assert channel.get("VersionIdentifier") == version


NAG2_VERSION = "2.38.2"
"""The last cdk-nag 2 (an aspect; cdk-nag 3 is a validation plugin)."""
ROOT = Path(__file__).resolve().parent.parent


def _cached_target(name: str, requirement: str) -> Path:
    """``pip install --no-deps --target`` once into ``.cache/<name>`` (atomic: a rename)."""
    target = ROOT / ".cache" / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--target",
                str(staging),
                requirement,
            ],
            check=True,
            env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
        )
        try:
            staging.rename(target)
        except OSError:  # another worker got there first
            shutil.rmtree(staging, ignore_errors=True)
    return target


@pytest.mark.slow
def test_cdk_nag_2_finds_nothing_unsuppressed_in_any_app() -> None:
    """cdk-nag 2 reads suppressions from each resource's ``cdk_nag`` metadata, which the
    constructs write next to their cdk-nag 3 acknowledgments."""
    nag2 = _cached_target(f"cdk-nag-{NAG2_VERSION}", f"cdk-nag=={NAG2_VERSION}")
    here = Path(__file__).resolve().parent
    paths = [nag2, here, ROOT / "examples", ROOT / "lambda" / "handler"]
    run = subprocess.run(
        [sys.executable, str(here / "nag2_check.py")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))},
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {"cdk-nag": NAG2_VERSION, **{name: [] for name in apps.APPS}}


def test_the_nag_2_check_does_report_a_finding(tmp_path: Path) -> None:
    """The same suppression format, missing on a policy with '*', leaves the finding:
    the empty lists above are not for want of looking (checked with cdk-nag 3's
    Validations here; the metadata form is checked under cdk-nag 2 above)."""
    from aws_cdk import aws_iam as iam

    app = App()
    stack = Stack(app, "Bad")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    policy = role.node.find_child("DefaultPolicy").node.default_child
    assert isinstance(policy, CfnResource)
    policy.add_metadata(
        "cdk_nag",
        {
            "rules_to_suppress": [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "only for Action::s3:*",
                    "applies_to": ["Action::s3:*"],
                }
            ]
        },
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match=r"AwsSolutions-IAM5\[Resource::\*\]"):
        app.synth()


# --- parliament -------------------------------------------------------------------


@dataclass(frozen=True)
class ParliamentAcknowledgment:
    """A parliament finding left on purpose: its issue, the kind of policy (``identity``,
    ``trust``, ``resource``), the policy's logical id and parliament's detail (the actions
    it names, as JSON; both globs), and why."""

    issue: str
    kind: str
    resource: str
    detail: str
    reason: str

    def covers(self, finding: iam_lint.Finding) -> bool:
        return (
            finding.issue == self.issue
            and finding.kind == self.kind
            and _glob(self.resource, finding.logical_id)
            and _glob(self.detail, finding.detail)
        )


def _glob(pattern: str, text: str) -> bool:
    """``*`` any run of characters; everything else as written (brackets included)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text, re.DOTALL) is not None


PARLIAMENT_ACKNOWLEDGED: Final = [
    ParliamentAcknowledgment(
        "CREDENTIALS_EXPOSURE",
        "trust",
        "*",
        '["sts:assumerole"]',
        "a trust policy lets the one service principal it names assume the role, which is "
        "what a role is for; every trust policy here names a service (lambda, states, "
        "cleanrooms-ml), and those of the Clean Rooms ML roles the constructs make are "
        "limited to this account and membership (aws:SourceAccount, aws:SourceArn)",
    ),
    ParliamentAcknowledgment(
        "CREDENTIALS_EXPOSURE",
        "identity",
        "AlgorithmRoleDefaultPolicy*",
        '["ecr:getauthorizationtoken"]',
        "the example's algorithm role: Clean Rooms ML pulls the training and inference "
        "images with an ECR authorization token (repository.grant_pull); the pull actions "
        "are on the one repository",
    ),
    *(
        ParliamentAcknowledgment(
            "PERMISSIONS_MANAGEMENT_ACTIONS",
            "identity",
            "CleanRoomsMLTrainedModelProviderRoleDefaultPolicy*",
            detail,
            "the handler passes the query and configuration roles the constructs name to "
            "Clean Rooms ML (iam:PassRole on those roles only, iam:PassedToService "
            "cleanrooms-ml.amazonaws.com), and lets Clean Rooms ML grant itself the "
            "construct's KMS key (kms:CreateGrant on that key only, kms:ViaService "
            "cleanrooms-ml, kms:GrantIsForAWSResource)",
        )
        for detail in ('["iam:passrole"]', '["iam:passrole", "kms:creategrant"]')
    ),
    ParliamentAcknowledgment(
        "PERMISSIONS_MANAGEMENT_ACTIONS",
        "resource",
        "Key*",
        '["kms:creategrant", "kms:createkey", "kms:putkeypolicy", "kms:retiregrant", '
        '"kms:revokegrant"]',
        "the kitchen sink's KMS key has aws-cdk-lib's default key policy: the account (its "
        "IAM policies) administers the key",
    ),
    ParliamentAcknowledgment(
        "RESOURCE_STAR",
        "resource",
        "Key*",
        '["kms:*"]',
        "in a key policy '*' is the key itself (aws-cdk-lib's default key policy: kms:* "
        "for the account)",
    ),
    ParliamentAcknowledgment(
        "UNKNOWN_ACTION",
        "identity",
        "*DefaultPolicy*",
        '"Unknown action cleanrooms-ml:ListTrainedModelVersions"',
        "parliament 1.6.4's IAM database predates ListTrainedModelVersions (it knows the "
        "other Clean Rooms ML custom-model actions); the action is an operation of the "
        "service (checked against botocore's cleanroomsml model below) and the Service "
        "Authorization Reference lists it; TrainedModel.grant_read grants it, and the "
        "handler calls it (a base model's versions, ASSUMPTION A2)",
    ),
]
"""parliament's findings on the apps that are so on purpose (finding + resource + reason)."""


@pytest.mark.parametrize("name", apps.APPS)
def test_parliament_finds_nothing_unacknowledged(name: str) -> None:
    found = iam_lint.findings(name, apps.build(name))
    assert found, "parliament ran over no policy"
    left = [f for f in found if not any(a.covers(f) for a in PARLIAMENT_ACKNOWLEDGED)]
    assert left == [], "\n".join(map(str, left))


def test_the_unknown_actions_parliament_reports_are_the_service_s_operations() -> None:
    """parliament's database may lag the service: an acknowledged UNKNOWN_ACTION must
    be an operation of botocore's cleanroomsml model (Clean Rooms ML names its IAM actions
    after its operations), and every other action the constructs grant is one parliament
    knows (so its other checks ran on them)."""
    model = botocore.session.get_session().get_service_model("cleanroomsml")
    for acknowledgment in PARLIAMENT_ACKNOWLEDGED:
        if acknowledgment.issue == "UNKNOWN_ACTION":
            action = json.loads(acknowledgment.detail).rsplit(":", 1)[1]
            assert action in model.operation_names, acknowledgment


def test_parliament_does_report_a_bad_policy() -> None:
    """The empty lists above are not for want of looking: a statement on '*' of an action
    that takes a resource, and a statement with an unknown action, are findings."""
    bad = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Allow", "Action": "cleanrooms-ml:NoSuchThing", "Resource": "*"},
        ],
    }
    issues = {issue for issue, _ in iam_lint.lint(bad)}
    assert {"RESOURCE_STAR", "UNKNOWN_ACTION"} <= issues
    assert iam_lint.parliament_version() == iam_lint.PARLIAMENT_VERSION


def test_an_unknown_reference_in_a_policy_is_an_error_not_a_guess() -> None:
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Resource": {"Fn::GetAtt": ["Unknown", "Arn"]},
                            }
                        ],
                    }
                },
            }
        }
    }
    with pytest.raises(AssertionError, match="no representative value"):
        list(iam_lint.documents(template))
