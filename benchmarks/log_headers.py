"""Line-format detection on header layouts nobody declared: real messages behind common headers.

    .venv/bin/python -m benchmarks.log_headers [--data DIR] [--layouts a,b] [--output FILE]

Loghub's benchmark (benchmarks/loghub.py) grades the miner on each system's own header, one
layout per system. This one asks how detection copes with layouts it was not shown: it takes the
labelled messages of every system in DIR (Loghub's 2k layout: the `Content` and `EventId`
columns of <Sys>/<Sys>_2k.log_structured.csv; default ../shared/loghub), writes each of them
behind each of LAYOUTS (common headers of syslog daemons, Log4j/Logback/Monolog/loguru layouts,
epoch stamps, level-first layouts, PHP-FPM, pino-pretty, Heroku, logcat, dmesg, Jupyter, Odoo, Zabbix, Kafka,
Cassandra, Celery, Airflow, MySQL 8, Elasticsearch...) or inside each of RECORDS (a CSV column: PostgreSQL's
csvlog, a CSV library's rows), and mines the lines with no format given, exactly as
`aiops-exporter logs templates` does. A message keeps its level and logger on every line (a
template is logged at one level, from one place); host, pid, thread and time vary.

For every layout and system it prints the Grouping Accuracy of auto-detection next to two
figures from the same run: the messages mined alone (the ceiling: what a perfect header cut
gives) and the whole lines mined with no header parsing (the baseline). Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import zlib
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmarks.loghub import DEFAULT_DIR, grouping_accuracy

HOSTS = [f"node-{n}" for n in range(1, 9)]
THREADS = ["main", "pool-1-thread-3", "worker-12", "http-nio-8080-exec-4"]
LOGGERS = ["org.example.Service", "com.shop.Orders", "io.net.Client", "app.jobs.Runner"]
PROGRAMS = ["app", "backupd", "cron", "api-server"]
LEVELS = ["INFO"] * 6 + ["WARN", "ERROR", "DEBUG"]
ONE_HOST, ONE_PROGRAM, ONE_DATABASE = "shopfront", "billing", "shopdb"  # one host, program or database: a plain word
DYNOS = ["web", "worker", "clock"]  # process types of one Heroku app (app[web.1]:, app[worker.2]:)
MYSQL_LEVELS = {"INFO": "Note", "WARN": "Warning", "ERROR": "ERROR", "DEBUG": "Note"}


class Line:
    """What a layout may write for one line: its time (seconds), a message's fixed level and logger, random rest."""

    def __init__(self, seconds: int, event: str, rng: random.Random):
        stable = random.Random(zlib.crc32(event.encode()))  # the same for every line of a template
        self.level, self.logger, self.program = stable.choice(LEVELS), stable.choice(LOGGERS), stable.choice(PROGRAMS)
        self.host, self.thread = rng.choice(HOSTS), rng.choice(THREADS)
        self.pid, self.line_no = rng.randint(100, 32000), rng.randint(10, 900)
        self.s = seconds

    @property
    def hms(self) -> str:
        return f"{self.s // 3600 % 24:02d}:{self.s // 60 % 60:02d}:{self.s % 60:02d}"

    @property
    def ms(self) -> str:
        return f"{self.s * 37 % 1000:03d}"

    @property
    def date(self) -> str:
        return f"2026-10-{11 + self.s // 86400 % 9:02d}"


