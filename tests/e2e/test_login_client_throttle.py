"""Login throttling per client address (the per-email limit is tested through
the gateway in test_login.py). The shared stack's per-client limit is set high
so the suite's own failed logins cannot lock it out, so this runs a second
auth-service of its own, on the same database, with a limit of 3, and speaks
to it directly as the gateway would (client address in X-Forwarded-For)."""

import os
import uuid

import pytest

from conftest import assert_problem, spawned

LIMIT = 3


@pytest.fixture
def strict_auth(gw):
    db = os.environ.get("AUTH_DATABASE_URL")
    if not db:
        pytest.skip("AUTH_DATABASE_URL is needed")
    run_dir = os.environ.get("SOUK_RUN_DIR", "")
    with spawned("souk-auth", "auth-client-throttle.log", port_var="AUTH_PORT",
                 DATABASE_URL=db,
                 JWT_PRIVATE_KEY_FILE=os.path.join(run_dir, "keys", "jwt-es256.pem"),
                 LOGIN_MAX_FAILURES_CLIENT=LIMIT, LOGIN_LOCKOUT_SECONDS=60,
                 TRUST_FORWARDED_FOR="true", TRUSTED_PROXIES="127.0.0.1") as api:
        yield api


def failed_login(api, client):
    return api.post("/auth/login", json={"email": f"nobody-{uuid.uuid4().hex}@example.com",
                                         "password": "wrong-password"},
                    headers={"X-Forwarded-For": client})


def test_repeated_failures_from_one_client_are_throttled(strict_auth):
    client = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    # different emails each time: only the per-client count can trip
    for _ in range(LIMIT):
        assert_problem(failed_login(strict_auth, client), 401)
    locked = failed_login(strict_auth, client)
    assert_problem(locked, 429)
    assert int(locked.headers["Retry-After"]) > 0
    # another client is not affected
    other = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    assert_problem(failed_login(strict_auth, other), 401)
