/* Unit tests of analytics-service against a real PostgreSQL
 * (SOUK_TEST_DATABASE_URL, a schema of its own): a scripted set of orders
 * (confirmed, rejected, cancelled before and after confirmation, two
 * currencies, two days, by the events' own times) gives exactly the
 * expected figures in every report once rolled up; the same events again
 * change nothing; unreadable orders are refused; recommendations follow
 * co-purchases, fall back to the category's and the overall bestsellers,
 * and never offer the product itself, a deleted one or what a user already
 * bought. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/analytics.h"
#include "dbtest.h"

extern const souk_migration_t souk_migrations[];

#define PA "aaaaaaaa-0000-4000-8000-00000000000a" /* kitchen, USD 10.00 */
#define PB "aaaaaaaa-0000-4000-8000-00000000000b" /* kitchen, USD 5.00 */
#define PC "aaaaaaaa-0000-4000-8000-00000000000c" /* no category, EUR 2.00 */
#define PD "aaaaaaaa-0000-4000-8000-00000000000d" /* tea, EUR 7.00 */
#define PE "aaaaaaaa-0000-4000-8000-00000000000e" /* kitchen, USD 3.00 */
#define PF "aaaaaaaa-0000-4000-8000-00000000000f" /* kitchen, never sold */
#define PG "aaaaaaaa-0000-4000-8000-000000000010" /* no category, never sold */
#define U1 "bbbbbbbb-0000-4000-8000-000000000001"
#define U2 "bbbbbbbb-0000-4000-8000-000000000002"
#define U3 "bbbbbbbb-0000-4000-8000-000000000003"

#define D1 "2026-03-01T10:00:00.000Z"
#define D2 "2026-03-02T09:00:00.000Z"

static souk_dbtest_t db;
static int seq;

static souk_err_t handle_tx(souk_db_conn_t *c, void *ud)
{
    return an_on_event(c, ud, NULL);
}

static souk_err_t deliver(const char *type, const char *time, json_t *data)
{
    souk_event_t ev = {0};
    snprintf(ev.id, sizeof(ev.id), "ev-%d", ++seq);
    snprintf(ev.type, sizeof(ev.type), "%s", type);
    snprintf(ev.source, sizeof(ev.source), "%s", souk_event_source_of(type));
    snprintf(ev.time, sizeof(ev.time), "%s", time);
    ev.data = data;
    souk_err_t err = souk_db_run_tx(db.pool, handle_tx, &ev);
    json_decref(data);
    return err;
}

static json_t *line(const char *product, const char *name, const char *category, int qty, int price)
{
    return json_pack("{s:s, s:s, s:s?, s:i, s:i}", "product_id", product, "name", name, "category",
                     category, "quantity", qty, "unit_price_cents", price);
}

/* An order's data: lines as json_t* (stolen), NULL-terminated. */
static json_t *order(const char *id, const char *user, const char *currency, json_t *l1, json_t *l2)
{
    json_t *items = json_array();
    long long total = 0;
    json_t *lines[] = {l1, l2};
    for (size_t i = 0; i < 2 && lines[i]; i++) {
        total += json_integer_value(json_object_get(lines[i], "quantity")) *
                 json_integer_value(json_object_get(lines[i], "unit_price_cents"));
        json_array_append_new(items, lines[i]);
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:I, s:s}", "order_id", id, "user_id", user, "status",
                     "pending", "items", items, "total_cents", (json_int_t)total, "currency",
                     currency);
}

static void event(const char *type, const char *time, json_t *data)
{
    souk_err_t err = deliver(type, time, data);
    if (err)
        fail_msg("%s at %s: %s", type, time, souk_strerror(err));
}

static void product(const char *id, const char *name, const char *category, int price,
                    const char *currency)
{
    event(SOUK_EV_PRODUCT_CREATED, "2026-02-01T00:00:00.000Z",
          json_pack("{s:s, s:s, s:s?, s:i, s:s, s:i}", "id", id, "name", name, "category", category,
                    "price_cents", price, "currency", currency, "stock", 10));
}

static long long rollup(void)
{
    souk_db_conn_t *c;
    long long folded = 0;
    assert_int_equal(souk_db_acquire(db.pool, &c), SOUK_OK);
    assert_int_equal(store_rollup(c, &folded), SOUK_OK);
    souk_db_release(db.pool, c);
    return folded;
}

#define O(n) "cccccccc-0000-4000-8000-00000000000" #n

