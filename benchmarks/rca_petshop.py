"""Root cause from metrics on the PetShop dataset, end to end on real binaries.

    .venv/bin/python -m benchmarks.rca_petshop [--data DIR] [--only low_traffic/train/issue_0] [--output FILE]
    .venv/bin/python -m benchmarks.rca_petshop --rerank benchmarks/results/rca_petshop.json   # no binaries

DIR is PetShop's layout (../shared/petshop/README.md): a scenario directory holding graph.csv,
noissue/metrics.csv and {train,test}/issue_N/{metrics.csv,target.json}, or a directory of such
scenarios (default ../shared/petshop). For every issue:

1. its normal history, shifted to end just before the issue window, and the window, shifted so that it
   ends now, become `petshop_<metric>{service, statistic, petshop_issue}` series;
2. the exporter's anomaly scores for them are computed with the exporter's own code path
   (exporter.backtest.replay: QueryState.step over history + window, the default seasonal model at
   the data's 5-minute step) and written as `aiops_anomaly_score` with the exporter's output labels,
   as if the exporter had been running;
3. the call graph becomes `traces_service_graph_request_total{client, server}` counters;
4. all of it is backfilled into one real Prometheus (promtool), the issues told apart by
   `petshop_issue`;
5. per issue, a fresh receiver starts with `topology_discovery` (the servicegraph query of
   docs/receiver.md) and `metric_evidence` (score_query filtered to the issue) and no hand-written
   topology, and a fresh Alertmanager; the target's SLO alert (service = target node, severity
   critical, startsAt = the target's timestamp) is pushed through Alertmanager;
6. the incident's top three candidates are read once its metric evidence is there.

Prints top-1 / top-3 recall per scenario and overall, every miss with its candidates, how many true
causes were found as silent (non-alerting) candidates, the time from the alert to the candidates,
and a baseline measured in the same run: the front end's dependencies ranked by peak anomaly score.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from alertmanager_receiver.metric_rca import ServiceEvidence, rank
from alertmanager_receiver.topology import Edge, Topology
from devstack.alertmanager import Alertmanager
from devstack.procs import free_port
from devstack.prometheus import Prometheus, backfill
from devstack.receiver import ReceiverProcess
from devstack.storms import alertmanager_config
from exporter.backtest import replay
from exporter.config import QueryConfig
from exporter.labels import output_labels
from exporter.series import SeriesBatch

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "petshop"
STEP = 300.0
MAX_HOPS = 4  # the receiver's metric_evidence.max_hops in this benchmark
DEFAULT_OUTPUT = Path("benchmarks/results/rca_petshop.json")
PARTIAL_OUTPUT = Path(tempfile.gettempdir()) / "rca_petshop_only.json"
SERVICEGRAPH_QUERY = "sum by (client, server) (rate(traces_service_graph_request_total[1h])) > 0"
REFERENCE = {  # ../shared/petshop/README.md: the dataset authors' implementations (not measured in this run)
    "low_traffic": {"ranked correlation": (0.58, 0.73), "anomaly traversal": (0.65, 0.77), "CIRCA": (0.38, 0.92),
                    "RCD": (0.31, 0.42)},
    "high_traffic": {"ranked correlation": (0.73, 0.85), "anomaly traversal": (0.38, 0.77), "CIRCA": (0.27, 0.54),
                     "RCD": (0.0, 0.0)},
}


@dataclass
class Issue:
    scenario: str
    name: str  # e.g. train/issue_0
    window: pd.DataFrame
    target: dict

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.name}".replace("/", "_")


@dataclass
class Scenario:
    name: str
    graph: dict[str, list[str]]
    normal: pd.DataFrame
    issues: list[Issue] = field(default_factory=list)


def read_metrics(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, header=[0, 1, 2], index_col=0)


def load_scenarios(data: Path) -> list[Scenario]:
    dirs = [data] if (data / "graph.csv").exists() else sorted(p for p in data.iterdir() if (p / "graph.csv").exists())
    scenarios = []
    for root in dirs:
        graph = pd.read_csv(root / "graph.csv", index_col=0)
        calls = {str(r): [str(c) for c in graph.columns if graph.loc[r, c] == 1] for r in graph.index}
        scenario = Scenario(root.name, calls, read_metrics(root / "noissue" / "metrics.csv"))
        for issue in sorted(root.glob("*/issue_*"), key=lambda p: (p.parent.name, int(p.name.split("_")[-1]))):
            scenario.issues.append(Issue(root.name, f"{issue.parent.name}/{issue.name}", read_metrics(issue / "metrics.csv"),
                                         json.loads((issue / "target.json").read_text())))
        scenarios.append(scenario)
    return scenarios


def issue_series(scenario: Scenario, issue: Issue, end: float) -> tuple[list[dict], np.ndarray, np.ndarray, float]:
    """(labels, times, values) of history + window shifted so that the window ends at `end`; and the shift."""
    columns = [c for c in issue.window.columns if c in scenario.normal.columns]
    window = issue.window[columns]
    shift = end - (float(window.index[-1]) + STEP)
    history = scenario.normal[columns].copy()
    history.index = history.index + (float(window.index[0]) - STEP - float(history.index[-1]))
    full = pd.concat([history, window])
    labels = [{"__name__": f"petshop_{metric}", "service": str(service), "statistic": str(stat),
               "petshop_issue": issue.key} for service, metric, stat in columns]
    return labels, full.index.to_numpy(float) + shift, full.to_numpy(float).T, shift


def exporter_scores(labels: list[dict], times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The exporter's anomaly scores for these series: its own code path (QueryState.step), default model."""
    query = QueryConfig(name="petshop", expr="petshop", step=f"{STEP:g}s", history="7d")
    return replay(SeriesBatch(labels, times, values), query).scores


