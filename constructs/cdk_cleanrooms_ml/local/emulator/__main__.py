"""Run the emulator: ``python -m cdk_cleanrooms_ml.local.emulator --port 4599``."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from .server import EmulatorServer
from .state import ACCOUNT, REGION, Clock, Emulator, Timings


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
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    emulator = Emulator(
        timings=Timings(args.pending_seconds, args.training_seconds, args.transition_seconds),
        clock=Clock(scale=args.clock_scale),
        region=args.region,
        account=args.account,
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
