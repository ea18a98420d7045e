/* Unit tests of libs/http: validation helpers without a server, then the
 * middleware chain through a real server on a loopback port, driven by the
 * library's own client. */
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
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <souk/http.h>

#include "../src/http_int.h"

static json_t *load(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_valid_fields(void **state)
{
    json_t *o = load("{\"name\":\"Zoë\",\"n\":5,\"big\":1e3,\"s\":7,\"b\":true,\"x\":1,"
                     "\"empty\":\"\",\"nul\":null}");
    souk_valid_t v;
    souk_valid_init(&v);
    const char *s = NULL;
    long long n = 0;
    bool b = false;
    assert_true(souk_valid_string(&v, o, "name", SOUK_FIELD_REQUIRED, 1, 3, &s));
    assert_string_equal(s, "Zoë"); /* 3 code points, 4 bytes */
    assert_true(souk_valid_integer(&v, o, "n", SOUK_FIELD_REQUIRED, 0, 10, &n));
    assert_int_equal(n, 5);
    assert_true(souk_valid_boolean(&v, o, "b", 0, &b));
    assert_true(b);
    assert_true(souk_valid_ok(&v));
    assert_false(souk_valid_string(&v, o, "missing", SOUK_FIELD_OPTIONAL, 0, 9, &s));
    assert_true(souk_valid_ok(&v)); /* optional and absent is fine */
    assert_false(souk_valid_string(&v, o, "nul", SOUK_FIELD_NULLABLE, 0, 9, &s));
    assert_true(souk_valid_ok(&v));

    assert_false(souk_valid_string(&v, o, "s", 0, 0, 9, &s));        /* wrong type */
    assert_false(souk_valid_integer(&v, o, "big", 0, 0, 10000, &n)); /* real, not int */
    assert_false(souk_valid_integer(&v, o, "n", 0, 6, 10, &n));      /* out of range */
    assert_false(souk_valid_string(&v, o, "empty", 0, 1, 9, &s));    /* too short */
    assert_false(souk_valid_string(&v, o, "gone", SOUK_FIELD_REQUIRED, 1, 9, &s));
    assert_false(souk_valid_boolean(&v, o, "x", 0, &b));
    souk_valid_known(&v, o,
                     (const char *const[]){"name", "n", "big", "s", "b", "empty", "nul", NULL});
    static const char *const want[] = {"s", "big", "n", "empty", "gone", "x", "x"};
    assert_int_equal(json_array_size(v.errors), SOUK_ARRAY_LEN(want));
    for (size_t i = 0; i < SOUK_ARRAY_LEN(want); i++) {
        json_t *e = json_array_get(v.errors, i);
        assert_string_equal(json_string_value(json_object_get(e, "field")), want[i]);
        assert_true(json_is_string(json_object_get(e, "message")));
    }
    souk_valid_cleanup(&v);
    json_decref(o);
}

static void test_error_with_long_unicode_input(void **state)
{
    /* a message quoting input is cut at 255 bytes, possibly mid-character */
    char key[401];
    for (int i = 0; i < 200; i++)
        memcpy(key + 2 * i, "\xc3\xa9", 2);
    key[400] = '\0';
    souk_valid_t v;
    souk_valid_init(&v);
    souk_valid_error(&v, "items[0]", "has an unknown field \"%s\"", key);
    assert_int_equal(json_array_size(v.errors), 1);
    const char *msg = json_string_value(json_object_get(json_array_get(v.errors, 0), "message"));
    assert_non_null(msg);
    assert_true(souk_utf8_valid(msg, strlen(msg)));
    souk_valid_cleanup(&v);
}

static void test_status_titles(void **state)
{
    assert_string_equal(souk_http_status_title(404), "Not Found");
    assert_string_equal(souk_http_status_title(413), "Content Too Large");
    assert_string_equal(souk_http_status_title(299), "Error");
}

/* The one problem builder: the shape both HTTP engines send. */
static void test_problem_body(void **state)
{
    json_t *errs = json_pack("[{s:s, s:s}]", "field", "email", "message", "bad");
    json_t *p = souk_http_problem_body(400, "nope", "/things/1", "rid-1", errs);
    char *text = json_dumps(p, JSON_COMPACT);
    assert_string_equal(text, "{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400,"
                              "\"detail\":\"nope\",\"instance\":\"/things/1\","
                              "\"request_id\":\"rid-1\",\"errors\":[{\"field\":\"email\","
                              "\"message\":\"bad\"}]}");
    free(text);
    json_decref(p);
    /* defaults, and a path that is not UTF-8 (client input) still gives a body */
    p = souk_http_problem_body(503, NULL, "/x\xff", NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(p, "detail")), "Service Unavailable");
    assert_string_equal(json_string_value(json_object_get(p, "instance")), "/");
    assert_string_equal(json_string_value(json_object_get(p, "request_id")), "");
    assert_null(json_object_get(p, "errors"));
    json_decref(p);
}

