"""Alert storms with known causes: a scenario format, replay through a real Alertmanager, and scoring.

A scenario is a YAML file (benchmarks/storms/ holds ours; any directory of such files works):

```yaml
name: two-failures-same-minute
description: what happens
receiver:                 # receiver config keys merged over the documented defaults (topology, correlation, ...)
  topology: {web: {depends_on: [api]}, api: {depends_on: [db]}}
defaults: {cluster: eu-1, namespace: shop}     # labels of every alert
history:                  # optional: earlier episodes, seconds before the storm (negative), sent to the
  - {at: -172800, service: db, alertname: X, resolve_after: 600}   # webhook as Alertmanager delivered them then
alerts:
  - {at: 0, service: db, alertname: PostgresDown, severity: critical, cause: db}
  - {at: 30, service: api, alertname: HighErrorRate, severity: warning, instance: api-1, cause: db}
  - {at: 40, service: reports, alertname: JobSlow, severity: info, cause: null}         # noise
  - {at: 50, service: batch, alertname: DiskFull, flap: {times: 4, every: 90, lasts: 40}, cause: null}
causes: {db: db}          # the true root-cause service of each cause (ranking is judged for these)
```

Alert fields: `at` (seconds from the storm's start), `alertname`, `service`, `severity`, `instance`,
`labels` (more labels), `cause` (the failure it belongs to; null: unrelated noise), `resolve_after`
(seconds until it resolves), `flap` (fires `times` times, `every` seconds apart, each lasting `lasts`),
`replicas` (the same alert from N instances `<instance or service>-<k>`, `spread` seconds apart, default 3).

Scoring (per scenario and overall), from the receiver's incidents after the replay:
- incidents, and the ideal: one per cause plus one per noise source (service, or alertname@instance);
- reduction: 1 - incidents / alert occurrences stored;
- fragmentation: incidents holding alerts of a cause, averaged over causes (1.0 is ideal);
- purity: share of an incident's alerts that belong to its majority source, weighted by alerts;
- top-1 / top-3: for each cause in `causes`, whether its root-cause service is the first (one of the
  first three) candidate of the incident holding most of its alerts;
- lost: occurrences sent minus occurrences stored.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from .alertmanager import Alertmanager, rfc3339

DOCUMENTED = {"correlation": {"group_by": ["cluster", "namespace"], "window": "10m", "service_label": "service"}}


@dataclass
class Occurrence:
    """One firing of an alert: its labels, when it starts and (if it does) ends, and what it belongs to."""

    labels: dict[str, str]
    starts: float  # seconds from the storm's start
    ends: float | None
    cause: str | None

    @property
    def source(self) -> str:
        """Ground-truth group: the cause, or for noise its service (or alertname@instance)."""
        if self.cause is not None:
            return f"cause:{self.cause}"
        return "noise:" + (self.labels.get("service") or f"{self.labels['alertname']}@{self.labels.get('instance', '')}")


@dataclass
class Scenario:
    name: str
    description: str
    receiver: dict
    alerts: list[Occurrence]
    history: list[Occurrence]
    causes: dict[str, str]
    path: Path | None = None

    def receiver_config(self, db_url: str) -> dict:
        config = json.loads(json.dumps(DOCUMENTED))
        for key, value in self.receiver.items():
            config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) and key in config else value
        config["storage"] = {"url": db_url}
        return config

    @property
    def ideal_incidents(self) -> int:
        return len({o.source for o in self.alerts})


def _occurrences(items: list[dict], defaults: dict, default_cause: bool) -> list[Occurrence]:
    out = []
    for i, item in enumerate(items):
        labels = {**{k: str(v) for k, v in defaults.items()}, "alertname": str(item.get("alertname", f"Alert{i}"))}
        for key in ("service", "severity", "instance"):
            if item.get(key) is not None:
                labels[key] = str(item[key])
        labels.update({k: str(v) for k, v in (item.get("labels") or {}).items()})
        cause = item.get("cause") if default_cause else None
        cause = None if cause is None else str(cause)
        replicas = int(item.get("replicas", 1))
        for k in range(replicas):
            copy = dict(labels)
            if replicas > 1:
                copy["instance"] = f"{labels.get('instance') or labels.get('service', 'host')}-{k}"
            at = float(item["at"]) + k * float(item.get("spread", 3))
            out += _firings(copy, at, item, cause)
    return out


def _firings(labels: dict[str, str], at: float, item: dict, cause: str | None) -> list[Occurrence]:
    flap = item.get("flap")
    if flap:
        return [Occurrence(labels, at + k * float(flap["every"]), at + k * float(flap["every"]) + float(flap["lasts"]),
                           cause) for k in range(int(flap["times"]))]
    ends = at + float(item["resolve_after"]) if item.get("resolve_after") else None
    return [Occurrence(labels, at, ends, cause)]


def load(path: Path) -> Scenario:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise ValueError(f"{path}: a storm needs a mapping with an `alerts` list (see devstack/storms.py)")
    defaults = data.get("defaults") or {}
    return Scenario(str(data.get("name", path.stem)), str(data.get("description", "")).strip(),
                    data.get("receiver") or {}, _occurrences(data["alerts"], defaults, True),
                    _occurrences(data.get("history") or [], defaults, False),
                    {str(k): str(v) for k, v in (data.get("causes") or {}).items()}, path)


def load_dir(directory: Path) -> list[Scenario]:
    return [load(p) for p in sorted(directory.glob("*.y*ml"))]


# ---- replay -----------------------------------------------------------------------

def alertmanager_config(webhook_url: str, group_by: list[str] | None = None) -> dict:
    """Without group_by every alert is its own group, delivered at once: arrival order follows the timeline.
    With group_by, Alertmanager batches alerts as a production route would (group_wait, group_interval 2s)."""
    route = {"receiver": "aiops", "group_by": group_by or ["..."], "group_wait": "2s" if group_by else "0s",
             "group_interval": "2s" if group_by else "1s", "repeat_interval": "24h"}
    return {"route": route, "receivers": [{"name": "aiops", "webhook_configs": [
        {"url": webhook_url, "send_resolved": True, "max_alerts": 0}]}]}


def _receiver_counts(receiver_url: str) -> tuple[float, float]:
    """(notifications stored, new alert occurrences stored) from the receiver's /metrics."""
    stored = occurrences = 0.0
    for line in requests.get(f"{receiver_url}/metrics", timeout=10).text.splitlines():
        if line.startswith('aiops_receiver_notifications_total{result="stored"}'):
            stored = float(line.split()[-1])
        elif line.startswith("aiops_receiver_alerts_total{"):
            occurrences += float(line.split()[-1])
    return stored, occurrences


