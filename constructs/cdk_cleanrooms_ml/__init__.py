"""cdk-cleanrooms-ml: typed AWS CDK v2 constructs for the AWS Clean Rooms ML pipeline.

- ``MLConfiguration``: a membership's default output location and role;
- ``MLInputChannel``: a protected query's result, the data of training and inference;
- ``TrainedModel``: a model trained with ``CreateTrainedModel`` (waits for training);
- ``TrainedModelInferenceJob``: a trained model run over an ML input channel;
- ``TrainedModelExportJob``: a trained model exported to a member account;
- ``AudienceModel``: a lookalike model trained on a training dataset;
- ``ConfiguredAudienceModel``: an audience model configured for generation (updated in
  place, with a resource policy);
- ``AudienceGenerationJob``: an audience generated from a seed audience;
- ``AudienceExportJob``: a generated audience exported at one of its sizes.

Each renders a ``Custom::CleanRoomsML*`` resource; one handler per stack serves them
all, with the same lifecycle (rollback-safe replacement, adoption, waits, cleanup).

``cdk_cleanrooms_ml.local`` is the local cloud (the ``cdk-cleanrooms-ml local``
command and the Clean Rooms ML emulator).

The names below are loaded on first use: importing the package (or its ``local``
subpackage, which needs no CDK) does not start jsii's Node.js process.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._context import ENDPOINT_URL_CONTEXT_KEY
    from .audience_export_job import AudienceExportJob, AudienceSize
    from .audience_generation_job import (
        AudienceGenerationJob,
        AudienceGenerationJobBase,
        IAudienceGenerationJob,
        SeedAudience,
    )
    from .audience_model import AudienceModel, AudienceModelBase, IAudienceModel
    from .configured_audience_model import (
        AudienceSizeConfig,
        AudienceSizeType,
        ConfiguredAudienceModel,
        ConfiguredAudienceModelBase,
        IConfiguredAudienceModel,
        SharedAudienceMetrics,
        TagOnCreatePolicy,
    )
    from .errors import RemovalPolicyError, TrainedModelValidationError, ValidationError
    from .handler_logs import HandlerLogs
    from .inference_job import TrainedModelInferenceJob, TrainedModelInferenceJobBase
    from .instance_type import InstanceType
    from .ml_configuration import IMLConfiguration, MLConfiguration
    from .ml_input_channel import (
        IMLInputChannel,
        MLInputChannel,
        MLInputChannelBase,
        MLInputChannelDataSource,
        ResultFormat,
        WorkerComputeType,
    )
    from .trained_model import ITrainedModel, TrainedModel, TrainedModelBase
    from .trained_model_export_job import TrainedModelExportJob
    from .types import (
        DataChannel,
        IncrementalTrainingDataChannel,
        S3DataDistributionType,
        TrainingInputMode,
    )

_SOURCES = {
    "ENDPOINT_URL_CONTEXT_KEY": "._context",
    "AudienceExportJob": ".audience_export_job",
    "AudienceSize": ".audience_export_job",
    "AudienceGenerationJob": ".audience_generation_job",
    "AudienceGenerationJobBase": ".audience_generation_job",
    "IAudienceGenerationJob": ".audience_generation_job",
    "SeedAudience": ".audience_generation_job",
    "AudienceModel": ".audience_model",
    "AudienceModelBase": ".audience_model",
    "IAudienceModel": ".audience_model",
    "AudienceSizeConfig": ".configured_audience_model",
    "AudienceSizeType": ".configured_audience_model",
    "ConfiguredAudienceModel": ".configured_audience_model",
    "ConfiguredAudienceModelBase": ".configured_audience_model",
    "IConfiguredAudienceModel": ".configured_audience_model",
    "SharedAudienceMetrics": ".configured_audience_model",
    "TagOnCreatePolicy": ".configured_audience_model",
    "RemovalPolicyError": ".errors",
    "TrainedModelValidationError": ".errors",
    "ValidationError": ".errors",
    "HandlerLogs": ".handler_logs",
    "TrainedModelInferenceJob": ".inference_job",
    "TrainedModelInferenceJobBase": ".inference_job",
    "InstanceType": ".instance_type",
    "IMLConfiguration": ".ml_configuration",
    "MLConfiguration": ".ml_configuration",
    "IMLInputChannel": ".ml_input_channel",
    "MLInputChannel": ".ml_input_channel",
    "MLInputChannelBase": ".ml_input_channel",
    "MLInputChannelDataSource": ".ml_input_channel",
    "ResultFormat": ".ml_input_channel",
    "WorkerComputeType": ".ml_input_channel",
    "ITrainedModel": ".trained_model",
    "TrainedModel": ".trained_model",
    "TrainedModelBase": ".trained_model",
    "TrainedModelExportJob": ".trained_model_export_job",
    "DataChannel": ".types",
    "IncrementalTrainingDataChannel": ".types",
    "S3DataDistributionType": ".types",
    "TrainingInputMode": ".types",
}
"""The module each name of ``__all__`` comes from: a name loads its own module only
(an app of trained models never imports the channel's, the job's or the audiences')."""

__version__ = "0.2.0"
"""The package's version: the one place it is written (pyproject.toml reads it)."""

__all__ = [
    "ENDPOINT_URL_CONTEXT_KEY",
    "AudienceExportJob",
    "AudienceGenerationJob",
    "AudienceGenerationJobBase",
    "AudienceModel",
    "AudienceModelBase",
    "AudienceSize",
    "AudienceSizeConfig",
    "AudienceSizeType",
    "ConfiguredAudienceModel",
    "ConfiguredAudienceModelBase",
    "DataChannel",
    "HandlerLogs",
    "IAudienceGenerationJob",
    "IAudienceModel",
    "IConfiguredAudienceModel",
    "IMLConfiguration",
    "IMLInputChannel",
    "ITrainedModel",
    "IncrementalTrainingDataChannel",
    "InstanceType",
    "MLConfiguration",
    "MLInputChannel",
    "MLInputChannelBase",
    "MLInputChannelDataSource",
    "RemovalPolicyError",
    "ResultFormat",
    "S3DataDistributionType",
    "SeedAudience",
    "SharedAudienceMetrics",
    "TagOnCreatePolicy",
    "TrainedModel",
    "TrainedModelBase",
    "TrainedModelExportJob",
    "TrainedModelInferenceJob",
    "TrainedModelInferenceJobBase",
    "TrainedModelValidationError",
    "TrainingInputMode",
    "ValidationError",
    "WorkerComputeType",
    "__version__",
]

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """Import the public API on first use of one of its names (PEP 562)."""
        source = _SOURCES.get(name)
        if source is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source, __name__), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
