/* Unit tests of libs/edge against real sockets: an edge with one loop
 * thread in front of a tiny upstream of the test's own (a thread per
 * connection, blocking I/O, behaviour chosen by the request path), driven
 * by raw client sockets: forwarding and header rules, keep-alive,
 * pipelining and pooling, every smuggling defence, limits and timeouts,
 * upstream failures as 502/503/504 problems, the retry of an idempotent
 * request on a pooled connection the upstream closed, backpressure towards
 * a client that does not read, metrics, and the graceful stop; then a
 * handler's deferred replies and sub-requests (what goes out, several in
 * flight at once, chains, every failure as an outcome, the retry on a
 * pooled connection, cancellation by an early reply or by the client going
 * away), and the client's address behind trusted proxies. */
#define _GNU_SOURCE /* memmem, strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
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
#include <souk/edge.h>
#include <souk/http.h>

#define BIG_BODY (24u << 20)

/* ---- the upstream ----------------------------------------------------------- */

typedef struct {
    int lfd, port;
    atomic_int accepted, requests;
    atomic_int delaying, max_delaying; /* /delay requests being served at once */
    atomic_size_t big_sent;
    atomic_bool stop;
    pthread_t thread;
} upstream_t;

static upstream_t up;

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

/* Reads one request (head and Content-Length body) into buf; its length,
 * or 0 when the peer closed. */
static void reply(int fd, const char *body)
{
    char head[256 + (1 << 16)];
    int n =
        snprintf(head, sizeof(head),
                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Up: 1\r\n"
                 "Connection: keep-alive, X-Up-Hop\r\nX-Up-Hop: 1\r\nContent-Length: %zu\r\n\r\n",
                 strlen(body));
    size_t len = strlen(body);
    if ((size_t)n + len < sizeof(head)) { /* one send: no Nagle delay in the tests */
        memcpy(head + n, body, len);
        send_all(fd, head, (size_t)n + len);
    } else {
        send_all(fd, head, (size_t)n);
        send_all(fd, body, len);
    }
}

static void *serve_conn(void *p)
{
    int fd = (int)(intptr_t)p;
    static __thread char buf[1 << 20];
    for (int n = 0;; n++) {
        size_t len = souk_edgetest_read_request(fd, buf, sizeof(buf));
        if (!len)
            break;
        atomic_fetch_add(&up.requests, 1);
        const char *path = strchr(buf, ' ') + 1;
        if (strncmp(path, "/echo", 5) == 0) {
            reply(fd, buf); /* the request as the upstream got it */
        } else if (strncmp(path, "/chunked", 8) == 0) {
            static const char r[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
            send_all(fd, r, sizeof(r) - 1);
        } else if (strncmp(path, "/close", 6) == 0) {
            static const char r[] = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end";
            send_all(fd, r, sizeof(r) - 1);
            break;
        } else if (strncmp(path, "/slow", 5) == 0) {
            nanosleep(&(struct timespec){2, 0}, NULL);
            break;
        } else if (strncmp(path, "/delay", 6) == 0) {
            int now = atomic_fetch_add(&up.delaying, 1) + 1;
            for (int m = atomic_load(&up.max_delaying);
                 now > m && !atomic_compare_exchange_weak(&up.max_delaying, &m, now);)
                ;
            nanosleep(&(struct timespec){0, 300 * 1000000L}, NULL);
            atomic_fetch_sub(&up.delaying, 1);
            reply(fd, "late");
        } else if (strncmp(path, "/garbage", 8) == 0) {
            send_all(fd, "NOT HTTP AT ALL\r\n\r\n", 19);
            break;
        } else if (strncmp(path, "/once", 5) == 0 && n > 0) {
            break; /* closes as the next request arrives: the race of a pooled connection */
        } else if (strncmp(path, "/big", 4) == 0) {
            char head[128];
            int h = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
                             BIG_BODY);
            send_all(fd, head, (size_t)h);
            static char chunk[65536];
            for (size_t sent = 0; sent < BIG_BODY; sent += sizeof(chunk)) {
                if (!send_all(fd, chunk, sizeof(chunk)))
                    break;
                atomic_store(&up.big_sent, sent + sizeof(chunk));
            }
        } else {
            reply(fd, "hello");
        }
    }
    close(fd);
    return NULL;
}

