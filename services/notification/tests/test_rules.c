/* Unit tests of notification-service's plain parts: the template language,
 * quoted-printable and the composed message (no header can be injected),
 * what each event kind means, preferences, money, the in-app texts, the
 * built-in templates, and the back-off. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "../src/notify.h"

#define ORDER_ID "0a1b2c3d-1111-4111-8111-111111111111"

static char *render(const char *tmpl, const char *model_json, bool html, souk_err_t *err)
{
    json_t *model = json_loads(model_json, 0, NULL);
    assert_non_null(model);
    souk_buf_t out;
    souk_buf_init(&out, 4096);
    *err = notify_template_render(tmpl, model, html, &out);
    json_decref(model);
    char *s = souk_strdup(out.data ? out.data : "");
    souk_buf_cleanup(&out);
    return s;
}

static void test_template_cases(void **state)
{
    static const struct {
        const char *tmpl, *model, *want;
        bool html;
    } cases[] = {
        {"plain", "{}", "plain", false},
        {"Hi {{name}}!", "{\"name\":\"Ada\"}", "Hi Ada!", false},
        {"Hi {{name}}!", "{}", "Hi !", false},
        {"n={{n}}", "{\"n\":42}", "n=42", false},
        {"x={{obj}}", "{\"obj\":{\"a\":1}}", "x=", false},
        {"{{#name}}Dear {{name}}{{/name}}{{^name}}Hello{{/name}}", "{\"name\":\"Bo\"}", "Dear Bo",
         false},
        {"{{#name}}Dear {{name}}{{/name}}{{^name}}Hello{{/name}}", "{\"name\":\"\"}", "Hello",
         false},
        {"{{#items}}[{{name}}x{{q}}]{{/items}}",
         "{\"items\":[{\"name\":\"a\",\"q\":1},"
         "{\"name\":\"b\",\"q\":2}]}",
         "[ax1][bx2]", false},
        {"{{#items}}-{{/items}}{{^items}}none{{/items}}", "{\"items\":[]}", "none", false},
        /* inner frames see outer members; their own come first */
        {"{{#items}}{{name}}@{{shop}} {{/items}}",
         "{\"shop\":\"s\",\"name\":\"outer\",\"items\":[{\"name\":\"in\"}]}", "in@s ", false},
        /* nested sections of the same name */
        {"{{#a}}<{{#a}}x{{/a}}>{{/a}}", "{\"a\":true}", "<x>", false},
        {"<b>{{name}}</b>", "{\"name\":\"<script>&\\\"'\"}",
         "<b>&lt;script&gt;&amp;&quot;&#39;</b>", true},
        {"{{name}}", "{\"name\":\"<i>\"}", "<i>", false},
        {"{{#flag}}on{{/flag}}", "{\"flag\":false}", "", false},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        souk_err_t err;
        char *got = render(cases[i].tmpl, cases[i].model, cases[i].html, &err);
        if (err != SOUK_OK || strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: %s -> \"%s\" (err %d), want \"%s\"", i, cases[i].tmpl, got, err,
                     cases[i].want);
        souk_free(got);
    }
}

