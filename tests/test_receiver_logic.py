"""Priority, payload parsing and automation decisions: plain functions, tested directly (correlation: test_correlation.py)."""

import pytest
from amhelpers import am_alert, payload

from alertmanager_receiver.domain import Alert, IncidentSummary
from alertmanager_receiver.payload import PayloadError, parse_notification, parse_time
from alertmanager_receiver.priority import assess
from alertmanager_receiver.topology import Topology

TOPO = Topology({"checkout": ["payments", "cart"], "payments": ["payments-db"], "cart": []},
                {"checkout": "high", "payments": "medium", "cart": "low"})
T0 = 1_800_000_000.0


def alert(service, start=T0, status="firing", **labels):
    base = {"alertname": f"{service}Down", "service": service, **labels}
    return Alert(fingerprint=f"fp-{service}-{sorted(labels.items())}", starts_at=start, status=status, labels=base)


def incident(iid, services, group=None, first=T0, last=T0):
    return IncidentSummary(iid, set(services), group, first, last)


def test_priority_rises_with_severity_blast_radius_and_criticality_and_lists_its_factors():
    small = assess([alert("batch-report", severity="warning")], TOPO, "service", T0)
    big = assess([alert(s, severity="critical") for s in ("payments-db", "payments", "checkout", "cart")],
                 TOPO, "service", T0)
    assert small.level == "P4" and big.level == "P1"
    assert any("blast radius 4 services" in f for f in big.factors)
    assert any("checkout has criticality high" in f for f in big.factors)
    assert int(small.level[1]) > int(big.level[1])


def test_a_long_running_incident_gains_priority():
    alerts = [alert("payments", severity="warning")]
    assert assess(alerts, TOPO, "service", T0 + 3600).points == assess(alerts, TOPO, "service", T0).points + 1


def test_the_payload_parser_takes_nanosecond_times_and_alertmanagers_zero_end_time():
    note = parse_notification(payload([am_alert({"alertname": "A"}, T0)]))
    assert note.alerts[0].starts_at == pytest.approx(T0, abs=1e-3)
    assert note.alerts[0].ends_at is None
    assert parse_time("2026-11-22T10:00:00.123456789+01:00") == pytest.approx(parse_time("2026-11-22T09:00:00.123456Z"))


@pytest.mark.parametrize("mutate, reason", [
    (lambda p: p.update(version="3"), "version"),
    (lambda p: p.pop("alerts"), "alerts"),
    (lambda p: p["alerts"][0].update(status="maybe"), "alerts.0.status"),
    (lambda p: p["alerts"][0].update(labels={}), "at least one label"),
    (lambda p: p["alerts"][0].update(labels={"bad-name": "x"}), "invalid label name"),
    (lambda p: p["alerts"][0].update(labels={"a": 5}), "alerts.0.labels.a"),
    (lambda p: p["alerts"][0].update(startsAt="yesterday"), "RFC 3339"),
    (lambda p: p["alerts"][0].update(startsAt="1960-01-01T00:00:00Z"), "out of range"),
])
def test_a_malformed_payload_is_refused_with_the_reason(mutate, reason):
    data = payload([am_alert({"alertname": "A"}, T0)])
    mutate(data)
    with pytest.raises(PayloadError, match=reason):
        parse_notification(data)


def test_newer_alertmanager_fields_are_accepted_and_kept():
    data = payload([am_alert({"alertname": "A"}, T0)])
    data.update(notification_reason="new_alert", routeLabels={"team": "x"})
    assert parse_notification(data).raw["routeLabels"] == {"team": "x"}


def _rule(**extra):
    from alertmanager_receiver.automation.config import AutomationRule

    return AutomationRule.model_validate({"name": "r", "actions": [{"type": "command", "argv": ["true"]}], **extra})


def test_rules_match_on_status_labels_alertname_priority_and_root_cause():
    from alertmanager_receiver.automation.decide import Event, matches

    event = Event(1, "resolved", alert("payments", status="resolved"), "P2", "payments-db")
    assert not matches(_rule(), event)  # on: firing by default
    assert matches(_rule(on="resolved"), event) and matches(_rule(on="both"), event)
    assert matches(_rule(on="both", match={"labels": {"service": "payments"}, "alertname": ["paymentsDown"],
                                           "priority": ["P1", "P2"], "root_cause_service": ["payments-db"]}), event)
    assert not matches(_rule(on="both", match={"labels": {"service": "cart"}}), event)
    assert not matches(_rule(on="both", match={"priority": ["P1"]}), event)
    assert not matches(_rule(on="both", match={"root_cause_service": ["cart"]}), event)


def test_decisions_check_the_breaker_then_cooldown_then_budgets_then_mode_and_approval():
    from alertmanager_receiver.automation.decide import History, decide

    quiet = History(None, 0, 0)
    assert decide(_rule(), quiet, T0, breaker_open=True, dry_run=False)[0] == "skipped"
    assert decide(_rule(cooldown="10m"), History(T0 - 60, 1, 1), T0, False, False)[1].startswith("cooldown")
    assert decide(_rule(budget={"per_hour": 2}), History(T0 - 9999, 2, 2), T0, False, False)[1].startswith("budget")
    assert decide(_rule(budget={"per_day": 3}), History(T0 - 9999, 0, 3), T0, False, False)[1].startswith("budget")
    assert decide(_rule(require_approval=True), quiet, T0, False, dry_run=True)[0] == "dry_run"
    assert decide(_rule(require_approval=True), quiet, T0, False, dry_run=False)[0] == "awaiting_approval"
    assert decide(_rule(), quiet, T0, False, False) == ("pending", "queued")

