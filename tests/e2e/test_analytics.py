"""analytics-service through the gateway.

Reports: a scripted set of orders on two days of a past week no other test
touches (a random one per run), published the way their owners publish
them (rows in auth-service's and order-service's outboxes, with the events'
own times), must give exactly the expected figures in every report, as JSON
and as CSV; the same events delivered again must not change them.

Recommendations: real orders through the API; a product bought with two
others recommends those two, most co-purchased first, never itself nor a
product whose only orders were cancelled, and drops a deleted one.
"""

import csv
import io
import json
import os
import random
import uuid
from datetime import date, timedelta

import pytest

from conftest import (
    SETTLE_TIMEOUT,
    assert_problem,
    assert_unauthorized,
    bearer,
    expect_json,
    metric,
    place_order,
    sql,
    wait_order_settled,
    wait_until,
)

REPORT_TIMEOUT = 30  # seconds for injected events to reach the reports


def database(var):
    url = os.environ.get(var)
    if not url:
        pytest.skip(f"{var} is not set")
    return url


@pytest.fixture(scope="module")
def analytics_url():
    url = os.environ.get("ANALYTICS_URL", "").rstrip("/")
    if not url:
        pytest.skip("ANALYTICS_URL is not set")
    return url


# --------------------------------------------------------------------------
# publishing events as their owners do


def envelope(source, event_type, subject, time, data, event_id=None):
    return {"specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": source,
            "type": event_type, "time": time, "subject": subject,
            "datacontenttype": "application/json", "data": data}


def publish(db_url, topic, key, event):
    sql(db_url, "INSERT INTO outbox (id, topic, key, payload) VALUES (:'id', :'t', :'k', :'p')",
        id=event["id"], t=topic, k=key, p=json.dumps(event))


class Script:
    """The scripted set: products A-D, six orders on days d1 and d2, three
    registrations. Keeps every event it published, for redelivery."""

    def __init__(self, d1, order_db, auth_db):
        self.d1, self.d2 = d1, d1 + timedelta(days=1)
        self.order_db, self.auth_db = order_db, auth_db
        tag = uuid.uuid4().hex[:8]
        self.kitchen, self.tea = f"e2e-kitchen-{tag}", f"e2e-tea-{tag}"
        self.products = {
            "A": (str(uuid.uuid4()), f"Kettle {tag}", self.kitchen, 1000),
            "B": (str(uuid.uuid4()), f"Mug, large {tag}", self.kitchen, 500),
            "C": (str(uuid.uuid4()), f"Clip {tag}", None, 200),
            "D": (str(uuid.uuid4()), f"=Sencha {tag}", self.tea, 700),
        }
        self.events = []  # (db, topic, key, event)

    def at(self, day, clock="10:00:00"):
        return f"{day.isoformat()}T{clock}.000Z"

    def line(self, letter, quantity):
        pid, name, category, price = self.products[letter]
        return {"product_id": pid, "name": name, "category": category, "quantity": quantity,
                "unit_price_cents": price}

    def order(self, currency, lines, steps, final):
        """steps: [(type, day)]; final: the order's status in order-service."""
        order_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        items = [self.line(letter, q) for letter, q in lines]
        total = sum(i["quantity"] * i["unit_price_cents"] for i in items)
        # order-service's own row, already settled, so its answers to
        # inventory outcomes leave it alone
        sql(self.order_db, "INSERT INTO orders (id, user_id, status, total_cents, currency)"
            " VALUES (:'id', :'u', :'s', :'t', :'c')", id=order_id, u=user_id, s=final,
            t=str(total), c=currency)
        for event_type, day in steps:
            status = event_type.split(".")[2]
            data = {"order_id": order_id, "user_id": user_id, "status":
                    "pending" if status == "placed" else status, "items": items,
                    "total_cents": total, "currency": currency}
            if status == "rejected":
                data["reason"] = "insufficient stock for product " + items[0]["product_id"]
            self.emit(self.order_db, "orders", order_id,
                      envelope("/order-service", event_type, order_id, self.at(day), data))
        return order_id

    def register(self, day):
        user_id = str(uuid.uuid4())
        data = {"user_id": user_id, "email": f"e2e-{user_id}@example.com", "name": None,
                "roles": ["customer"], "created_at": self.at(day)}
        self.emit(self.auth_db, "users", user_id,
                  envelope("/auth-service", "souk.user.registered.v1", user_id, self.at(day),
                           data))

    def emit(self, db, topic, key, event):
        publish(db, topic, key, event)
        self.events.append((db, topic, key, event))

    def run(self):
        P, C, R, X = ("souk.order.placed.v1", "souk.order.confirmed.v1",
                      "souk.order.rejected.v1", "souk.order.cancelled.v1")
        d1, d2 = self.d1, self.d2
        self.register(d1)
        self.register(d1)
        self.register(d2)
        self.order("USD", [("A", 2), ("B", 1)], [(P, d1), (C, d1)], "confirmed")
        self.order("USD", [("A", 1)], [(P, d1), (R, d1)], "rejected")
        self.order("EUR", [("C", 3)], [(P, d1), (C, d1), (X, d2)], "cancelled")
        self.order("EUR", [("D", 1)], [(P, d1), (C, d1)], "confirmed")
        self.order("USD", [("A", 1), ("B", 2)], [(P, d2), (C, d2)], "confirmed")
        self.order("USD", [("B", 1)], [(P, d2), (X, d2)], "cancelled")


