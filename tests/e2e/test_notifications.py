"""notification-service through the gateway, with the stack's real SMTP server.

The stack's development SMTP server (scripts/stack's `smtp`, aiosmtpd) keeps
every message it receives as one .eml file in $SOUK_MAILBOX; these tests
read that mailbox for their own freshly registered recipients, so they see
exactly the emails sent to them. notification-service's database
(NOTIFICATION_DATABASE_URL) says when a delivery is settled, so "no other
email" is checked once every email of the recipient is recorded as sent,
without sleeping.
"""

import email
import email.policy
import os
import re
import uuid
from pathlib import Path

import pytest

from conftest import (
    SETTLE_TIMEOUT,
    assert_problem,
    assert_unauthorized,
    bearer,
    expect_empty,
    expect_json,
    metric,
    place_order,
    sql,
    sql_value,
    stack,
    wait_order_settled,
    wait_until,
)

MAIL_TIMEOUT = 30  # seconds for an email to arrive (retries back off from 1 s)


# --------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture(scope="module")
def mailbox():
    path = os.environ.get("SOUK_MAILBOX")
    if not path:
        pytest.skip("SOUK_MAILBOX is not set (scripts/stack's dev SMTP server)")
    if not Path(path).is_dir():
        pytest.skip(f"{path} does not exist: the dev SMTP server is not running")
    return Path(path)


@pytest.fixture(scope="module")
def notification_db():
    url = os.environ.get("NOTIFICATION_DATABASE_URL")
    if not url:
        pytest.skip("NOTIFICATION_DATABASE_URL is not set")
    return url


@pytest.fixture(scope="module")
def notification_url():
    url = os.environ.get("NOTIFICATION_URL", "").rstrip("/")
    if not url:
        pytest.skip("NOTIFICATION_URL is not set")
    return url


