"""Decisions through a sidecar restart: a steady client loop while the sidecar stops and starts.

    .venv/bin/python bench/sdk_restart.py [--seconds 10] [--restarts 3] [--down 0.3]

A real sidecar (in-process, the embedded default bundle) serves a loop of ``Client.authorize``
calls for ``--seconds``; meanwhile it is stopped (with its drain grace) and started again on the
same port ``--restarts`` times, with ``--down`` seconds of nothing listening each time. Prints the
calls made, how many were not allowed (failed or fail-closed), and the slowest call. Issue 12's
target: zero failed calls with retries on (``--no-retry`` shows the difference).
"""

from __future__ import annotations

import argparse
import threading
import time

import iamgate_client as sdk
from iamgate.service import BundleSettings, ManagedBundles, ServiceConfig, start_sidecar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--down", type=float, default=0.3, help="seconds with nothing listening")
    parser.add_argument("--grace", type=float, default=1.0, help="drain grace of each stop")
    parser.add_argument("--no-retry", action="store_true")
    args = parser.parse_args(argv)

    def start(address: str):
        return start_sidecar(
            ServiceConfig(address=address, metrics_address=None), ManagedBundles(BundleSettings())
        )

    sidecars = [start("127.0.0.1:0")]
    port = sidecars[0].port
    done = threading.Event()

    def restarts() -> None:
        pause = args.seconds / (args.restarts + 1)
        for _ in range(args.restarts):
            if done.wait(pause):
                return
            sidecars[-1].stop(args.grace)
            time.sleep(args.down)
            sidecars.append(start(f"127.0.0.1:{port}"))

    retry = sdk.NO_RETRY if args.no_retry else sdk.Retry()
    calls, not_allowed, slowest = 0, 0, 0.0
    reasons: dict[str, int] = {}
    thread = threading.Thread(target=restarts)
    with sdk.Client(f"127.0.0.1:{port}", retry=retry) as client:
        thread.start()
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            decision = client.authorize("sarah-developer", "ec2:StopInstances", "*")
            slowest = max(slowest, time.monotonic() - started)
            calls += 1
            if not decision.allowed:
                not_allowed += 1
                reason = decision.error.code if decision.error is not None else str(decision.outcome)
                reasons[reason] = reasons.get(reason, 0) + 1
    done.set()
    thread.join()
    sidecars[-1].stop(0)
    retries = "off" if args.no_retry else "on"
    print(
        f"{args.seconds:g} s, {args.restarts} restarts ({args.down:g} s down each), retries {retries}: "
        f"{calls} calls, {not_allowed} not allowed {reasons or ''}, slowest call {slowest * 1000:.0f} ms"
    )
    return 1 if not_allowed else 0


if __name__ == "__main__":
    raise SystemExit(main())