LAYOUTS: dict[str, Callable[[Line], str]] = {
    "syslog-rfc3339": lambda x: f"{x.date}T{x.hms}.{x.ms}+02:00 {x.host} {x.program}[{x.pid}]: ",
    "syslog-priority": lambda x: f"<{13 + x.pid % 3}>Oct 11 {x.hms} {x.host} {x.program}[{x.pid}]: ",
    "epoch-host-program": lambda x: f"{1760184000 + x.s} {x.host} {x.program}: ",
    "epoch-level": lambda x: f"{1760184000 + x.s}.{x.ms} {x.level} ",
    "monolog": lambda x: f"[{x.date} {x.hms}] production.{x.level.replace('WARN', 'WARNING')}: ",
    "logback-time-only": lambda x: f"{x.hms}.{x.ms} [{x.thread}] {x.level:<5} {x.logger} - ",
    "letter-date-time": lambda x: f"{x.level[0]} {x.date} {x.hms} ",
    "bracket-level-first": lambda x: f"[{x.level}] {x.date} {x.hms} - ",
    "compact-date": lambda x: f"{x.date.replace('-', '')} {x.hms}.{x.ms} ",
    "date-host-level": lambda x: f"{x.date} {x.hms} {x.host} {x.level} ",
    "access-log-time": lambda x: f"[11/Oct/2026:{x.hms} +0000] ",
    "log4j-caller-dash": lambda x: (f"{x.date} {x.hms},{x.ms} {x.pid} [{x.thread}] {x.level} {x.logger} "
                                                   f"(Main.java:{x.line_no}) - "),
    "thread-slash-level": lambda x: f"[{x.hms}] [{x.thread}/{x.level}]: ",
    "dash-level-dash": lambda x: f"{x.date} {x.hms},{x.ms} - {x.level} - ",
    "loguru": lambda x: f"{x.date} {x.hms}.{x.ms} | {x.level:<8} | ",
    "iso-level-logger": lambda x: f"{x.date}T{x.hms}.{x.ms}Z {x.level} {x.logger}: ",
    "us-date-level": lambda x: f"10/11/2026 {x.hms} {x.level} ",
    "us-date-12h": lambda x: f"10/11/2026 {x.s // 3600 % 12 + 1}:{x.hms[3:]} PM {x.level} ",
    "thread-logger-level": lambda x: f"{x.date} {x.hms} [{x.thread}] [{x.logger}] {x.level} ",
    "bracketed-triple": lambda x: f"[{x.date} {x.hms}.{x.ms}] [{x.level}] [{x.logger}] ",
    "syslog-dmesg": lambda x: f"Oct 11 {x.hms} {x.host} kernel: [{x.s}.{x.pid:06d}] ",
    "fluentd": lambda x: f"{x.date} {x.hms} +0000 [{x.level.lower()}]: #0 ",
    "level-time-module-ids": lambda x: f"{x.level} {x.date} {x.hms},{x.ms} {x.logger.split('.')[-1]} {x.pid} {x.pid + 7} ",
    "logback-line": lambda x: f"{x.date} {x.hms}.{x.ms} [{x.thread}] {x.level:<5} {x.logger}:{x.line_no} - ",
    "time-level": lambda x: f"{x.hms} {x.level:<5} ",
    "syslog-angle-level": lambda x: f"Oct 11 {x.hms} {x.host} {x.program}[{x.pid}]: <{x.level.lower()}>  [{x.s}.{x.ms}] ",
    "postgres-user-db": lambda x: f"{x.date} {x.hms}.{x.ms} UTC [{x.pid}] app@shop {x.level.replace('INFO', 'LOG')}:  ",
    "iso-T-bracket-level": lambda x: f"{x.date}T{x.hms}.{x.ms}Z [{x.level}] ",
    "date-host": lambda x: f"{x.date} {x.hms} {x.host} ",
    "date-thread": lambda x: f"{x.date} {x.hms},{x.ms} [{x.thread}] ",
    "date-pid-program": lambda x: f"{x.date} {x.hms} {x.pid} {x.program} ",
    # Added 2026-12-05 (fourth session): headers of common servers and libraries the 31 above do not cover
    "pipe-fields": lambda x: f"{x.date.replace('-', '')}-{x.hms}:{x.ms}|{x.logger.split('.')[-1]}|{x.pid}|",
    "comma-padded-level": lambda x: f"{x.date} {x.hms}, {x.level.title():<21} {x.program:<6} ",
    "epoch-date-host-syslog": lambda x: (f"- {1760184000 + x.s} 2026.10.11 {x.host} Oct 11 {x.hms} {x.host}/{x.host} "
                                         f"{x.program}[{x.pid}]: "),
    "bracket-short-date-program": lambda x: f"[10.11 {x.hms}] {x.program}.exe - ",
    "log4j-dash-thread-caller": lambda x: (f"{x.date} {x.hms},{x.ms} - {x.level:<5} "
                                           f"[{x.thread}:{x.logger.split('.')[-1]}@{x.line_no}] - "),
    "columns-id-node-epoch": lambda x: (f"{x.pid} {x.host} {x.program}.hw state_change.{x.level.lower()} "
                                        f"{1760184000 + x.s} 1 "),
    "file-request-context": lambda x: (f"api.log.1.2026-10-11_10:00:00 {x.date} {x.hms}.{x.ms} {x.pid} {x.level} "
                                       f"{x.logger} [req-{x.pid:08x}-aa11-bb22 - - - - -] "),
    "mysql8": lambda x: f"{x.date}T{x.hms}.{x.ms}456Z 0 [{MYSQL_LEVELS[x.level]}] [MY-0{x.pid % 9000 + 10000}] [Server] ",
    "elasticsearch": lambda x: f"[{x.date}T{x.hms},{x.ms}][{x.level:<5}][{x.logger:<25}] [{x.host}] ",
    "kafka": lambda x: f"[{x.date} {x.hms},{x.ms}] {x.level} ",
    "cassandra": lambda x: f"{x.level:<5} [{x.thread}] {x.date} {x.hms},{x.ms} {x.logger.split('.')[-1]}.java:{x.line_no} - ",
    "rabbitmq": lambda x: f"{x.date} {x.hms}.{x.ms}456+00:00 [{x.level.lower()}] <0.{x.pid}.0> ",
    "gunicorn": lambda x: f"[{x.date} {x.hms} +0000] [{x.pid}] [{x.level}] ",
    "mongodb-legacy": lambda x: f"{x.date}T{x.hms}.{x.ms}+0000 {x.level[0]} NETWORK  [conn{x.pid}] ",
    "zap-console": lambda x: f"{x.date}T{x.hms}.{x.ms}Z\t{x.level}\tpkg/file.go:{x.line_no}\t",
    "pino-pretty": lambda x: f"[{x.hms}.{x.ms}] {x.level} ({x.pid} on {x.host}): ",
    "supervisord": lambda x: f"{x.date} {x.hms},{x.ms} {x.level} ",
    "celery": lambda x: f"[{x.date} {x.hms},{x.ms}: {x.level}/MainProcess] ",
    "airflow": lambda x: f"[{x.date} {x.hms},{x.ms}] {{file.py:{x.line_no}}} {x.level} - ",
    "php-fpm": lambda x: f"[11-Oct-2026 {x.hms}] {x.level.replace('WARN', 'WARNING')}: [pool www] ",
    "python-bracket-level": lambda x: f"{x.date} {x.hms},{x.ms} [{x.level}] {x.logger}: ",
    "iso-pid-thread-logger": lambda x: f"{x.date}T{x.hms}.{x.ms}+0000 {x.level} {x.pid} --- [{x.thread}] {x.logger}: ",
    "hclog": lambda x: f"{x.date}T{x.hms}.{x.ms}Z [{x.level}] {x.program}: ",
    "level-colon-time": lambda x: f"{x.level}: {x.date} {x.hms} ",
    "date-level-program-pid": lambda x: f"{x.date} {x.hms} {x.level.title()} {x.program} {x.pid} ",
    # Added 2026-12-06 (seventh session): one host's or one program's file, whose name is a plain word on every line
    "one-host-level": lambda x: f"{x.date} {x.hms} {x.level} {ONE_HOST} ",
    "one-program": lambda x: f"{x.date}T{x.hms}.{x.ms}Z {ONE_PROGRAM} ",
    "one-program-comma-level": lambda x: f"{x.date} {x.hms}, {x.level.title():<21} {ONE_PROGRAM:<6} ",
    # Added 2026-12-07 (tenth session): one app's instances in one stream, as Heroku writes its dynos
    "heroku-dynos": lambda x: f"{x.date}T{x.hms}.{x.ms}456+00:00 app[{DYNOS[x.pid % 3]}.{x.pid % 2 + 1}]: ",
    # and Android's logcat layouts before threadtime: brief (its default before Android 7) and time, the pid padded
    "logcat-brief": lambda x: f"{x.level[0]}/{x.logger.split('.')[-1]}({x.pid:>5}): ",
    "logcat-time": lambda x: f"10-11 {x.hms}.{x.ms} {x.level[0]}/{x.logger.split('.')[-1]}({x.pid:>5}): ",
    # and the kernel's ring buffer as dmesg prints it: the uptime padded to 5 digits, then not (after 2.8 hours)
    "dmesg": lambda x: f"[{x.s * 3:>5}.{x.pid:06d}] ",
    # Python's logging with "%(asctime)s:%(levelname)s:%(name)s:%(message)s" (certbot), Jupyter Server (Tornado's
    # formatter), and Odoo's "%(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s" (one database)
    "python-asctime-colons": lambda x: f"{x.date} {x.hms},{x.ms}:{x.level.replace('WARN', 'WARNING')}:{x.logger}:",
    "jupyter": lambda x: f"[{x.level[0]} {x.date} {x.hms}.{x.ms} ServerApp] ",
    "odoo": lambda x: f"{x.date} {x.hms},{x.ms} {x.pid} {x.level.replace('WARN', 'WARNING')} {ONE_DATABASE} "
                      f"{x.logger.lower()}: ",
    # lines that begin with padding: Log4j 1.x's own example layout "%5p [%t] (%F:%L) - %m%n" (" INFO [main] ..."),
    # Zabbix's "%6li:%Y%m%d:%H%M%S.%03ld " (a pid padded to six)
    "log4j-5p": lambda x: f"{x.level:>5} [{x.thread}] ({x.logger.split('.')[-1]}.java:{x.line_no}) - ",
    "zabbix": lambda x: f"{x.pid:>6}:20261011:{x.hms.replace(':', '')}.{x.ms} ",
}
PG_SEVERITIES = {"INFO": "LOG", "WARN": "WARNING", "ERROR": "ERROR", "DEBUG": "DEBUG1"}


