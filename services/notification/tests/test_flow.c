/* Unit tests of notification-service's flows against a real PostgreSQL
 * (SOUK_TEST_DATABASE_URL, a schema of its own) with a stand-in SMTP server:
 * events become notifications and exactly one email per (event, recipient),
 * also when an event comes twice; SMTP failures are retried with back-off,
 * then failed and retried on request; a claim whose sender died is sent
 * again (and counted); preferences hold; a deleted user is erased; no
 * database connection is held while an email is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/notify.h"
#include "dbtest.h"

extern const souk_migration_t souk_migrations[];

#define USER  "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define OTHER "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define ORDER "0a1b2c3d-1111-4111-8111-111111111111"

typedef struct {
    notify_app_t app;
    souk_dbtest_t db;
    /* the stand-in SMTP server */
    souk_err_t answer; /* what sending returns */
    bool permanent;
    int sent;             /* messages accepted */
    char last_to[128];    /* the last recipient */
    char last_msg[16384]; /* the last message accepted */
    bool lease_free;      /* a connection could be had while sending */
} fx_t;

static fx_t fx;

static souk_err_t fake_send(void *ud, const char *from, const char *to, const char *msg, size_t len,
                            char *error, size_t cap, bool *permanent)
{
    souk_db_conn_t *c = NULL;
    fx.lease_free = souk_db_acquire(fx.app.db, &c) == SOUK_OK; /* pool of one */
    souk_db_release(fx.app.db, c);
    *permanent = fx.permanent;
    if (fx.answer) {
        snprintf(error, cap, "stand-in refuses");
        return fx.answer;
    }
    fx.sent++;
    snprintf(fx.last_to, sizeof(fx.last_to), "%s", to);
    snprintf(fx.last_msg, sizeof(fx.last_msg), "%.*s", (int)len, msg);
    return SOUK_OK;
}

static long long scalar(const char *sql)
{
    return souk_dbtest_scalar(fx.app.db, sql);
}

static void exec(const char *sql)
{
    souk_dbtest_exec(fx.app.db, sql);
}

static int setup(void **state)
{
    const souk_migration_t *const migrations[] = {souk_bus_migrations, souk_migrations, NULL};
    souk_dbtest_open(&fx.db, "notify_t", 1, 300, migrations);
    fx.app.db = fx.db.pool;
    fx.app.smtp_from = "souk <no-reply@souk.local>";
    snprintf(fx.app.from_addr, sizeof(fx.app.from_addr), "no-reply@souk.local");
    fx.app.shop_url = "http://shop";
    fx.app.max_attempts = 3;
    fx.app.retry_base_ms = 60000; /* far enough that nothing comes due by itself */
    fx.app.retry_max_ms = 600000;
    fx.app.sending_lease_s = 60;
    fx.app.send = fake_send;
    notify_templates_builtin(fx.app.templates);
    return 0;
}

static int teardown(void **state)
{
    souk_dbtest_close(&fx.db);
    return 0;
}

static int reset(void **state)
{
    exec("TRUNCATE recipients, erased_users, preferences, notifications, deliveries");
    fx.answer = SOUK_OK;
    fx.permanent = false;
    fx.sent = 0;
    fx.last_to[0] = fx.last_msg[0] = '\0';
    return 0;
}

typedef struct {
    souk_event_t *ev;
} handle_t;

static souk_err_t handle_tx(souk_db_conn_t *c, void *ud)
{
    return notify_on_event(c, ((handle_t *)ud)->ev, &fx.app);
}

/* Runs the handler on an event in a transaction, as the consumer would. */
static souk_err_t deliver(const char *id, const char *type, json_t *data)
{
    souk_event_t ev = {0};
    snprintf(ev.id, sizeof(ev.id), "%s", id);
    snprintf(ev.type, sizeof(ev.type), "%s", type);
    snprintf(ev.source, sizeof(ev.source), "%s", souk_event_source_of(type));
    snprintf(ev.time, sizeof(ev.time), "2026-03-01T10:00:00.000Z");
    ev.data = data;
    handle_t h = {&ev};
    souk_err_t err = souk_db_run_tx(fx.app.db, handle_tx, &h);
    json_decref(data);
    return err;
}

static json_t *user_data(const char *id, const char *email, const char *name)
{
    return json_pack("{s:s, s:s, s:s, s:[s], s:s}", "user_id", id, "email", email, "name", name,
                     "roles", "customer", "created_at", "2026-03-01T10:00:00.000Z");
}

