"""Dashboards as code: `python -m grafana.build` writes grafana/dashboards/*.json.

Plain Python data, one function per dashboard; a test checks that running this
reproduces the committed JSON, and that every panel query parses and returns
data from a real Prometheus fed by the exporter and the receiver.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards"
SCHEMA_VERSION = 39  # Grafana 11
DS = {"type": "prometheus", "uid": "${datasource}"}


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> dict:
    t = {"datasource": DS, "expr": expr, "legendFormat": legend or "__auto", "refId": ref}
    if instant:
        t.update(instant=True, range=False, format="table")
    return t


def panel(kind: str, title: str, targets: list[dict], x: int, y: int, w: int = 12, h: int = 8,
          unit: str | None = None, overrides: list | None = None, description: str = "", **options) -> dict:
    defaults: dict = {}
    if unit:
        defaults["unit"] = unit
    if kind == "timeseries":
        defaults["custom"] = {"fillOpacity": 0, "lineWidth": 1}
    p = {"type": kind, "title": title, "description": description, "datasource": DS,
         "gridPos": {"x": x, "y": y, "w": w, "h": h}, "targets": targets,
         "fieldConfig": {"defaults": defaults, "overrides": overrides or []}}
    if options:
        p["options"] = options
    return p


def datasource_variable() -> dict:
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "options": []}


def query_variable(name: str, label: str, query: str, multi: bool = False) -> dict:
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": {"query": query, "refId": f"{name}-var"}, "definition": query, "refresh": 2,
            "includeAll": multi, "multi": multi, "current": {}, "options": [], "sort": 1, "hide": 0}


def dashboard(uid: str, title: str, panels: list[dict], variables: list[dict] = (), annotations: list[dict] = (),
              description: str = "") -> dict:
    for i, p in enumerate(panels, 1):
        p["id"] = i
    return {"uid": uid, "title": title, "description": description, "tags": ["aiops"], "timezone": "browser",
            "schemaVersion": SCHEMA_VERSION, "version": 1, "editable": False, "refresh": "30s",
            "time": {"from": "now-6h", "to": "now"}, "panels": panels,
            "templating": {"list": [datasource_variable(), *variables]},
            "annotations": {"list": list(annotations)}}


INCIDENT_ANNOTATIONS = {"name": "AIOps incidents", "enable": True, "iconColor": "red",
                        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                        "target": {"type": "tags", "tags": ["aiops"], "limit": 100, "matchAny": True}}


def overview() -> dict:
    return dashboard("aiops-overview", "AIOps / Overview", [
        panel("table", "Most anomalous series now", [target("topk(10, aiops_anomaly_score)", instant=True)],
              0, 0, w=24, description="Score 1 is the band edge; above 1 is anomalous."),
        panel("bargauge", "Open incidents by priority", [target("sum by (priority) (aiops_receiver_incidents_open)",
                                                                "{{priority}}")], 0, 8, w=8),
        panel("stat", "Noise reduction", [target("aiops_receiver_noise_reduction_ratio", "ratio")], 8, 8, w=8,
              unit="percentunit", description="1 - incidents / alerts over the receiver's noise window."),
        panel("timeseries", "Actions by result", [target(
            "sum by (result) (increase(aiops_receiver_actions_total[$__rate_interval]))", "{{result}}")], 16, 8, w=8),
        panel("timeseries", "Anomalous series per query", [target(
            "count by (aiops_query) (aiops_anomaly_score > 1)", "{{aiops_query}}")], 0, 16, w=24),
    ], annotations=[INCIDENT_ANNOTATIONS], description="What is anomalous now, incidents, noise reduction, actions.")


def forecast_explorer() -> dict:
    sel = 'aiops_query="$query", source_metric="$metric"'
    band = [{"matcher": {"id": "byName", "options": "upper"},
             "properties": [{"id": "custom.fillBelowTo", "value": "lower"},
                            {"id": "custom.fillOpacity", "value": 20}, {"id": "custom.lineWidth", "value": 0}]},
            {"matcher": {"id": "byName", "options": "lower"},
             "properties": [{"id": "custom.lineWidth", "value": 0}]}]
    return dashboard("aiops-forecast", "AIOps / Forecast explorer", [
        panel("timeseries", "Actual vs expected band", [
            target(f'max(aiops_yhat_upper{{{sel}}})', "upper", "A"),
            target(f'min(aiops_yhat_lower{{{sel}}})', "lower", "B"),
            target(f'avg(aiops_yhat{{{sel}}})', "yhat", "C"),
            target('avg({__name__="$metric"})', "actual", "D")], 0, 0, w=24, h=10, overrides=band,
              description="Pick one series with the query and metric variables; the band is filled."),
        panel("timeseries", "Forward forecasts", [target(f'aiops_forecast_yhat{{{sel}}}', "{{horizon}}")],
              0, 10, w=12),
        panel("timeseries", "Anomaly score", [target(f'aiops_anomaly_score{{{sel}}}', "")], 12, 10, w=12),
    ], variables=[query_variable("query", "Query", "label_values(aiops_yhat, aiops_query)"),
                  query_variable("metric", "Source metric", 'label_values(aiops_yhat{aiops_query="$query"}, source_metric)')],
        annotations=[INCIDENT_ANNOTATIONS])


def incidents() -> dict:
    return dashboard("aiops-incidents", "AIOps / Incidents and automation", [
        panel("timeseries", "Notifications by result", [target(
            "sum by (result) (rate(aiops_receiver_notifications_total[$__rate_interval]))", "{{result}}")],
              0, 0, unit="reqps"),
        panel("timeseries", "Alerts received by status", [target(
            "sum by (status) (rate(aiops_receiver_alerts_total[$__rate_interval]))", "{{status}}")], 12, 0),
        panel("timeseries", "Open incidents by priority", [target(
            "sum by (priority) (aiops_receiver_incidents_open)", "{{priority}}")], 0, 8),
        panel("timeseries", "Incident duration (p50, p90)", [
            target(f"histogram_quantile({q}, sum by (le) "
                   "(rate(aiops_receiver_incident_duration_seconds_bucket[$__rate_interval])))", f"p{int(q * 100)}", ref)
            for q, ref in ((0.5, "A"), (0.9, "B"))],
              12, 8, unit="s"),
        panel("timeseries", "Time to acknowledge (p50)", [target(
            "histogram_quantile(0.5, sum by (le) (rate(aiops_receiver_time_to_ack_seconds_bucket[$__rate_interval])))",
            "p50")], 0, 16, unit="s"),
        panel("timeseries", "Actions by rule and result", [target(
            "sum by (rule, result) (increase(aiops_receiver_actions_total[$__rate_interval]))", "{{rule}} {{result}}")],
              12, 16),
        panel("stat", "Automation breaker", [target("max(aiops_receiver_automation_breaker_open)", "open")], 0, 24,
              w=6),
    ], annotations=[INCIDENT_ANNOTATIONS])


def suite_health() -> dict:
    return dashboard("aiops-health", "AIOps / Suite health", [
        panel("stat", "Exporter source up", [target("min(aiops_exporter_source_up)", "source up")], 0, 0, w=6),
        panel("stat", "Components up", [target('sum(up{job=~"aiops-exporter|aiops-receiver"})', "up")], 6, 0, w=6),
        panel("timeseries", "Series modelled", [target("sum by (aiops_query) (aiops_exporter_series)",
                                                       "{{aiops_query}}")], 12, 0),
        panel("timeseries", "Cycle duration", [target("max(aiops_exporter_cycle_duration_seconds)", "cycle")],
              0, 8, unit="s"),
        panel("timeseries", "Fit duration p90", [target(
            "histogram_quantile(0.9, sum by (le, aiops_query) "
            "(rate(aiops_exporter_fit_duration_seconds_bucket[$__rate_interval])))",
            "{{aiops_query}}")], 12, 8, unit="s"),
        panel("timeseries", "Query errors", [target(
            "sum by (aiops_query) (rate(aiops_exporter_query_errors_total[$__rate_interval]))", "{{aiops_query}}")],
              0, 16),
        panel("timeseries", "Band coverage", [target("aiops_band_coverage_ratio", "{{aiops_query}} {{aiops_model}}")],
              12, 16, unit="percentunit", description="Share of recent samples inside the band (nominal: interval_width)."),
        panel("timeseries", "Fits by result", [target(
            "sum by (aiops_query, result) (increase(aiops_exporter_fits_total[$__rate_interval]))",
            "{{aiops_query}} {{result}}")], 0, 24, w=24),
        panel("table", "Operator feedback: series with a wider band", [target(
            "sort_desc(aiops_sensitivity_multiplier)", instant=True)], 0, 32, w=24,
            description="Sensitivity multipliers from false_positive verdicts (docs/learning.md): the band of each "
                        "series is this many times wider than its model's."),
        panel("timeseries", "Series by seasonal profile", [target(
            "sum by (aiops_query, profile) (aiops_exporter_profile_series)", "{{aiops_query}} {{profile}}")],
              0, 40, w=24,
              description="How many series of each seasonal query use a daily profile (1d), a weekly one (1w) or "
                          "none. A query whose history is too short for a profile ever to be tried says so in the "
                          "exporter's log at start and in check-config (docs/exporter.md, the seasonal model)."),
    ])


def logs() -> dict:
    text = "max by (source, template_id, template) (aiops_log_template_info)"
    return dashboard("aiops-logs", "AIOps / Log templates", [
        panel("timeseries", "Log records per second by level", [target(
            "sum by (source, level) (rate(aiops_log_lines_total[$__rate_interval]))", "{{source}} {{level}}")],
              0, 0, w=24, unit="reqps", description="From `aiops-exporter logs` (docs/logs.md)."),
        panel("table", "Busiest templates now (records/s)", [target(
            "topk(10, sum by (source, template_id) (rate(aiops_log_lines_total[5m]))"
            f" * on (source, template_id) group_left (template) {text})", instant=True)], 0, 8, w=24),
        panel("table", "Templates first seen in the last hour", [target(
            "(time() - aiops_log_template_first_seen_timestamp_seconds < 3600)"
            f" * on (source, template_id) group_left (template) {text}", instant=True)], 0, 16, w=24,
              unit="s", description="Value: seconds since the template first appeared."),
        panel("stat", "Templates kept", [target("sum by (source) (aiops_log_templates)", "{{source}}")], 0, 24, w=8),
        panel("stat", "Files followed", [target("sum by (source) (aiops_log_files)", "{{source}}")], 8, 24, w=8),
        panel("stat", "Records over the template cap (records/s)", [target(
            'sum by (source) (rate(aiops_log_lines_total{template_id="other"}[5m]))'
            " or 0 * sum by (source) (aiops_log_templates)", "{{source}}")], 16, 24, w=8, unit="reqps",
              description="Records counted under template_id=\"other\" because the source holds logs.max_templates "
                          "templates; above 0, AIOpsLogTemplatesOverCap fires after 30 minutes (its runbook says what "
                          "to do)."),
        panel("table", "Line format per source", [target("max by (source, format) (aiops_log_source_info)",
                                                         instant=True)], 0, 32, w=12,
              description="The format each source's lines are read with, configured or detected (docs/logs.md, "
                          "Detection); a detected format that stopped fitting the lines is replaced and counted in "
                          "aiops_log_format_changes_total."),
        panel("stat", "Records not parsed by the line format", [target(
            "sum by (source) (rate(aiops_log_unparsed_lines_total[5m]))"
            " / sum by (source) (rate(aiops_log_lines_total[5m]))"
            " or 0 * sum by (source) (aiops_log_templates)", "{{source}}")], 12, 32, w=12, unit="percentunit",
              description="Share of records whose first line the format did not parse: they are mined whole, header "
                          "and all. Above 50% for 30 minutes, AIOpsLogLinesUnparsed fires."),
    ], annotations=[INCIDENT_ANNOTATIONS], description="Message templates mined from logs and their rates.")


DASHBOARDS = {"aiops-overview.json": overview, "aiops-forecast.json": forecast_explorer,
              "aiops-incidents.json": incidents, "aiops-health.json": suite_health, "aiops-logs.json": logs}


def render_all() -> dict[str, str]:
    return {name: json.dumps(build(), indent=2, sort_keys=True) + "\n" for name, build in DASHBOARDS.items()}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in render_all().items():
        (OUT / name).write_text(text)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
