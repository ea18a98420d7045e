/* Unit tests of libs/bus: CloudEvents envelope validation (table-driven). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <souk/bus.h>

static void test_envelopes(void **state)
{
    static const struct {
        const char *json;
        bool ok;
    } cases[] = {
        {"{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/order-service\","
         "\"type\":\"souk.order.placed.v1\",\"time\":\"2026-01-01T00:00:00Z\","
         "\"subject\":\"o1\",\"datacontenttype\":\"application/json\",\"data\":{\"a\":1}}",
         true},
        {"{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\",\"data\":{}}",
         true},
        {"{\"specversion\":\"0.3\",\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\",\"data\":{}}",
         false},
        {"{\"id\":\"e1\",\"source\":\"/s\",\"type\":\"t\",\"data\":{}}", false},
        {"{\"specversion\":\"1.0\",\"id\":\"\",\"source\":\"/s\",\"type\":\"t\",\"data\":{}}",
         false},
        {"{\"specversion\":\"1.0\",\"id\":7,\"source\":\"/s\",\"type\":\"t\",\"data\":{}}", false},
        {"{\"specversion\":\"1.0\",\"id\":\"e\",\"type\":\"t\",\"data\":{}}", false},
        {"{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"data\":{}}", false},
        {"{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\"}", false},
        {"{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\",\"data\":[1]}",
         false},
        {"{\"specversion\":\"1.0\",\"id\":\"e\",\"source\":\"/s\",\"type\":\"t\","
         "\"datacontenttype\":\"text/xml\",\"data\":{}}",
         false},
        {"{\"specversion\":\"1.0\",\"id\":\"e\",\"id\":\"f\",\"source\":\"/s\",\"type\":\"t\","
         "\"data\":{}}",
         false},
        {"not json", false},
        {"[]", false},
        {"", false},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        souk_event_t ev;
        souk_err_t err = souk_event_parse(cases[i].json, strlen(cases[i].json), &ev);
        if ((err == SOUK_OK) != cases[i].ok)
            fail_msg("case %zu: %s", i, cases[i].json);
        if (err == SOUK_OK) {
            assert_true(json_is_object(ev.data));
            assert_string_equal(ev.id, "e1");
        }
        souk_event_cleanup(&ev);
    }
    char big[300];
    memset(big, 'x', 200);
    big[200] = '\0';
    char json[512];
    snprintf(json, sizeof(json),
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"/s\",\"type\":\"t\",\"data\":{}}",
             big);
    souk_event_t ev;
    assert_int_equal(souk_event_parse(json, strlen(json), &ev), SOUK_EINVAL);
    souk_event_cleanup(&ev);
    assert_int_equal(souk_event_parse(NULL, 0, &ev), SOUK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
