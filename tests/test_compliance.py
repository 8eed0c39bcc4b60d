"""cdk-nag (AwsSolutions) and cfn-lint over every synthesized template.

cdk-nag findings the construct cannot fix are acknowledged by the construct
itself, each with a reason (see ``_provider.py``); everything else must pass.
cfn-lint may report nothing but W3005 (the redundant DependsOn CDK writes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import (
    App,
    CfnOutput,
    Duration,
    Environment,
    Fn,
    RemovalPolicy,
    Size,
    Stack,
    Validations,
)
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

import app as example_app
import full_pipeline
import imported_base
import incremental
from cdk_cleanrooms_ml import (
    DataChannel,
    IncrementalTrainingDataChannel,
    InstanceType,
    TrainedModel,
    TrainingInputMode,
)
from helpers import ACCOUNT, ASSOCIATION_ARN, CHANNEL_ARN, MEMBERSHIP, REGION

OTHER = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
OTHER_PREFIX = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{OTHER}"


def _kitchen_sink(app: App, env: Environment | None) -> Stack:
    stack = Stack(app, f"KitchenSink{'Env' if env else 'Agnostic'}", env=env)
    key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)
    base = TrainedModel(
        stack,
        "Base",
        membership_identifier=MEMBERSHIP,
        configured_model_algorithm_association_arn=ASSOCIATION_ARN,
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name="train")],
        encryption_key=key,
        removal_policy=RemovalPolicy.DESTROY,
    )
    incremental_model = TrainedModel(
        stack,
        "Incremental",
        membership_identifier=MEMBERSHIP,
        configured_model_algorithm_association_arn=ASSOCIATION_ARN,
        instance_type=InstanceType.ML_G5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[DataChannel(ml_input_channel_arn=CHANNEL_ARN, channel_name="train")],
        incremental_training_data_channels=[
            IncrementalTrainingDataChannel(trained_model=base, channel_name="base")
        ],
        training_input_mode=TrainingInputMode.FAST_FILE,
        max_runtime=Duration.hours(3),
        completion_timeout=Duration.hours(6),  # the long path (WaitCondition)
        tags={"team": "ml"},
    )
    TrainedModel(
        stack,
        "OtherMembership",
        membership_identifier=OTHER,
        configured_model_algorithm_association_arn=f"{OTHER_PREFIX}/configured-model-algorithm-association/x",
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[
            DataChannel(
                ml_input_channel_arn=f"{OTHER_PREFIX}/ml-input-channel/y", channel_name="train"
            )
        ],
    )
    TrainedModel(
        stack,
        "FromTokens",
        membership_identifier=Fn.import_value("MembershipId"),
        configured_model_algorithm_association_arn=Fn.import_value("AssociationArn"),
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[
            DataChannel(ml_input_channel_arn=Fn.import_value("ChannelArn"), channel_name="t")
        ],
    )
    CfnOutput(stack, "IncrementalArn", value=incremental_model.trained_model_arn)
    return stack


EXAMPLES = {
    "minimal": example_app.build,
    "full-pipeline": full_pipeline.build,
    "incremental": incremental.build,
    "imported-base": imported_base.build,
}
APPS = [*EXAMPLES, "kitchen-sink"]


def _app(name: str) -> App:
    app = App()
    if name in EXAMPLES:
        EXAMPLES[name](app)
    else:
        _kitchen_sink(app, Environment(account=ACCOUNT, region=REGION))
        _kitchen_sink(app, None)
    return app


@pytest.mark.parametrize("name", APPS)
def test_cdk_nag_aws_solutions_finds_nothing_unacknowledged(name: str) -> None:
    app = _app(name)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises with the findings when any is not acknowledged


@pytest.mark.parametrize("name", APPS)
def test_cfn_lint_reports_nothing_but_w3005(name: str, tmp_path: Path) -> None:
    assembly = _app(name).synth()
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