def report(session, headers, path, csv_too=False, **params):
    body = expect_json(session.get(path, params=params, headers=headers), 200)
    if not csv_too:
        return body
    resp = session.get(path, params=params, headers=dict(headers, Accept="text/csv"))
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/csv"), resp.headers
    assert resp.text.endswith("\r\n"), resp.text
    return body, list(csv.reader(io.StringIO(resp.text, newline="")))


def free_week(session, admin_headers):
    """A random past Monday whose week has no figures yet, and whose Tuesday
    and Wednesday are in one month."""
    rng = random.Random()
    for _ in range(40):
        monday = date(2001, 1, 1) + timedelta(weeks=rng.randrange(900))
        if (monday + timedelta(days=1)).month != (monday + timedelta(days=2)).month:
            continue
        summary = report(session, admin_headers, "/reports/summary", **{
            "from": monday.isoformat(), "to": (monday + timedelta(days=7)).isoformat()})
        if summary["orders_placed"] == 0 and summary["new_users"] == 0:
            return monday
    pytest.fail("no free week found")


SUMMARY_BOTH = {
    "orders_placed": 6, "orders_confirmed": 4, "orders_rejected": 1, "orders_cancelled": 2,
    "units_sold": 7, "revenue_by_currency": {"USD": 4500, "EUR": 700},
    "average_order_cents_by_currency": {"USD": 2250, "EUR": 700}, "new_users": 3,
}


@pytest.fixture(scope="module")
def scripted(gw, analytics_url):
    """The scripted set, published once for the module, and the reports once
    they show it."""
    import requests

    from conftest import Api

    order_db, auth_db = database("ORDER_DATABASE_URL"), database("AUTH_DATABASE_URL")
    with Api(gw) as session:
        login = expect_json(session.post("/auth/login", json={
            "email": os.environ["SOUK_ADMIN_EMAIL"],
            "password": os.environ["SOUK_ADMIN_PASSWORD"]}), 200)
        admin = bearer(login["access_token"])
        monday = free_week(session, admin)
        # Tuesday and Wednesday of that week: the week and month buckets are
        # then checkable too
        script = Script(monday + timedelta(days=1), order_db, auth_db)
        script.run()
        window = {"from": script.d1.isoformat(), "to": (script.d2 + timedelta(days=1)).isoformat()}
        wait_until(lambda: report(session, admin, "/reports/summary", **window) == SUMMARY_BOTH,
                   REPORT_TIMEOUT, interval=0.5, what="the scripted orders in the summary")
        assert requests.get(f"{analytics_url}/readyz", timeout=10).status_code == 200
        yield script, admin