def _label_text(labels: dict) -> str:
    return ",".join(f'{k}="{str(v)}"'.replace("\\", "\\\\") for k, v in labels.items())


def write_openmetrics(path: Path, scenarios: list[Scenario], end: float) -> dict[str, dict]:
    """Every issue's series and scores, and each scenario's call graph; returns per-issue facts for judging."""
    facts: dict[str, dict] = {}
    with path.open("w") as out:
        families: dict[str, list[str]] = {}
        for scenario in scenarios:
            for issue in scenario.issues:
                labels, times, values, shift = issue_series(scenario, issue, end)
                scores = exporter_scores(labels, times, values)
                for row, series_labels in enumerate(labels):
                    name = series_labels["__name__"]
                    plain = {k: v for k, v in series_labels.items() if k != "__name__"}
                    families.setdefault(name, []).extend(
                        f"{name}{{{_label_text(plain)}}} {float(v)!r} {int(t)}\n"
                        for t, v in zip(times, values[row]) if np.isfinite(v))
                    published = output_labels(series_labels, "petshop", "seasonal")
                    families.setdefault("aiops_anomaly_score", []).extend(
                        f"aiops_anomaly_score{{{_label_text(published)}}} {float(s)!r} {int(t)}\n"
                        for t, s in zip(times, scores[row]) if np.isfinite(s))
                facts[issue.key] = {"shift": shift, "times": times, "scores": scores, "labels": labels}
                print(f"  {issue.scenario}/{issue.name}: {len(labels)} series scored", flush=True)
            start = end - 3 * 86400
            grid = np.arange(start, end + 1, STEP)
            for caller, callees in scenario.graph.items():
                for callee in callees:
                    text = _label_text({"client": caller, "server": callee, "petshop_scenario": scenario.name})
                    families.setdefault("traces_service_graph_request_total", []).extend(
                        f"traces_service_graph_request_total{{{text}}} {t - start:.0f} {int(t)}\n" for t in grid)
        for name, lines in families.items():
            kind = "counter" if name.endswith("_total") else "gauge"
            family = name[:-len("_total")] if kind == "counter" else name
            out.write(f"# TYPE {family} {kind}\n")
            out.writelines(lines)
        out.write("# EOF\n")
    return facts


def receiver_config(prometheus_url: str, issue: Issue, db: Path) -> dict:
    graph = SERVICEGRAPH_QUERY.replace("traces_service_graph_request_total",
                                       f'traces_service_graph_request_total{{petshop_scenario="{issue.scenario}"}}')
    return {"storage": {"url": f"sqlite:///{db}"},
            "prometheus": {"url": prometheus_url, "timeout": "30s"},
            "topology_discovery": {"refresh": "5m", "sources": [
                {"name": "servicegraph", "query": graph, "caller_label": "client", "callee_label": "server"}]},
            "metric_evidence": {"score_query": f'aiops_anomaly_score{{petshop_issue="{issue.key}"}}', "lookback": "30m",
                                "max_hops": MAX_HOPS, "step": f"{STEP:g}s", "timeout": "30s"}}


