"""Orders through the gateway (ARCHITECTURE.md section 4, orders; section 5,
events): placement, the asynchronous inventory outcome, cancellation and the
stock that comes back, visibility, idempotent retries, validation, the
overview page, a race for the last items, and redelivered events.

Every test creates its own products with an exact stock, so the stock it
reads back is its own doing. Outcomes arrive through Kafka: tests poll with a
deadline (SETTLE_TIMEOUT), never sleep for a fixed time."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (
    Api,
    assert_problem,
    assert_recent,
    assert_unauthorized,
    assert_uuid,
    describe,
    error_fields,
    expect_json,
    metric,
    parse_utc,
    pending_order_ids,
    place_order,
    product_stock,
    sql,
    sql_value,
    wait_order_settled,
    wait_orders_settled,
    wait_until,
)

ORDER_MEMBERS = {
    "id", "user_id", "status", "reason", "items", "total_cents", "currency", "created_at", "updated_at",
}


def assert_order(order, user_id, status, lines):
    """Check an Order against the contract. lines: [(product, quantity)], one
    per product, with the Product each was priced from."""
    assert set(order) == ORDER_MEMBERS, order
    assert_uuid(order["id"])
    assert order["user_id"] == user_id, order
    assert order["status"] == status, order
    if status == "rejected":
        assert isinstance(order["reason"], str) and order["reason"], order
    else:
        assert order["reason"] is None, order
    created, updated = parse_utc(order["created_at"]), parse_utc(order["updated_at"])
    assert_recent(created)
    assert created <= updated, order
    expected = sorted(
        (
            {"product_id": p["id"], "name": p["name"], "quantity": q, "unit_price_cents": p["price_cents"]}
            for p, q in lines
        ),
        key=lambda item: item["product_id"],
    )
    assert sorted(order["items"], key=lambda item: item["product_id"]) == expected, order
    assert order["total_cents"] == sum(p["price_cents"] * q for p, q in lines), order
    assert order["currency"] == "USD", order


@pytest.fixture
def place(session):
    """Factory: place an order (201 expected) and return it."""

    def _place(user, *pairs, headers=None):
        resp = place_order(session, headers or user["headers"], *((p["id"], q) for p, q in pairs))
        order = expect_json(resp, 201)
        assert resp.headers.get("Location") == f"/orders/{order['id']}", describe(resp)
        assert_order(order, user["id"], "pending", pairs)
        return order

    return _place


def settle(session, user, order):
    return wait_order_settled(session, user["headers"], order["id"])


def get_order(session, headers, order_id):
    return expect_json(session.get(f"/orders/{order_id}", headers=headers), 200)


def list_orders(session, headers, **params):
    return expect_json(session.get("/orders", params=params, headers=headers), 200)


def reservations(product_db, order_id):
    """The statuses of the order's rows in product-service's reservations table."""
    rows = sql(product_db, "SELECT status FROM reservations WHERE order_id = :'id'", id=order_id)
    return [row[0] for row in rows]


# ---------------------------------------------------------------- the inventory outcome


def test_order_is_confirmed_and_reserves_stock(session, make_user, make_product, place):
    user = make_user()
    product = make_product(stock=7, price_cents=1250)
    order = place(user, (product, 3))
    done = settle(session, user, order)
    assert_order(done, user["id"], "confirmed", [(product, 3)])
    assert done["id"] == order["id"] and done["created_at"] == order["created_at"], done
    assert parse_utc(done["updated_at"]) > parse_utc(order["updated_at"]), done
    assert done["total_cents"] == 3750, done
    assert product_stock(session, product["id"]) == 4
    assert get_order(session, user["headers"], order["id"]) == done


def test_duplicate_lines_are_merged(session, make_user, make_product, place):
    user = make_user()
    product = make_product(stock=10)
    resp = place_order(session, user["headers"], (product["id"], 2), (product["id"], 3))
    order = expect_json(resp, 201)
    assert_order(order, user["id"], "pending", [(product, 5)])
    assert settle(session, user, order)["status"] == "confirmed"
    assert product_stock(session, product["id"]) == 5


def test_order_over_the_stock_is_rejected(session, make_user, make_product, place):
    user = make_user()
    product = make_product(stock=3)
    order = place(user, (product, 4))
    done = settle(session, user, order)
    assert_order(done, user["id"], "rejected", [(product, 4)])
    assert "insufficient stock" in done["reason"] and product["id"] in done["reason"], done
    assert product_stock(session, product["id"]) == 3


def test_reservation_is_all_or_nothing(session, admin_headers, make_user, make_product, place):
    """Three lines, the last one (in the order product-service takes them: by
    product id) short of stock: the two taken before it are given back."""
    user = make_user()
    products = sorted((make_product(stock=5) for _ in range(3)), key=lambda p: p["id"])
    short = products[-1]
    expect_json(session.patch(f"/products/{short['id']}", json={"stock": 1}, headers=admin_headers), 200)
    order = place(user, *((p, 2) for p in products))
    done = settle(session, user, order)
    assert done["status"] == "rejected", done
    assert short["id"] in done["reason"], done
    assert [product_stock(session, p["id"]) for p in products] == [5, 5, 1]
    # the same lines fit once the short product has stock again
    expect_json(session.patch(f"/products/{short['id']}", json={"stock": 2}, headers=admin_headers), 200)
    again = settle(session, user, place(user, *((p, 2) for p in products)))
    assert again["status"] == "confirmed", again
    assert [product_stock(session, p["id"]) for p in products] == [3, 3, 0]


# ---------------------------------------------------------------- cancellation


def test_cancel_returns_the_stock(session, make_user, make_product, place):
    user = make_user()
    product = make_product(stock=9)
    order = place(user, (product, 4))
    assert settle(session, user, order)["status"] == "confirmed"
    assert product_stock(session, product["id"]) == 5

    cancelled = expect_json(session.post(f"/orders/{order['id']}/cancel", headers=user["headers"]), 200)
    assert_order(cancelled, user["id"], "cancelled", [(product, 4)])
    wait_until(lambda: product_stock(session, product["id"]) == 9, 10, what="the stock to come back to 9")
    assert get_order(session, user["headers"], order["id"])["status"] == "cancelled"

    # cancelling twice is an illegal state change, and releases nothing more
    assert_problem(session.post(f"/orders/{order['id']}/cancel", headers=user["headers"]), 409)
    assert product_stock(session, product["id"]) == 9


def test_cancel_a_rejected_order(session, make_user, make_product, place):
    user = make_user()
    product = make_product(stock=1)
    order = place(user, (product, 2))
    assert settle(session, user, order)["status"] == "rejected"
    assert_problem(session.post(f"/orders/{order['id']}/cancel", headers=user["headers"]), 409)
    after = get_order(session, user["headers"], order["id"])
    assert after["status"] == "rejected", after
    assert product_stock(session, product["id"]) == 1


# ---------------------------------------------------------------- who sees what


def test_someone_elses_order_does_not_exist(session, make_user, make_product, place):
    owner, other = make_user(), make_user()
    product = make_product(stock=5)
    order = place(owner, (product, 2))
    assert settle(session, owner, order)["status"] == "confirmed"

    assert_problem(session.get(f"/orders/{order['id']}", headers=other["headers"]), 404)
    assert_problem(session.post(f"/orders/{order['id']}/cancel", headers=other["headers"]), 404)
    assert get_order(session, owner["headers"], order["id"])["status"] == "confirmed"
    assert product_stock(session, product["id"]) == 3


@pytest.mark.parametrize("bad_id", ["nope", "123", str(uuid.uuid4())[:-1]])
def test_malformed_order_id(session, new_user, bad_id):
    assert_problem(session.get(f"/orders/{bad_id}", headers=new_user["headers"]), 404)
    assert_problem(session.post(f"/orders/{bad_id}/cancel", headers=new_user["headers"]), 404)


def test_orders_need_a_token(session, make_product):
    product = make_product()
    assert_unauthorized(place_order(session, {}, (product["id"], 1)))
    assert_unauthorized(session.get("/orders"))
    assert_unauthorized(session.get(f"/orders/{uuid.uuid4()}"))
    assert_unauthorized(session.post(f"/orders/{uuid.uuid4()}/cancel"))
    assert product_stock(session, product["id"]) == product["stock"]


def test_lists_own_orders_and_admin_sees_all(session, admin_headers, make_user, make_product, place):
    alice, bob = make_user(), make_user()
    product = make_product(stock=3)
    alices = [place(alice, (product, 1)), place(alice, (product, 5))]  # the second is rejected
    bobs = [place(bob, (product, 1))]
    wait_orders_settled(session, admin_headers, [o["id"] for o in alices + bobs])

    # a customer lists only their own orders
    mine = list_orders(session, bob["headers"])
    assert mine["total"] == 1 and [o["id"] for o in mine["items"]] == [bobs[0]["id"]], mine
    mine = list_orders(session, alice["headers"])
    assert mine["total"] == 2, mine
    assert {o["id"] for o in mine["items"]} == {o["id"] for o in alices}, mine
    rejected = list_orders(session, alice["headers"], status="rejected")
    assert [o["id"] for o in rejected["items"]] == [alices[1]["id"]] and rejected["total"] == 1, rejected
    # ... and cannot list someone else's by asking for them
    resp = session.get("/orders", params={"user_id": bob["id"]}, headers=alice["headers"])
    if resp.status_code == 200:
        assert all(o["user_id"] == alice["id"] for o in resp.json()["items"]), describe(resp)
    else:
        assert_problem(resp, 403)

    # an admin sees anyone's
    theirs = list_orders(session, admin_headers, user_id=alice["id"])
    assert theirs["total"] == 2, theirs
    assert {o["id"] for o in theirs["items"]} == {o["id"] for o in alices}, theirs
    assert all(o["user_id"] == alice["id"] for o in theirs["items"]), theirs
    got = get_order(session, admin_headers, bobs[0]["id"])
    assert got["user_id"] == bob["id"] and got["status"] == "confirmed", got
    everyone = list_orders(session, admin_headers, limit=100)
    assert everyone["total"] >= 3, everyone
    assert {o["user_id"] for o in everyone["items"]} >= {alice["id"], bob["id"]}, everyone

    # paging
    first = list_orders(session, alice["headers"], limit=1)
    second = list_orders(session, alice["headers"], limit=1, page=2)
    assert (first["page"], first["limit"], first["total"]) == (1, 1, 2), first
    assert (second["page"], second["limit"], second["total"]) == (2, 1, 2), second
    assert {first["items"][0]["id"], second["items"][0]["id"]} == {o["id"] for o in alices}


@pytest.mark.parametrize("params", [{"status": "shipped"}, {"user_id": "nope"}, {"limit": 0}])
def test_bad_list_filters(session, admin_headers, params):
    assert_problem(session.get("/orders", params=params, headers=admin_headers), 400)


# ---------------------------------------------------------------- Idempotency-Key


def test_idempotency_key_replays_the_order(session, make_user, make_product, place):
    user = make_user()
    product = make_product(stock=10)
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    first = place(user, (product, 3), headers=dict(user["headers"], **key))
    resp = place_order(session, dict(user["headers"], **key), (product["id"], 3))
    replay = expect_json(resp, 200)
    assert resp.headers.get("Idempotent-Replayed") == "true", describe(resp)
    assert replay["id"] == first["id"] and replay["items"] == first["items"], replay

    assert settle(session, user, first)["status"] == "confirmed"
    # a replay after the outcome returns the order as it is now
    resp = place_order(session, dict(user["headers"], **key), (product["id"], 3))
    assert expect_json(resp, 200)["status"] == "confirmed", describe(resp)
    listed = list_orders(session, user["headers"])
    assert listed["total"] == 1, listed
    assert product_stock(session, product["id"]) == 7  # reserved once


def test_idempotency_key_with_other_lines(session, make_user, make_product, place):
    user = make_user()
    product = make_product(stock=10)
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    first = place(user, (product, 1), headers=dict(user["headers"], **key))
    assert_problem(place_order(session, dict(user["headers"], **key), (product["id"], 2)), 422)
    settle(session, user, first)
    assert list_orders(session, user["headers"])["total"] == 1
    assert product_stock(session, product["id"]) == 9


def test_idempotency_key_is_per_user(session, make_user, make_product, place):
    alice, bob = make_user(), make_user()
    product = make_product(stock=10)
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    theirs = place(alice, (product, 1), headers=dict(alice["headers"], **key))
    mine = place(bob, (product, 1), headers=dict(bob["headers"], **key))
    assert mine["id"] != theirs["id"] and mine["user_id"] == bob["id"], mine
    wait_orders_settled(session, alice["headers"], [theirs["id"]])
    wait_orders_settled(session, bob["headers"], [mine["id"]])
    assert product_stock(session, product["id"]) == 8


def test_concurrent_retries_with_one_key(session, make_user, make_product):
    """Eight copies of one request at once: one order, the others replay it."""
    user = make_user()
    product = make_product(stock=10)
    headers = dict(user["headers"], **{"Idempotency-Key": f"e2e-{uuid.uuid4()}"})
    start = threading.Barrier(8)

    def attempt(_):
        with Api(session.base) as api:
            start.wait(timeout=30)
            return place_order(api, headers, (product["id"], 2))

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(attempt, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 7 + [201], [describe(r) for r in responses if r.status_code >= 300]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 1, ids
    assert wait_order_settled(session, user["headers"], ids.pop())["status"] == "confirmed"
    assert list_orders(session, user["headers"])["total"] == 1
    assert product_stock(session, product["id"]) == 8


@pytest.mark.parametrize("key", ["", "has space", "x" * 256], ids=["empty", "space", "too-long"])
def test_malformed_idempotency_key(session, new_user, make_product, key):
    product = make_product()
    resp = place_order(session, dict(new_user["headers"], **{"Idempotency-Key": key}), (product["id"], 1))
    assert_problem(resp, 400)


# ---------------------------------------------------------------- validation


def line(quantity=1, product_id="{product}"):
    return {"product_id": product_id, "quantity": quantity}


INVALID_BODIES = {
    "no-items": ({}, "items"),
    "empty-items": ({"items": []}, "items"),
    "items-not-array": ({"items": {"product_id": "{product}", "quantity": 1}}, "items"),
    "quantity-0": ({"items": [line(0)]}, "items[0].quantity"),
    "quantity-1001": ({"items": [line(1001)]}, "items[0].quantity"),
    "quantity-negative": ({"items": [line(-1)]}, "items[0].quantity"),
    "quantity-fraction": ({"items": [line(1.5)]}, "items[0].quantity"),
    "quantity-string": ({"items": [line("1")]}, "items[0].quantity"),
    "quantity-missing": ({"items": [{"product_id": "{product}"}]}, "items[0].quantity"),
    "product-not-uuid": ({"items": [line(1, "abc")]}, "items[0].product_id"),
    "product-missing": ({"items": [{"quantity": 1}]}, "items[0].product_id"),
    "second-line": ({"items": [line(1), line(0)]}, "items[1].quantity"),
    "line-not-object": ({"items": ["{product}"]}, "items[0]"),
    "51-lines": ({"items": [line(1, str(uuid.uuid4())) for _ in range(51)]}, "items"),
    "merged-over-1000": ({"items": [line(600), line(401)]}, "items"),
}


def fill(node, product_id):
    if isinstance(node, dict):
        return {k: fill(v, product_id) for k, v in node.items()}
    if isinstance(node, list):
        return [fill(v, product_id) for v in node]
    return product_id if node == "{product}" else node


@pytest.mark.parametrize("body, field", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_invalid_order(session, new_user, make_product, body, field):
    product = make_product(stock=2000)
    resp = session.post("/orders", json=fill(body, product["id"]), headers=new_user["headers"])
    problem = assert_problem(resp, 400)
    assert field in error_fields(problem), describe(resp)
    assert list_orders(session, new_user["headers"])["total"] == 0


def test_malformed_json_order(session, new_user):
    headers = dict(new_user["headers"], **{"Content-Type": "application/json"})
    resp = session.post("/orders", data='{"items": [', headers=headers)
    assert_problem(resp, 400)


def test_unknown_product(session, new_user, make_product):
    known = make_product(stock=5)
    unknown = str(uuid.uuid4())
    resp = place_order(session, new_user["headers"], (known["id"], 1), (unknown, 1))
    problem = assert_problem(resp, 422)
    assert "items" in error_fields(problem), describe(resp)
    assert unknown in resp.text, describe(resp)
    assert list_orders(session, new_user["headers"])["total"] == 0
    assert product_stock(session, known["id"]) == 5


def test_deleted_product_cannot_be_ordered(session, admin_headers, new_user, make_product):
    product = make_product(stock=5)
    assert session.delete(f"/products/{product['id']}", headers=admin_headers).status_code == 204
    assert_problem(place_order(session, new_user["headers"], (product["id"], 1)), 422)


# ---------------------------------------------------------------- overview


def test_me_overview(session, make_user, make_product, place):
    user = make_user()
    product = make_product(stock=100)
    placed = [place(user, (product, 1)) for _ in range(6)]
    wait_orders_settled(session, user["headers"], [o["id"] for o in placed])
    overview = expect_json(session.get("/me/overview", headers=user["headers"]), 200)
    assert overview["user"]["id"] == user["id"] and overview["user"]["email"] == user["email"], overview
    assert overview["order_count"] == 6, overview
    assert [o["id"] for o in overview["orders"]] == [o["id"] for o in reversed(placed[1:])], overview
    assert all(o["status"] == "confirmed" for o in overview["orders"]), overview
    assert "warnings" not in overview, overview


def test_me_overview_without_orders(session, new_user):
    overview = expect_json(session.get("/me/overview", headers=new_user["headers"]), 200)
    assert overview["user"]["id"] == new_user["id"], overview
    assert overview["orders"] == [] and overview["order_count"] == 0, overview
    assert_unauthorized(session.get("/me/overview"))


# ---------------------------------------------------------------- concurrency


def test_fifty_buyers_for_ten_items(session, admin_headers, make_user, make_product, product_db):
    """50 customers order one item each at the same moment; there are 10."""
    product = make_product(stock=10)
    buyers = [make_user() for _ in range(50)]
    start = threading.Barrier(len(buyers))

    def buy(buyer):
        with Api(session.base, timeout=30) as api:
            start.wait(timeout=60)
            return place_order(api, buyer["headers"], (product["id"], 1))

    with ThreadPoolExecutor(max_workers=len(buyers)) as pool:
        responses = list(pool.map(buy, buyers))
    failed = [describe(r) for r in responses if r.status_code != 201]
    assert not failed, failed
    ids = [r.json()["id"] for r in responses]
    orders = wait_orders_settled(session, admin_headers, ids).values()

    confirmed = [o for o in orders if o["status"] == "confirmed"]
    rejected = [o for o in orders if o["status"] == "rejected"]
    assert (len(confirmed), len(rejected)) == (10, 40), sorted(o["status"] for o in orders)
    assert all(product["id"] in o["reason"] for o in rejected), rejected[:3]
    assert product_stock(session, product["id"]) == 0
    reserved = sql_value(
        product_db,
        "SELECT count(*) FROM reservations WHERE status = 'reserved' AND order_id = ANY(:'ids'::uuid[])",
        ids="{" + ",".join(o["id"] for o in confirmed) + "}",
    )
    assert int(reserved) == 10


# ---------------------------------------------------------------- redelivered events


def redeliver(order_db, order_id, event_type):
    """Publish the order's event of this type again, with the same event id, the
    way a relay that crashed before marking it sent would; returns the event id."""
    rows = sql(
        order_db,
        "INSERT INTO outbox (id, topic, key, payload, traceparent)"
        " SELECT id, topic, key, payload, traceparent FROM outbox"
        " WHERE key = :'order' AND payload::json->>'type' = :'type' RETURNING id",
        order=order_id,
        type=event_type,
    )
    assert len(rows) == 1, f"expected one {event_type} event for order {order_id} in the outbox: {rows}"
    return rows[0][0]


def handled(product_url, event_type, outcome=None):
    labels = {"type": event_type} if outcome is None else {"type": event_type, "outcome": outcome}
    return metric(product_url, "events_handled_total", **labels)


def wait_redelivered(order_db, product_url, event_type, event_id, handled_before):
    """Wait until the order database's outbox has nothing unsent (the copy
    included) and product-service has handled one more event of this type."""

    def delivered():
        unsent = int(sql_value(order_db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
        return unsent == 0 and handled(product_url, event_type) > handled_before

    wait_until(delivered, 20, what=f"the copy of {event_type} {event_id} to be sent and handled")
    copies = sql_value(order_db, "SELECT count(*) FROM outbox WHERE id = :'id' AND sent_at IS NOT NULL",
                       id=event_id)
    assert int(copies) == 2, f"event {event_id} should have been published twice, was {copies} times"


def test_redelivered_order_placed_reserves_once(
    session, make_user, make_product, place, order_db, product_db, product_url
):
    user = make_user()
    product = make_product(stock=10)
    order = place(user, (product, 4))
    assert settle(session, user, order)["status"] == "confirmed"
    assert product_stock(session, product["id"]) == 6

    placed = "souk.order.placed.v1"
    before, duplicates = handled(product_url, placed), handled(product_url, placed, "duplicate")
    event_id = redeliver(order_db, order["id"], placed)
    wait_redelivered(order_db, product_url, placed, event_id, before)

    assert product_stock(session, product["id"]) == 6
    assert handled(product_url, placed, "duplicate") == duplicates + 1
    assert reservations(product_db, order["id"]) == ["reserved"]
    inbox = sql_value(product_db, "SELECT count(*) FROM processed_events WHERE event_id = :'id'", id=event_id)
    assert inbox == "1", f"event {event_id} recorded {inbox} times in product-service's processed_events"
    assert get_order(session, user["headers"], order["id"])["status"] == "confirmed"


def test_redelivered_order_cancelled_releases_once(
    session, make_user, make_product, place, order_db, product_db, product_url
):
    user = make_user()
    product = make_product(stock=10)
    order = place(user, (product, 4))
    assert settle(session, user, order)["status"] == "confirmed"
    expect_json(session.post(f"/orders/{order['id']}/cancel", headers=user["headers"]), 200)
    wait_until(lambda: product_stock(session, product["id"]) == 10, 10, what="the stock to come back to 10")

    cancelled = "souk.order.cancelled.v1"
    before, duplicates = handled(product_url, cancelled), handled(product_url, cancelled, "duplicate")
    event_id = redeliver(order_db, order["id"], cancelled)
    wait_redelivered(order_db, product_url, cancelled, event_id, before)

    assert product_stock(session, product["id"]) == 10
    assert handled(product_url, cancelled, "duplicate") == duplicates + 1
    assert reservations(product_db, order["id"]) == ["released"]


def test_no_order_left_pending(session, admin_headers):
    """Every order placed so far has been decided (runs last in the module)."""
    wait_until(lambda: not pending_order_ids(session, admin_headers), 10, what="no pending order at all")
