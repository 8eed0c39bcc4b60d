"""The replacement preview (``cdk-cleanrooms-ml diff``): synthesized templates compared
by the handler's own identity code.

That the preview says exactly what a deploy then does (what the handler replaces,
creates and deletes) is asserted for every deploy of every whole-stack history
(``test_whole_stacks.py``, ``World.as_predicted``); ``test_local_cloud.py`` runs the
command against real deploys on the local cloud.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from stack_apps import AppSpec, Piece, template

from cdk_cleanrooms_ml import preview
from cdk_cleanrooms_ml.local import diff as diffing

EXISTING = (
    "arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/"
    "0f3d2a1b-1234-4cde-8f00-0123456789ab/trained-model/existing",
    "arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/"
    "0f3d2a1b-1234-4cde-8f00-0123456789ab/ml-input-channel/existing",
    "arn:aws:cleanrooms-ml:us-east-1:000000000000:audience-model/existing",
    "arn:aws:cleanrooms-ml:us-east-1:000000000000:configured-audience-model/existing",
    "arn:aws:cleanrooms-ml:us-east-1:000000000000:audience-generation-job/existing",
)
PIPELINE = (
    Piece("config", "Configuration"),
    Piece("channel", "Rows"),
    Piece("model", "Model"),
    Piece("job", "Scores"),
)
LOOKALIKE = (
    Piece("audience", "Audience"),
    Piece("configured", "Configured"),
    Piece("generation", "Generation"),
    Piece("audience_export", "Export"),
)


@pytest.fixture(autouse=True)
def _no_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_VALIDATION", "false")


def _app(*pieces: Piece) -> dict[str, Any]:
    return template(AppSpec(pieces=pieces, existing=EXISTING))


def _actions(result: preview.Preview) -> dict[str, str]:
    return {
        f"{c.kind}:{c.logical_id[:-8]}": c.action
        for c in result.changes
        if c.action != preview.UNCHANGED
    }


def test_a_stack_not_deployed_is_created_and_its_trainings_counted() -> None:
    result = preview.preview("Sim", None, _app(*PIPELINE))
    assert set(_actions(result).values()) == {preview.CREATED}
    assert result.summary() == (
        "this deploy starts 1 training (ml.m5.xlarge x 1), 1 query, 1 inference job "
        "(ml.m5.xlarge x 1)"
    )
    assert not result.replaces
    assert preview.lines(result)[0] == "Sim (not deployed yet)"


def test_nothing_changed_starts_nothing() -> None:
    result = preview.preview("Sim", _app(*PIPELINE), _app(*PIPELINE))
    assert _actions(result) == {}
    assert result.summary() == "this deploy starts nothing"


@pytest.mark.parametrize("kind", ["channel", "model", "job"])
def test_a_tag_change_is_in_place(kind: str) -> None:
    new = [p.with_(tag=1) if p.kind == kind else p for p in PIPELINE]
    result = preview.preview("Sim", _app(*PIPELINE), _app(*new))
    assert list(_actions(result).values()) == [preview.UPDATED]
    (change,) = [c for c in result.changes if c.action == preview.UPDATED]
    assert change.why == ["tags"]
    assert not result.replaces


def test_a_hyperparameter_change_replaces_the_model_and_drags_its_job_along() -> None:
    new = [p.with_(variant=1) if p.kind == "model" else p for p in PIPELINE]
    result = preview.preview("Sim", _app(*PIPELINE), _app(*new))
    assert _actions(result) == {
        "TrainedModel:Model": preview.REPLACED,
        "TrainedModelInferenceJob:Scores": preview.REPLACED,
    }
    model, job = [c for c in result.changes if c.action == preview.REPLACED]
    assert model.why == ["hyperparameters['epochs']: changed (values hidden)"]
    assert model.destroys.startswith("deletes its output")
    assert job.why == [f"uses {model.logical_id}, which is replaced"]
    assert job.destroys == "cancels it if it still runs"  # dragged along, under DESTROY
    assert result.replaces
    assert "1 training (ml.m5.xlarge x 1), 1 inference job" in result.summary()
    text = "\n".join(preview.lines(result))
    assert "REPLACED  TrainedModel Model" in text
    assert "'0'" not in text  # a hyperparameter's value is a secret
    assert "'1'" not in text


def test_a_channel_query_change_cascades_through_the_model_to_the_job() -> None:
    new = [p.with_(variant=1) if p.kind == "channel" else p for p in PIPELINE]
    result = preview.preview("Sim", _app(*PIPELINE), _app(*new))
    assert _actions(result) == {
        "MLInputChannel:Rows": preview.REPLACED,
        "TrainedModel:Model": preview.REPLACED,
        "TrainedModelInferenceJob:Scores": preview.REPLACED,
    }
    assert result.summary().startswith("this deploy starts 1 training")


def test_a_rename_deletes_one_and_creates_another() -> None:
    new = [p.with_(name="Renamed") if p.kind == "job" else p for p in PIPELINE]
    result = preview.preview("Sim", _app(*PIPELINE), _app(*new))
    assert _actions(result) == {
        "TrainedModelInferenceJob:Renamed": preview.CREATED,
        "TrainedModelInferenceJob:Scores": preview.DELETED,
    }
    assert not result.replaces  # a new resource is not a replacement: nothing exits 3


@pytest.mark.parametrize("destroy", [True, False])
def test_a_removal_says_what_the_removal_policy_deletes(destroy: bool) -> None:
    old = [p.with_(destroy=destroy) for p in PIPELINE]
    result = preview.preview("Sim", _app(*old), _app(*old[:3]))
    (change,) = [c for c in result.changes if c.action == preview.DELETED]
    assert change.destroys == (
        "cancels it if it still runs" if destroy else "kept (removal policy retain)"
    )


def test_an_ml_configuration_moved_to_another_membership_is_made_anew() -> None:
    """Its logical id is its membership's: another membership is another resource."""
    new = [p.with_(membership=1) if p.kind == "config" else p for p in PIPELINE]
    result = preview.preview("Sim", _app(*PIPELINE), _app(*new))
    moved = sorted(c.action for c in result.changes if c.kind == "MLConfiguration")
    assert moved == [preview.CREATED, preview.DELETED]


