"""The incident story in one or two plain sentences (pure)."""

from __future__ import annotations

from datetime import UTC, datetime


def _hhmm(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def _what(alert: dict) -> str:
    labels = alert["labels"]
    metric = labels.get("source_metric") or labels.get("alertname", "alert")
    service = labels.get("service")
    return f"{service} {metric}" if service else metric


def summarize(detail: dict) -> str:
    """E.g. 'checkout demo_latency is anomalous since 10:02 (score 3.4). Probable cause: payments-db ...'."""
    alerts = detail.get("alerts") or []
    if not alerts:
        return detail.get("title", "incident")
    firing = [a for a in alerts if a["status"] == "firing"] or alerts
    scored = [a for a in firing if _score(a) is not None]
    lead = max(scored, key=lambda a: _score(a) or 0.0) if scored else min(firing, key=lambda a: a["starts_at"])
    state = "is anomalous" if lead["labels"].get("alertname") == "AIOpsAnomalyDetected" else "is alerting"
    sentence = f"{_what(lead)} {state} since {_hhmm(lead['starts_at'])}"
    if _score(lead) is not None:
        sentence += f" (score {_score(lead):.1f})"
    sentence += "."
    if detail["status"] == "resolved":
        sentence = sentence[:-1] + "; now resolved."
    cause = (detail.get("root_cause_candidates") or [None])[0]
    if cause and cause["service"] == lead["labels"].get("service"):
        sentence += f" Probable cause: {cause['service']} itself; no alerting dependency explains it."
    elif cause:
        cause_alerts = [a for a in alerts if a["labels"].get("service") == cause["service"]]
        what = cause_alerts[0]["labels"].get("alertname", "alerting") if cause_alerts else "alerting"
        lead_time = lead["starts_at"] - cause["first_alert_at"]
        part = f" Probable cause: {cause['service']} {what}"
        if lead_time >= 60 and cause["service"] != lead["labels"].get("service"):
            part += f", which started {lead_time / 60:.0f} minutes earlier"
        dependents = _dependents(cause.get("explanation", ""))
        if dependents:
            part += f" and is a dependency of {dependents}"
        sentence += part + "."
    others = len({a["labels"].get("service") for a in alerts} - {None})
    sentence += f" {len(alerts)} alert(s) across {others} service(s); priority {detail['priority']}."
    templates = (detail.get("log_evidence") or {}).get("templates") or []
    if templates:
        top = templates[0]
        what = "a new log line" if top["new"] else f"a log line {top['change']:.0f}x more often than before"
        sentence += (f" Logs: {top['source']} shows {what} ({top['level']}, {top['rate_during_per_minute']:.1f}/min):"
                     f" \"{_clip(top['template'], 160)}\".")
    return sentence


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _score(alert: dict) -> float | None:
    for source in (alert["labels"], alert.get("annotations") or {}):
        try:
            return float(source["anomaly_score"])
        except (KeyError, ValueError):
            continue
    return None


def _dependents(explanation: str) -> str:
    marker = "depend on it ("
    if marker not in explanation:
        return ""
    names = explanation.split(marker, 1)[1].split(")", 1)[0]
    parts = [p.strip() for p in names.split(",")]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
