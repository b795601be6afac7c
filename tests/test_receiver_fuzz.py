"""Property-based fuzzing of the webhook and the API (hypothesis): never a 5xx, never a crash,
nothing stored from an invalid request. A small sample runs in CI; raise AIOPS_FUZZ_EXAMPLES for more."""

from __future__ import annotations

import json
import os

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertmanager_receiver.context import receiver_of
from alertmanager_receiver.store import alerts, notifications

EXAMPLES = int(os.environ.get("AIOPS_FUZZ_EXAMPLES", "150"))
HOSTILE = st.sampled_from(["$(touch /tmp/pwned)", "; curl x", "{{ 7*7 }}", "../../etc/passwd", "\x00", "é" * 300,
                           "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1e309", "", " ", "null"])
TEXT = st.one_of(st.text(max_size=40), HOSTILE)
TIMES = st.one_of(st.sampled_from(["2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123456789+02:00", "1969-12-31T23:59:59Z",
                                   "10000-01-01T00:00:00Z", "not a time", ""]), st.text(max_size=30))
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
JSONISH = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(TEXT, inner, max_size=4)), max_leaves=20)
LABELS = st.dictionaries(st.one_of(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), TEXT), TEXT, max_size=5)
ALERT = st.fixed_dictionaries({"status": st.one_of(st.sampled_from(["firing", "resolved"]), TEXT),
                               "labels": st.one_of(LABELS, JSONISH), "startsAt": TIMES},
                              optional={"annotations": st.one_of(LABELS, JSONISH), "endsAt": TIMES,
                                        "fingerprint": st.one_of(TEXT, JSONISH)})
PAYLOAD = st.fixed_dictionaries({"version": st.one_of(st.just("4"), TEXT), "groupKey": TEXT, "receiver": TEXT,
                                 "status": st.one_of(st.sampled_from(["firing", "resolved"]), TEXT),
                                 "alerts": st.one_of(st.lists(ALERT, max_size=4), JSONISH)},
                                optional={"truncatedAlerts": st.one_of(st.integers(), TEXT),
                                          "groupLabels": JSONISH, "commonLabels": JSONISH})


def counts(app):
    with receiver_of(app).store.read() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in (alerts, notifications))


def test_fuzzed_webhook_payloads_never_get_a_5xx_and_invalid_ones_store_nothing(receiver_app, sqlite_url):
    made = receiver_app({"storage": {"url": sqlite_url}})
    app, client = made.app, made.client

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(PAYLOAD, JSONISH))
    def check(body):
        before = counts(app)
        response = client.post("/webhook/alertmanager", data=json.dumps(body), content_type="application/json")
        assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
        if response.status_code != 200:
            assert counts(app) == before
            assert response.status_code == 400 and response.json["error"]
        else:
            assert counts(app)[1] == before[1] + 1

    check()


def test_fuzzed_raw_bytes_never_get_a_5xx(receiver_app, sqlite_url):
    made = receiver_app({"storage": {"url": sqlite_url}})
    app, client = made.app, made.client

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.binary(max_size=300))
    def check(raw):
        before = counts(app)
        response = client.post("/webhook/alertmanager", data=raw, content_type="application/json")
        if response.status_code == 200:  # bytes that happen to be a valid notification are stored
            assert counts(app)[1] == before[1] + 1
        else:
            assert response.status_code == 400 and counts(app) == before

    check()


def test_fuzzed_api_paths_and_queries_never_get_a_5xx(receiver_app, sqlite_url):
    client = receiver_app({"storage": {"url": sqlite_url}}).client
    paths = st.sampled_from(["/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/incidents/999999999999",
                             "/api/v1/actions", "/api/v1/feedback", "/api/v1/automation"])
    posts = st.sampled_from(["/api/v1/incidents/1/ack", "/api/v1/incidents/1/resolve", "/api/v1/incidents/1/feedback",
                             "/api/v1/actions/1/approve", "/api/v1/automation/breaker/reset"])

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(paths, st.dictionaries(st.sampled_from(["status", "priority", "limit", "since", "rule", "incident_id"]),
                                  TEXT, max_size=3), posts, JSONISH)
    def check(path, query, post_path, body):
        assert client.get(path, query_string=query).status_code < 500
        assert client.post(post_path, data=json.dumps(body), content_type="application/json").status_code < 500

    check()