def test_a_renamed_configuration_with_a_new_location_is_updated_in_place() -> None:
    new = [p.with_(name="Renamed", variant=1) if p.kind == "config" else p for p in PIPELINE]
    result = preview.preview("Sim", _app(*PIPELINE), _app(*new))
    assert _actions(result) == {"MLConfiguration:MLConfiguration": preview.UPDATED}


def test_the_json_and_the_assembly_s_stacks(tmp_path: Any) -> None:
    result = preview.preview("Sim", _app(*PIPELINE), _app(*PIPELINE[:3]))
    shown = result.as_json()
    assert shown["replaces"] is False
    assert [r["action"] for r in shown["resources"]] == [preview.DELETED]
    json.dumps(shown)
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    (assembly / "Sim.template.json").write_text(json.dumps(_app(*PIPELINE)))
    (assembly / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "Sim": {
                        "type": "aws:cloudformation:stack",
                        "environment": "aws://000000000000/eu-west-1",
                        "properties": {"templateFile": "Sim.template.json", "stackName": "Sim"},
                    },
                    "Tree": {"type": "cdk:tree"},
                }
            }
        )
    )
    (stack,) = diffing.stacks(assembly)
    assert stack["name"] == "Sim"
    assert stack["region"] == "eu-west-1"


def test_the_preview_uses_the_handler_s_identity_code() -> None:
    """One source of truth: the module the preview loads is the handler asset's file."""
    import identity as handlers_identity

    loaded = preview.identity()
    assert loaded.__file__ == handlers_identity.__file__
    assert loaded.DOCUMENTS.keys() == handlers_identity.DOCUMENTS.keys()


def _with_paths(synthesized: dict[str, Any]) -> dict[str, Any]:
    """The template as the aws-cdk CLI synthesizes it: ``aws:cdk:path`` on each resource."""
    found: dict[str, Any] = json.loads(json.dumps(synthesized))
    for logical_id, resource in found["Resources"].items():
        name = logical_id[:-8] if resource["Type"].startswith("Custom::") else logical_id
        resource.setdefault("Metadata", {})["aws:cdk:path"] = f"Sim/Team/{name}/Resource"
    return found


