"""Run the emulator: ``python -m cdk_cleanrooms_ml.local.emulator --port 4599``."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from .server import EmulatorServer
from .state import (
    ACCOUNT,
    BASE_ONLY,
    BASE_OUTPUT_DELETE,
    INCREMENTAL_TRAINING,
    NEW_ARN,
    REGION,
    Clock,
    Emulator,
    Timings,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cdk_cleanrooms_ml.local.emulator", description=__doc__
    )
    parser.add_argument("--port", type=int, default=4599, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--pending-seconds", type=float, default=1.0)
    parser.add_argument("--training-seconds", type=float, default=5.0)
    parser.add_argument("--transition-seconds", type=float, default=1.0)
    parser.add_argument(
        "--clock-scale", type=float, default=1.0, help="emulated seconds per second"
    )
    parser.add_argument(
        "--account", default=ACCOUNT, help=f"the account in every ARN (default {ACCOUNT})"
    )
    parser.add_argument(
        "--region",
        default=REGION,
        help=f"the region of a request whose signature and host name none (default {REGION})",
    )
    parser.add_argument(
        "--incremental-training",
        choices=INCREMENTAL_TRAINING,
        default=NEW_ARN,
        help=(
            "what CreateTrainedModel with an incremental training channel makes (ASSUMPTION "
            "A2): a new trained model with a new ARN (new-arn, the default), or a new "
            "version of the base model's ARN (shared-arn)"
        ),
    )
    parser.add_argument(
        "--base-output-delete",
        choices=BASE_OUTPUT_DELETE,
        default=BASE_ONLY,
        help=(
            "shared-arn: what DeleteTrainedModelOutput without a version (the base "
            "version) does to the ARN's other versions: nothing (base-only, the default), "
            "delete them too (all-versions), or refuse while one is live (refused)"
        ),
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    emulator = Emulator(
        timings=Timings(args.pending_seconds, args.training_seconds, args.transition_seconds),
        clock=Clock(scale=args.clock_scale),
        region=args.region,
        account=args.account,
        incremental_training=args.incremental_training,
        base_output_delete=args.base_output_delete,
    )
    server = EmulatorServer(emulator, args.port, verbose=args.verbose)
    print(f"cleanroomsml emulator listening on {server.endpoint_url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