def test_summary_counts_each_event_on_its_own_day(session, scripted):
    script, admin = scripted
    d1, d2, d3 = script.d1, script.d2, script.d2 + timedelta(days=1)
    body, rows = report(session, admin, "/reports/summary", csv_too=True,
                        **{"from": d1.isoformat(), "to": d3.isoformat()})
    assert body == SUMMARY_BOTH
    assert rows == [
        ["orders_placed", "orders_confirmed", "orders_rejected", "orders_cancelled", "units_sold",
         "new_users", "revenue_cents_EUR", "revenue_cents_USD", "average_order_cents_EUR",
         "average_order_cents_USD"],
        ["6", "4", "1", "2", "7", "3", "700", "4500", "700", "2250"],
    ]
    # the first day alone: the EUR order cancelled on day 2 no longer counts
    # as a sale on day 1, and its cancellation belongs to day 2
    day1 = report(session, admin, "/reports/summary",
                  **{"from": f"{d1.isoformat()}T00:00:00Z", "to": d2.isoformat()})
    assert day1 == {"orders_placed": 4, "orders_confirmed": 3, "orders_rejected": 1,
                    "orders_cancelled": 0, "units_sold": 4,
                    "revenue_by_currency": {"USD": 2500, "EUR": 700},
                    "average_order_cents_by_currency": {"USD": 2500, "EUR": 700},
                    "new_users": 2}
    # a to inside a day counts that day
    assert report(session, admin, "/reports/summary", **{
        "from": d1.isoformat(), "to": f"{d2.isoformat()}T12:00:00Z"}) == SUMMARY_BOTH


def test_sales_by_day_week_and_month_include_empty_periods(session, scripted):
    script, admin = scripted
    d1, d2 = script.d1, script.d2
    monday, sunday = d1 - timedelta(days=1), d1 + timedelta(days=5)
    body, rows = report(session, admin, "/reports/sales", csv_too=True, interval="day",
                        **{"from": monday.isoformat(), "to": (sunday + timedelta(days=1)).isoformat()})
    items = body["items"]
    assert [i["period_start"] for i in items] == [
        f"{(monday + timedelta(days=n)).isoformat()}T00:00:00Z" for n in range(7)]
    by_day = {i["period_start"][:10]: i for i in items}
    assert by_day[d1.isoformat()] == {"period_start": f"{d1.isoformat()}T00:00:00Z", "orders": 2,
                                      "units": 4, "revenue_by_currency": {"USD": 2500, "EUR": 700}}
    assert by_day[d2.isoformat()] == {"period_start": f"{d2.isoformat()}T00:00:00Z", "orders": 1,
                                      "units": 3, "revenue_by_currency": {"USD": 2000}}
    for day, item in by_day.items():
        if day not in (d1.isoformat(), d2.isoformat()):
            assert item["orders"] == 0 and item["units"] == 0 and item["revenue_by_currency"] == {}
    assert rows[0] == ["period_start", "orders", "units", "revenue_cents_EUR", "revenue_cents_USD"]
    assert rows[1] == [f"{monday.isoformat()}T00:00:00Z", "0", "0", "0", "0"]
    assert rows[2] == [f"{d1.isoformat()}T00:00:00Z", "2", "4", "700", "2500"]
    assert rows[3] == [f"{d2.isoformat()}T00:00:00Z", "1", "3", "0", "2000"]
    assert len(rows) == 8

    week = report(session, admin, "/reports/sales", interval="week",
                  **{"from": d1.isoformat(), "to": (d1 + timedelta(days=14)).isoformat()})
    assert week["items"] == [
        {"period_start": f"{monday.isoformat()}T00:00:00Z", "orders": 3, "units": 7,
         "revenue_by_currency": {"USD": 4500, "EUR": 700}},
        {"period_start": f"{(monday + timedelta(days=7)).isoformat()}T00:00:00Z", "orders": 0,
         "units": 0, "revenue_by_currency": {}},
        {"period_start": f"{(monday + timedelta(days=14)).isoformat()}T00:00:00Z", "orders": 0,
         "units": 0, "revenue_by_currency": {}},
    ]
    month = report(session, admin, "/reports/sales", interval="month",
                   **{"from": d1.replace(day=1).isoformat(), "to": (d2 + timedelta(days=1)).isoformat()})
    assert month["items"] == [{"period_start": f"{d1.replace(day=1).isoformat()}T00:00:00Z",
                               "orders": 3, "units": 7,
                               "revenue_by_currency": {"USD": 4500, "EUR": 700}}]