def csv_field(text: str) -> str:
    """`text` as a CSV writer quotes it when it must (RFC 4180: a comma, a quote or a newline inside)."""
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


# Layouts that write the message inside the record rather than after a header: a CSV column
RECORDS: dict[str, Callable[[Line, str], str]] = {
    # PostgreSQL's csvlog (26 columns; the message, always quoted, is the 14th and the severity the 12th)
    "pg-csvlog": lambda x, m: f'{x.date} {x.hms}.{x.ms} UTC,"app","shop",{x.pid},"[local]",6b1622a1.{x.pid:x},'
                              f'{x.line_no},"SELECT",{x.date} 00:00:00 UTC,3/{x.line_no},0,{PG_SEVERITIES[x.level]},'
                              f'00000,"{m.replace(chr(34), chr(34) * 2)}",,,,,,,,,"","client backend",,0',
    # a program that writes its records with a CSV library: time, level, host, logger, message (quoted when needed)
    "csv-minimal": lambda x, m: f"{x.date}T{x.hms}.{x.ms}Z,{x.level},{x.host},{x.logger},{csv_field(m)}",
}
MARGIN = 0.02  # a layout "holds" on a system when auto-detection is within this of the messages mined alone


def render(name: str, line: Line, content: str) -> str:
    """One line of a layout: its header before the message, or the record around it."""
    return RECORDS[name](line, content) if name in RECORDS else LAYOUTS[name](line) + content


