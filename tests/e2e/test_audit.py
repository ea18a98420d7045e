"""The audit log (ARCHITECTURE.md section 4, roles and permissions: audit).

Each security-relevant action appears exactly once with the right actor,
target, outcome, client address and request id: auth-service's own (logins,
role and status changes, deletions, clients) at once, product-service's and
order-service's through their outbox and the audit topic. GET /audit needs
audit:read, filters by actor and action, and never shows a secret.
"""

import uuid

import pytest

from conftest import (
    RFC3339_UTC,
    assert_no_secrets,
    assert_problem,
    assert_uuid,
    bearer,
    error_fields,
    expect_json,
    wait_order_settled,
    wait_until,
)

EVENT_TIMEOUT = 15  # seconds for an entry that travels through Kafka

FIELDS = {"id", "at", "actor_id", "actor_type", "action", "target_type", "target_id", "outcome",
          "client_ip", "request_id"}


def entries(session, admin_headers, **filters):
    body = expect_json(session.get("/audit", params=dict(limit=100, **filters),
                                   headers=admin_headers), 200)
    assert {"items", "page", "limit", "total"} <= set(body), body
    for item in body["items"]:
        assert set(item) == FIELDS, item
        assert_uuid(item["id"])
        assert RFC3339_UTC.match(item["at"]), item
        assert item["actor_type"] in ("user", "client"), item
        assert item["outcome"] in ("success", "failure"), item
        assert_no_secrets(item)
    return body["items"]


def exactly_once(session, admin_headers, action, target_id, wait=False):
    """The one entry of action on target_id (waiting for it when it comes
    through Kafka); fails on none or several."""
    def probe():
        found = [e for e in entries(session, admin_headers, action=action)
                 if e["target_id"] == target_id]
        return found or None
    found = (wait_until(probe, EVENT_TIMEOUT, what=f"audit entry {action} on {target_id}")
             if wait else probe() or [])
    assert len(found) == 1, f"{action} on {target_id}: {found}"
    return found[0]


def check(entry, actor_id, actor_type="user", outcome="success", request_id=None):
    assert entry["actor_id"] == actor_id, entry
    assert entry["actor_type"] == actor_type, entry
    assert entry["outcome"] == outcome, entry
    assert entry["client_ip"], entry
    if request_id:
        assert entry["request_id"] == request_id, entry


def admin_id(session, admin_headers):
    return expect_json(session.get("/auth/me", headers=admin_headers), 200)["id"]


def test_logins(session, admin_headers, new_user, login):
    good = login(new_user["email"], new_user["password"], headers={"X-Request-Id": "audit-ok-1"})
    expect_json(good, 200)
    bad = login(new_user["email"], "not-the-password", headers={"X-Request-Id": "audit-bad-1"})
    assert bad.status_code == 401
    mine = entries(session, admin_headers, actor_id=new_user["id"], action="login")
    ok = [e for e in mine if e["request_id"] == "audit-ok-1"]
    failed = [e for e in mine if e["request_id"] == "audit-bad-1"]
    assert len(ok) == 1 and len(failed) == 1, mine
    check(ok[0], new_user["id"])
    check(failed[0], new_user["id"], outcome="failure")
    assert ok[0]["target_type"] == "user" and ok[0]["target_id"] == new_user["id"], ok[0]
    # make_user's own login is there too: one entry per login, no more
    assert len([e for e in mine if e["outcome"] == "success"]) == 2, mine


def test_user_changes(session, admin_headers, make_user):
    me = admin_id(session, admin_headers)
    target = make_user()
    session.patch(f"/users/{target['id']}", json={"roles": ["customer", "support"]},
                  headers=dict(admin_headers, **{"X-Request-Id": "audit-roles-1"}))
    expect_json(session.patch(f"/users/{target['id']}", json={"disabled": True},
                              headers=admin_headers), 200)
    expect_json(session.patch(f"/users/{target['id']}", json={"name": "Renamed"},
                              headers=admin_headers), 200)  # not security-relevant
    gone = make_user()
    assert session.delete(f"/users/{gone['id']}", headers=admin_headers).status_code == 204
    check(exactly_once(session, admin_headers, "user.roles.change", target["id"]), me,
          request_id="audit-roles-1")
    check(exactly_once(session, admin_headers, "user.disable", target["id"]), me)
    check(exactly_once(session, admin_headers, "user.delete", gone["id"]), me)
    assert not [e for e in entries(session, admin_headers, actor_id=me)
                if e["target_id"] == target["id"] and e["action"] not in
                ("user.roles.change", "user.disable")]
    # leave no disabled account behind for other tests' listings
    assert session.delete(f"/users/{target['id']}", headers=admin_headers).status_code == 204


