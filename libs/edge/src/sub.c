/* sub.c: a handler's own requests to the upstreams (souk_edge_sub_start),
 * for a request whose reply it deferred. A sub-request goes out on the
 * loop's pooled connections like a forwarded request (upstream.c runs the
 * connection: connect, send, read, time out, retry once, pool), but its
 * response is buffered, bounded, instead of relayed; once its outcome is
 * known it waits in the loop's ready list, and the loop runs its callback
 * after the event that settled it, never from within the call that started
 * it, so a handler is never re-entered. A sub-request belongs to its
 * request: answering the request, or the client going away, cancels those
 * still in flight (their connections are closed, mid-response as they may
 * be) and their callbacks never run; an aborted request's owner hears of it
 * once (souk_edge_defer's on_abort). Nothing here outlives its request but
 * the memory of finished sub-requests, which each loop keeps (bounded) for
 * the next ones, buffers and all, as a connection keeps its buffers across
 * requests. */
#include "edge_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

#define SUB_REQUEST_MAX (64u << 10) /* request line and headers of a sub-request */

/* ---- validation and the request ---------------------------------------------- */

static bool token(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(extra, *s)))
            return false;
    return true;
}

/* Field values: visible bytes, spaces and tabs; nothing that ends a line. */
static bool value_ok(const char *v)
{
    if (!v)
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

/* An origin-form target: a path, no space or control byte. */
static bool target_ok(const char *t)
{
    if (!t || t[0] != '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* Headers the edge writes itself, or that would change the framing. */
static bool own_header(const char *name)
{
    static const char *const own[] = {
        "host",        "content-length", "expect",          "x-request-id",
        "traceparent", "tracestate",     "x-forwarded-for", "x-forwarded-proto"};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(own); i++)
        if (strcasecmp(name, own[i]) == 0)
            return true;
    return souk_edge__hop_by_hop(name, NULL);
}

static bool put(souk_buf_t *b, const char *s)
{
    return souk_buf_append(b, s, strlen(s)) == SOUK_OK;
}

/* The request as it goes out (plain appends: this runs for every call). */
static bool build(sub_t *s, const souk_edge_sub_t *in, const souk_edge_req_t *r)
{
    const upstream_t *u = &r->x->c->loop->edge->ups[in->upstream];
    souk_buf_t *b = &s->req;
    char tp[SOUK_TRACEPARENT_LEN + 1], cl[48];
    bool ok = put(b, s->method) && put(b, " ") && put(b, in->target) &&
              put(b, " HTTP/1.1\r\nHost: ") && put(b, u->host_header) && put(b, "\r\n");
    for (size_t i = 0; ok && i < in->nheaders; i++)
        if (!own_header(in->headers[i].name))
            ok = put(b, in->headers[i].name) && put(b, ": ") && put(b, in->headers[i].value) &&
                 put(b, "\r\n");
    souk_trace_format(&s->span.ctx, tp); /* the upstream's parent: this call */
    ok = ok && put(b, "X-Request-Id: ") && put(b, r->request_id) && put(b, "\r\ntraceparent: ") &&
         put(b, tp) && put(b, "\r\nX-Forwarded-For: ") && put(b, r->client_ip) &&
         put(b, "\r\nX-Forwarded-Proto: http\r\n");
    bool has_body = in->body_len || strcmp(s->method, "POST") == 0 ||
                    strcmp(s->method, "PUT") == 0 || strcmp(s->method, "PATCH") == 0;
    snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", in->body_len);
    if (has_body)
        ok = ok && put(b, cl);
    ok = ok && put(b, "\r\n");
    if (in->body_len)
        ok = ok && souk_buf_append(b, in->body, in->body_len) == SOUK_OK;
    return ok;
}

static souk_err_t check(const souk_edge_req_t *req, const souk_edge_sub_t *in)
{
    const souk_edge__exchange_t *x = req ? req->x : NULL;
    if (!x || !in || x->decision != X_DEFER || !in->done ||
        in->upstream >= x->c->loop->edge->nups || !in->method ||
        strcmp(souk_http_method_label(in->method, strlen(in->method)), SOUK_METRIC_OTHER) == 0 ||
        !target_ok(in->target) || (in->body_len && !in->body))
        return SOUK_EINVAL;
    for (size_t i = 0; i < in->nheaders; i++)
        if (!token(in->headers[i].name) || !value_ok(in->headers[i].value))
            return SOUK_EINVAL;
    return x->nsubs >= SOUK_EDGE_MAX_SUBS ? SOUK_ELIMIT : SOUK_OK;
}

static void sub_free(sub_t *s)
{
    souk_buf_cleanup(&s->req);
    souk_buf_cleanup(&s->body);
    souk_edge__hc_cleanup(&s->rh);
    souk_free(s);
}

/* A sub-request to fill: a spare one of the loop (its buffers kept), or a
 * new one; its buffers bounded by req_max and body_max. */
static sub_t *sub_new(loop_t *l, size_t req_max, size_t body_max)
{
    sub_t *s;
    if (list_empty(&l->spare)) {
        s = souk_calloc(1, sizeof(*s));
        souk_buf_init(&s->req, req_max);
        souk_buf_init(&s->body, body_max);
        souk_edge__hc_init(&s->rh, EDGE_RESP_HEAD, EDGE_SUB_HEADERS);
        return s;
    }
    s = container_of(l->spare.next, sub_t, link);
    souk_edge__list_unlink(&s->link);
    l->nspare--;
    souk_buf_t req = s->req, body = s->body;
    hcollect_t rh = s->rh;
    memset(s, 0, sizeof(*s));
    s->req = req, s->body = body, s->rh = rh;
    s->req.len = s->body.len = 0;
    s->req.max = req_max;
    s->body.max = body_max;
    souk_edge__hc_reset(&s->rh);
    return s;
}

/* Done with s: kept for the next one while the loop has room and its
 * buffers stayed small, else freed. s is on no list. */
static void sub_release(loop_t *l, sub_t *s)
{
    if (l->nspare >= EDGE_SPARE_SUBS || s->req.cap > EDGE_SPARE_BUF ||
        s->body.cap > EDGE_SPARE_BUF || s->rh.buf.cap > EDGE_SPARE_BUF) {
        sub_free(s);
        return;
    }
    souk_edge__list_push_front(&l->spare, &s->link);
    l->nspare++;
}

void souk_edge__spare_free(loop_t *l)
{
    while (!list_empty(&l->spare)) {
        sub_t *s = container_of(l->spare.next, sub_t, link);
        souk_edge__list_unlink(&s->link);
        sub_free(s);
    }
    l->nspare = 0;
}

/* ---- outcomes ------------------------------------------------------------------ */

static const char *const outcome_label[] = {
    [SOUK_EDGE_SUB_OK] = "ok",
    [SOUK_EDGE_SUB_REFUSED] = "refused",
    [SOUK_EDGE_SUB_TIMEOUT] = "timeout",
    [SOUK_EDGE_SUB_BROKEN] = "error",
};

/* The call's span, ended once (at its outcome, or at its cancellation). */
static void end_span(sub_t *s, const char *error)
{
    if (s->ended)
        return;
    s->ended = true;
    if (!souk_span_recording(&s->span))
        return;
    const souk_edge_t *e = s->x->c->loop->edge;
    snprintf(s->span.name, sizeof(s->span.name), "%s %s", s->method, e->ups[s->upstream].name);
    if (s->status)
        souk_span_attr_int(&s->span, "http.response.status_code", s->status);
    if (error)
        souk_span_error(&s->span, error);
    souk_span_end(&s->span);
}

/* Counted, its span ended, and queued for its callback. */
static void settle(sub_t *s, int outcome)
{
    const souk_edge_t *e = s->x->c->loop->edge;
    const char *name = e->ups[s->upstream].name;
    const char *label =
        outcome == SOUK_EDGE_SUB_OK && s->status >= 500 ? "5xx" : outcome_label[outcome];
    s->outcome = outcome;
    if (e->cfg.upstream_requests)
        souk_metric_inc(e->cfg.upstream_requests, (const char *[]){name, label}, 1);
    if (e->cfg.upstream_seconds)
        souk_metric_observe(e->cfg.upstream_seconds, (const char *[]){name},
                            (double)(souk_now_mono_ns() - s->t0) / 1e9);
    end_span(s, strcmp(label, "ok") == 0 ? NULL : label);
    souk_edge__list_push_back(&s->x->c->loop->ready, &s->ready);
}

void souk_edge__sub_failed(sub_t *s, int why)
{
    s->status = 0;
    settle(s, why == FAIL_TIMEOUT   ? SOUK_EDGE_SUB_TIMEOUT
              : why == FAIL_REFUSED ? SOUK_EDGE_SUB_REFUSED
                                    : SOUK_EDGE_SUB_BROKEN);
}

void souk_edge__sub_response(upconn_t *u, bool reusable)
{
    sub_t *s = u->s;
    s->up = NULL;
    souk_edge__upconn_release(u, reusable);
    settle(s, SOUK_EDGE_SUB_OK);
}

/* ---- the response parser ---------------------------------------------------------- */

static sub_t *sof(http_parser *p)
{
    return ((upconn_t *)p->data)->s;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    return souk_edge__hc_add(&sof(p)->rh, 1, at, len) ? 0 : -1;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    return souk_edge__hc_add(&sof(p)->rh, 2, at, len) ? 0 : -1;
}

static int on_headers_complete(http_parser *p)
{
    sub_t *s = sof(p);
    if (!souk_edge__hc_end(&s->rh) || s->rh.too_many)
        return -1;
    s->status = p->status_code;
    return strcmp(s->method, "HEAD") == 0 ? 1 : 0; /* 1: a response to HEAD has no body */
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    return souk_buf_append(&sof(p)->body, at, len) == SOUK_OK ? 0 : -1; /* past max: broken */
}

static int on_message_complete(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

const http_parser_settings souk_edge__sub_settings = {
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- the handler's side ----------------------------------------------------------------- */

void souk_edge_defer(souk_edge_req_t *req, souk_edge_abort_fn on_abort, void *ud)
{
    souk_edge__exchange_t *x = req->x;
    if (x->decision) {
        souk_log_error("edge: defer after a decision for %s %s ignored", req->method, req->route);
        return;
    }
    x->decision = X_DEFER;
    x->on_abort = on_abort;
    x->abort_ud = ud;
}

souk_err_t souk_edge_sub_start(souk_edge_req_t *req, const souk_edge_sub_t *in)
{
    souk_err_t err = check(req, in);
    if (err)
        return err;
    souk_edge__exchange_t *x = req->x;
    loop_t *l = x->c->loop;
    size_t max = in->max_response ? in->max_response : SOUK_EDGE_SUB_DEFAULT_RESPONSE;
    sub_t *s = sub_new(l, SUB_REQUEST_MAX + in->body_len, max);
    s->x = x;
    s->upstream = in->upstream;
    s->method = souk_http_method_label(in->method, strlen(in->method));
    s->done = in->done;
    s->ud = in->ud;
    s->t0 = souk_now_mono_ns();
    souk_span_start(&s->span, SOUK_SPAN_CLIENT, s->method, in->parent ? in->parent : &req->trace,
                    NULL);
    if (!build(s, in, req)) {
        s->ended = true; /* never went out: no span, no count */
        sub_release(l, s);
        return SOUK_ELIMIT;
    }
    if (souk_span_recording(&s->span)) {
        size_t plen = strcspn(in->target, "?");
        char path[SOUK_SPAN_VALUE_MAX];
        snprintf(path, sizeof(path), "%.*s", (int)plen, in->target);
        souk_span_attr_str(&s->span, "http.request.method", s->method);
        souk_span_attr_str(&s->span, "server.address", l->edge->ups[s->upstream].host_header);
        souk_span_attr_str(&s->span, "url.path", path);
    }
    souk_edge__list_push_back(&x->subs, &s->link);
    x->nsubs++;
    int e = 0;
    upconn_t *u = souk_edge__upconn_get(l, s->upstream, &e);
    if (!u)
        souk_edge__sub_failed(s,
                              e == ECONNREFUSED || e == ENETUNREACH ? FAIL_REFUSED : FAIL_BROKEN);
    else
        souk_edge__upconn_start_sub(u, s);
    return SOUK_OK;
}

/* ---- delivery and cancellation ------------------------------------------------------------ */

/* The response's headers as the callback sees them, from s's collector. */
static size_t header_view(const sub_t *s, souk_edge_header_t *h, size_t cap)
{
    size_t n = s->outcome == SOUK_EDGE_SUB_OK ? s->rh.n : 0;
    n = n < cap ? n : cap;
    for (size_t i = 0; i < n; i++)
        souk_edge__hc_get(&s->rh, i, &h[i].name, &h[i].value);
    return n;
}

void souk_edge__check_stuck(souk_edge__exchange_t *x)
{
    if (x->decision != X_DEFER || x->nsubs > 0)
        return;
    souk_log_error("edge: %s %s deferred its reply and waits on nothing", x->req.method,
                   x->req.route);
    souk_edge_problem(&x->req, 500, "internal error");
}

static void deliver(sub_t *s)
{
    souk_edge__exchange_t *x = s->x;
    client_t *c = x->c;
    souk_edge_header_t headers[EDGE_SUB_HEADERS];
    bool ok = s->outcome == SOUK_EDGE_SUB_OK;
    souk_edge_sub_result_t res = {
        .outcome = (souk_edge_sub_outcome_t)s->outcome,
        .status = ok ? s->status : 0,
        .headers = headers,
        .nheaders = header_view(s, headers, SOUK_ARRAY_LEN(headers)),
        .body = ok && s->body.data ? s->body.data : "",
        .body_len = ok ? s->body.len : 0,
    };
    souk_edge__list_unlink(&s->link);
    x->nsubs--;
    s->done(&x->req, &res, s->ud);
    sub_release(c->loop, s);
    souk_edge__check_stuck(x);
    souk_edge__client_run(c); /* writes what the callback answered */
}

void souk_edge__ready_run(loop_t *l)
{
    /* A callback may answer its request, which cancels (and unlinks) the
     * request's other ready sub-requests: always take the head. */
    while (!list_empty(&l->ready)) {
        sub_t *s = container_of(l->ready.next, sub_t, ready);
        souk_edge__list_unlink(&s->ready);
        deliver(s);
    }
}

void souk_edge__subs_cancel(souk_edge__exchange_t *x)
{
    while (x->subs.next && !list_empty(&x->subs)) {
        sub_t *s = container_of(x->subs.next, sub_t, link);
        souk_edge__list_unlink(&s->link);
        souk_edge__list_unlink(&s->ready);
        if (s->up) {
            upconn_t *u = s->up; /* mid-exchange: the connection cannot be reused */
            u->s = NULL;
            s->up = NULL;
            souk_edge__upconn_close(u);
        }
        end_span(s, "cancelled");
        sub_release(x->c->loop, s);
    }
    x->nsubs = 0;
}
