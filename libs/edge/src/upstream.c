/* upstream.c: the engine's upstream client. Each loop thread keeps, per
 * upstream, a stack of idle keep-alive connections that stay registered in
 * its epoll (no re-registration per request: the cost h2o 2.2's proxy pays);
 * the most recently used goes out first. A request is written in one send;
 * the response is parsed with http-parser and relayed to the client as it
 * comes (Content-Length kept, chunked and close-delimited bodies re-chunked
 * for HTTP/1.1 clients), reading paused while the client's queue is above
 * its mark (backpressure). Failures become 502/503/504 problems; a pooled
 * connection found closed before any byte of a response gets an idempotent
 * request sent once more on a fresh connection (h2o issue #281).
 *
 * The same connections serve a handler's sub-requests (sub.c): the
 * connection's life (connect, send, read, time out, retry, pool) is the
 * same, only what is done with the response differs (buffered for a
 * callback instead of relayed). */
#include "edge_int.h"

#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

static void relay(upconn_t *u);

/* ---- connections ------------------------------------------------------------ */

void souk_edge__upconn_close(upconn_t *u)
{
    if (u->io.fd < 0)
        return;
    loop_t *l = u->loop;
    if (u->state == U_IDLE && u->pool.next) {
        souk_edge__list_unlink(&u->pool);
        l->npool[u->upstream]--;
    }
    souk_edge__timer_clear(&u->timer);
    if (u->x)
        u->x->up = NULL;
    if (u->s)
        u->s->up = NULL;
    u->x = NULL;
    u->s = NULL;
    souk_edge__unwatch_close(l, &u->io);
    u->io.fd = -1;
    souk_edge__list_push_back(&l->dead_upconns, &u->pool); /* freed after this batch */
}

static upconn_t *connect_new(loop_t *l, size_t i, int *err)
{
    const upstream_t *up = &l->edge->ups[i];
    int fd = socket(up->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, (const struct sockaddr *)&up->addr, up->addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return NULL;
    }
    upconn_t *u = souk_calloc(1, sizeof(*u));
    u->io = (io_t){IO_UPSTREAM, fd};
    u->loop = l;
    u->upstream = i;
    u->timer.list = -1;
    u->state = rc == 0 ? U_SENDING : U_CONNECTING;
    if (!souk_edge__watch(l, &u->io)) {
        *err = errno;
        u->state = U_SENDING;
        souk_edge__upconn_close(u);
        return NULL;
    }
    return u;
}

static upconn_t *pool_pop(loop_t *l, size_t i)
{
    if (list_empty(&l->pools[i]))
        return NULL;
    upconn_t *u = container_of(l->pools[i].next, upconn_t, pool);
    souk_edge__list_unlink(&u->pool);
    l->npool[i]--;
    souk_edge__timer_clear(&u->timer);
    u->reused = true;
    return u;
}

static void pool_push(upconn_t *u)
{
    loop_t *l = u->loop;
    if (l->stopping || l->npool[u->upstream] >= EDGE_POOL_MAX) {
        souk_edge__upconn_close(u);
        return;
    }
    u->state = U_IDLE;
    u->x = NULL;
    u->s = NULL;
    u->can_read = u->paused = false;
    souk_edge__list_push_front(&l->pools[u->upstream], &u->pool);
    l->npool[u->upstream]++;
    souk_edge__timer_set(l, &u->timer, T_POOL);
}

/* ---- the request ------------------------------------------------------------- */

static bool not_forwarded(const char *name, const souk_edge__exchange_t *x)
{
    static const char *const own[] = {
        "host",         "content-length", "expect",    "x-forwarded-for", "x-forwarded-proto",
        "x-request-id", "traceparent",    "tracestate"};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(own); i++)
        if (strcasecmp(name, own[i]) == 0)
            return true;
    return souk_edge__hop_by_hop(name, x);
}

static bool put(souk_buf_t *b, const char *s)
{
    return souk_buf_append(b, s, strlen(s)) == SOUK_OK;
}

