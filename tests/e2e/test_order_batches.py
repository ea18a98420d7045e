"""Orders that share products, placed at once by many clients: product-service
handles the order events in batches on several consumers, and no two
batches may lock the same products in opposite orders. PostgreSQL logs every
deadlock it breaks (each costs a second and a retry); none may happen, and
stock ends exactly where the confirmed orders put it."""

import os
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import expect_json, place_order, product_stock, wait_orders_settled

ORDERS = 160
THREADS = 16


def deadlocks_logged():
    run_dir = os.environ.get("SOUK_RUN_DIR")
    if not run_dir:
        pytest.skip("SOUK_RUN_DIR is not set: no PostgreSQL log to read")
    log = Path(run_dir) / "logs" / "postgres.log"
    if not log.exists():
        pytest.skip(f"{log} does not exist")
    return log.read_text(errors="replace").count("deadlock detected")


def test_concurrent_orders_sharing_products_never_deadlock(session, make_product, make_user,
                                                           admin_headers):
    products = [make_product(stock=100_000)["id"] for _ in range(6)]
    users = [make_user() for _ in range(4)]
    before = deadlocks_logged()

    def one(i):
        rnd = random.Random(i)
        lines = [(p, rnd.randint(1, 3)) for p in rnd.sample(products, 3)]
        user = users[i % len(users)]
        return expect_json(place_order(session, user["headers"], *lines), 201)

    with ThreadPoolExecutor(THREADS) as pool:
        placed = list(pool.map(one, range(ORDERS)))
    settled = wait_orders_settled(session, admin_headers, [o["id"] for o in placed], timeout=60)

    assert deadlocks_logged() == before, "PostgreSQL broke a deadlock while reserving stock"
    assert all(o["status"] == "confirmed" for o in settled.values())
    for p in products:
        taken = sum(line["quantity"] for o in placed for line in o["items"]
                    if line["product_id"] == p)
        assert product_stock(session, p) == 100_000 - taken
