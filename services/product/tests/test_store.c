/* Unit tests of product-service's list queries against a real PostgreSQL
 * (SOUK_TEST_DATABASE_URL, a schema of its own) with a catalog large enough
 * for both search plans: a search the planner is sure matches thousands
 * skips the count and walks the sort order (an estimated total), a rare one
 * is counted and collected (an exact total), a short last page makes the
 * total known, a search with another filter is always counted, LIKE's
 * metacharacters in a query are plain characters on both plans, and a
 * remembered estimate, even a wrong one, changes the plan but not the
 * answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/product.h"
#include "dbtest.h"

extern const souk_migration_t souk_migrations[];

#define N 12000

static souk_dbtest_t db;

/* Product i (1..N) is "item-<i>", created i seconds after a fixed time (so
 * newest first is i descending), in category c<i % 3>; every description
 * says "common", those of i % 6 != 0 also "50% off", and i % 1000 == 7
 * also "rarity". */
static int setup(void **state)
{
    (void)state;
    /* pg_trgm in public, once for every run, rather than in a schema that
     * is dropped at the end */
    souk_dbtest_open(&db, "product_ext", 1, 0, NULL);
    souk_dbtest_exec(db.pool, "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public");
    souk_dbtest_close(&db);
    const souk_migration_t *const migrations[] = {souk_migrations, NULL};
    souk_dbtest_open(&db, "product_t", 2, 0, migrations);
    souk_dbtest_exec(db.pool,
                     "INSERT INTO products (id, sku, name, description, price_cents, stock,"
                     " category, created_at)"
                     " SELECT gen_random_uuid(), 'SKU-' || i, 'item-' || i,"
                     " 'common goods' || CASE WHEN i % 6 <> 0 THEN ', 50% off' ELSE '' END"
                     " || CASE WHEN i % 1000 = 7 THEN ', rarity' ELSE '' END,"
                     " 100 + i, 1, 'c' || i % 3,"
                     " timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => i)"
                     " FROM generate_series(1, 12000) AS i");
    souk_dbtest_exec(db.pool, "ANALYZE products");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    souk_dbtest_close(&db);
    return 0;
}

static product_page_t list_with(product_guesses_t *g, const char *q, const char *category,
                                long page, long limit)
{
    product_query_t query = {.q = q,
                             .category = category,
                             .sort = SORT_CREATED_DESC,
                             .page = {.page = page, .limit = limit}};
    product_page_t out = {0};
    souk_db_conn_t *c;
    assert_int_equal(souk_db_acquire(db.pool, &c), SOUK_OK);
    assert_int_equal(store_product_list(c, &query, g, &out), SOUK_OK);
    souk_db_release(db.pool, c);
    return out;
}

static product_page_t list(const char *q, const char *category, long page, long limit)
{
    return list_with(NULL, q, category, page, limit);
}

static int item_number(const product_page_t *p, size_t k)
{
    const char *name = json_string_value(json_object_get(json_array_get(p->items, k), "name"));
    assert_non_null(name);
    assert_int_equal(strncmp(name, "item-", 5), 0);
    char *end;
    long n = strtol(name + 5, &end, 10);
    assert_true(*end == '\0' && n >= 1 && n <= N);
    return (int)n;
}

static void test_common_search_walks_with_an_estimate(void **state)
{
    (void)state;
    product_page_t p = list("COMMON", NULL, 1, 20);
    assert_false(p.exact);
    assert_true(p.total >= 5 * PRODUCT_EXACT_TOTAL);
    assert_int_equal(json_array_size(p.items), 20);
    for (size_t k = 0; k < 20; k++)
        assert_int_equal(item_number(&p, k), N - (int)k);
    json_decref(p.items);
}

static void test_rare_search_is_counted(void **state)
{
    (void)state;
    product_page_t p = list("rarity", NULL, 1, 20);
    assert_true(p.exact);
    assert_int_equal(p.total, N / 1000);
    assert_int_equal(json_array_size(p.items), N / 1000);
    for (size_t k = 0; k < json_array_size(p.items); k++)
        assert_int_equal(item_number(&p, k), N - 993 - 1000 * (int)k);
    json_decref(p.items);
    p = list("rarity", NULL, 2, 5); /* the second page of three */
    assert_true(p.exact);
    assert_int_equal(p.total, N / 1000);
    assert_int_equal(json_array_size(p.items), 5);
    assert_int_equal(item_number(&p, 0), N - 993 - 5000);
    json_decref(p.items);
    p = list("rarity", NULL, 4, 5); /* past the end: no items, still the total */
    assert_true(p.exact);
    assert_int_equal(p.total, N / 1000);
    assert_int_equal(json_array_size(p.items), 0);
    json_decref(p.items);
}