def test_lines_name_each_construct_by_its_path_and_group_equal_trainings() -> None:
    old = _with_paths(_app(*PIPELINE, Piece("model", "Extra")))
    new = [p.with_(variant=1) if p.kind == "channel" else p for p in PIPELINE]
    result = preview.preview("Sim", old, _with_paths(_app(*new, Piece("model", "Extra"))))
    text = "\n".join(preview.lines(result))
    (rows,) = [c for c in result.changes if c.kind == "MLInputChannel"]
    assert f"REPLACED  MLInputChannel Team/Rows ({rows.logical_id})" in text
    assert "uses Team/Rows, which is replaced" in text
    assert "2 trainings (2 x (ml.m5.xlarge x 1))" in result.summary()


# --- the lookalike kinds and the exports -------------------------------------------------


def test_the_lookalike_chain_created_counts_what_it_starts() -> None:
    result = preview.preview("Sim", None, _app(*LOOKALIKE, Piece("model_export", "ModelExport")))
    assert set(_actions(result).values()) == {preview.CREATED}
    assert result.summary() == (
        "this deploy starts 1 audience model training, 1 audience generation, "
        "1 model export, 1 audience export"
    )


def test_a_configured_audience_model_s_description_is_updated_in_place() -> None:
    new = [p.with_(variant=1) if p.kind == "configured" else p for p in LOOKALIKE]
    result = preview.preview("Sim", _app(*LOOKALIKE), _app(*new))
    assert _actions(result) == {"ConfiguredAudienceModel:Configured": preview.UPDATED}
    (change,) = [c for c in result.changes if c.action == preview.UPDATED]
    assert change.why == ["description"]
    assert not result.replaces


def test_its_tag_policy_replaces_it_and_drags_its_job_and_export_along() -> None:
    new = [p.with_(variant=2) if p.kind == "configured" else p for p in LOOKALIKE]
    result = preview.preview("Sim", _app(*LOOKALIKE), _app(*new))
    assert _actions(result) == {
        "ConfiguredAudienceModel:Configured": preview.REPLACED,
        "AudienceGenerationJob:Generation": preview.REPLACED,
        "AudienceExportJob:Export": preview.REPLACED,
    }
    configured, job, export = [c for c in result.changes if c.action == preview.REPLACED]
    assert configured.why == [
        "child_resource_tag_on_create_policy: 'NONE' -> 'FROM_PARENT_RESOURCE'"
    ]
    assert configured.destroys == "deletes it and its policy"
    assert job.why == [f"uses {configured.logical_id}, which is replaced"]
    assert export.destroys == preview.STAYS  # an export is not undone
    assert "1 audience generation, 1 audience export" in result.summary()


def test_a_retrained_audience_model_is_swapped_in_place_under_its_configured_model() -> None:
    """The audience model is a setting of the configured one (updated in place), not part
    of its identity: a new audience model leaves it, its job and its export in place."""
    new = [p.with_(variant=1) if p.kind == "audience" else p for p in LOOKALIKE]
    result = preview.preview("Sim", _app(*LOOKALIKE), _app(*new))
    assert _actions(result) == {
        "AudienceModel:Audience": preview.REPLACED,
        "ConfiguredAudienceModel:Configured": preview.UPDATED,
    }
    (model,) = [c for c in result.changes if c.action == preview.REPLACED]
    assert model.why == [
        "training_data_start_time: '2026-01-01T00:00:00Z' -> '2026-01-02T00:00:00Z'"
    ]
    (configured,) = [c for c in result.changes if c.action == preview.UPDATED]
    assert configured.why == [
        f"uses {model.logical_id}, which is replaced: updated in place to use the new one"
    ]
    assert result.summary() == "this deploy starts 1 audience model training"


