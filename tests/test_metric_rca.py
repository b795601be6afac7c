"""Root cause from metrics, topology discovery parsing and the evidence worker: pure logic, tested directly."""

from __future__ import annotations

import math

from alertmanager_receiver.config import MetricEvidenceConfig
from alertmanager_receiver.discovery import edges_from_result
from alertmanager_receiver.evidence import EvidenceWorker, as_stored, from_stored
from alertmanager_receiver.metric_rca import ServiceEvidence, may_stand_in_front_of, rank, summarize
from alertmanager_receiver.topology import Edge, Topology

T0 = 1_800_000_000.0
SHOP = Topology({"frontend": ["checkout", "search"], "checkout": ["payments", "cart"], "payments": ["payments-db"],
                 "search": ["search-index"]})


def ev(peak, onset=None, usual=1.0):
    return ServiceEvidence(peak, usual, onset)


# ---- discovery ---------------------------------------------------------------------

def test_a_service_graph_result_becomes_caller_depends_on_callee_edges_and_odd_samples_are_skipped():
    result = [{"metric": {"client": "frontend", "server": "checkout"}, "value": [T0, "3.2"]},
              {"metric": {"client": "frontend", "server": "checkout", "le": "x"}, "value": [T0, "1"]},  # duplicate pair
              {"metric": {"client": "checkout"}, "value": [T0, "1"]},  # no callee
              {"metric": {"client": "db", "server": "db"}, "value": [T0, "1"]}]  # itself
    parsed = edges_from_result(result, "client", "server", "tempo")
    assert [(e.dependent, e.dependency, e.source) for e in parsed.edges] == [("frontend", "checkout", "discovered")]
    assert parsed.skipped == 2 and parsed.edges[0].detail == {"via": "tempo"}


def test_configured_edges_stay_and_outrank_a_discovered_copy():
    configured = Topology({"frontend": ["checkout"]}, {"frontend": "high"})
    merged = configured.with_edges(edges_from_result(
        [{"metric": {"a": "frontend", "b": "checkout"}}, {"metric": {"a": "checkout", "b": "db"}}], "a", "b", "s").edges)
    assert {(e.dependent, e.dependency, e.source) for e in merged.edges()} == {
        ("frontend", "checkout", "configured"), ("checkout", "db", "discovered")}
    assert merged.criticality == {"frontend": "high"} and merged.dependency_path("frontend", "db") is not None


# ---- evidence ----------------------------------------------------------------------

def test_evidence_keeps_the_peak_the_usual_high_and_when_the_episode_that_reached_the_peak_began():
    points = [(T0 + i * 60, v) for i, v in enumerate([0.3, 1.5, 2.8, 7.0, float("nan"), 6.0])]
    summary = summarize(points, usual_high=2.0)
    assert summary.peak == 7.0 and summary.usual == 2.0 and summary.onset == T0 + 120
    assert math.isclose(summary.strength, math.log(3.5))
    assert summarize(points, usual_high=0.4).usual == 1.0  # never below the band edge
    assert summarize([(T0, 0.9)], None).strength == 0.0 and summarize([], None).onset is None


def test_a_blip_over_the_usual_high_before_the_episode_does_not_date_the_anomaly_but_a_build_up_does():
    blip_then_episode = [(T0 + i * 300, v) for i, v in enumerate([0.2, 1.1, 0.3, 0.2, 2.4, 6.5, 0.8])]
    assert summarize(blip_then_episode, None).onset == T0 + 4 * 300  # not T0 + 300, a blip half an hour earlier
    build_up = [(T0 + i * 300, v) for i, v in enumerate([0.2, 1.2, 1.8, 3.0, 9.0, 2.0])]
    assert summarize(build_up, None).onset == T0 + 300
    assert summarize([(T0, 0.4), (T0 + 300, 0.9)], None).onset is None


def test_stored_evidence_round_trips():
    evidence = {"db": ev(6.0, T0, 1.5), "api": ev(0.5)}
    stored = as_stored(evidence, T0 - 1800, T0, T0)
    assert from_stored(stored) == evidence and stored["from"] == T0 - 1800


# ---- ranking -----------------------------------------------------------------------

def test_a_silent_anomalous_dependency_whose_own_dependencies_are_normal_ranks_first():
    evidence = {"frontend": ev(4.0, T0), "checkout": ev(6.0, T0 - 60), "payments": ev(9.0, T0 - 180),
                "payments-db": ev(0.8), "cart": ev(0.9), "search": ev(1.2, T0 + 600)}
    top = rank({"frontend": T0}, SHOP, evidence, step=60)
    assert top[0].service == "payments" and "checkout" in [c.service for c in top]
    assert top[0].alerting is False and top[0].factors["victim"] == 0
    text = top[0].explanation
    assert "anomalous from" in text and "3 min before the first alert" in text and "peak 9.0" in text
    assert "frontend -> checkout -> payments" in text and "silent" in text and "its own dependencies are normal" in text
    assert top[0].evidence["path"] == ["frontend", "checkout", "payments"]


def test_a_service_whose_dependency_is_as_anomalous_and_started_first_is_a_victim():
    evidence = {"checkout": ev(20.0, T0), "payments": ev(8.0, T0 - 120)}
    ranked = rank({"frontend": T0}, SHOP, evidence, step=60)
    checkout = next(c for c in ranked if c.service == "checkout")
    assert checkout.factors["victim"] > 0.5 and "may be a victim" in checkout.explanation
    assert ranked[0].service == "payments"


