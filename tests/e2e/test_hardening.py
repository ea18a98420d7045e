"""Faults at the seams of the platform, each tried as an attacker or an
unlucky operator would: metric labels from client input, database
connections held across slow work, login throttling that locks owners out,
admin tokens that outlive the admin, paths authorised as one thing and
forwarded as another, request smuggling, order events nobody answers."""

import http.client
import json
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from conftest import (
    AUTH_URL,
    GATEWAY_URL,
    PRODUCT_URL,
    Api,
    assert_problem,
    bearer,
    describe,
    expect_json,
    metric,
    spawned,
    sql,
    sql_value,
    unique_email,
    unique_password,
    wait_until,
)

SETTLE = 30  # seconds for an event to travel through the stack


# --------------------------------------------------------------------------
# raw HTTP: what a well-behaved client library would never send


def raw_request(base_url, request_bytes, timeout=10):
    """Sends bytes as they are; returns (status, headers text, body text)."""
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request_bytes)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    text = b"".join(chunks).decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    status = int(head.split(" ", 2)[1])
    return status, head, body


def as_is(base_url, method, path, headers=None):
    """A request whose path is sent exactly as written (no dot-segment
    removal, no re-encoding)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode()
    finally:
        conn.close()


# --------------------------------------------------------------------------
# 1. metric labels come from closed sets


@pytest.mark.parametrize("base", ["gateway", "product"])
def test_invented_methods_get_501_and_mint_no_series(base, product_url):
    url = GATEWAY_URL if base == "gateway" else product_url
    for i in range(60):
        status, head, body = raw_request(
            url, f"X{uuid.uuid4().hex[:8].upper()}{i} /products HTTP/1.1\r\nHost: x\r\n"
                 "Connection: close\r\n\r\n".encode())
        assert status == 501, head
        problem = json.loads(body)
        assert problem["status"] == 501 and problem["title"] == "Not Implemented", body
    resp = requests.get(f"{url}/metrics", timeout=10)
    assert resp.status_code == 200, describe(resp)
    assert "method=\"X" not in resp.text
    assert metric(url, "http_requests_total", method="OTHER", status="501") >= 60


# --------------------------------------------------------------------------
# 2. a flood of logins keeps every hash slot busy; nobody else waits for a
#    database connection


def test_login_flood_leaves_sessions_served(make_user, auth_url):
    """Logins with random emails from many addresses (each costs one
    Argon2id run) keep every hash slot busy; meanwhile /auth/me and
    /auth/refresh answer 200, never a 503 from an exhausted pool."""
    user = make_user()
    stop = threading.Event()
    flood_statuses = []

    def flood():
        with Api(auth_url, timeout=30) as api:
            while not stop.is_set():
                client = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
                resp = api.post("/auth/login", headers={"X-Forwarded-For": client},
                                json={"email": unique_email("flood"), "password": "x" * 12})
                flood_statuses.append(resp.status_code)

    workers = [threading.Thread(target=flood) for _ in range(24)]
    for w in workers:
        w.start()
    try:
        wait_until(lambda: len(flood_statuses) >= 20, timeout=60, what="the flood to start")
        refresh = user["refresh_token"]
        with Api(auth_url, timeout=30) as api:
            for _ in range(8):
                me = api.get("/auth/me", headers=user["headers"])
                assert me.status_code == 200, describe(me)
                rotated = api.post("/auth/refresh", json={"refresh_token": refresh})
                assert rotated.status_code == 200, describe(rotated)
                refresh = rotated.json()["refresh_token"]
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=60)
    # The flood itself was answered: refusals or "busy", never a hang or a 500.
    assert set(flood_statuses) <= {401, 429, 503}, set(flood_statuses)
    assert 401 in flood_statuses


# --------------------------------------------------------------------------
# 3. login throttling


def test_one_client_cannot_lock_the_owner_out(make_user, auth_url):
    """Five wrong passwords from one address lock that address out of the
    account, not the account: its owner elsewhere still signs in."""
    user = make_user()
    with Api(auth_url) as api:
        def login(password, client):
            return api.post("/auth/login", json={"email": user["email"], "password": password},
                            headers={"X-Forwarded-For": client})
        attacker, owner = "203.0.113.66", "198.51.100.23"
        for _ in range(5):
            assert_problem(login("not-" + user["password"], attacker), 401)
        assert_problem(login(user["password"], attacker), 429)
        expect_json(login(user["password"], owner), 200)


def test_spellings_of_an_email_count_as_one_account(register, session):
    """U+212A KELVIN SIGN finds the account of a "k" address (the database
    folds it), so failures under that spelling count against the account."""
    local = f"k{uuid.uuid4().hex[:10]}"
    email, password = f"{local}@example.com", unique_password()
    expect_json(register(email, password), 201)
    kelvin = "\u212a" + local[1:] + "@example.com"
    for _ in range(5):
        resp = session.post("/auth/login", json={"email": kelvin, "password": "wrong-password"})
        assert resp.status_code in (401, 429), describe(resp)
    assert_problem(session.post("/auth/login", json={"email": email, "password": password}), 429)


@pytest.fixture
def credential_gateway(gw):
    """A gateway of our own with a low limit on credential routes."""
    with spawned("souk-gateway", "gateway-credential-limit.log", port_var="GATEWAY_PORT",
                 CREDENTIAL_RATE_LIMIT_RPS=1, CREDENTIAL_RATE_LIMIT_BURST=3,
                 RATE_LIMIT_RPS=1000, RATE_LIMIT_BURST=1000) as api:
        yield api


def test_credential_routes_have_a_stricter_limit(credential_gateway):
    """Login, register and refresh share a small per-client bucket; other
    routes do not; and a client cannot pick its address with
    X-Forwarded-For (the gateway believes no proxy by default)."""
    statuses = []
    for i in range(6):
        resp = credential_gateway.post(
            "/auth/login", json={"email": unique_email(), "password": "wrong-password"},
            headers={"X-Forwarded-For": f"192.0.2.{i + 1}"})
        statuses.append(resp.status_code)
    assert statuses[:3] == [401, 401, 401], statuses
    assert 429 in statuses[3:], statuses
    limited = credential_gateway.post("/auth/register", json={"email": unique_email(),
                                                              "password": unique_password()})
    assert_problem(limited, 429)
    assert limited.headers.get("Retry-After", "").isdigit(), describe(limited)
    assert credential_gateway.get("/products").status_code == 200


# --------------------------------------------------------------------------
# 4. admin decisions trust the database, not only the token


def test_a_disabled_admins_token_grants_nothing(session, admin_headers, make_user):
    deputy, victim = make_user(), make_user()
    promoted = session.patch(f"/users/{deputy['id']}", json={"roles": ["customer", "admin"]},
                             headers=admin_headers)
    expect_json(promoted, 200)
    token = expect_json(session.post("/auth/login", json={"email": deputy["email"],
                                                          "password": deputy["password"]}), 200)
    deputy_headers = bearer(token["access_token"])
    expect_json(session.patch(f"/users/{deputy['id']}", json={"disabled": True},
                              headers=admin_headers), 200)
    # The token still says admin and has not expired; the database says no.
    assert_problem(session.patch(f"/users/{victim['id']}", json={"roles": ["customer", "admin"]},
                                 headers=deputy_headers), 403)
    assert_problem(session.patch(f"/users/{victim['id']}", json={"disabled": True},
                                 headers=deputy_headers), 403)
    assert_problem(session.delete(f"/users/{victim['id']}", headers=deputy_headers), 403)
    again = expect_json(session.get(f"/users/{victim['id']}", headers=admin_headers), 200)
    assert again["roles"] == ["customer"] and again["disabled"] is False, again


def test_access_tokens_live_at_most_an_hour(gw):
    db = os.environ.get("AUTH_DATABASE_URL")
    run_dir = os.environ.get("SOUK_RUN_DIR", "")
    if not db:
        pytest.skip("AUTH_DATABASE_URL is needed")
    with spawned("souk-auth", "auth-long-ttl.log", DATABASE_URL=db, JWT_TTL_SECONDS=7200,
                 AUTH_PORT=1, JWT_PRIVATE_KEY_FILE=os.path.join(run_dir, "keys",
                                                                "jwt-es256.pem")) as proc:
        assert proc.wait(timeout=60) != 0
        assert "JWT_TTL_SECONDS" in proc.log_tail()


# --------------------------------------------------------------------------
# 5. what the gateway authorises is what it forwards


@pytest.mark.parametrize("path", ["/users/.", "/users/%2e", "/users/%2E%2e", "/orders/../users",
                                  "/products/%2e%2e/users", "/orders/./x"])
def test_dot_segments_are_refused(path, new_user):
    status, headers, body = as_is(GATEWAY_URL, "GET", path, bearer(new_user["access_token"]))
    assert status == 400, (path, status, body)
    assert headers.get("Content-Type", "").startswith("application/problem+json"), headers


def test_transfer_encoding_with_content_length_is_refused():
    body = b'{"email":"a@b.co","password":"x"}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    request = (b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               + chunked)
    status, head, text = raw_request(GATEWAY_URL, request)
    assert status == 400, head + text


# --------------------------------------------------------------------------
# 6. every order.placed gets an answer


def inject_order_event(order_db, data_items, source="/order-service"):
    """A pending order row and an order.placed event for it in order-service's
    outbox, as order-service would write them, but with the given items and
    source: the relay publishes it like any other."""
    order_id, user_id, event_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    envelope = {"specversion": "1.0", "id": str(event_id), "source": source,
                "type": "souk.order.placed.v1", "time": "2026-01-01T00:00:00Z",
                "subject": str(order_id), "datacontenttype": "application/json",
                "data": {"order_id": str(order_id), "user_id": str(user_id),
                         "items": data_items, "total_cents": 0, "currency": "USD"}}
    sql(order_db,
        "INSERT INTO orders (id, user_id, status, total_cents, currency)"
        " VALUES (:'oid', :'uid', 'pending', 0, 'USD');"
        "INSERT INTO outbox (id, topic, key, payload) VALUES (:'eid', 'orders', :'oid', :'payload')",
        oid=str(order_id), uid=str(user_id), eid=str(event_id), payload=json.dumps(envelope))
    return str(order_id), str(event_id)


def order_outcome(order_db, order_id):
    rows = sql(order_db, "SELECT status, coalesce(reason, '') FROM orders WHERE id = :'oid'",
               oid=order_id)
    return rows[0] if rows and rows[0][0] != "pending" else None


def test_unreadable_order_lines_are_rejected_not_ignored(order_db):
    order_id, _ = inject_order_event(order_db, "not a list of lines")
    status, reason = wait_until(lambda: order_outcome(order_db, order_id), SETTLE,
                                what="the order to leave pending")
    assert status == "rejected", (status, reason)
    assert "cannot be read" in reason, reason


def test_an_event_from_a_foreign_source_is_dead_lettered_and_answered(order_db, product_db,
                                                                      product_url):
    before = metric(product_url, "events_dead_lettered_total", reason="unexpected_source")
    order_id, event_id = inject_order_event(
        order_db, [{"product_id": str(uuid.uuid4()), "quantity": 1}], source="/intruder")
    status, reason = wait_until(lambda: order_outcome(order_db, order_id), SETTLE,
                                what="the order to leave pending")
    assert status == "rejected", (status, reason)
    assert sql_value(product_db, "SELECT reason FROM dead_letters WHERE event_id = :'e'",
                     e=event_id) == "unexpected_source"
    assert metric(product_url, "events_dead_lettered_total", reason="unexpected_source") == before + 1
    # nothing was reserved for it
    assert sql_value(product_db, "SELECT status FROM reservations WHERE order_id = :'o'",
                     o=order_id) == "rejected"


# --------------------------------------------------------------------------
# 7. smaller things


def test_user_search_ignores_case(register, session, admin_headers):
    tag = uuid.uuid4().hex[:10]
    expect_json(register(unique_email(), unique_password(), name=f"Alice Zq{tag}"), 201)
    for q in (f"alice zq{tag}", f"ALICE ZQ{tag.upper()}", f"Zq{tag}"):
        body = expect_json(session.get("/users", params={"q": q}, headers=admin_headers), 200)
        assert body["total"] == 1, (q, body)


def test_token_answers_are_not_cached(new_user, session):
    login = session.post("/auth/login", json={"email": new_user["email"],
                                              "password": new_user["password"]})
    assert expect_json(login, 200) and login.headers.get("Cache-Control") == "no-store"
    refreshed = session.post("/auth/refresh", json={"refresh_token": login.json()["refresh_token"]})
    assert expect_json(refreshed, 200) and refreshed.headers.get("Cache-Control") == "no-store"


def test_the_demo_catalog_announces_its_products(product_db):
    """A product-service seeding an empty database writes a product.created
    event per product, like any other product write."""
    db_name = f"souk_seed_{uuid.uuid4().hex[:8]}"
    admin_url = product_db.rsplit("/", 1)[0] + "/postgres"
    url = product_db.rsplit("/", 1)[0] + "/" + db_name
    sql(admin_url, f"CREATE DATABASE {db_name}")
    try:
        # An unreachable broker: this service must not join the stack's
        # consumer group and take its events.
        with spawned("souk-product", "product-seed.log", port_var="PRODUCT_PORT",
                     DATABASE_URL=url, PRODUCT_SEED_DEMO="true", KAFKA_BROKERS="127.0.0.1:1"):
            products = int(sql_value(url, "SELECT count(*) FROM products"))
            created = int(sql_value(url, "SELECT count(*) FROM outbox WHERE "
                                         "payload::json->>'type' = 'souk.product.created.v1'"))
        assert products >= 10 and created == products, (products, created)
    finally:
        sql(admin_url, f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