static bool build_request(souk_edge__exchange_t *x)
{
    const souk_edge_req_t *r = &x->req;
    const upstream_t *u = &x->c->loop->edge->ups[x->upstream];
    souk_buf_t *b = &x->upreq;
    char tp[SOUK_TRACEPARENT_LEN + 1];
    bool ok = true;
    b->len = 0;
    ok = ok && souk_buf_appendf(b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r->method, r->url,
                                u->host_header) == SOUK_OK;
    for (size_t i = 0; ok && i < r->nheaders; i++)
        if (!not_forwarded(r->headers[i].name, x))
            ok = put(b, r->headers[i].name) && put(b, ": ") && put(b, r->headers[i].value) &&
                 put(b, "\r\n");
    souk_trace_format(&x->up_span.ctx, tp); /* the upstream's parent: this call */
    ok = ok && souk_buf_appendf(b,
                                "X-Request-Id: %s\r\ntraceparent: %s\r\nX-Forwarded-For: %s\r\n"
                                "X-Forwarded-Proto: http\r\n",
                                r->request_id, tp, r->client_ip) == SOUK_OK;
    bool has_body = r->body_len || strcmp(r->method, "POST") == 0 ||
                    strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0;
    if (has_body)
        ok = ok && souk_buf_appendf(b, "Content-Length: %zu\r\n", r->body_len) == SOUK_OK;
    ok = ok && put(b, "\r\n");
    if (r->body_len)
        ok = ok && souk_buf_append(b, r->body, r->body_len) == SOUK_OK;
    return ok;
}

/* A new exchange on u: a fresh response parser and the exchange's clock. */
static void arm(upconn_t *u)
{
    u->got_bytes = u->paused = u->can_read = u->broken = false;
    u->in_len = 0;
    http_parser_init(&u->parser, HTTP_RESPONSE);
    u->parser.data = u;
    if (u->state == U_CONNECTING)
        souk_edge__timer_set(u->loop, &u->timer, T_CONNECT);
    else
        souk_edge__timer_set(u->loop, &u->timer, T_EXCHANGE);
}

static void attach(upconn_t *u, souk_edge__exchange_t *x)
{
    u->x = x;
    x->up = u;
    x->upreq_off = 0;
    souk_edge__hc_reset(&x->rh);
    arm(u);
}

/* ---- outcomes ------------------------------------------------------------------ */

/* The upstream call's client span, ended with its outcome. */
static void end_up_span(souk_edge__exchange_t *x, const char *name, const char *outcome)
{
    souk_span_t *s = &x->up_span;
    if (!souk_span_recording(s))
        return;
    snprintf(s->name, sizeof(s->name), "%s %s", x->req.method, name);
    souk_span_attr_str(s, "http.request.method", x->req.method);
    souk_span_attr_str(s, "server.address", x->c->loop->edge->ups[x->upstream].host_header);
    souk_span_attr_str(s, "url.path", x->req.path ? x->req.path : "/");
    if (x->status)
        souk_span_attr_int(s, "http.response.status_code", x->status);
    if (strcmp(outcome, "ok") != 0)
        souk_span_error(s, outcome);
    souk_span_end(s);
}

static void count(souk_edge__exchange_t *x, const char *outcome)
{
    const souk_edge_t *e = x->c->loop->edge;
    const char *name = e->ups[x->upstream].name;
    double secs = (double)(souk_now_mono_ns() - x->up_t0) / 1e9;
    if (e->cfg.upstream_requests)
        souk_metric_inc(e->cfg.upstream_requests, (const char *[]){name, outcome}, 1);
    if (e->cfg.upstream_seconds)
        souk_metric_observe(e->cfg.upstream_seconds, (const char *[]){name}, secs);
    end_up_span(x, name, outcome);
}

static bool idempotent(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
           strcmp(m, "DELETE") == 0 || strcmp(m, "OPTIONS") == 0;
}

static void send_request(upconn_t *u);

static void start_on(souk_edge__exchange_t *x, upconn_t *u)
{
    attach(u, x);
    if (u->state != U_CONNECTING)
        send_request(u);
}

void souk_edge__upconn_start_sub(upconn_t *u, sub_t *s)
{
    u->s = s;
    s->up = u;
    s->req_off = 0;
    s->status = 0;
    s->body.len = 0;
    souk_edge__hc_reset(&s->rh);
    arm(u);
    if (u->state != U_CONNECTING)
        send_request(u);
}