def test_top_products_and_categories(session, scripted):
    script, admin = scripted
    window = {"from": script.d1.isoformat(), "to": (script.d2 + timedelta(days=1)).isoformat()}
    a, b, c, d = (script.products[k] for k in "ABCD")
    body, rows = report(session, admin, "/reports/top-products", csv_too=True, **window)
    assert body["items"] == [
        {"product_id": a[0], "name": a[1], "units": 3, "revenue_cents": 3000, "currency": "USD"},
        {"product_id": b[0], "name": b[1], "units": 3, "revenue_cents": 1500, "currency": "USD"},
        {"product_id": d[0], "name": d[1], "units": 1, "revenue_cents": 700, "currency": "EUR"},
    ]  # C's only sale was cancelled
    # a name a spreadsheet would take for a formula is defused with a quote
    assert rows == [["product_id", "name", "units", "revenue_cents", "currency"],
                    [a[0], a[1], "3", "3000", "USD"], [b[0], b[1], "3", "1500", "USD"],
                    [d[0], "'" + d[1], "1", "700", "EUR"]]
    by_revenue = report(session, admin, "/reports/top-products", by="revenue", limit=2, **window)
    assert [i["product_id"] for i in by_revenue["items"]] == [a[0], b[0]]

    body, rows = report(session, admin, "/reports/categories", csv_too=True, **window)
    assert body["items"] == [
        {"category": script.kitchen, "units": 6, "revenue_by_currency": {"USD": 4500}},
        {"category": script.tea, "units": 1, "revenue_by_currency": {"EUR": 700}},
    ]
    assert rows == [["category", "units", "revenue_cents_EUR", "revenue_cents_USD"],
                    [script.kitchen, "6", "0", "4500"], [script.tea, "1", "700", "0"]]


def test_redelivered_events_do_not_double_count(session, scripted, analytics_url):
    script, admin = scripted
    window = {"from": script.d1.isoformat(), "to": (script.d2 + timedelta(days=1)).isoformat()}
    before = metric(analytics_url, "events_handled_total", outcome="duplicate")
    orders = [(db, topic, key, ev) for db, topic, key, ev in script.events if topic == "orders"]
    for db, topic, key, event in orders:  # the same events again, same ids
        publish(db, topic, key, dict(event))
    # and an order's confirmation again under a new id (a producer's retry)
    db, topic, key, event = next(e for e in orders if e[3]["type"] == "souk.order.confirmed.v1")
    publish(db, topic, key, dict(event, id=str(uuid.uuid4())))
    wait_until(lambda: metric(analytics_url, "events_handled_total", outcome="duplicate")
               >= before + len(orders), REPORT_TIMEOUT,
               what="analytics-service to see the redelivered events")
    wait_until(lambda: metric(analytics_url, "analytics_journal_rows") == 0, REPORT_TIMEOUT,
               what="the roll-up to catch up")
    assert report(session, admin, "/reports/summary", **window) == SUMMARY_BOTH
    top = report(session, admin, "/reports/top-products", **window)
    assert [i["units"] for i in top["items"]] == [3, 3, 1]


def test_reports_need_reports_read(session, new_user, admin_headers):
    for path in ("/reports/summary", "/reports/sales", "/reports/top-products",
                 "/reports/categories"):
        assert_unauthorized(session.get(path))
        assert_problem(session.get(path, headers=new_user["headers"]), 403)
    for params in ({"from": "yesterday"}, {"from": "2026-03-02", "to": "2026-03-01"},
                   {"from": "2000-01-01", "to": "2026-03-01"}):
        assert_problem(session.get("/reports/summary", params=params, headers=admin_headers), 400)
    assert_problem(session.get("/reports/sales", params={"interval": "hour"},
                               headers=admin_headers), 400)
    assert_problem(session.get("/reports/top-products", params={"by": "price"},
                               headers=admin_headers), 400)
    assert_problem(session.get("/reports/top-products", params={"limit": 0},
                               headers=admin_headers), 400)
    # without a range: the last 30 days, today included
    body = report(session, admin_headers, "/reports/sales")
    assert len(body["items"]) == 30
    assert body["items"][-1]["period_start"][:10] == date.today().isoformat() or \
        body["items"][-1]["period_start"][:10] == (date.today() - timedelta(days=1)).isoformat()