static void test_request_rules(void **state)
{
    assert_string_equal(souk_http_method_label("PATCH", 5), "PATCH");
    assert_string_equal(souk_http_method_label("GETX", 3), "GET");
    assert_string_equal(souk_http_method_label("GETX", 4), SOUK_METRIC_OTHER);
    assert_string_equal(souk_http_method_label("get", 3), SOUK_METRIC_OTHER);
    assert_string_equal(souk_http_method_label("", 0), SOUK_METRIC_OTHER);
    assert_true(souk_http_request_id_ok("a-b_c.d:9", 9));
    assert_false(souk_http_request_id_ok("", 0));
    assert_false(souk_http_request_id_ok("a b", 3));
    char long_id[130];
    memset(long_id, 'a', sizeof(long_id));
    assert_true(souk_http_request_id_ok(long_id, 128));
    assert_false(souk_http_request_id_ok(long_id, 129));
    assert_true(souk_http_content_type_json("application/json"));
    assert_true(souk_http_content_type_json("Application/JSON; charset=utf-8"));
    assert_true(souk_http_content_type_json("application/merge-patch+json"));
    assert_false(souk_http_content_type_json("text/json+json"));
    assert_false(souk_http_content_type_json("text/plain"));
    assert_false(souk_http_content_type_json(NULL));

    souk_arena_t *a = souk_arena_new();
    assert_string_equal(souk_http_request_id("abc-1", a), "abc-1");
    const char *made = souk_http_request_id("a b", a), *made2 = souk_http_request_id(NULL, a);
    assert_true(souk_uuid_valid(made, strlen(made)));
    assert_true(souk_uuid_valid(made2, strlen(made2)));
    assert_string_not_equal(made, made2);
    souk_arena_free(a);

    souk_buf_t b;
    souk_buf_init(&b, 256);
    assert_int_equal(souk_http_url_encode(&b, "a-Z.0_~ &=/?\xc3\xa9"), SOUK_OK);
    assert_string_equal(b.data, "a-Z.0_~%20%26%3D%2F%3F%C3%A9");
    souk_buf_cleanup(&b);
}

