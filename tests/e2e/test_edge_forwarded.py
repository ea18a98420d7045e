"""The edge's client address behind a load balancer (TRUST_FORWARDED_FOR,
TRUSTED_PROXIES: the rule every souk server follows), on gateways of our own
with a low per-client limit: when the proxy is trusted, each client it names
in X-Forwarded-For has a bucket of its own, and what a client writes into the
header itself does not let it out of its bucket; when it is not, the header
is the client's own say and everyone behind the proxy shares one bucket."""

import pytest

from conftest import AUTH_URL, spawned

RPS, BURST = 1, 3
PATH = "/.well-known/jwks.json"


def gateway(log, **env):
    if not AUTH_URL:
        pytest.skip("AUTH_URL is needed to start a second gateway")
    return spawned("souk-gateway", log, port_var="GATEWAY_PORT", AUTH_URL=AUTH_URL,
                   RATE_LIMIT_RPS=RPS, RATE_LIMIT_BURST=BURST, **env)


def statuses(api, forwarded_for, n):
    return [api.get(PATH, headers={"X-Forwarded-For": forwarded_for}).status_code
            for _ in range(n)]


def test_trusted_proxy_gives_each_client_its_own_bucket():
    with gateway("gateway-forwarded-trusted.log", TRUST_FORWARDED_FOR="true",
                 TRUSTED_PROXIES="127.0.0.1") as api:
        first = statuses(api, "203.0.113.10", 3 * BURST)
        assert first[:BURST] == [200] * BURST and 429 in first, first
        # another client behind the same proxy: its own bucket, still full
        assert statuses(api, "203.0.113.11", 2) == [200, 200]
        # the first one writing an address of its choosing in front of what the
        # proxy added is still the first one
        spoofed = statuses(api, "198.51.100.99, 203.0.113.10", BURST)
        assert 429 in spoofed, spoofed


def test_untrusted_forwarded_for_is_ignored():
    with gateway("gateway-forwarded-untrusted.log", TRUST_FORWARDED_FOR="false") as api:
        first = statuses(api, "203.0.113.20", 3 * BURST)
        assert 429 in first, first
        # a "different" client is the same peer: the same, empty bucket
        assert 429 in statuses(api, "203.0.113.21", 2)