/* The scripted set (see the file comment). */
static void script(void)
{
    event(SOUK_EV_USER_REGISTERED, D1, json_pack("{s:s}", "user_id", U1));
    event(SOUK_EV_USER_REGISTERED, D1, json_pack("{s:s}", "user_id", U2));
    event(SOUK_EV_USER_REGISTERED, D2, json_pack("{s:s}", "user_id", U3));
    /* O1: day 1, USD, A x2 + B x1 = 25.00, confirmed */
    const char *types1[] = {SOUK_EV_ORDER_PLACED, SOUK_EV_ORDER_CONFIRMED};
    for (int i = 0; i < 2; i++)
        event(types1[i], D1,
              order(O(1), U1, "USD", line(PA, "Kettle", "kitchen", 2, 1000),
                    line(PB, "Mug", "kitchen", 1, 500)));
    /* O2: day 1, USD, rejected */
    event(SOUK_EV_ORDER_PLACED, D1,
          order(O(2), U2, "USD", line(PA, "Kettle", "kitchen", 1, 1000), NULL));
    event(SOUK_EV_ORDER_REJECTED, D1,
          order(O(2), U2, "USD", line(PA, "Kettle", "kitchen", 1, 1000), NULL));
    /* O3: day 1, EUR, C x3, confirmed on day 1, cancelled on day 2 */
    event(SOUK_EV_ORDER_PLACED, D1, order(O(3), U2, "EUR", line(PC, "Clip", NULL, 3, 200), NULL));
    event(SOUK_EV_ORDER_CONFIRMED, D1,
          order(O(3), U2, "EUR", line(PC, "Clip", NULL, 3, 200), NULL));
    event(SOUK_EV_ORDER_CANCELLED, D2,
          order(O(3), U2, "EUR", line(PC, "Clip", NULL, 3, 200), NULL));
    /* O4: day 1, EUR, D x1, confirmed */
    event(SOUK_EV_ORDER_PLACED, D1,
          order(O(4), U3, "EUR", line(PD, "Sencha", "tea", 1, 700), NULL));
    event(SOUK_EV_ORDER_CONFIRMED, D1,
          order(O(4), U3, "EUR", line(PD, "Sencha", "tea", 1, 700), NULL));
    /* O5: day 2, USD, A x1 + B x2 = 20.00, confirmed */
    event(SOUK_EV_ORDER_PLACED, D2,
          order(O(5), U3, "USD", line(PA, "Kettle", "kitchen", 1, 1000),
                line(PB, "Mug", "kitchen", 2, 500)));
    event(SOUK_EV_ORDER_CONFIRMED, D2,
          order(O(5), U3, "USD", line(PA, "Kettle", "kitchen", 1, 1000),
                line(PB, "Mug", "kitchen", 2, 500)));
    /* O6: day 2, USD, cancelled while pending */
    event(SOUK_EV_ORDER_PLACED, D2,
          order(O(6), U1, "USD", line(PB, "Mug", "kitchen", 1, 500), NULL));
    event(SOUK_EV_ORDER_CANCELLED, D2,
          order(O(6), U1, "USD", line(PB, "Mug", "kitchen", 1, 500), NULL));
}

static int setup(void **state)
{
    const souk_migration_t *const migrations[] = {souk_bus_migrations, souk_migrations, NULL};
    souk_dbtest_open(&db, "analytics_t", 2, 300, migrations);
    product(PA, "Kettle", "kitchen", 1000, "USD");
    product(PB, "Mug", "kitchen", 500, "USD");
    product(PC, "Clip", NULL, 200, "EUR");
    product(PD, "Sencha", "tea", 700, "EUR");
    product(PE, "Whisk", "kitchen", 300, "USD");
    product(PF, "Ladle", "kitchen", 900, "USD");
    product(PG, "Poster", NULL, 1500, "USD");
    script();
    return 0;
}

static int teardown(void **state)
{
    souk_dbtest_close(&db);
    return 0;
}

static json_t *report(int which, const char *from, const char *to, const char *arg)
{
    souk_db_conn_t *c;
    souk_valid_t v;
    souk_valid_init(&v);
    an_range_t r;
    assert_true(an_range_parse(&v, from, to, 0, &r));
    souk_valid_cleanup(&v);
    json_t *out = NULL;
    assert_int_equal(souk_db_acquire(db.pool, &c), SOUK_OK);
    souk_err_t err = which == 0   ? store_summary(c, &r, &out)
                     : which == 1 ? store_sales(c, &r, arg, &out)
                     : which == 2 ? store_top_products(c, &r, arg != NULL, 10, &out)
                                  : store_categories(c, &r, &out);
    souk_db_release(db.pool, c);
    assert_int_equal(err, SOUK_OK);
    return out;
}

static void expect(json_t *got, const char *want_json)
{
    json_t *want = json_loads(want_json, 0, NULL);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);
        fail_msg("got  %s\nwant %s", g, w);
    }
    json_decref(want);
    json_decref(got);
}

