"""HTTP endpoints: /metrics, /healthz, /readyz (a WSGI app served by waitress)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest, gzip_accepted

from aiops_common.server import parse_listen_address

# gzip level 1: a 96 MB exposition (100k series) compresses in 0.36 s to 11.0 MB; level 9
# (gzip's default) takes 2.2 s for 9.7 MB.
GZIP_LEVEL = 1

# Families rendered outside the registry: (names wanted or None for all) -> text-format lines
BulkRenderer = Callable[[set | None], str]

INDEX = b"""<html><head><title>aiops exporter</title></head><body><h1>aiops exporter</h1>
<ul><li><a href="/metrics">/metrics</a></li><li><a href="/healthz">/healthz</a></li>
<li><a href="/readyz">/readyz</a></li></ul></body></html>"""


def metrics_app(registry: CollectorRegistry, bulk: BulkRenderer | None = None) -> Callable:
    """/metrics in the text format 0.0.4: the registry's families, then `bulk`'s.

    Honours `name[]` query parameters (only those families) and gzip, like
    prometheus_client's own app. Every scraper, Prometheus included, accepts
    this format, so OpenMetrics is not negotiated.
    """

    def app(environ, start_response):
        names = set(parse_qs(environ.get("QUERY_STRING", "")).get("name[]", [])) or None
        body = generate_latest(registry.restricted_registry(names) if names else registry)
        if bulk is not None:
            body += bulk(names).encode()
        headers = [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)]
        if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", "")):
            body = gzip.compress(body, compresslevel=GZIP_LEVEL)
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [body]

    return app


def make_app(registry: CollectorRegistry, ready: threading.Event, bulk: BulkRenderer | None = None) -> Callable:
    metrics = metrics_app(registry, bulk)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return metrics(environ, start_response)
        if path == "/healthz":
            return _plain(start_response, "200 OK", b"ok\n")
        if path == "/readyz":
            if ready.is_set():
                return _plain(start_response, "200 OK", b"ready\n")
            return _plain(start_response, "503 Service Unavailable", b"not ready: first refresh cycle still running\n")
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [INDEX]
        return _plain(start_response, "404 Not Found", b"not found\n")

    return app


def _plain(start_response, status: str, body: bytes):
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def create_server(app: Callable, address: str):
    from waitress import create_server as waitress_server

    host, port = parse_listen_address(address)
    return waitress_server(app, host=host, port=port, threads=4, ident="aiops-exporter")