static void fail_exchange(souk_edge__exchange_t *x, int why)
{
    const souk_edge_t *e = x->c->loop->edge;
    const char *name = e->ups[x->upstream].name;
    static const char *const outcome[] = {"error", "refused", "timeout"};
    count(x, outcome[why]);
    if (x->head_sent) {
        /* Part of the response is out: all the client can be told is that
         * the connection ends early. */
        x->c->close_after = true;
        x->status = x->status ? x->status : 502;
        souk_edge__exchange_end(x, true);
        return;
    }
    int status = why == FAIL_TIMEOUT ? 504 : why == FAIL_REFUSED ? 503 : 502;
    const char *detail = souk_arena_printf(x->req.arena, "the %s service %s", name,
                                           why == FAIL_TIMEOUT   ? "did not answer in time"
                                           : why == FAIL_REFUSED ? "is unavailable"
                                                                 : "failed");
    if (status == 503)
        souk_edge_set_header(&x->req, "Retry-After", "5");
    souk_edge__fail(x, status, detail);
}

/* The exchange on u failed with why. */
static void fail_job(souk_edge__exchange_t *x, sub_t *s, int why)
{
    if (s)
        souk_edge__sub_failed(s, why);
    else
        fail_exchange(x, why);
}

/* The connection failed under its exchange. A pooled one that failed
 * before any byte of a response may just have been closed by the upstream
 * while idle: an idempotent request goes once more on a fresh connection. */
static void broken(upconn_t *u, int why)
{
    souk_edge__exchange_t *x = u->x;
    sub_t *s = u->s;
    bool *retried = s ? &s->retried : &x->retried;
    loop_t *l = u->loop;
    size_t upstream = u->upstream;
    bool retry = why == FAIL_BROKEN && u->reused && !u->got_bytes && !*retried &&
                 idempotent(s ? s->method : x->req.method);
    souk_edge__upconn_close(u);
    if (retry) {
        int err = 0;
        *retried = true;
        upconn_t *fresh = connect_new(l, upstream, &err);
        if (fresh && s) {
            souk_edge__upconn_start_sub(fresh, s);
            return;
        }
        if (fresh) {
            start_on(x, fresh);
            return;
        }
        why = err == ECONNREFUSED ? FAIL_REFUSED : FAIL_BROKEN;
    }
    fail_job(x, s, why);
}

upconn_t *souk_edge__upconn_get(loop_t *l, size_t i, int *err)
{
    upconn_t *u = pool_pop(l, i);
    return u ? u : connect_new(l, i, err);
}

void souk_edge__upconn_release(upconn_t *u, bool reusable)
{
    u->x = NULL;
    u->s = NULL;
    if (reusable && http_should_keep_alive(&u->parser))
        pool_push(u);
    else
        souk_edge__upconn_close(u);
}

void souk_edge__forward_start(souk_edge__exchange_t *x)
{
    loop_t *l = x->c->loop;
    x->up_t0 = souk_now_mono_ns();
    souk_span_start(&x->up_span, SOUK_SPAN_CLIENT, x->req.method, &x->req.trace, NULL);
    if (!build_request(x)) {
        souk_edge__fail(x, 500, "the request could not be forwarded");
        return;
    }
    int err = 0;
    upconn_t *u = souk_edge__upconn_get(l, x->upstream, &err);
    if (!u) {
        fail_exchange(x, err == ECONNREFUSED || err == ENETUNREACH ? FAIL_REFUSED : FAIL_BROKEN);
        return;
    }
    start_on(x, u);
}

static void send_request(upconn_t *u)
{
    const souk_buf_t *b = u->s ? &u->s->req : &u->x->upreq;
    size_t *off = u->s ? &u->s->req_off : &u->x->upreq_off;
    if (u->state != U_SENDING) {
        u->state = U_SENDING;
        souk_edge__timer_set(u->loop, &u->timer, T_EXCHANGE);
    }
    while (*off < b->len) {
        ssize_t n = send(u->io.fd, b->data + *off, b->len - *off, MSG_NOSIGNAL);
        if (n > 0) {
            *off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return; /* EPOLLOUT resumes */
        } else {
            broken(u, FAIL_BROKEN);
            return;
        }
    }
    u->state = U_READING;
}

/* ---- the response ---------------------------------------------------------------- */