def test_dropping_a_setting_the_service_cannot_unset_replaces() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_s3 as s3

    from cdk_cleanrooms_ml import AudienceModel, ConfiguredAudienceModel, SharedAudienceMetrics

    def app(seed_size: int | None) -> dict[str, Any]:
        from aws_cdk.assertions import Template

        stack = Stack(App(), "Sim")
        ConfiguredAudienceModel(
            stack,
            "Configured",
            audience_model=AudienceModel.from_audience_model_arn(stack, "M", EXISTING[2]),
            output_bucket=s3.Bucket.from_bucket_name(stack, "B", "audiences"),
            shared_audience_metrics=SharedAudienceMetrics.ALL,
            min_matching_seed_size=seed_size,
        )
        return dict(Template.from_stack(stack).to_json())

    assert _actions(preview.preview("Sim", app(None), app(100))) == {
        "ConfiguredAudienceModel:Configured": preview.UPDATED
    }
    dropped = preview.preview("Sim", app(100), app(None))
    (change,) = [c for c in dropped.changes if c.action == preview.REPLACED]
    assert change.why == [
        "min_matching_seed_size: unset (the service cannot unset it: a new one is made)"
    ]


def test_an_export_s_removal_says_it_stays_and_a_new_model_exports_again() -> None:
    pieces = (Piece("model", "Model"), Piece("model_export", "Export"))
    removed = preview.preview("Sim", _app(*pieces), _app(pieces[0]))
    (change,) = [c for c in removed.changes if c.action == preview.DELETED]
    assert change.destroys == preview.STAYS
    retrained = preview.preview("Sim", _app(*pieces), _app(pieces[0].with_(variant=1), pieces[1]))
    assert _actions(retrained) == {
        "TrainedModel:Model": preview.REPLACED,
        "TrainedModelExportJob:Export": preview.REPLACED,
    }
    assert "1 model export" in retrained.summary()


class _Stacks:
    """A CloudFormation client that answers for one stack in ``status``."""

    def __init__(self, status: str | None, body: dict[str, Any]) -> None:
        import boto3
        from botocore.stub import Stubber

        self.client = boto3.client(
            "cloudformation",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        self.stubber = Stubber(self.client)
        if status is None:
            self.stubber.add_client_error(
                "describe_stacks",
                "ValidationError",
                "Stack with id Sim does not exist",
                expected_params={"StackName": "Sim"},
            )
            return
        self.stubber.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "Sim",
                        "CreationTime": "2026-12-08T00:00:00Z",
                        "StackStatus": status,
                    }
                ]
            },
            {"StackName": "Sim"},
        )
        if status not in diffing.NOT_DEPLOYED:
            self.stubber.add_response(
                "get_template",
                {"TemplateBody": json.dumps(body)},
                {"StackName": "Sim", "TemplateStage": "Original"},
            )


@pytest.mark.parametrize(
    ("status", "deployed"),
    [
        (None, False),
        ("DELETE_COMPLETE", False),  # the local cloud answers for a deleted stack
        ("ROLLBACK_COMPLETE", False),  # a first deploy rolled back: cdk deploy starts over
        ("REVIEW_IN_PROGRESS", False),  # a change set never executed
        ("UPDATE_COMPLETE", True),
        ("UPDATE_ROLLBACK_COMPLETE", True),
        ("CREATE_COMPLETE", True),
    ],
)
def test_the_deployed_template_is_read_only_for_a_stack_that_holds_its_resources(
    status: str | None, deployed: bool
) -> None:
    body = _app(*PIPELINE)
    stacks = _Stacks(status, body)
    with stacks.stubber:
        got = diffing.deployed_template(stacks.client, "Sim")
        stacks.stubber.assert_no_pending_responses()
    assert got == (body if deployed else None)
    if not deployed:  # so everything is created
        result = preview.preview("Sim", got, body)
        assert {c.action for c in result.changes} == {preview.CREATED}


def test_no_region_is_an_error_that_says_where_to_give_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(diffing.DiffError, match=r"no AWS region.*AWS_REGION.*--local"):
        diffing._client(None, "")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert diffing._client(None, "").meta.region_name == "eu-west-1"
    assert diffing._client(None, "ap-south-1").meta.region_name == "ap-south-1"


