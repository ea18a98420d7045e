/* client.c: one client connection: reading and parsing requests (a scan of
 * the raw head for what http-parser tolerates but a proxy must not pass on:
 * folded lines, NUL, bare CR or LF, unknown methods; then http-parser for
 * the rest, with the framing checks on the complete head), handing each
 * complete request to the handler, queueing replies and relayed responses,
 * writing them, and the access log line and metrics of each request.
 * Requests on a connection are served one at a time, so pipelined requests
 * are answered in order; the next is not read while one is in flight. A
 * connection refused mid-request is shut down for writing and drained for a
 * moment (lingering close), so the client reads the answer instead of a
 * reset. A deferred request keeps its connection busy until a sub-request's
 * callback answers it (sub.c); if the client goes first, its sub-requests
 * are cancelled and its owner told (on_abort) before anything is freed. */
#include "edge_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- header collector ------------------------------------------------------ */

void souk_edge__hc_init(hcollect_t *h, size_t max_bytes, size_t max_headers)
{
    souk_buf_init(&h->buf, max_bytes);
    h->max = max_headers;
    h->off = souk_calloc(max_headers ? max_headers : 1, sizeof(*h->off));
    souk_edge__hc_reset(h);
}

void souk_edge__hc_reset(hcollect_t *h)
{
    h->buf.len = 0;
    h->n = 0;
    h->state = 0;
    h->too_many = false;
}

void souk_edge__hc_cleanup(hcollect_t *h)
{
    souk_buf_cleanup(&h->buf);
    souk_free(h->off);
    h->off = NULL;
}

/* what: 1 a piece of a name, 2 a piece of a value. False past a bound. */
bool souk_edge__hc_add(hcollect_t *h, int what, const char *at, size_t len)
{
    if (what != h->state) {
        if (h->state && souk_buf_append(&h->buf, "", 1) != SOUK_OK) /* ends the last one */
            return false;
        if (what == 1) {
            if (h->n == h->max) {
                h->too_many = true;
                return false;
            }
            h->off[h->n][0] = h->buf.len;
            h->off[h->n][1] = h->buf.len; /* an empty value until one comes */
            h->n++;
        } else {
            h->off[h->n - 1][1] = h->buf.len;
        }
        h->state = what;
    }
    return souk_buf_append(&h->buf, at, len) == SOUK_OK;
}

bool souk_edge__hc_end(hcollect_t *h)
{
    if (h->state == 1 && h->n) /* a name without a value */
        h->off[h->n - 1][1] = h->buf.len + 1;
    if (h->state == 1 && souk_buf_append(&h->buf, "", 1) != SOUK_OK)
        return false;
    bool ok = !h->state || souk_buf_append(&h->buf, "", 1) == SOUK_OK;
    h->state = 0;
    return ok;
}

void souk_edge__hc_get(const hcollect_t *h, size_t i, const char **name, const char **value)
{
    *name = h->buf.data + h->off[i][0];
    *value = h->buf.data + h->off[i][1];
}

static bool name_is(const char *name, const char *want)
{
    return strcasecmp(name, want) == 0;
}

bool souk_edge__hop_by_hop(const char *name, const souk_edge__exchange_t *x)
{
    static const char *const hop[] = {"connection",
                                      "keep-alive",
                                      "proxy-connection",
                                      "proxy-authenticate",
                                      "proxy-authorization",
                                      "te",
                                      "trailer",
                                      "transfer-encoding",
                                      "upgrade"};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(hop); i++)
        if (name_is(name, hop[i]))
            return true;
    for (size_t i = 0; x && i < x->nconn_tok; i++)
        if (name_is(name, x->conn_tok[i]))
            return true;
    return false;
}

/* ---- queue and writes -------------------------------------------------------- */

bool souk_edge__out(client_t *c, const void *p, size_t n)
{
    if (souk_buf_append(&c->out, p, n) == SOUK_OK)
        return true;
    souk_log_warn("edge: response queue over its limit; closing the connection");
    c->close_after = true;
    c->eof = true;
    return false;
}