static void test_router_table(void **state)
{
    souk_router_t *r = souk_router_new();
    int admin_users, users, user, any_orders, cancel;
    souk_router_add(r, "GET", "/users", &admin_users);
    souk_router_add(r, NULL, "/users", &users);
    souk_router_add(r, "GET", "/users/:id", &user);
    souk_router_add(r, NULL, "/orders/:id", &any_orders);
    souk_router_add(r, "POST", "/orders/:id/cancel", &cancel);
    static const struct {
        const char *method, *path;
        int want; /* index into the targets below, -1 for no match */
        bool known;
        const char *param;
    } cases[] = {
        {"GET", "/users", 0, false, NULL},  /* first match wins */
        {"POST", "/users", 1, false, NULL}, /* any method */
        {"GET", "/users/", 0, false, NULL}, /* one trailing slash */
        {"GET", "/users/7", 2, false, "7"},          {"HEAD", "/users/7", 2, false, "7"},
        {"PATCH", "/users/7", -1, true, NULL},       {"GET", "/users//", -1, false, NULL},
        {"GET", "/users/7/x", -1, false, NULL},      {"GET", "//users", -1, false, NULL},
        {"PUT", "/orders/9", 3, false, "9"},         {"GET", "/orders/9/cancel", -1, true, NULL},
        {"POST", "/orders/9/cancel", 4, false, "9"},
    };
    void *targets[] = {&admin_users, &users, &user, &any_orders, &cancel};
    souk_arena_t *a = souk_arena_new();
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        souk_route_match_t m;
        bool hit = souk_router_match(r, cases[i].method, cases[i].path, a, &m);
        assert_int_equal(hit, cases[i].want >= 0);
        if (hit) {
            assert_ptr_equal(m.data, targets[cases[i].want]);
            if (cases[i].param)
                assert_string_equal(m.values[0], cases[i].param);
        } else {
            assert_int_equal(m.path_known, cases[i].known);
        }
    }
    souk_route_match_t m;
    assert_false(souk_router_match(r, "DELETE", "/users/1", a, &m));
    assert_string_equal(m.allow, "GET, HEAD");
    souk_arena_free(a);
    souk_router_free(r);
}

static void client_of(souk_http_server_t *srv, const char *peer, const char *xff, char *out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, peer, &sa.sin_addr), 1);
    souk_http__client_address(srv, (struct sockaddr *)&sa, xff, out);
}

/* X-Forwarded-For counts only through trusted proxies, read from the right. */
static void test_client_address(void **state)
{
    souk_http_server_t srv = {0};
    assert_int_equal(souk_http__proxies_parse(&srv, "127.0.0.1, 10.0.0.0/8,::1"), SOUK_OK);
    assert_int_equal(srv.nproxies, 3);
    static const struct {
        const char *peer, *xff, *want;
    } cases[] = {
        {"203.0.113.9", "1.2.3.4", "203.0.113.9"},       /* untrusted peer */
        {"127.0.0.1", NULL, "127.0.0.1"},                /* no header */
        {"127.0.0.1", "1.2.3.4", "1.2.3.4"},             /* one proxy */
        {"127.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"},    /* spoofed left part */
        {"127.0.0.1", "1.2.3.4, 10.1.2.3", "1.2.3.4"},   /* two trusted hops */
        {"127.0.0.1", "10.9.9.9, 10.1.2.3", "10.9.9.9"}, /* all trusted */
        {"127.0.0.1", "1.2.3.4,not-an-ip", "127.0.0.1"}, /* garbage stops the walk */
        {"127.0.0.1", " 2001:db8::1 ", "2001:db8::1"},   /* IPv6, blanks */
        {"10.0.0.5", "198.51.100.7", "198.51.100.7"},    /* CIDR block */
        {"11.0.0.5", "198.51.100.7", "11.0.0.5"},        /* outside it */
    };
    char out[INET6_ADDRSTRLEN];
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        client_of(&srv, cases[i].peer, cases[i].xff, out);
        assert_string_equal(out, cases[i].want);
    }
    static const char *const bad[] = {"1.2.3", "10.0.0.0/33", "::1/129", "x", "1.2.3.4/"};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(bad); i++)
        assert_int_equal(souk_http__proxies_parse(&srv, bad[i]), SOUK_EINVAL);
}

/* ---- through a real server ------------------------------------------------ */

typedef struct {
    souk_metrics_t *metrics;
    souk_http_server_t *srv;
    souk_http_client_t *client;
    char base[64];
    bool ready;
} fixture_t;

static void echo(souk_http_ctx_t *ctx, void *ud)
{
    json_t *body = souk_http_body_object(ctx);
    if (!body)
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    const char *name;
    souk_valid_string(&v, body, "name", SOUK_FIELD_REQUIRED, 1, 10, &name);
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
    } else {
        souk_http_reply_json(
            ctx, 201, json_pack("{s:s, s:s}", "id", souk_http_param(ctx, "id"), "name", name));
    }
    souk_valid_cleanup(&v);
}

