"""cdk-nag (AwsSolutions) and cfn-lint over every synthesized template.

cdk-nag findings the construct cannot fix are acknowledged by the construct
itself, each with a reason (see ``_provider.py``); everything else must pass.
cfn-lint may report nothing but W3005 (the redundant DependsOn CDK writes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import apps
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
