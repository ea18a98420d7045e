"""What the gateway does for every request: body rules, request ids, tracing,
health, metrics, and routing to the product and order services."""

import re
import secrets
import uuid

import pytest

from conftest import assert_problem, assert_unauthorized, describe, expect_json, unique_email

JSON = {"Content-Type": "application/json"}
# rejected by auth-service itself (not by the gateway), without touching login throttling
INVALID_REGISTRATION = {"email": "not-an-email", "password": "long-enough"}


# ---------------------------------------------------------------- bodies and routes


def test_malformed_json(session):
    assert_problem(session.post("/auth/register", data='{"email":', headers=JSON), 400)


def test_body_over_the_limit(session):
    padding = "a" * (2 * 1024 * 1024)
    body = f'{{"email":"{unique_email()}","password":"long-enough","name":"{padding}"}}'
    assert_problem(session.post("/auth/register", data=body, headers=JSON), 413)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded"])
def test_body_that_is_not_json(session, ctype):
    body = f'{{"email":"{unique_email()}","password":"long-enough"}}'
    assert_problem(session.post("/auth/register", data=body, headers={"Content-Type": ctype}), 415)


@pytest.mark.parametrize("path", ["/nope", "/auth/nope", "/.well-known/nope"])
def test_unknown_route(session, path):
    assert_problem(session.get(path), 404)


@pytest.mark.parametrize("method, path", [("DELETE", "/auth/login"), ("GET", "/auth/register")])
def test_method_not_allowed(session, method, path):
    resp = session.request(method, path)
    assert_problem(resp, 405)
    assert "POST" in resp.headers.get("Allow", ""), f"Allow header: {describe(resp)}"


# ---------------------------------------------------------------- request ids


def test_client_request_id_is_echoed(session):
    rid = f"e2e-{uuid.uuid4()}"
    resp = session.get("/.well-known/jwks.json", headers={"X-Request-Id": rid})
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("X-Request-Id") == rid


@pytest.mark.parametrize("rid", ["a" * 2000, 'a b"<script>'], ids=["too-long", "unsafe-characters"])
def test_unusable_request_id_is_not_echoed_verbatim(session, rid):
    resp = session.get("/.well-known/jwks.json", headers={"X-Request-Id": rid})
    assert resp.status_code == 200, describe(resp)
    echoed = resp.headers.get("X-Request-Id", "")
    assert echoed and echoed != rid, f"X-Request-Id {echoed[:80]!r}"
    assert len(echoed) <= 200 and re.fullmatch(r"[A-Za-z0-9._:-]+", echoed), echoed[:80]


def test_client_request_id_reaches_the_upstream(session):
    """auth-service writes the problem body, so its request_id shows the id was forwarded."""
    rid = f"e2e-{uuid.uuid4()}"
    resp = session.post("/auth/register", json=INVALID_REGISTRATION, headers={"X-Request-Id": rid})
    assert assert_problem(resp, 400)["request_id"] == rid


@pytest.mark.parametrize(
    "method, path, status",
    [("GET", "/nope", 404), ("POST", "/auth/register", 400)],
    ids=["gateway-problem", "upstream-problem"],
)
def test_request_id_is_generated_when_absent(session, method, path, status):
    body = INVALID_REGISTRATION if method == "POST" else None
    first = session.request(method, path, json=body)
    second = session.request(method, path, json=body)
    assert_problem(first, status)  # also checks request_id == X-Request-Id
    assert_problem(second, status)
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


# ---------------------------------------------------------------- tracing


def test_traceparent_keeps_the_trace_id(session):
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    resp = session.get("/.well-known/jwks.json", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    assert resp.status_code == 200, describe(resp)
    echoed = resp.headers.get("traceparent")
    assert echoed, "no traceparent in the response"
    match = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})", echoed)
    assert match, f"malformed traceparent {echoed!r}"
    assert match.group(1) == trace_id, f"trace id changed: sent {trace_id}, got {echoed}"


@pytest.mark.parametrize("value", ["garbage", "00-" + "0" * 32 + "-" + "0" * 16 + "-01", "zz-1-2-3"])
def test_invalid_traceparent_is_ignored(session, value):
    resp = session.get("/.well-known/jwks.json", headers={"traceparent": value})
    assert resp.status_code == 200, describe(resp)
    echoed = resp.headers.get("traceparent")
    if echoed:
        match = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}", echoed)
        assert match and match.group(1) != "0" * 32, f"bad traceparent {echoed!r}"


# ---------------------------------------------------------------- health and metrics


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health(session, path):
    resp = session.get(path)
    assert resp.status_code == 200, describe(resp)


def test_metrics(session):
    resp = session.get("/metrics")
    assert resp.status_code == 200, describe(resp)
    assert resp.headers.get("Content-Type", "").startswith("text/plain"), describe(resp)
    assert "http_requests_total" in resp.text


def test_metrics_label_routes_by_template(session, new_user):
    raw_id = str(uuid.uuid4())
    session.get(f"/users/{raw_id}", headers=new_user["headers"])
    text = session.get("/metrics").text
    samples = [line for line in text.splitlines() if line.startswith("http_requests_total{")]
    assert samples, "no http_requests_total samples"
    for label in ("service", "method", "route", "status"):
        assert any(f'{label}="' in line for line in samples), f"no {label} label: {samples[:5]}"
    assert raw_id not in text, "metrics label a raw path instead of its route template"


# ---------------------------------------------------------------- product and order routes


def test_products_are_routed(session):
    """product-service is deployed: /products reaches it instead of a 503."""
    page = session.get("/products", params={"limit": 1})
    assert page.status_code == 200, describe(page)
    assert set(page.json()) == {"items", "page", "limit", "total", "total_exact"}, describe(page)
    assert_problem(session.get(f"/products/{uuid.uuid4()}"), 404)


def test_orders_are_routed(session, new_user):
    """order-service is deployed: /orders reaches it instead of a 503."""
    page = expect_json(session.get("/orders", headers=new_user["headers"]), 200)
    assert page == {"items": [], "page": 1, "limit": 20, "total": 0}, page
    assert_problem(session.get(f"/orders/{uuid.uuid4()}", headers=new_user["headers"]), 404)
    assert_problem(session.post(f"/orders/{uuid.uuid4()}/cancel", headers=new_user["headers"]), 404)
    assert_unauthorized(session.get("/orders"))