static void list(souk_http_ctx_t *ctx, void *ud)
{
    souk_valid_t v;
    souk_valid_init(&v);
    souk_page_t p;
    if (!souk_http_page(ctx, &v, &p))
        souk_valid_reply(ctx, &v);
    else
        souk_http_reply_json(ctx, 200, souk_http_page_body(json_array(), &p, 0));
    souk_valid_cleanup(&v);
}

static void removed(souk_http_ctx_t *ctx, void *ud)
{
    souk_http_reply_empty(ctx, 204);
}

static void forgetful(souk_http_ctx_t *ctx, void *ud)
{
    /* returns without replying: the middleware must answer 500 */
}

/* An upstream far slower than the caller's timeout. */
static void stall(souk_http_ctx_t *ctx, void *ud)
{
    nanosleep(&(struct timespec){1, 0}, NULL);
    souk_http_reply_json(ctx, 200, json_object());
}

static bool ready(void *ud)
{
    return ((fixture_t *)ud)->ready;
}

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

static int setup(void **state)
{
    fixture_t *f = souk_calloc(1, sizeof(*f));
    f->metrics = souk_metrics_new();
    int port = free_port();
    souk_http_config_t cfg = {
        .service = "test", .port = port, .body_limit = 1024, .metrics = f->metrics};
    assert_int_equal(souk_http_server_new(&cfg, &f->srv), SOUK_OK);
    souk_http_route(f->srv, "POST", "/things/:id", echo, NULL);
    souk_http_route(f->srv, "GET", "/things", list, NULL);
    souk_http_route(f->srv, "GET", "/forgetful", forgetful, NULL);
    souk_http_route(f->srv, "DELETE", "/things/:id", removed, NULL);
    souk_http_route(f->srv, "GET", "/stall", stall, NULL);
    souk_http_set_ready(f->srv, ready, f);
    assert_int_equal(souk_http_server_start(f->srv), SOUK_OK);
    f->client = souk_http_client_new();
    snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%d", port);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    souk_http_server_free(f->srv);
    souk_http_client_free(f->client);
    souk_metrics_free(f->metrics);
    souk_free(f);
    return 0;
}

typedef struct {
    long status;
    json_t *body;
    char content_type[128];
    char request_id[160];
    char header[256];
} result_t;

static void call(fixture_t *f, const char *method, const char *path, const char *ctype,
                 const char *body, size_t body_len, const char *want_header, result_t *r)
{
    char url[256], ct[160];
    snprintf(url, sizeof(url), "%s%s", f->base, path);
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
    const char *headers[] = {ct, "X-Request-Id: req-123", NULL};
    souk_http_request_t req = {
        .method = method, .url = url, .headers = headers, .body = body, .body_len = body_len};
    souk_http_response_t resp;
    assert_int_equal(souk_http_fetch(f->client, &req, &resp), SOUK_OK);
    memset(r, 0, sizeof(*r));
    r->status = resp.status;
    r->body = resp.body.len ? json_loadb(resp.body.data, resp.body.len, 0, NULL) : NULL;
    souk_http_response_header(&resp, "Content-Type", r->content_type, sizeof(r->content_type));
    souk_http_response_header(&resp, "X-Request-Id", r->request_id, sizeof(r->request_id));
    if (want_header)
        souk_http_response_header(&resp, want_header, r->header, sizeof(r->header));
    souk_http_response_cleanup(&resp);
}

static void assert_problem(const result_t *r, long status)
{
    assert_int_equal(r->status, status);
    assert_string_equal(r->content_type, "application/problem+json");
    assert_non_null(r->body);
    assert_int_equal(json_integer_value(json_object_get(r->body, "status")), status);
    assert_string_equal(json_string_value(json_object_get(r->body, "type")), "about:blank");
    assert_true(json_is_string(json_object_get(r->body, "title")));
    assert_true(json_is_string(json_object_get(r->body, "detail")));
    assert_true(json_is_string(json_object_get(r->body, "instance")));
    assert_string_equal(json_string_value(json_object_get(r->body, "request_id")), "req-123");
    assert_string_equal(r->request_id, "req-123");
}

