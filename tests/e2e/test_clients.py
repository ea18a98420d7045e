"""souk as an OAuth 2.0 authorization server for machine clients
(ARCHITECTURE.md section 4, OAuth 2.0; RFC 6749 section 4.4, RFC 8414).

Registration by holders of clients:write (the secret shown once), the
client-credentials grant with Basic or body authentication, RFC 6749 section
5.2 errors, client tokens (sub = client_id, scope, no roles), and a deleted
client's tokens refused by every verifier within their recheck bound.
"""

import base64
import uuid
from urllib.parse import quote

import pytest

from conftest import (
    AUTH_URL,
    ORDER_URL,
    Api,
    assert_problem,
    assert_uuid,
    bearer,
    error_fields,
    expect_empty,
    expect_json,
    jwt_decode,
    parse_utc,
    wait_until,
)

# The verifiers fetch the key set (which lists deleted clients) every 10 s.
REVOCATION_BOUND_S = 10


@pytest.fixture
def make_client(session, admin_headers):
    made = []

    def _make(scopes=("orders:read:any",), name=None):
        body = {"name": name or f"e2e client {uuid.uuid4().hex[:8]}", "scopes": list(scopes)}
        resp = session.post("/auth/clients", json=body, headers=admin_headers)
        client = expect_json(resp, 201)
        assert resp.headers.get("Cache-Control") == "no-store", resp.headers
        made.append(client["client_id"])
        return client

    yield _make
    for client_id in made:
        session.delete(f"/auth/clients/{client_id}", headers=admin_headers)


def token(session, client, **form):
    data = {"grant_type": "client_credentials", **form}
    return session.post("/oauth/token", data=data,
                        auth=(quote(client["client_id"], safe=""),
                              quote(client["client_secret"], safe="")))


def oauth_error(resp, status, error):
    assert resp.status_code == status, resp.text
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    assert resp.headers.get("Cache-Control") == "no-store", resp.headers
    body = resp.json()
    assert body["error"] == error, body
    return body


def test_registration_shows_the_secret_once(session, admin_headers, make_client):
    client = make_client(scopes=["orders:read:any", "users:read"], name="warehouse")
    assert_uuid(client["client_id"])
    assert client["name"] == "warehouse"
    assert sorted(client["scopes"]) == ["orders:read:any", "users:read"]
    secret = client["client_secret"]
    assert isinstance(secret, str) and len(base64.urlsafe_b64decode(secret + "=" * 3)) >= 32
    parse_utc(client["created_at"])
    listed = expect_json(session.get("/auth/clients", params={"limit": 100},
                                     headers=admin_headers), 200)
    assert {"items", "page", "limit", "total"} <= set(listed), listed
    mine = [c for c in listed["items"] if c["client_id"] == client["client_id"]]
    assert len(mine) == 1, listed
    assert "client_secret" not in mine[0] and secret not in str(listed), mine[0]
    assert sorted(mine[0]["scopes"]) == ["orders:read:any", "users:read"]


@pytest.mark.parametrize("body,field", [
    ({"name": "x", "scopes": ["orders:read:any", "root"]}, "scopes"),
    ({"name": "x", "scopes": "orders:read:any"}, "scopes"),
    ({"name": "", "scopes": []}, "name"),
    ({"scopes": []}, "name"),
    ({"name": "x", "scopes": [], "secret": "mine"}, "secret"),
], ids=["unknown-permission", "scopes-not-a-list", "empty-name", "no-name", "unknown-field"])
def test_registration_validates(session, admin_headers, body, field):
    problem = assert_problem(session.post("/auth/clients", json=body, headers=admin_headers), 400)
    assert field in error_fields(problem), problem


def test_registration_needs_clients_write(session, new_user):
    assert_problem(session.post("/auth/clients", json={"name": "x", "scopes": []},
                                headers=new_user["headers"]), 403)
    assert_problem(session.get("/auth/clients", headers=new_user["headers"]), 403)
    assert_problem(session.post("/auth/clients", json={"name": "x", "scopes": []}), 401)


@pytest.mark.parametrize("how", ["basic", "body"])
def test_client_credentials_grant(session, make_client, how):
    client = make_client(scopes=["orders:read:any", "users:read"])
    if how == "basic":
        resp = token(session, client)
    else:
        resp = session.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]})
    body = expect_json(resp, 200)
    assert resp.headers.get("Cache-Control") == "no-store", resp.headers
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int), body
    assert sorted(body["scope"].split()) == ["orders:read:any", "users:read"], body
    header, claims, _ = jwt_decode(body["access_token"])
    assert header["alg"] == "ES256"
    assert claims["sub"] == client["client_id"] == claims["client_id"], claims
    assert sorted(claims["scope"].split()) == ["orders:read:any", "users:read"], claims
    assert "roles" not in claims and "email" not in claims, claims


def test_scope_is_a_subset(session, make_client):
    client = make_client(scopes=["orders:read:any", "users:read"])
    body = expect_json(token(session, client, scope="users:read"), 200)
    assert body["scope"] == "users:read"
    assert jwt_decode(body["access_token"])[1]["scope"] == "users:read"
    oauth_error(token(session, client, scope="users:read audit:read"), 400, "invalid_scope")
    oauth_error(token(session, client, scope="root"), 400, "invalid_scope")