static void *upstream_main(void *p)
{
    for (;;) {
        int fd = accept(up.lfd, NULL, NULL);
        if (fd < 0 || atomic_load(&up.stop)) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        atomic_fetch_add(&up.accepted, 1);
        pthread_t t;
        pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd);
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
    assert_int_equal(listen(fd, 128), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

/* ---- the edge under test ------------------------------------------------------ */

typedef struct {
    souk_metrics_t *metrics;
    souk_metric_t *up_requests, *up_seconds;
    souk_edge_t *edge;
    int refused_port;
} fx_t;

static void sub_handler(souk_edge_req_t *req);

static void handler(souk_edge_req_t *req, void *ud)
{
    souk_edge_set_header(req, "X-Handler", "yes");
    if (strncmp(req->path, "/sub/", 5) == 0) {
        req->route = "/sub";
        sub_handler(req);
    } else if (strcmp(req->path, "/whoami") == 0) {
        souk_edge_reply(req, 200, "text/plain", req->client_ip, strlen(req->client_ip));
    } else if (strcmp(req->path, "/reply") == 0) {
        req->route = "/reply";
        souk_edge_reply(req, 200, "text/plain", req->body ? req->body : "hi",
                        req->body ? req->body_len : 2);
    } else if (strcmp(req->path, "/deny") == 0) {
        souk_edge_problem(req, 401, "no");
    } else if (strcmp(req->path, "/undecided") == 0) {
        /* decides nothing: the engine answers 500 */
    } else if (strncmp(req->path, "/refused", 8) == 0) {
        souk_edge_forward(req, 1);
    } else {
        req->route = "/up";
        souk_edge_forward(req, 0);
    }
}

/* ---- a handler's sub-requests --------------------------------------------------- */

/* What the sub-request handlers share with the tests (the loop thread
 * writes, the test thread reads after a response or polls). */
static atomic_int aborted, late_callbacks;

typedef struct {
    int pending;
    bool answered;
    char text[8][96]; /* one line per sub-request, by index */
    int n;
} subs_t;

typedef struct {
    subs_t *st;
    int i;
} sub_ud_t;

static const char *const outcome_name[] = {"ok", "refused", "timeout", "broken"};

static souk_err_t start_sub(souk_edge_req_t *req, subs_t *st, int i, size_t upstream,
                            const char *method, const char *target, souk_edge_sub_fn done,
                            size_t max_response)
{
    sub_ud_t *ud = souk_arena_alloc(req->arena, sizeof(*ud));
    *ud = (sub_ud_t){st, i};
    static const souk_edge_header_t h[] = {
        {"X-Sub", "1"}, {"Authorization", "Bearer t0k"}, {"Connection", "close"}, {"Host", "evil"}};
    souk_edge_sub_t sub = {.upstream = upstream,
                           .method = method,
                           .target = target,
                           .headers = h,
                           .nheaders = SOUK_ARRAY_LEN(h),
                           .body = strcmp(method, "POST") == 0 ? "{\"a\":1}" : NULL,
                           .body_len = strcmp(method, "POST") == 0 ? 7 : 0,
                           .max_response = max_response,
                           .done = done,
                           .ud = ud};
    souk_err_t err = souk_edge_sub_start(req, &sub);
    if (err == SOUK_OK)
        st->pending++;
    return err;
}

static void reply_lines(souk_edge_req_t *req, subs_t *st)
{
    char out[1024] = "";
    size_t len = 0;
    for (int i = 0; i < st->n; i++)
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s\n", st->text[i]);
    st->answered = true;
    souk_edge_reply(req, 200, "text/plain", out, len);
}

/* Records the outcome; the last one answers with every line. */
static void collect(souk_edge_req_t *req, const souk_edge_sub_result_t *res, void *p)
{
    sub_ud_t *ud = p;
    subs_t *st = ud->st;
    if (st->answered)
        atomic_fetch_add(&late_callbacks, 1);
    snprintf(st->text[ud->i], sizeof(st->text[0]), "%d %s %d %.40s", ud->i,
             outcome_name[res->outcome], res->status, res->body);
    if (--st->pending == 0)
        reply_lines(req, st);
}

/* The first outcome answers at once (the others are cancelled). */
static void first_wins(souk_edge_req_t *req, const souk_edge_sub_result_t *res, void *p)
{
    sub_ud_t *ud = p;
    if (ud->st->answered)
        atomic_fetch_add(&late_callbacks, 1);
    ud->st->n = 1;
    snprintf(ud->st->text[0], sizeof(ud->st->text[0]), "%d %s", ud->i, outcome_name[res->outcome]);
    reply_lines(req, ud->st);
}

/* The sub-request's whole response, as the upstream echoed it. */
static void echo_back(souk_edge_req_t *req, const souk_edge_sub_result_t *res, void *p)
{
    (void)p;
    char x_up[16] = "";
    for (size_t i = 0; i < res->nheaders; i++)
        if (strcasecmp(res->headers[i].name, "X-Up") == 0)
            snprintf(x_up, sizeof(x_up), "%s", res->headers[i].value);
    souk_edge_set_header(req, "X-Sub-Up", x_up);
    souk_edge_reply(req, res->status, "text/plain", res->body, res->body_len);
}

/* A second wave from the first one's callback: GET /once, then method
 * (the query) /once on the connection the first one left in the pool. */
static void chain_second(souk_edge_req_t *req, const souk_edge_sub_result_t *res, void *p)
{
    sub_ud_t *ud = p;
    subs_t *st = ud->st;
    snprintf(st->text[0], sizeof(st->text[0]), "0 %s %d", outcome_name[res->outcome], res->status);
    st->pending--;
    st->n = 2;
    const char *method = req->query ? req->query : "GET";
    if (start_sub(req, st, 1, 0, method, "/once", collect, 0) != SOUK_OK)
        souk_edge_problem(req, 500, "second sub-request refused");
}

static void on_abort(souk_edge_req_t *req, void *ud)
{
    (void)req;
    ((subs_t *)ud)->answered = true;
    atomic_fetch_add(&aborted, 1);
}

static void sub_handler(souk_edge_req_t *req)
{
    const char *what = req->path + 5;
    subs_t *st = souk_arena_alloc(req->arena, sizeof(*st));
    memset(st, 0, sizeof(*st));
    if (strcmp(what, "notdeferred") == 0) {
        souk_err_t err = start_sub(req, st, 0, 0, "GET", "/ok", collect, 0);
        souk_edge_reply(req, 200, "text/plain", souk_strerror(err), strlen(souk_strerror(err)));
        return;
    }
    souk_edge_defer(req, on_abort, st);
    if (strcmp(what, "echo") == 0) {
        sub_ud_t *ud = souk_arena_alloc(req->arena, sizeof(*ud));
        *ud = (sub_ud_t){st, 0};
        static const souk_edge_header_t h[] = {
            {"X-Sub", "1"},
            {"Connection", "close"},
            {"X-Request-Id", "forged"},
            {"Host", "evil"},
            {"Content-Length", "99"},
            {"Transfer-Encoding", "chunked"},
            {"traceparent", "00-11111111111111111111111111111111-2222222222222222-01"}};
        souk_edge_sub_t sub = {.upstream = 0,
                               .method = "POST",
                               .target = "/echo/sub?q=1",
                               .headers = h,
                               .nheaders = SOUK_ARRAY_LEN(h),
                               .body = "{\"a\":1}",
                               .body_len = 7,
                               .done = echo_back};
        assert_int_equal(souk_edge_sub_start(req, &sub), SOUK_OK);
    } else if (strcmp(what, "parallel") == 0) {
        st->n = 5;
        for (int i = 0; i < 5; i++)
            assert_int_equal(start_sub(req, st, i, 0, "GET", "/delay", collect, 0), SOUK_OK);
    } else if (strcmp(what, "failures") == 0) {
        st->n = 4;
        assert_int_equal(start_sub(req, st, 0, 1, "GET", "/x", collect, 0), SOUK_OK);
        assert_int_equal(start_sub(req, st, 1, 0, "GET", "/slow", collect, 0), SOUK_OK);
        assert_int_equal(start_sub(req, st, 2, 0, "GET", "/garbage", collect, 0), SOUK_OK);
        assert_int_equal(start_sub(req, st, 3, 0, "GET", "/big", collect, 1024), SOUK_OK);
    } else if (strcmp(what, "chain") == 0) {
        assert_int_equal(start_sub(req, st, 0, 0, "GET", "/once", chain_second, 0), SOUK_OK);
    } else if (strcmp(what, "early") == 0) {
        assert_int_equal(start_sub(req, st, 0, 0, "GET", "/ok", first_wins, 0), SOUK_OK);
        assert_int_equal(start_sub(req, st, 1, 0, "GET", "/slow", first_wins, 0), SOUK_OK);
    } else if (strcmp(what, "abort") == 0) {
        assert_int_equal(start_sub(req, st, 0, 0, "GET", "/delay", collect, 0), SOUK_OK);
        assert_int_equal(start_sub(req, st, 1, 0, "GET", "/slow", collect, 0), SOUK_OK);
    } else if (strcmp(what, "limits") == 0) {
        souk_edge_header_t bad_name[] = {{"X Bad", "v"}}, bad_value[] = {{"X-Bad", "a\r\nX: b"}};
        souk_edge_sub_t sub = {.method = "GET", .target = "/ok", .done = collect};
        sub.headers = bad_name, sub.nheaders = 1;
        assert_int_equal(souk_edge_sub_start(req, &sub), SOUK_EINVAL);
        sub.headers = bad_value;
        assert_int_equal(souk_edge_sub_start(req, &sub), SOUK_EINVAL);
        sub.nheaders = 0;
        sub.target = "http://elsewhere/ok";
        assert_int_equal(souk_edge_sub_start(req, &sub), SOUK_EINVAL);
        sub.target = "/ok now";
        assert_int_equal(souk_edge_sub_start(req, &sub), SOUK_EINVAL);
        sub.target = "/ok", sub.method = "BREW";
        assert_int_equal(souk_edge_sub_start(req, &sub), SOUK_EINVAL);
        sub.method = "GET", sub.upstream = 7;
        assert_int_equal(souk_edge_sub_start(req, &sub), SOUK_EINVAL);
        for (int i = 0; i < SOUK_EDGE_MAX_SUBS; i++)
            assert_int_equal(start_sub(req, st, 0, 0, "GET", "/ok", collect, 0), SOUK_OK);
        assert_int_equal(start_sub(req, st, 0, 0, "GET", "/ok", collect, 0), SOUK_ELIMIT);
        st->n = 1;
    }
    /* "stuck" and anything else: deferred, waiting on nothing */
}

static int start_fixture(void **state, const char *trusted)
{
    fx_t *f = souk_calloc(1, sizeof(*f));
    /* Connection threads of the last test may still be finishing (they
     * touch only the atomics): reset those one by one, never the memory. */
    atomic_store(&up.accepted, 0);
    atomic_store(&up.requests, 0);
    atomic_store(&up.big_sent, 0);
    atomic_store(&up.delaying, 0);
    atomic_store(&up.max_delaying, 0);
    atomic_store(&up.stop, false);
    up.lfd = listen_any(&up.port);
    pthread_create(&up.thread, NULL, upstream_main, NULL);
    int rfd = listen_any(&f->refused_port);
    close(rfd); /* nobody listens there now */
    f->metrics = souk_metrics_new();
    static const char *const uo[] = {"upstream", "outcome", NULL};
    static const char *const u1[] = {"upstream", NULL};
    f->up_requests = souk_metrics_counter(f->metrics, "up_total", "x", uo);
    f->up_seconds =
        souk_metrics_histogram(f->metrics, "up_seconds", "x", u1, souk_metrics_latency_buckets,
                               souk_metrics_latency_nbuckets);
    souk_edge_upstream_t ups[] = {{"svc", "127.0.0.1", up.port, false},
                                  {"gone", "127.0.0.1", f->refused_port, false}};
    souk_edge_config_t cfg = {.service = "test",
                              .threads = 1,
                              .body_limit = 1024,
                              .url_limit = 256,
                              .header_limit = 1024,
                              .max_headers = 10,
                              .read_timeout_ms = 300,
                              .idle_timeout_ms = 400,
                              .upstream_timeout_ms = 500,
                              .drain_timeout_ms = 3000,
                              .upstreams = ups,
                              .nupstreams = 2,
                              .handler = handler,
                              .metrics = f->metrics,
                              .upstream_requests = f->up_requests,
                              .upstream_seconds = f->up_seconds,
                              .trusted_proxies = trusted};
    atomic_store(&aborted, 0);
    atomic_store(&late_callbacks, 0);
    assert_int_equal(souk_edge_start(&cfg, &f->edge), SOUK_OK);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return start_fixture(state, NULL);
}

/* The edge believes X-Forwarded-For from the loopback and 198.51.100.0/24. */
static int setup_proxies(void **state)
{
    return start_fixture(state, "127.0.0.1, 198.51.100.0/24");
}

static int teardown(void **state)
{
    fx_t *f = *state;
    souk_edge_stop(f->edge);
    atomic_store(&up.stop, true);
    shutdown(up.lfd, SHUT_RDWR);
    close(up.lfd);
    pthread_join(up.thread, NULL);
    souk_metrics_free(f->metrics);
    souk_free(f);
    return 0;
}

/* ---- a raw client ------------------------------------------------------------- */

static int dial(fx_t *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)souk_edge_port(f->edge)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

typedef struct {
    int status;
    char head[4096];
    char body[8192];
    size_t body_len;
    bool closed; /* the server closed after it */
} resp_t;

/* Reads within deadline_ms; 0 when the peer closed, -1 on timeout. */
static ssize_t recv_wait(int fd, char *p, size_t n, int deadline_ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, deadline_ms) <= 0)
        return -1;
    return recv(fd, p, n, 0);
}

