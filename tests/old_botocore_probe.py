"""Run by ``test_sdk_independence.py`` inside a virtualenv with an old botocore.

Proves that the handler works on a Lambda runtime whose bundled botocore
predates Clean Rooms ML trained models: first that this botocore alone does not
know the operations, then a create / poll over real HTTP to a local server.
Prints one JSON line with what it saw.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

ARN = (
    "arn:aws:cleanrooms-ml:us-east-1:111122223333:membership/"
    "0f3d2a1b-1234-4cde-8f00-0123456789ab/trained-model/model-1"
)
SEEN: list[tuple[str, str, dict[str, Any]]] = []


class Handler(BaseHTTPRequestHandler):
    def _reply(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        SEEN.append(("GET", self.path, {}))
        if self.path.endswith("/trained-models"):
            self._reply({"trainedModels": []})
        else:
            self._reply(
                {
                    "membershipIdentifier": "0f3d2a1b-1234-4cde-8f00-0123456789ab",
                    "collaborationIdentifier": "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
                    "trainedModelArn": ARN,
                    "name": "n",
                    "status": "ACTIVE",
                    "configuredModelAlgorithmAssociationArn": ARN,
                    "createTime": "2026-11-28T12:00:00Z",
                    "updateTime": "2026-11-28T12:00:00Z",
                    "dataChannels": [],
                }
            )

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        SEEN.append(("POST", self.path, body))
        self._reply(
            {"trainedModelArn": ARN, "versionIdentifier": "11111111-2222-4333-8444-555555555555"}
        )

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    import boto3
    import botocore

    bundled = boto3.Session().client("cleanroomsml", region_name="us-east-1")
    knows_alone = "CreateTrainedModel" in bundled.meta.service_model.operation_names
    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["AWS_ENDPOINT_URL_CLEANROOMSML"] = f"http://127.0.0.1:{server.server_port}"

    import index

    event = {
        "RequestType": "Create",
        "RequestId": "r-1",
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/S/1",
        "LogicalResourceId": "Model",
        "ResourceType": "Custom::CleanRoomsMLTrainedModel",
        "ResourceProperties": json.loads(sys.argv[1]),
    }
    result = index.on_event(event, None)
    poll = index.is_complete({**event, **result}, None)
    server.shutdown()
    print(
        json.dumps(
            {
                "botocore": botocore.__version__,
                "knows_create_trained_model_alone": knows_alone,
                "physical_id": poll["PhysicalResourceId"],
                "complete": poll["IsComplete"],
                "data": poll.get("Data"),
                "requests": [[m, p] for m, p, _ in SEEN],
                "create_body": next(b for m, _, b in SEEN if m == "POST"),
            }
        )
    )


if __name__ == "__main__":
    main()