static json_t *order_data(const char *user, const char *status)
{
    return json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s*, s:i, s:i}], s:i, s:s}", "order_id", ORDER,
                     "user_id", user, "status", status, "items", "product_id",
                     "11111111-1111-4111-8111-111111111111", "name", "Kettle", "category", NULL,
                     "quantity", 2, "unit_price_cents", 2500, "total_cents", 5000, "currency",
                     "USD");
}

static int send_due(void)
{
    int n = -1;
    assert_int_equal(notify_send_due(&fx.app, &n), SOUK_OK);
    return n;
}

static void make_due(void)
{
    exec("UPDATE deliveries SET next_attempt_at = now() WHERE status = 'pending'");
}

static void test_journey_one_email_per_event(void **state)
{
    assert_int_equal(
        deliver("ev-reg", SOUK_EV_USER_REGISTERED, user_data(USER, "ada@example.com", "Ada")),
        SOUK_OK);
    fx.lease_free = false;
    assert_int_equal(send_due(), 1);
    assert_true(fx.lease_free); /* nothing held while the email travelled */
    assert_int_equal(fx.sent, 1);
    assert_string_equal(fx.last_to, "ada@example.com");
    assert_non_null(strstr(fx.last_msg, "Subject: Welcome to souk, Ada\r\n"));

    assert_int_equal(deliver("ev-conf", SOUK_EV_ORDER_CONFIRMED, order_data(USER, "confirmed")),
                     SOUK_OK);
    assert_int_equal(send_due(), 1);
    assert_int_equal(fx.sent, 2);
    assert_non_null(strstr(fx.last_msg, "Subject: Your souk order 0A1B2C3D is confirmed\r\n"));
    assert_non_null(strstr(fx.last_msg, "Total: 50.00 USD"));
    assert_int_equal(scalar("SELECT count(*) FROM notifications WHERE user_id = '" USER
                            "' AND type = 'order.confirmed' AND read_at IS NULL"),
                     1);

    /* the same event again (a redelivery past the inbox) changes nothing */
    assert_int_equal(deliver("ev-conf", SOUK_EV_ORDER_CONFIRMED, order_data(USER, "confirmed")),
                     SOUK_OK);
    assert_int_equal(send_due(), 0);
    assert_int_equal(fx.sent, 2);
    assert_int_equal(scalar("SELECT count(*) FROM notifications"), 1);
    assert_int_equal(scalar("SELECT count(*) FROM deliveries WHERE status = 'sent'"), 2);
    /* order.placed and user.updated send nothing */
    assert_int_equal(deliver("ev-placed", SOUK_EV_ORDER_PLACED, order_data(USER, "pending")),
                     SOUK_OK);
    assert_int_equal(
        deliver("ev-upd", SOUK_EV_USER_UPDATED, user_data(USER, "ada@example.org", "Ada L")),
        SOUK_OK);
    assert_int_equal(send_due(), 0);
    assert_int_equal(scalar("SELECT count(*) FROM deliveries"), 2);
}

static void test_smtp_down_then_up(void **state)
{
    assert_int_equal(deliver("r", SOUK_EV_USER_REGISTERED, user_data(USER, "a@x.io", "A")),
                     SOUK_OK);
    exec("UPDATE deliveries SET status = 'sent'"); /* only the order's email matters */
    assert_int_equal(deliver("c", SOUK_EV_ORDER_CANCELLED, order_data(USER, "cancelled")), SOUK_OK);
    fx.answer = SOUK_EUNAVAIL;
    assert_int_equal(send_due(), 1);
    assert_int_equal(send_due(), 0); /* not due again before its back-off */
    assert_int_equal(scalar("SELECT count(*) FROM deliveries WHERE status = 'pending' AND"
                            " attempts = 1 AND next_attempt_at > now() + interval '50 seconds'"
                            " AND last_error LIKE 'stand-in%'"),
                     1);
    make_due();
    assert_int_equal(send_due(), 1); /* second attempt, still down */
    assert_int_equal(scalar("SELECT count(*) FROM deliveries WHERE status = 'pending' AND"
                            " attempts = 2 AND next_attempt_at > now() + interval '110 seconds'"),
                     1);
    fx.answer = SOUK_OK;
    make_due();
    assert_int_equal(send_due(), 1);
    assert_int_equal(fx.sent, 1);
    assert_non_null(strstr(fx.last_msg, "has been cancelled"));
    make_due();
    assert_int_equal(send_due(), 0);
    assert_int_equal(fx.sent, 1);
}

