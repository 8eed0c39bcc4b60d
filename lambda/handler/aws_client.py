"""The handler's AWS clients, independent of the runtime's bundled botocore.

The Lambda runtime's boto3 may predate Clean Rooms ML ``CreateTrainedModel``
(botocore 1.35.56) or incremental training and versions (1.39.1). The asset
ships the service model (``data/cleanroomsml/2023-09-06``, uncompressed JSON);
``AWS_DATA_PATH`` puts it ahead of botocore's own data. Nothing is installed at
cold start. ``AWS_ENDPOINT_URL_CLEANROOMSML`` still points the client elsewhere.

Clients come from a botocore session directly (boto3 adds nothing the handler
uses, and importing it costs cold-start time). Timeouts and retries are set so
that one call, with every retry, ends well inside each function's timeout:
``worst_call_seconds()`` is that bound, and a test checks it against the
functions' timeouts in the synthesized template.
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
TOTAL_ATTEMPTS: Final = 4
"""Attempts per call, the first included (botocore's standard retry mode: throttling
backs off). botocore's ``max_attempts`` would count the retries only."""
CONNECT_TIMEOUT_SECONDS: Final = 5
READ_TIMEOUT_SECONDS: Final = 20
MAX_BACKOFF_SECONDS: Final = 20 + 5
"""botocore's standard mode waits at most 20 s between attempts, plus up to 5 s more
when the service sends ``x-amz-retry-after``."""


def worst_call_seconds(
    attempts: int = TOTAL_ATTEMPTS,
    connect: float = CONNECT_TIMEOUT_SECONDS,
    read: float = READ_TIMEOUT_SECONDS,
) -> float:
    """The longest one call can take: every attempt timing out, every backoff at its cap."""
    backoffs = sum(min(2.0**i, 20.0) + 5.0 for i in range(1, attempts))
    return float(attempts * (connect + read) + backoffs)


def use_shipped_service_model() -> None:
    """Put the shipped service model first on botocore's data path."""
    current = os.environ.get("AWS_DATA_PATH", "")
    paths = [p for p in current.split(os.pathsep) if p]
    if str(DATA_DIR) not in paths:
        os.environ["AWS_DATA_PATH"] = os.pathsep.join([str(DATA_DIR), *paths])


_session: Any = None


def make_client(service: str = "cleanroomsml") -> CleanRoomsMLClient:
    """A client with standard retries and bounded timeouts (one session per container)."""
    global _session
    use_shipped_service_model()
    import botocore.session
    from botocore.config import Config

    if _session is None:
        _session = botocore.session.get_session()

    config = Config(
        retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
        user_agent_extra="cdk-cleanrooms-ml",
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
    )
    client: CleanRoomsMLClient = _session.create_client(service, config=config)
    return client
