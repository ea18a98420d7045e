/* Unit tests of analytics-service's rules: the order state machine (which
 * event moves which figure, in every state), event days from RFC 3339 times,
 * report ranges, CSV fields and the CSV shape of each report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../src/analytics.h"

static void test_state_machine(void **state)
{
    static const struct {
        an_status_t now;
        bool placed;
        const char *type;
        an_action_t action;
        an_status_t next;
    } cases[] = {
        {AN_UNSEEN, false, SOUK_EV_ORDER_PLACED, AN_PLACE, AN_PENDING},
        {AN_PENDING, true, SOUK_EV_ORDER_PLACED, AN_IGNORE, AN_PENDING},
        /* a placed event seen after its confirmation still counts, once */
        {AN_CONFIRMED, false, SOUK_EV_ORDER_PLACED, AN_PLACE, AN_CONFIRMED},
        {AN_CONFIRMED, true, SOUK_EV_ORDER_PLACED, AN_IGNORE, AN_CONFIRMED},
        {AN_PENDING, true, SOUK_EV_ORDER_CONFIRMED, AN_SELL, AN_CONFIRMED},
        {AN_UNSEEN, false, SOUK_EV_ORDER_CONFIRMED, AN_SELL, AN_CONFIRMED},
        {AN_CONFIRMED, true, SOUK_EV_ORDER_CONFIRMED, AN_IGNORE, AN_CONFIRMED},
        {AN_REJECTED, true, SOUK_EV_ORDER_CONFIRMED, AN_IGNORE, AN_REJECTED},
        {AN_CANCELLED, true, SOUK_EV_ORDER_CONFIRMED, AN_IGNORE, AN_CANCELLED},
        {AN_PENDING, true, SOUK_EV_ORDER_REJECTED, AN_REJECT, AN_REJECTED},
        {AN_UNSEEN, false, SOUK_EV_ORDER_REJECTED, AN_REJECT, AN_REJECTED},
        {AN_REJECTED, true, SOUK_EV_ORDER_REJECTED, AN_IGNORE, AN_REJECTED},
        {AN_CONFIRMED, true, SOUK_EV_ORDER_REJECTED, AN_IGNORE, AN_CONFIRMED},
        {AN_PENDING, true, SOUK_EV_ORDER_CANCELLED, AN_CANCEL, AN_CANCELLED},
        {AN_UNSEEN, false, SOUK_EV_ORDER_CANCELLED, AN_CANCEL, AN_CANCELLED},
        {AN_CONFIRMED, true, SOUK_EV_ORDER_CANCELLED, AN_UNSELL, AN_CANCELLED},
        {AN_CANCELLED, true, SOUK_EV_ORDER_CANCELLED, AN_IGNORE, AN_CANCELLED},
        {AN_REJECTED, true, SOUK_EV_ORDER_CANCELLED, AN_IGNORE, AN_REJECTED},
        {AN_PENDING, true, SOUK_EV_PRODUCT_CREATED, AN_IGNORE, AN_PENDING},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        an_status_t next;
        an_action_t a = an_order_action(cases[i].now, cases[i].placed, cases[i].type, &next);
        if (a != cases[i].action || next != cases[i].next)
            fail_msg("case %zu: %s on %s gave %s -> %s", i, cases[i].type,
                     an_status_name(cases[i].now), an_action_name(a), an_status_name(next));
    }
    an_status_t s;
    assert_true(an_status_parse("confirmed", &s));
    assert_int_equal(s, AN_CONFIRMED);
    assert_false(an_status_parse("shipped", &s));
}

static void test_days(void **state)
{
    static const struct {
        const char *in, *day;
        bool midnight;
    } ok[] = {
        {"2026-03-01", "2026-03-01", true},
        {"2026-03-01T00:00:00Z", "2026-03-01", true},
        {"2026-03-01T23:59:59.999Z", "2026-03-01", false},
        {"2026-03-01T23:30:00-01:00", "2026-03-02", false}, /* 00:30 UTC next day */
        {"2026-03-01T00:30:00+01:00", "2026-02-28", false},
        {"2024-02-29T12:00:00Z", "2024-02-29", false},
        {"2000-02-29", "2000-02-29", true},
        {"1970-01-01T00:00:00.123456Z", "1970-01-01", false},
        {"1969-12-31T23:00:00Z", "1969-12-31", false},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(ok); i++) {
        long day;
        bool midnight;
        char out[11];
        if (!an_parse_day(ok[i].in, &day, &midnight))
            fail_msg("\"%s\" refused", ok[i].in);
        an_day_format(day, out);
        if (strcmp(out, ok[i].day) != 0 || midnight != ok[i].midnight)
            fail_msg("\"%s\" -> %s (midnight %d), want %s", ok[i].in, out, midnight, ok[i].day);
    }
    static const char *const bad[] = {"",
                                      "2026-3-01",
                                      "2026-13-01",
                                      "2026-02-29",
                                      "1900-02-29",
                                      "2026-03-01T25:00:00Z",
                                      "2026-03-01T10:00:00",
                                      "2026-03-01 10:00:00Z",
                                      "2026-03-01T10:00:00Zjunk",
                                      "2026-03-01T10:00:00.Z",
                                      "2026-03-01T10:00:00+0100",
                                      "yesterday",
                                      NULL};
    for (size_t i = 0; bad[i]; i++) {
        long day;
        bool midnight;
        if (an_parse_day(bad[i], &day, &midnight))
            fail_msg("\"%s\" accepted", bad[i]);
    }
    /* day numbers and dates agree over every year 1..9999 */
    for (long d = -719162; d <= 2932896; d += 997) { /* 0001-01-01 .. 9999-12-31 */
        char out[11];
        long back;
        bool midnight;
        an_day_format(d, out);
        assert_true(an_parse_day(out, &back, &midnight));
        assert_int_equal(back, d);
    }
}

