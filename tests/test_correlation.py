"""Correlation, merging, ranking and learned co-occurrence: pure logic, tested directly."""

from __future__ import annotations

from alertmanager_receiver.cooccurrence import CoOccurrence, Settings
from alertmanager_receiver.correlate import Correlation, decide, relations
from alertmanager_receiver.domain import Alert, IncidentSummary
from alertmanager_receiver.grouping import plan_grouping
from alertmanager_receiver.rootcause import rank
from alertmanager_receiver.topology import Edge, Topology

T0 = 1_800_000_000.0
RULES = Correlation(("cluster", "namespace"), 600.0, "service", ("cluster",))
SHOP = {"cluster": "c1", "namespace": "shop"}
TOPO = Topology({"checkout": ["payments", "cart"], "payments": ["payments-db"], "search": ["search-cache"],
                 "frontend": ["checkout", "search"]})


def alert(service, start=T0, status="firing", severity="critical", fingerprint=None, **labels):
    scope = {**SHOP, **labels}
    base = {"alertname": f"{service}Errors", "service": service, "severity": severity, **scope}
    return Alert(fingerprint or f"fp-{service}-{sorted(scope.items())}", start, status, base)


def incident(iid, services, scope=None, first=T0, last=T0, count=1, keys=()):
    values = {**SHOP, **(scope or {})}
    return IncidentSummary(iid, set(services), values, first, last, "open", set(keys), count)


def graph(_values=None):
    return TOPO


# ---- which incident an alert joins -----------------------------------------------

def test_sharing_the_namespace_and_the_minute_is_not_a_reason_to_join():
    decision = decide(alert("billing"), [incident(1, ["search"])], RULES, TOPO)
    assert decision.join is None and "new incident" in decision.reason


def test_a_dependency_path_joins_in_either_direction_and_says_which_way():
    victim = decide(alert("checkout", T0 + 60), [incident(7, ["payments-db"])], RULES, TOPO)
    assert victim.join == 7 and "checkout -> payments -> payments-db" in victim.reason
    cause = decide(alert("payments-db", T0 + 60), [incident(8, ["checkout"])], RULES, TOPO)
    assert cause.join == 8 and "checkout depends on it" in cause.reason


def test_services_that_only_share_a_dependency_stay_apart_until_the_dependency_alerts():
    topo = Topology({"a": ["db"], "b": ["db"]})
    assert decide(alert("b"), [incident(1, ["a"])], RULES, topo).join is None


def test_the_same_service_joins_only_within_its_scope_and_window():
    assert decide(alert("cart", T0 + 30), [incident(1, ["cart"])], RULES, TOPO).join == 1
    assert decide(alert("cart", T0 + 30, namespace="other"), [incident(1, ["cart"])], RULES, TOPO).join is None
    assert decide(alert("cart", T0 + 3600), [incident(1, ["cart"])], RULES, TOPO).join is None


def test_an_explicit_dependency_crosses_namespaces_but_never_clusters():
    db_in_data = incident(3, ["payments-db"], {"namespace": "data"})
    assert decide(alert("payments"), [db_in_data], RULES, TOPO).join == 3
    assert decide(alert("payments", cluster="c2"), [db_in_data], RULES, TOPO).join is None


def test_an_inferred_edge_joins_only_within_the_scope_and_counts_as_weaker():
    topo = TOPO.with_edges([Edge("catalog", "metadata-cache", "inferred", {"seen_together": 4})])
    found = relations(alert("metadata-cache"), [incident(5, ["catalog"])], RULES, topo)
    assert found[0].kind == "inferred" and "[inferred]" in found[0].reason
    assert decide(alert("metadata-cache", namespace="other"), [incident(5, ["catalog"])], RULES, topo).join is None


def test_an_alert_without_a_service_joins_only_the_same_alert_on_the_same_instance():
    node = Alert("fp-n", T0, "firing", {"alertname": "NodeDown", "instance": "10.0.0.1", **SHOP})
    assert decide(node, [incident(1, ["search"])], RULES, TOPO).join is None
    assert decide(node, [incident(2, [], keys=["NodeDown@10.0.0.1"])], RULES, TOPO).join == 2


def test_a_late_dependency_of_two_incidents_merges_them_into_the_larger():
    incidents = [incident(1, ["checkout"], count=5), incident(2, ["search"], count=9)]
    topo = TOPO.with_edges([Edge("checkout", "shared-db", "configured"), Edge("search", "shared-db", "configured")])
    decision = decide(alert("shared-db", T0 + 120), incidents, RULES, topo)
    assert decision.join == 2 and decision.merge == (1,)
    assert "links incidents" in decision.reason


