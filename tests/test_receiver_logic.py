"""Correlation, root cause and priority: plain functions, tested directly."""

import pytest
from amhelpers import am_alert, payload

from alertmanager_receiver.correlate import Correlation, choose_incident
from alertmanager_receiver.domain import Alert, IncidentSummary
from alertmanager_receiver.payload import PayloadError, parse_notification, parse_time
from alertmanager_receiver.priority import assess
from alertmanager_receiver.rootcause import rank
from alertmanager_receiver.topology import Topology

RULES = Correlation(("cluster", "namespace"), 600.0, "service")
TOPO = Topology({"checkout": ["payments", "cart"], "payments": ["payments-db"], "cart": []},
                {"checkout": "high", "payments": "medium", "cart": "low"})
T0 = 1_800_000_000.0


def alert(service, start=T0, status="firing", **labels):
    base = {"alertname": f"{service}Down", "service": service, **labels}
    return Alert(fingerprint=f"fp-{service}-{sorted(labels.items())}", starts_at=start, status=status, labels=base)


def incident(iid, services, group=None, first=T0, last=T0):
    return IncidentSummary(iid, set(services), group, first, last)


def test_an_alert_sharing_the_group_by_values_within_the_window_joins_that_incident():
    chosen, reason = choose_incident(alert("x", T0 + 60, cluster="c1", namespace="shop"),
                                     [incident(1, ["y"], {"cluster": "c1", "namespace": "shop"})], RULES, TOPO)
    assert chosen == 1 and "cluster=c1, namespace=shop" in reason


def test_an_alert_outside_the_window_opens_a_new_incident_with_a_reason():
    chosen, reason = choose_incident(alert("x", T0 + 3600, cluster="c1", namespace="shop"),
                                     [incident(1, ["y"], {"cluster": "c1", "namespace": "shop"})], RULES, TOPO)
    assert chosen is None and "new incident" in reason


def test_a_service_linked_through_the_topology_joins_in_either_direction():
    up, reason = choose_incident(alert("checkout", T0 + 120), [incident(7, ["payments-db"])], RULES, TOPO)
    assert up == 7 and "checkout -> payments -> payments-db" in reason
    down, reason = choose_incident(alert("payments-db", T0 + 120), [incident(8, ["checkout"])], RULES, TOPO)
    assert down == 8 and "linked" in reason


def test_services_that_only_share_a_dependency_are_not_linked():
    topo = Topology({"a": ["db"], "b": ["db"]})
    chosen, _ = choose_incident(alert("b"), [incident(1, ["a"])], RULES, topo)
    assert chosen is None


def test_the_same_service_within_the_window_joins_and_the_strongest_rule_wins():
    same, reason = choose_incident(alert("cart", T0 + 30), [incident(1, ["cart"])], RULES, TOPO)
    assert same == 1 and "same service" in reason
    incidents = [incident(1, ["cart"], last=T0 + 50), incident(2, ["z"], {"cluster": "c", "namespace": "n"})]
    best, _ = choose_incident(alert("cart", T0 + 60, cluster="c", namespace="n"), incidents, RULES, TOPO)
    assert best == 2


def test_the_failing_dependency_that_alerted_first_is_the_top_root_cause_with_an_explanation():
    alerts = [alert("payments-db", T0), alert("payments", T0 + 60), alert("checkout", T0 + 120),
              alert("cart", T0 + 300)]
    ranked = rank(alerts, TOPO, "service")
    assert ranked[0].service == "payments-db"
    assert "2 alerting service(s) depend on it (checkout, payments)" in ranked[0].explanation
    assert "first to alert" in ranked[0].explanation
    victim = next(c for c in rank(alerts, TOPO, "service", top=4) if c.service == "checkout")
    assert "may be a victim" in victim.explanation


def test_an_anomaly_score_on_an_alert_lifts_its_service_in_the_ranking():
    a = alert("cart", T0)
    b = Alert("fp-b", T0, "firing", {"alertname": "AIOpsAnomalyDetected", "service": "other"},
              {"anomaly_score": "7.5"})
    ranked = rank([a, b], Topology({}), "service")
    assert ranked[0].service == "other" and "anomaly score 7.5" in ranked[0].explanation


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


# ---- grouping a whole notification before anything is written ----

def test_a_notifications_alerts_are_placed_before_any_write_and_later_ones_join_incidents_earlier_ones_open():
    from alertmanager_receiver.correlate import Correlation
    from alertmanager_receiver.grouping import plan_grouping

    rules = Correlation(("cluster", "namespace"), 600.0, "service")
    topology = Topology({"checkout": ["payments"], "payments": ["payments-db"]})
    existing = incident(7, {"search"}, {"cluster": "c2", "namespace": "web"})
    plan = plan_grouping([alert("payments-db", T0, cluster="c1", namespace="shop"),
                          alert("checkout", T0 + 60, cluster="c1", namespace="shop"),
                          alert("search", T0 + 90, cluster="c2", namespace="web")], [existing], rules, topology)
    assert [new.key for new in plan.opened] == [-1]
    assert [p.incident for p in plan.placements] == [-1, -1, 7]
    assert plan.joined() == {7: [plan.placements[2].alert]}
    assert existing.services == {"search"}  # the caller's summaries are not modified
