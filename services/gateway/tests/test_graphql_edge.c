/* Tests of GraphQL served on the gateway's edge (src/graphql_edge.c with
 * the edge's handler, src/edge.c) on real sockets: an edge with one loop
 * thread runs the gateway's handler in front of a small product-service of
 * the test's own (a thread per connection, keep-alive) and a stand-in for
 * the gateway's internal server. What they show: a product by id through
 * POST and GET /graphql answers from one sub-request that carries the
 * request's id, trace and client address; the request counts under the
 * route "/graphql" and its call under the product upstream; GraphiQL's GET
 * still goes to the internal server; the envelope's refusals (415, 405,
 * 400); a product-service that is down is a field error; and a client that
 * goes away while the call is out leaves nothing behind. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "edgetest.h"
#include "../src/graphql_gw.h"

#define P1   "11111111-1111-4111-8111-111111111111"
#define SLOW "55555555-5555-4555-8555-555555555555" /* answered after a second */

/* ---- the fake upstreams ------------------------------------------------------------------ */

typedef struct {
    int lfd, port;
    bool internal; /* the internal server's stand-in: answers "internal" */
    atomic_int requests;
    atomic_int active;    /* connection threads still running */
    pthread_mutex_t lock; /* guards last */
    char last[8192];      /* the last request as it arrived */
    pthread_t thread;
} fake_up_t;

static fake_up_t product, internal;

static bool send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0)
            return false;
        c += k, n -= (size_t)k;
    }
    return true;
}

static void answer(int fd, int status, const char *body)
{
    char out[4096];
    int n =
        snprintf(out, sizeof(out),
                 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 status, strlen(body), body);
    send_all(fd, out, (size_t)n);
}

typedef struct {
    fake_up_t *up;
    int fd;
} conn_t;

static void *serve(void *p)
{
    conn_t c = *(conn_t *)p;
    free(p);
    static __thread char buf[16384];
    while (souk_edgetest_read_request(c.fd, buf, sizeof(buf))) {
        atomic_fetch_add(&c.up->requests, 1);
        pthread_mutex_lock(&c.up->lock);
        snprintf(c.up->last, sizeof(c.up->last), "%.8000s", buf);
        pthread_mutex_unlock(&c.up->lock);
        if (c.up->internal)
            answer(c.fd, 200, "\"internal\"");
        else if (strncmp(buf, "GET /products/" P1 " ", 51) == 0)
            answer(c.fd, 200,
                   "{\"id\":\"" P1 "\",\"sku\":null,\"name\":\"Cup\",\"price_cents\":1999,"
                   "\"currency\":\"USD\",\"stock\":3}");
        else if (strncmp(buf, "GET /products/" SLOW " ", 51) == 0) {
            nanosleep(&(struct timespec){1, 0}, NULL);
            answer(c.fd, 404, "{\"detail\":\"no such product\"}");
        } else
            answer(c.fd, 404, "{\"detail\":\"no such product\"}");
    }
    close(c.fd);
    atomic_fetch_sub(&c.up->active, 1);
    return NULL;
}