def test_a_victim_of_two_independent_failures_joins_the_closest_and_merges_nothing():
    incidents = [incident(1, ["payments"], count=5), incident(2, ["search-cache"], count=3)]
    topo = TOPO.with_edges([Edge("payments", "payments-db", "configured")])
    decision = decide(alert("frontend", T0 + 60), incidents, RULES, topo)
    assert decision.merge == () and decision.join in (1, 2)
    direct = decide(alert("search", T0 + 60), incidents, RULES, topo)
    assert direct.join == 2 and direct.merge == ()


def test_a_plan_places_every_alert_before_any_write_and_carries_out_merges_in_order():
    topo = TOPO.with_edges([Edge("checkout", "shared-db", "configured"), Edge("search", "shared-db", "configured")])
    plan = plan_grouping([alert("checkout", T0), alert("search", T0 + 10), alert("billing", T0 + 20),
                          alert("shared-db", T0 + 30)], [incident(9, ["checkout"])], RULES, lambda _values: topo)
    assert plan.placements[0].incident == 9  # the same service: joins the open incident
    assert [new.key for new in plan.opened] == [-1, -2]  # search only shares a dependency with checkout
    assert plan.merges and plan.final(-1) == 9 and plan.final(plan.placements[3].incident) == 9
    assert plan.final(plan.placements[2].incident) == -2  # billing stays alone
    assert sorted(plan.joined()) == [-2, 9] and len(plan.joined()[9]) == 3


def test_two_independent_failures_in_the_same_minute_stay_two_incidents():
    storm = [alert("payments-db", T0), alert("search-cache", T0 + 5), alert("payments", T0 + 30),
             alert("search", T0 + 40), alert("checkout", T0 + 60)]
    plan = plan_grouping(storm, [], RULES, graph)
    groups: dict[int, set[str]] = {}
    for placement in plan.placements:
        groups.setdefault(plan.final(placement.incident), set()).add(placement.alert.labels["service"])
    assert sorted(map(sorted, groups.values())) == [["checkout", "payments", "payments-db"], ["search", "search-cache"]]


# ---- ranking ---------------------------------------------------------------------

def test_the_dependency_that_explains_the_others_ranks_first_even_when_it_alerted_last():
    alerts = [alert("checkout", T0), alert("payments", T0 + 60), alert("payments-db", T0 + 600)]
    top = rank(alerts, TOPO, "service")
    assert top[0].service == "payments-db" and top[0].factors["explains"] == 1.0
    assert "2 of 2 other alerting service(s) depend on it" in top[0].explanation
    assert top[0].decided_by == "above payments because it depends on no other alerting service"
    victim = next(c for c in rank(alerts, TOPO, "service", top=3) if c.service == "checkout")
    assert "may be a victim" in victim.explanation


def test_alert_order_breaks_ties_only_between_services_the_topology_cannot_order():
    alerts = [alert("x", T0 + 30), alert("y", T0)]
    ranked = rank(alerts, Topology({}), "service")
    assert [c.service for c in ranked] == ["y", "x"] and "alerted earlier and the topology" in ranked[0].decided_by


def test_noise_signals_push_a_candidate_down_and_say_so():
    flapping = [alert("noisy", T0 + i * 60, fingerprint="fp-flap") for i in range(4)]
    quiet = [alert("batch", T0 - 60, severity="info")]
    cascade = [alert("payments-db", T0 + 100), alert("payments", T0 + 130)]
    ranked = rank(flapping + quiet + cascade, TOPO, "service", top=4)
    assert ranked[0].service == "payments-db"
    by_name = {c.service: c for c in ranked}
    assert by_name["noisy"].factors["flapping"] == 1 and "flapping" in by_name["noisy"].explanation
    assert by_name["batch"].factors["low_severity"] == 1 and "low" in by_name["batch"].explanation
    assert by_name["batch"].factors["isolated"] == 1


def test_an_inferred_edge_orders_candidates_but_weaker_and_is_named_in_the_explanation():
    topo = Topology({}).with_edges([Edge("catalog", "metadata-cache", "inferred", {"seen_together": 4.0})])
    ranked = rank([alert("catalog", T0), alert("metadata-cache", T0 + 200)], topo, "service")
    assert ranked[0].service == "metadata-cache" and ranked[0].factors["explains"] == 0.5
    assert "inferred (seen together 4 times)" in ranked[0].explanation


def test_an_anomaly_score_lifts_a_service_among_unrelated_ones():
    scored = Alert("fp-b", T0, "firing", {"alertname": "AIOpsAnomalyDetected", "service": "other"},
                   {"anomaly_score": "7.5"})
    ranked = rank([alert("cart", T0), scored], Topology({}), "service")
    assert ranked[0].service == "other" and "anomaly score 7.5" in ranked[0].explanation