def _long_path_app(epochs: int, start_month: int, *, long: bool = True) -> dict[str, Any]:
    """A long-path model (over an hour) with a job and an export of it, and a long-path
    audience model under a configured audience model: what uses them reads their ARNs
    from the attributes resource after the WaitCondition."""
    from datetime import UTC, datetime

    from aws_cdk import App, Duration, Environment, Size, Stack
    from aws_cdk import aws_s3 as s3
    from aws_cdk.assertions import Template

    from cdk_cleanrooms_ml import (
        AudienceModel,
        ConfiguredAudienceModel,
        DataChannel,
        InstanceType,
        MLInputChannel,
        SharedAudienceMetrics,
        TrainedModel,
        TrainedModelExportJob,
        TrainedModelInferenceJob,
    )

    membership = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
    prefix = f"arn:aws:cleanrooms-ml:us-east-1:000000000000:membership/{membership}"
    app = App()
    stack = Stack(app, "S", env=Environment(account="000000000000", region="us-east-1"))
    model = TrainedModel(
        stack,
        "Model",
        membership_identifier=membership,
        configured_model_algorithm_association_arn=(
            f"{prefix}/configured-model-algorithm-association/a"
        ),
        instance_type=InstanceType.ML_M5_XLARGE,
        volume_size=Size.gibibytes(10),
        data_channels=[
            DataChannel(ml_input_channel_arn=f"{prefix}/ml-input-channel/c", channel_name="t")
        ],
        hyperparameters={"epochs": str(epochs)},
        completion_timeout=Duration.hours(3 if long else 1),
    )
    TrainedModelInferenceJob(
        stack,
        "Job",
        membership_identifier=membership,
        trained_model=model,
        data_source=MLInputChannel.from_ml_input_channel_arn(
            stack, "Channel", f"{prefix}/ml-input-channel/c"
        ),
        instance_type=InstanceType.ML_M5_XLARGE,
        output_account_id="000000000000",
    )
    TrainedModelExportJob(
        stack,
        "Export",
        membership_identifier=membership,
        trained_model=model,
        output_account_id="111122223333",
    )
    audience = AudienceModel(
        stack,
        "Audience",
        training_dataset=(
            "arn:aws:cleanrooms-ml:us-east-1:000000000000:training-dataset/"
            "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c"
        ),
        training_data_start_time=datetime(2026, start_month, 1, tzinfo=UTC),
        completion_timeout=Duration.hours(8 if long else 1),
    )
    ConfiguredAudienceModel(
        stack,
        "Configured",
        audience_model=audience,
        output_bucket=s3.Bucket(stack, "Audiences", enforce_ssl=True),
        shared_audience_metrics=SharedAudienceMetrics.ALL,
    )
    return dict(Template.from_stack(stack).to_json())


def test_a_replaced_long_path_model_drags_along_what_reads_it_from_its_attributes() -> None:
    """On the long path a job, an export and a configured audience model read the ARN
    from the attributes resource after the WaitCondition; a replacement reaches them
    through it as through the model itself."""
    base = _long_path_app(1, 1)
    assert preview.preview("S", base, base).replaces is False
    retrained = preview.preview("S", base, _long_path_app(2, 1))
    actions = {c.kind: c.action for c in retrained.changes}
    assert actions["TrainedModel"] == preview.REPLACED
    assert actions["TrainedModelInferenceJob"] == preview.REPLACED, preview.lines(retrained)
    assert actions["TrainedModelExportJob"] == preview.REPLACED, preview.lines(retrained)
    assert actions["ConfiguredAudienceModel"] == preview.UNCHANGED
    window = preview.preview("S", base, _long_path_app(1, 2))
    actions = {c.kind: c.action for c in window.changes}
    assert actions["AudienceModel"] == preview.REPLACED
    assert actions["ConfiguredAudienceModel"] == preview.UPDATED, preview.lines(window)
    assert actions["TrainedModelInferenceJob"] == preview.UNCHANGED


def test_a_configured_audience_model_with_only_its_name_frozen_is_moved_in_place() -> None:
    """Its identity document is empty (every setting it has is updatable): a new
    audience model moves it in place, on the short path as on the long one."""
    for long in (False, True):
        base = _long_path_app(1, 1, long=long)
        window = preview.preview("S", base, _long_path_app(1, 2, long=long))
        actions = {c.kind: c.action for c in window.changes}
        assert actions["AudienceModel"] == preview.REPLACED
        assert actions["ConfiguredAudienceModel"] == preview.UPDATED, preview.lines(window)