static void test_template_errors(void **state)
{
    static const char *const bad[] = {
        "{{name", "{{#a}}no end", "{{/a}}",
        "{{}}",   "{{#a}}{{/b}}", "{{#a}}{{#a}}{{#a}}{{#a}}{{#a}}x{{/a}}{{/a}}{{/a}}{{/a}}{{/a}}",
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(bad); i++) {
        souk_err_t err;
        souk_free(render(bad[i], "{\"a\":[1]}", false, &err));
        if (err != SOUK_EINVAL)
            fail_msg("\"%s\" gave %d, want SOUK_EINVAL", bad[i], err);
    }
    /* a full buffer is a limit, not a crash */
    json_t *model = json_pack("{s:[iiiiiiiiii]}", "a", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    souk_buf_t out;
    souk_buf_init(&out, 16);
    assert_int_equal(notify_template_render("{{#a}}0123456789{{/a}}", model, false, &out),
                     SOUK_ELIMIT);
    souk_buf_cleanup(&out);
    json_decref(model);
}

static char *qp(const char *in)
{
    souk_buf_t out;
    souk_buf_init(&out, 4096);
    assert_int_equal(notify_qp_encode(in, strlen(in), &out), SOUK_OK);
    char *s = souk_strdup(out.data ? out.data : "");
    souk_buf_cleanup(&out);
    return s;
}

static void test_quoted_printable(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"plain text", "plain text"},     {"a=b", "a=3Db"},
        {"caf\xc3\xa9", "caf=C3=A9"},     {"line one\nline two", "line one\r\nline two"},
        {"crlf\r\nkept", "crlf\r\nkept"}, {"trailing \nspace", "trailing=20\r\nspace"},
        {"tab\tin", "tab\tin"},           {"end ", "end=20"},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        char *got = qp(cases[i].in);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("qp(\"%s\") = \"%s\", want \"%s\"", cases[i].in, got, cases[i].want);
        souk_free(got);
    }
    /* long lines get soft breaks and no line exceeds 76 characters */
    char longline[400];
    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    longline[100] = '=';
    char *got = qp(longline);
    size_t col = 0, xs = 0;
    for (const char *p = got; *p; p++) {
        if (*p == '\r' && p[1] == '\n') {
            assert_true(col <= 76);
            assert_int_equal(p[-1], '=');
            col = 0;
            p++;
            continue;
        }
        col++;
        xs += *p == 'x';
    }
    assert_true(col <= 76);
    assert_int_equal(xs, sizeof(longline) - 2);
    assert_non_null(strstr(got, "=3D") ? got : NULL);
    souk_free(got);
}

static void test_mail_address(void **state)
{
    char out[64];
    assert_true(notify_mail_address("souk <no-reply@souk.local>", out, sizeof(out)));
    assert_string_equal(out, "no-reply@souk.local");
    assert_true(notify_mail_address("a@b.c", out, sizeof(out)));
    assert_string_equal(out, "a@b.c");
    static const char *const bad[] = {
        "", "no-at-sign", "a b@c.d", "x <a@b.c", "a@b\r\nBcc: x@y.z", "<>", NULL};
    for (size_t i = 0; bad[i]; i++)
        if (notify_mail_address(bad[i], out, sizeof(out)))
            fail_msg("\"%s\" taken as an address", bad[i]);
}

static char *compose(const notify_mail_t *m, souk_err_t *err)
{
    souk_buf_t out;
    souk_buf_init(&out, NOTIFY_MAIL_MAX);
    *err = notify_mime_compose(m, &out);
    char *s = souk_strdup(out.data ? out.data : "");
    souk_buf_cleanup(&out);
    return s;
}