def mine(lines: list[str], line_format: str | None) -> tuple[list[str], str]:
    from exporter.logs.offline import mine_lines

    result = mine_lines(lines, None, line_format)
    return result.template_ids, result.format


def run_system(contents: list[str], truth: list[str], layouts: list[str], seed: int) -> dict:
    ids, _ = mine(contents, "none")
    entry: dict = {"messages alone": round(grouping_accuracy(ids, truth), 4), "layouts": {}}
    for name in layouts:
        rng = random.Random(f"{seed}:{name}")
        lines = [render(name, Line(7 * i, event, rng), content) for i, (content, event) in enumerate(zip(contents, truth))]
        auto_ids, chosen = mine(lines, None)
        whole_ids, _ = mine(lines, "none")
        entry["layouts"][name] = {"auto": round(grouping_accuracy(auto_ids, truth), 4), "format": chosen,
                                  "whole line": round(grouping_accuracy(whole_ids, truth), 4)}
    return entry


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="a directory in Loghub's 2k layout")
    parser.add_argument("--layouts", default=",".join([*LAYOUTS, *RECORDS]),
                        help="comma-separated layout names (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/log_headers.json"))
    args = parser.parse_args(argv)
    layouts = [name.strip() for name in args.layouts.split(",") if name.strip()]
    unknown = [name for name in layouts if name not in LAYOUTS and name not in RECORDS]
    if unknown:
        parser.error(f"--layouts: unknown {', '.join(unknown)} (known: {', '.join([*LAYOUTS, *RECORDS])})")
    structured = sorted(args.data.glob("*/*_2k.log_structured.csv"))
    if not structured:
        parser.error(f"--data {args.data}: no <Sys>/<Sys>_2k.log_structured.csv")
    print(f"header layouts: {len(layouts)} layouts x {len(structured)} systems from {args.data}", flush=True)
    report: dict = {"data": str(args.data), "margin": MARGIN, "systems": {}}
    for path in structured:
        frame = pd.read_csv(path, usecols=["Content", "EventId"]).fillna("")
        system = path.parent.name
        report["systems"][system] = run_system(frame["Content"].astype(str).tolist(),
                                               frame["EventId"].astype(str).tolist(), layouts, args.seed)
        print(f"  {system} done", flush=True)
    report["summary"] = summarise(report, layouts)
    print_table(report, layouts)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.output}")
    return 0