static void test_failed_then_retried_on_request(void **state)
{
    assert_int_equal(deliver("r", SOUK_EV_USER_REGISTERED, user_data(USER, "a@x.io", "A")),
                     SOUK_OK);
    fx.answer = SOUK_EUNAVAIL;
    for (int i = 0; i < 3; i++) {
        make_due();
        assert_int_equal(send_due(), 1);
    }
    assert_int_equal(scalar("SELECT count(*) FROM deliveries WHERE status = 'failed'"
                            " AND attempts = 3"),
                     1);
    make_due();
    assert_int_equal(send_due(), 0); /* failed stays failed */

    souk_db_conn_t *c;
    assert_int_equal(souk_db_acquire(fx.app.db, &c), SOUK_OK);
    PGresult *res;
    souk_db_stmt_t q = {"", "SELECT id FROM deliveries"};
    assert_int_equal(souk_db_query_one(c, &q, 0, NULL, &res), SOUK_OK);
    char id[SOUK_UUID_STRLEN + 1];
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    json_t *d = NULL;
    assert_int_equal(store_delivery_retry_now(c, id, &d), SOUK_OK);
    assert_string_equal(json_string_value(json_object_get(d, "status")), "pending");
    json_decref(d);
    assert_int_equal(store_delivery_retry_now(c, id, &d), SOUK_ECONFLICT); /* not failed now */
    assert_int_equal(store_delivery_retry_now(c, ORDER, &d), SOUK_ENOTFOUND);
    souk_db_release(fx.app.db, c);
    fx.answer = SOUK_OK;
    assert_int_equal(send_due(), 1);
    assert_int_equal(fx.sent, 1);
}

static void test_permanent_refusal_fails_at_once(void **state)
{
    assert_int_equal(deliver("r", SOUK_EV_USER_REGISTERED, user_data(USER, "a@x.io", "A")),
                     SOUK_OK);
    fx.answer = SOUK_EUNAVAIL;
    fx.permanent = true;
    assert_int_equal(send_due(), 1);
    assert_int_equal(scalar("SELECT count(*) FROM deliveries WHERE status = 'failed'"
                            " AND attempts = 1"),
                     1);
}

static void test_crash_between_send_and_mark_resends_once(void **state)
{
    assert_int_equal(deliver("r", SOUK_EV_USER_REGISTERED, user_data(USER, "a@x.io", "A")),
                     SOUK_OK);
    /* a sender claims the row, sends, and dies before marking it */
    souk_db_conn_t *c;
    notify_claimed_t *claims;
    int n;
    assert_int_equal(souk_db_acquire(fx.app.db, &c), SOUK_OK);
    assert_int_equal(store_delivery_claim(c, 10, 60, &claims, &n), SOUK_OK);
    souk_db_release(fx.app.db, c);
    assert_int_equal(n, 1);
    assert_false(claims[0].resend);
    store_claims_free(claims, n);
    /* within the lease nobody else touches it */
    assert_int_equal(send_due(), 0);
    exec("UPDATE deliveries SET claimed_at = now() - interval '61 seconds'");
    assert_int_equal(send_due(), 1);
    assert_int_equal(fx.sent, 1);
    assert_int_equal(scalar("SELECT count(*) FROM deliveries WHERE status = 'sent'"
                            " AND resends = 1 AND attempts = 2"),
                     1);
}

static void test_preferences_and_unknown_recipient(void **state)
{
    souk_db_conn_t *c;
    assert_int_equal(souk_db_acquire(fx.app.db, &c), SOUK_OK);
    notify_prefs_t p = {.order_updates = false, .welcome = true};
    assert_int_equal(store_prefs_put(c, OTHER, &p), SOUK_OK);
    souk_db_release(fx.app.db, c);
    assert_int_equal(deliver("o1", SOUK_EV_ORDER_CONFIRMED, order_data(OTHER, "confirmed")),
                     SOUK_OK);
    /* in-app yes, email no */
    assert_int_equal(scalar("SELECT count(*) FROM notifications WHERE user_id = '" OTHER "'"), 1);
    assert_int_equal(scalar("SELECT count(*) FROM deliveries"), 0);

    /* an order event before the user's address is known waits for it */
    assert_int_equal(deliver("o2", SOUK_EV_ORDER_REJECTED, order_data(USER, "rejected")), SOUK_OK);
    assert_int_equal(send_due(), 1);
    assert_int_equal(fx.sent, 0);
    assert_int_equal(scalar("SELECT count(*) FROM deliveries WHERE status = 'pending'"
                            " AND last_error LIKE '%address%'"),
                     1);
    assert_int_equal(deliver("r", SOUK_EV_USER_REGISTERED, user_data(USER, "late@x.io", "L")),
                     SOUK_OK);
    /* the address arrived: the waiting email is due at once, with the welcome */
    assert_int_equal(send_due(), 2);
    assert_int_equal(fx.sent, 2);
    assert_string_equal(fx.last_to, "late@x.io");
}

