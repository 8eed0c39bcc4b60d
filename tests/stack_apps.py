"""CDK apps for the whole-stack tests, described as data and synthesized (cached).

An ``AppSpec`` is a version of an app: pieces of the nine kinds (each with a
construct id, a variant whose change replaces it, a tag set, a removal policy,
waiting on or off, a membership) and a sibling plain resource a deploy can make
fail. ``template(spec)`` synthesizes it (validation off, one synth per spec).
Pieces use each other as an app would: a model trains on the app's first channel,
a job runs the first model over the first channel, and all take the ML
configuration of their membership; a model export exports the first model; the
lookalike pieces chain (an audience model, a configured audience model of it, a
generation job with that, an export of that job). Without them they use resources
that exist already (``EXISTING``, made by the test in the emulator).

A configured audience model's variant changes its description, updated in place, and
every second one its ``child_resource_tag_on_create_policy``, which replaces it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_cdk import App, CfnResource, Duration, Environment, RemovalPolicy, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from iam_sim import ACCOUNT, REGION
from stack_sim import SIBLING

from cdk_cleanrooms_ml import (
    AudienceExportJob,
    AudienceGenerationJob,
    AudienceModel,
    AudienceSize,
    AudienceSizeConfig,
    AudienceSizeType,
    ConfiguredAudienceModel,
    DataChannel,
    InstanceType,
    MLConfiguration,
    MLInputChannel,
    MLInputChannelDataSource,
    SeedAudience,
    SharedAudienceMetrics,
    TagOnCreatePolicy,
    TrainedModel,
    TrainedModelExportJob,
    TrainedModelInferenceJob,
)
from cdk_cleanrooms_ml.ml_configuration import IMLConfiguration

MEMBERSHIPS = ("0f3d2a1b-1234-4cde-8f00-0123456789ab", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")
KINDS = (
    "config",
    "channel",
    "model",
    "job",
    "model_export",
    "audience",
    "configured",
    "generation",
    "audience_export",
)
"""In dependency order: a piece is built after those it may use."""
LOOKALIKE = ("audience", "configured", "generation", "audience_export")
DATASET = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:training-dataset/d1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/cleanrooms-ml"
SIZES = (1000, 5000)
STACK = "Sim"


def prefix(membership: int) -> str:
    return f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{MEMBERSHIPS[membership]}"


def association(membership: int) -> str:
    return f"{prefix(membership)}/configured-model-algorithm-association/a"


EXISTING_MODEL = "existing-model"
EXISTING_CHANNEL = "existing-channel"
EXISTING_AUDIENCE_MODEL = "existing-audience-model"
EXISTING_CONFIGURED = "existing-configured-audience-model"
EXISTING_GENERATION = "existing-generation-job"


@dataclass(frozen=True)
class Piece:
    kind: str
    name: str
    variant: int = 0
    tag: int = 0
    destroy: bool = True
    wait: bool = True
    membership: int = 0
    query_bytes: int = 0
    """A channel's query padded to this many bytes (the payload limits)."""

    def with_(self, **changes: Any) -> Piece:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class AppSpec:
    pieces: tuple[Piece, ...] = ()
    sibling: int = 0
    """The sibling's revision: a deploy that injects its failure changes it."""
    sibling_after: str | None = None
    """A piece the sibling is deployed after (``DependsOn``)."""
    existing: tuple[str, ...] = ("", "", "", "", "")
    """The ARNs of a model, a channel, an audience model, a configured audience model and
    a generation job that exist already (ACTIVE)."""

    def named(self, name: str) -> Piece | None:
        return next((p for p in self.pieces if p.name == name), None)

    def replace(self, name: str, piece: Piece | None) -> AppSpec:
        pieces = tuple(
            q for p in self.pieces if (q := (piece if p.name == name else p)) is not None
        )
        after = self.sibling_after if self.sibling_after in {p.name for p in pieces} else None
        return dataclasses.replace(self, pieces=pieces, sibling_after=after)