def test_token_errors(session, make_client):
    client = make_client()
    cid, secret = client["client_id"], client["client_secret"]
    wrong = dict(client, client_secret=secret[:-2] + ("AA" if secret[-2:] != "AA" else "BB"))
    resp = oauth_error(token(session, wrong), 401, "invalid_client")
    resp = token(session, wrong)
    assert resp.headers.get("WWW-Authenticate", "").startswith("Basic"), resp.headers
    oauth_error(session.post("/oauth/token", data={"grant_type": "client_credentials",
                                                   "client_id": cid,
                                                   "client_secret": "nope"}),
                401, "invalid_client")
    oauth_error(session.post("/oauth/token", data={"grant_type": "client_credentials",
                                                   "client_id": str(uuid.uuid4()),
                                                   "client_secret": secret}),
                401, "invalid_client")
    oauth_error(session.post("/oauth/token", data={"grant_type": "client_credentials"}),
                401, "invalid_client")
    oauth_error(token(session, client, grant_type="password"), 400, "unsupported_grant_type")
    oauth_error(session.post("/oauth/token", data={"client_id": cid, "client_secret": secret}),
                400, "invalid_request")
    # both Basic and body credentials
    oauth_error(session.post("/oauth/token", data={"grant_type": "client_credentials",
                                                   "client_id": cid, "client_secret": secret},
                             auth=(cid, secret)), 400, "invalid_request")
    # a parameter twice
    oauth_error(session.post("/oauth/token", data="grant_type=client_credentials&scope=a&scope=b",
                             headers={"Content-Type": "application/x-www-form-urlencoded"},
                             auth=(cid, secret)), 400, "invalid_request")


def test_token_endpoint_takes_only_forms(session, make_client):
    client = make_client()
    resp = session.post("/oauth/token", json={"grant_type": "client_credentials"},
                        auth=(client["client_id"], client["client_secret"]))
    assert resp.status_code in (400, 415), resp.text


def test_metadata(session, gw):
    resp = session.get("/.well-known/oauth-authorization-server")
    meta = expect_json(resp, 200)
    assert meta["issuer"] and meta["token_endpoint"].endswith("/oauth/token"), meta
    assert meta["token_endpoint"].startswith(meta["issuer"]), meta
    assert meta["jwks_uri"].endswith("/.well-known/jwks.json"), meta
    assert meta["grant_types_supported"] == ["client_credentials"], meta
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post"}, meta
    assert "orders:read:any" in meta["scopes_supported"], meta
    assert "response_types_supported" in meta, meta


def test_reader_client_reads_all_orders_and_writes_nothing(session, make_client, admin_headers,
                                                           make_user, make_product):
    """The issue's scenario: orders:read:any reads every order through the
    gateway, is refused product writes, and a wrong secret is invalid_client."""
    buyer = make_user()
    product = make_product(stock=5)
    order = expect_json(session.post("/orders", json={"items": [{"product_id": product["id"],
                                                                 "quantity": 1}]},
                                     headers=buyer["headers"]), 201)
    client = make_client(scopes=["orders:read:any"])
    access = expect_json(token(session, client), 200)["access_token"]
    h = bearer(access)
    mine = expect_json(session.get("/orders", params={"user_id": buyer["id"]}, headers=h), 200)
    assert [o["id"] for o in mine["items"]] == [order["id"]], mine
    everything = expect_json(session.get("/orders", params={"limit": 1}, headers=h), 200)
    admin_view = expect_json(session.get("/orders", params={"limit": 1}, headers=admin_headers),
                             200)
    assert everything["total"] == admin_view["total"] >= 1, (everything, admin_view)
    expect_json(session.get(f"/orders/{order['id']}", headers=h), 200)
    assert_problem(session.post("/products", json={"name": "x", "price_cents": 1, "stock": 1},
                                headers=h), 403)
    assert_problem(session.patch(f"/products/{product['id']}", json={"stock": 0}, headers=h), 403)
    assert_problem(session.post(f"/orders/{order['id']}/cancel", headers=h), 403)
    assert_problem(session.post("/orders", json={"items": [{"product_id": product["id"],
                                                             "quantity": 1}]}, headers=h), 403)
    wrong = dict(client, client_secret="x" * 43)
    oauth_error(token(session, wrong), 401, "invalid_client")


def test_deleted_client_tokens_stop_working(session, gw, admin_headers, make_client):
    client = make_client(scopes=["orders:read:any"])
    access = expect_json(token(session, client), 200)["access_token"]
    h = bearer(access)
    bases = [gw] + [url for url in (ORDER_URL, AUTH_URL) if url]
    paths = {gw: "/orders", ORDER_URL: "/orders", AUTH_URL: "/auth/roles"}
    for base in bases:  # works everywhere (and sits in every verifier's cache)
        with Api(base) as api:
            expect_json(api.get(paths[base], headers=h), 200)
    expect_empty(session.delete(f"/auth/clients/{client['client_id']}", headers=admin_headers))
    oauth_error(token(session, client), 401, "invalid_client")
    listed = expect_json(session.get("/auth/clients", params={"limit": 100},
                                     headers=admin_headers), 200)
    assert client["client_id"] not in {c["client_id"] for c in listed["items"]}
    assert_problem(session.delete(f"/auth/clients/{client['client_id']}",
                                  headers=admin_headers), 404)
    for base in bases:
        with Api(base) as api:
            wait_until(lambda: api.get(paths[base], headers=h).status_code == 401,
                       timeout=REVOCATION_BOUND_S + 5,
                       what=f"{base} to refuse a deleted client's token")
