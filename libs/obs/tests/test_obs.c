/* Unit tests of libs/obs: exposition format and traceparent parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
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
    assert_non_null(strstr(t, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(t, "\nprocess_open_fds "));
    assert_non_null(strstr(t, "\nprocess_start_time_seconds 1"));
    souk_buf_cleanup(&out);
    souk_metrics_free(m);
}

static size_t count_lines(const char *text, const char *prefix)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        n += strncmp(p, prefix, plen) == 0;
    return n;
}

static souk_buf_t render(souk_metrics_t *m)
{
    souk_buf_t out;
    souk_buf_init(&out, 1 << 20);
    assert_int_equal(souk_metrics_render(m, &out), SOUK_OK);
    return out;
}

/* Invented label values cannot grow a family past its cap: the excess
 * lands in one all-OTHER series, and the overflow is counted. */
static void test_series_cap(void **state)
{
    souk_metrics_t *m = souk_metrics_new();
    souk_metrics_set_max_series(m, 10);
    static const char *const labels[] = {"method", NULL};
    souk_metric_t *c = souk_metrics_counter(m, "reqs_total", "Requests.", labels);
    char method[32];
    for (int i = 0; i < 500; i++) {
        snprintf(method, sizeof(method), "INVENTED%d", i);
        souk_metric_inc(c, (const char *[]){method}, 1);
    }
    souk_buf_t out = render(m);
    assert_int_equal(count_lines(out.data, "reqs_total{"), 11); /* 10 + overflow */
    assert_non_null(strstr(out.data, "reqs_total{method=\"OTHER\"} 490\n"));
    assert_non_null(strstr(out.data, "metrics_series_overflow_total{family=\"reqs_total\"} 490\n"));
    souk_buf_cleanup(&out);
    souk_metrics_free(m);
}

/* Values that are not short UTF-8 become OTHER; long values that share a
 * prefix stay apart (no key truncation), and so do values whose bytes
 * could be confused with a separator. */
static void test_label_values_checked(void **state)
{
    souk_metrics_t *m = souk_metrics_new();
    static const char *const labels[] = {"a", "b", NULL};
    souk_metric_t *c = souk_metrics_counter(m, "vals_total", "Values.", labels);
    souk_metric_inc(c, (const char *[]){"ok", "\xff\xfe"}, 1);
    char long_value[300];
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    souk_metric_inc(c, (const char *[]){"ok", long_value}, 1);
    char near[SOUK_METRIC_MAX_VALUE + 1];
    memset(near, 'y', SOUK_METRIC_MAX_VALUE);
    near[SOUK_METRIC_MAX_VALUE] = '\0';
    souk_metric_inc(c, (const char *[]){near, "1"}, 1);
    souk_metric_inc(c, (const char *[]){near, "2"}, 1);
    souk_metric_inc(c, (const char *[]){"p\x1fq", "r"}, 1);
    souk_metric_inc(c, (const char *[]){"p", "q\x1fr"}, 1);
    souk_buf_t out = render(m);
    assert_non_null(strstr(out.data, "vals_total{a=\"ok\",b=\"OTHER\"} 2\n"));
    assert_null(strstr(out.data, "\xff"));
    assert_int_equal(count_lines(out.data, "vals_total{"), 5);
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
        cmocka_unit_test(test_series_cap),
        cmocka_unit_test(test_label_values_checked),
        cmocka_unit_test(test_traceparent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