def summarise(report: dict, layouts: list[str]) -> dict:
    """Means over every layout and system, and how many layout-system pairs hold (within MARGIN of the messages
    alone)."""
    systems = report["systems"].values()
    cells = [(entry["layouts"][layout], entry["messages alone"]) for entry in systems for layout in layouts]
    return {"auto": round(sum(cell["auto"] for cell, _ in cells) / len(cells), 4),
            "whole line": round(sum(cell["whole line"] for cell, _ in cells) / len(cells), 4),
            "messages alone": round(sum(entry["messages alone"] for entry in systems) / len(report["systems"]), 4),
            "held": sum(cell["auto"] >= alone - MARGIN for cell, alone in cells), "pairs": len(cells)}


def print_table(report: dict, layouts: list[str]) -> None:
    systems = report["systems"]
    print("\nGrouping Accuracy, auto-detection (! where it is not within the margin of the messages alone) / whole "
          "lines; the messages alone give: " +
          ", ".join(f"{name} {entry['messages alone']:.3f}" for name, entry in systems.items()))
    print(f"{'layout':<28}" + "".join(f"{name[:13]:>15}" for name in systems) + f"{'holds':>7}  formats chosen")
    for layout in layouts:
        cells, held, formats = "", 0, set()
        for entry in systems.values():
            cell = entry["layouts"][layout]
            ok = cell["auto"] >= entry["messages alone"] - MARGIN
            held += ok
            formats.add(cell["format"])
            cells += f"{cell['auto']:>8.3f}{' ' if ok else '!'}/{cell['whole line']:.2f}"
        print(f"{layout:<28}{cells}{held:>5}/{len(systems)}  {', '.join(sorted(formats))}")
    summary = report["summary"]
    print(f"mean over layouts and systems: auto {summary['auto']:.3f}, whole lines {summary['whole line']:.3f}, "
          f"messages alone {summary['messages alone']:.3f}; layout-system pairs within {MARGIN} of the messages "
          f"alone: {summary['held']} of {summary['pairs']}")


if __name__ == "__main__":
    raise SystemExit(main())
