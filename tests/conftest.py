"""Shared fixtures: valid props, a synth helper, and a stubbed cleanroomsml client."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
# Never reach a real endpoint from a test, whatever the machine's config says.
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from aws_client import make_client
from helpers import StubbedClient


@pytest.fixture
def stubbed() -> Iterator[StubbedClient]:
    """A real cleanroomsml client whose calls are checked against the service model.

    Every test that uses it ends with ``assert_no_pending_responses()``.
    """
    client = make_client()
    stubber = Stubber(client)
    with stubber:
        yield StubbedClient(client, stubber)
        stubber.assert_no_pending_responses()
