"""The API reference builds from the docstrings without warnings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "build.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "warning:" not in run.stderr
    page = (tmp_path / "cdk_cleanrooms_ml.html").read_text()
    for name in (
        "TrainedModel",
        "ITrainedModel",
        "InstanceType",
        "DataChannel",
        "IncrementalTrainingDataChannel",
        "S3DataDistributionType",
        "TrainingInputMode",
        "TrainedModelValidationError",
        "from_trained_model_arn",
        "TrainedModelExportJob",
        "AudienceModel",
        "ConfiguredAudienceModel",
        "add_to_resource_policy",
        "AudienceGenerationJob",
        "SeedAudience",
        "AudienceExportJob",
        "AudienceSize",
    ):
        assert name in page