static void *accept_main(void *p)
{
    fake_up_t *up = p;
    for (;;) {
        int fd = accept(up->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        conn_t *c = malloc(sizeof(*c));
        *c = (conn_t){up, fd};
        atomic_fetch_add(&up->active, 1);
        pthread_t t;
        pthread_create(&t, NULL, serve, c);
        pthread_detach(t);
    }
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 64), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static void up_start(fake_up_t *up, bool is_internal)
{
    atomic_store(&up->requests, 0);
    atomic_store(&up->active, 0);
    up->internal = is_internal;
    up->last[0] = '\0';
    pthread_mutex_init(&up->lock, NULL);
    up->lfd = listen_any(&up->port);
    pthread_create(&up->thread, NULL, accept_main, up);
}

/* After the edge stopped (its connections are closed): every thread of the
 * fake ends before the next test sets it up again. */
static void up_stop(fake_up_t *up)
{
    shutdown(up->lfd, SHUT_RDWR);
    close(up->lfd);
    pthread_join(up->thread, NULL);
    uint64_t until = souk_now_mono_ns() + 5000000000ull;
    while (atomic_load(&up->active) > 0 && souk_now_mono_ns() < until)
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    assert_int_equal(atomic_load(&up->active), 0);
    pthread_mutex_destroy(&up->lock);
}

/* ---- the gateway under test ---------------------------------------------------------------- */

typedef struct {
    gateway_t gw;
    souk_metrics_t *metrics;
    char product_url[64];
} fx_t;

static int start(void **state, bool product_down)
{
    fx_t *f = souk_calloc(1, sizeof(*f));
    gateway_t *gw = &f->gw;
    up_start(&product, false);
    up_start(&internal, true);
    f->metrics = souk_metrics_new();
    static const char *const uo[] = {"upstream", "outcome", NULL};
    static const char *const u1[] = {"upstream", NULL};
    static const char *const scope[] = {"scope", NULL};
    gw->upstream_requests =
        souk_metrics_counter(f->metrics, "gateway_upstream_requests_total", "x", uo);
    gw->upstream_seconds =
        souk_metrics_histogram(f->metrics, "gateway_upstream_duration_seconds", "x", u1,
                               souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
    gw->rate_limited = souk_metrics_counter(f->metrics, "gateway_rate_limited_total", "x", scope);
    gw->rules = gw_rules_new();
    gw->timeout_ms = 5000;
    static const char *const names[] = {"auth", "product", "order", "notification", "analytics"};
    for (int i = 0; i < UP__COUNT; i++) {
        gw->upstreams[i].name = names[i];
        gw->edge_upstream[i] = -1;
    }
    int product_port = product.port;
    if (product_down) { /* a port nobody listens on */
        int fd = listen_any(&product_port);
        close(fd);
    }
    snprintf(f->product_url, sizeof(f->product_url), "http://127.0.0.1:%d", product_port);
    gw->upstreams[UP_PRODUCT].base_url = f->product_url;
    gw->edge_upstream[UP_PRODUCT] = 0;
    gw->edge_internal = 1;
    souk_jwt_verifier_config_t vc = {.issuer = "souk-auth", .audience = "souk"};
    assert_int_equal(souk_jwt_verifier_new(&vc, &gw->verifier), SOUK_OK);
    gw_graphql_config_t gc = {0};
    assert_int_equal(gw_graphql_new(gw, f->metrics, &gc, &gw->graphql), SOUK_OK);
    souk_edge_upstream_t ups[] = {{"product", "127.0.0.1", product_port, false},
                                  {"gateway", "127.0.0.1", internal.port, true}};
    souk_edge_config_t cfg = {.service = "gateway",
                              .threads = 1,
                              .upstreams = ups,
                              .nupstreams = 2,
                              .handler = gw_edge_handler,
                              .handler_ud = gw,
                              .metrics = f->metrics,
                              .upstream_requests = gw->upstream_requests,
                              .upstream_seconds = gw->upstream_seconds};
    assert_int_equal(souk_edge_start(&cfg, &gw->edge), SOUK_OK);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return start(state, false);
}

static int setup_down(void **state)
{
    return start(state, true);
}

static int teardown(void **state)
{
    fx_t *f = *state;
    souk_edge_stop(f->gw.edge);
    gw_graphql_free(f->gw.graphql);
    souk_jwt_verifier_free(f->gw.verifier);
    souk_router_free(f->gw.rules);
    souk_metrics_free(f->metrics);
    up_stop(&product);
    up_stop(&internal);
    souk_free(f);
    return 0;
}

/* ---- a client ---------------------------------------------------------------------------------
 */

typedef struct {
    int status;
    char head[4096];
    char body[16384];
} resp_t;

static int dial(fx_t *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)souk_edge_port(f->gw.edge)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Sends request (Connection: close) and reads the response to the end. */
static void roundtrip(fx_t *f, const char *request, resp_t *r)
{
    int fd = dial(f);
    static char in[32768];
    size_t len = 0;
    assert_true(send_all(fd, request, strlen(request)));
    struct pollfd p = {fd, POLLIN, 0};
    while (len < sizeof(in) - 1 && poll(&p, 1, 10000) > 0) {
        ssize_t k = recv(fd, in + len, sizeof(in) - 1 - len, 0);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    close(fd);
    in[len] = '\0';
    char *end = strstr(in, "\r\n\r\n");
    assert_non_null(end);
    memset(r, 0, sizeof(*r));
    snprintf(r->head, sizeof(r->head), "%.*s", (int)(end + 4 - in), in);
    snprintf(r->body, sizeof(r->body), "%.16000s", end + 4);
    r->status = (int)strtol(in + 9, NULL, 10);
}

static void post(fx_t *f, const char *headers, const char *body, resp_t *r)
{
    char req[8192];
    snprintf(req, sizeof(req),
             "POST /graphql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%sContent-Length: %zu"
             "\r\n\r\n%s",
             headers, strlen(body), body);
    roundtrip(f, req, r);
}

static const char *header_value(const resp_t *r, const char *name, char *out, size_t cap)
{
    char want[64];
    snprintf(want, sizeof(want), "\r\n%s: ", name);
    const char *h = strcasestr(r->head, want);
    if (!h)
        return NULL;
    h += strlen(want);
    snprintf(out, cap, "%.*s", (int)strcspn(h, "\r"), h);
    return out;
}

static bool metrics_have(fx_t *f, const char *sample)
{
    souk_buf_t out;
    souk_buf_init(&out, 1 << 22);
    assert_int_equal(souk_metrics_render(f->metrics, &out), SOUK_OK);
    bool found = strstr(out.data, sample) != NULL;
    souk_buf_cleanup(&out);
    return found;
}

#define PRODUCT_QUERY                                                                              \
    "{\"query\":\"query ProductById($id: ID!) { product(id: $id) { id name priceCents stock } "    \
    "}\","                                                                                         \
    "\"variables\":{\"id\":\"" P1 "\"}}"
#define PRODUCT_DATA                                                                               \
    "{\"data\":{\"product\":{\"id\":\"" P1 "\",\"name\":\"Cup\",\"priceCents\":1999,\"stock\":3}}" \
    "}"

/* ---- tests -------------------------------------------------------------------------------------
 */

/* One sub-request to product-service, with the request's id, trace and
 * client; the answer in GraphQL's shape; counted under "/graphql". */
static void test_product_by_id(void **state)
{
    fx_t *f = *state;
    resp_t r;
    post(f,
         "Content-Type: application/json\r\nX-Request-Id: gql-rid-1\r\n"
         "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n",
         PRODUCT_QUERY, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, PRODUCT_DATA);
    char v[128];
    assert_string_equal(header_value(&r, "Cache-Control", v, sizeof(v)), "no-store");
    assert_string_equal(header_value(&r, "Content-Type", v, sizeof(v)), "application/json");
    assert_int_equal(atomic_load(&product.requests), 1);
    assert_int_equal(atomic_load(&internal.requests), 0); /* no hop */
    pthread_mutex_lock(&product.lock);
    assert_non_null(strstr(product.last, "GET /products/" P1 " HTTP/1.1\r\n"));
    assert_non_null(strstr(product.last, "X-Request-Id: gql-rid-1\r\n"));
    assert_non_null(strstr(product.last, "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert_non_null(strstr(product.last, "X-Forwarded-For: 127.0.0.1\r\n"));
    assert_non_null(strstr(product.last, "Accept: application/json\r\n"));
    assert_null(strstr(product.last, "Authorization"));
    pthread_mutex_unlock(&product.lock);
    assert_true(metrics_have(f, "http_requests_total{service=\"gateway\",method=\"POST\","
                                "route=\"/graphql\",status=\"200\"} 1"));
    assert_true(metrics_have(f, "gateway_upstream_requests_total{upstream=\"product\","
                                "outcome=\"ok\"} 1"));
    assert_true(metrics_have(f, "graphql_operations_total{type=\"query\",name=\"OTHER\","
                                "outcome=\"ok\"} 1"));
    assert_true(
        metrics_have(f, "graphql_resolver_calls_total{field=\"Product\",outcome=\"ok\"} 1"));
    /* a second request: the pooled connection, the same answer */
    post(f, "Content-Type: application/json\r\n", PRODUCT_QUERY, &r);
    assert_string_equal(r.body, PRODUCT_DATA);
}

/* GET with the document in the query string; without one, GraphiQL's
 * request goes to the internal server. */
static void test_get(void **state)
{
    fx_t *f = *state;
    resp_t r;
    roundtrip(f,
              "GET /graphql?query=query%20Q(%24id%3A%20ID!)%20%7B%20product(id%3A%20%24id)%20%7B%20"
              "id%20name%20priceCents%20stock%20%7D%20%7D&variables=%7B%22id%22%3A%22" P1
              "%22%7D&operationName=Q HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
              &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, PRODUCT_DATA);
    char v[64];
    assert_string_equal(header_value(&r, "Vary", v, sizeof(v)), "Accept");
    roundtrip(f,
              "GET /graphql?query=mutation%20%7B%20deleteProduct(id%3A%20%22" P1
              "%22)%20%7D HTTP/1.1\r\nConnection: close\r\n\r\n",
              &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(header_value(&r, "Allow", v, sizeof(v)), "POST");
    roundtrip(f, "GET /graphql?query=%FF HTTP/1.1\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_int_equal(atomic_load(&product.requests), 1);
    roundtrip(f, "GET /graphql HTTP/1.1\r\nAccept: text/html\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "\"internal\"");
    roundtrip(f, "GET /graphql/schema.graphql HTTP/1.1\r\nConnection: close\r\n\r\n", &r);
    assert_string_equal(r.body, "\"internal\"");
    assert_int_equal(atomic_load(&internal.requests), 2);
}

/* The envelope's refusals, before any call. */
static void test_refusals(void **state)
{
    fx_t *f = *state;
    resp_t r;
    post(f, "Content-Type: application/graphql\r\n", "{ __typename }", &r);
    assert_int_equal(r.status, 415);
    assert_non_null(strstr(r.head, "application/problem+json"));
    post(f, "Content-Type: application/json\r\n", "[1]", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "\"BAD_REQUEST\""));
    assert_null(strstr(r.body, "\"data\""));
    post(f, "Content-Type: application/json\r\n", "{\"query\": \"{ nope }\"}", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "GRAPHQL_VALIDATION_FAILED"));
    post(f, "Content-Type: application/json\r\n", "{\"query\": \"{ __typename }\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"data\":{\"__typename\":\"Query\"}}");
    roundtrip(f, "PUT /graphql HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    char v[64];
    assert_string_equal(header_value(&r, "Allow", v, sizeof(v)), "GET, HEAD, POST");
    assert_int_equal(atomic_load(&product.requests), 0);
    assert_int_equal(atomic_load(&internal.requests), 0);
}

/* product-service refuses connections: the field fails, the rest is a 200. */
static void test_product_service_down(void **state)
{
    fx_t *f = *state;
    resp_t r;
    post(f, "Content-Type: application/json\r\n",
         "{\"query\":\"{ __typename product(id: \\\"" P1 "\\\") { name } }\"}", &r);
    assert_int_equal(r.status, 200);
    json_t *body = json_loads(r.body, 0, NULL);
    assert_non_null(body);
    assert_true(json_is_null(json_object_get(json_object_get(body, "data"), "product")));
    json_t *e = json_array_get(json_object_get(body, "errors"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "the product service is unavailable");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e, "extensions"), "code")), "INTERNAL");
    json_decref(body);
    assert_true(metrics_have(f, "gateway_upstream_requests_total{upstream=\"product\","
                                "outcome=\"refused\"} 1"));
}

/* The client resets its connection while the call is out: the execution is
 * cancelled with its call (nothing counted as done, nothing leaked), and
 * the edge serves the next request. */
static void test_client_gone(void **state)
{
    fx_t *f = *state;
    int fd = dial(f);
    char req[1024];
    const char *body = "{\"query\":\"{ product(id: \\\"" SLOW "\\\") { name } }\"}";
    snprintf(req, sizeof(req),
             "POST /graphql HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: %zu"
             "\r\n\r\n%s",
             strlen(body), body);
    assert_true(send_all(fd, req, strlen(req)));
    uint64_t until = souk_now_mono_ns() + 3000000000ull;
    while (atomic_load(&product.requests) < 1 && souk_now_mono_ns() < until)
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    assert_int_equal(atomic_load(&product.requests), 1);
    assert_true(metrics_have(f, "http_requests_in_flight{service=\"gateway\"} 1"));
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    /* ended at once, not when the answer comes a second later */
    until = souk_now_mono_ns() + 500000000ull;
    while (!metrics_have(f, "http_requests_in_flight{service=\"gateway\"} 0") &&
           souk_now_mono_ns() < until)
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    assert_true(metrics_have(f, "http_requests_in_flight{service=\"gateway\"} 0"));
    resp_t r;
    post(f, "Content-Type: application/json\r\n", PRODUCT_QUERY, &r);
    assert_string_equal(r.body, PRODUCT_DATA);
    assert_false(metrics_have(f, "outcome=\"errors\""));
    assert_true(metrics_have(f, "graphql_operations_total{type=\"query\",name=\"OTHER\","
                                "outcome=\"ok\"} 1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_product_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_product_service_down, setup_down, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