static upconn_t *uof(http_parser *p)
{
    return p->data;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    return souk_edge__hc_add(&uof(p)->x->rh, 1, at, len) ? 0 : -1;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    return souk_edge__hc_add(&uof(p)->x->rh, 2, at, len) ? 0 : -1;
}

/* Names the upstream's Connection headers list: hop-by-hop too. */
typedef struct {
    char tok[EDGE_MAX_CONN_TOK][32];
    size_t n;
} tokens_t;

static void list_tokens(const hcollect_t *rh, tokens_t *t)
{
    const char *name, *value;
    t->n = 0;
    for (size_t i = 0; i < rh->n; i++) {
        souk_edge__hc_get(rh, i, &name, &value);
        if (strcasecmp(name, "connection") != 0)
            continue;
        for (const char *p = value; *p;) {
            p += strspn(p, " \t,");
            size_t k = strcspn(p, " \t,");
            if (k && k < sizeof(t->tok[0]) && t->n < EDGE_MAX_CONN_TOK) {
                memcpy(t->tok[t->n], p, k);
                t->tok[t->n++][k] = '\0';
            }
            p += k;
        }
    }
}

static bool passed_on(const char *name, const tokens_t *t)
{
    static const char *const own[] = {"content-length", "x-request-id", "traceparent"};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(own); i++)
        if (strcasecmp(name, own[i]) == 0)
            return false;
    for (size_t i = 0; i < t->n; i++)
        if (strcasecmp(name, t->tok[i]) == 0)
            return false;
    return !souk_edge__hop_by_hop(name, NULL);
}

