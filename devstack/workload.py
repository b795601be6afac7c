"""A demo workload: seasonal CPU series per service, with an optional cascading fault.

The values continue the synthetic history (same function of time), so a
Prometheus backfilled with that history sees one unbroken series.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from .synthetic import Spec, seasonal_values

SERVICES = {  # service -> (base, depends on)
    "checkout": (45.0, ["payments", "cart"]),
    "payments": (35.0, ["payments-db"]),
    "cart": (30.0, []),
    "payments-db": (55.0, []),
}
LABELS = {"job": "demo", "instance": "workload"}


def specs() -> list[Spec]:
    return [Spec("demo_cpu_usage", {**LABELS, "service": name}, base=base, noise=1.5, weekly_amplitude=2.0, seed=i)
            for i, (name, (base, _)) in enumerate(SERVICES.items())]


def fault_offset(service: str, since_fault: float) -> float:
    """The database saturates first; its dependents follow a minute later."""
    if since_fault < 0:
        return 0.0
    if service == "payments-db":
        return min(40.0, 40.0 * since_fault / 30.0)
    if service in ("payments", "checkout") and since_fault > 60:
        return min(20.0, 20.0 * (since_fault - 60) / 30.0)
    return 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 in a container)")
    parser.add_argument("--fault-after", type=float, default=-1, help="seconds until the fault starts (<0: never)")
    args = parser.parse_args(argv)
    registry = CollectorRegistry()
    gauge = Gauge("demo_cpu_usage", "Demo CPU usage per service (percent).", ["instance", "service"],
                  registry=registry)
    start_http_server(args.port, addr=args.host, registry=registry)
    started = time.time()
    all_specs = specs()
    rng = np.random.default_rng()
    while True:
        now = time.time()
        for spec in all_specs:
            value = seasonal_values(spec, np.array([now]), rng)[0]
            if args.fault_after >= 0:
                value += fault_offset(spec.labels["service"], now - started - args.fault_after)
            gauge.labels(spec.labels["instance"], spec.labels["service"]).set(value)
        time.sleep(1)


if __name__ == "__main__":
    raise SystemExit(main())
