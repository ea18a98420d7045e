/* Unit tests of spans and the tracer: sampling decisions, parent links,
 * attribute bounds, the OTLP/HTTP JSON a collector receives (a real HTTP
 * server of the test's own), and a dead collector costing nothing but
 * dropped spans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <souk/http.h>
#include <souk/obs.h>

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct {
    pthread_mutex_t lock;
    json_t *spans; /* every span received */
    int posts;
} collector_t;

static void receive(souk_http_ctx_t *ctx, void *ud)
{
    collector_t *c = ud;
    json_t *body = json_loadb(ctx->body, ctx->body_len, 0, NULL);
    json_t *rs = json_array_get(json_object_get(body, "resourceSpans"), 0);
    json_t *res_attr =
        json_array_get(json_object_get(json_object_get(rs, "resource"), "attributes"), 0);
    json_t *spans = json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
    pthread_mutex_lock(&c->lock);
    c->posts++;
    size_t i;
    json_t *s;
    json_array_foreach(spans, i, s)
    {
        json_object_set(s, "service",
                        json_object_get(json_object_get(res_attr, "value"), "stringValue"));
        json_array_append(c->spans, s);
    }
    pthread_mutex_unlock(&c->lock);
    json_decref(body);
    souk_http_reply_json(ctx, 200, json_object());
}

static json_t *find_span(collector_t *c, const char *name)
{
    json_t *s = NULL;
    size_t i;
    json_t *it;
    pthread_mutex_lock(&c->lock);
    json_array_foreach(c->spans, i, it) if (strcmp(json_string_value(json_object_get(it, "name")),
                                                   name) == 0) s = it;
    pthread_mutex_unlock(&c->lock);
    return s;
}

static const char *attr(json_t *span, const char *key)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(span, "attributes"), i, a)
    {
        if (strcmp(json_string_value(json_object_get(a, "key")), key) == 0) {
            json_t *v = json_object_get(a, "value");
            json_t *sv = json_object_get(v, "stringValue");
            return sv ? json_string_value(sv) : json_string_value(json_object_get(v, "intValue"));
        }
    }
    return NULL;
}

