"""Writes docs/reliability.md from the benchmarks' results and the fault and fuzz tests that exist.

    .venv/bin/python -m benchmarks.reliability_report

benchmarks/receiver_load.py and benchmarks/fuzz_api.py call this after writing
their results, so the page always shows the last measured figures. The list of
fault and hostile-input tests is read from the test files themselves.
"""

from __future__ import annotations

import argparse
import ast
import json
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "reliability.md"
FAULT_TESTS = ["test_receiver_replay_kill.py", "test_receiver_faults.py", "test_receiver_probes.py",
               "test_receiver_alertmanager.py", "test_exporter_faults.py", "test_exporter_live.py"]
FAULT_WORDS = ("kill", "slow", "garbl", "disk", "read only", "storm", "saturated", "missed", "recover", "down",
               "unreachable", "restart")
HOSTILE_TESTS = ["test_receiver_fuzz.py", "test_receiver_schemathesis.py", "test_automation.py",
                 "test_receiver_api.py"]
HOSTILE_WORDS = ("malformed", "invalid", "hostile", "shell", "template", "oversized", "nested", "utf", "traversal",
                 "range", "unauthenticated", "generated", "allowlist", "metachar", "credential", "schemathesis",
                 "5xx", "413", "401", "huge")


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def _tests(files: list[str], words: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(file, test name as a sentence) for the test functions in `files`, optionally filtered by words."""
    found = []
    for name in files:
        path = ROOT / "tests" / name
        if not path.exists():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                sentence = node.name[5:].replace("_", " ")
                if not words or any(w in sentence for w in words):
                    found.append((name, sentence))
    return found


def _load_section(load: dict | None) -> list[str]:
    if load is None:
        return ["No load figures yet: run `python -m benchmarks.receiver_load`.", ""]
    lines = [f"`benchmarks/receiver_load.py` on {load['cores']} cores, loader and receiver on the same machine; "
             f"{load['stage_seconds']:g} s per stage, about {load['alerts_per_notification']} alerts per "
             "notification (grouped by alertname and service; firing, resolved, and 30% repeats of notifications "
             "already sent); open loop, latency from each request's scheduled send time; every 2xx means "
             "committed to disk.", ""]
    for backend in load["backends"]:
        if "stages" not in backend:
            lines += [f"**{backend['backend']}**: skipped ({backend.get('skipped')}).", ""]
            continue
        lines += [f"**{backend['backend']}**", "",
                  "| offered alerts/s | accepted alerts/s | p50 ms | p99 ms | max ms | 503 (shed) | errors |",
                  "|---|---|---|---|---|---|---|"]
        for s in backend["stages"]:
            lines.append(f"| {s['offered_alerts_per_s']:.0f} | {s['accepted_alerts_per_s']:.0f} | {s['p50_ms']} | "
                         f"{s['p99_ms']} | {s['max_ms']:.0f} | {s['shed_503']} | {s['errors']} |")
        knee = backend["knee_alerts_per_s"]
        lines += ["", f"Knee (last stage with p99 < {load['target_p99_ms']:.0f} ms, no 503, >= 95% accepted): "
                      f"**{f'{knee:.0f} alerts/s' if knee else 'none of the stages'}**. "
                      f"Afterwards {backend['redelivered_notifications']} shed notifications were re-sent until "
                      f"accepted ({backend['redelivery_attempts']} attempts), and the database held "
                      f"{backend['stored_rows']} alert occurrences, {backend['stored_distinct']} distinct, of "
                      f"{backend['expected_occurrences']} sent: "
                      f"**{'nothing lost, nothing twice' if backend['nothing_lost'] else 'MISMATCH'}**.", ""]
    return lines


def _fuzz_section(fuzz: dict | None) -> list[str]:
    if fuzz is None:
        return ["No schemathesis run yet: run `python -m benchmarks.fuzz_api`.", ""]
    codes = ", ".join(f"{code}: {n}" for code, n in fuzz["status_codes"].items())
    return [f"`benchmarks/fuzz_api.py`: schemathesis against `/openapi.json` of a real receiver (SQLite, bearer "
            f"auth), {fuzz['examples_per_operation']} examples per operation, checks "
            f"{', '.join(fuzz['checks'])}.", "",
            f"- **{fuzz['requests']} requests** to {fuzz['operations']} operations in {fuzz['elapsed_seconds']} s; "
            f"status codes {codes}.",
            f"- **{fuzz['server_errors']} server errors**; schemathesis exit code {fuzz['schemathesis_exit']}"
            f" ({'passed' if fuzz.get('passed') else 'FAILED'}).",
            f"- Webhook: {fuzz['webhook_accepted']} accepted, {fuzz['webhook_rejected']} rejected; alerts stored "
            f"{fuzz['alerts_stored']} = new alerts reported in the 2xx answers {fuzz['alerts_reported_new']}: "
            "a rejected request stored nothing.",
            f"- `/readyz` after the run: {fuzz['readyz_after']}.", ""]


def render() -> str:
    load, fuzz = _load("receiver_load.json"), _load("fuzz.json")
    lines = ["# Reliability evidence", "",
             "<!-- generated by benchmarks/reliability_report.py from benchmarks/results/*.json and the test "
             "files; do not edit by hand -->", "",
             f"Regenerated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Reproduce with "
             "`python -m benchmarks.receiver_load`, `python -m benchmarks.fuzz_api` (each rewrites this page) "
             "and `make test`.", "",
             "## Load held", ""]
    lines += _load_section(load)
    lines += ["## Hostile input tried", ""]
    lines += _fuzz_section(fuzz)
    lines += ["Property-based and hand-written hostile-input tests in CI:", ""]
    lines += [f"- {sentence} (`tests/{name}`)" for name, sentence in _tests(HOSTILE_TESTS, HOSTILE_WORDS)]
    lines += ["", "## Faults survived (tests on real processes, run by `make test`)", ""]
    lines += [f"- {sentence} (`tests/{name}`)" for name, sentence in _tests(FAULT_TESTS, FAULT_WORDS)]
    lines += ["", "## Nothing lost", "",
              "- Ingest commits before it answers: a 2xx means stored; anything else (503 while the database is "
              "busy, locked, full or read-only, or while more webhook requests wait than "
              "`storage.max_pending_writes`) stores nothing, and Alertmanager retries.",
              "- Occurrences are keyed by (fingerprint, startsAt), so retries, HA pairs and repeats are stored "
              "once: the load run above re-sent every shed notification and counted each occurrence exactly once.",
              "- After SIGKILL in the middle of a 10,000-alert replay and a restart, every occurrence is stored "
              "once and each triggered action runs at most once (see the fault tests).", ""]
    return "\n".join(lines)


def write() -> Path:
    DOC.write_text(render())
    return DOC


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    print(f"wrote {write()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
