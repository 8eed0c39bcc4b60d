"""What every benchmark app shares: placeholder ids, N, one model's request (stdlib only).

Each app reads the number of models from its first argument (default 1) and writes
the cloud assembly to ``CDK_OUTDIR`` (as ``cdk synth`` sets it).
"""

from __future__ import annotations

import sys
from typing import Any, Final

ACCOUNT: Final = "111122223333"
REGION: Final = "us-east-1"
MEMBERSHIP: Final = "0f3d2a1b-1234-4cde-8f00-0123456789ab"
PREFIX: Final = f"arn:aws:cleanrooms-ml:{REGION}:{ACCOUNT}:membership/{MEMBERSHIP}"
ASSOCIATION: Final = f"{PREFIX}/configured-model-algorithm-association/assoc"
CHANNEL: Final = f"{PREFIX}/ml-input-channel/channel"
STACK: Final = "Bench"


def models() -> int:
    """N, the number of models, from the command line."""
    return int(sys.argv[1]) if len(sys.argv) > 1 else 1


def handler_properties(i: int) -> dict[str, Any]:
    """Model ``i``'s properties as ``TrainedModel`` renders them (the handler's contract)."""
    return {
        "MembershipIdentifier": MEMBERSHIP,
        "Name": f"model-{i}",
        "ConfiguredModelAlgorithmAssociationArn": ASSOCIATION,
        "Hyperparameters": {"epochs": "10"},
        "InstanceType": "ml.m5.xlarge",
        "VolumeSizeInGB": 50,
        "DataChannels": [{"MlInputChannelArn": CHANNEL, "ChannelName": "train"}],
    }


def sdk_request(i: int) -> dict[str, Any]:
    """Model ``i``'s ``CreateTrainedModel`` request (the AwsCustomResource peer's)."""
    return {
        "membershipIdentifier": MEMBERSHIP,
        "name": f"model-{i}",
        "configuredModelAlgorithmAssociationArn": ASSOCIATION,
        "hyperparameters": {"epochs": "10"},
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "volumeSizeInGB": 50},
        "dataChannels": [{"mlInputChannelArn": CHANNEL, "channelName": "train"}],
    }