def stored_evidence(db: Path, incident_id: int) -> dict:
    """Every service's evidence as the receiver stored it for the incident (the API shows the top candidates')."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT metric_evidence FROM incidents WHERE id = ?", (incident_id,)).fetchone()
    return (json.loads(row[0]) if row and row[0] else {}).get("services", {})


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def run_issue(issue: Issue, prom: Prometheus, shift: float, workdir: Path) -> dict:
    port, db = free_port(), workdir / "r.db"
    receiver = ReceiverProcess(workdir / "receiver", receiver_config(prom.url, issue, db), port=port).start()
    am = Alertmanager(workdir / "am", alertmanager_config(f"{receiver.url}/webhook/alertmanager")).start()
    try:
        wait_for(lambda: any(e["source"] == "discovered" for e in receiver.get("/api/v1/topology")["edges"]), 60,
                 "discovered edges")
        target = issue.target["target"]
        labels = {"alertname": f"PetShopSLO{target['metric'].title()}", "service": target["node"],
                  "severity": "critical", "slo_metric": target["metric"]}
        pushed = time.monotonic()
        am.push([{"labels": labels, "startsAt": float(target["timestamp"]) + shift}])

        def ranked():
            incidents = receiver.get("/api/v1/incidents")["incidents"]
            if not incidents:
                return None
            detail = receiver.get(f"/api/v1/incidents/{incidents[0]['id']}")
            evidence = detail.get("metric_evidence") or {}
            return detail if evidence.get("computed_at") else None

        detail = wait_for(ranked, 120, "the incident's metric evidence")
        waited = time.monotonic() - pushed
        candidates = detail["root_cause_candidates"]
        return {"issue": f"{issue.scenario}/{issue.name}", "true_cause": issue.target["root_cause"]["node"],
                "candidates": [c["service"] for c in candidates],
                "silent": [c["service"] for c in candidates if not c.get("alerting", True)],
                "explanation": candidates[0]["explanation"] if candidates else "", "seconds_to_candidates": waited,
                "evidence_error": (detail.get("metric_evidence") or {}).get("error"),
                # what the ranking saw, so that it can be re-ranked offline (metric_rca.rank is pure)
                "target": target["node"], "alert_at": float(target["timestamp"]) + shift,
                "evidence": stored_evidence(db, detail["id"])}
    finally:
        am.stop()
        receiver.stop()


def peak_baseline(scenario: Scenario, issue: Issue, fact: dict, lookback: float = 1800.0) -> list[str]:
    """The target's dependencies within 4 hops ranked by their peak anomaly score over the same window."""
    target = issue.target["target"]["node"]
    reach, frontier = set(), [target]
    for _ in range(4):
        frontier = [d for s in frontier for d in scenario.graph.get(s, []) if d not in reach and d != target]
        reach.update(frontier)
    alert = float(issue.target["target"]["timestamp"]) + fact["shift"]
    keep = (fact["times"] >= alert - lookback)
    peaks: dict[str, float] = {}
    for row, labels in enumerate(fact["labels"]):
        if labels["service"] in reach:
            value = np.nanmax(np.nan_to_num(fact["scores"][row][keep], nan=0.0))
            peaks[labels["service"]] = max(peaks.get(labels["service"], 0.0), float(value))
    return sorted(peaks, key=lambda s: -peaks[s])[:3]


def recall(rows: list[dict], key: str) -> tuple[float, float]:
    if not rows:
        return 0.0, 0.0
    top1 = sum(r[key][:1] == [r["true_cause"]] for r in rows) / len(rows)
    top3 = sum(r["true_cause"] in r[key][:3] for r in rows) / len(rows)
    return round(top1, 3), round(top3, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="PetShop layout: a scenario or a directory of them")
    parser.add_argument("--only", help="run only this issue, e.g. low_traffic/train/issue_0")
    parser.add_argument("--rerank", type=Path, metavar="RESULTS",
                        help="no binaries: rank again, with this tree's metric_rca.rank, the evidence that a previous "
                             "run's receivers stored (its JSON); prints the same report, writes only with --output")
    parser.add_argument("--output", type=Path, help=f"where to write the JSON (default {DEFAULT_OUTPUT}; with --only, "
                                                    f"{PARTIAL_OUTPUT.name} in the system's temporary directory, so "
                                                    "a one-issue run does not replace the full run's figures)")
    args = parser.parse_args(argv)
    if args.rerank:
        return rerank(args.rerank, args.data, args.output)
    if args.output is None:
        args.output = PARTIAL_OUTPUT if args.only else DEFAULT_OUTPUT
    began = time.perf_counter()
    scenarios = load_scenarios(args.data)
    if args.only:
        for scenario in scenarios:
            scenario.issues = [i for i in scenario.issues if f"{i.scenario}/{i.name}" == args.only]
    if not any(s.issues for s in scenarios):
        parser.error(f"no PetShop issue found in {args.data}")
    end = (time.time() // STEP) * STEP
    rows = []
    with tempfile.TemporaryDirectory(prefix="aiops-petshop-") as tmp:
        work = Path(tmp)
        print(f"scoring {sum(len(s.issues) for s in scenarios)} issue(s) with the exporter's code path", flush=True)
        facts = write_openmetrics(work / "petshop.om", scenarios, end)
        print("backfilling Prometheus (promtool)", flush=True)
        prom = Prometheus(work / "prometheus", extra_args=["--query.lookback-delta=10m"])
        backfill(work / "petshop.om", prom.data_dir)
        prom.start()
        try:
            for scenario in scenarios:
                for issue in scenario.issues:
                    fact = facts[issue.key]
                    row = run_issue(issue, prom, fact["shift"], work / issue.key)
                    row["peak_baseline"] = peak_baseline(scenario, issue, fact)
                    row["scenario"] = scenario.name
                    hit = "top-1" if row["candidates"][:1] == [row["true_cause"]] else \
                        ("top-3" if row["true_cause"] in row["candidates"] else "miss")
                    print(f"{row['issue']:<32} {hit:<6} true {row['true_cause'][:34]:<34} "
                          f"got {', '.join(c[:26] for c in row['candidates'])}  ({row['seconds_to_candidates']:.1f} s)",
                          flush=True)
                    rows.append(row)
        finally:
            prom.stop()
    report(rows, time.perf_counter() - began)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"data": str(args.data), "rows": rows, "summary": summary(rows)}, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