static void test_ranges(void **state)
{
    long today, day;
    bool midnight;
    assert_true(an_parse_day("2026-03-10", &today, &midnight));
    an_range_t r;
    souk_valid_t v;
    souk_valid_init(&v);
    assert_true(an_range_parse(&v, NULL, NULL, today, &r));
    assert_int_equal(r.to, today + 1);
    assert_int_equal(r.from, today + 1 - AN_DEFAULT_DAYS);
    assert_true(an_range_parse(&v, "2026-03-01", "2026-03-03", today, &r));
    assert_true(an_parse_day("2026-03-01", &day, &midnight));
    assert_int_equal(r.from, day);
    assert_int_equal(r.to, day + 2);
    /* a to inside a day counts that day; a from inside a day starts it */
    assert_true(an_range_parse(&v, "2026-03-01T12:00:00Z", "2026-03-02T00:00:01Z", today, &r));
    assert_int_equal(r.from, day);
    assert_int_equal(r.to, day + 2);
    assert_true(souk_valid_ok(&v));
    assert_false(an_range_parse(&v, "2026-03-02", "2026-03-02", today, &r));
    assert_false(an_range_parse(&v, "2000-01-01", "2026-03-02", today, &r));
    assert_false(an_range_parse(&v, "nope", NULL, today, &r));
    assert_int_equal(json_array_size(v.errors), 3);
    souk_valid_cleanup(&v);
}

static char *csv(const char *s, bool text)
{
    souk_buf_t b;
    souk_buf_init(&b, 1024);
    assert_int_equal(an_csv_field(&b, s, text), SOUK_OK);
    char *out = souk_strdup(b.data ? b.data : "");
    souk_buf_cleanup(&b);
    return out;
}

static void test_csv_fields(void **state)
{
    static const struct {
        const char *in, *want;
        bool text;
    } cases[] = {
        {"Kettle", "Kettle", true},
        {"Tea, green", "\"Tea, green\"", true},
        {"The \"best\" mug", "\"The \"\"best\"\" mug\"", true},
        {"two\nlines", "\"two\nlines\"", true},
        {"=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"", true},
        {"+1", "\"'+1\"", true},
        {"-5", "-5", false},
        {"@sum", "\"'@sum\"", true},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        char *got = csv(cases[i].in, cases[i].text);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("csv(%s) = %s, want %s", cases[i].in, got, cases[i].want);
        souk_free(got);
    }
}

typedef souk_err_t (*csv_fn)(json_t *, souk_buf_t *);

static void expect_csv(csv_fn fn, const char *json, const char *want)
{
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    souk_buf_t b;
    souk_buf_init(&b, 4096);
    assert_int_equal(fn(j, &b), SOUK_OK);
    if (strcmp(b.data, want) != 0)
        fail_msg("got\n%s\nwant\n%s", b.data, want);
    souk_buf_cleanup(&b);
    json_decref(j);
}

static void test_report_csv(void **state)
{
    expect_csv(an_csv_summary,
               "{\"orders_placed\":6,\"orders_confirmed\":4,\"orders_rejected\":1,"
               "\"orders_cancelled\":2,\"units_sold\":7,\"new_users\":3,"
               "\"revenue_by_currency\":{\"USD\":4500,\"EUR\":700},"
               "\"average_order_cents_by_currency\":{\"USD\":2250,\"EUR\":700}}",
               "orders_placed,orders_confirmed,orders_rejected,orders_cancelled,units_sold,"
               "new_users,revenue_cents_EUR,revenue_cents_USD,average_order_cents_EUR,"
               "average_order_cents_USD\r\n6,4,1,2,7,3,700,4500,700,2250\r\n");
    expect_csv(an_csv_sales,
               "{\"items\":[{\"period_start\":\"2026-03-01T00:00:00Z\",\"orders\":2,\"units\":4,"
               "\"revenue_by_currency\":{\"USD\":2500,\"EUR\":700}},"
               "{\"period_start\":\"2026-03-02T00:00:00Z\",\"orders\":0,\"units\":0,"
               "\"revenue_by_currency\":{}}]}",
               "period_start,orders,units,revenue_cents_EUR,revenue_cents_USD\r\n"
               "2026-03-01T00:00:00Z,2,4,700,2500\r\n2026-03-02T00:00:00Z,0,0,0,0\r\n");
    expect_csv(an_csv_top_products,
               "{\"items\":[{\"product_id\":\"p1\",\"name\":\"Tea, green\",\"units\":3,"
               "\"revenue_cents\":3000,\"currency\":\"USD\"}]}",
               "product_id,name,units,revenue_cents,currency\r\np1,\"Tea, green\",3,3000,USD\r\n");
    expect_csv(an_csv_categories,
               "{\"items\":[{\"category\":\"kitchen\",\"units\":6,\"revenue_by_currency\":"
               "{\"USD\":4500}},{\"category\":null,\"units\":1,\"revenue_by_currency\":"
               "{\"EUR\":700}}]}",
               "category,units,revenue_cents_EUR,revenue_cents_USD\r\nkitchen,6,0,4500\r\n"
               ",1,700,0\r\n");
}

int main(void)
{
    if (souk_log_init("test_analytics_rules", "error") != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_machine), cmocka_unit_test(test_days),
        cmocka_unit_test(test_ranges),        cmocka_unit_test(test_csv_fields),
        cmocka_unit_test(test_report_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
