"""The context keys the constructs read (no CDK import: the local cloud's command passes
the local-mode ones)."""

from __future__ import annotations

from typing import Final

ENDPOINT_URL_CONTEXT_KEY: Final = "cdk-cleanrooms-ml:cleanroomsmlEndpointUrl"
"""Context key of the local-mode switch: when set, the handler's Lambda functions
get ``AWS_ENDPOINT_URL_CLEANROOMSML`` with this value (for a local emulator).
Never set it for a real account."""
LONG_WAIT_POLL_SECONDS_CONTEXT_KEY: Final = "cdk-cleanrooms-ml:longWaitPollSeconds"
"""Context key (local mode): a fixed poll interval for the long path's waiter."""

QUERY_INTERVAL_SECONDS_CONTEXT_KEY: Final = "cdk-cleanrooms-ml:queryIntervalSeconds"
"""Context key (local mode): the Provider framework's poll interval in whole seconds
(1-600) instead of ``QUERY_INTERVAL``, so a local deploy does not wait 10 s a poll."""