static void test_server_happy_path(void **state)
{
    fixture_t *f = *state;
    result_t r;
    const char *body = "{\"name\":\"bob\"}";
    call(f, "POST", "/things/42", NULL, body, strlen(body), NULL, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(json_string_value(json_object_get(r.body, "id")), "42");
    assert_string_equal(json_string_value(json_object_get(r.body, "name")), "bob");
    json_decref(r.body);

    call(f, "DELETE", "/things/7", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 204);
    assert_null(r.body);

    call(f, "GET", "/things?page=2&limit=5", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.body, "page")), 2);
    assert_int_equal(json_integer_value(json_object_get(r.body, "limit")), 5);
    json_decref(r.body);
}

static void test_server_errors(void **state)
{
    fixture_t *f = *state;
    result_t r;
    call(f, "GET", "/nope", NULL, NULL, 0, NULL, &r);
    assert_problem(&r, 404);
    json_decref(r.body);

    call(f, "DELETE", "/things", NULL, NULL, 0, "Allow", &r);
    assert_problem(&r, 405);
    assert_string_equal(r.header, "GET, HEAD");
    json_decref(r.body);

    call(f, "POST", "/things/1", NULL, "{\"name\":", 8, NULL, &r);
    assert_problem(&r, 400);
    json_decref(r.body);

    call(f, "POST", "/things/1", NULL, "[1,2]", 5, NULL, &r);
    assert_problem(&r, 400);
    json_decref(r.body);

    call(f, "POST", "/things/1", NULL, "{\"name\":7,\"name\":8}", 19, NULL, &r);
    assert_problem(&r, 400); /* duplicate keys are refused */
    json_decref(r.body);

    call(f, "POST", "/things/1", NULL, "{\"name\":7}", 10, NULL, &r);
    assert_problem(&r, 400);
    json_t *e = json_array_get(json_object_get(r.body, "errors"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "field")), "name");
    json_decref(r.body);

    call(f, "POST", "/things/1", "text/plain", "name=bob", 8, NULL, &r);
    assert_problem(&r, 415);
    json_decref(r.body);

    char big[2048];
    memset(big, ' ', sizeof(big));
    big[0] = '{';
    big[sizeof(big) - 1] = '}';
    call(f, "POST", "/things/1", NULL, big, sizeof(big), NULL, &r);
    assert_problem(&r, 413);
    json_decref(r.body);

    static const char *const bad_queries[] = {"/things?limit=1%00", "/things?q=%ff",
                                              "/things?q=%c3"};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(bad_queries); i++) {
        call(f, "GET", bad_queries[i], NULL, NULL, 0, NULL, &r);
        assert_problem(&r, 400);
        json_decref(r.body);
    }
    call(f, "GET", "/things?q=%C3%A9t%C3%A9+x", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    json_decref(r.body);

    call(f, "GET", "/things?limit=101", NULL, NULL, 0, NULL, &r);
    assert_problem(&r, 400);
    json_decref(r.body);
    call(f, "GET", "/things?page=-1", NULL, NULL, 0, NULL, &r);
    assert_problem(&r, 400);
    json_decref(r.body);

    call(f, "GET", "/forgetful", NULL, NULL, 0, NULL, &r);
    assert_problem(&r, 500);
    json_decref(r.body);
}

static int port_of(const char *base)
{
    long port = 0;
    const char *colon = strrchr(base, ':');
    assert_int_equal(souk_parse_long(colon + 1, strlen(colon + 1), 1, 65535, &port), SOUK_OK);
    return (int)port;
}