static const char summary_both[] =
    "{\"orders_placed\":6,\"orders_confirmed\":4,\"orders_rejected\":1,\"orders_cancelled\":2,"
    "\"units_sold\":7,\"revenue_by_currency\":{\"USD\":4500,\"EUR\":700},"
    "\"average_order_cents_by_currency\":{\"USD\":2250,\"EUR\":700},\"new_users\":3}";

static void test_reports_before_and_after_rollup(void **state)
{
    /* nothing counts until the roll-up folded the journal */
    expect(report(0, "2026-03-01", "2026-03-03", NULL),
           "{\"orders_placed\":0,\"orders_confirmed\":0,\"orders_rejected\":0,"
           "\"orders_cancelled\":0,\"units_sold\":0,\"revenue_by_currency\":{},"
           "\"average_order_cents_by_currency\":{},\"new_users\":0}");
    assert_true(rollup() > 0);
    assert_int_equal(rollup(), 0);
    expect(report(0, "2026-03-01", "2026-03-03", NULL), summary_both);
    /* day 1 alone: O3's sale was undone on its own day */
    expect(report(0, "2026-03-01", "2026-03-02", NULL),
           "{\"orders_placed\":4,\"orders_confirmed\":3,\"orders_rejected\":1,"
           "\"orders_cancelled\":0,\"units_sold\":4,\"revenue_by_currency\":{\"USD\":2500,"
           "\"EUR\":700},\"average_order_cents_by_currency\":{\"USD\":2500,\"EUR\":700},"
           "\"new_users\":2}");
    /* every day present, the empty ones too */
    expect(report(1, "2026-02-28", "2026-03-04", "day"),
           "{\"items\":["
           "{\"period_start\":\"2026-02-28T00:00:00Z\",\"orders\":0,\"units\":0,"
           "\"revenue_by_currency\":{}},"
           "{\"period_start\":\"2026-03-01T00:00:00Z\",\"orders\":2,\"units\":4,"
           "\"revenue_by_currency\":{\"USD\":2500,\"EUR\":700}},"
           "{\"period_start\":\"2026-03-02T00:00:00Z\",\"orders\":1,\"units\":3,"
           "\"revenue_by_currency\":{\"USD\":2000}},"
           "{\"period_start\":\"2026-03-03T00:00:00Z\",\"orders\":0,\"units\":0,"
           "\"revenue_by_currency\":{}}]}");
    /* 2026-03-01 is a Sunday: its week began on Monday 2026-02-23 */
    expect(report(1, "2026-02-25", "2026-03-04", "week"),
           "{\"items\":["
           "{\"period_start\":\"2026-02-23T00:00:00Z\",\"orders\":2,\"units\":4,"
           "\"revenue_by_currency\":{\"USD\":2500,\"EUR\":700}},"
           "{\"period_start\":\"2026-03-02T00:00:00Z\",\"orders\":1,\"units\":3,"
           "\"revenue_by_currency\":{\"USD\":2000}}]}");
    expect(report(1, "2026-02-01", "2026-04-01", "month"),
           "{\"items\":["
           "{\"period_start\":\"2026-02-01T00:00:00Z\",\"orders\":0,\"units\":0,"
           "\"revenue_by_currency\":{}},"
           "{\"period_start\":\"2026-03-01T00:00:00Z\",\"orders\":3,\"units\":7,"
           "\"revenue_by_currency\":{\"USD\":4500,\"EUR\":700}}]}");
    expect(report(2, "2026-03-01", "2026-03-03", NULL),
           "{\"items\":["
           "{\"product_id\":\"" PA "\",\"name\":\"Kettle\",\"units\":3,\"revenue_cents\":3000,"
           "\"currency\":\"USD\"},"
           "{\"product_id\":\"" PB "\",\"name\":\"Mug\",\"units\":3,\"revenue_cents\":1500,"
           "\"currency\":\"USD\"},"
           "{\"product_id\":\"" PD "\",\"name\":\"Sencha\",\"units\":1,\"revenue_cents\":700,"
           "\"currency\":\"EUR\"}]}");
    json_t *by_rev = report(2, "2026-03-02", "2026-03-03", "revenue");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(by_rev, "items"), 0), "product_id")),
                        PB); /* day 2: A and B both made 10.00; B sold more units */
    json_decref(by_rev);
    expect(report(3, "2026-03-01", "2026-03-03", NULL),
           "{\"items\":["
           "{\"category\":\"kitchen\",\"units\":6,\"revenue_by_currency\":{\"USD\":4500}},"
           "{\"category\":\"tea\",\"units\":1,\"revenue_by_currency\":{\"EUR\":700}}]}");
}