static int on_headers_complete(http_parser *p)
{
    upconn_t *u = uof(p);
    souk_edge__exchange_t *x = u->x;
    if (!souk_edge__hc_end(&x->rh) || x->rh.too_many)
        return -1;
    int status = p->status_code;
    bool head = strcmp(x->req.method, "HEAD") == 0;
    bool bodiless = head || status == 204 || status == 304 || (status >= 100 && status < 200);
    souk_buf_t raw;
    souk_buf_init(&raw, EDGE_RESP_HEAD * 2);
    const char *name, *value;
    bool ok = true;
    tokens_t hop;
    list_tokens(&x->rh, &hop);
    for (size_t i = 0; i < x->rh.n && ok; i++) {
        souk_edge__hc_get(&x->rh, i, &name, &value);
        bool keep = passed_on(name, &hop) || (head && strcasecmp(name, "content-length") == 0);
        if (keep)
            ok = put(&raw, name) && put(&raw, ": ") && put(&raw, value) && put(&raw, "\r\n");
    }
    x->frame = bodiless                          ? FRAME_NONE
               : (p->flags & F_CHUNKED)          ? (x->http10 ? FRAME_CLOSE : FRAME_CHUNKED)
               : p->content_length != ULLONG_MAX ? FRAME_LENGTH
               : x->http10                       ? FRAME_CLOSE
                                                 : FRAME_CHUNKED;
    x->status = status;
    if (ok)
        souk_edge__head(x->c, status, raw.data, raw.len, x->frame, (size_t)p->content_length);
    souk_buf_cleanup(&raw);
    if (!ok)
        return -1;
    x->c->state = C_WRITING;
    return head ? 1 : 0; /* 1: a response to HEAD has no body */
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    upconn_t *u = uof(p);
    client_t *c = u->x->c;
    c->state = C_WRITING;
    if (u->x->frame == FRAME_CHUNKED) {
        char size[24];
        int n = snprintf(size, sizeof(size), "%zx\r\n", len);
        souk_edge__out(c, size, (size_t)n);
        souk_edge__out(c, at, len);
        souk_edge__out(c, "\r\n", 2);
    } else {
        souk_edge__out(c, at, len);
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    upconn_t *u = uof(p);
    if (u->x->frame == FRAME_CHUNKED)
        souk_edge__out(u->x->c, "0\r\n\r\n", 5);
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings resp_settings = {
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* The whole response is in the client's queue. */
static void complete(upconn_t *u, bool reusable)
{
    souk_edge__exchange_t *x = u->x;
    const souk_edge_t *e = u->loop->edge;
    count(x, x->status >= 500 ? "5xx" : "ok");
    u->x = NULL;
    x->up = NULL;
    if (reusable && http_should_keep_alive(&u->parser))
        pool_push(u);
    else
        souk_edge__upconn_close(u);
    souk_edge__exchange_end(x, !e->ups[x->upstream].accounted);
}

/* Feeds [p, p+n) (n 0: end of stream) to the parser; false when u is done
 * with (completed or failed). */
static bool feed(upconn_t *u, const char *p, size_t n)
{
    const http_parser_settings *settings = u->s ? &souk_edge__sub_settings : &resp_settings;
    size_t used = http_parser_execute(&u->parser, settings, p, n);
    enum http_errno he = HTTP_PARSER_ERRNO(&u->parser);
    if (he == HPE_PAUSED) {
        http_parser_pause(&u->parser, 0);
        bool reusable = n > 0 && used == n; /* bytes after the response: not reusable */
        if (u->s)
            souk_edge__sub_response(u, reusable);
        else
            complete(u, reusable);
        return false;
    }
    if (he != HPE_OK || n == 0) { /* a cut, or a response that ended too early */
        broken(u, FAIL_BROKEN);
        return false;
    }
    return true;
}

static void relay(upconn_t *u)
{
    while ((u->x || u->s) && u->can_read && !u->paused) {
        ssize_t n = recv(u->io.fd, u->in, sizeof(u->in), 0);
        if (n > 0) {
            u->got_bytes = true;
            /* the upstream's clock runs between bytes, not while the client reads */
            souk_edge__timer_set(u->loop, &u->timer, T_EXCHANGE);
            if (!feed(u, u->in, (size_t)n))
                return;
            if (u->x && u->x->c->out.len - u->x->c->out_off > EDGE_OUT_HIGH) {
                u->paused = true; /* the client catches up first */
                souk_edge__timer_clear(&u->timer);
            }
            if ((size_t)n < sizeof(u->in) && !u->broken)
                u->can_read = false;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            u->can_read = false;
            return;
        }
        if (n == 0 && u->got_bytes) { /* end of a close-delimited body, or a cut */
            feed(u, NULL, 0);
            return;
        }
        broken(u, FAIL_BROKEN);
        return;
    }
}

void souk_edge__upconn_resume(upconn_t *u)
{
    if (!u->paused)
        return;
    u->paused = false;
    souk_edge__timer_set(u->loop, &u->timer, T_EXCHANGE);
    relay(u);
}

void souk_edge__upconn_abandon(upconn_t *u)
{
    u->x = NULL;
    souk_edge__upconn_close(u);
}

static void connected(upconn_t *u)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(u->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err) {
        souk_edge__exchange_t *x = u->x;
        sub_t *s = u->s;
        souk_edge__upconn_close(u);
        fail_job(x, s, err == ECONNREFUSED || err == ENETUNREACH ? FAIL_REFUSED : FAIL_BROKEN);
        return;
    }
    send_request(u);
}

void souk_edge__upconn_event(upconn_t *u, uint32_t events)
{
    if (u->io.fd < 0)
        return; /* closed earlier in this batch */
    client_t *c = u->x ? u->x->c : NULL;
    switch (u->state) {
    case U_IDLE:
        /* An idle connection has nothing to say: a close, or garbage. */
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            souk_edge__upconn_close(u);
        return;
    case U_CONNECTING:
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            connected(u);
        break;
    case U_SENDING:
        if (events & (EPOLLERR | EPOLLHUP))
            broken(u, FAIL_BROKEN);
        else if (events & EPOLLOUT)
            send_request(u);
        break;
    case U_READING:
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            u->broken = true; /* read to the end, past the short-read shortcut */
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            u->can_read = true;
            relay(u);
        }
        break;
    }
    if (c)
        souk_edge__client_run(c);
}

void souk_edge__upconn_timeout(upconn_t *u)
{
    if (u->state == U_IDLE) {
        souk_edge__upconn_close(u);
        return;
    }
    client_t *c = u->x ? u->x->c : NULL;
    souk_edge__exchange_t *x = u->x;
    sub_t *s = u->s;
    souk_edge__upconn_close(u);
    if (x || s)
        fail_job(x, s, FAIL_TIMEOUT);
    if (c)
        souk_edge__client_run(c);
}