static void outf(client_t *c, const char *fmt, ...) SOUK_PRINTF(2, 3);
static void outf(client_t *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(buf)) {
        souk_edge__out(c, buf, (size_t)n);
        return;
    }
    char *big = souk_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    souk_edge__out(c, big, (size_t)n);
    souk_free(big);
}

/* Writes what is queued. True when the queue is empty; false when the
 * socket is full (output waits for EPOLLOUT) or the client is gone. */
static bool flush(client_t *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->io.fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            if (c->timer.list == T_SEND) /* progress: the slow-reader clock restarts */
                souk_edge__timer_set(c->loop, &c->timer, T_SEND);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->timer.list != T_SEND)
                souk_edge__timer_set(c->loop, &c->timer, T_SEND);
            return false;
        }
        souk_edge__client_close(c);
        return false;
    }
    c->out.len = c->out_off = 0;
    return true;
}

/* ---- requests ------------------------------------------------------------------ */

static void scan_reset(client_t *c)
{
    c->scan_done = c->scan_cr = false;
    c->scan_line = c->scan_line_len = c->scan_method_len = 0;
    c->scan_method_done = false;
    c->head_bytes = 0;
}

static void begin_request(client_t *c)
{
    souk_edge__exchange_t *x = &c->x;
    /* The buffers live as long as the connection; the rest is per request. */
    souk_buf_t url = x->url, body = x->body, upreq = x->upreq;
    hcollect_t hc = x->hc, rh = x->rh;
    memset(x, 0, sizeof(*x));
    x->url = url, x->body = body, x->upreq = upreq, x->hc = hc, x->rh = rh;
    x->url.len = x->body.len = x->upreq.len = 0;
    souk_edge__list_init(&x->subs);
    souk_edge__hc_reset(&x->hc);
    souk_edge__hc_reset(&x->rh);
    x->c = c;
    x->t0 = souk_now_mono_ns();
    x->req.arena = souk_arena_new();
    x->req.route = "unmatched";
    x->req.method = SOUK_METRIC_OTHER;
    x->req.client_ip = c->ip;
    x->req.x = x;
    c->in_request = true;
    c->state = C_READING;
    souk_edge__timer_set(c->loop, &c->timer, T_READ);
}

static void end_request(client_t *c)
{
    souk_edge__exchange_t *x = &c->x;
    json_decref(x->req.log_fields);
    x->req.log_fields = NULL;
    souk_arena_free(x->req.arena);
    x->req.arena = NULL;
    c->in_request = false;
    scan_reset(c);
}

static int fail(souk_edge__exchange_t *x, int status, const char *detail)
{
    if (!x->fail_status) {
        x->fail_status = status;
        x->fail_detail = detail;
    }
    http_parser_pause(&x->c->parser, 1);
    return 0;
}

/* One byte of the head; 0, or the status the request fails with. */
static int scan_byte(client_t *c, unsigned char b, const char **why)
{
    const souk_edge_config_t *cfg = &c->loop->edge->cfg;
    if (b == 0)
        return *why = "NUL in the request head", 400;
    if (c->scan_cr && b != '\n')
        return *why = "a bare CR in the request head", 400;
    if (b == '\r') {
        c->scan_cr = true;
        return 0;
    }
    if (b == '\n') {
        if (!c->scan_cr)
            return *why = "lines must end with CRLF", 400;
        c->scan_cr = false;
        if (c->scan_line_len == 0) {
            c->scan_done = c->scan_line > 0; /* leading empty lines are skipped */
            return 0;
        }
        if (c->scan_line++ == 0 && !c->scan_method_done)
            return *why = "malformed request line", 400;
        c->scan_line_len = 0;
        return 0;
    }
    if (c->scan_line > 0 && c->scan_line_len == 0 && (b == ' ' || b == '\t'))
        return *why = "folded header lines are not accepted", 400;
    c->scan_line_len++;
    if (c->scan_line == 0) {
        if (!c->scan_method_done && b == ' ') {
            c->scan_method_done = true;
            if (c->scan_method_len > sizeof(c->scan_method) ||
                strcmp(souk_http_method_label(c->scan_method, c->scan_method_len),
                       SOUK_METRIC_OTHER) == 0)
                return *why = "this method is not implemented", 501;
        } else if (!c->scan_method_done) {
            if (c->scan_method_len < sizeof(c->scan_method))
                c->scan_method[c->scan_method_len] = (char)b;
            c->scan_method_len++;
        }
        if (c->scan_line_len > cfg->url_limit + 32)
            return *why = "the request target is too long", 414;
    } else if (++c->head_bytes > cfg->header_limit) {
        return *why = "the request headers are too large", 431;
    }
    return 0;
}