def _first(spec: AppSpec, kind: str, membership: int = 0) -> Piece | None:
    return next((p for p in spec.pieces if p.kind == kind and p.membership == membership), None)


@cache
def template(spec: AppSpec) -> dict[str, Any]:
    """The synthesized template of ``spec`` (``CDK_VALIDATION=false`` is the caller's)."""
    app = App()
    stack = Stack(app, STACK, env=Environment(account=ACCOUNT, region=REGION))
    made: dict[str, Any] = {}
    order = sorted(spec.pieces, key=lambda p: KINDS.index(p.kind))
    for piece in order:
        made[piece.name] = _build(stack, spec, piece, made)
    sibling = CfnResource(
        stack,
        SIBLING,
        type="AWS::SSM::Parameter",
        properties={"Type": "String", "Value": f"revision {spec.sibling}"},
    )
    sibling.override_logical_id(SIBLING)
    if spec.sibling_after is not None and spec.sibling_after in made:
        sibling.node.add_dependency(made[spec.sibling_after])
    return dict(Template.from_stack(stack).to_json())


def _configuration(spec: AppSpec, made: dict[str, Any], membership: int) -> IMLConfiguration | None:
    piece = _first(spec, "config", membership)
    return None if piece is None else made.get(piece.name)


def _lifecycle(piece: Piece) -> dict[str, Any]:
    return {
        "tags": {"rev": str(piece.tag)} if piece.tag else None,
        "removal_policy": RemovalPolicy.DESTROY if piece.destroy else RemovalPolicy.RETAIN,
        "wait_for_completion": piece.wait,
    }


def _build(stack: Stack, spec: AppSpec, piece: Piece, made: dict[str, Any]) -> Any:
    membership = MEMBERSHIPS[piece.membership]
    if piece.kind == "config":
        return MLConfiguration(
            stack,
            piece.name,
            membership_identifier=membership,
            output_bucket=s3.Bucket.from_bucket_name(stack, f"{piece.name}Results", "results"),
            output_prefix=f"v{piece.variant}/",
            removal_policy=RemovalPolicy.DESTROY if piece.destroy else RemovalPolicy.RETAIN,
        )
    configuration = _configuration(spec, made, piece.membership)
    if piece.kind == "channel":
        query = f"SELECT {piece.variant} FROM t"
        if piece.query_bytes > len(query):
            query += " --" + "x" * (piece.query_bytes - len(query) - 3)
        return MLInputChannel(
            stack,
            piece.name,
            membership_identifier=membership,
            configured_model_algorithm_association=association(piece.membership),
            data_source=MLInputChannelDataSource.sql(query),
            retention=Duration.days(7),
            ml_configuration=configuration,
            **_lifecycle(piece),
        )
    channel_piece = _first(spec, "channel", piece.membership)
    channel = made.get(channel_piece.name) if channel_piece is not None else None
    if piece.kind == "model":
        data = (
            DataChannel.of(channel, "train")
            if channel is not None
            else DataChannel(ml_input_channel_arn=spec.existing[1], channel_name="train")
        )
        return TrainedModel(
            stack,
            piece.name,
            membership_identifier=membership,
            configured_model_algorithm_association_arn=association(piece.membership),
            instance_type=InstanceType.ML_M5_XLARGE,
            volume_size=Size.gibibytes(10),
            data_channels=[data],
            hyperparameters={"epochs": str(piece.variant)},
            ml_configuration=configuration,
            **_lifecycle(piece),
        )
    if piece.kind in LOOKALIKE:
        return _lookalike(stack, spec, piece, made)
    model_piece = _first(spec, "model", piece.membership)
    model = made.get(model_piece.name) if model_piece is not None else None
    if piece.kind == "model_export":
        return TrainedModelExportJob(
            stack,
            piece.name,
            membership_identifier=membership,
            trained_model=model
            or TrainedModel.from_trained_model_arn(stack, f"{piece.name}Model", spec.existing[0]),
            output_account_id=("111122223333", "444455556666")[piece.variant % 2],
            ml_configuration=configuration,
            wait_for_completion=piece.wait,
        )
    return TrainedModelInferenceJob(
        stack,
        piece.name,
        membership_identifier=membership,
        trained_model=model
        or TrainedModel.from_trained_model_arn(stack, f"{piece.name}Model", spec.existing[0]),
        data_source=channel
        or MLInputChannel.from_ml_input_channel_arn(stack, f"{piece.name}Rows", spec.existing[1]),
        instance_type=InstanceType.ML_M5_XLARGE
        if piece.variant % 2 == 0
        else InstanceType.ML_M5_2XLARGE,
        output_account_id=ACCOUNT,
        ml_configuration=configuration,
        **_lifecycle(piece),
    )


