"""Shared fixtures and helpers for souk's black-box end-to-end tests.

The suite talks HTTP to a running stack, mostly through the API gateway, and
checks the contract in ARCHITECTURE.md section 4. `scripts/test` starts a
fresh stack on free ports and exports:

  GATEWAY_URL          the gateway (required: without it every test is skipped)
  AUTH_URL             auth-service, reached directly
  PRODUCT_URL          product-service, reached directly
  ORDER_URL            order-service, reached directly (its /metrics)
  PRODUCT_DATABASE_URL product-service's and order-service's databases (libpq
  ORDER_DATABASE_URL   URIs, queried with psql by the event-delivery tests)
  KAFKA_DEV_URL        the dev broker's HTTP control (POST /brokers/down|up)
  SOUK_ADMIN_EMAIL     the admin account created at start
  SOUK_ADMIN_PASSWORD
  SOUK_STACK           scripts/stack (stop-, kill- and start-service, for fault tests)
  SOUK_RUN_DIR         the stack's run directory
  SOUK_BIN_DIR         directory holding souk-gateway and souk-auth

Test modules import the plain helpers from here (`from conftest import ...`).
"""

import base64
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

import pytest
import requests

TIMEOUT = 10  # seconds; every request carries an explicit timeout

GATEWAY_URL = os.environ.get("GATEWAY_URL", "").rstrip("/")
AUTH_URL = os.environ.get("AUTH_URL", "").rstrip("/")
PRODUCT_URL = os.environ.get("PRODUCT_URL", "").rstrip("/")
ORDER_URL = os.environ.get("ORDER_URL", "").rstrip("/")
KAFKA_DEV_URL = os.environ.get("KAFKA_DEV_URL", "").rstrip("/")

SKIP_REASON = (
    "GATEWAY_URL is not set: the e2e suite needs a running stack "
    "(scripts/test starts one and sets GATEWAY_URL, AUTH_URL, SOUK_ADMIN_*)"
)


def pytest_collection_modifyitems(config, items):
    if GATEWAY_URL:
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        item.add_marker(skip)


# --------------------------------------------------------------------------
# HTTP plumbing


class Api(requests.Session):
    """A requests session bound to one base URL, with a timeout on every call."""

    def __init__(self, base, timeout=TIMEOUT):
        super().__init__()
        self.base = base.rstrip("/")
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        if url.startswith("/"):
            url = self.base + url
        return super().request(method, url, *args, **kwargs)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def describe(resp):
    """One line about a response, for assertion messages."""
    req = resp.request
    return (
        f"{req.method} {req.url} -> {resp.status_code} "
        f"[{resp.headers.get('Content-Type')}] {resp.text[:600]!r}"
    )


def expect_json(resp, status):
    """Assert a JSON success reply with this status; return the decoded body."""
    assert resp.status_code == status, describe(resp)
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.startswith("application/json"), describe(resp)
    return resp.json()


def expect_empty(resp, status=204):
    assert resp.status_code == status, describe(resp)
    assert resp.content == b"", describe(resp)


# --------------------------------------------------------------------------
# problem+json

# Things that betray internals: SQL, libpq, C source locations, pointers,
# internal host:port addresses.
LEAK_PATTERNS = [
    re.compile(r"\bSELECT\b|\bINSERT INTO\b|\bUPDATE \w+ SET\b"),
    re.compile(r"ERROR:"),
    re.compile(r"\bpq\b|libpq|\bPQ[a-z]\w*"),
    re.compile(r"\.c:\d*"),
    re.compile(r"0x[0-9a-fA-F]"),
    re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}:\d+\b"),
]


def assert_no_leak(text, where):
    for pattern in LEAK_PATTERNS:
        match = pattern.search(text)
        assert match is None, f"{where} leaks internals ({match.group(0)!r}): {text[:600]!r}"


def assert_problem(resp, status):
    """Assert an RFC 9457 problem reply (status: an int or a tuple of allowed
    ints) that follows the contract; return the decoded body."""
    allowed = status if isinstance(status, tuple) else (status,)
    assert resp.status_code in allowed, describe(resp)
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.startswith("application/problem+json"), describe(resp)
    body = resp.json()
    assert isinstance(body, dict), describe(resp)
    for member in ("type", "title", "detail", "instance", "request_id"):
        assert isinstance(body.get(member), str), f"problem member {member!r}: {describe(resp)}"
    assert body["type"], describe(resp)
    assert body["title"], describe(resp)
    assert body["status"] == resp.status_code and type(body["status"]) is int, describe(resp)
    path = urlsplit(resp.request.url).path
    assert body["instance"] in (path, unquote(path), resp.request.path_url), (
        f"instance should be the request path {path!r}: {describe(resp)}"
    )
    assert body["request_id"], describe(resp)
    assert body["request_id"] == resp.headers.get("X-Request-Id"), (
        f"request_id must equal the X-Request-Id header "
        f"({resp.headers.get('X-Request-Id')!r}): {describe(resp)}"
    )
    if "errors" in body:
        assert isinstance(body["errors"], list) and body["errors"], describe(resp)
        for err in body["errors"]:
            assert isinstance(err.get("field"), str) and err["field"], describe(resp)
            assert isinstance(err.get("message"), str) and err["message"], describe(resp)
    scrubbed = dict(body, request_id="")
    assert_no_leak(json.dumps(scrubbed), "problem body")
    return body