/* Scans [p, p+n) up to the end of the head; *used is what the parser may
 * be given. Returns 0 or the status the request fails with. */
static int scan(client_t *c, const char *p, size_t n, size_t *used, const char **why)
{
    for (size_t i = 0; i < n; i++) {
        int st = scan_byte(c, (unsigned char)p[i], why);
        if (st)
            return st;
        if (c->scan_done) {
            *used = i + 1;
            return 0;
        }
    }
    *used = n;
    return 0;
}

static souk_edge__exchange_t *xof(http_parser *p)
{
    return &((client_t *)p->data)->x;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    souk_edge__exchange_t *x = xof(p);
    if (x->url.len + len > x->c->loop->edge->cfg.url_limit ||
        souk_buf_append(&x->url, at, len) != SOUK_OK)
        return fail(x, 414, "the request target is too long");
    return 0;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
    souk_edge__exchange_t *x = xof(p);
    return souk_edge__hc_add(&x->hc, 1, at, len)
               ? 0
               : fail(x, 431, "the request headers are too large");
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    souk_edge__exchange_t *x = xof(p);
    return souk_edge__hc_add(&x->hc, 2, at, len)
               ? 0
               : fail(x, 431, "the request headers are too large");
}

/* RFC 9110 token characters: http-parser, lenient by default, lets a space
 * into a name ("Content-Length : 5"), which another server may read as
 * Content-Length. */
static bool name_ok(const char *n)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    if (!*n)
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              strchr(extra, *n)))
            return false;
    return true;
}

static bool value_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

static bool token_is(const char *v, const char *want)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    return n == strlen(want) && strncasecmp(v, want, n) == 0;
}

static void connection_tokens(souk_edge__exchange_t *x, const char *v)
{
    for (const char *p = v; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,");
        if (n && n < sizeof(x->conn_tok[0]) && x->nconn_tok < EDGE_MAX_CONN_TOK) {
            memcpy(x->conn_tok[x->nconn_tok], p, n);
            x->conn_tok[x->nconn_tok++][n] = '\0';
        }
        p += n;
    }
}

/* The framing rules on the complete head: one way to find the body's end. */
static int check_head(souk_edge__exchange_t *x, http_parser *p)
{
    const char *name, *value;
    for (size_t i = 0; i < x->hc.n; i++) {
        souk_edge__hc_get(&x->hc, i, &name, &value);
        if (!name_ok(name))
            return fail(x, 400, "a header name holds a character outside the token set");
        if (!value_ok(value))
            return fail(x, 400, "a header value holds a control character");
        if (name_is(name, "content-length"))
            x->cl_count++;
        else if (name_is(name, "transfer-encoding") && ++x->te_count)
            x->te_chunked = token_is(value, "chunked");
        else if (name_is(name, "expect"))
            x->expect_continue = token_is(value, "100-continue");
        else if (name_is(name, "connection"))
            connection_tokens(x, value);
    }
    if (x->cl_count > 1)
        return fail(x, 400, "more than one Content-Length");
    if (x->te_count && x->cl_count)
        return fail(x, 400, "Transfer-Encoding and Content-Length together");
    if (x->te_count > 1 || (x->te_count && !x->te_chunked))
        return fail(x, 400, "only the chunked transfer coding is accepted");
    if (x->cl_count && p->content_length > x->c->loop->edge->cfg.body_limit)
        return fail(x, 413, "request body exceeds the size limit");
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    souk_edge__exchange_t *x = xof(p);
    client_t *c = x->c;
    if (!souk_edge__hc_end(&x->hc))
        return fail(x, 431, "the request headers are too large");
    if (x->hc.too_many)
        return fail(x, 431, "too many request headers");
    if (check_head(x, p) != 0 || x->fail_status)
        return 0;
    x->head_done = true;
    x->http10 = p->http_major == 1 && p->http_minor == 0;
    x->keepalive = http_should_keep_alive(p);
    bool body_coming = x->te_chunked || (x->cl_count && p->content_length > 0);
    if (x->expect_continue && body_coming && !x->http10) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (souk_edge__out(c, cont, sizeof(cont) - 1))
            flush(c);
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    souk_edge__exchange_t *x = xof(p);
    if (x->body.len + len > x->c->loop->edge->cfg.body_limit ||
        souk_buf_append(&x->body, at, len) != SOUK_OK)
        return fail(x, 413, "request body exceeds the size limit");
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_parser_pause(p, 1); /* one request at a time: the next waits in the buffer */
    return 0;
}