def test_a_victim_does_not_collect_the_credit_for_dependents_that_its_own_cause_explains():
    mesh = Topology({"frontend": ["a", "b", "c"], "a": ["mid"], "b": ["mid"], "c": ["mid"], "mid": ["db"]})
    evidence = {"a": ev(20.0, T0), "b": ev(20.0, T0), "c": ev(20.0, T0), "mid": ev(20.0, T0 - 60),
                "db": ev(5.0, T0 - 300)}  # db started first with over half mid's strength: mid is its victim
    ranked = rank({"frontend": T0}, mesh, evidence, step=60, top=5)
    assert ranked[0].service == "db"
    mid = next(c for c in ranked if c.service == "mid")
    assert 0.5 < mid.factors["victim"] < 1 and mid.factors["explains"] > ranked[0].factors["explains"]


def test_a_faint_earlier_dependency_does_not_make_a_loud_service_its_victim():
    evidence = {"checkout": ev(40.0, T0), "payments": ev(1.3, T0 - 600)}  # ln 1.3 / ln 40 < 0.5
    assert rank({"frontend": T0}, SHOP, evidence, step=60)[0].service == "checkout"


def discovered(depends_on):
    return Topology(None, None, [Edge(a, b, "discovered") for a, deps in depends_on.items() for b in deps])


BALANCED = {"frontend": ["search-lb", "search", "checkout"], "search": ["search-index", "object-store"],
            "checkout": ["payments"]}  # the front end reaches search through a balancer that sends no spans


def test_an_untraced_leaf_beside_an_anomalous_traced_service_may_stand_in_front_of_it_and_ranks_below_it():
    evidence = {"search-lb": ev(17.0, T0), "search": ev(6.0, T0), "frontend": ev(4.0, T0 + 60)}
    ranked = rank({"frontend": T0}, discovered(BALANCED), evidence, step=60, top=5)
    assert [c.service for c in ranked][:2] == ["search", "search-lb"]
    lb = ranked[1]
    assert math.isclose(lb.factors["forwarded"], 0.5 * math.log(6) / math.log(17))  # FORWARDED x the strength ratio
    assert lb.factors["victim"] == lb.factors["forwarded"]
    assert "may stand in front of it" in lb.explanation and "search" in lb.explanation
    assert ranked[0].decided_by == "above search-lb because search-lb, whose calls are not traced, may only stand in " \
                                   "front of it"


def test_the_same_leaf_ranks_first_when_its_edge_was_configured_or_the_traced_service_started_later():
    evidence = {"search-lb": ev(17.0, T0), "search": ev(6.0, T0), "frontend": ev(4.0, T0 + 60)}
    configured = Topology(BALANCED)  # a hand-written topology says what the leaf calls: nothing
    assert rank({"frontend": T0}, configured, evidence, step=60)[0].service == "search-lb"
    later = {**evidence, "search": ev(6.0, T0 + 300)}  # search became anomalous five minutes after the balancer
    ranked = rank({"frontend": T0}, discovered(BALANCED), later, step=60)
    assert ranked[0].service == "search-lb" and ranked[0].factors["forwarded"] == 0


def test_only_traced_siblings_that_do_not_call_the_leaf_are_what_it_may_stand_in_front_of():
    topology = discovered({**BALANCED, "checkout": ["payments", "search-lb"]})
    nodes = ["search", "checkout", "object-store", "payments"]
    # checkout calls the balancer itself (so is its dependent), object-store is not beside it, payments sends no spans
    assert may_stand_in_front_of("search-lb", nodes, topology) == ["search"]
    assert may_stand_in_front_of("search", nodes, topology) == []  # its calls are seen
    assert may_stand_in_front_of("object-store", nodes, topology) == []  # no traced service beside it


def test_a_candidate_no_anomalous_path_reaches_counts_half():
    evidence = {"payments": ev(8.0, T0), "checkout": ev(0.5), "search-index": ev(8.0, T0), "search": ev(3.0, T0)}
    ranked = {c.service: c for c in rank({"frontend": T0}, SHOP, evidence, step=60, top=5)}
    assert ranked["payments"].factors["connected"] == 0.0 and ranked["search-index"].factors["connected"] == 1.0
    assert ranked["search-index"].score > ranked["payments"].score
    assert "no anomalous path" in ranked["payments"].explanation


def test_dependencies_beyond_max_hops_and_normal_services_are_not_candidates():
    evidence = {"payments-db": ev(9.0, T0), "cart": ev(0.4), "frontend": ev(0.5)}
    assert [c.service for c in rank({"frontend": T0}, SHOP, evidence, max_hops=2, step=60)] == []
    assert [c.service for c in rank({"frontend": T0}, SHOP, evidence, max_hops=3, step=60)] == ["payments-db"]


def test_an_alerting_service_without_scores_still_counts_from_its_alert():
    top = rank({"checkout": T0}, SHOP, {"payments": ev(1.2, T0 + 30)}, step=60)
    assert {c.service for c in top} == {"checkout", "payments"}
    alerting = next(c for c in top if c.service == "checkout")
    assert alerting.alerting and alerting.evidence == {"from": "alert"} and "no anomaly scores" in alerting.explanation


def test_nothing_anomalous_gives_no_candidates():
    assert rank({"frontend": T0}, SHOP, {"frontend": ev(0.5), "checkout": ev(0.9)}) == []


# ---- the worker's pace ---------------------------------------------------------------

class Ticks:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_an_incident_is_computed_at_once_then_at_most_once_per_refresh():
    clock, done = Ticks(), []
    worker = EvidenceWorker(MetricEvidenceConfig(refresh="60s"), done.append, clock)
    worker.request([7, 8])
    assert worker.take_due() == 7 and worker.take_due() == 8 and worker.take_due() is None
    worker.request([7])
    worker.request([7])  # already queued: once
    clock.now += 59
    assert worker.take_due() is None and worker.pending() == 1
    clock.now += 1
    assert worker.take_due() == 7 and worker.pending() == 0