static void test_deleted_user_is_erased(void **state)
{
    assert_int_equal(deliver("r", SOUK_EV_USER_REGISTERED, user_data(USER, "a@x.io", "A")),
                     SOUK_OK);
    assert_int_equal(deliver("c", SOUK_EV_ORDER_CONFIRMED, order_data(USER, "confirmed")), SOUK_OK);
    souk_db_conn_t *c;
    assert_int_equal(souk_db_acquire(fx.app.db, &c), SOUK_OK);
    notify_prefs_t p = {.order_updates = true, .welcome = false};
    assert_int_equal(store_prefs_put(c, USER, &p), SOUK_OK);
    souk_db_release(fx.app.db, c);
    assert_int_equal(deliver("d", SOUK_EV_USER_DELETED, user_data(USER, "a@x.io", "A")), SOUK_OK);
    assert_int_equal(scalar("SELECT (SELECT count(*) FROM recipients) +"
                            " (SELECT count(*) FROM notifications) +"
                            " (SELECT count(*) FROM deliveries) +"
                            " (SELECT count(*) FROM preferences)"),
                     0);
    assert_int_equal(send_due(), 0);
    /* a late order event brings nothing back */
    assert_int_equal(deliver("x", SOUK_EV_ORDER_CANCELLED, order_data(USER, "cancelled")), SOUK_OK);
    assert_int_equal(scalar("SELECT (SELECT count(*) FROM notifications) +"
                            " (SELECT count(*) FROM deliveries)"),
                     0);
}

static void test_unreadable_events_are_refused(void **state)
{
    json_t *bad = order_data(USER, "confirmed");
    json_object_set_new(bad, "items", json_string("nope"));
    assert_int_equal(deliver("b1", SOUK_EV_ORDER_CONFIRMED, bad), SOUK_EINVAL);
    assert_int_equal(deliver("b2", SOUK_EV_USER_REGISTERED, json_pack("{s:s}", "user_id", "x")),
                     SOUK_EINVAL);
    assert_int_equal(scalar("SELECT count(*) FROM notifications"), 0);
}

static void test_reading_notifications(void **state)
{
    assert_int_equal(deliver("c1", SOUK_EV_ORDER_CONFIRMED, order_data(USER, "confirmed")),
                     SOUK_OK);
    assert_int_equal(deliver("c2", SOUK_EV_ORDER_CANCELLED, order_data(USER, "cancelled")),
                     SOUK_OK);
    souk_db_conn_t *c;
    assert_int_equal(souk_db_acquire(fx.app.db, &c), SOUK_OK);
    long long n = 0, total = 0;
    assert_int_equal(store_note_unread(c, USER, &n), SOUK_OK);
    assert_int_equal(n, 2);
    json_t *items = NULL;
    souk_page_t pg = {1, 10};
    assert_int_equal(store_note_list(c, USER, true, &pg, &items, &total), SOUK_OK);
    assert_int_equal(total, 2);
    const char *id = json_string_value(json_object_get(json_array_get(items, 0), "id"));
    assert_int_equal(store_note_read(c, OTHER, id), SOUK_ENOTFOUND); /* not theirs */
    assert_int_equal(store_note_read(c, USER, id), SOUK_OK);
    assert_int_equal(store_note_read(c, USER, id), SOUK_OK); /* again: still fine */
    json_decref(items);
    assert_int_equal(store_note_unread(c, USER, &n), SOUK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_note_read_all(c, USER), SOUK_OK);
    assert_int_equal(store_note_unread(c, USER, &n), SOUK_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_note_list(c, USER, false, &pg, &items, &total), SOUK_OK);
    assert_int_equal(total, 2);
    assert_true(json_is_true(json_object_get(json_array_get(items, 1), "read")));
    json_decref(items);
    souk_db_release(fx.app.db, c);
}

int main(void)
{
    if (!getenv("SOUK_TEST_DATABASE_URL")) {
        fprintf(stderr, "SOUK_TEST_DATABASE_URL is not set: run through scripts/test\n");
        return 1;
    }
    if (souk_log_init("test_notification_flow", "error") != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_journey_one_email_per_event, reset),
        cmocka_unit_test_setup(test_smtp_down_then_up, reset),
        cmocka_unit_test_setup(test_failed_then_retried_on_request, reset),
        cmocka_unit_test_setup(test_permanent_refusal_fails_at_once, reset),
        cmocka_unit_test_setup(test_crash_between_send_and_mark_resends_once, reset),
        cmocka_unit_test_setup(test_preferences_and_unknown_recipient, reset),
        cmocka_unit_test_setup(test_deleted_user_is_erased, reset),
        cmocka_unit_test_setup(test_unreadable_events_are_refused, reset),
        cmocka_unit_test_setup(test_reading_notifications, reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