def _made(spec: AppSpec, made: dict[str, Any], kind: str) -> Any:
    """The app's first piece of ``kind``, as built (None: it has none)."""
    piece = next((p for p in spec.pieces if p.kind == kind), None)
    return None if piece is None else made.get(piece.name)


def _lookalike(stack: Stack, spec: AppSpec, piece: Piece, made: dict[str, Any]) -> Any:
    """A piece of the lookalike chain: each uses the app's first of the step before, or
    the one that exists already."""
    lifecycle = _lifecycle(piece)
    if piece.kind == "audience":
        return AudienceModel(
            stack,
            piece.name,
            training_dataset=DATASET,
            training_data_start_time=datetime(2026, 1, 1 + piece.variant % 28, tzinfo=UTC),
            **lifecycle,
        )
    if piece.kind == "configured":
        model = _made(spec, made, "audience") or AudienceModel.from_audience_model_arn(
            stack, f"{piece.name}Model", spec.existing[2]
        )
        return ConfiguredAudienceModel(
            stack,
            piece.name,
            audience_model=model,
            output_bucket=s3.Bucket.from_bucket_name(stack, f"{piece.name}Out", "audiences"),
            output_role=iam.Role.from_role_arn(stack, f"{piece.name}Role", ROLE, mutable=False),
            shared_audience_metrics=SharedAudienceMetrics.ALL,
            audience_size_config=AudienceSizeConfig(AudienceSizeType.ABSOLUTE, list(SIZES)),
            description=f"v{piece.variant}",
            child_resource_tag_on_create_policy=(
                TagOnCreatePolicy.NONE
                if piece.variant // 2 % 2 == 0
                else TagOnCreatePolicy.FROM_PARENT_RESOURCE
            ),
            tags=lifecycle["tags"],
            removal_policy=lifecycle["removal_policy"],
        )
    if piece.kind == "generation":
        configured = _made(
            spec, made, "configured"
        ) or ConfiguredAudienceModel.from_configured_audience_model_arn(
            stack, f"{piece.name}Configured", spec.existing[3]
        )
        return AudienceGenerationJob(
            stack,
            piece.name,
            configured_audience_model=configured,
            seed_audience=SeedAudience.from_bucket(
                s3.Bucket.from_bucket_name(stack, f"{piece.name}Seeds", "seeds"),
                f"seeds/v{piece.variant}.csv",
            ),
            role=iam.Role.from_role_arn(stack, f"{piece.name}Role", ROLE, mutable=False),
            **lifecycle,
        )
    job = _made(spec, made, "generation") or AudienceGenerationJob.from_audience_generation_job_arn(
        stack, f"{piece.name}Job", spec.existing[4]
    )
    return AudienceExportJob(
        stack,
        piece.name,
        audience_generation_job=job,
        audience_size=AudienceSize(AudienceSizeType.ABSOLUTE, SIZES[piece.variant % 2]),
        wait_for_completion=piece.wait,
    )