def _stored_notifications(receiver_url: str) -> float:
    return _receiver_counts(receiver_url)[0]


def _webhook_body(occurrence: Occurrence, base: float, resolved: bool) -> dict:
    from alertmanager_receiver.payload import fingerprint_of

    start = base + occurrence.starts
    end = base + occurrence.ends if resolved and occurrence.ends is not None else None
    alert = {"status": "resolved" if resolved else "firing", "labels": occurrence.labels, "annotations": {},
             "startsAt": rfc3339(start), "endsAt": rfc3339(end) if end else "0001-01-01T00:00:00Z",
             "generatorURL": "", "fingerprint": fingerprint_of(occurrence.labels)}
    return {"receiver": "aiops", "status": alert["status"], "alerts": [alert], "groupLabels": {},
            "commonLabels": occurrence.labels, "commonAnnotations": {}, "externalURL": "", "version": "4",
            "groupKey": "history:" + json.dumps(occurrence.labels, sort_keys=True), "truncatedAlerts": 0}


def send_history(scenario: Scenario, receiver_url: str, base: float) -> None:
    """Earlier episodes, posted to the webhook in time order as Alertmanager delivered them back then."""
    events = [(o.starts, o, False) for o in scenario.history] + \
             [(o.ends, o, True) for o in scenario.history if o.ends is not None]
    for _, occurrence, resolved in sorted(events, key=lambda e: e[0]):
        response = requests.post(f"{receiver_url}/webhook/alertmanager", json=_webhook_body(occurrence, base, resolved),
                                 timeout=10)
        response.raise_for_status()


