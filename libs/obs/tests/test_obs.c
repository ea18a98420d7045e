/* Unit tests of libs/obs: exposition format and traceparent parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <souk/obs.h>

static souk_err_t collect(souk_buf_t *out, void *ud)
{
    return souk_buf_appendf(out, "# TYPE pool_size gauge\npool_size %d\n", *(int *)ud);
}

static void test_exposition(void **state)
{
    souk_metrics_t *m = souk_metrics_new();
    static const char *const labels[] = {"method", "route", NULL};
    souk_metric_t *c = souk_metrics_counter(m, "http_requests_total", "Requests.", labels);
    assert_ptr_equal(c, souk_metrics_counter(m, "http_requests_total", "Requests.", labels));
    souk_metric_inc(c, (const char *[]){"GET", "/a/:id"}, 2);
    souk_metric_inc(c, (const char *[]){"GET", "/a/:id"}, 1);
    souk_metric_inc(c, (const char *[]){"POST", "we\"ird\\"}, 1);
    souk_metric_t *h =
        souk_metrics_histogram(m, "lat_seconds", "Latency.", NULL, (const double[]){0.1, 1}, 2);
    souk_metric_observe(h, NULL, 0.05);
    souk_metric_observe(h, NULL, 0.5);
    souk_metric_observe(h, NULL, 5);
    souk_metric_t *g = souk_metrics_gauge(m, "inflight", "In flight.", NULL);
    souk_metric_add(g, NULL, 3);
    souk_metric_add(g, NULL, -1);
    int size = 8;
    souk_metrics_add_collector(m, collect, &size);

    souk_buf_t out;
    souk_buf_init(&out, 1 << 20);
    assert_int_equal(souk_metrics_render(m, &out), SOUK_OK);
    const char *t = out.data;
    assert_non_null(strstr(t, "# TYPE http_requests_total counter\n"));
    assert_non_null(strstr(t, "http_requests_total{method=\"GET\",route=\"/a/:id\"} 3\n"));
    assert_non_null(strstr(t, "route=\"we\\\"ird\\\\\"} 1\n"));
    assert_non_null(strstr(t, "lat_seconds_bucket{le=\"0.1\"} 1\n"));
    assert_non_null(strstr(t, "lat_seconds_bucket{le=\"1\"} 2\n"));
    assert_non_null(strstr(t, "lat_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "lat_seconds_sum 5.55\n"));
    assert_non_null(strstr(t, "lat_seconds_count 3\n"));
    assert_non_null(strstr(t, "inflight 2\n"));
    assert_non_null(strstr(t, "pool_size 8\n"));
    souk_buf_cleanup(&out);
    souk_metrics_free(m);
}

static void test_traceparent(void **state)
{
    static const struct {
        const char *in;
        bool ok;
    } cases[] = {
        {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true},
        {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true},
        {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
        {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
        {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false},
        {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false},
        {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", false},
        {"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false},
        {"garbage", false},
        {"", false},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        souk_trace_t t;
        assert_int_equal(souk_trace_parse(cases[i].in, strlen(cases[i].in), &t), cases[i].ok);
    }
    souk_trace_t t;
    souk_trace_begin(&t, cases[0].in);
    assert_string_equal(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(t.parent_id, "00f067aa0ba902b7");
    assert_int_equal(strlen(t.span_id), 16);
    assert_string_not_equal(t.span_id, t.parent_id);
    char out[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&t, out);
    assert_int_equal(strlen(out), SOUK_TRACEPARENT_LEN);
    assert_true(souk_trace_parse(out, strlen(out), &(souk_trace_t){0}));
    assert_memory_equal(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36);

    souk_trace_begin(&t, "bogus");
    assert_int_equal(strlen(t.trace_id), 32);
    assert_string_equal(t.parent_id, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exposition),
        cmocka_unit_test(test_traceparent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
