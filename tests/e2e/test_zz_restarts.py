"""Staying power under restarts: PostgreSQL restarted, and each service
killed with SIGKILL and started again, while clients browse and place
orders. Requests made meanwhile fail cleanly (problem+json 502/503/504, or
a refused connection while the gateway itself is down) and succeed again
soon after; no order is lost or doubled (clients retry with the same
Idempotency-Key); every order ends confirmed or rejected; stock and
reservations agree with the outcomes exactly.

This module breaks shared infrastructure, so it sorts last; each test puts
back what it broke in `finally` and waits until the stack is ready again."""

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import (
    Api,
    assert_problem,
    describe,
    place_order,
    product_stock,
    sql,
    stack,
    wait_orders_settled,
    wait_until,
)

SLOW = 15       # seconds: a request while something is down must be answered, not hang
RECOVERY = 90   # seconds for the event flow to catch up after a fault
BACK_WITHIN = 5  # seconds after PostgreSQL is up again until requests succeed


def wait_stack_ready(session):
    wait_until(lambda: session.get("/readyz", timeout=SLOW).status_code == 200,
               timeout=RECOVERY, interval=0.5, what="the gateway's /readyz to report 200")


class Load:
    """Orders placed one after another (each retried with its own
    Idempotency-Key until accepted) beside a reader of the product, with
    every answer classified."""

    def __init__(self, session, user, product, quantities):
        self.base, self.user, self.product = session.base, user, product
        self.quantities = quantities
        self.placed = []       # (order id, quantity)
        self.failures = []     # 5xx answers and refused connections while something was down
        self.unexpected = []   # anything else that is not a success
        self.stop = threading.Event()

    def classify(self, resp):
        if resp is None or resp.status_code in (502, 503, 504):
            if resp is not None:
                assert_problem(resp, resp.status_code)
            self.failures.append(resp.status_code if resp is not None else "refused")
        else:
            self.unexpected.append(describe(resp))

    def call(self, api, fn):
        try:
            return fn(api)
        except requests.ConnectionError:
            return None

    def place_all(self):
        with Api(self.base, timeout=SLOW) as api:
            for quantity in self.quantities:
                headers = dict(self.user["headers"], **{"Idempotency-Key": f"r-{uuid.uuid4()}"})

                def attempt():
                    resp = self.call(api, lambda a: place_order(
                        a, headers, (self.product["id"], quantity)))
                    if resp is not None and resp.status_code in (200, 201):
                        return resp.json()
                    self.classify(resp)
                    return None

                order = wait_until(attempt, RECOVERY, interval=0.1, what="an order to be accepted")
                self.placed.append((order["id"], quantity))

    def read_until_stopped(self):
        with Api(self.base, timeout=SLOW) as api:
            while not self.stop.is_set():
                resp = self.call(api, lambda a: a.get(f"/products/{self.product['id']}"))
                if resp is None or resp.status_code != 200:
                    self.classify(resp)
                time.sleep(0.05)


def check_outcomes(session, product_db, load, initial):
    ids = [oid for oid, _ in load.placed]
    assert len(ids) == len(load.quantities)
    assert len(set(ids)) == len(ids), "a retried request created a second order"
    orders = wait_orders_settled(session, load.user["headers"], ids, timeout=RECOVERY)
    quantity = dict(load.placed)
    confirmed = [oid for oid in ids if orders[oid]["status"] == "confirmed"]
    rejected = [oid for oid in ids if orders[oid]["status"] == "rejected"]
    assert len(confirmed) + len(rejected) == len(ids), sorted(o["status"] for o in orders.values())
    stock = product_stock(session, load.product["id"])
    context = f"{len(confirmed)} confirmed, {len(rejected)} rejected, stock {stock}"
    assert stock == initial - sum(quantity[oid] for oid in confirmed), context
    rows = dict(map(tuple, sql(
        product_db,
        "SELECT status, count(*) FROM reservations WHERE order_id = ANY(:'ids'::uuid[]) GROUP BY status",
        ids="{" + ",".join(ids) + "}")))
    want = {k: str(v) for k, v in (("reserved", len(confirmed)), ("rejected", len(rejected))) if v}
    assert rows == want, f"{rows}; {context}"


def restart(target):
    if target == "postgres":
        stack("pg-down")
        stack("pg-up")
    else:
        stack("kill-service", target)
        stack("start-service", target)


@pytest.mark.parametrize("target", ["postgres", "auth", "order", "gateway"])
def test_a_restart_under_load_loses_nothing(target, session, make_user, make_product, product_db):
    if not os.environ.get("SOUK_STACK"):
        pytest.skip("SOUK_STACK is not set: cannot restart parts of the stack")
    wait_stack_ready(session)
    initial = 40
    user, product = make_user(), make_product(stock=initial)
    load = Load(session, user, product, [1 + i % 3 for i in range(24)])
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            reader = pool.submit(load.read_until_stopped)
            burst = pool.submit(load.place_all)
            wait_until(lambda: len(load.placed) >= 4 or burst.done(), 60, interval=0.01,
                       what="the first orders of the burst")
            assert not burst.done(), "the burst was over before the restart"
            restart(target)
            if target == "postgres":
                # Back within seconds: the pools reconnect on the next request.
                wait_until(lambda: session.get(f"/products/{product['id']}").status_code == 200,
                           BACK_WITHIN, interval=0.1, what="reads to succeed after the restart")
            burst.result(timeout=2 * RECOVERY)
            load.stop.set()
            reader.result(timeout=SLOW * 2)
    finally:
        load.stop.set()
        if target == "postgres":
            stack("pg-up")  # a no-op when it is running
        else:
            stack("start-service", target)
    assert not load.unexpected, load.unexpected
    check_outcomes(session, product_db, load, initial)
    wait_stack_ready(session)