typedef struct {
    char data[1 << 16];
    size_t len;
} inbuf_t;

static bool fill(int fd, inbuf_t *in)
{
    ssize_t k = recv_wait(fd, in->data + in->len, sizeof(in->data) - in->len - 1, 5000);
    if (k <= 0)
        return false;
    in->len += (size_t)k;
    in->data[in->len] = '\0';
    return true;
}

static void consume(inbuf_t *in, size_t n)
{
    memmove(in->data, in->data + n, in->len - n);
    in->len -= n;
    in->data[in->len] = '\0';
}

/* One response from in/fd (Content-Length, chunked, or to the close). */
static bool head_request; /* the next response answers a HEAD: no body */

static void read_response(int fd, inbuf_t *in, resp_t *r)
{
    memset(r, 0, sizeof(*r));
    char *end;
    while (!(end = memmem(in->data, in->len, "\r\n\r\n", 4)))
        if (!fill(fd, in))
            fail_msg("no response head (got %zu bytes: %.*s)", in->len, (int)in->len, in->data);
    size_t head = (size_t)(end + 4 - in->data);
    snprintf(r->head, sizeof(r->head), "%.*s", (int)head, in->data);
    r->status = (int)strtol(r->head + 9, NULL, 10);
    consume(in, head);
    char *cl = strcasestr(r->head, "\r\nContent-Length:");
    bool head_only = r->status == 204 || r->status == 304 || head_request;
    head_request = false;
    if (strcasestr(r->head, "\r\nTransfer-Encoding: chunked")) {
        for (;;) {
            char *eol;
            while (!(eol = memmem(in->data, in->len, "\r\n", 2)))
                if (!fill(fd, in))
                    fail_msg("chunk size missing after %s", r->head);
            size_t size = strtoul(in->data, NULL, 16);
            size_t need = (size_t)(eol + 2 - in->data) + size + 2;
            while (in->len < need)
                if (!fill(fd, in))
                    fail_msg("chunk cut short after %s (%zu of %zu)", r->head, in->len, need);
            memcpy(r->body + r->body_len, eol + 2, size);
            r->body_len += size;
            consume(in, need);
            if (size == 0)
                break;
        }
    } else if (cl || head_only) {
        size_t n = head_only ? 0 : strtoul(cl + 17, NULL, 10);
        while (in->len < n)
            if (!fill(fd, in))
                fail_msg("body cut short after %s (%zu of %zu)", r->head, in->len, n);
        memcpy(r->body, in->data, n);
        r->body_len = n;
        consume(in, n);
    } else {
        while (fill(fd, in))
            ;
        memcpy(r->body, in->data, in->len);
        r->body_len = in->len;
        consume(in, in->len);
    }
    r->body[r->body_len] = '\0';
}

