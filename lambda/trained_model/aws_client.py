"""The ``cleanroomsml`` client, independent of the runtime's bundled botocore.

The Lambda runtime's boto3 may predate Clean Rooms ML ``CreateTrainedModel``
(botocore 1.35.56) or incremental training and versions (1.39.1). The asset
ships the service model (``data/cleanroomsml/2023-09-06``, uncompressed JSON,
from botocore 1.44.5); ``AWS_DATA_PATH`` puts it ahead of botocore's own data,
so a plain ``boto3.client("cleanroomsml")`` uses it. Nothing is installed at
cold start. ``AWS_ENDPOINT_URL_CLEANROOMSML`` still points the client elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from mypy_boto3_cleanroomsml import CleanRoomsMLClient
else:
    CleanRoomsMLClient = Any

DATA_DIR: Final = Path(__file__).resolve().parent / "data"
MAX_ATTEMPTS: Final = 5


def use_shipped_service_model() -> None:
    """Put the shipped service model first on botocore's data path."""
    current = os.environ.get("AWS_DATA_PATH", "")
    paths = [p for p in current.split(os.pathsep) if p]
    if str(DATA_DIR) not in paths:
        os.environ["AWS_DATA_PATH"] = os.pathsep.join([str(DATA_DIR), *paths])


def make_client() -> CleanRoomsMLClient:
    """A ``cleanroomsml`` client with standard retries (throttling backs off)."""
    use_shipped_service_model()
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        user_agent_extra="cdk-cleanrooms-ml",
        connect_timeout=10,
        read_timeout=30,
    )
    return boto3.client("cleanroomsml", config=config)
