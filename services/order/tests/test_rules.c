/* Unit tests of order-service's rules: the status state machine (the whole
 * table) and order lines (validation, merging, hashing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../src/order.h"

static void test_state_machine(void **state)
{
    /* want[from][to]: the complete transition table */
    static const bool want[ORDER__STATUS_COUNT][ORDER__STATUS_COUNT] = {
        /*               pending confirmed rejected cancelled */
        [ORDER_PENDING] = {false, true, true, true},
        [ORDER_CONFIRMED] = {false, false, false, true},
        [ORDER_REJECTED] = {false, false, false, false},
        [ORDER_CANCELLED] = {false, false, false, false},
    };
    for (int f = 0; f < ORDER__STATUS_COUNT; f++)
        for (int t = 0; t < ORDER__STATUS_COUNT; t++)
            if (order_transition_allowed((order_status_t)f, (order_status_t)t) != want[f][t])
                fail_msg("%s -> %s", order_status_name((order_status_t)f),
                         order_status_name((order_status_t)t));
    assert_false(order_transition_allowed((order_status_t)99, ORDER_PENDING));
    order_status_t s;
    assert_true(order_status_parse("cancelled", &s));
    assert_int_equal(s, ORDER_CANCELLED);
    assert_false(order_status_parse("shipped", &s));
    assert_false(order_status_parse(NULL, &s));
}

static size_t parse(const char *json, order_line_t lines[ORDER_MAX_ITEMS], char *fields, size_t cap)
{
    json_t *body = json_loads(json, 0, NULL);
    assert_non_null(body);
    souk_valid_t v;
    souk_valid_init(&v);
    size_t n = order_parse_lines(&v, body, lines);
    fields[0] = '\0';
    size_t i;
    json_t *e;
    json_array_foreach(v.errors, i, e)
    {
        size_t len = strlen(fields);
        snprintf(fields + len, cap - len, "%s%s", len ? "," : "",
                 json_string_value(json_object_get(e, "field")));
    }
    souk_valid_cleanup(&v);
    json_decref(body);
    return n;
}

#define A "11111111-1111-4111-8111-111111111111"
#define B "22222222-2222-4222-8222-222222222222"

static void test_lines(void **state)
{
    static const struct {
        const char *json;
        size_t n;
        const char *errors;
    } cases[] = {
        {"{\"items\":[{\"product_id\":\"" A "\",\"quantity\":2}]}", 1, ""},
        {"{\"items\":[{\"product_id\":\"" A "\",\"quantity\":2},{\"product_id\":\"" B
         "\",\"quantity\":1},{\"product_id\":\"" A "\",\"quantity\":3}]}",
         2, ""},
        {"{\"items\":[]}", 0, "items"},
        {"{}", 0, "items"},
        {"{\"items\":{}}", 0, "items"},
        {"{\"items\":[{\"product_id\":\"" A "\",\"quantity\":0}]}", 0, "items[0].quantity"},
        {"{\"items\":[{\"product_id\":\"" A "\",\"quantity\":1001}]}", 0, "items[0].quantity"},
        {"{\"items\":[{\"product_id\":\"" A "\",\"quantity\":\"2\"}]}", 0, "items[0].quantity"},
        {"{\"items\":[{\"product_id\":\"nope\",\"quantity\":1}]}", 0, "items[0].product_id"},
        {"{\"items\":[{\"quantity\":1}]}", 0, "items[0].product_id"},
        {"{\"items\":[5]}", 0, "items[0]"},
        {"{\"items\":[{\"product_id\":\"" A "\",\"quantity\":1,\"price\":1}]}", 0, "items[0]"},
        {"{\"items\":[{\"product_id\":\"" A "\",\"quantity\":600},{\"product_id\":\"" A
         "\",\"quantity\":600}]}",
         0, "items"},
        {"{\"items\":[],\"coupon\":\"x\"}", 0, "coupon,items"},
    };
    order_line_t lines[ORDER_MAX_ITEMS];
    char fields[256];
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        size_t n = parse(cases[i].json, lines, fields, sizeof(fields));
        if (n != cases[i].n || strcmp(fields, cases[i].errors) != 0)
            fail_msg("case %zu: n=%zu errors=\"%s\"", i, n, fields);
    }
    /* merged quantities */
    size_t n = parse(cases[1].json, lines, fields, sizeof(fields));
    assert_int_equal(n, 2);
    assert_string_equal(lines[0].product_id, A);
    assert_int_equal(lines[0].quantity, 5);
    /* 51 lines are too many */
    char big[8192] = "{\"items\":[";
    for (int i = 0; i < 51; i++)
        snprintf(big + strlen(big), sizeof(big) - strlen(big),
                 "%s{\"product_id\":\"" A "\",\"quantity\":1}", i ? "," : "");
    snprintf(big + strlen(big), sizeof(big) - strlen(big), "]}");
    assert_int_equal(parse(big, lines, fields, sizeof(fields)), 0);
    assert_string_equal(fields, "items");
}

static void test_hash(void **state)
{
    order_line_t a[] = {{A, 2}, {B, 1}}, b[] = {{B, 1}, {A, 2}}, c[] = {{A, 3}, {B, 1}};
    char ha[65], hb[65], hc[65];
    order_lines_hash(a, 2, ha);
    order_lines_hash(b, 2, hb);
    order_lines_hash(c, 2, hc);
    assert_string_equal(ha, hb); /* order of lines does not matter */
    assert_string_not_equal(ha, hc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
