"""Every handler call, with all its retries, ends well inside its function's timeout.

Computed from the client's real configuration and the synthesized template: a
Lambda killed at its timeout is an error the framework retries like any other, but
a call cut off halfway (a create whose answer is lost) is what the bound prevents.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk.assertions import Template

import aws_client
import engine
import long_wait
from cdk_cleanrooms_ml import TrainedModel
from helpers import new_stack, valid_props


def _worst_call() -> float:
    config: Any = aws_client.make_client().meta.config
    return aws_client.worst_call_seconds(
        attempts=int(config.retries["total_max_attempts"]),
        connect=float(config.connect_timeout),
        read=float(config.read_timeout),
    )


def _timeouts() -> dict[str, int]:
    stack = new_stack()
    TrainedModel(stack, "Model", **valid_props(completion_timeout=Duration.hours(3)))
    functions = Template.from_stack(stack).find_resources("AWS::Lambda::Function")
    found: dict[str, int] = {}
    for resource in functions.values():
        properties: dict[str, Any] = resource["Properties"]
        if str(properties.get("Handler", "")).startswith("index."):
            found[properties["Handler"]] = int(properties["Timeout"])
    return found


def test_one_call_with_all_its_retries_takes_less_than_half_a_handler_function_timeout() -> None:
    worst = _worst_call()
    assert worst == aws_client.worst_call_seconds() == engine.types.WORST_CALL_SECONDS
    timeouts = _timeouts()
    assert set(timeouts) == {"index.on_event", "index.is_complete", "index.long_wait_poll"}
    for handler in ("index.on_event", "index.is_complete"):
        assert worst <= timeouts[handler] / 2, (handler, worst, timeouts[handler])
    # the waiter's step: one look, then one signal (a single PUT with its own timeout)
    step = worst + long_wait.SIGNAL_TIMEOUT_SECONDS
    assert step <= timeouts["index.long_wait_poll"] / 2, (step, timeouts)


def test_on_event_stops_retrying_while_one_more_call_still_fits() -> None:
    """Its budget ends a margin before the function's timeout (``index``)."""
    assert _timeouts()["index.on_event"] > engine.types.WORST_CALL_SECONDS
