"""product-service's cache of product answers is exact: every replica drops
a product the moment PostgreSQL reports its change (catalog writes and stock
reservations alike, whichever replica made them), answers carry an ETag,
and If-None-Match gets 304 until the product changes."""

import os

import pytest

from conftest import (
    expect_json,
    metric,
    place_order,
    spawned,
    wait_order_settled,
    wait_until,
)


@pytest.fixture
def replica(product_db, gw):
    """A second product-service on the same database (its broker address is
    unreachable, so it takes no events from the stack's replica)."""
    with spawned("souk-product", "product-replica.log", port_var="PRODUCT_PORT",
                 DATABASE_URL=product_db, KAFKA_BROKERS="127.0.0.1:1") as api:
        yield api


def get_product(api, product_id, **headers):
    resp = api.get(f"/products/{product_id}", headers=headers)
    return resp


def wait_cached(api, product_id):
    """Read the product until api answers it from its cache (a replica's
    cache works once its listener has connected); return the answer."""
    hits = metric(api.base, "product_cache_lookups_total", result="hit")

    def cached():
        body = expect_json(get_product(api, product_id), 200)
        return body if metric(api.base, "product_cache_lookups_total", result="hit") > hits else None

    return wait_until(cached, 10, what=f"{api.base} to serve {product_id} from its cache")


def test_a_change_on_one_replica_is_seen_on_the_other(session, admin_headers, make_product,
                                                      replica):
    product = make_product(price_cents=1000, stock=5)
    assert wait_cached(replica, product["id"])["price_cents"] == 1000
    patched = session.patch(f"/products/{product['id']}", json={"price_cents": 1234},
                            headers=admin_headers)
    assert expect_json(patched, 200)["price_cents"] == 1234
    # PostgreSQL sends the notification at commit, before the PATCH answered;
    # the replica's listener thread takes it up a moment later (the window
    # the README names). Polled briefly, never waited for blindly.
    wait_until(lambda: expect_json(get_product(replica, product["id"]), 200)["price_cents"] == 1234,
               2, interval=0.01, what="the replica to drop the changed product")
    session.delete(f"/products/{product['id']}", headers=admin_headers)
    wait_until(lambda: get_product(replica, product["id"]).status_code == 404,
               2, interval=0.01, what="the replica to drop the deleted product")


def test_stock_after_an_order_is_never_stale(session, make_product, make_user, replica):
    product = make_product(stock=7)
    assert wait_cached(replica, product["id"])["stock"] == 7
    buyer = make_user()
    order = expect_json(place_order(session, buyer["headers"], (product["id"], 3)), 201)
    assert wait_order_settled(session, buyer["headers"], order["id"])["status"] == "confirmed"
    assert expect_json(get_product(replica, product["id"]), 200)["stock"] == 4
    assert expect_json(session.get(f"/products/{product['id']}"), 200)["stock"] == 4


def test_etags_revalidate(session, admin_headers, make_product):
    product = make_product()
    first = session.get(f"/products/{product['id']}")
    etag = first.headers.get("ETag", "")
    assert first.status_code == 200 and etag.startswith('"') and etag.endswith('"'), first.headers
    assert first.headers.get("Cache-Control") == "no-cache", first.headers
    again = session.get(f"/products/{product['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"", again.status_code
    assert again.headers.get("ETag") == etag
    session.patch(f"/products/{product['id']}", json={"stock": 3}, headers=admin_headers)
    changed = session.get(f"/products/{product['id']}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json()["stock"] == 3
    assert changed.headers.get("ETag") != etag
