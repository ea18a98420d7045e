"""The gateway's per-client rate limit, on a gateway of our own with a low limit
(the shared stack's gateway has a limit too high to reach)."""

import os
import subprocess
import tempfile
import time

import pytest

from conftest import Api, AUTH_URL, assert_problem, describe, free_port, wait_until

RPS, BURST = 2, 5


def log_file():
    """Beside the stack's own logs when there is a run dir (so that its checks
    see this process too), else a temporary file."""
    run_dir = os.environ.get("SOUK_RUN_DIR")
    if run_dir and os.path.isdir(os.path.join(run_dir, "logs")):
        return open(os.path.join(run_dir, "logs", "gateway-rate-limit.log"), "w+")
    return tempfile.TemporaryFile("w+", prefix="gateway-rate-limit-", suffix=".log")


def tail(log):
    log.flush()
    log.seek(0)
    return log.read()[-3000:]


@pytest.fixture
def strict_gateway(gw):
    bin_dir = os.environ.get("SOUK_BIN_DIR")
    if not bin_dir or not AUTH_URL:
        pytest.skip("SOUK_BIN_DIR and AUTH_URL are needed to start a second gateway")
    binary = os.path.join(bin_dir, "souk-gateway")
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} is not an executable")
    port = free_port()
    env = dict(
        os.environ,
        GATEWAY_PORT=str(port),
        AUTH_URL=AUTH_URL,
        RATE_LIMIT_RPS=str(RPS),
        RATE_LIMIT_BURST=str(BURST),
        LOG_LEVEL="warn",
    )
    with log_file() as log:
        proc = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        killed = False
        try:
            with Api(f"http://127.0.0.1:{port}", timeout=5) as api:

                def healthy():
                    if proc.poll() is not None:
                        pytest.fail(f"souk-gateway exited with {proc.returncode}: {tail(log)}")
                    return api.get("/healthz", timeout=1).status_code == 200

                wait_until(healthy, timeout=15, what="the second gateway's /healthz")
                yield api
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                killed = True
                proc.kill()
                proc.wait(timeout=10)
        assert not killed, f"souk-gateway ignored SIGTERM for 10 s: {tail(log)}"
        assert proc.returncode == 0, f"souk-gateway exited with {proc.returncode} on SIGTERM: {tail(log)}"


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
