"""Orders when parts of the stack fail (ARCHITECTURE.md section 5, reliability
rules): a broker outage delays events but loses none, and product-service
killed with SIGKILL in the middle of a burst leaves stock and reservations
consistent with the orders' outcomes.

This module breaks shared infrastructure, so it sorts last; every test puts
back what it broke in `finally` and waits until the stack is ready again."""

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import (
    TIMEOUT,
    Api,
    assert_problem,
    describe,
    metric,
    pending_order_ids,
    place_order,
    product_stock,
    sql,
    stack,
    wait_orders_settled,
    wait_until,
)

SLOW = 15  # seconds: a request while something is down must be answered, not hang
# seconds for the event flow to catch up after a fault (consumer groups rejoin, relays back off)
RECOVERY = 90


def set_brokers(kafka_dev_url, state):
    resp = requests.post(f"{kafka_dev_url}/brokers/{state}", timeout=TIMEOUT)
    assert resp.status_code == 200, describe(resp)
    assert resp.json() == {"up": state == "up"}, describe(resp)


def wait_stack_ready(session):
    """The gateway's /readyz covers every upstream (and those cover their broker)."""
    wait_until(lambda: session.get("/readyz", timeout=SLOW).status_code == 200,
               timeout=RECOVERY, interval=0.5, what="the gateway's /readyz to report 200")


def wait_outboxes_drained(*service_urls):
    for url in service_urls:
        wait_until(lambda: metric(url, "outbox_pending") == 0, RECOVERY, interval=0.5,
                   what=f"outbox_pending at {url} to drain to 0")


def test_broker_outage_delays_events_but_loses_none(session, make_user, make_product, kafka_dev_url,
                                                     order_url, product_url):
    """Orders placed while every broker is down are accepted (the outbox
    decouples placement from Kafka), stay pending, and are all decided once
    the brokers are back: 5 items, 10 orders of one."""
    wait_stack_ready(session)
    user = make_user()
    product = make_product(stock=5)
    ids = []
    set_brokers(kafka_dev_url, "down")
    try:
        for _ in range(10):
            resp = place_order(session, user["headers"], (product["id"], 1), timeout=SLOW)
            assert resp.status_code == 201, describe(resp)
            ids.append(resp.json()["id"])
        # the relay tried, failed, and counts what waits in the outbox
        wait_until(lambda: metric(order_url, "outbox_pending") >= len(ids), 40, interval=0.5,
                   what=f"order-service's outbox_pending to reach {len(ids)} while the brokers are down")
        still = pending_order_ids(session, user["headers"])
        assert still == set(ids), f"orders decided without a broker: {sorted(set(ids) - still)}"
        assert product_stock(session, product["id"]) == 5
    finally:
        set_brokers(kafka_dev_url, "up")

    orders = wait_orders_settled(session, user["headers"], ids, timeout=RECOVERY)
    statuses = sorted(order["status"] for order in orders.values())
    assert statuses == ["confirmed"] * 5 + ["rejected"] * 5, statuses
    assert product_stock(session, product["id"]) == 0
    wait_outboxes_drained(order_url, product_url)
    wait_stack_ready(session)


def test_product_service_killed_mid_burst(session, make_user, make_product, product_db):
    """A client places 30 orders (1, 2 or 3 items each; 60 in all, 30 in stock),
    retrying with the same Idempotency-Key while the service cannot price them.
    product-service gets SIGKILL after the first few and is restarted. Once all
    are decided, stock and reservations agree with the outcomes exactly."""
    if not os.environ.get("SOUK_STACK"):
        pytest.skip("SOUK_STACK is not set: cannot kill and restart product-service")
    wait_stack_ready(session)
    user = make_user()
    initial = 30
    product = make_product(stock=initial)
    quantities = [1 + i % 3 for i in range(30)]
    placed = []  # (order id, quantity), in placement order
    unexpected = []  # replies other than 201/200 or a 503 from order-service
    unavailable = []  # 503s: product-service was down

    def place(api, quantity):
        headers = dict(user["headers"], **{"Idempotency-Key": f"burst-{uuid.uuid4()}"})

        def attempt():
            resp = place_order(api, headers, (product["id"], quantity))
            if resp.status_code in (200, 201):
                return resp.json()
            if resp.status_code == 503:
                assert_problem(resp, 503)
                unavailable.append(resp)
            else:
                unexpected.append(describe(resp))
            return None

        return wait_until(attempt, RECOVERY, what="an order to be accepted")

    def burst():
        with Api(session.base, timeout=SLOW) as api:
            for quantity in quantities:
                order = place(api, quantity)
                placed.append((order["id"], quantity))

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(burst)
            wait_until(lambda: len(placed) >= 4 or future.done(), 30, interval=0.01,
                       what="the first orders of the burst")
            placed_before_kill = len(placed)
            stack("kill-service", "product")
            killed_at = time.monotonic()
            stack("start-service", "product")
            restart_seconds = time.monotonic() - killed_at
            future.result(timeout=2 * RECOVERY)
    finally:
        stack("start-service", "product")  # a no-op when it is running
    assert placed_before_kill < len(quantities), "the burst was over before the kill"
    assert not unexpected, unexpected
    assert len(placed) == len(quantities)
    ids = [oid for oid, _ in placed]
    assert len(set(ids)) == len(ids), "a retried request created a second order"

    orders = wait_orders_settled(session, user["headers"], ids, timeout=RECOVERY)
    quantity = dict(placed)
    confirmed = [oid for oid in ids if orders[oid]["status"] == "confirmed"]
    rejected = [oid for oid in ids if orders[oid]["status"] == "rejected"]
    assert len(confirmed) + len(rejected) == len(ids), sorted(o["status"] for o in orders.values())
    stock = product_stock(session, product["id"])
    context = (f"{len(confirmed)} confirmed, {len(rejected)} rejected, stock {stock}; "
               f"{placed_before_kill} placed before the kill, restart took {restart_seconds:.1f}s, "
               f"{len(unavailable)} replies 503")
    assert stock == initial - sum(quantity[oid] for oid in confirmed), context
    assert confirmed and rejected, context
    # once an order was refused, the stock only went down: none fitted
    assert all(quantity[oid] > stock for oid in rejected), context

    rows = dict(map(tuple, sql(
        product_db,
        "SELECT status, count(*) FROM reservations WHERE order_id = ANY(:'ids'::uuid[]) GROUP BY status",
        ids="{" + ",".join(ids) + "}",
    )))
    assert rows == {"reserved": str(len(confirmed)), "rejected": str(len(rejected))}, f"{rows}; {context}"
    reserved_items = sql(
        product_db,
        "SELECT coalesce(sum((i->>'quantity')::int), 0) FROM reservations r,"
        " jsonb_array_elements(r.items) i WHERE r.status = 'reserved' AND r.order_id = ANY(:'ids'::uuid[])",
        ids="{" + ",".join(confirmed) + "}",
    )
    assert reserved_items == [[str(initial - stock)]], f"{reserved_items}; {context}"
    wait_stack_ready(session)
