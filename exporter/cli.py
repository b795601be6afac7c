"""aiops-exporter: command line."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from aiops_common.durations import parse_duration

from . import __version__
from .config import ConfigError, load_config
from .logs.formats import PRESETS

log = logging.getLogger("exporter")

DEFAULT_LISTEN = "0.0.0.0:9875"
DEFAULT_LOGS_LISTEN = "0.0.0.0:9877"


def parse_time(text: str, now: float | None = None) -> float:
    """Unix seconds, RFC 3339 (2026-11-20T10:00:00Z), 'now' or 'now-1d'."""
    now = time.time() if now is None else now
    text = text.strip()
    if text == "now":
        return now
    if text.startswith("now-"):
        return now - parse_duration(text[4:])
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected unix seconds, RFC 3339, 'now' or 'now-<duration>'") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiops-exporter",
        description="Reads series from Prometheus, learns their normal behaviour and publishes forecast bands, "
                    "forecasts and anomaly scores on /metrics. Without a subcommand it runs the exporter.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config.file", dest="config_file", help="YAML configuration (see docs/exporter.md)")
    parser.add_argument("--web.listen-address", dest="listen",
                        help=f"address for /metrics, /healthz, /readyz (default {DEFAULT_LISTEN}; "
                             f"{DEFAULT_LOGS_LISTEN} for `logs`)")
    parser.add_argument("--log.level", dest="log_level", default="info",
                        choices=["debug", "info", "warning", "error"], help="log verbosity (default info)")
    parser.add_argument("--shard.index", dest="shard_index", type=int,
                        help="this replica's shard (overrides exporter.shard.index)")
    parser.add_argument("--shard.count", dest="shard_count", type=int,
                        help="number of shards (overrides exporter.shard.count)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", help="run the exporter (the default)")

    check = sub.add_parser("check-config", help="validate a configuration file and exit")
    check.add_argument("file", type=Path)
    check.add_argument("--probe", action="store_true",
                       help="also read each query once from the configured Prometheus and print series found, grid "
                            "coverage, the newest samples' age and a verdict (exit 1 unless every verdict is OK)")

    score = sub.add_parser("score-csv", help="score timestamp,value CSV files causally, as the exporter would")
    score.add_argument("inputs", nargs="+", type=Path, metavar="INPUT.csv")
    score.add_argument("--output-dir", required=True, type=Path, help="where DIR/<input name> is written")
    score.add_argument("--model", help="model name (default: the query's model, else seasonal)")
    score.add_argument("--query", help="query in --config.file whose settings to use (default: the first)")
    score.add_argument("--strict", action="store_true",
                       help="refuse a file with a timestamp that goes back or does not parse (default: such a row "
                            "is scored as the next sample in file order, with a warning)")

    back = sub.add_parser("backtest", help="replay a query's history from Prometheus and report")
    back.add_argument("--query", required=True, help="name of the query in --config.file")
    back.add_argument("--from", dest="start", required=True, type=parse_time, help="start (RFC 3339, unix, now-7d)")
    back.add_argument("--to", dest="end", default="now", type=parse_time, help="end (default now)")
    back.add_argument("--output", type=Path, default=Path("backtest.png"), help="PNG of actual vs band")
    logs = sub.add_parser("logs", help="follow log files or stdin, mine message templates, export their counts",
                          description="Follows the `logs.sources` of --config.file (see docs/logs.md) and serves "
                                      "aiops_log_* series on /metrics.")
    logs_sub = logs.add_subparsers(dest="logs_command", metavar="LOGS_COMMAND")
    templates = logs_sub.add_parser(
        "templates", help="print each line's template (or a summary), through the live miner",
        description="Runs the live miner (line format, records, masking, Drain, template cap) over FILEs, with the "
                    "`logs:` settings of --config.file or the defaults, and prints each input line's template_id and "
                    "template; --summary prints the templates with their counts and levels instead. Check a format "
                    "here before deploying it.")
    templates.add_argument("files", nargs="+", type=Path, metavar="FILE")
    templates.add_argument("--format", dest="line_format",
                           help=f"a preset ({', '.join(sorted(PRESETS))}), a wrapper and a format (cri+log4j), CSV "
                                "columns (csv:MESSAGE[:LEVEL], counted from 1: csv:14:12 for PostgreSQL's csvlog), two "
                                "layouts in one file (access|nginx_error: a line read by the first, else the second), or "
                                "a pattern such as '<Date> <Time> <Level> <Component>: <Content>' (default: the "
                                "source's configured format, else detected from the first lines)")
    templates.add_argument("--source", help="the logs.sources entry of --config.file whose settings to use "
                                            "(default: the first)")
    templates.add_argument("--summary", action="store_true", help="templates with counts and levels, most frequent first")
    for command in (sub.choices["run"], score, back, logs, templates):  # also accepted after the subcommand
        command.add_argument("--config.file", dest="config_file", default=argparse.SUPPRESS,
                             help="YAML configuration (see docs/exporter.md)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "check-config":
            return check_config(args.file, args.probe)
        if args.command == "score-csv":
            return run_score_csv(args)
        if args.command == "backtest":
            return run_backtest(args)
        if args.command == "logs" and getattr(args, "logs_command", None) == "templates":
            return run_log_templates(args)
        if args.command == "logs":
            return run_logs(args)
        return run_exporter(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:  # installed without the extra
        print(f"error: {err.name} is not installed; the exporter needs pip install 'aiops-prometheus[exporter]'",
              file=sys.stderr)
        return 2


def check_config(path: Path, probe: bool = False) -> int:
    from .models import make_model

    cfg = load_config(path)
    print(f"{path}: OK ({len(cfg.queries)} queries: {', '.join(q.name + '/' + q.model for q in cfg.queries)})")
    for query in cfg.queries:
        for sentence in make_model(query.model, query.params).unusable(query.history):
            print(f"note: query {query.name}: {sentence}")
    if probe:
        from .probe import run_probe

        print(f"probing {cfg.prometheus.url}", flush=True)
        return run_probe(cfg, sys.stdout)
    return 0


def _require_config(args) -> Path:
    if not args.config_file:
        raise ConfigError("--config.file is required for this command")
    return Path(args.config_file)


def run_score_csv(args) -> int:
    from .backtest import score_csv

    query = None
    if args.config_file:
        cfg = load_config(args.config_file)
        query = cfg.query(args.query) if args.query else cfg.queries[0]
    for path in args.inputs:
        if not path.is_file():
            print(f"error: {path}: no such file", file=sys.stderr)
            return 2
    try:
        written = score_csv(args.inputs, args.output_dir, query, args.model, args.strict)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} file(s) to {args.output_dir}")
    return 0


def run_backtest(args) -> int:
    import numpy as np

    from .backtest import plot, replay, summarize
    from .source import PrometheusSource, SourceError

    cfg = load_config(_require_config(args))
    try:
        query = cfg.query(args.query)
    except KeyError as err:
        raise ConfigError(err.args[0]) from None
    source = PrometheusSource(cfg.prometheus)
    begin = args.start - query.history
    print(f"fetching {query.name} from {datetime.fromtimestamp(begin, UTC):%Y-%m-%d %H:%M} "
          f"to {datetime.fromtimestamp(args.end, UTC):%Y-%m-%d %H:%M} at {query.step:g}s ...", flush=True)
    try:
        batch = source.query_range(query.expr, begin, args.end, query.step)
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    start_index = int(np.searchsorted(batch.times, args.start))
    print(f"{len(batch.labels)} series, replaying {len(batch.times) - start_index} steps", flush=True)
    result = replay(batch, query, start_index)
    rows = summarize(result)
    print(f"{'series':<70} {'scored':>7} {'>1':>6} {'max':>8} {'coverage':>9}")
    for row in sorted(rows, key=lambda r: -r["anomalies"]):
        print(f"{row['series'][:70]:<70} {row['scored']:>7} {row['anomalies']:>6} {row['max_score']:>8.2f} "
              f"{row['coverage']:>9.3f}")
    if rows:
        plot(result, start_index, args.output)
        print(f"wrote {args.output}")
    return 0


def with_shard_flags(cfg, args):
    """Apply --shard.index/--shard.count on top of the file, validated like the file."""
    if args.shard_index is None and args.shard_count is None:
        return cfg
    from .config import parse_config

    data = cfg.model_dump()
    shard = data["exporter"]["shard"]
    if args.shard_index is not None:
        shard["index"] = args.shard_index
    if args.shard_count is not None:
        shard["count"] = args.shard_count
    return parse_config(data, "--shard flags")


def run_exporter(args) -> int:
    from prometheus_client import CollectorRegistry

    from aiops_common.server import serve_until_signal

    from .collector import ExporterCollector
    from .engine import Engine
    from .exposition import render_series_families
    from .selfmetrics import SelfMetrics
    from .server import create_server, make_app
    from .source import PrometheusSource

    cfg = with_shard_flags(load_config(_require_config(args)), args)
    stop = threading.Event()
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    verdicts = None
    if cfg.feedback is not None:
        from .verdicts import VerdictPoller

        verdicts = VerdictPoller(cfg.feedback, {q.name for q in cfg.queries}, metrics)
    engine = Engine(cfg, PrometheusSource(cfg.prometheus, sleep=stop.wait), metrics, stop_event=stop,
                    verdicts=verdicts)
    registry.register(ExporterCollector(engine.snapshots))
    listen = args.listen or DEFAULT_LISTEN
    try:
        series_families = lambda names: render_series_families(list(engine.snapshots.values()), names)  # noqa: E731
        server = create_server(make_app(registry, engine.ready, series_families), listen)
    except (OSError, ValueError) as err:
        print(f"error: cannot listen on {listen}: {err}", file=sys.stderr)
        return 1

    loop = threading.Thread(target=engine.run_forever, name="refresh-loop", daemon=True)
    loop.start()
    log.info("aiops-exporter %s: %d queries, listening on %s", __version__, len(cfg.queries), listen)
    serve_until_signal(server, stop, log)
    engine.stop()
    loop.join(timeout=10)
    return 0


def run_log_templates(args) -> int:
    from .logs.config import LogsConfig, load_logs_config
    from .logs.formats import resolve
    from .logs.offline import iter_lines, mine_lines, print_result, with_progress

    logs = load_logs_config(args.config_file) if getattr(args, "config_file", None) else None
    if logs is not None and args.source:
        chosen = [s for s in logs.sources if s.name == args.source]
        if not chosen:
            raise ConfigError(f"--source {args.source}: no such logs.sources entry in {args.config_file}")
        logs = LogsConfig.model_validate({**logs.model_dump(), "sources": [chosen[0].model_dump()]})
    if args.line_format:
        try:
            resolve(args.line_format)
        except ValueError as err:
            raise ConfigError(f"--format: {err}") from None
    max_line = logs.max_line_length if logs is not None else LogsConfig.model_fields["max_line_length"].default
    for path in args.files:
        try:
            handle = path.open("rb")
        except OSError as err:
            print(f"error: {path}: {err}", file=sys.stderr)
            return 1
        with handle:
            result = mine_lines(with_progress(iter_lines(handle, max_line), str(path)), logs, args.line_format,
                                name=path.name)
        if len(args.files) > 1:
            print(f"==> {path} <==")
        print_result(result, args.summary, sys.stdout)
        log.info("%s: format %s (%s), %d records, %d templates, %d lines not parsed by the format", path,
                 result.format, result.detection or "configured", result.records, len(result.templates),
                 result.unparsed)
    return 0


def run_logs(args) -> int:
    from prometheus_client import CollectorRegistry

    from aiops_common.server import serve_until_signal

    from .logs.config import load_logs_config
    from .logs.service import LogCollector, LogFollower
    from .server import create_server, make_app

    cfg = load_logs_config(_require_config(args))
    follower = LogFollower(cfg)
    registry = CollectorRegistry()
    registry.register(LogCollector(follower))
    listen = args.listen or DEFAULT_LOGS_LISTEN
    try:
        server = create_server(make_app(registry, follower.ready), listen)
    except (OSError, ValueError) as err:
        print(f"error: cannot listen on {listen}: {err}", file=sys.stderr)
        return 1
    stop = threading.Event()
    loop = threading.Thread(target=follower.run, args=(sys.stdin,), name="log-follower", daemon=True)
    loop.start()
    log.info("aiops-exporter logs %s: %d sources (%s), listening on %s", __version__, len(cfg.sources),
             ", ".join(s.name for s in cfg.sources), listen)
    serve_until_signal(server, stop, log)
    follower.stop()
    loop.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