static const http_parser_settings req_settings = {
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- replies -------------------------------------------------------------------- */

void souk_edge__head(client_t *c, int status, const char *headers, size_t hlen, int frame,
                     size_t content_length)
{
    souk_edge__exchange_t *x = &c->x;
    char tp[SOUK_TRACEPARENT_LEN + 1];
    outf(c, "HTTP/1.1 %d %s\r\n", status, souk_http_status_title(status));
    if (hlen)
        souk_edge__out(c, headers, hlen);
    if (x->req.request_id) {
        souk_trace_format(&x->req.trace, tp);
        outf(c, "X-Request-Id: %s\r\ntraceparent: %s\r\n", x->req.request_id, tp);
    }
    for (size_t i = 0; i < x->nextra; i++)
        outf(c, "%s: %s\r\n", x->extra[i].name, x->extra[i].value);
    if (frame == FRAME_LENGTH)
        outf(c, "Content-Length: %zu\r\n", content_length);
    else if (frame == FRAME_CHUNKED)
        outf(c, "Transfer-Encoding: chunked\r\n");
    if (frame == FRAME_CLOSE || !x->keepalive || c->loop->stopping)
        c->close_after = true;
    if (c->close_after)
        outf(c, "Connection: close\r\n\r\n");
    else if (x->http10)
        outf(c, "Connection: keep-alive\r\n\r\n");
    else
        souk_edge__out(c, "\r\n", 2);
    x->head_sent = true;
}

static bool quiet_path(const char *path)
{
    return path && (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
                    strcmp(path, "/metrics") == 0);
}

static void access_log(souk_edge__exchange_t *x, double seconds)
{
    souk_edge_t *e = x->c->loop->edge;
    char status[8];
    snprintf(status, sizeof(status), "%d", x->status);
    souk_metric_inc(e->requests, (const char *[]){e->service, x->req.method, x->req.route, status},
                    1);
    souk_metric_observe(e->durations, (const char *[]){e->service, x->req.method, x->req.route},
                        seconds);
    souk_log_level_t level = quiet_path(x->req.path) ? SOUK_LOG_DEBUG
                             : x->status >= 500      ? SOUK_LOG_WARN
                                                     : SOUK_LOG_INFO;
    if (!souk_log_enabled(level))
        return;
    json_t *f = json_object();
    json_object_set_new(f, "http.request.method", json_string(x->req.method));
    json_object_set_new(f, "url.path", json_string(x->req.path ? x->req.path : "/"));
    json_object_set_new(f, "http.route", json_string(x->req.route));
    json_object_set_new(f, "http.response.status_code", json_integer(x->status));
    json_object_set_new(f, "event.duration", json_integer((json_int_t)(seconds * 1e9)));
    json_object_set_new(f, "client.ip", json_string(x->req.client_ip));
    if (x->decision == X_FORWARD)
        json_object_set_new(f, "upstream", json_string(e->ups[x->upstream].name));
    if (json_is_object(x->req.log_fields))
        json_object_update_missing(f, x->req.log_fields);
    souk_log_ctx_t lc = {x->req.request_id, x->req.trace.trace_id, x->req.trace.span_id};
    souk_log_json(level, &lc, "request", f);
    json_decref(f);
}

/* The request's server span: every request but probes and scrapes. */
static void end_span(souk_edge__exchange_t *x)
{
    souk_span_t *s = &x->span;
    const souk_edge_req_t *r = &x->req;
    if (!r->method || quiet_path(r->path) || !souk_span_recording(s))
        return;
    snprintf(s->name, sizeof(s->name), "%s %s", r->method, r->route);
    souk_span_attr_str(s, "http.request.method", r->method);
    souk_span_attr_str(s, "http.route", r->route);
    souk_span_attr_str(s, "url.path", r->path ? r->path : "/");
    souk_span_attr_int(s, "http.response.status_code", x->status);
    souk_span_attr_str(s, "client.address", r->client_ip);
    souk_span_attr_str(s, "http.request.id", r->request_id);
    if (x->status >= 500)
        souk_span_error(s, souk_http_status_title(x->status));
    souk_span_end(s);
}

void souk_edge__exchange_end(souk_edge__exchange_t *x, bool logged)
{
    souk_edge_t *e = x->c->loop->edge;
    end_span(x);
    x->done = true;
    if (x->counted)
        souk_metric_add(e->inflight, (const char *[]){e->service}, -1);
    x->counted = false;
    if (logged)
        access_log(x, (double)(souk_now_mono_ns() - x->t0) / 1e9);
    x->c->state = C_WRITING;
}

static void reply_body(souk_edge__exchange_t *x, int status, const char *headers, size_t hlen,
                       const void *body, size_t len)
{
    client_t *c = x->c;
    x->status = status;
    bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    souk_edge__head(c, status, headers, hlen, no_body ? FRAME_NONE : FRAME_LENGTH, len);
    if (!no_body && len && strcmp(x->req.method, "HEAD") != 0)
        souk_edge__out(c, body, len);
    souk_edge__exchange_end(x, true);
}

static void problem(souk_edge__exchange_t *x, int status, const char *detail)
{
    json_t *p = souk_http_problem_body(status, detail, x->req.path, x->req.request_id, NULL);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (!text)
        souk_die_oom(0);
    const char *h = status == 401 ? "Content-Type: application/problem+json\r\n"
                                    "WWW-Authenticate: Bearer realm=\"souk\"\r\n"
                                  : "Content-Type: application/problem+json\r\n";
    reply_body(x, status, h, strlen(h), text, strlen(text));
    free(text);
}

void souk_edge__fail(souk_edge__exchange_t *x, int status, const char *detail)
{
    problem(x, status, detail);
}

/* ---- the handler's side ------------------------------------------------------------ */

const char *souk_edge_header(const souk_edge_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (name_is(req->headers[i].name, name))
            return req->headers[i].value;
    return NULL;
}

const char *souk_edge_bearer(const souk_edge_req_t *req)
{
    return souk_http_bearer_of(souk_edge_header(req, "Authorization"));
}

void souk_edge_set_header(souk_edge_req_t *req, const char *name, const char *value)
{
    souk_edge__exchange_t *x = req->x;
    if (x->nextra == EDGE_MAX_EXTRA || strpbrk(value, "\r\n") || strpbrk(name, "\r\n: "))
        return;
    x->extra[x->nextra++] = (souk_edge_header_t){souk_arena_strdup(req->arena, name),
                                                 souk_arena_strdup(req->arena, value)};
}

/* A request is decided once; a deferred one may then only be answered,
 * which cancels what it still has in flight. */
static bool decide(souk_edge__exchange_t *x, int decision)
{
    if (x->decision && !(x->decision == X_DEFER && decision == X_REPLY)) {
        souk_log_error("edge: second decision for %s %s ignored", x->req.method, x->req.route);
        return false;
    }
    if (x->decision == X_DEFER)
        souk_edge__subs_cancel(x);
    x->decision = decision;
    return true;
}

void souk_edge_reply(souk_edge_req_t *req, int status, const char *content_type, const void *body,
                     size_t len)
{
    souk_edge__exchange_t *x = req->x;
    if (!decide(x, X_REPLY))
        return;
    char h[256];
    int n = content_type ? snprintf(h, sizeof(h), "Content-Type: %s\r\n", content_type) : 0;
    reply_body(x, status, h, n > 0 && (size_t)n < sizeof(h) ? (size_t)n : 0, body, len);
}

void souk_edge_problem(souk_edge_req_t *req, int status, const char *detail)
{
    souk_edge__exchange_t *x = req->x;
    if (decide(x, X_REPLY))
        problem(x, status, detail);
}

void souk_edge_forward(souk_edge_req_t *req, size_t upstream)
{
    souk_edge__exchange_t *x = req->x;
    if (upstream >= x->c->loop->edge->nups) {
        souk_log_error("edge: no upstream %zu", upstream);
        return;
    }
    if (!decide(x, X_FORWARD))
        return;
    x->upstream = upstream;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

/* The view the handler gets, from what the parser collected. */
static bool build_view(souk_edge__exchange_t *x)
{
    souk_edge_req_t *r = &x->req;
    client_t *c = x->c;
    r->method = souk_http_method_label(c->scan_method, c->scan_method_len);
    r->url = souk_arena_strndup(r->arena, x->url.data ? x->url.data : "", x->url.len);
    const char *q = strchr(r->url, '?');
    r->path = q ? souk_arena_strndup(r->arena, r->url, (size_t)(q - r->url)) : r->url;
    r->query = q ? q + 1 : NULL;
    souk_edge_header_t *h = souk_arena_alloc(r->arena, (x->hc.n ? x->hc.n : 1) * sizeof(*h));
    for (size_t i = 0; i < x->hc.n; i++)
        souk_edge__hc_get(&x->hc, i, &h[i].name, &h[i].value);
    r->headers = h;
    r->nheaders = x->hc.n;
    if (souk_http_proxies_any(c->loop->edge->proxies)) {
        char ip[INET6_ADDRSTRLEN];
        souk_http_client_ip(c->loop->edge->proxies, (const struct sockaddr *)&c->peer,
                            souk_edge_header(r, "X-Forwarded-For"), ip);
        r->client_ip = souk_arena_strdup(r->arena, ip);
    }
    r->request_id = souk_http_request_id(souk_edge_header(r, "X-Request-Id"), r->arena);
    souk_span_start(&x->span, SOUK_SPAN_SERVER, r->method, NULL,
                    souk_edge_header(r, "traceparent"));
    r->trace = x->span.ctx;
    r->body = x->body.len ? x->body.data : NULL;
    r->body_len = x->body.len;
    /* origin-form only: a proxy-style absolute target names another host */
    return r->url[0] == '/' || (strcmp(r->url, "*") == 0 && strcmp(r->method, "OPTIONS") == 0);
}

static void dispatch(client_t *c)
{
    souk_edge__exchange_t *x = &c->x;
    souk_edge_t *e = c->loop->edge;
    souk_edge__timer_clear(&c->timer);
    c->state = C_BUSY;
    bool ok = build_view(x);
    souk_metric_add(e->inflight, (const char *[]){e->service}, 1);
    x->counted = true;
    if (!ok) {
        c->close_after = true;
        problem(x, 400, "the request target must be a path");
        return;
    }
    e->cfg.handler(&x->req, e->cfg.handler_ud);
    if (x->decision == X_NONE) {
        souk_log_error("edge: handler for %s %s decided nothing", x->req.method, x->req.route);
        x->decision = X_REPLY;
        problem(x, 500, "internal error");
    } else if (x->decision == X_FORWARD) {
        souk_edge__forward_start(x);
    } else if (x->decision == X_DEFER) {
        souk_edge__check_stuck(x);
    }
}

/* A request the engine refuses: answered, then the connection closes. */
static void refuse(client_t *c, int status, const char *detail)
{
    souk_edge__exchange_t *x = &c->x;
    souk_edge__timer_clear(&c->timer);
    c->state = C_BUSY;
    c->close_after = true;
    x->keepalive = false;
    if (x->req.request_id == NULL) {
        char *id = souk_arena_alloc(x->req.arena, SOUK_UUID_STRLEN + 1);
        souk_uuid_v4(id);
        x->req.request_id = id;
        souk_span_start(&x->span, SOUK_SPAN_SERVER, "refused", NULL, NULL);
        x->req.trace = x->span.ctx;
    }
    x->req.method = souk_http_method_label(c->scan_method, c->scan_method_len);
    if (status == 501)
        x->req.route = "method_not_implemented";
    if (x->url.len && x->url.data[0] == '/') {
        size_t n = strcspn(x->url.data, "?");
        x->req.path =
            souk_arena_strndup(x->req.arena, x->url.data, n < x->url.len ? n : x->url.len);
    }
    x->decision = X_REPLY;
    problem(x, status, detail);
}

static int parser_status(enum http_errno he, const char **why)
{
    switch (he) {
    case HPE_HEADER_OVERFLOW:
        return *why = "the request headers are too large", 431;
    case HPE_INVALID_METHOD:
        return *why = "this method is not implemented", 501;
    default:
        return *why = http_errno_description(he), 400;
    }
}

/* Feeds buffered input to the parser. True when a request was dispatched or
 * refused (the client's state changed). */
static bool parse(client_t *c)
{
    while (c->in_start < c->in_end) {
        const char *p = c->in + c->in_start;
        size_t n = c->in_end - c->in_start;
        const char *why = NULL;
        if (!c->in_request)
            begin_request(c);
        if (!c->scan_done) {
            int st = scan(c, p, n, &n, &why);
            if (st) {
                refuse(c, st, why);
                return true;
            }
        }
        size_t used = http_parser_execute(&c->parser, &req_settings, p, n);
        c->in_start += used;
        if (c->closed)
            return true;
        enum http_errno he = HTTP_PARSER_ERRNO(&c->parser);
        if (c->x.fail_status) {
            refuse(c, c->x.fail_status, c->x.fail_detail);
            return true;
        }
        if (he == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            dispatch(c);
            return true;
        }
        if (he != HPE_OK) {
            int st = parser_status(he, &why);
            refuse(c, st, why);
            return true;
        }
    }
    c->in_start = c->in_end = 0;
    return false;
}

/* Input already parsed makes room for more: the parser and the collectors
 * keep copies, never pointers into c->in, so what is left unparsed (the
 * start of a pipelined request) can move to the front. Without this a
 * keep-alive connection stopped being read once its requests had filled
 * the buffer once. */
static void make_room(client_t *c)
{
    if (c->in_start == 0)
        return;
    size_t left = c->in_end - c->in_start;
    if (left)
        memmove(c->in, c->in + c->in_start, left);
    c->in_start = 0;
    c->in_end = left;
}

static bool read_some(client_t *c)
{
    size_t space = EDGE_IN_SIZE - c->in_end;
    ssize_t n = recv(c->io.fd, c->in + c->in_end, space, 0);
    if (n > 0) {
        c->in_end += (size_t)n;
        /* A short read emptied the socket; the next byte brings a new edge. */
        if ((size_t)n < space && !c->rdhup)
            c->can_read = false;
        return true;
    }
    if (n < 0 && errno == EINTR)
        return true;
    c->can_read = false;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        c->eof = true;
    return false;
}

/* Lingering close: what a refused client still sends is read and dropped
 * until it closes or EDGE_LINGER_MS pass. */
static void linger(client_t *c)
{
    if (!c->lingering) {
        c->lingering = true;
        shutdown(c->io.fd, SHUT_WR);
        souk_edge__timer_set(c->loop, &c->timer, T_LINGER);
    }
    char sink[4096];
    for (;;) {
        ssize_t n = recv(c->io.fd, sink, sizeof(sink), 0);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        souk_edge__client_close(c);
        return;
    }
}

/* The response is out: the connection is ready for the next request. */
static void response_sent(client_t *c)
{
    end_request(c);
    c->state = C_IDLE;
    if (c->close_after) {
        if (c->in_end > c->in_start || c->x.fail_status || !c->eof)
            linger(c);
        else
            souk_edge__client_close(c);
        return;
    }
    souk_edge__timer_set(c->loop, &c->timer, T_IDLE);
}

void souk_edge__client_run(client_t *c)
{
    while (!c->closed) {
        if (c->lingering) {
            linger(c);
            return;
        }
        if (c->state == C_WRITING) {
            if (!flush(c))
                return;
            if (c->x.up && !c->x.done) { /* relaying: more is coming */
                c->state = C_BUSY;
                souk_edge__timer_clear(&c->timer);
                souk_edge__upconn_resume(c->x.up);
                continue;
            }
            response_sent(c);
            continue;
        }
        if (c->state == C_BUSY)
            return;
        if (c->in_start < c->in_end && parse(c))
            continue;
        make_room(c);
        if (c->can_read && !c->eof && c->in_end < EDGE_IN_SIZE && read_some(c))
            continue;
        if (c->eof || c->loop->stopping)
            souk_edge__client_close(c);
        return;
    }
}

/* ---- connection lifecycle ------------------------------------------------------------- */

void souk_edge__client_accept(loop_t *l, int fd, const struct sockaddr_storage *peer)
{
    const souk_edge_config_t *cfg = &l->edge->cfg;
    client_t *c = souk_calloc(1, sizeof(*c));
    c->io = (io_t){IO_CLIENT, fd};
    c->loop = l;
    c->timer.list = -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (peer->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->ip, sizeof(c->ip));
    else if (peer->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->ip, sizeof(c->ip));
    else
        snprintf(c->ip, sizeof(c->ip), "unknown");
    c->peer = *peer;
    souk_edge__list_init(&c->x.subs);
    souk_buf_init(&c->out, EDGE_OUT_MAX);
    souk_buf_init(&c->x.url, cfg->url_limit + 1);
    souk_buf_init(&c->x.body, cfg->body_limit + 1);
    souk_buf_init(&c->x.upreq, cfg->url_limit + cfg->header_limit + cfg->body_limit + 4096);
    souk_edge__hc_init(&c->x.hc, cfg->header_limit + 2 * cfg->max_headers + 2, cfg->max_headers);
    souk_edge__hc_init(&c->x.rh, EDGE_RESP_HEAD, 256);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    scan_reset(c);
    souk_edge__list_push_back(&l->clients, &c->all);
    l->nclients++;
    if (!souk_edge__watch(l, &c->io)) {
        souk_edge__client_close(c);
        return;
    }
    c->state = C_IDLE;
    souk_edge__timer_set(l, &c->timer, T_IDLE);
}

void souk_edge__client_event(client_t *c, uint32_t events)
{
    if (events & EPOLLERR) {
        souk_edge__client_close(c);
        return;
    }
    if (events & (EPOLLRDHUP | EPOLLHUP))
        c->rdhup = true;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
        c->can_read = true;
    souk_edge__client_run(c);
}

void souk_edge__client_timeout(client_t *c)
{
    if (c->state == C_READING && c->in_request && !c->lingering && c->x.url.len + c->x.hc.n > 0) {
        refuse(c, 408, "the request did not arrive in time");
        souk_edge__client_run(c);
        return;
    }
    souk_edge__client_close(c); /* idle, lingering, or a reader that stopped reading */
}

void souk_edge__client_close(client_t *c)
{
    if (c->closed)
        return;
    c->closed = true;
    loop_t *l = c->loop;
    souk_edge__exchange_t *x = &c->x;
    if (x->up)
        souk_edge__upconn_abandon(x->up);
    if (c->in_request && x->decision == X_DEFER) { /* unanswered: its owner lets go */
        souk_edge__subs_cancel(x);
        if (x->on_abort)
            x->on_abort(&x->req, x->abort_ud);
    }
    if (x->counted)
        souk_metric_add(l->edge->inflight, (const char *[]){l->edge->service}, -1);
    if (c->in_request)
        end_request(c);
    souk_edge__timer_clear(&c->timer);
    souk_edge__list_unlink(&c->all);
    l->nclients--;
    souk_edge__unwatch_close(l, &c->io);
    souk_buf_cleanup(&c->out);
    souk_buf_cleanup(&x->url);
    souk_buf_cleanup(&x->body);
    souk_buf_cleanup(&x->upreq);
    souk_edge__hc_cleanup(&x->hc);
    souk_edge__hc_cleanup(&x->rh);
    souk_edge__list_push_back(&l->dead_clients, &c->all); /* freed after this batch */
}