static void test_short_last_page_knows_the_total(void **state)
{
    (void)state;
    product_page_t p = list("common", NULL, N / 70 + 1, 70); /* 171 full pages, then 30 */
    assert_int_equal(json_array_size(p.items), N % 70);
    assert_int_equal(p.total, N);
    assert_false(p.exact); /* known, but past the bound the contract calls estimated */
    assert_int_equal(item_number(&p, N % 70 - 1), 1);
    json_decref(p.items);
    p = list("common", NULL, N / 70 + 2, 70); /* past the end: nothing, still an estimate */
    assert_int_equal(json_array_size(p.items), 0);
    assert_false(p.exact);
    assert_true(p.total > PRODUCT_EXACT_TOTAL);
    json_decref(p.items);
}

static void test_search_with_a_filter_is_counted(void **state)
{
    (void)state;
    product_page_t p = list("common", "c1", 1, 20);
    assert_false(p.exact); /* 4,000 matches: counted to the bound, then estimated */
    assert_true(p.total > PRODUCT_EXACT_TOTAL);
    for (size_t k = 0; k < 20; k++)
        assert_int_equal(item_number(&p, k) % 3, 1);
    json_decref(p.items);
    p = list("rarity", "c1", 1, 20); /* 7, 1007, ...: i % 3 == 1 for 4 of the 12 */
    assert_true(p.exact);
    assert_int_equal(p.total, 4);
    json_decref(p.items);
}

static void test_like_metacharacters_are_plain(void **state)
{
    (void)state;
    product_page_t p = list("50% OFF", NULL, 1, 20); /* 10,000 matches: walked */
    assert_false(p.exact);
    assert_int_equal(json_array_size(p.items), 20);
    for (size_t k = 0; k < 20; k++)
        assert_int_not_equal(item_number(&p, k) % 6, 0);
    json_decref(p.items);
    const char *none[] = {"5_%", "50%_off", "%%%", "common_goods"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        p = list(none[i], NULL, 1, 20);
        assert_true(p.exact);
        assert_int_equal(p.total, 0);
        assert_int_equal(json_array_size(p.items), 0);
        json_decref(p.items);
    }
}

static void test_estimates_are_remembered(void **state)
{
    (void)state;
    product_guesses_t *g = product_guesses_new(64, 60000);
    double matches, rows;
    assert_false(product_guesses_get(g, "common", &matches, &rows));
    product_page_t p = list_with(g, "common", NULL, 1, 20);
    assert_false(p.exact);
    json_decref(p.items);
    assert_true(product_guesses_get(g, "COMMON", &matches, &rows)); /* any case */
    assert_true(matches >= 5 * PRODUCT_EXACT_TOTAL);
    assert_true(rows >= N / 2);
    assert_false(product_guesses_get(g, "commo", &matches, &rows));
    product_guesses_free(g);

    g = product_guesses_new(64, 0); /* kept for no time at all */
    product_guesses_put(g, "common", 12000, 12000);
    assert_false(product_guesses_get(g, "common", &matches, &rows));
    product_guesses_free(g);
}

static void test_a_wrong_estimate_changes_only_the_plan(void **state)
{
    (void)state;
    product_guesses_t *g = product_guesses_new(64, 60000);
    /* stale: "rarity" remembered as matching everything */
    product_guesses_put(g, "rarity", N, N);
    product_page_t p = list_with(g, "rarity", NULL, 1, 20);
    assert_true(p.exact); /* the walk's short page ends the matches */
    assert_int_equal(p.total, N / 1000);
    assert_int_equal(json_array_size(p.items), N / 1000);
    for (size_t k = 0; k < json_array_size(p.items); k++)
        assert_int_equal(item_number(&p, k), N - 993 - 1000 * (int)k);
    json_decref(p.items);
    /* and "common" remembered as rare is collected, reaches the bound, walks,
     * and is remembered as past the bound */
    product_guesses_put(g, "common", 10, N);
    p = list_with(g, "common", NULL, 1, 20);
    assert_false(p.exact);
    assert_true(p.total > PRODUCT_EXACT_TOTAL);
    assert_int_equal(item_number(&p, 0), N);
    json_decref(p.items);
    double matches, rows;
    assert_true(product_guesses_get(g, "common", &matches, &rows));
    assert_int_equal((long long)rows, 0);
    assert_true(matches > PRODUCT_EXACT_TOTAL);
    p = list_with(g, "common", NULL, 2, 20);
    assert_false(p.exact);
    assert_int_equal(item_number(&p, 0), N - 20);
    json_decref(p.items);
    product_guesses_free(g);
}

int main(void)
{
    if (!getenv("SOUK_TEST_DATABASE_URL")) {
        fprintf(stderr, "SOUK_TEST_DATABASE_URL is not set: run through scripts/test\n");
        return 1;
    }
    if (souk_log_init("test_product_store", "error") != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_search_walks_with_an_estimate),
        cmocka_unit_test(test_rare_search_is_counted),
        cmocka_unit_test(test_short_last_page_knows_the_total),
        cmocka_unit_test(test_search_with_a_filter_is_counted),
        cmocka_unit_test(test_like_metacharacters_are_plain),
        cmocka_unit_test(test_estimates_are_remembered),
        cmocka_unit_test(test_a_wrong_estimate_changes_only_the_plan),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