static void test_redelivered_events_change_nothing(void **state)
{
    script(); /* every event again, with new ids: the states absorb them */
    rollup();
    expect(report(0, "2026-03-01", "2026-03-03", NULL), summary_both);
}

static void test_unreadable_orders_are_refused(void **state)
{
    json_t *bad = order(O(9), U1, "USD", line(PA, "Kettle", NULL, 1, 100), NULL);
    json_object_set_new(bad, "currency", json_string("dollars"));
    assert_int_equal(deliver(SOUK_EV_ORDER_PLACED, D1, bad), SOUK_EINVAL);
    bad = order(O(9), U1, "USD", line(PA, "Kettle", NULL, 0, 100), NULL);
    assert_int_equal(deliver(SOUK_EV_ORDER_PLACED, D1, bad), SOUK_EINVAL);
    bad = order(O(9), U1, "USD", line(PA, "Kettle", NULL, 1, 100), NULL);
    assert_int_equal(deliver(SOUK_EV_ORDER_PLACED, "last tuesday", bad), SOUK_EINVAL);
    assert_int_equal(rollup(), 0);
}

static json_t *recommend(const char *product, const char *user, const char *strategy)
{
    souk_db_conn_t *c;
    const char *got = NULL;
    json_t *items = NULL;
    assert_int_equal(souk_db_acquire(db.pool, &c), SOUK_OK);
    souk_err_t err = product ? store_recommend_product(c, product, 5, &got, &items)
                             : store_recommend_user(c, user, 5, &got, &items);
    souk_db_release(db.pool, c);
    assert_int_equal(err, SOUK_OK);
    assert_string_equal(got, strategy);
    return items;
}

static void expect_ids(json_t *items, const char *const *ids)
{
    size_t n = 0;
    while (ids[n])
        n++;
    if (json_array_size(items) != n)
        fail_msg("%zu items, want %zu: %s", json_array_size(items), n,
                 json_dumps(items, JSON_COMPACT));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(items, i), "id")),
                            ids[i]);
    json_decref(items);
}

static void test_recommendations(void **state)
{
    /* O7: A with E, once */
    event(SOUK_EV_ORDER_CONFIRMED, D2,
          order(O(7), U2, "USD", line(PA, "Kettle", "kitchen", 1, 1000),
                line(PE, "Whisk", "kitchen", 1, 300)));
    rollup();
    /* A was bought with B twice and with E once: B first, never A */
    json_t *items = recommend(PA, NULL, "co-purchase");
    json_t *first = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "Mug");
    assert_int_equal(json_integer_value(json_object_get(first, "price_cents")), 500);
    expect_ids(items, (const char *const[]){PB, PE, NULL});
    /* F never sold: its category's bestsellers, without F */
    expect_ids(recommend(PF, NULL, "category"), (const char *const[]){PA, PB, PE, NULL});
    /* G has no category: overall bestsellers; C's sale was cancelled */
    expect_ids(recommend(PG, NULL, "bestsellers"), (const char *const[]){PA, PB, PD, PE, NULL});
    /* U1 bought A and B: what was bought with them, not A or B */
    expect_ids(recommend(NULL, U1, "co-purchase"), (const char *const[]){PE, NULL});
    /* a deleted product is never recommended, and has none itself */
    event(SOUK_EV_PRODUCT_DELETED, "2026-03-03T00:00:00.000Z", json_pack("{s:s}", "id", PE));
    expect_ids(recommend(PA, NULL, "co-purchase"), (const char *const[]){PB, NULL});
    /* nothing left in U1's categories that they did not buy: bestsellers */
    expect_ids(recommend(NULL, U1, "bestsellers"), (const char *const[]){PD, NULL});
    souk_db_conn_t *c;
    const char *strategy;
    assert_int_equal(souk_db_acquire(db.pool, &c), SOUK_OK);
    assert_int_equal(store_recommend_product(c, PE, 5, &strategy, &items), SOUK_ENOTFOUND);
    souk_db_release(db.pool, c);
    /* a user who bought nothing gets bestsellers */
    expect_ids(recommend(NULL, "bbbbbbbb-0000-4000-8000-0000000000ff", "bestsellers"),
               (const char *const[]){PA, PB, PD, NULL});
}

int main(void)
{
    if (!getenv("SOUK_TEST_DATABASE_URL")) {
        fprintf(stderr, "SOUK_TEST_DATABASE_URL is not set: run through scripts/test\n");
        return 1;
    }
    if (souk_log_init("test_analytics_flow", "error") != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_before_and_after_rollup),
        cmocka_unit_test(test_redelivered_events_change_nothing),
        cmocka_unit_test(test_unreadable_orders_are_refused),
        cmocka_unit_test(test_recommendations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
