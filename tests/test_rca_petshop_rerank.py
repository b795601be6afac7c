"""benchmarks/rca_petshop.py --rerank: the committed results ranked again from the evidence they stored."""

import json
from pathlib import Path

import pytest

from benchmarks import rca_petshop

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "rca_petshop.json"


@pytest.mark.skipif(not (rca_petshop.DEFAULT_DIR / "low_traffic" / "graph.csv").exists(),
                    reason="PetShop's data is not beside the project (../shared/petshop)")
def test_reranking_the_committed_results_gives_the_candidates_their_run_wrote(tmp_path, capsys):
    out = tmp_path / "again.json"
    assert rca_petshop.main(["--rerank", str(RESULTS), "--output", str(out)]) == 0
    written, again = json.loads(RESULTS.read_text()), json.loads(out.read_text())
    assert [r["candidates"] for r in again["rows"]] == [r["candidates"] for r in written["rows"]]
    assert again["summary"]["overall"]["receiver"] == written["summary"]["overall"]["receiver"]
    assert "top-1 / top-3 recall" in capsys.readouterr().out


def test_results_without_stored_evidence_are_refused_with_the_reason(tmp_path):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"rows": [{"issue": "s/train/issue_0", "candidates": []}]}))
    with pytest.raises(SystemExit, match="no stored evidence"):
        rca_petshop.main(["--rerank", str(old)])