static void test_compose(void **state)
{
    notify_mail_t m = {.from = "souk <no-reply@souk.local>",
                       .to = "ada@example.com",
                       .subject = "Order\r\nBcc: evil@example.com confirmed",
                       .text = "Total: 12.34 USD\n",
                       .html = "<p>Total: 12.34 USD</p>",
                       .message_id = "abc@souk",
                       .date_unix = 0};
    souk_err_t err;
    char *msg = compose(&m, &err);
    assert_int_equal(err, SOUK_OK);
    assert_non_null(strstr(msg, "From: souk <no-reply@souk.local>\r\nTo: <ada@example.com>\r\n"));
    /* the line break in the subject became spaces: no Bcc header */
    assert_non_null(strstr(msg, "Subject: Order  Bcc: evil@example.com confirmed\r\n"));
    assert_null(strstr(msg, "\r\nBcc:"));
    assert_non_null(strstr(msg, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    assert_non_null(strstr(msg, "Message-ID: <abc@souk>\r\n"));
    assert_non_null(strstr(msg, "Content-Type: multipart/alternative; boundary=\"=_souk_"));
    assert_non_null(strstr(msg, "Content-Type: text/plain; charset=UTF-8"));
    assert_non_null(strstr(msg, "Content-Type: text/html; charset=UTF-8"));
    assert_non_null(strstr(msg, "Total: 12.34 USD"));
    assert_non_null(strstr(msg, "<p>Total: 12.34 USD</p>"));
    /* every line ends in CRLF */
    for (const char *p = msg; *p; p++)
        if (*p == '\n')
            assert_int_equal(p[-1], '\r');
    souk_free(msg);

    m.subject = "Bestellung f\xc3\xbcr Ada";
    msg = compose(&m, &err);
    assert_int_equal(err, SOUK_OK);
    assert_non_null(strstr(msg, "Subject: =?UTF-8?B?QmVzdGVsbHVuZyBmw7xyIEFkYQ==?=\r\n"));
    souk_free(msg);

    m.to = "ada@example.com\r\nBcc: evil@example.com";
    souk_free(compose(&m, &err));
    assert_int_equal(err, SOUK_EINVAL);
    m.to = "ada@example.com";
    m.from = "x@y.z\r\nBcc: evil@example.com";
    souk_free(compose(&m, &err));
    assert_int_equal(err, SOUK_EINVAL);
}

static void test_kinds_and_preferences(void **state)
{
    notify_kind_t k;
    assert_true(notify_kind_of(SOUK_EV_USER_REGISTERED, &k));
    assert_int_equal(k, NOTIFY_WELCOME);
    assert_true(notify_kind_of(SOUK_EV_ORDER_REJECTED, &k));
    assert_int_equal(k, NOTIFY_ORDER_REJECTED);
    assert_false(notify_kind_of(SOUK_EV_ORDER_PLACED, &k));
    assert_false(notify_kind_of(SOUK_EV_USER_UPDATED, &k));
    assert_string_equal(notify_kind_name(NOTIFY_ORDER_CANCELLED), "order_cancelled");
    notify_prefs_t all = {true, true}, no_orders = {false, true}, no_welcome = {true, false};
    assert_true(notify_email_wanted(NOTIFY_ORDER_CONFIRMED, &all));
    assert_false(notify_email_wanted(NOTIFY_ORDER_CONFIRMED, &no_orders));
    assert_true(notify_email_wanted(NOTIFY_WELCOME, &no_orders));
    assert_false(notify_email_wanted(NOTIFY_WELCOME, &no_welcome));
    assert_true(notify_email_wanted(NOTIFY_ORDER_CANCELLED, &no_welcome));
}

static void test_money(void **state)
{
    char buf[32];
    notify_money(1234, "USD", buf, sizeof(buf));
    assert_string_equal(buf, "12.34 USD");
    notify_money(5, "EUR", buf, sizeof(buf));
    assert_string_equal(buf, "0.05 EUR");
    notify_money(-250, "USD", buf, sizeof(buf));
    assert_string_equal(buf, "-2.50 USD");
}

static json_t *order_data(const char *status, const char *reason)
{
    json_t *d = json_pack("{s:s, s:s, s:s, s:[{s:s, s:i, s:i}, {s:s, s:i, s:i}], s:i, s:s}",
                          "order_id", ORDER_ID, "user_id", "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
                          "status", status, "items", "name", "Kettle <deluxe>", "quantity", 2,
                          "unit_price_cents", 2500, "name", "Mug", "quantity", 1,
                          "unit_price_cents", 400, "total_cents", 5400, "currency", "USD");
    if (reason)
        json_object_set_new(d, "reason", json_string(reason));
    return d;
}

static void test_model_and_in_app(void **state)
{
    json_t *data = order_data("rejected", "insufficient stock for product x");
    json_t *m = notify_model(NOTIFY_ORDER_REJECTED, data, "Ada", "http://shop");
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "order_ref")), "0A1B2C3D");
    assert_string_equal(json_string_value(json_object_get(m, "total")), "54.00 USD");
    assert_int_equal(json_integer_value(json_object_get(m, "item_count")), 3);
    json_t *line = json_array_get(json_object_get(m, "items"), 0);
    assert_string_equal(json_string_value(json_object_get(line, "line_total")), "50.00 USD");
    char title[128], body[512];
    json_t *note =
        notify_in_app(NOTIFY_ORDER_REJECTED, m, data, title, sizeof(title), body, sizeof(body));
    assert_string_equal(title, "Order 0A1B2C3D rejected");
    assert_non_null(strstr(body, "insufficient stock for product x"));
    assert_string_equal(json_string_value(json_object_get(note, "reason")),
                        "insufficient stock for product x");
    assert_int_equal(json_integer_value(json_object_get(note, "total_cents")), 5400);
    json_decref(note);
    json_decref(m);

    /* an order event without readable lines has no model */
    json_object_set_new(data, "items", json_string("nope"));
    assert_null(notify_model(NOTIFY_ORDER_CONFIRMED, data, NULL, "http://shop"));
    json_decref(data);
    /* a welcome needs nothing but a name, if any */
    m = notify_model(NOTIFY_WELCOME, NULL, NULL, "http://shop");
    assert_non_null(m);
    assert_null(json_object_get(m, "name"));
    json_decref(m);
}

