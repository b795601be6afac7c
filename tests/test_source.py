"""PrometheusSource against a real Prometheus and against misbehaving HTTP servers."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from devstack.procs import free_port
from exporter.config import PrometheusConfig
from exporter.source import PrometheusSource, QueryStats, SourceError


def source(url, **extra):
    return PrometheusSource(PrometheusConfig(url=url, timeout="2s", retries=2, backoff="0.05s", **extra),
                            sleep=lambda s: None)


@pytest.mark.integration
def test_a_range_longer_than_the_point_limit_is_fetched_in_chunks_without_gaps(prometheus):
    end = prometheus.history_end
    stats = QueryStats()
    fine = source(prometheus.url).query_range("demo_cpu_usage", end - 6 * 86400, end, 30, stats)
    assert fine.values.shape[1] == 6 * 86400 // 30 + 1 > 11000
    assert stats.requests == 3  # a few points while the series count is unknown, then 10,000, then the rest
    assert np.isfinite(fine.values).all()
    coarse = source(prometheus.url).query_range("demo_cpu_usage", end - 6 * 86400, end, 60)
    order = [fine.labels.index(lab) for lab in coarse.labels]
    assert np.allclose(fine.values[order][:, ::2], coarse.values)


@pytest.mark.integration
def test_history_chunks_shrink_so_that_one_response_holds_about_the_sample_budget(prometheus, monkeypatch):
    import exporter.source as source_module

    end = prometheus.history_end
    expr = "demo_cpu_usage + 0"  # not a plain selector: read in time chunks of all series
    whole = source(prometheus.url).query_range(expr, end - 86400, end, 60)
    monkeypatch.setattr(source_module, "MAX_SAMPLES_PER_REQUEST", 4 * 200)  # 4 series -> 200 points a request
    stats = QueryStats()
    chunked = source(prometheus.url).query_range(expr, end - 86400, end, 60, stats)
    assert source_module.FIRST_CHUNK_POINTS == 5
    assert stats.requests == 12  # 5, 10, 20, 40, 80, 160 points, then 200 (the budget for 4 series) up to 1,441
    order = [chunked.labels.index(lab) for lab in whole.labels]
    assert np.array_equal(chunked.values[order], whole.values, equal_nan=True)


@pytest.mark.integration
@pytest.mark.parametrize("concurrent_reads", [1, 3])
def test_a_long_read_of_a_plain_selector_goes_a_group_of_series_at_a_time_with_the_same_result(
        prometheus, monkeypatch, concurrent_reads):
    import exporter.source as source_module

    end = prometheus.history_end
    whole = source(prometheus.url).query_range("demo_cpu_usage", end - 86400, end, 60)
    monkeypatch.setattr(source_module, "MAX_SAMPLES_PER_REQUEST", 2 * 1441)  # a day of 2 series a request
    stats = QueryStats()
    grouped = source(prometheus.url, concurrent_reads=concurrent_reads).query_range(
        "demo_cpu_usage", end - 86400, end, 60, stats)
    assert stats.requests == 1 + 2  # the series list, then 2 groups of 2 series over the whole range
    order = [grouped.labels.index(lab) for lab in whole.labels]
    assert np.array_equal(grouped.values[order], whole.values, equal_nan=True)
    assert np.isfinite(grouped.values).all()


@pytest.mark.integration
def test_series_groups_match_label_values_with_regex_metacharacters_and_quotes_exactly(prometheus, live_target):
    from exporter.source import series_groups

    awkward = ["a.b", "aXb", "a+b|c", 'q"uote\\back', "ü nicode", "x*", "(y)", ""]
    for value in awkward:
        live_target.gauge.labels(value).set(1)
    expr = 'live_queue_depth{job="live"}'
    deadline = time.monotonic() + 60
    while (not set(awkward) <= {r["metric"].get("queue", "") for r in prometheus.query(expr)}
           and time.monotonic() < deadline):
        time.sleep(0.5)  # until Prometheus has scraped them all
    series = [r["metric"] for r in prometheus.query(expr)]
    groups = series_groups(expr, series, per_group=1)
    assert groups is not None and sum(count for _, count in groups) == len(series)
    for group_expr, count in groups:  # each group selects exactly its own series, no more
        assert len(prometheus.query(group_expr)) == count, group_expr
    for value in awkward:
        live_target.gauge.remove(value)


def test_only_plain_selectors_are_narrowed_to_groups_of_series():
    from exporter.source import series_groups

    labels = [{"__name__": "m", "instance": f"h{i}", "job": "j"} for i in range(4)]
    assert series_groups('m{job="j"}', labels, 2) == [('m{job="j", instance=~"h0|h1"}', 2),
                                                      ('m{job="j", instance=~"h2|h3"}', 2)]
    for expr in ["rate(m[5m])", "m offset 5m", 'm{a="x"} or n{b="y"}', "sum(m)", "m[5m]"]:
        assert series_groups(expr, labels, 2) is None, expr


@pytest.mark.parametrize("expr", [
    '{__name__=~"demo_cpu_usage|live_queue_depth"}',  # a plain selector: listed, then read per series
    'label_replace({__name__=~"demo_cpu_usage|live_queue_depth"}, "x", "y", "", "")',  # time chunks
])
@pytest.mark.integration
def test_series_that_appear_late_in_a_chunked_range_get_rows_too(prometheus, live_target, monkeypatch, expr):
    import exporter.source as source_module

    live_target.gauge.labels("late-in-range").set(7)
    deadline = time.monotonic() + 60
    while not prometheus.query('live_queue_depth{queue="late-in-range"}') and time.monotonic() < deadline:
        time.sleep(0.5)  # until Prometheus has scraped it
    monkeypatch.setattr(source_module, "FIRST_CHUNK_POINTS", 2)
    monkeypatch.setattr(source_module, "MAX_SAMPLES_PER_REQUEST", 4 * 700)  # ~700 points a request for 4 series
    end = time.time() + 120  # grid points after the live series began (lookback carries its sample)
    batch = source(prometheus.url).query_range(expr, end - 2 * 86400, end, 60)
    names = [labels["__name__"] for labels in batch.labels]
    assert names.count("demo_cpu_usage") == 4 and "live_queue_depth" in names
    late = names.index("live_queue_depth")
    assert late >= 4 and np.isnan(batch.values[late, 0]) and batch.values.shape[0] == len(batch.labels)
    live_target.gauge.remove("late-in-range")


@pytest.mark.integration
def test_bad_promql_is_an_error_but_not_an_unreachable_source_and_is_not_retried(prometheus):
    stats = QueryStats()
    with pytest.raises(SourceError) as err:
        source(prometheus.url).query_range("rate(demo_cpu_usage", 0, 600, 60, stats)
    assert not err.value.unreachable
    assert stats.requests == 1


def test_a_closed_port_is_unreachable_after_the_configured_retries():
    stats = QueryStats()
    with pytest.raises(SourceError) as err:
        source(f"http://127.0.0.1:{free_port()}").query_range("up", 0, 600, 60, stats)
    assert err.value.unreachable
    assert stats.requests == 3 and stats.retries == 2


class _Handler(BaseHTTPRequestHandler):
    body = b"{"
    seen_headers: list = []

    def do_GET(self):
        type(self).seen_headers.append(dict(self.headers))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_http():
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Handler.seen_headers = []
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.mark.parametrize("body", [b"{", b"<html>oops</html>", b'{"status":"success","data":{"result":7}}',
                                  b'{"status":"success","data":{"result":[{"values":[[1,"x"]]}]}}'])
def test_malformed_responses_raise_a_source_error_instead_of_crashing(fake_http, body):
    _Handler.body = body
    with pytest.raises(SourceError, match="malformed"):
        source(fake_http).query_range("up", 0, 600, 60)


def test_bearer_token_from_a_file_and_extra_headers_are_sent(fake_http, tmp_path):
    _Handler.body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "up"}, "values": [[0, "1"], [60, "NaN"], [120, "+Inf"]]}]}}).encode()
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    batch = source(fake_http, bearer_token_file=str(token), headers={"X-Scope-OrgID": "team-a"}).query_range(
        "up", 0, 120, 60)
    headers = _Handler.seen_headers[-1]
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["X-Scope-OrgID"] == "team-a"
    assert batch.values[0, 0] == 1 and np.isnan(batch.values[0, 1]) and np.isinf(batch.values[0, 2])


def test_a_grouped_read_that_fails_midway_raises_after_its_retries_and_sends_nothing_more(monkeypatch):
    import exporter.source as source_module

    series = [{"__name__": "m", "instance": f"h{i}"} for i in range(6)]
    ranges = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            if self.path.startswith("/api/v1/series"):
                body = {"status": "success", "data": series}
            elif not ranges:
                ranges.append(self.path)
                body = {"status": "success", "data": {"resultType": "matrix", "result": [
                    {"metric": series[0], "values": [[600, "1"]]}]}}
            else:
                ranges.append(self.path)
                self.send_response(503)
                self.end_headers()
                return
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(source_module, "MAX_SAMPLES_PER_REQUEST", 11)  # 11 points: one series a request
    stats = QueryStats()
    try:
        with pytest.raises(SourceError) as err:
            source(f"http://127.0.0.1:{server.server_port}", concurrent_reads=2).query_range("m", 0, 600, 60, stats)
    finally:
        server.shutdown()
    assert err.value.unreachable and "503" in str(err.value)
    assert stats.retries >= 2  # the failing request was retried (retries=2) before giving up
    assert len(ranges) <= 1 + 2 * 3  # the first group, then at most 2 in flight with their attempts


@pytest.mark.integration
def test_a_shard_reads_only_the_groups_of_its_own_series(prometheus, monkeypatch):
    import exporter.source as source_module
    from exporter.series import shard_of

    end = prometheus.history_end
    whole = source(prometheus.url).query_range("demo_cpu_usage", end - 86400, end, 60)
    monkeypatch.setattr(source_module, "MAX_SAMPLES_PER_REQUEST", 1441)  # a day of one series a request
    own = [labels for labels in whole.labels if shard_of(labels, 2) == 0]
    assert 0 < len(own) < len(whole.labels)  # the 4 demo series split between 2 shards
    stats = QueryStats()
    mine = source(prometheus.url).query_range("demo_cpu_usage", end - 86400, end, 60, stats,
                                             wanted=lambda labels: shard_of(labels, 2) == 0)
    assert stats.requests == 1 + len(own)  # the series list, then one request per own series
    for labels in own:
        np.testing.assert_array_equal(mine.values[mine.labels.index(labels)], whole.values[whole.labels.index(labels)])


@pytest.mark.integration
def test_a_long_grouped_read_logs_its_progress(prometheus, monkeypatch, caplog):
    import logging

    import exporter.source as source_module

    end = prometheus.history_end
    monkeypatch.setattr(source_module, "MAX_SAMPLES_PER_REQUEST", 1441 // 4)  # a day of one series in 5 requests of 360 points
    with caplog.at_level(logging.INFO, logger="exporter.source"):
        source(prometheus.url).query_range("demo_cpu_usage", end - 86400, end, 60)
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("history read:")]
    assert progress == ["history read: 10 of 20 requests, 2 series so far"]