/* Sends raw request bytes and returns the status code of the answer. */
static int raw_status(fixture_t *f, const char *request)
{
    int port = port_of(f->base);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    size_t len = strlen(request);
    assert_int_equal(write(fd, request, len), (ssize_t)len);
    char buf[512] = {0};
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    int status = 0;
    if (n > 12)
        sscanf(buf, "HTTP/1.%*d %d", &status);
    return status;
}

static void test_server_framing_and_methods(void **state)
{
    fixture_t *f = *state;
    /* Both framings: the request is refused, not guessed at. */
    assert_int_equal(raw_status(f, "POST /things/1 HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Type: application/json\r\nContent-Length: 4\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n"
                                   "e\r\n{\"name\":\"bob\"}\r\n0\r\n\r\n"),
                     400);
    /* Invented methods: 501, and they mint no metric series. */
    char req[128];
    for (int i = 0; i < 50; i++) {
        snprintf(req, sizeof(req), "INVENT%d /things HTTP/1.1\r\nHost: x\r\n\r\n", i);
        assert_int_equal(raw_status(f, req), 501);
    }
    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", f->base);
    souk_http_request_t mreq = {.url = url};
    souk_http_response_t resp;
    assert_int_equal(souk_http_fetch(f->client, &mreq, &resp), SOUK_OK);
    assert_int_equal(resp.status, 200);
    assert_null(strstr(resp.body.data, "INVENT"));
    assert_non_null(strstr(resp.body.data, "method=\"OTHER\",route=\"method_not_implemented\","
                                           "status=\"501\"} 50"));
    souk_http_response_cleanup(&resp);
}

