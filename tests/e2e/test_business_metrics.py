"""Business counters on each service's /metrics: registrations, sign-ins by
result, orders by status and the inventory's reservations by status move
with what clients do through the gateway."""

from conftest import (
    expect_json,
    metric,
    place_order,
    unique_email,
    unique_password,
    wait_order_settled,
)


def test_registrations_and_sign_ins_are_counted(session, auth_url, register, login):
    created = metric(auth_url, "auth_registrations_total", result="created")
    ok = metric(auth_url, "auth_logins_total", result="success")
    failed = metric(auth_url, "auth_logins_total", result="failure")
    email, password = unique_email(), unique_password()
    expect_json(register(email, password), 201)
    expect_json(login(email, password), 200)
    assert login(email, password + "-wrong").status_code == 401
    assert metric(auth_url, "auth_registrations_total", result="created") == created + 1
    assert metric(auth_url, "auth_logins_total", result="success") == ok + 1
    assert metric(auth_url, "auth_logins_total", result="failure") == failed + 1


def test_orders_and_reservations_by_status(session, order_url, product_url, new_user,
                                           make_product):
    product = make_product(stock=1)
    placed = metric(order_url, "orders_placed_total")
    confirmed = metric(order_url, "orders_by_status", status="confirmed")
    rejected = metric(order_url, "orders_by_status", status="rejected")
    reserved = metric(product_url, "reservations_by_status", status="reserved")
    refused = metric(product_url, "reservations_by_status", status="rejected")

    first = expect_json(place_order(session, new_user["headers"], (product["id"], 1)), 201)
    second = expect_json(place_order(session, new_user["headers"], (product["id"], 1)), 201)
    # one unit for two orders: one is confirmed, the other rejected (which
    # one depends on the consumer that takes it first)
    outcomes = sorted(wait_order_settled(session, new_user["headers"], o["id"])["status"]
                      for o in (first, second))
    assert outcomes == ["confirmed", "rejected"]

    assert metric(order_url, "orders_placed_total") == placed + 2
    assert metric(order_url, "orders_by_status", status="confirmed") >= confirmed + 1
    assert metric(order_url, "orders_by_status", status="rejected") >= rejected + 1
    assert metric(product_url, "reservations_by_status", status="reserved") >= reserved + 1
    assert metric(product_url, "reservations_by_status", status="rejected") >= refused + 1
