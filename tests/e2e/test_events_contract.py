"""docs/events.md against what the producers really write.

Each test drives a producer through the gateway (sign up, change and delete
a user; create, change and delete a product; place orders that are
confirmed, rejected and cancelled) and reads the events it wrote from that
service's outbox table: the envelope must be CloudEvents 1.0 from the owning
source, keyed by the aggregate, and `data` must hold exactly the members the
document lists for that type, each of the documented type."""

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest

from conftest import (
    RFC3339_UTC,
    SETTLE_TIMEOUT,
    expect_json,
    place_order,
    sql,
    wait_order_settled,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
EVENTS_MD = REPO / "docs" / "events.md"
EVENTS_H = REPO / "libs" / "bus" / "include" / "souk" / "events.h"

OWNERS = {
    "order": "/order-service",
    "inventory": "/product-service",
    "product": "/product-service",
    "user": "/auth-service",
}
# souk.audit.recorded.v1 comes from whichever service acted, for its own actions.
AUDIT_SOURCES = {"/product-service": "product.", "/order-service": "order."}
TYPE_WORDS = {"uuid", "string", "integer", "boolean", "timestamp", "array", "object", "any"}


# --------------------------------------------------------------------------
# the document


def documented():
    """{event type: {field path: (type, nullable, optional)}} from docs/events.md."""
    spec, current = {}, None
    for line in EVENTS_MD.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^###\s+`?(souk\.[a-z]+\.[a-z]+\.v\d+)`?\s*$", line)
        if heading:
            current = spec.setdefault(heading.group(1), {})
            continue
        if line.startswith("## "):
            current = None
        row = re.match(r"^\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|", line)
        if current is None or not row:
            continue
        field, kind = row.group(1), row.group(2)
        words = [w.strip() for w in re.split(r",|\bor\b", kind) if w.strip()]
        base = [w for w in words if w in TYPE_WORDS]
        assert len(base) == 1, f"{field}: cannot read the type {kind!r}"
        assert set(words) <= TYPE_WORDS | {"null", "optional"}, f"{field}: {kind!r}"
        current[field] = (base[0], "null" in words, "optional" in words)
    return spec


def header_types():
    """The event types souk/events.h defines."""
    text = EVENTS_H.read_text(encoding="utf-8")
    return set(re.findall(r'#define\s+SOUK_EV_\w+\s+"([^"]+)"', text))


def test_every_type_is_documented_once():
    spec = documented()
    assert set(spec) == header_types(), (
        f"documented {sorted(spec)} but souk/events.h defines {sorted(header_types())}"
    )
    for event_type, fields in spec.items():
        assert fields, f"{event_type} documents no data member"
        for path in fields:
            parent = path.rsplit("[].", 1)[0] if "[]." in path else None
            if parent:
                assert fields.get(parent, ("",))[0] == "array", f"{event_type}: {path} without array"


# --------------------------------------------------------------------------
# checking one event


def type_ok(value, kind):
    if kind == "uuid":
        try:
            return isinstance(value, str) and str(uuid.UUID(value)) == value.lower()
        except ValueError:
            return False
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "timestamp":
        return isinstance(value, str) and RFC3339_UTC.match(value) is not None
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True  # any


def check_members(where, obj, fields, prefix=""):
    """obj holds exactly the members documented under prefix, each typed as said."""
    own = {p[len(prefix):]: spec for p, spec in fields.items()
           if p.startswith(prefix) and "[]." not in p[len(prefix):]}
    assert isinstance(obj, dict), f"{where}: {obj!r} is not an object"
    undocumented = set(obj) - set(own)
    assert not undocumented, f"{where}: undocumented members {sorted(undocumented)} in {obj}"
    for name, (kind, nullable, optional) in own.items():
        if name not in obj:
            assert optional, f"{where}: {prefix}{name} is missing from {obj}"
            continue
        value = obj[name]
        if value is None:
            assert nullable, f"{where}: {prefix}{name} is null"
            continue
        assert type_ok(value, kind), f"{where}: {prefix}{name}={value!r} is not {kind}"
        if kind == "array":
            for i, item in enumerate(value):
                if any(p.startswith(f"{prefix}{name}[].") for p in fields):
                    check_members(f"{where} {name}[{i}]", item, fields, f"{prefix}{name}[].")


def check_event(row, spec, expected_key):
    topic, key, payload = row
    event = json.loads(payload)
    where = f"{event.get('type')} {event.get('id')}"
    assert event["specversion"] == "1.0", where
    assert event["datacontenttype"] == "application/json", where
    assert type_ok(event["id"], "uuid") or event["id"], where
    assert RFC3339_UTC.match(event["time"]), where
    domain = event["type"].split(".")[1]
    if domain == "audit":
        prefix = AUDIT_SOURCES[event["source"]]
        assert event["data"]["action"].startswith(prefix), where
    else:
        assert event["source"] == OWNERS[domain], where
    assert key == expected_key and event["subject"] == expected_key, where
    expected_topic = {"order": "orders", "inventory": "inventory", "product": "products",
                      "user": "users", "audit": "audit"}[domain]
    assert topic == expected_topic, where
    assert event["type"] in spec, f"{where}: not documented"
    check_members(where, event["data"], spec[event["type"]])
    return event


def outbox_events(db_url, key):
    return sql(db_url, "SELECT topic, key, payload FROM outbox WHERE key = :'k' ORDER BY seq", k=key)


def wait_events(db_url, key, types):
    """The outbox rows of key once every type in types is among them."""

    def probe():
        rows = outbox_events(db_url, key)
        have = {json.loads(r[2])["type"] for r in rows}
        return rows if set(types) <= have else None

    return wait_until(probe, SETTLE_TIMEOUT, what=f"events {sorted(types)} for {key}")


def database(var):
    url = os.environ.get(var)
    if not url:
        pytest.skip(f"{var} is not set")
    if not shutil.which("psql"):
        pytest.skip("psql is not installed (postgresql-client)")
    return url


@pytest.fixture(scope="module")
def spec():
    return documented()


# --------------------------------------------------------------------------
# the producers


def test_user_events_match_the_document(spec, session, make_user):
    auth_db = database("AUTH_DATABASE_URL")
    user = make_user()
    resp = session.patch(f"/users/{user['id']}", json={"name": "Renamed"}, headers=user["headers"])
    expect_json(resp, 200)
    resp = session.delete(f"/users/{user['id']}", headers=user["headers"])
    assert resp.status_code == 204, resp.text
    types = ["souk.user.registered.v1", "souk.user.updated.v1", "souk.user.deleted.v1"]
    rows = wait_events(auth_db, user["id"], types)
    seen = {}
    for row in rows:
        event = check_event(row, spec, user["id"])
        seen[event["type"]] = event["data"]
    assert seen["souk.user.registered.v1"]["email"] == user["email"]
    assert seen["souk.user.updated.v1"]["name"] == "Renamed"
    assert seen["souk.user.deleted.v1"]["user_id"] == user["id"]


def test_product_events_match_the_document(spec, session, admin_headers, make_product):
    product_db = database("PRODUCT_DATABASE_URL")
    product = make_product(category="contract", sku=f"SKU-{uuid.uuid4().hex[:12]}")
    resp = session.patch(f"/products/{product['id']}", json={"price_cents": 1234},
                         headers=admin_headers)
    expect_json(resp, 200)
    resp = session.delete(f"/products/{product['id']}", headers=admin_headers)
    assert resp.status_code == 204, resp.text
    types = ["souk.product.created.v1", "souk.product.updated.v1", "souk.product.deleted.v1"]
    rows = wait_events(product_db, product["id"], types)
    seen = {}
    for row in rows:
        event = check_event(row, spec, product["id"])
        seen[event["type"]] = event["data"]
    assert seen["souk.product.created.v1"]["category"] == "contract"
    assert seen["souk.product.updated.v1"]["price_cents"] == 1234
    assert seen["souk.product.deleted.v1"] == {"id": product["id"]}


def test_order_and_inventory_events_match_the_document(spec, session, make_user, make_product):
    order_db = database("ORDER_DATABASE_URL")
    product_db = database("PRODUCT_DATABASE_URL")
    user = make_user()
    with_category = make_product(category="contract", price_cents=250, stock=5)
    without = make_product(price_cents=100, stock=1)

    # placed -> confirmed -> cancelled (reserved, released)
    resp = place_order(session, user["headers"], (with_category["id"], 2), (without["id"], 1))
    order = expect_json(resp, 201)
    assert wait_order_settled(session, user["headers"], order["id"])["status"] == "confirmed"
    resp = session.post(f"/orders/{order['id']}/cancel", headers=user["headers"])
    expect_json(resp, 200)
    # placed -> rejected (inventory rejected)
    resp = place_order(session, user["headers"], (without["id"], 1000))
    rejected = expect_json(resp, 201)
    assert wait_order_settled(session, user["headers"], rejected["id"])["status"] == "rejected"

    rows = wait_events(order_db, order["id"], ["souk.order.placed.v1", "souk.order.confirmed.v1",
                                               "souk.order.cancelled.v1"])
    for row in rows:
        data = check_event(row, spec, order["id"])["data"]
        assert data["user_id"] == user["id"] and data["total_cents"] == 600, data
        lines = {i["product_id"]: i for i in data["items"]}
        assert lines[with_category["id"]]["category"] == "contract", data
        assert lines[with_category["id"]]["unit_price_cents"] == 250, data
        assert lines[without["id"]]["category"] is None, data
    rows = wait_events(order_db, rejected["id"], ["souk.order.placed.v1", "souk.order.rejected.v1"])
    for row in rows:
        data = check_event(row, spec, rejected["id"])["data"]
        if data["status"] == "rejected":
            assert "insufficient stock" in data["reason"], data

    inventory = ["souk.inventory.reserved.v1", "souk.inventory.released.v1"]
    for row in wait_events(product_db, order["id"], inventory):
        check_event(row, spec, order["id"])
    for row in wait_events(product_db, rejected["id"], ["souk.inventory.rejected.v1"]):
        check_event(row, spec, rejected["id"])


def test_audit_events_match_the_document(spec, session, admin_headers, make_user, make_product):
    product_db = database("PRODUCT_DATABASE_URL")
    order_db = database("ORDER_DATABASE_URL")
    me = expect_json(session.get("/auth/me", headers=admin_headers), 200)["id"]
    product = make_product(stock=3)
    rows = wait_events(product_db, product["id"], ["souk.audit.recorded.v1"])
    audits = [check_event(r, spec, product["id"]) for r in rows
              if json.loads(r[2])["type"] == "souk.audit.recorded.v1"]
    assert [a["data"]["action"] for a in audits] == ["product.create"], audits
    assert audits[0]["data"]["actor_id"] == me and audits[0]["data"]["actor_type"] == "user"
    assert audits[0]["data"]["target_id"] == product["id"]

    buyer = make_user()
    order = expect_json(place_order(session, buyer["headers"], (product["id"], 1)), 201)
    wait_order_settled(session, buyer["headers"], order["id"])
    expect_json(session.post(f"/orders/{order['id']}/cancel", headers=admin_headers), 200)
    rows = wait_events(order_db, order["id"], ["souk.audit.recorded.v1"])
    audits = [check_event(r, spec, order["id"]) for r in rows
              if json.loads(r[2])["type"] == "souk.audit.recorded.v1"]
    assert len(audits) == 1, audits
    data = audits[0]["data"]
    assert data["action"] == "order.cancel" and data["actor_id"] == me, data
    assert data["target_type"] == "order" and data["target_id"] == order["id"], data
