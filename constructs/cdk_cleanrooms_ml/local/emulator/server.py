"""The HTTP front of the emulator: rest-json over plain HTTP on 127.0.0.1.

Besides the API, ``/_emulator/*`` control routes let a test or the local
deploy script turn the emulator's knobs over HTTP:

- ``POST /_emulator/faults``
  ``{"operation": "GetTrainedModel", "code": "ThrottlingException", "count": 3}``
- ``POST /_emulator/fail-next-training`` ``{"message": "AlgorithmError: out of memory"}``
- ``POST /_emulator/timings``
  ``{"pending_seconds": 1, "training_seconds": 20, "transition_seconds": 1}``
- ``POST /_emulator/settings``
  ``{"incremental_training": "shared-arn", "base_output_delete": "all-versions"}``:
  the readings of incremental training it plays (ASSUMPTION A2); ``GET`` (or a body
  of ``{}``) answers the settings in force
- ``GET /_emulator/models``: every model version with its status
- ``GET /_emulator/resources``: every model, ML input channel, inference job, audience
  resource and export by kind, with its status (a deleted audience resource is gone),
  and every membership's ML configuration
- ``GET /_emulator/stats``: ``{"responses_checked": N}``, the responses (errors
  included) checked against the service model before they were sent
- ``GET /_emulator/health``

A request's region is its SigV4 credential scope's (else its endpoint host's, else
the emulator's default); ARNs carry it and the emulator's account.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from . import shapes
from .state import Emulator, EmulatorError, not_emulated

CREDENTIAL_SCOPE: Final = re.compile(
    r"Credential=[^/,\s]+/\d{8}/(?P<region>[a-z0-9-]+)/cleanrooms-ml/aws4_request"
)
"""The region in a SigV4 ``Authorization`` header's credential scope."""
REGIONAL_HOST: Final = re.compile(r"cleanrooms-ml(?:-fips)?\.(?P<region>[a-z0-9-]+)\.")
"""The region a regional endpoint's host names (``cleanrooms-ml.eu-west-1.amazonaws.com``)."""


def request_region(authorization: str, host: str, default: str) -> str:
    """The region a request is for: its signature's credential scope (its
    ``Authorization`` header), else the region its endpoint ``host`` names, else
    ``default``."""
    scope = CREDENTIAL_SCOPE.search(authorization)
    if scope:
        return scope.group("region")
    regional = REGIONAL_HOST.match(host.lower())
    return regional.group("region") if regional else default


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, code: str, message: str) -> None:
        wire = {"message": message}
        if code not in shapes.FRAMEWORK_ERRORS:
            broken = shapes.check_response(shapes.service_model().shape_for(code), wire)
            if broken:  # an emulator bug: never answer with a malformed error
                code, wire = "InternalServiceException", {"message": "; ".join(broken)}
        body = json.dumps(wire).encode()
        self._send(shapes.error_status(code), body, {"x-amzn-ErrorType": code})

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith("/_emulator/"):
            self._control(url.path, body)
            return
        found = shapes.match(self.command, url.path)
        if found is None:
            self._error(
                "UnknownOperationException",
                f"no operation of the cleanroomsml API is {self.command} {url.path}",
            )
            return
        operation, labels = found
        emulator = self.server.emulator
        if operation.name not in emulator.operations():
            self._error("UnknownOperationException", not_emulated(operation.name))
            return
        try:
            params = shapes.parse_request(
                operation, labels, parse_qs(url.query, keep_blank_values=True), body
            )
        except ValueError as error:
            self._error("ValidationException", str(error))
            return
        problems = shapes.validate(operation.input_shape, params) if operation.input_shape else []
        if problems:
            self._error("ValidationException", "; ".join(problems))
            return
        region = request_region(
            self.headers.get("Authorization") or "", self.headers.get("Host") or "", emulator.region
        )
        try:
            output = emulator.call(operation.name, params, region=region)
        except EmulatorError as error:
            self._error(error.code, error.message)
            return
        wire = shapes.to_wire(operation.output_shape, output)
        if operation.output_shape is not None:
            broken = shapes.check_response(operation.output_shape, wire)
            if broken:  # an emulator bug: never answer with a malformed response
                self._error(
                    "InternalServiceException", "emulator response invalid: " + "; ".join(broken)
                )
                return
        self._send(200, json.dumps(wire).encode())

    def _control(self, path: str, body: bytes) -> None:
        emulator = self.server.emulator
        data = json.loads(body) if body else {}
        if path == "/_emulator/health":
            self._send(200, b'{"status":"ok"}')
        elif path == "/_emulator/stats":
            self._send(200, json.dumps({"responses_checked": shapes.CHECKED.count}).encode())
        elif path == "/_emulator/models":
            self._send(200, json.dumps(emulator.snapshot()).encode())
        elif path == "/_emulator/resources":
            self._send(200, json.dumps(emulator.resources(), default=str).encode())
        elif path == "/_emulator/faults":
            emulator.inject_fault(
                data["operation"], data["code"], int(data.get("count", 1)), data.get("message", "")
            )
            self._send(200, b"{}")
        elif path == "/_emulator/fail-next-training":
            emulator.fail_next_training(data.get("message", "AlgorithmError: training failed"))
            self._send(200, b"{}")
        elif path == "/_emulator/timings":
            for key, value in data.items():
                setattr(emulator.timings, key, float(value))
            self._send(200, b"{}")
        elif path == "/_emulator/settings":
            try:
                emulator.configure(**data)
            except (TypeError, ValueError) as error:
                self._send(400, json.dumps({"message": str(error)}).encode())
                return
            self._send(200, json.dumps(emulator.settings()).encode())
        else:
            self._send(404, b'{"message":"unknown control route"}')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815


class EmulatorServer(ThreadingHTTPServer):
    """A threaded HTTP server bound to 127.0.0.1 around one ``Emulator``."""

    daemon_threads = True

    def __init__(self, emulator: Emulator, port: int = 0, verbose: bool = False) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.emulator = emulator
        self.verbose = verbose
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def start_server(emulator: Emulator | None = None, port: int = 0) -> EmulatorServer:
    """Start an emulator server in a background thread; ``stop()`` it when done."""
    return EmulatorServer(emulator or Emulator(), port).start()
