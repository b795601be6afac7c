"""Realistic Tomcat catalina.out text: routine lines, and on demand a burst of stack traces.

`python -m devstack.tomcatlog --output catalina.out --rate 20 --burst-after 60` appends lines
as a running Tomcat would; tests call `routine_lines` and `stack_trace` directly.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime

THREADS = [f"http-nio-8080-exec-{i}" for i in range(1, 11)]
PATHS = ["/api/orders", "/api/cart", "/api/users/{}", "/health", "/api/payments/{}/capture"]


def stamp(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%d-%b-%Y %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def routine_lines(rng: random.Random, ts: float) -> list[str]:
    """One routine catalina.out record (a single line)."""
    thread = rng.choice(THREADS)
    kind = rng.random()
    if kind < 0.55:
        path = rng.choice(PATHS).format(rng.randint(1000, 99999))
        return [f"{stamp(ts)} INFO [{thread}] com.example.web.RequestLogger.log Completed {path} "
                f"in {rng.randint(2, 400)} ms with status 200"]
    if kind < 0.8:
        return [f"{stamp(ts)} INFO [{thread}] com.example.orders.OrderService.create Order {rng.randint(10**6, 10**7)} "
                f"created for customer {rng.randint(100, 9999)}"]
    if kind < 0.93:
        return [f"{stamp(ts)} INFO [Catalina-utility-{rng.randint(1, 2)}] org.apache.catalina.session.ManagerBase."
                f"backgroundProcess Expired {rng.randint(0, 40)} sessions in {rng.randint(1, 30)} ms"]
    if kind < 0.98:
        return [f"{stamp(ts)} WARNING [{thread}] com.zaxxer.hikari.pool.HikariPool.getConnection HikariPool-1 - "
                f"Connection is slow: waited {rng.randint(200, 900)} ms"]
    return [f"{stamp(ts)} INFO [main] org.apache.catalina.startup.HostConfig.deployWAR Deployment of web application "
            f"archive [/usr/local/tomcat/webapps/ROOT.war] has finished in [{rng.randint(800, 4000)}] ms"]


def stack_trace(rng: random.Random, ts: float) -> list[str]:
    """A SEVERE servlet exception with its stack trace (one record of many lines)."""
    thread = rng.choice(THREADS)
    order = rng.randint(10**6, 10**7)
    return [
        f"{stamp(ts)} SEVERE [{thread}] org.apache.catalina.core.StandardWrapperValve.invoke Servlet.service() for "
        f"servlet [dispatcher] in context with path [] threw exception [Request processing failed: "
        f"org.springframework.dao.DataAccessResourceFailureException: Unable to acquire JDBC Connection for order "
        f"{order}] with root cause",
        "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out "
        f"after {rng.randint(30000, 30100)}ms.",
        "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
        "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:181)",
        "\tat com.example.orders.OrderRepository.save(OrderRepository.java:88)",
        "\tat com.example.orders.OrderService.create(OrderService.java:42)",
        "\tat java.base/java.lang.Thread.run(Thread.java:840)",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Append Tomcat-like log lines to a file.")
    parser.add_argument("--output", required=True)
    parser.add_argument("--rate", type=float, default=20.0, help="routine records per second")
    parser.add_argument("--burst-after", type=float, default=None, help="seconds until stack traces start")
    parser.add_argument("--burst-rate", type=float, default=10.0, help="stack traces per second in the burst")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    began = time.time()
    with open(args.output, "a", buffering=1) as out:
        while True:
            now = time.time()
            for _ in range(max(1, round(args.rate / 10))):
                out.write("\n".join(routine_lines(rng, now)) + "\n")
            if args.burst_after is not None and now - began >= args.burst_after:
                for _ in range(max(1, round(args.burst_rate / 10))):
                    out.write("\n".join(stack_trace(rng, now)) + "\n")
            time.sleep(0.1)


if __name__ == "__main__":
    raise SystemExit(main())
