"""The gateway's per-client rate limit, on a gateway of our own with a low limit
(the shared stack's gateway has a limit too high to reach)."""

import time

import pytest

from conftest import AUTH_URL, assert_problem, describe, spawned, wait_until

RPS, BURST = 2, 5


@pytest.fixture
def strict_gateway(gw):
    if not AUTH_URL:
        pytest.skip("AUTH_URL is needed to start a second gateway")
    with spawned("souk-gateway", "gateway-rate-limit.log", port_var="GATEWAY_PORT",
                 AUTH_URL=AUTH_URL, RATE_LIMIT_RPS=RPS, RATE_LIMIT_BURST=BURST) as api:
        yield api


def test_rate_limit(strict_gateway):
    started = time.monotonic()
    replies = [strict_gateway.get("/.well-known/jwks.json") for _ in range(20)]
    elapsed = time.monotonic() - started
    statuses = [resp.status_code for resp in replies]
    assert 200 in statuses, statuses
    assert 429 in statuses, statuses
    assert set(statuses) <= {200, 429}, [describe(r) for r in replies if r.status_code not in (200, 429)]
    # no more than the burst plus what the refill rate allows over the elapsed time
    assert statuses.count(200) <= BURST + RPS * elapsed + 1, (statuses, elapsed)
    limited = next(resp for resp in replies if resp.status_code == 429)
    assert_problem(limited, 429)
    retry_after = limited.headers.get("Retry-After", "")
    assert retry_after.isdigit() and int(retry_after) > 0, f"Retry-After {retry_after!r}"
    # the bucket refills: within Retry-After (plus slack) the client is served again
    wait_until(lambda: strict_gateway.get("/.well-known/jwks.json").status_code == 200,
               timeout=int(retry_after) + 3, interval=0.25, what="the rate limit to lift")
