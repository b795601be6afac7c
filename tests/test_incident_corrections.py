"""Late evidence merges incidents; operators split and merge them; the topology API shows what was learned."""

from __future__ import annotations

import threading

import pytest
from amhelpers import T0, payload, post, service_alert
from conftest import count

from alertmanager_receiver.maintenance import Maintenance
from alertmanager_receiver.store import incidents as incidents_t

DAY = 86400.0
FANIN = {"api": {"depends_on": ["db"]}, "worker": {"depends_on": ["db"]}, "frontend": {"depends_on": ["api"]}}


def fire(client, service, start, group=None, **labels):
    response = post(client, payload([service_alert(service, start, cluster="c1", namespace="shop", **labels)],
                                    group_key=group or f"g-{service}-{start}"))
    assert response.status_code == 200, response.json
    return response.json


def placed(response: dict) -> int:
    """The incident a fired alert went to: the newest one the answer names (it also names incidents whose
    earlier occurrence of the same alert the new one ended)."""
    return max(response["incidents"])


def incident(client, incident_id):
    return client.get(f"/api/v1/incidents/{incident_id}").json


def test_a_late_root_cause_both_incidents_depend_on_merges_them_into_one_led_by_it(make_receiver, sqlite_url):
    app, client = make_receiver(sqlite_url, topology=FANIN)
    assert fire(client, "api", T0)["incidents"] == [1]
    assert fire(client, "worker", T0 + 30)["incidents"] == [2]  # siblings: no evidence they belong together yet
    assert fire(client, "db", T0 + 400)["incidents"] == [1, 2]
    merged, survivor = incident(client, 2), incident(client, 1)
    assert merged["status"] == "merged" and merged["merged_into"] == 1 and merged["alerts"] == []
    assert "merged_into" in [e["kind"] for e in merged["timeline"]]
    assert survivor["alert_count"] == 3 and survivor["services"] == ["api", "db", "worker"]
    assert survivor["root_cause_candidates"][0]["service"] == "db"
    absorbed = [e for e in survivor["timeline"] if e["kind"] == "absorbed"]
    assert absorbed and absorbed[0]["incident"] == 2 and "links incidents" in absorbed[0]["reason"]
    refused = client.post("/api/v1/incidents/2/ack", json={"by": "alice"})
    assert refused.status_code == 409 and refused.json["merged_into"] == 1
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'aiops_receiver_incident_merges_total{how="late_evidence"} 1.0' in metrics
    assert count(app, incidents_t) == 2


def test_an_operator_splits_alerts_of_other_services_into_a_new_incident(make_receiver, sqlite_url):
    app, client = make_receiver(sqlite_url, topology=FANIN)
    for offset, service in enumerate(("db", "api", "frontend")):
        fire(client, service, T0 + offset * 30)
    assert len(client.get("/api/v1/incidents").json["incidents"]) == 1
    response = client.post("/api/v1/incidents/1/split", json={"services": ["frontend"], "by": "bob"})
    assert response.status_code == 201 and response.json["moved_alerts"] == 1
    new_id = response.json["new_incident_id"]
    assert incident(client, new_id)["services"] == ["frontend"]
    assert incident(client, 1)["services"] == ["api", "db"]
    split = [e for e in incident(client, 1)["timeline"] if e["kind"] == "split"]
    assert split == [{**split[0], "into": new_id, "by": "bob", "services": ["frontend"], "alerts": 1}]


@pytest.mark.parametrize("body, status, message", [
    ({}, 400, "body must be"),
    ({"services": []}, 400, "name the alerts"),
    ({"services": "db"}, 400, "list of non-empty strings"),
    ({"fingerprints": ["nope"]}, 400, "no alert of the incident matches"),
    ({"services": ["db", "api"]}, 400, "every alert"),
])
def test_a_split_that_cannot_be_carried_out_is_refused_with_the_reason(make_receiver, sqlite_url, body, status,
                                                                       message):
    _, client = make_receiver(sqlite_url, topology=FANIN)
    fire(client, "db", T0)
    fire(client, "api", T0 + 30)
    response = client.post("/api/v1/incidents/1/split", json=body)
    assert response.status_code == status and message in response.json["error"]
    assert client.post("/api/v1/incidents/99/split", json={"services": ["db"]}).status_code == 404


