/* Unit tests of order-service's placement flow against a real PostgreSQL
 * (SOUK_TEST_DATABASE_URL, a schema of its own with the service's
 * migrations) and a catalog stand-in: orders are stored with their event,
 * keys replay, unknown products and a missing catalog store nothing, and no
 * database connection is held while the catalog is asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/order.h"
#include "dbtest.h"

extern const souk_migration_t souk_migrations[];

#define P1   "11111111-1111-4111-8111-111111111111"
#define P2   "22222222-2222-4222-8222-222222222222"
#define P3   "33333333-3333-4333-8333-333333333333"
#define USER "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"

typedef struct {
    order_app_t app;
    json_t *catalog; /* {id: product}; NULL: the catalog is down */
    int calls;
    bool lease_free; /* a connection could be had while the catalog was asked */
    souk_dbtest_t db;
} fx_t;

static fx_t fx;

static souk_err_t fake_catalog(void *ud, const order_line_t *lines, size_t n,
                               const char *request_id, const char *traceparent, json_t **found)
{
    fx.calls++;
    souk_db_conn_t *c = NULL;
    fx.lease_free = souk_db_acquire(fx.app.db, &c) == SOUK_OK; /* pool of one */
    souk_db_release(fx.app.db, c);
    if (!fx.catalog)
        return SOUK_EUNAVAIL;
    *found = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_object_get(fx.catalog, lines[i].product_id);
        if (p)
            json_object_set(*found, lines[i].product_id, p);
    }
    return SOUK_OK;
}

static long long scalar(const char *sql)
{
    return souk_dbtest_scalar(fx.app.db, sql);
}

static int setup(void **state)
{
    const souk_migration_t *const migrations[] = {souk_bus_migrations, souk_migrations, NULL};
    souk_dbtest_open(&fx.db, "order_t", 1, 300, migrations);
    fx.app.db = fx.db.pool;
    fx.app.catalog = fake_catalog;
    fx.catalog = json_pack(
        "{s:{s:s, s:s, s:i, s:s, s:s}, s:{s:s, s:s, s:i, s:s}, s:{s:s, s:s, s:i, s:s}}", P1, "id",
        P1, "name", "Kettle", "price_cents", 2500, "currency", "USD", "category", "kitchen", P2,
        "id", P2, "name", "Mug", "price_cents", 400, "currency", "USD", P3, "id", P3, "name", "Tea",
        "price_cents", 900, "currency", "EUR");
    return 0;
}

static int teardown(void **state)
{
    souk_dbtest_close(&fx.db);
    json_decref(fx.catalog);
    return 0;
}

static order_place_outcome_t place(const char *key, const order_line_t *lines, size_t n,
                                   order_place_result_t *r)
{
    order_place_req_t req = {.user_id = USER,
                             .idempotency_key = key,
                             .lines = lines,
                             .nlines = n,
                             .request_id = "req-1",
                             .traceparent =
                                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"};
    return order_place(&fx.app, &req, r);
}

static void test_created_with_its_event(void **state)
{
    order_line_t lines[] = {{P1, 2}, {P2, 3}};
    order_place_result_t r;
    fx.lease_free = false;
    assert_int_equal(place(NULL, lines, 2, &r), ORDER_PLACE_CREATED);
    assert_true(fx.lease_free); /* nothing held while the catalog was asked */
    assert_int_equal(json_integer_value(json_object_get(r.order, "total_cents")),
                     2 * 2500 + 3 * 400);
    assert_string_equal(json_string_value(json_object_get(r.order, "status")), "pending");
    assert_int_equal(json_array_size(json_object_get(r.order, "items")), 2);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM outbox WHERE key = '%s' AND payload::json->>'type' = "
             "'souk.order.placed.v1' AND traceparent LIKE '00-4bf92f35%%'",
             json_string_value(json_object_get(r.order, "id")));
    assert_int_equal(scalar(sql), 1);
    /* the event's lines carry the category snapshotted at placement */
    char lines_sql[640];
    snprintf(lines_sql, sizeof(lines_sql),
             "SELECT count(*) FROM outbox, json_array_elements(payload::json->'data'->'items') i"
             " WHERE key = '%s' AND ((i->>'product_id' = '" P1 "' AND i->>'category' = 'kitchen')"
             " OR (i->>'product_id' = '" P2 "' AND json_typeof(i->'category') = 'null'"
             " AND i->>'name' = 'Mug' AND (i->>'unit_price_cents')::int = 400))",
             json_string_value(json_object_get(r.order, "id")));
    assert_int_equal(scalar(lines_sql), 2);
    /* ... and the API's lines do not */
    assert_null(json_object_get(json_array_get(json_object_get(r.order, "items"), 0), "category"));
    json_decref(r.order);
}

static void test_keys_replay(void **state)
{
    order_line_t lines[] = {{P1, 1}}, other[] = {{P1, 2}};
    order_place_result_t a, b;
    assert_int_equal(place("key-1", lines, 1, &a), ORDER_PLACE_CREATED);
    int calls = fx.calls;
    assert_int_equal(place("key-1", lines, 1, &b), ORDER_PLACE_REPLAYED);
    assert_int_equal(fx.calls, calls); /* a replay asks no catalog */
    assert_string_equal(json_string_value(json_object_get(a.order, "id")),
                        json_string_value(json_object_get(b.order, "id")));
    json_decref(b.order);
    assert_int_equal(place("key-1", other, 1, &b), ORDER_PLACE_KEY_REUSED);
    assert_null(b.order);
    json_decref(a.order);
    assert_int_equal(scalar("SELECT count(*) FROM orders WHERE idempotency_key = 'key-1'"), 1);
}

static void test_nothing_stored_when_refused(void **state)
{
    long long before = scalar("SELECT count(*) FROM orders");
    order_line_t unknown[] = {{P1, 1}, {"44444444-4444-4444-8444-444444444444", 1}};
    order_place_result_t r;
    assert_int_equal(place(NULL, unknown, 2, &r), ORDER_PLACE_UNORDERABLE);
    assert_int_equal(json_array_size(r.errors), 1);
    json_decref(r.errors);
    order_line_t mixed[] = {{P1, 1}, {P3, 1}};
    assert_int_equal(place(NULL, mixed, 2, &r), ORDER_PLACE_UNORDERABLE);
    json_decref(r.errors);
    json_t *saved = fx.catalog;
    fx.catalog = NULL;
    assert_int_equal(place("key-down", unknown, 1, &r), ORDER_PLACE_NO_CATALOG);
    fx.catalog = saved;
    assert_int_equal(scalar("SELECT count(*) FROM orders"), before);
    assert_int_equal(scalar("SELECT count(*) FROM outbox"), before);
}

int main(void)
{
    if (!getenv("SOUK_TEST_DATABASE_URL")) {
        fprintf(stderr, "SOUK_TEST_DATABASE_URL is not set: run through scripts/test\n");
        return 1;
    }
    if (souk_log_init("test_order_place", "error") != SOUK_OK || souk_auth_init() != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_created_with_its_event),
        cmocka_unit_test(test_keys_replay),
        cmocka_unit_test(test_nothing_stored_when_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