static void test_builtin_templates(void **state)
{
    notify_templates_t t[NOTIFY__KIND_COUNT];
    notify_templates_builtin(t);
    for (int k = 0; k < NOTIFY__KIND_COUNT; k++) {
        json_t *data = order_data("confirmed", "no stock");
        json_t *m = notify_model((notify_kind_t)k, data, "Ada <3", "http://shop");
        souk_buf_t subject, text, html;
        assert_int_equal(notify_render(&t[k], m, &subject, &text, &html), SOUK_OK);
        assert_null(strchr(subject.data, '\n')); /* one line */
        assert_non_null(strstr(text.data, "Hello Ada <3,"));
        assert_non_null(strstr(html.data, "Hello Ada &lt;3,"));
        if (notify_kind_is_order((notify_kind_t)k)) {
            assert_non_null(strstr(subject.data, "0A1B2C3D"));
            assert_non_null(strstr(text.data, "Total: 54.00 USD"));
            assert_non_null(strstr(text.data, "2 x Kettle <deluxe> at 25.00 USD = 50.00 USD"));
            assert_non_null(strstr(html.data, "Kettle &lt;deluxe&gt;"));
            assert_null(strstr(html.data, "<deluxe>"));
            assert_non_null(strstr(html.data, "54.00 USD"));
        } else {
            assert_string_equal(subject.data, "Welcome to souk, Ada <3");
        }
        if (k == NOTIFY_ORDER_REJECTED)
            assert_non_null(strstr(text.data, "(no stock)"));
        souk_buf_cleanup(&subject);
        souk_buf_cleanup(&text);
        souk_buf_cleanup(&html);
        json_decref(m);
        json_decref(data);
    }
}

static void test_backoff(void **state)
{
    assert_int_equal(notify_backoff_ms(1, 1000, 300000), 1000);
    assert_int_equal(notify_backoff_ms(2, 1000, 300000), 2000);
    assert_int_equal(notify_backoff_ms(5, 1000, 300000), 16000);
    assert_int_equal(notify_backoff_ms(30, 1000, 300000), 300000);
    assert_int_equal(notify_backoff_ms(1000, 1000, 300000), 300000);
    assert_int_equal(notify_after_failure(1, 8, false), NOTIFY_RETRY);
    assert_int_equal(notify_after_failure(8, 8, false), NOTIFY_GIVE_UP);
    assert_int_equal(notify_after_failure(1, 8, true), NOTIFY_GIVE_UP);
}

int main(void)
{
    if (souk_log_init("test_notification_rules", "error") != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_cases),
        cmocka_unit_test(test_template_errors),
        cmocka_unit_test(test_quoted_printable),
        cmocka_unit_test(test_mail_address),
        cmocka_unit_test(test_compose),
        cmocka_unit_test(test_kinds_and_preferences),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_model_and_in_app),
        cmocka_unit_test(test_builtin_templates),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