def test_an_operator_merges_two_incidents_and_the_absorbed_one_points_to_the_survivor(make_receiver, sqlite_url):
    _, client = make_receiver(sqlite_url, topology=FANIN)
    fire(client, "api", T0)
    fire(client, "api", T0 + 5, instance="b")
    fire(client, "search", T0 + 20)
    response = client.post("/api/v1/incidents/2/merge", json={"incident_id": 1, "by": "carol"})
    assert response.status_code == 200 and response.json == {"survivor": 1, "absorbed": 2, "by": "carol"}
    assert incident(client, 2)["merged_into"] == 1
    assert [e for e in incident(client, 1)["timeline"] if e["kind"] == "absorbed"][0]["by"] == "carol"
    assert client.post("/api/v1/incidents/1/merge", json={"incident_id": 2}).status_code == 409
    assert client.post("/api/v1/incidents/1/merge", json={"incident_id": 1}).status_code == 400
    assert client.post("/api/v1/incidents/1/merge", json={"incident_id": "2"}).status_code == 400


def history_of(client, first, second, episodes=3, start=T0 - 7 * DAY):
    """Earlier incidents in which `second` started alerting a minute after `first`, days apart."""
    for k in range(episodes):
        at = start + k * 2 * DAY
        fire(client, first, at, group=f"h-{k}-a")
        fire(client, second, at + 60, group=f"h-{k}-b")


def test_services_that_alerted_together_before_become_an_inferred_edge_that_joins_and_ranks(make_receiver,
                                                                                           sqlite_url):
    _, client = make_receiver(sqlite_url, topology=FANIN)
    history_of(client, "metadata-cache", "catalog")
    edges = client.get("/api/v1/topology").json["edges"]
    inferred = [e for e in edges if e["source"] == "inferred"]
    assert inferred == [{"from": "catalog", "to": "metadata-cache", "source": "inferred",
                         "scope": {"cluster": "c1", "namespace": "shop"}, "seen_together": inferred[0]["seen_together"],
                         "same_order": 1.0}]
    assert inferred[0]["seen_together"] >= 2.5
    assert {"from": "api", "to": "db", "source": "configured"} in edges
    now = placed(fire(client, "catalog", T0))
    assert placed(fire(client, "metadata-cache", T0 + 240)) == now
    top = incident(client, now)["root_cause_candidates"][0]
    assert top["service"] == "metadata-cache" and "inferred (seen together" in top["explanation"]


def test_a_false_positive_verdict_unlearns_the_pairs_of_its_incident(make_receiver, sqlite_url):
    _, client = make_receiver(sqlite_url)
    history_of(client, "metadata-cache", "catalog", episodes=4)
    assert any(e["source"] == "inferred" for e in client.get("/api/v1/topology").json["edges"])
    joined = placed(fire(client, "metadata-cache", T0))
    assert placed(fire(client, "catalog", T0 + 60)) == joined
    response = client.post(f"/api/v1/incidents/{joined}/feedback", json={"verdict": "false_positive"})
    assert response.status_code == 201
    assert not any(e["source"] == "inferred" for e in client.get("/api/v1/topology").json["edges"])


def test_learned_pairs_survive_a_restart(receiver_app, sqlite_url, clock):
    first = receiver_app({"storage": {"url": sqlite_url}})
    history_of(first.client, "metadata-cache", "catalog")
    Maintenance(first.receiver, threading.Event()).close_quiet_incidents(clock())  # counts the last episode
    first.receiver.store.dispose()
    again = receiver_app({"storage": {"url": sqlite_url}})
    assert [e["from"] for e in again.client.get("/api/v1/topology").json["edges"] if e["source"] == "inferred"] \
        == ["catalog"]