static void test_server_probes_and_metrics(void **state)
{
    fixture_t *f = *state;
    result_t r;
    call(f, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    json_decref(r.body);
    f->ready = false;
    call(f, "GET", "/readyz", NULL, NULL, 0, NULL, &r);
    assert_problem(&r, 503);
    json_decref(r.body);
    f->ready = true;
    call(f, "GET", "/readyz", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    json_decref(r.body);

    char url[128];
    snprintf(url, sizeof(url), "%s/metrics", f->base);
    souk_http_request_t req = {.url = url};
    souk_http_response_t resp;
    assert_int_equal(souk_http_fetch(f->client, &req, &resp), SOUK_OK);
    assert_int_equal(resp.status, 200);
    /* routes are labelled by template, never by raw path */
    assert_non_null(strstr(resp.body.data, "http_requests_total{service=\"test\",method=\"GET\","
                                           "route=\"/readyz\",status=\"503\"} 1"));
    assert_null(strstr(resp.body.data, "route=\"/nope\""));
    souk_http_response_cleanup(&resp);
}

/* Port 0 binds an ephemeral port and the server reports it. */
static void test_server_ephemeral_port(void **state)
{
    souk_metrics_t *m = souk_metrics_new();
    souk_http_config_t cfg = {.service = "eph", .port = 0, .threads = 2, .metrics = m};
    souk_http_server_t *srv;
    assert_int_equal(souk_http_server_new(&cfg, &srv), SOUK_OK);
    assert_int_equal(souk_http_server_port(srv), 0);
    assert_int_equal(souk_http_server_start(srv), SOUK_OK);
    int port = souk_http_server_port(srv);
    assert_true(port > 0 && port <= 65535);
    souk_http_client_t *c = souk_http_client_new();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
    souk_http_request_t req = {.url = url};
    souk_http_response_t resp;
    assert_int_equal(souk_http_fetch(c, &req, &resp), SOUK_OK);
    assert_int_equal(resp.status, 200);
    souk_http_response_cleanup(&resp);
    souk_http_client_free(c);
    souk_http_server_free(srv);
    souk_metrics_free(m);
}

/* A bare HTTP/1.1 server that answers nothing until it holds `want`
 * requests at once (or 5 s passed), then answers each with its path: a
 * client that sends them one after the other leaves it holding one. */
typedef struct {
    int fd, want, held;
} gather_t;

static void *gather_main(void *arg)
{
    gather_t *g = arg;
    int conns[8];
    for (g->held = 0; g->held < g->want;) {
        struct pollfd p = {.fd = g->fd, .events = POLLIN};
        if (poll(&p, 1, 5000) != 1)
            break;
        int c = accept(g->fd, NULL, NULL);
        char head[1024] = {0}, path[64] = "";
        size_t n = 0;
        while (n < sizeof(head) - 1 && !strstr(head, "\r\n\r\n")) {
            ssize_t r = read(c, head + n, sizeof(head) - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
        }
        sscanf(head, "GET %63s", path);
        conns[g->held++] = c;
        (void)path;
    }
    for (int i = 0; i < g->held; i++) {
        char body[32], out[160];
        snprintf(body, sizeof(body), "{\"n\":%d}", g->held);
        int len = snprintf(out, sizeof(out),
                           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(body), body);
        ssize_t w = write(conns[i], out, (size_t)len);
        (void)w;
        close(conns[i]);
    }
    return NULL;
}

/* Parallel fetches: each gets its own answer and error, and all are in
 * flight at once (the gathering server sees the three together). */
static void test_client_fetch_all(void **state)
{
    fixture_t *f = *state;
    for (int round = 0; round < 2; round++) { /* the second reuses pooled handles */
        gather_t g = {.want = 3};
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);
        g.fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(bind(g.fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(g.fd, 8), 0);
        assert_int_equal(getsockname(g.fd, (struct sockaddr *)&a, &alen), 0);
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, gather_main, &g), 0);

        char urls[5][128];
        souk_http_request_t reqs[5];
        for (int i = 0; i < 3; i++) {
            snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:%d/gather/%d", ntohs(a.sin_port),
                     i);
            reqs[i] = (souk_http_request_t){.url = urls[i]};
        }
        snprintf(urls[3], sizeof(urls[3]), "http://127.0.0.1:%d/", free_port());
        reqs[3] = (souk_http_request_t){.url = urls[3]};
        snprintf(urls[4], sizeof(urls[4]), "%s/stall", f->base);
        reqs[4] = (souk_http_request_t){.url = urls[4], .timeout_ms = 50};
        souk_http_response_t resps[5];
        souk_err_t errs[5];
        souk_http_fetch_all(f->client, reqs, resps, errs, 5);
        pthread_join(t, NULL);
        close(g.fd);
        assert_int_equal(g.held, 3); /* one after the other: 1, then a 5 s wait */
        for (int i = 0; i < 3; i++) {
            assert_int_equal(errs[i], SOUK_OK);
            assert_int_equal(resps[i].status, 200);
            assert_string_equal(resps[i].body.data, "{\"n\":3}");
        }
        assert_int_equal(errs[3], SOUK_EUNAVAIL);
        assert_int_equal(errs[4], SOUK_ETIMEOUT);
        for (int i = 0; i < 5; i++)
            souk_http_response_cleanup(&resps[i]);
    }
    souk_http_response_t none;
    souk_err_t none_err;
    souk_http_fetch_all(f->client, NULL, &none, &none_err, 0);
}

static void test_client_refused(void **state)
{
    souk_http_client_t *c = souk_http_client_new();
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", free_port());
    souk_http_request_t req = {.url = url, .timeout_ms = 2000};
    souk_http_response_t resp;
    assert_int_equal(souk_http_fetch(c, &req, &resp), SOUK_EUNAVAIL);
    souk_http_response_cleanup(&resp);
    souk_http_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_fields),
        cmocka_unit_test(test_status_titles),
        cmocka_unit_test(test_problem_body),
        cmocka_unit_test(test_request_rules),
        cmocka_unit_test(test_server_ephemeral_port),
        cmocka_unit_test_setup_teardown(test_client_fetch_all, setup, teardown),
        cmocka_unit_test(test_error_with_long_unicode_input),
        cmocka_unit_test(test_router_table),
        cmocka_unit_test(test_client_address),
        cmocka_unit_test_setup_teardown(test_server_framing_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_happy_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_probes_and_metrics, setup, teardown),
        cmocka_unit_test(test_client_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
