"""Schemathesis against the receiver's /openapi.json (a CI-sized sample of benchmarks/fuzz_api.py).

No 5xx, invalid requests rejected, undeclared methods answered 405, status codes and content
types as documented, and the alerts stored equal the new alerts the 2xx answers reported.
"""

import pytest

from benchmarks.fuzz_api import run, verdict


@pytest.mark.integration
def test_generated_requests_get_no_5xx_and_store_only_what_the_receiver_accepted(tmp_path):
    result = run(examples=25, seed=20261122, workdir=tmp_path)
    assert not verdict(result), "\n".join(verdict(result))
    assert result["requests"] > 300 and result["operations"] >= 14
    assert result["webhook_rejected"] > 0  # invalid payloads reached the webhook and were refused