def error_fields(body):
    """The set of field names in a validation problem's `errors`."""
    return {err["field"] for err in body.get("errors", [])}


def assert_unauthorized(resp):
    body = assert_problem(resp, 401)
    challenge = resp.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer"), f"WWW-Authenticate {challenge!r}: {describe(resp)}"
    return body


def skip_if_deployed(resp, service):
    """For a service that arrives later: once it answers, its 503 check is moot."""
    if 200 <= resp.status_code < 300:
        pytest.skip(f"{service} is deployed now (answered {resp.status_code})")


# --------------------------------------------------------------------------
# data shapes

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)$")
SECRET_KEY = re.compile(r"pass|hash|secret|salt", re.IGNORECASE)


def parse_utc(value):
    assert isinstance(value, str) and RFC3339_UTC.match(value), f"not RFC 3339 UTC: {value!r}"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_recent(moment, slack=timedelta(minutes=5)):
    now = datetime.now(timezone.utc)
    assert now - slack <= moment <= now + slack, f"{moment.isoformat()} is not close to now"


def assert_uuid(value):
    assert isinstance(value, str), value
    assert str(uuid.UUID(value)) == value.lower(), f"not a UUID: {value!r}"


def assert_no_secrets(node, path="$"):
    """No password or hash-like member anywhere, and no Argon2 string as a value."""
    if isinstance(node, dict):
        for key, value in node.items():
            assert not SECRET_KEY.search(key), f"secret-looking member {path}.{key}"
            assert_no_secrets(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            assert_no_secrets(value, f"{path}[{i}]")
    elif isinstance(node, str):
        assert "$argon2" not in node, f"password hash at {path}"


def assert_user(user, email=None, name=None, roles=("customer",), disabled=False):
    """Check a User object against the contract; optional expected values."""
    for member in ("id", "email", "name", "roles", "disabled", "created_at", "updated_at"):
        assert member in user, f"user lacks {member!r}: {user}"
    assert_uuid(user["id"])
    assert isinstance(user["email"], str) and "@" in user["email"], user
    assert user["name"] is None or isinstance(user["name"], str), user
    assert isinstance(user["roles"], list), user
    assert user["disabled"] is disabled, user
    created, updated = parse_utc(user["created_at"]), parse_utc(user["updated_at"])
    assert created <= updated, user
    assert_no_secrets(user)
    if email is not None:
        assert user["email"] == email, user
    if name is not None:
        assert user["name"] == name, user
    if roles is not None:
        assert sorted(user["roles"]) == sorted(roles), user


def unique_email(prefix="e2e"):
    return f"{prefix}-{uuid.uuid4().hex}@example.com"


def unique_password():
    return f"Pw-{uuid.uuid4().hex[:16]}"


# --------------------------------------------------------------------------
# JWTs (inspection and forgery; the suite never holds a signing key)


def b64url_decode(segment):
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def b64url_encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_json(obj):
    return b64url_encode(json.dumps(obj, separators=(",", ":")).encode())


def jwt_decode(token):
    """(header, payload, signature segment) of a compact JWS, unverified."""
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


# --------------------------------------------------------------------------
# polling, ports


def wait_until(probe, timeout, interval=0.2, what="condition"):
    """Call probe() until it returns something truthy or the deadline passes.
    Exceptions count as "not yet"; the last value or error is reported."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = probe()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001 - polling a service that may be down
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------
# the stack behind the gateway: scripts/stack, databases, metrics


def stack(*args, **env):
    """Run scripts/stack (SOUK_STACK) with these arguments, and the keyword
    arguments added to the environment (a service started with settings of
    its own); skip without it."""
    script = os.environ.get("SOUK_STACK")
    if not script:
        pytest.skip("SOUK_STACK is not set: cannot stop and start services")
    done = subprocess.run([script, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **{k: str(v) for k, v in env.items()}})
    assert done.returncode == 0, f"{script} {' '.join(args)} failed: {done.stdout}{done.stderr}"


def sql(db_url, query, **params):
    """Run SQL on a stack database with psql; the rows as lists of strings.

    Keyword arguments become psql variables: write :'name' in the query for a
    quoted literal."""
    args = ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", db_url]
    for name, value in params.items():
        args += ["-v", f"{name}={value}"]
    done = subprocess.run(args, input=query, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"psql failed on {query!r}: {done.stderr}"
    return [line.split("\t") for line in done.stdout.splitlines()]


def sql_value(db_url, query, **params):
    """The single value of a one-row, one-column query."""
    rows = sql(db_url, query, **params)
    assert len(rows) == 1 and len(rows[0]) == 1, f"{query!r} returned {rows!r}"
    return rows[0][0]


METRIC_SAMPLE = re.compile(r"^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)")
METRIC_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric(base_url, name, **labels):
    """Sum of the samples of one metric at base_url/metrics whose labels
    include these (0 when there is none, e.g. a counter never incremented)."""
    resp = requests.get(f"{base_url}/metrics", timeout=TIMEOUT)
    assert resp.status_code == 200, describe(resp)
    total = 0.0
    for line in resp.text.splitlines():
        match = METRIC_SAMPLE.match(line)
        if not match or match.group(1) != name:
            continue
        have = dict(METRIC_LABEL.findall(match.group(2) or ""))
        if all(have.get(key) == value for key, value in labels.items()):
            total += float(match.group(3))
    return total


# --------------------------------------------------------------------------
# extra processes: a service of the suite's own, with other settings


def _log_tail(log):
    log.flush()
    log.seek(0)
    return log.read()[-3000:]


@contextlib.contextmanager
def spawned(binary, log_name, ready_path="/healthz", port_var=None, **env):
    """Start $SOUK_BIN_DIR/<binary> with the stack's environment plus env;
    when port_var is given it gets a free port, and the process must answer
    ready_path before this yields an Api on it (else the Popen itself, with
    a .log_tail() for what it wrote: it may be meant to exit). The process is
    stopped (TERM, then KILL) on the way out, also when the test fails, and
    a service that was still running must exit cleanly on TERM."""
    bin_dir, run_dir = os.environ.get("SOUK_BIN_DIR"), os.environ.get("SOUK_RUN_DIR")
    if not (bin_dir and run_dir):
        pytest.skip("SOUK_BIN_DIR and SOUK_RUN_DIR are needed to start a service")
    full_env = dict(os.environ, LOG_LEVEL="warn")
    port = None
    if port_var:
        port = free_port()
        full_env[port_var] = str(port)
    full_env.update({k: str(v) for k, v in env.items()})
    log = open(os.path.join(run_dir, "logs", log_name), "w+")
    proc = subprocess.Popen([os.path.join(bin_dir, binary)], env=full_env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    proc.log_tail = lambda: _log_tail(log)
    stopped_by_us = passed = False
    try:
        if port is None:
            yield proc
        else:
            with Api(f"http://127.0.0.1:{port}", timeout=TIMEOUT) as api:
                def answers():
                    if proc.poll() is not None:
                        pytest.fail(f"{binary} exited with {proc.returncode}: {proc.log_tail()}")
                    return api.get(ready_path, timeout=2).status_code == 200
                wait_until(answers, timeout=60, what=f"{binary} on port {port}")
                yield api
        passed = True
    finally:
        if proc.poll() is None:
            stopped_by_us = True
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        tail = _log_tail(log)
        log.close()
    if passed and stopped_by_us:
        assert proc.returncode == 0, f"{binary} exited with {proc.returncode} on SIGTERM: {tail}"


# --------------------------------------------------------------------------
# orders

SETTLE_TIMEOUT = 10  # seconds for an order to leave "pending" ("within a second" on the dev stack)


def place_order(session, headers, *lines, **kwargs):
    """POST /orders with (product_id, quantity) lines; returns the response."""
    items = [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines]
    return session.post("/orders", json={"items": items}, headers=headers, **kwargs)


def product_stock(session, product_id):
    return expect_json(session.get(f"/products/{product_id}"), 200)["stock"]


def pending_order_ids(session, headers):
    """Ids of the pending orders these headers can list (own, or all for an admin)."""
    ids, page = set(), 1
    while True:
        params = {"status": "pending", "limit": 100, "page": page}
        body = expect_json(session.get("/orders", params=params, headers=headers), 200)
        ids.update(order["id"] for order in body["items"])
        if not body["items"] or page * 100 >= body["total"]:
            return ids
        page += 1


def wait_orders_settled(session, headers, order_ids, timeout=SETTLE_TIMEOUT):
    """Wait until none of these orders is pending; return {id: order}.

    headers must see every one of them (their owner, or an admin). While any
    is listed as pending a round costs one request; then each order is read
    once (and again only if it still shows pending)."""
    wanted = list(dict.fromkeys(order_ids))
    settled = {}

    def probe():
        left = [oid for oid in wanted if oid not in settled]
        if left and not set(left) & pending_order_ids(session, headers):
            for oid in left:
                order = expect_json(session.get(f"/orders/{oid}", headers=headers), 200)
                if order["status"] != "pending":
                    settled[oid] = order
        left = [oid for oid in wanted if oid not in settled]
        assert not left, f"{len(left)} of {len(wanted)} orders still pending, e.g. {left[:3]}"
        return settled

    return wait_until(probe, timeout, what=f"{len(wanted)} orders to be confirmed or rejected")


def wait_order_settled(session, headers, order_id, timeout=SETTLE_TIMEOUT):
    return wait_orders_settled(session, headers, [order_id], timeout)[order_id]


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="session")
def gw():
    """The gateway's base URL."""
    if not GATEWAY_URL:
        pytest.skip(SKIP_REASON)
    return GATEWAY_URL


@pytest.fixture(scope="session")
def auth_url():
    """auth-service's own base URL (bypassing the gateway)."""
    if not AUTH_URL:
        pytest.skip("AUTH_URL is not set")
    return AUTH_URL


@pytest.fixture(scope="session")
def product_url():
    """product-service's own base URL (bypassing the gateway)."""
    if not PRODUCT_URL:
        pytest.skip("PRODUCT_URL is not set")
    return PRODUCT_URL


@pytest.fixture(scope="session")
def order_url():
    """order-service's own base URL (bypassing the gateway)."""
    if not ORDER_URL:
        pytest.skip("ORDER_URL is not set")
    return ORDER_URL


@pytest.fixture(scope="session")
def kafka_dev_url():
    """The dev broker's HTTP control (outages on demand)."""
    if not KAFKA_DEV_URL:
        pytest.skip("KAFKA_DEV_URL is not set")
    return KAFKA_DEV_URL


def _database(var):
    url = os.environ.get(var)
    if not url:
        pytest.skip(f"{var} is not set")
    if not shutil.which("psql"):
        pytest.skip("psql is not installed (postgresql-client)")
    return url


@pytest.fixture(scope="session")
def order_db():
    """order-service's database URL, for psql."""
    return _database("ORDER_DATABASE_URL")


@pytest.fixture(scope="session")
def product_db():
    """product-service's database URL, for psql."""
    return _database("PRODUCT_DATABASE_URL")


@pytest.fixture
def session(gw):
    """An Api session on the gateway."""
    with Api(gw) as api:
        yield api


@pytest.fixture
def register(session):
    def _register(email, password, name=None):
        body = {"email": email, "password": password}
        if name is not None:
            body["name"] = name
        return session.post("/auth/register", json=body)

    return _register


@pytest.fixture
def login(session):
    def _login(email, password, **kwargs):
        return session.post("/auth/login", json={"email": email, "password": password}, **kwargs)

    return _login


@pytest.fixture
def admin_token(login):
    email = os.environ.get("SOUK_ADMIN_EMAIL")
    password = os.environ.get("SOUK_ADMIN_PASSWORD")
    if not email or not password:
        pytest.skip("SOUK_ADMIN_EMAIL / SOUK_ADMIN_PASSWORD are not set")
    body = expect_json(login(email, password), 200)
    assert "admin" in body["user"]["roles"], body["user"]
    return body["access_token"]


@pytest.fixture
def admin_headers(admin_token):
    return bearer(admin_token)


@pytest.fixture
def make_user(register, login):
    """Factory: register and log in a fresh customer.

    Returns {id, email, password, name, user, access_token, refresh_token,
    headers}."""

    def _make(name=None):
        email, password = unique_email(), unique_password()
        name = name or f"E2E {email[4:12]}"
        user = expect_json(register(email, password, name), 201)
        tokens = expect_json(login(email, password), 200)
        return {
            "id": user["id"],
            "email": user["email"],
            "password": password,
            "name": name,
            "user": user,
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "headers": bearer(tokens["access_token"]),
        }

    return _make


@pytest.fixture
def new_user(make_user):
    return make_user()


@pytest.fixture
def make_product(session, admin_headers):
    """Factory: create a product as the admin (201 expected) and return it.

    Keyword arguments become the request body, over defaults for the required
    fields (a unique name, price_cents 1000, stock 10). Products still there
    at the end of the test are deleted."""
    created = []

    def _make(**fields):
        body = {"name": f"E2E product {uuid.uuid4().hex}", "price_cents": 1000, "stock": 10}
        body.update(fields)
        product = expect_json(session.post("/products", json=body, headers=admin_headers), 201)
        created.append(product["id"])
        return product

    yield _make
    for product_id in created:
        try:
            session.delete(f"/products/{product_id}", headers=admin_headers)
        except requests.RequestException:
            pass  # best effort: the test may have stopped the service