# ---- learned co-occurrence -------------------------------------------------------

DAY = 86400.0


def learn(pairs, episodes=3, gap=2 * DAY, **settings):
    model = CoOccurrence(Settings(**settings))
    for k in range(episodes):
        for service, offset in pairs:
            model.observe(("c1", "shop"), service, T0 + k * gap + offset)
    return model


def test_services_that_keep_starting_together_in_the_same_order_become_an_inferred_edge():
    model = learn([("metadata-cache", 0), ("catalog", 90)])
    edges = model.edges(("c1", "shop"), T0 + 5 * DAY)
    assert [(e.dependent, e.dependency) for e in edges] == [("catalog", "metadata-cache")]
    assert edges[0].detail["seen_together"] >= 2.5 and edges[0].describe().startswith("inferred (seen together")


def test_too_few_times_or_no_stable_order_infers_nothing():
    assert learn([("a", 0), ("b", 60)], episodes=2).edges(("c1", "shop"), T0 + 5 * DAY) == []
    model = CoOccurrence()
    for k, (first, second) in enumerate([("a", "b"), ("b", "a"), ("a", "b"), ("b", "a")]):
        model.observe(("c1", "shop"), first, T0 + k * 2 * DAY)
        model.observe(("c1", "shop"), second, T0 + k * 2 * DAY + 60)
    assert model.edges(("c1", "shop"), T0 + 9 * DAY) == []


def test_a_service_that_alerts_all_the_time_is_not_inferred_from_chance_meetings():
    model = CoOccurrence()
    for k in range(300):  # a noisy service: an onset every 20 minutes for four days
        model.observe(("c1", "shop"), "noisy", T0 + k * 1200)
    for k in range(4):
        model.observe(("c1", "shop"), "rare", T0 + k * DAY + 300)
    assert model.edges(("c1", "shop"), T0 + 4 * DAY) == []


def test_a_repeated_alert_of_an_ongoing_episode_is_not_a_new_onset_and_scopes_are_separate():
    model = CoOccurrence()
    assert model.observe(("c1", "shop"), "a", T0)
    assert not model.observe(("c1", "shop"), "a", T0 + 60)
    assert model.onset_count(("c1", "shop"), "a", T0) == 1.0
    model.observe(("c1", "other"), "b", T0 + 30)
    assert model.pairs == {}


def test_operators_corrections_weaken_and_strengthen_pairs_and_memory_is_bounded():
    model = learn([("metadata-cache", 0), ("catalog", 90)])
    model.weaken(("c1", "shop"), ["catalog"], ["metadata-cache"])
    assert model.edges(("c1", "shop"), T0 + 5 * DAY) == []
    bounded = CoOccurrence(Settings(max_pairs=10))
    for k in range(30):
        bounded.observe(("s",), f"svc-{k}", T0 + k)
    bounded.flush(T0 + DAY)
    assert len(bounded.pairs) > 10 and bounded.prune() > 0 and len(bounded.pairs) == 9  # down to 90%


def test_a_second_independent_failure_under_a_shared_victim_starts_its_own_incident():
    topo = Topology({"gateway": ["profile-api", "login-api"], "profile-api": ["session-cache"],
                     "login-api": ["auth-db"]})
    storm = [alert("gateway", T0), alert("session-cache", T0 + 10), alert("auth-db", T0 + 20),
             alert("profile-api", T0 + 30), alert("login-api", T0 + 40)]
    plan = plan_grouping(storm, [], RULES, lambda _values: topo)
    home = {p.alert.labels["service"]: plan.final(p.incident) for p in plan.placements}
    assert home["session-cache"] == home["gateway"] == home["profile-api"]
    assert home["auth-db"] != home["gateway"] and home["login-api"] == home["auth-db"]


def test_a_service_alerting_just_before_in_the_same_scope_is_listed_after_the_incidents_own_root_and_above_its_victims():
    from alertmanager_receiver.rootcause import Nearby

    alerts = [alert("catalog", T0), alert("storefront", T0 + 60)]
    topo = Topology({"storefront": ["catalog"]})
    ranked = rank(alerts, topo, "service", nearby=[Nearby("metadata-cache", 4, T0 - 45, 1)])
    assert [c.service for c in ranked] == ["catalog", "metadata-cache", "storefront"]
    assert "incident #4" in ranked[1].explanation and "lacks an edge" in ranked[1].explanation
    alone = rank([alert("catalog", T0)], topo, "service", nearby=[Nearby("metadata-cache", 4, T0 - 45, 1)])
    assert [c.service for c in alone] == ["catalog", "metadata-cache"]  # close in time never comes first