def test_product_writes(session, admin_headers, make_product):
    me = admin_id(session, admin_headers)
    product = make_product()
    expect_json(session.patch(f"/products/{product['id']}", json={"stock": 3},
                              headers=dict(admin_headers, **{"X-Request-Id": "audit-prod-1"})), 200)
    assert session.delete(f"/products/{product['id']}", headers=admin_headers).status_code == 204
    check(exactly_once(session, admin_headers, "product.create", product["id"], wait=True), me)
    updated = exactly_once(session, admin_headers, "product.update", product["id"], wait=True)
    check(updated, me, request_id="audit-prod-1")
    assert updated["target_type"] == "product"
    check(exactly_once(session, admin_headers, "product.delete", product["id"], wait=True), me)


def test_cancelling_someone_elses_order(session, admin_headers, make_user, make_product):
    buyer, staff = make_user(), make_user()
    expect_json(session.patch(f"/users/{staff['id']}", json={"roles": ["customer", "support"]},
                              headers=admin_headers), 200)
    staff_headers = bearer(expect_json(session.post("/auth/login", json={
        "email": staff["email"], "password": staff["password"]}), 200)["access_token"])
    product = make_product(stock=5)
    own, other = (expect_json(session.post("/orders", json={"items": [
        {"product_id": product["id"], "quantity": 1}]}, headers=buyer["headers"]), 201)
        for _ in range(2))
    for o in (own, other):
        wait_order_settled(session, buyer["headers"], o["id"])
    expect_json(session.post(f"/orders/{own['id']}/cancel", headers=buyer["headers"]), 200)
    expect_json(session.post(f"/orders/{other['id']}/cancel", headers=staff_headers), 200)
    check(exactly_once(session, admin_headers, "order.cancel", other["id"], wait=True),
          staff["id"])
    # the owner cancelling their own order is not an audited decision
    assert not [e for e in entries(session, admin_headers, action="order.cancel")
                if e["target_id"] == own["id"]]


def test_clients_and_client_actors(session, admin_headers):
    me = admin_id(session, admin_headers)
    created = expect_json(session.post("/auth/clients", json={"name": "audit client",
                                                              "scopes": ["products:write"]},
                                       headers=admin_headers), 201)
    cid, secret = created["client_id"], created["client_secret"]
    access = expect_json(session.post("/oauth/token", data={"grant_type": "client_credentials"},
                                      auth=(cid, secret)), 200)["access_token"]
    product = expect_json(session.post("/products", json={"name": f"by client {uuid.uuid4()}",
                                                           "price_cents": 10, "stock": 1},
                                       headers=bearer(access)), 201)
    assert session.delete(f"/auth/clients/{cid}", headers=admin_headers).status_code == 204
    session.delete(f"/products/{product['id']}", headers=admin_headers)
    check(exactly_once(session, admin_headers, "client.create", cid), me)
    check(exactly_once(session, admin_headers, "client.delete", cid), me)
    by_client = exactly_once(session, admin_headers, "product.create", product["id"], wait=True)
    check(by_client, cid, actor_type="client")
    everything = session.get("/audit", params={"limit": 100}, headers=admin_headers).text
    assert secret not in everything and access not in everything


def test_filters_and_permission(session, admin_headers, new_user):
    me = admin_id(session, admin_headers)
    for item in entries(session, admin_headers, actor_id=me):
        assert item["actor_id"] == me, item
    for item in entries(session, admin_headers, action="login"):
        assert item["action"] == "login", item
    problem = assert_problem(session.get("/audit", params={"actor_id": "nope"},
                                         headers=admin_headers), 400)
    assert "actor_id" in error_fields(problem), problem
    assert_problem(session.get("/audit", params={"limit": 0}, headers=admin_headers), 400)
    assert_problem(session.get("/audit", headers=new_user["headers"]), 403)
    assert_problem(session.get("/audit"), 401)


@pytest.mark.parametrize("page", [1, 2])
def test_paging(session, admin_headers, page):
    body = expect_json(session.get("/audit", params={"page": page, "limit": 2},
                                   headers=admin_headers), 200)
    assert body["page"] == page and body["limit"] == 2 and len(body["items"]) <= 2, body
    ats = [item["at"] for item in body["items"]]
    assert ats == sorted(ats, reverse=True), ats
