"""Serving a WSGI app with waitress until SIGTERM or SIGINT, and listen-address parsing."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Protocol


class Server(Protocol):
    def run(self) -> None: ...

    def close(self) -> None: ...


def parse_listen_address(address: str, flag: str = "--web.listen-address") -> tuple[str, int]:
    """HOST:PORT (or [v6]:PORT, or :PORT for every address) -> (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"{flag} {address!r}: expected HOST:PORT, e.g. 0.0.0.0:9875")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def serve_until_signal(server: Server, stop: threading.Event, log: logging.Logger) -> None:
    """Run a waitress server until SIGTERM or SIGINT; then set `stop` for the background work."""

    def shutdown(signum, _frame):
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()
        server.close()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    try:
        server.run()
    except (OSError, ValueError):
        pass  # the socket closes under run() on shutdown
    stop.set()
