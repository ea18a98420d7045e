/* Unit tests of product-service's rules: body validation and list-query
 * parsing, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../src/product.h"

/* Returns the fields with errors, comma-joined ("" when valid). */
static void input_errors(const char *json, bool patch, char *out, size_t cap)
{
    json_t *body = json_loads(json, 0, NULL);
    assert_non_null(body);
    souk_valid_t v;
    souk_valid_init(&v);
    product_input_t in;
    product_parse_input(&v, body, patch, &in);
    out[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(v.errors, i, e)
    {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", n ? "," : "",
                 json_string_value(json_object_get(e, "field")));
    }
    souk_valid_cleanup(&v);
    json_decref(body);
}

static void test_input(void **state)
{
    static const struct {
        const char *json;
        bool patch;
        const char *errors;
    } cases[] = {
        {"{\"name\":\"Mug\",\"price_cents\":500,\"stock\":3}", false, ""},
        {"{\"name\":\"Mug\",\"price_cents\":0,\"stock\":0,\"currency\":\"EUR\",\"sku\":\"M-1\","
         "\"category\":\"home\",\"description\":\"\"}",
         false, ""},
        {"{}", false, "name,price_cents,stock"},
        {"{\"name\":\"\",\"price_cents\":1,\"stock\":1}", false, "name"},
        {"{\"name\":\"   \",\"price_cents\":1,\"stock\":1}", false, "name"},
        {"{\"name\":\"x\",\"price_cents\":-1,\"stock\":1}", false, "price_cents"},
        {"{\"name\":\"x\",\"price_cents\":1000000000000,\"stock\":1}", false, "price_cents"},
        {"{\"name\":\"x\",\"price_cents\":999999999999,\"stock\":1}", false, ""},
        {"{\"name\":\"x\",\"price_cents\":1.5,\"stock\":1}", false, "price_cents"},
        {"{\"name\":\"x\",\"price_cents\":\"5\",\"stock\":1}", false, "price_cents"},
        {"{\"name\":\"x\",\"price_cents\":1,\"stock\":-1}", false, "stock"},
        {"{\"name\":\"x\",\"price_cents\":1,\"stock\":1,\"currency\":\"usd\"}", false, "currency"},
        {"{\"name\":\"x\",\"price_cents\":1,\"stock\":1,\"currency\":\"ZZZ\"}", false, "currency"},
        {"{\"name\":\"x\",\"price_cents\":1,\"stock\":1,\"currency\":\"US\"}", false, "currency"},
        {"{\"name\":\"x\",\"price_cents\":1,\"stock\":1,\"color\":\"red\"}", false, "color"},
        {"{\"name\":\"x\",\"price_cents\":1,\"stock\":1,\"sku\":\"\"}", false, "sku"},
        {"{\"stock\":-1}", true, "stock"},
        {"{\"stock\":7}", true, ""},
        {"{\"sku\":null,\"category\":null}", true, ""},
        {"{}", true, "body"},
        {"{\"price\":5}", true, "price"},
        {"{\"name\":null}", true, "name"},
    };
    char got[256];
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        input_errors(cases[i].json, cases[i].patch, got, sizeof(got));
        if (strcmp(got, cases[i].errors) != 0)
            fail_msg("%s (patch=%d): errors \"%s\", want \"%s\"", cases[i].json, cases[i].patch,
                     got, cases[i].errors);
    }
    char name[202];
    char json[300];
    memset(name, 'n', 201);
    name[201] = '\0';
    snprintf(json, sizeof(json), "{\"name\":\"%s\",\"price_cents\":1,\"stock\":1}", name);
    input_errors(json, false, got, sizeof(got));
    assert_string_equal(got, "name");
}

/* Query strings as "k=v&k=v" for a tiny getter. */
static const char *get_param(const void *src, const char *name)
{
    static char value[128];
    const char *s = src;
    size_t n = strlen(name);
    for (const char *p = s; p && *p;) {
        size_t len = strcspn(p, "&");
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            snprintf(value, sizeof(value), "%.*s", (int)(len - n - 1), p + n + 1);
            return value;
        }
        p += len + (p[len] == '&');
    }
    return NULL;
}

static void test_query(void **state)
{
    static const struct {
        const char *qs;
        bool ok;
    } cases[] = {
        {"", true},
        {"q=mug&category=home&min_price=0&max_price=100&sort=-price&page=2&limit=100", true},
        {"sort=price", true},
        {"sort=name", true},
        {"sort=-created_at", true},
        {"sort=random", false},
        {"sort=", false},
        {"page=0", false},
        {"page=-1", false},
        {"page=abc", false},
        {"limit=0", false},
        {"limit=101", false},
        {"limit=1e2", false},
        {"min_price=-5", false},
        {"max_price=12abc", false},
        {"min_price=10&max_price=5", false},
        {"max_price=999999999999", true},
        {"max_price=1000000000000", false},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        souk_valid_t v;
        souk_valid_init(&v);
        product_query_t q;
        product_parse_query(&v, get_param, cases[i].qs, &q);
        if (souk_valid_ok(&v) != cases[i].ok)
            fail_msg("query \"%s\": expected %s", cases[i].qs, cases[i].ok ? "ok" : "errors");
        souk_valid_cleanup(&v);
    }
    souk_valid_t v;
    souk_valid_init(&v);
    product_query_t q;
    product_parse_query(&v, get_param, "", &q);
    assert_int_equal(q.sort, SORT_CREATED_DESC);
    assert_int_equal(q.page.page, 1);
    assert_int_equal(q.page.limit, 20);
    product_parse_query(&v, get_param, "sort=-price&min_price=5", &q);
    assert_int_equal(q.sort, SORT_PRICE_DESC);
    assert_true(q.has_min);
    assert_int_equal(q.min_price, 5);
    assert_false(q.has_max);
    souk_valid_cleanup(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input),
        cmocka_unit_test(test_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