/* True when the server closes fd within deadline_ms. */
static bool closes(int fd, int deadline_ms)
{
    char b[256];
    uint64_t until = souk_now_mono_ns() + (uint64_t)deadline_ms * 1000000;
    while (souk_now_mono_ns() < until) {
        ssize_t k = recv_wait(fd, b, sizeof(b), 100);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            return true;
    }
    return false;
}

static void roundtrip(fx_t *f, const char *request, resp_t *r)
{
    int fd = dial(f);
    inbuf_t *in = souk_calloc(1, sizeof(*in));
    assert_true(send_all(fd, request, strlen(request)));
    read_response(fd, in, r);
    souk_free(in);
    close(fd);
}

static void assert_problem(const resp_t *r, int status)
{
    assert_int_equal(r->status, status);
    assert_non_null(strcasestr(r->head, "Content-Type: application/problem+json"));
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    if (!j)
        fail_msg("not JSON: %s", r->body);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "about:blank");
    assert_string_equal(json_string_value(json_object_get(j, "title")),
                        souk_http_status_title(status));
    assert_true(json_is_string(json_object_get(j, "detail")));
    assert_true(json_is_string(json_object_get(j, "instance")));
    const char *rid = json_string_value(json_object_get(j, "request_id"));
    assert_non_null(rid);
    char want[200];
    snprintf(want, sizeof(want), "X-Request-Id: %s\r\n", rid);
    assert_non_null(strstr(r->head, want));
    json_decref(j);
}

/* ---- tests ----------------------------------------------------------------------- */