def replay(scenario: Scenario, receiver_url: str, am: Alertmanager, timeout: float = 30.0,
           time_scale: float | None = None) -> float:
    """Send the history to the webhook, then push the storm to Alertmanager in time order. Returns the storm's
    start (unix seconds).

    Without `time_scale`, each alert (and resolution) is delivered before the next is pushed (Alertmanager
    configured by alertmanager_config() without group_by). With it, events are pushed on the scenario's
    timeline compressed to `time_scale` real seconds per scenario second, and Alertmanager's grouping
    decides what arrives together; the replay then waits for every occurrence and a quiet spell.
    """
    span = max([o.ends or o.starts for o in scenario.alerts] + [0.0])
    base = time.time() - span - 60
    send_history(scenario, receiver_url, base)
    events = sorted([(o.starts, 0, o) for o in scenario.alerts] + [(o.ends, 1, o) for o in scenario.alerts if o.ends],
                    key=lambda e: (e[0], e[1]))
    if time_scale is not None:
        _replay_on_timeline(scenario, receiver_url, am, base, events, time_scale, timeout)
        return base
    for _, resolved, occurrence in events:
        before = _stored_notifications(receiver_url)
        item: dict[str, Any] = {"labels": occurrence.labels, "startsAt": base + occurrence.starts}
        if resolved:
            item["endsAt"] = base + (occurrence.ends or occurrence.starts)
        am.push([item])
        deadline = time.monotonic() + timeout
        while _stored_notifications(receiver_url) <= before:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{scenario.name}: Alertmanager did not deliver {occurrence.labels} within {timeout:g}s")
            time.sleep(0.02)
    return base


def _replay_on_timeline(scenario: Scenario, receiver_url: str, am: Alertmanager, base: float, events: list,
                        time_scale: float, timeout: float) -> None:
    started = time.monotonic()
    for at, resolved, occurrence in events:
        delay = started + at * time_scale - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        item: dict[str, Any] = {"labels": occurrence.labels, "startsAt": base + occurrence.starts}
        if resolved:
            item["endsAt"] = base + (occurrence.ends or occurrence.starts)
        am.push([item])
    deadline = time.monotonic() + timeout
    last, quiet_since = _receiver_counts(receiver_url), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        counts = _receiver_counts(receiver_url)
        if counts != last:
            last, quiet_since = counts, time.monotonic()
        elif counts[1] >= len(scenario.alerts) and time.monotonic() - quiet_since > 5:
            return
    raise TimeoutError(f"{scenario.name}: {last[1]:g} of {len(scenario.alerts)} occurrences stored in {timeout:g}s")


def incidents_of(receiver_url: str) -> list[dict]:
    listed = requests.get(f"{receiver_url}/api/v1/incidents", params={"limit": 1000}, timeout=10).json()["incidents"]
    return [requests.get(f"{receiver_url}/api/v1/incidents/{i['id']}", timeout=10).json() for i in listed]


# ---- scoring ----------------------------------------------------------------------

@dataclass
class Score:
    scenario: str
    alerts_sent: int
    alerts_stored: int
    incidents: int
    ideal: int
    fragmentation: float
    purity: float
    top1: list[bool] = field(default_factory=list)
    top3: list[bool] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def reduction(self) -> float:
        return 1 - self.incidents / self.alerts_stored if self.alerts_stored else 0.0

    @property
    def lost(self) -> int:
        return self.alerts_sent - self.alerts_stored

    def as_dict(self) -> dict:
        return {"scenario": self.scenario, "alerts_sent": self.alerts_sent, "alerts_stored": self.alerts_stored,
                "incidents": self.incidents, "ideal": self.ideal, "reduction": round(self.reduction, 3),
                "fragmentation": round(self.fragmentation, 3), "purity": round(self.purity, 3),
                "top1": sum(self.top1), "top3": sum(self.top3), "causes_ranked": len(self.top1),
                "lost": self.lost, "misses": self.misses}