static void test_export(void **state)
{
    collector_t c = {.spans = json_array()};
    pthread_mutex_init(&c.lock, NULL);
    souk_metrics_t *m = souk_metrics_new();
    int port = free_port();
    souk_http_config_t hc = {.service = "collector", .port = port, .threads = 2, .metrics = m};
    souk_http_server_t *srv;
    assert_int_equal(souk_http_server_new(&hc, &srv), SOUK_OK);
    souk_http_route(srv, "POST", "/v1/traces", receive, &c);
    assert_int_equal(souk_http_server_start(srv), SOUK_OK);
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d/", port);
    souk_metrics_t *tm = souk_metrics_new();
    souk_tracer_config_t cfg = {.endpoint = endpoint, .service = "test-svc", .metrics = tm};
    assert_int_equal(souk_tracer_start(&cfg), SOUK_OK);

    souk_span_t root, child;
    souk_span_start(&root, SOUK_SPAN_SERVER, "GET /things/:id", NULL,
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_true(souk_span_recording(&root));
    assert_string_equal(root.ctx.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(root.ctx.parent_id, "00f067aa0ba902b7");
    souk_span_attr_str(&root, "http.route", "/things/:id");
    souk_span_attr_int(&root, "http.response.status_code", 503);
    souk_span_error(&root, "upstream unavailable");
    souk_trace_set_current(&root.ctx);
    souk_span_start(&child, SOUK_SPAN_CLIENT, "thing_get", souk_trace_current(), NULL);
    souk_span_attr_str(&child, "db.system", "postgresql");
    char long_value[400];
    memset(long_value, 'v', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    souk_span_attr_str(&child, "db.operation", long_value); /* cut, never overflowing */
    souk_span_end(&child);
    /* what a client sends ends up in attributes: quotes, backslashes,
     * control characters, non-ASCII text and bytes that are not UTF-8 */
    souk_span_t odd;
    souk_span_start(&odd, SOUK_SPAN_INTERNAL, "odd \"name\" \xff", souk_trace_current(), NULL);
    souk_span_attr_str(&odd, "url.path", "/a\"b\\c\n\x01d/caf\xc3\xa9");
    souk_span_attr_str(&odd, "bad.utf8", "x\xff\xfey");
    souk_span_end(&odd);
    souk_trace_set_current(NULL);
    souk_span_end(&root);
    souk_tracer_stop(); /* flushes */

    json_t *r = find_span(&c, "GET /things/:id"), *k = find_span(&c, "thing_get");
    assert_non_null(r);
    assert_non_null(k);
    assert_string_equal(json_string_value(json_object_get(r, "service")), "test-svc");
    assert_int_equal(json_integer_value(json_object_get(r, "kind")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "parentSpanId")), "00f067aa0ba902b7");
    assert_string_equal(json_string_value(json_object_get(k, "parentSpanId")),
                        json_string_value(json_object_get(r, "spanId")));
    assert_string_equal(json_string_value(json_object_get(k, "traceId")),
                        "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(attr(r, "http.response.status_code"), "503");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "status"), "code")), 2);
    assert_true(strlen(attr(k, "db.operation")) < SOUK_SPAN_VALUE_MAX);
    json_t *o = find_span(&c, "odd \"name\" ?");
    assert_non_null(o); /* the document stayed JSON */
    assert_string_equal(attr(o, "url.path"), "/a\"b\\c\n\x01d/caf\xc3\xa9");
    assert_string_equal(attr(o, "bad.utf8"), "x"); /* cut where UTF-8 ends */
    souk_http_server_free(srv);
    souk_metrics_free(m);
    souk_metrics_free(tm);
    json_decref(c.spans);
    pthread_mutex_destroy(&c.lock);
}

static void test_sampling(void **state)
{
    souk_tracer_config_t off = {.sampler = "always_off"};
    assert_int_equal(souk_tracer_start(&off), SOUK_OK);
    souk_span_t s;
    souk_span_start(&s, SOUK_SPAN_SERVER, "x", NULL, NULL);
    assert_int_equal(s.ctx.flags & 1, 0);
    souk_tracer_stop();

    souk_tracer_config_t parent = {.sampler = "parentbased_always_off"};
    assert_int_equal(souk_tracer_start(&parent), SOUK_OK);
    souk_span_start(&s, SOUK_SPAN_SERVER, "x", NULL,
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert_int_equal(s.ctx.flags & 1, 1); /* the parent sampled it */
    souk_span_start(&s, SOUK_SPAN_SERVER, "x", NULL, NULL);
    assert_int_equal(s.ctx.flags & 1, 0); /* a root is not */
    souk_tracer_stop();

    souk_tracer_config_t half = {.sampler = "traceidratio", .ratio = 0.5};
    assert_int_equal(souk_tracer_start(&half), SOUK_OK);
    int sampled = 0;
    for (int i = 0; i < 2000; i++) {
        souk_span_start(&s, SOUK_SPAN_SERVER, "x", NULL, NULL);
        sampled += s.ctx.flags & 1;
    }
    assert_in_range(sampled, 800, 1200);
    souk_tracer_stop();

    souk_tracer_config_t bad = {.sampler = "sometimes"},
                         ratio = {.sampler = "traceidratio", .ratio = 2};
    assert_int_equal(souk_tracer_start(&bad), SOUK_EINVAL);
    assert_int_equal(souk_tracer_start(&ratio), SOUK_EINVAL);
}

/* A collector that is not there: spans are dropped and counted, and ending
 * them does not wait for it. */
static void test_dead_collector(void **state)
{
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", free_port());
    souk_metrics_t *tm = souk_metrics_new();
    souk_tracer_config_t cfg = {.endpoint = endpoint, .queue = 64, .metrics = tm};
    assert_int_equal(souk_tracer_start(&cfg), SOUK_OK);
    for (int i = 0; i < 1000; i++) {
        souk_span_t s;
        souk_span_start(&s, SOUK_SPAN_SERVER, "x", NULL, NULL);
        souk_span_end(&s);
    }
    /* a thousand spans into a queue of 64: ending one never waits for room */
    souk_tracer_stop();
    souk_buf_t out;
    souk_buf_init(&out, 1 << 20);
    assert_int_equal(souk_metrics_render(tm, &out), SOUK_OK);
    assert_non_null(strstr(out.data, "otel_spans_dropped_total{reason=\"queue_full\"}"));
    assert_null(strstr(out.data, "otel_spans_exported_total 1"));
    souk_buf_cleanup(&out);
    souk_metrics_free(tm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_sampling),
        cmocka_unit_test(test_dead_collector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
