"""An operation the emulator does not implement looks to a client as an unknown
operation looks on a restJson1 service: ``UnknownOperationException``, HTTP 404, a
client error botocore does not retry, its message naming the operation. The README
lists exactly the operations the emulator implements."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError
from emulated import emulator_client, serve

from cdk_cleanrooms_ml.local.emulator import Emulator, EmulatorError, EmulatorServer
from cdk_cleanrooms_ml.local.emulator.shapes import service_model
from helpers import MEMBERSHIP

if TYPE_CHECKING:
    pass

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    yield from serve()


def _raw(server: EmulatorServer, method: str, path: str) -> tuple[int, str, str]:
    """Status, ``x-amzn-ErrorType`` and message of a bare request."""
    request = urllib.request.Request(
        f"{server.endpoint_url}{path}", data=b"{}" if method != "GET" else None, method=method
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, "", ""
    except urllib.error.HTTPError as error:
        body = json.loads(error.read() or b"{}")
        return error.code, error.headers.get("x-amzn-ErrorType", ""), body.get("message", "")


def test_an_operation_not_emulated_is_a_client_error_naming_it(server: EmulatorServer) -> None:
    client = emulator_client(server, attempts=3)
    with pytest.raises(ClientError) as raised:
        client.list_configured_model_algorithm_associations(membershipIdentifier=MEMBERSHIP)
    error = raised.value
    assert error.response["Error"]["Code"] == "UnknownOperationException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error.response["ResponseMetadata"]["RetryAttempts"] == 0  # not retried
    message = error.response["Error"]["Message"]
    assert message.startswith("ListConfiguredModelAlgorithmAssociations is not emulated")
    assert "ListConfiguredModelAlgorithmAssociations is not emulated" in str(error)
    assert "ListConfiguredModelAlgorithmAssociations" not in server.emulator.calls


def test_every_operation_of_the_model_is_emulated_or_answered_as_unknown(
    server: EmulatorServer,
) -> None:
    """Each route of an operation the emulator lacks, whatever its parameters, is
    answered before any validation; ``Emulator.call`` refuses it in the same words."""
    refused = 0
    for name in service_model().operation_names:
        if name in Emulator.operations():
            continue
        http = service_model().operation_model(name).http
        path = re.sub(r"\{[^}]+\}", "x", http["requestUri"].split("?")[0])
        status, code, message = _raw(server, http["method"], path)
        assert (status, code) == (404, "UnknownOperationException"), (name, path, message)
        assert message.startswith(f"{name} is not emulated"), (name, message)
        refused += 1
    assert refused == len(service_model().operation_names) - len(Emulator.operations()) > 15
    with pytest.raises(EmulatorError, match="CreateTrainingDataset is not emulated") as raised:
        Emulator().call("CreateTrainingDataset", {})
    assert raised.value.code == "UnknownOperationException"


def test_a_request_no_operation_routes_is_an_unknown_operation(server: EmulatorServer) -> None:
    status, code, message = _raw(server, "GET", "/no/such/thing")
    assert (status, code) == (404, "UnknownOperationException")
    assert message == "no operation of the cleanroomsml API is GET /no/such/thing"


def _readme_operations() -> set[str]:
    text = README.read_text()
    section = text[text.index("**Emulated operations.**") :]
    table = section[: section.index("\n\n", section.index("| resource |"))]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    return {name for row in rows for name in re.findall(r"`([A-Za-z]+)`", row)}


def test_the_readme_lists_exactly_the_emulated_operations() -> None:
    assert _readme_operations() == Emulator.operations()
    assert Emulator.operations() <= set(service_model().operation_names)