def rerank(results: Path, data: Path, output: Path | None) -> int:
    """The candidates of a previous run ranked again from its stored evidence (the ranking is pure logic)."""
    began = time.perf_counter()
    rows = json.loads(results.read_text())["rows"]
    if any("evidence" not in r or "target" not in r for r in rows):
        raise SystemExit(f"{results} holds no stored evidence: it was written before --rerank existed; run the "
                         "benchmark once without --rerank")
    graphs = {s.name: Topology(None, None, [Edge(caller, callee, "discovered") for caller, callees in s.graph.items()
                                            for callee in callees]) for s in load_scenarios(data)}
    for row in rows:
        evidence = {service: ServiceEvidence.from_dict(e) for service, e in row["evidence"].items()}
        ranked = rank({row["target"]: row["alert_at"]}, graphs[row["scenario"]], evidence, max_hops=MAX_HOPS,
                      step=STEP)
        row["candidates"] = [c.service for c in ranked]
        row["silent"] = [c.service for c in ranked if not c.alerting]
        row["explanation"] = ranked[0].explanation if ranked else ""
    report(rows, time.perf_counter() - began)
    if output is not None:
        output.write_text(json.dumps({"data": str(data), "rows": rows, "summary": summary(rows)}, indent=2) + "\n")
        print(f"wrote {output}")
    return 0


def summary(rows: list[dict]) -> dict:
    out = {}
    for name in sorted({r["scenario"] for r in rows}) + ["overall"]:
        part = [r for r in rows if name in ("overall", r["scenario"])]
        out[name] = {"issues": len(part), "receiver": recall(part, "candidates"),
                     "peak_score_baseline": recall(part, "peak_baseline"),
                     "true_cause_silent": sum(r["true_cause"] in r["silent"] for r in part),
                     "median_seconds_to_candidates": round(statistics.median(r["seconds_to_candidates"] for r in part), 2),
                     "evidence_errors": sum(1 for r in part if r.get("evidence_error"))}
    return out


def report(rows: list[dict], wall: float) -> None:
    print("\ntop-1 / top-3 recall of the true root-cause component")
    print(f"{'scenario':<14} {'issues':>6} {'receiver':>13} {'peak score':>13} {'silent':>7} {'median s':>9}")
    for name, s in summary(rows).items():
        print(f"{name:<14} {s['issues']:>6} {s['receiver'][0]:>6.2f} /{s['receiver'][1]:>5.2f} "
              f"{s['peak_score_baseline'][0]:>6.2f} /{s['peak_score_baseline'][1]:>5.2f} {s['true_cause_silent']:>7} "
              f"{s['median_seconds_to_candidates']:>9.2f}")
        for method, (one, three) in REFERENCE.get(name, {}).items():
            print(f"{'':<14} {'':>6} reference: {method} {one:.2f} / {three:.2f} (the authors' code, README)")
    for r in rows:
        if r["candidates"][:1] != [r["true_cause"]]:
            print(f"miss {r['issue']}: true {r['true_cause']}, candidates {r['candidates']}")
    print(f"wall time {wall:.0f} s")


if __name__ == "__main__":
    raise SystemExit(main())
