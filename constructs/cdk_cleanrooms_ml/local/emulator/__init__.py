"""A local Clean Rooms ML emulator that speaks the real ``rest-json`` protocol.

Routing, request validation and response shapes come from botocore's own
service model (``cleanroomsml`` 2023-09-06), so an unmodified
``boto3.client("cleanroomsml", endpoint_url=...)`` works against it. Every
behaviour the service model does not state is an ASSUMPTION, written down in
``cdk_cleanrooms_ml/local/ASSUMPTIONS.md``.

    python -m cdk_cleanrooms_ml.local.emulator --port 4599 --training-seconds 20

Each request is served in its client's region (``--region`` when it names none),
its ARNs with the account ``--account`` (both default to the local cloud's).
"""

from __future__ import annotations

from .server import EmulatorServer, start_server
from .state import Clock, Emulator, EmulatorError, Readings, Timings

__all__ = [
    "Clock",
    "Emulator",
    "EmulatorError",
    "EmulatorServer",
    "Readings",
    "Timings",
    "start_server",
]