static void test_forwarding(void **state)
{
    fx_t *f = *state;
    resp_t r;
    roundtrip(f,
              "GET /echo?q=1 HTTP/1.1\r\nHost: edge\r\nX-Custom: kept\r\n"
              "Connection: keep-alive, X-Drop\r\nX-Drop: 1\r\nProxy-Authorization: secret\r\n"
              "X-Request-Id: rid-42\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
              &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "GET /echo?q=1 HTTP/1.1\r\n"));
    char host[64];
    snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\r\n", up.port);
    assert_non_null(strstr(r.body, host));
    assert_non_null(strstr(r.body, "X-Custom: kept\r\n"));
    assert_non_null(strstr(r.body, "X-Request-Id: rid-42\r\n"));
    assert_non_null(strstr(r.body, "X-Forwarded-For: 127.0.0.1\r\n")); /* not the client's */
    assert_non_null(strstr(r.body, "X-Forwarded-Proto: http\r\n"));
    assert_non_null(strstr(r.body, "traceparent: 00-"));
    assert_null(strstr(r.body, "X-Drop"));
    assert_null(strstr(r.body, "Proxy-Authorization"));
    assert_null(strstr(r.body, "6.6.6.6"));
    /* the response: end-to-end headers of the upstream plus the edge's own */
    assert_non_null(strstr(r.head, "X-Up: 1\r\n"));
    assert_null(strstr(r.head, "X-Up-Hop"));
    assert_non_null(strstr(r.head, "X-Handler: yes\r\n"));
    assert_non_null(strstr(r.head, "X-Request-Id: rid-42\r\n"));
    assert_non_null(strstr(r.head, "traceparent: 00-"));

    /* a chunked request body goes up de-chunked, with Content-Length */
    roundtrip(f,
              "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
              &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "Content-Length: 5\r\n\r\nabcde"));
    assert_null(strstr(r.body, "chunked"));
    /* responses: chunked re-chunked, close-delimited chunked for HTTP/1.1 */
    roundtrip(f, "GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "hello world");
    roundtrip(f, "GET /close HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_string_equal(r.body, "until the end");
    head_request = true;
    roundtrip(f, "HEAD /ok HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, 0);
    /* the handler's own replies */
    roundtrip(f, "GET /reply HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_string_equal(r.body, "hi");
    roundtrip(f, "GET /deny HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_problem(&r, 401);
    assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
    roundtrip(f, "GET /undecided HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_problem(&r, 500);
}

static void test_keepalive_pipelining_and_pool(void **state)
{
    fx_t *f = *state;
    int fd = dial(f);
    inbuf_t *in = souk_calloc(1, sizeof(*in));
    resp_t r;
    const char *three = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
                        "POST /reply HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nsecond"
                        "GET /echo/third HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_true(send_all(fd, three, strlen(three)));
    read_response(fd, in, &r);
    assert_string_equal(r.body, "hello");
    read_response(fd, in, &r);
    assert_string_equal(r.body, "second");
    read_response(fd, in, &r);
    assert_non_null(strstr(r.body, "GET /echo/third"));
    for (int i = 0; i < 20; i++) {
        assert_true(send_all(fd, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", 29));
        read_response(fd, in, &r);
        assert_int_equal(r.status, 200);
        assert_null(strcasestr(r.head, "Connection: close"));
    }
    /* one upstream connection served them all, one after the other */
    assert_int_equal(atomic_load(&up.accepted), 1);
    assert_int_equal(atomic_load(&up.requests), 22);
    /* HTTP/1.0 without keep-alive: answered, then closed */
    assert_true(send_all(fd, "GET /ok HTTP/1.0\r\n\r\n", 20));
    read_response(fd, in, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "Connection: close"));
    assert_true(closes(fd, 2000));
    souk_free(in);
    close(fd);
}

/* A keep-alive connection outlives its input buffer many times over, one
 * request after the other and pipelined across the buffer's end. */
static void test_long_keepalive(void **state)
{
    fx_t *f = *state;
    int fd = dial(f);
    inbuf_t *in = souk_calloc(1, sizeof(*in));
    resp_t r;
    /* answered by the handler itself, and forwarded: both paths */
    static const char mine[] = "GET /reply HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 1500; i++) { /* 50 KB of requests through a 16 KB buffer */
        assert_true(send_all(fd, mine, sizeof(mine) - 1));
        read_response(fd, in, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hi");
    }
    static const char one[] = "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 1500; i++) {
        assert_true(send_all(fd, one, sizeof(one) - 1));
        read_response(fd, in, &r);
        assert_int_equal(r.status, 200);
    }
    enum { PIPELINED = 800 };
    char *batch = souk_malloc(PIPELINED * (sizeof(one) - 1));
    for (int i = 0; i < PIPELINED; i++)
        memcpy(batch + i * (sizeof(one) - 1), one, sizeof(one) - 1);
    assert_true(send_all(fd, batch, PIPELINED * (sizeof(one) - 1)));
    for (int i = 0; i < PIPELINED; i++) {
        read_response(fd, in, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "hello");
    }
    souk_free(batch);
    souk_free(in);
    close(fd);
}

static void test_smuggling_and_limits(void **state)
{
    fx_t *f = *state;
    char long_url[400], many[1024], fat[1500];
    memset(long_url, 'a', sizeof(long_url));
    snprintf(long_url, sizeof(long_url), "GET /%0300d HTTP/1.1\r\nHost: x\r\n\r\n", 7);
    int n = snprintf(many, sizeof(many), "GET /ok HTTP/1.1\r\n");
    for (int i = 0; i < 12; i++)
        n += snprintf(many + n, sizeof(many) - (size_t)n, "X-H%d: v\r\n", i);
    snprintf(many + n, sizeof(many) - (size_t)n, "\r\n");
    n = snprintf(fat, sizeof(fat), "GET /ok HTTP/1.1\r\nX-Fat: ");
    memset(fat + n, 'f', 1100);
    snprintf(fat + n + 1100, sizeof(fat) - (size_t)n - 1100, "\r\n\r\n");
    static const struct {
        const char *request;
        int status;
    } cases[] = {
        {"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
        {"POST /echo HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
         "0\r\n\r\n",
         400},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
         "0\r\n\r\n",
         400},
        {"POST /echo HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", 400},
        {"GET /echo HTTP/1.1\r\nX-A: one\r\n two\r\n\r\n", 400},
        {"GET /echo HTTP/1.1\r\nX-A: one\r\n\ttwo\r\n\r\n", 400},
        {"GET /echo HTTP/1.1\r\nX-A: o\x01ne\r\n\r\n", 400},
        {"GET /echo HTTP/1.1\r\nX-A: o\rne\r\n\r\n", 400},
        {"GET /echo HTTP/1.1\nX-A: one\n\n", 400},
        {"GET /echo HTTP/1.1\r\nContent-Length : 0\r\n\r\n", 400},
        {"GET /echo HTTP/1.1\r\nX A: b\r\n\r\n", 400},
        {"GET http://elsewhere/echo HTTP/1.1\r\nHost: x\r\n\r\n", 400},
        {"BREW /echo HTTP/1.1\r\n\r\n", 501},
        {"PROPFIND /echo HTTP/1.1\r\n\r\n", 501},
        {"POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", 413},
    };
    resp_t r;
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        int fd = dial(f);
        inbuf_t *in = souk_calloc(1, sizeof(*in));
        assert_true(send_all(fd, cases[i].request, strlen(cases[i].request)));
        read_response(fd, in, &r);
        if (r.status != cases[i].status)
            fail_msg("case %zu: %d, wanted %d: %s", i, r.status, cases[i].status, r.body);
        assert_problem(&r, cases[i].status);
        assert_non_null(strcasestr(r.head, "Connection: close"));
        assert_true(closes(fd, 6000));
        souk_free(in);
        close(fd);
    }
    /* a NUL (not expressible in the table's strings) */
    roundtrip(f, "GET /echo HTTP/1.1\r\nX-A: a", &r); /* incomplete: times out, 408 */
    assert_problem(&r, 408);
    int fd = dial(f);
    assert_true(send_all(fd, "GET /echo HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 32));
    inbuf_t *in = souk_calloc(1, sizeof(*in));
    read_response(fd, in, &r);
    assert_problem(&r, 400);
    close(fd);
    souk_free(in);
    roundtrip(f, long_url, &r);
    assert_problem(&r, 414);
    roundtrip(f, many, &r);
    assert_problem(&r, 431);
    roundtrip(f, fat, &r);
    assert_problem(&r, 431);
    /* a chunked body past the limit */
    char big[2200];
    n = snprintf(big, sizeof(big),
                 "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "800\r\n");
    memset(big + n, 'b', 0x800);
    snprintf(big + n + 0x800, sizeof(big) - (size_t)n - 0x800, "\r\n0\r\n\r\n");
    roundtrip(f, big, &r);
    assert_problem(&r, 413);
    assert_int_equal(atomic_load(&up.requests), 0); /* nothing reached the upstream */
}

static void test_timeouts(void **state)
{
    fx_t *f = *state;
    /* a slow head: 408, then the connection closes */
    int fd = dial(f);
    inbuf_t *in = souk_calloc(1, sizeof(*in));
    resp_t r;
    assert_true(send_all(fd, "GET /ok HTTP/1.1\r\nHost:", 23));
    read_response(fd, in, &r);
    assert_problem(&r, 408);
    assert_true(closes(fd, 6000));
    close(fd);
    /* an idle keep-alive connection is closed after idle_timeout */
    fd = dial(f);
    assert_true(send_all(fd, "GET /ok HTTP/1.1\r\n\r\n", 20));
    read_response(fd, in, &r);
    assert_int_equal(r.status, 200);
    uint64_t t0 = souk_now_mono_ns();
    assert_true(closes(fd, 3000));
    assert_true(souk_now_mono_ns() - t0 >= 300 * 1000000ull);
    close(fd);
    souk_free(in);
}

static void test_upstream_failures(void **state)
{
    fx_t *f = *state;
    resp_t r;
    roundtrip(f, "GET /slow HTTP/1.1\r\n\r\n", &r);
    assert_problem(&r, 504);
    assert_non_null(strstr(r.body, "the svc service did not answer in time"));
    roundtrip(f, "GET /refused HTTP/1.1\r\n\r\n", &r);
    assert_problem(&r, 503);
    assert_non_null(strstr(r.head, "Retry-After: 5\r\n"));
    assert_non_null(strstr(r.body, "the gone service is unavailable"));
    roundtrip(f, "GET /garbage HTTP/1.1\r\n\r\n", &r);
    assert_problem(&r, 502);
    assert_non_null(strstr(r.body, "\"instance\":\"/garbage\""));
    souk_buf_t out;
    souk_buf_init(&out, 1 << 20);
    assert_int_equal(souk_metrics_render(f->metrics, &out), SOUK_OK);
    assert_non_null(strstr(out.data, "up_total{upstream=\"svc\",outcome=\"timeout\"} 1"));
    assert_non_null(strstr(out.data, "up_total{upstream=\"gone\",outcome=\"refused\"} 1"));
    assert_non_null(strstr(out.data, "up_total{upstream=\"svc\",outcome=\"error\"} 1"));
    souk_buf_cleanup(&out);
}

/* The upstream closes a pooled connection as the next request arrives: an
 * idempotent request is sent again on a fresh connection, a POST is not. */
static void test_retry_on_closed_pooled_connection(void **state)
{
    fx_t *f = *state;
    int fd = dial(f);
    inbuf_t *in = souk_calloc(1, sizeof(*in));
    resp_t r;
    assert_true(send_all(fd, "GET /once HTTP/1.1\r\n\r\n", 22)); /* fills the pool */
    read_response(fd, in, &r);
    assert_int_equal(r.status, 200);
    assert_true(send_all(fd, "GET /once HTTP/1.1\r\n\r\n", 22)); /* the pooled one dies */
    read_response(fd, in, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(atomic_load(&up.accepted), 2);
    assert_true(send_all(fd, "POST /once HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 42));
    read_response(fd, in, &r);
    assert_problem(&r, 502);
    assert_int_equal(atomic_load(&up.accepted), 2); /* no second try */
    souk_free(in);
    close(fd);
}

/* A client that reads nothing: the edge stops reading the upstream once
 * its queue is full, so neither its memory nor the upstream's sending runs
 * ahead; once the client reads, every byte arrives. */
static void test_backpressure(void **state)
{
    fx_t *f = *state;
    int fd = dial(f);
    int small = 65536;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    assert_true(send_all(fd, "GET /big HTTP/1.1\r\n\r\n", 21));
    size_t last = 0;
    for (int i = 0; i < 20; i++) { /* until the upstream stops making progress */
        nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
        size_t now = atomic_load(&up.big_sent);
        if (now == last && now > 0)
            break;
        last = now;
    }
    assert_true(atomic_load(&up.big_sent) < BIG_BODY / 2);
    char buf[65536];
    size_t total = 0;
    ssize_t k;
    while (total < BIG_BODY + 40 && (k = recv_wait(fd, buf, sizeof(buf), 5000)) > 0)
        total += (size_t)k;
    assert_true(total > BIG_BODY); /* the head and every byte of the body */
    close(fd);
}

static void test_metrics(void **state)
{
    fx_t *f = *state;
    resp_t r;
    roundtrip(f, "GET /ok HTTP/1.1\r\n\r\n", &r);
    roundtrip(f, "XYZZY /ok HTTP/1.1\r\n\r\n", &r);
    assert_problem(&r, 501);
    souk_buf_t out;
    souk_buf_init(&out, 1 << 20);
    assert_int_equal(souk_metrics_render(f->metrics, &out), SOUK_OK);
    assert_non_null(strstr(out.data, "http_requests_total{service=\"test\",method=\"GET\","
                                     "route=\"/up\",status=\"200\"} 1"));
    assert_non_null(strstr(out.data, "http_requests_total{service=\"test\",method=\"OTHER\","
                                     "route=\"method_not_implemented\",status=\"501\"} 1"));
    assert_null(strstr(out.data, "XYZZY"));
    assert_non_null(strstr(out.data, "up_total{upstream=\"svc\",outcome=\"ok\"} 1"));
    souk_buf_cleanup(&out);
}

typedef struct {
    fx_t *f;
    resp_t r;
    bool closed;
} drain_t;

static void *slow_client(void *p)
{
    drain_t *d = p;
    int fd = dial(d->f);
    inbuf_t *in = souk_calloc(1, sizeof(*in));
    send_all(fd, "GET /delay HTTP/1.1\r\n\r\n", 23);
    read_response(fd, in, &d->r);
    d->closed = closes(fd, 2000);
    souk_free(in);
    close(fd);
    return NULL;
}

/* Stopping lets the request in flight finish (Connection: close), then no
 * new connection is taken. */
static void test_graceful_stop(void **state)
{
    fx_t *f = *state;
    drain_t d = {.f = f};
    pthread_t t;
    int port = souk_edge_port(f->edge);
    pthread_create(&t, NULL, slow_client, &d);
    while (atomic_load(&up.requests) == 0)
        nanosleep(&(struct timespec){0, 5 * 1000000L}, NULL);
    souk_edge_stop(f->edge);
    f->edge = NULL;
    pthread_join(t, NULL);
    assert_int_equal(d.r.status, 200);
    assert_string_equal(d.r.body, "late");
    assert_non_null(strcasestr(d.r.head, "Connection: close"));
    assert_true(d.closed);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_not_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
}

/* ---- sub-requests ------------------------------------------------------------------ */

#define TRACE "0af7651916cd43dd8448eb211c80319c"

/* What a sub-request sends: its own method, target, headers and body, the
 * request's id and trace (a span of its own), the client's address; never
 * the headers the edge owns. The callback sees the response's headers. */
static void test_sub_request_echo(void **state)
{
    fx_t *f = *state;
    resp_t r;
    roundtrip(f,
              "GET /sub/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: rid-sub\r\n"
              "traceparent: 00-" TRACE "-b7ad6b7169203331-01\r\n\r\n",
              &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "POST /echo/sub?q=1 HTTP/1.1\r\n"));
    char host[64];
    snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\r\n", up.port);
    assert_non_null(strstr(r.body, host));
    assert_non_null(strstr(r.body, "X-Sub: 1\r\n"));
    assert_non_null(strstr(r.body, "X-Request-Id: rid-sub\r\n"));
    assert_non_null(strstr(r.body, "X-Forwarded-For: 127.0.0.1\r\n"));
    assert_non_null(strstr(r.body, "X-Forwarded-Proto: http\r\n"));
    assert_non_null(strstr(r.body, "Content-Length: 7\r\n\r\n{\"a\":1}"));
    assert_null(strstr(r.body, "evil"));
    assert_null(strstr(r.body, "forged"));
    assert_null(strstr(r.body, "Connection"));
    assert_null(strstr(r.body, "chunked"));
    assert_null(strstr(r.body, "Content-Length: 99")); /* not "99": ids are random hex */
    assert_null(strstr(r.body, "2222222222222222"));
    /* the call's span: in the request's trace, a child of the request's span */
    const char *tp = strstr(r.body, "traceparent: 00-" TRACE "-");
    assert_non_null(tp);
    char sub_span[17], req_span[17];
    snprintf(sub_span, sizeof(sub_span), "%s", tp + 16 + 33);
    const char *rtp = strstr(r.head, "traceparent: 00-" TRACE "-");
    assert_non_null(rtp);
    snprintf(req_span, sizeof(req_span), "%s", rtp + 16 + 33);
    assert_string_not_equal(sub_span, req_span);
    assert_string_not_equal(sub_span, "b7ad6b7169203331");
    assert_non_null(strstr(r.head, "X-Sub-Up: 1\r\n"));
    assert_non_null(strstr(r.head, "X-Request-Id: rid-sub\r\n"));
    /* the route the handler named, in the edge's metrics */
    souk_buf_t out;
    souk_buf_init(&out, 1 << 20);
    assert_int_equal(souk_metrics_render(f->metrics, &out), SOUK_OK);
    assert_non_null(strstr(out.data, "http_requests_total{service=\"test\",method=\"GET\","
                                     "route=\"/sub\",status=\"200\"} 1"));
    assert_non_null(strstr(out.data, "up_total{upstream=\"svc\",outcome=\"ok\"} 1"));
    souk_buf_cleanup(&out);
}

/* Five at once, on five connections, all in flight together; the next
 * request's five reuse them from the pool. */
static void test_sub_requests_in_parallel(void **state)
{
    fx_t *f = *state;
    resp_t r;
    roundtrip(f, "GET /sub/parallel HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "0 ok 200 late\n1 ok 200 late\n2 ok 200 late\n3 ok 200 late\n"
                                "4 ok 200 late\n");
    assert_int_equal(atomic_load(&up.max_delaying), 5);
    assert_int_equal(atomic_load(&up.accepted), 5);
    roundtrip(f, "GET /sub/parallel HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(atomic_load(&up.requests), 10);
    assert_int_equal(atomic_load(&up.accepted), 5);
}

/* Every failure is an outcome for the callback, counted like forwarding's. */
static void test_sub_request_failures(void **state)
{
    fx_t *f = *state;
    resp_t r;
    roundtrip(f, "GET /sub/failures HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "0 refused 0 \n1 timeout 0 \n2 broken 0 \n3 broken 0 \n");
    souk_buf_t out;
    souk_buf_init(&out, 1 << 20);
    assert_int_equal(souk_metrics_render(f->metrics, &out), SOUK_OK);
    assert_non_null(strstr(out.data, "up_total{upstream=\"gone\",outcome=\"refused\"} 1"));
    assert_non_null(strstr(out.data, "up_total{upstream=\"svc\",outcome=\"timeout\"} 1"));
    assert_non_null(strstr(out.data, "up_total{upstream=\"svc\",outcome=\"error\"} 2"));
    souk_buf_cleanup(&out);
}

/* A callback starts the next wave on the connection the last one pooled;
 * when the upstream closed it meanwhile, a GET goes again on a fresh one,
 * a POST does not. */
static void test_sub_chain_and_retry(void **state)
{
    fx_t *f = *state;
    resp_t r;
    roundtrip(f, "GET /sub/chain HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "0 ok 200\n1 ok 200 hello\n");
    assert_int_equal(atomic_load(&up.accepted), 2);
    roundtrip(f, "GET /sub/chain?POST HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "0 ok 200\n1 broken 0 \n");
    assert_int_equal(atomic_load(&up.accepted), 3);
}

/* Answering cancels the sub-requests still in flight: no callback after
 * the answer, no outcome counted for them. */
static void test_sub_early_reply_cancels(void **state)
{
    fx_t *f = *state;
    int fd = dial(f);
    inbuf_t *in = souk_calloc(1, sizeof(*in));
    resp_t r;
    uint64_t t0 = souk_now_mono_ns();
    assert_true(send_all(fd, "GET /sub/early HTTP/1.1\r\n\r\n", 27));
    read_response(fd, in, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "0 ok\n");
    assert_true(souk_now_mono_ns() - t0 < 1500 * 1000000ull);     /* /slow takes 2 s */
    assert_true(send_all(fd, "GET /reply HTTP/1.1\r\n\r\n", 23)); /* the loop goes on */
    read_response(fd, in, &r);
    assert_string_equal(r.body, "hi");
    assert_int_equal(atomic_load(&late_callbacks), 0);
    souk_buf_t out;
    souk_buf_init(&out, 1 << 20);
    assert_int_equal(souk_metrics_render(f->metrics, &out), SOUK_OK);
    assert_null(strstr(out.data, "outcome=\"timeout\""));
    souk_buf_cleanup(&out);
    souk_free(in);
    close(fd);
}

static bool poll_until(atomic_int *v, int want, int deadline_ms)
{
    uint64_t until = souk_now_mono_ns() + (uint64_t)deadline_ms * 1000000;
    while (atomic_load(v) < want && souk_now_mono_ns() < until)
        nanosleep(&(struct timespec){0, 2 * 1000000L}, NULL);
    return atomic_load(v) >= want;
}

/* The client goes away (a reset) while both sub-requests are upstream: they
 * are cancelled, the owner hears of it once, no callback runs; the edge
 * serves on. */
static void test_sub_client_gone(void **state)
{
    fx_t *f = *state;
    int fd = dial(f);
    assert_true(send_all(fd, "GET /sub/abort HTTP/1.1\r\n\r\n", 27));
    assert_true(poll_until(&up.requests, 2, 3000));
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    assert_true(poll_until(&aborted, 1, 3000));
    resp_t r;
    roundtrip(f, "GET /sub/parallel HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(atomic_load(&aborted), 1);
    assert_int_equal(atomic_load(&late_callbacks), 0);
}

/* Misuse: a deferred request that waits on nothing is a 500; a sub-request
 * of a request that is not deferred, or a malformed one, is refused at
 * once; past SOUK_EDGE_MAX_SUBS in flight, too. */
static void test_sub_misuse(void **state)
{
    fx_t *f = *state;
    resp_t r;
    roundtrip(f, "GET /sub/stuck HTTP/1.1\r\n\r\n", &r);
    assert_problem(&r, 500);
    roundtrip(f, "GET /sub/notdeferred HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, souk_strerror(SOUK_EINVAL));
    roundtrip(f, "GET /sub/limits HTTP/1.1\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "0 ok 200 hello\n");
    assert_int_equal(atomic_load(&up.requests), SOUK_EDGE_MAX_SUBS);
}

/* ---- the client's address ------------------------------------------------------------ */

static void whoami(fx_t *f, const char *xff, char *out, size_t cap)
{
    char req[256];
    resp_t r;
    snprintf(req, sizeof(req), "GET /whoami HTTP/1.1\r\n%s%s%s\r\n", xff ? "X-Forwarded-For: " : "",
             xff ? xff : "", xff ? "\r\n" : "");
    roundtrip(f, req, &r);
    assert_int_equal(r.status, 200);
    snprintf(out, cap, "%.*s", (int)(cap - 1), r.body);
}

/* Behind trusted proxies the client is the right-most address they did not
 * add (libs/http's rule); that is what goes upstream and what limits see. */
static void test_trusted_proxies(void **state)
{
    fx_t *f = *state;
    char ip[64];
    whoami(f, NULL, ip, sizeof(ip));
    assert_string_equal(ip, "127.0.0.1");
    whoami(f, "203.0.113.9", ip, sizeof(ip));
    assert_string_equal(ip, "203.0.113.9");
    whoami(f, "192.0.2.1, 203.0.113.9, 198.51.100.7", ip, sizeof(ip));
    assert_string_equal(ip, "203.0.113.9");
    whoami(f, "not an address", ip, sizeof(ip));
    assert_string_equal(ip, "127.0.0.1");
    resp_t r;
    roundtrip(f, "GET /echo HTTP/1.1\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n", &r);
    assert_non_null(strstr(r.body, "X-Forwarded-For: 203.0.113.9\r\n"));
}

/* Without trusted proxies X-Forwarded-For is the client's say: ignored. */
static void test_untrusted_forwarded_for(void **state)
{
    fx_t *f = *state;
    char ip[64];
    whoami(f, "203.0.113.9", ip, sizeof(ip));
    assert_string_equal(ip, "127.0.0.1");
}

static void test_bad_trusted_proxies(void **state)
{
    (void)state;
    souk_metrics_t *m = souk_metrics_new();
    souk_edge_config_t cfg = {.threads = 1,
                              .handler = handler,
                              .metrics = m,
                              .trusted_proxies = "127.0.0.1, 10.0.0.0/33"};
    souk_edge_t *e = NULL;
    assert_int_equal(souk_edge_start(&cfg, &e), SOUK_EINVAL);
    assert_null(e);
    souk_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forwarding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keepalive_pipelining_and_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smuggling_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upstream_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_on_closed_pooled_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_graceful_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sub_request_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sub_requests_in_parallel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sub_request_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sub_chain_and_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sub_early_reply_cancels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sub_client_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sub_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trusted_proxies, setup_proxies, teardown),
        cmocka_unit_test_setup_teardown(test_untrusted_forwarded_for, setup, teardown),
        cmocka_unit_test(test_bad_trusted_proxies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
