"""benchmarks/rca_synthetic.py: generated incidents ranked by the receiver's pure ranking."""

import json
import random

from benchmarks import rca_synthetic


def test_a_generated_incident_has_its_cause_anomalous_and_an_alert_above_it():
    case = rca_synthetic.incident(random.Random(3), noise=0.1)
    cause_points = [v for _, v in case["points"][case["cause"]]]
    assert max(cause_points) > 4  # strength 1.5 at least: a peak of e^1.5
    assert any(b == case["cause"] for _, b in case["edges"])  # something calls it, as the graph shows
    assert not any(caller.endswith("-lb") for caller, _ in case["edges"])  # what a balancer calls is not seen


def test_the_ranking_finds_traced_causes_that_a_balancer_fronts_and_keeps_leaf_causes(tmp_path, capsys):
    out = tmp_path / "synthetic.json"
    assert rca_synthetic.main(["--count", "400", "--seed", "1", "--output", str(out)]) == 0
    figures = json.loads(out.read_text())["figures"]
    assert figures["as it is"]["service"]["top1"] > figures["forwarding off"]["service"]["top1"] + 0.1
    assert figures["as it is"]["leaf"]["top1"] == figures["forwarding off"]["leaf"]["top1"]
    assert "top-1 / top-3" in capsys.readouterr().out