# --------------------------------------------------------------------------
# recommendations


def recommendations(session, product_id, **params):
    return expect_json(session.get(f"/products/{product_id}/recommendations", params=params), 200)


def test_recommendations_follow_confirmed_co_purchases(session, make_user, make_product,
                                                       admin_headers):
    tag = uuid.uuid4().hex[:8]
    p, q, r, s = (make_product(name=f"Rec {n} {tag}", category=f"e2e-rec-{tag}", price_cents=100,
                               stock=50) for n in "PQRS")
    buyers = []
    for other in (q, q, r, s):
        user = make_user()
        order = expect_json(place_order(session, user["headers"], (p["id"], 1), (other["id"], 1)),
                            201)
        assert wait_order_settled(session, user["headers"], order["id"])["status"] == "confirmed"
        buyers.append((user, order))
    # the order with S is cancelled: S was never really bought with P
    user, order = buyers[3]
    expect_json(session.post(f"/orders/{order['id']}/cancel", headers=user["headers"]), 200)

    def recommended():
        body = recommendations(session, p["id"])
        ids = [i["id"] for i in body["items"]]
        return body if body["strategy"] == "co-purchase" and ids == [q["id"], r["id"]] else None

    body = wait_until(recommended, REPORT_TIMEOUT, interval=0.5,
                      what="P's recommendations to be Q then R")
    assert body["items"][0] == {"id": q["id"], "name": q["name"], "price_cents": 100,
                                "currency": "USD"}
    assert p["id"] not in [i["id"] for i in recommendations(session, p["id"], limit=20)["items"]]
    assert len(recommendations(session, p["id"], limit=1)["items"]) == 1
    assert_problem(session.get(f"/products/{p['id']}/recommendations", params={"limit": 0}), 400)

    # R's buyer: what was bought with P, without what they have
    r_buyer = buyers[2][0]
    mine = expect_json(session.get("/me/recommendations", headers=r_buyer["headers"]), 200)
    assert mine["strategy"] == "co-purchase", mine
    assert [i["id"] for i in mine["items"]] == [q["id"]], mine
    assert_unauthorized(session.get("/me/recommendations"))

    # a deleted product is never recommended, and has no recommendations
    assert session.delete(f"/products/{r['id']}", headers=admin_headers).status_code == 204
    wait_until(lambda: [i["id"] for i in recommendations(session, p["id"])["items"]] == [q["id"]],
               REPORT_TIMEOUT, what="R to disappear from P's recommendations")
    wait_until(lambda: session.get(f"/products/{r['id']}/recommendations").status_code == 404,
               REPORT_TIMEOUT, what="R's own recommendations to be gone")
    assert_problem(session.get(f"/products/{r['id']}/recommendations"), 404)
    assert_problem(session.get("/products/not-a-uuid/recommendations"), 404)


def test_a_product_never_bought_together_gets_its_category_bestsellers(session, make_user,
                                                                         make_product):
    tag = uuid.uuid4().hex[:8]
    seller = make_product(name=f"Seller {tag}", category=f"e2e-cat-{tag}", price_cents=100)
    lonely = make_product(name=f"Lonely {tag}", category=f"e2e-cat-{tag}", price_cents=100)
    user = make_user()
    order = expect_json(place_order(session, user["headers"], (seller["id"], 2)), 201)
    assert wait_order_settled(session, user["headers"], order["id"])["status"] == "confirmed"

    def by_category():
        body = recommendations(session, lonely["id"])
        return body if body["strategy"] == "category" else None

    body = wait_until(by_category, REPORT_TIMEOUT, what="category bestsellers for a lonely product")
    assert [i["id"] for i in body["items"]] == [seller["id"]]
