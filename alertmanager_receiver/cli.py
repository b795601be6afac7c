"""aiops-receiver: command line (served by waitress, a production WSGI server)."""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from . import __version__

log = logging.getLogger("alertmanager_receiver")
DEFAULT_LISTEN = "0.0.0.0:9876"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiops-receiver",
        description="Alertmanager webhook receiver: stores every alert durably, folds storms into incidents "
                    "and ranks their probable root cause and priority.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config.file", dest="config_file", required=True, help="YAML config (docs/receiver.md)")
    parser.add_argument("--web.listen-address", dest="listen", default=DEFAULT_LISTEN,
                        help=f"HOST:PORT to serve on (default {DEFAULT_LISTEN})")
    parser.add_argument("--web.probe-address", dest="probe_listen",
                        help="optional HOST:PORT serving only /healthz, /readyz and /metrics from threads of their "
                             "own, so probes answer even while a retry storm fills the webhook's queue")
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warning", "error"])
    return parser


def main(argv: list[str] | None = None) -> int:
    from aiops_common.config import ConfigError
    from aiops_common.server import parse_listen_address, serve_until_signal

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        from .app import create_app
        from .automation.worker import Worker
        from .config import load_receiver_config
        from .context import receiver_of
        from .maintenance import Maintenance
    except ModuleNotFoundError as err:  # installed without the extra
        print(f"error: {err.name} is not installed; the receiver needs pip install 'aiops-prometheus[receiver]'",
              file=sys.stderr)
        return 2
    try:
        config = load_receiver_config(args.config_file)
        host, port = parse_listen_address(args.listen)
        probe = parse_listen_address(args.probe_listen, "--web.probe-address") if args.probe_listen else None
    except (ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    app = create_app(config)
    from waitress import create_server

    server = create_server(app, host=host, port=port, threads=config.server.threads, ident="aiops-receiver",
                           max_request_body_size=config.server.max_body_bytes + 1,
                           connection_limit=config.server.connection_limit)
    probe_server = None
    if probe is not None:
        probe_server = create_server(probes_only(app), host=probe[0], port=probe[1], threads=2,
                                     ident="aiops-receiver-probes")
        threading.Thread(target=_serve_quietly, args=(probe_server,), name="probes", daemon=True).start()
        log.info("probes and /metrics also on %s", args.probe_listen)
    stop = threading.Event()
    parts = receiver_of(app)
    Maintenance(parts, stop).start()
    Worker(parts, stop).start()
    if parts.discovery is not None:
        threading.Thread(target=parts.discovery.run, args=(stop,), name="topology-discovery", daemon=True).start()
    if parts.evidence_worker is not None:
        threading.Thread(target=parts.evidence_worker.run, args=(stop,), name="metric-evidence", daemon=True).start()

    log.info("aiops-receiver %s listening on %s, storage %s, automation %s (%d rules)", __version__, args.listen,
             config.storage.url.split("@")[-1], config.automation.mode, len(config.automation.rules))
    serve_until_signal(server, stop, log)
    if probe_server is not None:
        probe_server.close()
    return 0


PROBE_PATHS = ("/healthz", "/readyz", "/metrics")


def probes_only(app):
    """The WSGI app restricted to the probe paths (anything else: 404)."""

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") in PROBE_PATHS:
            return app(environ, start_response)
        body = b'{"error":"Not Found","detail":"this port serves /healthz, /readyz and /metrics only"}'
        start_response("404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


def _serve_quietly(server) -> None:
    try:
        server.run()
    except (OSError, ValueError):
        pass  # closed on shutdown


if __name__ == "__main__":
    sys.exit(main())