def text_part(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/plain":
            return part.get_content()
    return ""


def html_part(msg):
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            return part.get_content()
    return ""


def mails_to(mailbox, address):
    """The messages the SMTP server received for address, oldest first."""
    found = []
    for path in sorted(mailbox.glob("*.eml")):
        with open(path, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        if msg.get("X-Envelope-To", "").lower() == address.lower():
            found.append(msg)
    return found


def wait_mails(mailbox, address, count, what):
    def probe():
        mails = mails_to(mailbox, address)
        assert len(mails) <= count, f"more than {count} emails to {address}: " + ", ".join(
            m["Subject"] for m in mails)
        return mails if len(mails) == count else None

    return wait_until(probe, MAIL_TIMEOUT, interval=0.3, what=what)


def deliveries(notification_db, user_id):
    """(kind, status, attempts, resends) of the user's emails."""
    return sql(notification_db,
               "SELECT kind, status, attempts, resends FROM deliveries WHERE user_id = :'u'"
               " ORDER BY created_at", u=user_id)


def wait_all_sent(notification_db, user_id, count):
    def probe():
        rows = deliveries(notification_db, user_id)
        return rows if len(rows) == count and all(r[1] == "sent" for r in rows) else None

    return wait_until(probe, MAIL_TIMEOUT, what=f"{count} emails of {user_id} to be sent")


def money(cents, currency="USD"):
    return f"{cents // 100}.{cents % 100:02d} {currency}"


def order_ref(order_id):
    return order_id[:8].upper()


def settled_order(session, user, *lines, expect="confirmed"):
    order = expect_json(place_order(session, user["headers"], *lines), 201)
    order = wait_order_settled(session, user["headers"], order["id"])
    assert order["status"] == expect, order
    return order


def notifications(session, user, **params):
    return expect_json(session.get("/notifications", params=params, headers=user["headers"]), 200)


# --------------------------------------------------------------------------
# emails


def test_register_order_confirm_cancel_journey_sends_exactly_three_emails(
    session, make_user, make_product, mailbox, notification_db
):
    user = make_user(name="Journey Tester")
    kettle = make_product(name=f"Kettle {uuid.uuid4().hex[:6]}", price_cents=2599, stock=5)
    mug = make_product(name=f"Mug & <cup> {uuid.uuid4().hex[:6]}", price_cents=450, stock=5)
    order = settled_order(session, user, (kettle["id"], 2), (mug["id"], 1))
    total = 2 * 2599 + 450
    expect_json(session.post(f"/orders/{order['id']}/cancel", headers=user["headers"]), 200)

    wait_all_sent(notification_db, user["id"], 3)
    mails = wait_mails(mailbox, user["email"], 3, "the welcome, confirmed and cancelled emails")
    subjects = [m["Subject"] for m in mails]
    ref = order_ref(order["id"])
    assert subjects == [
        "Welcome to souk, Journey Tester",
        f"Your souk order {ref} is confirmed",
        f"Your souk order {ref} has been cancelled",
    ], subjects
    for msg in mails:
        assert msg["To"].addresses[0].addr_spec == user["email"], msg["To"]
        assert "souk" in msg["From"], msg["From"]
        assert msg.get_content_type() == "multipart/alternative"
        assert text_part(msg) and html_part(msg), "text and HTML parts"
    for msg in mails[1:]:
        text, html = text_part(msg), html_part(msg)
        assert f"Total: {money(total)}" in text, text
        assert f"2 x {kettle['name']} at {money(2599)} = {money(5198)}" in text, text
        assert money(total) in html
        # product names are text in HTML, never markup
        assert "Mug &amp; &lt;cup&gt;" in html and "<cup>" not in html, html
    assert "Hello Journey Tester," in text_part(mails[0])
    # nothing else arrives once everything is recorded as sent
    assert len(mails_to(mailbox, user["email"])) == 3


def test_rejected_order_email_and_notification_say_why(session, make_user, make_product, mailbox,
                                                       notification_db):
    user = make_user()
    scarce = make_product(price_cents=1000, stock=1)
    order = settled_order(session, user, (scarce["id"], 5), expect="rejected")
    wait_all_sent(notification_db, user["id"], 2)  # welcome, rejected
    mail = wait_mails(mailbox, user["email"], 2, "the rejection email")[1]
    assert mail["Subject"] == f"Your souk order {order_ref(order['id'])} was rejected"
    assert "insufficient stock" in text_part(mail)
    items = wait_until(lambda: notifications(session, user)["items"], SETTLE_TIMEOUT,
                       what="the in-app notification")
    assert items[0]["type"] == "order.rejected", items
    assert "insufficient stock" in items[0]["body"], items
    assert items[0]["data"]["reason"] == order["reason"], items
    assert items[0]["data"]["order_id"] == order["id"], items


def redeliver(order_db, order_id, event_type):
    """Publish the order's event again with the same id (a relay that crashed
    before marking it sent would); returns the event id."""
    rows = sql(order_db,
               "INSERT INTO outbox (id, topic, key, payload, traceparent)"
               " SELECT id, topic, key, payload, traceparent FROM outbox"
               " WHERE key = :'order' AND payload::json->>'type' = :'type' RETURNING id",
               order=order_id, type=event_type)
    assert len(rows) == 1, rows
    return rows[0][0]


def test_redelivered_order_confirmed_sends_nothing_new(session, make_user, make_product, mailbox,
                                                       notification_db, notification_url,
                                                       order_db):
    user = make_user()
    product = make_product(price_cents=300)
    order = settled_order(session, user, (product["id"], 1))
    wait_all_sent(notification_db, user["id"], 2)
    wait_mails(mailbox, user["email"], 2, "welcome and confirmation")
    event_type = "souk.order.confirmed.v1"
    before = metric(notification_url, "events_handled_total", type=event_type, outcome="duplicate")
    event_id = redeliver(order_db, order["id"], event_type)
    wait_until(lambda: metric(notification_url, "events_handled_total", type=event_type,
                              outcome="duplicate") > before,
               SETTLE_TIMEOUT, what=f"notification-service to see {event_id} again")
    assert len(deliveries(notification_db, user["id"])) == 2
    assert len(mails_to(mailbox, user["email"])) == 2
    assert notifications(session, user)["total"] == 1


def test_smtp_down_during_an_order_then_up_the_email_arrives_once(
    session, make_user, make_product, mailbox, notification_db, notification_url
):
    user = make_user()
    product = make_product(price_cents=1234)
    wait_all_sent(notification_db, user["id"], 1)  # the welcome, before the outage
    retries = metric(notification_url, "notification_deliveries_total", channel="email",
                     outcome="retry")
    stack("stop-service", "smtp")
    try:
        order = settled_order(session, user, (product["id"], 1))

        def failed_once():
            rows = sql(notification_db,
                       "SELECT attempts, last_error FROM deliveries WHERE user_id = :'u'"
                       " AND kind = 'order_confirmed' AND status = 'pending'", u=user["id"])
            return rows and int(rows[0][0]) >= 1 and rows[0][1]

        wait_until(failed_once, MAIL_TIMEOUT, what="a failed attempt while SMTP is down")
        assert metric(notification_url, "notification_deliveries_total", channel="email",
                      outcome="retry") > retries
        assert len(mails_to(mailbox, user["email"])) == 1
    finally:
        stack("start-service", "smtp")
    rows = wait_all_sent(notification_db, user["id"], 2)
    mails = wait_mails(mailbox, user["email"], 2, "the confirmation once SMTP is back")
    assert mails[1]["Subject"] == f"Your souk order {order_ref(order['id'])} is confirmed"
    assert f"Total: {money(1234)}" in text_part(mails[1])
    assert int(rows[1][2]) >= 2 and rows[1][3] == "0", rows  # retried, never resent


def test_preferences_turn_order_emails_off_but_not_notifications(
    session, make_user, make_product, mailbox, notification_db
):
    user = make_user()
    h = user["headers"]
    body = expect_json(session.get("/notifications/preferences", headers=h), 200)
    assert body == {"email": {"order_updates": True, "welcome": True}}
    body = expect_json(session.put("/notifications/preferences",
                                   json={"email": {"order_updates": False}}, headers=h), 200)
    assert body == {"email": {"order_updates": False, "welcome": True}}
    assert expect_json(session.get("/notifications/preferences", headers=h), 200) == body
    for bad, field in (({"email": {"order_updates": "no"}}, "email.order_updates"),
                       ({"email": {"sms": True}}, "email.sms"),
                       ({"email": True}, "email"),
                       ({"push": {}}, "push")):
        problem = assert_problem(session.put("/notifications/preferences", json=bad, headers=h),
                                 400)
        assert field in {e["field"] for e in problem["errors"]}, problem

    product = make_product(price_cents=100)
    order = settled_order(session, user, (product["id"], 1))
    wait_until(lambda: notifications(session, user)["total"] == 1, SETTLE_TIMEOUT,
               what="the in-app notification")
    assert notifications(session, user)["items"][0]["data"]["order_id"] == order["id"]
    rows = wait_all_sent(notification_db, user["id"], 1)
    assert rows[0][0] == "welcome", rows  # and no order email
    assert [m["Subject"] for m in mails_to(mailbox, user["email"])] == [
        f"Welcome to souk, {user['name']}"]


# --------------------------------------------------------------------------
# in-app notifications


def test_in_app_list_unread_count_read_and_read_all(session, make_user, make_product):
    user, other = make_user(), make_user()
    h = user["headers"]
    product = make_product(price_cents=700)
    first = settled_order(session, user, (product["id"], 1))
    second = settled_order(session, user, (product["id"], 2))
    expect_json(session.post(f"/orders/{first['id']}/cancel", headers=h), 200)

    page = wait_until(lambda: (lambda b: b if b["total"] == 3 else None)(notifications(session, user)),
                      SETTLE_TIMEOUT, what="three notifications")
    items = page["items"]
    assert [i["type"] for i in items] == ["order.cancelled", "order.confirmed", "order.confirmed"]
    assert {i["data"]["order_id"] for i in items} == {first["id"], second["id"]}
    for item in items:
        assert set(item) == {"id", "type", "title", "body", "data", "read", "created_at"}, item
        assert item["read"] is False
    assert items[0]["title"] == f"Order {order_ref(first['id'])} cancelled"
    assert items[0]["data"]["total_cents"] == 700 and items[0]["data"]["currency"] == "USD"
    assert page["page"] == 1 and page["limit"] == 20
    assert len(notifications(session, user, limit=2)["items"]) == 2

    count = lambda: expect_json(session.get("/notifications/unread-count", headers=h), 200)  # noqa: E731
    assert count() == {"count": 3}
    # someone else's notification does not exist for them
    assert_problem(session.post(f"/notifications/{items[0]['id']}/read",
                                headers=other["headers"]), 404)
    assert_problem(session.post(f"/notifications/{uuid.uuid4()}/read", headers=h), 404)
    assert_problem(session.post("/notifications/not-a-uuid/read", headers=h), 404)
    assert count() == {"count": 3}
    expect_empty(session.post(f"/notifications/{items[0]['id']}/read", headers=h))
    expect_empty(session.post(f"/notifications/{items[0]['id']}/read", headers=h))
    assert count() == {"count": 2}
    unread = notifications(session, user, unread="true")
    assert unread["total"] == 2 and items[0]["id"] not in {i["id"] for i in unread["items"]}
    assert notifications(session, user)["items"][0]["read"] is True
    expect_empty(session.post("/notifications/read-all", headers=h))
    assert count() == {"count": 0}
    assert notifications(session, user, unread="true")["items"] == []
    assert_problem(session.get("/notifications", params={"unread": "maybe"}, headers=h), 400)
    # the other user saw nothing of it
    assert notifications(session, other)["total"] == 0


def test_notifications_need_a_token(session):
    for method, path in (("GET", "/notifications"), ("GET", "/notifications/unread-count"),
                         ("POST", "/notifications/read-all"),
                         ("GET", "/notifications/preferences")):
        assert_unauthorized(session.request(method, path))


# --------------------------------------------------------------------------
# admins: failed deliveries


def test_failed_delivery_is_listed_and_retried_on_request(session, make_user, admin_headers,
                                                          mailbox, notification_db):
    user = make_user()
    wait_all_sent(notification_db, user["id"], 1)
    subject = f"Parked email {uuid.uuid4().hex}"
    delivery_id = str(uuid.uuid4())
    # an email that ran out of attempts earlier
    sql(notification_db,
        "INSERT INTO deliveries (id, event_id, user_id, kind, subject, text_body, html_body,"
        " status, attempts, last_error) VALUES (:'id', :'ev', :'u', 'welcome', :'s',"
        " 'parked text', '<p>parked</p>', 'failed', 8, 'connection refused')",
        id=delivery_id, ev=f"e2e-{uuid.uuid4()}", u=user["id"], s=subject)

    assert_problem(session.get("/notifications/deliveries", headers=user["headers"]), 403)
    assert_problem(session.post(f"/notifications/deliveries/{delivery_id}/retry",
                                headers=user["headers"]), 403)
    failed = expect_json(session.get("/notifications/deliveries",
                                     params={"status": "failed", "limit": 100},
                                     headers=admin_headers), 200)
    mine = [d for d in failed["items"] if d["id"] == delivery_id]
    assert mine and mine[0]["last_error"] == "connection refused" and mine[0]["attempts"] == 8
    assert all(d["status"] == "failed" for d in failed["items"])
    assert_problem(session.get("/notifications/deliveries", params={"status": "lost"},
                               headers=admin_headers), 400)

    retried = expect_json(session.post(f"/notifications/deliveries/{delivery_id}/retry",
                                       headers=admin_headers), 202)
    assert retried["status"] == "pending" and retried["attempts"] == 0, retried
    mails = wait_mails(mailbox, user["email"], 2, "the retried email")
    assert mails[1]["Subject"] == subject
    wait_all_sent(notification_db, user["id"], 2)
    assert_problem(session.post(f"/notifications/deliveries/{delivery_id}/retry",
                                headers=admin_headers), 409)
    assert_problem(session.post(f"/notifications/deliveries/{uuid.uuid4()}/retry",
                                headers=admin_headers), 404)


# --------------------------------------------------------------------------
# erasure, metrics


def test_deleted_user_address_and_notifications_are_erased(session, make_user, make_product,
                                                           notification_db):
    user = make_user()
    product = make_product(price_cents=100)
    settled_order(session, user, (product["id"], 1))
    wait_until(lambda: notifications(session, user)["total"] == 1, SETTLE_TIMEOUT,
               what="the notification")
    expect_empty(session.delete(f"/users/{user['id']}", headers=user["headers"]))

    def erased():
        left = sql_value(notification_db,
                         "SELECT (SELECT count(*) FROM recipients WHERE user_id = :'u')"
                         " + (SELECT count(*) FROM recipients WHERE lower(email) = lower(:'e'))"
                         " + (SELECT count(*) FROM notifications WHERE user_id = :'u')"
                         " + (SELECT count(*) FROM deliveries WHERE user_id = :'u')",
                         u=user["id"], e=user["email"])
        return left == "0" and sql_value(
            notification_db, "SELECT count(*) FROM erased_users WHERE user_id = :'u'",
            u=user["id"]) == "1"

    wait_until(erased, SETTLE_TIMEOUT, what="the user's data to be erased")


def test_metrics_and_readiness(notification_url):
    import requests

    assert requests.get(f"{notification_url}/readyz", timeout=10).status_code == 200
    text = requests.get(f"{notification_url}/metrics", timeout=10).text
    assert re.search(r'^notification_deliveries_total\{channel="email",outcome="sent"\} [1-9]',
                     text, re.M), "no email counted as sent"
    assert re.search(r'^notification_deliveries_waiting\{status="failed"\} \d+', text, re.M)
    assert 'http_requests_total{service="notification-service"' in text