def _key(labels: dict[str, str], starts: float) -> tuple[str, int]:
    return json.dumps(labels, sort_keys=True), round(starts)


def score(scenario: Scenario, base: float, incidents: list[dict]) -> Score:
    """Judge the receiver's incidents against the scenario's causes (history incidents are left out)."""
    truth = {_key(o.labels, base + o.starts): o.source for o in scenario.alerts}
    groups: list[tuple[list[str], list[str]]] = []  # per incident: sources of its storm alerts, candidate services
    for detail in incidents:
        sources = [truth[k] for a in detail.get("alerts", []) if (k := _key(a["labels"], a["starts_at"])) in truth]
        if sources:
            groups.append((sources, [c["service"] for c in detail.get("root_cause_candidates") or []]))
    stored = sum(len(s) for s, _ in groups)
    purity = sum(Counter(s).most_common(1)[0][1] for s, _ in groups) / stored if stored else 0.0
    causes = sorted({o.source for o in scenario.alerts if o.cause is not None})
    fragmentation = (sum(sum(1 for s, _ in groups if c in s) for c in causes) / len(causes)) if causes else 1.0
    result = Score(scenario.name, len(scenario.alerts), stored, len(groups), scenario.ideal_incidents, fragmentation,
                   purity)
    for cause, root in sorted(scenario.causes.items()):
        holding = [(s.count(f"cause:{cause}"), c) for s, c in groups if f"cause:{cause}" in s]
        candidates = max(holding, key=lambda h: h[0])[1] if holding else []
        result.top1.append(candidates[:1] == [root])
        result.top3.append(root in candidates[:3])
        if candidates[:1] != [root]:
            result.misses.append(f"{cause}: true cause {root}, ranked {candidates[:3]}")
    return result


def naive_baseline(scenario: Scenario, window: float = 600.0, group_by: tuple[str, ...] = ("cluster", "namespace")
                   ) -> Score:
    """What grouping by labels within a time window gives (Alertmanager-style), with the first alert as cause."""
    incidents: list[dict] = []
    for occurrence in sorted(scenario.alerts, key=lambda o: o.starts):
        scope = tuple(occurrence.labels.get(k, "") for k in group_by)
        home = next((i for i in incidents if i["scope"] == scope and occurrence.starts - i["last"] <= window), None)
        if home is None:
            home = {"scope": scope, "last": occurrence.starts, "alerts": []}
            incidents.append(home)
        home["last"] = occurrence.starts
        home["alerts"].append(occurrence)
    details = [{"alerts": [{"labels": o.labels, "starts_at": o.starts} for o in i["alerts"]],
                "root_cause_candidates": [{"service": s} for s in dict.fromkeys(
                    o.labels.get("service", "") for o in i["alerts"]) if s]} for i in incidents]
    return score(scenario, 0.0, details)


def overall(scores: list[Score]) -> dict:
    """Figures over all scenarios: sums, alert-weighted purity, mean fragmentation, recall over causes."""
    stored = sum(s.alerts_stored for s in scores)
    ranked = sum(len(s.top1) for s in scores)
    return {"scenarios": len(scores), "alerts_sent": sum(s.alerts_sent for s in scores), "alerts_stored": stored,
            "incidents": sum(s.incidents for s in scores), "ideal": sum(s.ideal for s in scores),
            "reduction": round(1 - sum(s.incidents for s in scores) / stored, 3) if stored else 0.0,
            "fragmentation": round(sum(s.fragmentation for s in scores) / len(scores), 3) if scores else 0.0,
            "purity": round(sum(s.purity * s.alerts_stored for s in scores) / stored, 3) if stored else 0.0,
            "top1": round(sum(sum(s.top1) for s in scores) / ranked, 3) if ranked else 0.0,
            "top3": round(sum(sum(s.top3) for s in scores) / ranked, 3) if ranked else 0.0,
            "causes_ranked": ranked, "lost": sum(s.lost for s in scores)}
