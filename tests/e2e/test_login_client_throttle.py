"""Login throttling per client address (the per-email limit is tested through
the gateway in test_login.py). The shared stack's per-client limit is set high
so the suite's own failed logins cannot lock it out, so this runs a second
auth-service of its own, on the same database, with a limit of 3, and speaks
to it directly as the gateway would (client address in X-Forwarded-For)."""

import os
import subprocess
import uuid

import pytest

from conftest import Api, assert_problem, free_port, wait_until

LIMIT = 3


@pytest.fixture
def strict_auth(gw):
    bin_dir, run_dir = os.environ.get("SOUK_BIN_DIR"), os.environ.get("SOUK_RUN_DIR")
    db = os.environ.get("AUTH_DATABASE_URL")
    if not (bin_dir and run_dir and db):
        pytest.skip("SOUK_BIN_DIR, SOUK_RUN_DIR and AUTH_DATABASE_URL are needed")
    port = free_port()
    env = dict(os.environ, AUTH_PORT=str(port), DATABASE_URL=db, LOG_LEVEL="warn",
               JWT_PRIVATE_KEY_FILE=os.path.join(run_dir, "keys", "jwt-es256.pem"),
               LOGIN_MAX_FAILURES_CLIENT=str(LIMIT), LOGIN_LOCKOUT_SECONDS="60",
               TRUST_FORWARDED_FOR="true", TRUSTED_PROXIES="127.0.0.1")
    log = open(os.path.join(run_dir, "logs", "auth-client-throttle.log"), "w+")
    proc = subprocess.Popen([os.path.join(bin_dir, "souk-auth")], env=env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        with Api(f"http://127.0.0.1:{port}", timeout=10) as api:
            def healthy():
                assert proc.poll() is None, f"souk-auth exited with {proc.returncode}"
                return api.get("/healthz", timeout=1).status_code == 200
            wait_until(healthy, timeout=30, what="the second auth-service")
            yield api
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


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
