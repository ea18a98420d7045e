/* proxy.c: the route table of ARCHITECTURE.md §4 and request forwarding.
 * Deny by default: a path not in the table is a 404 here (whatever the
 * token), and every route names who may pass (public, any user, admin)
 * before anything reaches a service. The table is matched by the one router
 * of souk/http.h, and what is forwarded is exactly what was matched: a path
 * with "." or ".." segments is refused, and the path goes out as it came
 * in (no client-side normalisation that could turn an authorised path into
 * another). Services check again; the edge check only saves them the work. */
#include "gateway.h"

#include <string.h>
#include <strings.h>

static const gw_rule_t rules[] = {
    {NULL, "/auth/register", UP_AUTH, ACCESS_PUBLIC, true},
    {NULL, "/auth/login", UP_AUTH, ACCESS_PUBLIC, true},
    {NULL, "/auth/refresh", UP_AUTH, ACCESS_PUBLIC, true},
    {NULL, "/auth/logout", UP_AUTH, ACCESS_PUBLIC, false},
    {NULL, "/auth/me", UP_AUTH, ACCESS_USER, false},
    {NULL, "/.well-known/jwks.json", UP_AUTH, ACCESS_PUBLIC, false},
    {"GET", "/users", UP_AUTH, ACCESS_ADMIN, false},
    {NULL, "/users", UP_AUTH, ACCESS_USER, false},
    {NULL, "/users/:id", UP_AUTH, ACCESS_USER, false},
    {"GET", "/products", UP_PRODUCT, ACCESS_PUBLIC, false},
    {"HEAD", "/products", UP_PRODUCT, ACCESS_PUBLIC, false},
    {NULL, "/products", UP_PRODUCT, ACCESS_ADMIN, false},
    {"GET", "/products/:id", UP_PRODUCT, ACCESS_PUBLIC, false},
    {"HEAD", "/products/:id", UP_PRODUCT, ACCESS_PUBLIC, false},
    {NULL, "/products/:id", UP_PRODUCT, ACCESS_ADMIN, false},
    {NULL, "/orders", UP_ORDER, ACCESS_USER, false},
    {NULL, "/orders/:id", UP_ORDER, ACCESS_USER, false},
    {NULL, "/orders/:id/cancel", UP_ORDER, ACCESS_USER, false},
    {NULL, "/notifications", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/unread-count", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/read-all", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/preferences", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/:id/read", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/deliveries", UP_NOTIFICATION, ACCESS_ADMIN, false},
    {NULL, "/notifications/deliveries/:id/retry", UP_NOTIFICATION, ACCESS_ADMIN, false},
    {NULL, "/reports/summary", UP_ANALYTICS, ACCESS_ADMIN, false},
    {NULL, "/reports/sales", UP_ANALYTICS, ACCESS_ADMIN, false},
    {NULL, "/reports/top-products", UP_ANALYTICS, ACCESS_ADMIN, false},
    {NULL, "/reports/categories", UP_ANALYTICS, ACCESS_ADMIN, false},
    {NULL, "/products/:id/recommendations", UP_ANALYTICS, ACCESS_PUBLIC, false},
    {NULL, "/me/recommendations", UP_ANALYTICS, ACCESS_USER, false},
};

souk_router_t *gw_rules_new(void)
{
    souk_router_t *r = souk_router_new();
    for (size_t i = 0; i < SOUK_ARRAY_LEN(rules); i++)
        souk_router_add(r, rules[i].method, rules[i].path, (void *)&rules[i]);
    return r;
}

const gw_rule_t *gw_rule_match(const souk_router_t *r, const char *method, const char *path)
{
    souk_route_match_t m;
    return souk_router_match(r, method, path, NULL, &m) ? m.data : NULL;
}

/* The number of dots a path segment [p, p+n) spells when it is made of
 * nothing else ("." or "%2e", in any case); -1 when it holds anything else. */
static int dots(const char *p, size_t n)
{
    int count = 0;
    for (size_t i = 0; i < n; count++) {
        if (p[i] == '.')
            i++;
        else if (n - i >= 3 && p[i] == '%' && p[i + 1] == '2' && (p[i + 2] | 0x20) == 'e')
            i += 3;
        else
            return -1;
    }
    return count;
}

/* True when a segment of path is "." or ".." (also percent-encoded): such a
 * path names another one once resolved, and we forward only what we
 * matched. */
static bool has_dot_segment(const char *path)
{
    for (const char *p = path; *p;) {
        p += *p == '/';
        size_t n = strcspn(p, "/");
        int d = dots(p, n);
        if (d == 1 || d == 2)
            return true;
        p += n;
    }
    return false;
}

/* Hop-by-hop headers and the ones the gateway sets itself are not forwarded. */
static bool forwardable(const char *name)
{
    static const char *const skip[] = {
        "connection",        "keep-alive",   "proxy-authorization",
        "proxy-connection",  "te",           "trailer",
        "transfer-encoding", "upgrade",      "host",
        "content-length",    "expect",       "x-forwarded-for",
        "x-forwarded-proto", "x-request-id", "traceparent",
        "tracestate",
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(skip); i++)
        if (strcasecmp(name, skip[i]) == 0)
            return false;
    return true;
}

#define MAX_FORWARDED_HEADERS 48

typedef struct {
    souk_arena_t *arena;
    const char *list[MAX_FORWARDED_HEADERS + 8];
    size_t n;
} headers_t;

static bool add_header(const char *name, const char *value, void *ud)
{
    headers_t *h = ud;
    if (forwardable(name) && h->n < MAX_FORWARDED_HEADERS)
        /* curl drops "Name:" with no value; "Name;" sends it empty */
        h->list[h->n++] = *value ? souk_arena_printf(h->arena, "%s: %s", name, value)
                                 : souk_arena_printf(h->arena, "%s;", name);
    return true;
}

souk_err_t gw_upstream_call(gateway_t *gw, souk_http_ctx_t *ctx, souk_arena_t *arena,
                            upstream_id_t up, const char *method, const char *path_and_query,
                            const void *body, size_t body_len, souk_http_response_t *resp)
{
    const upstream_t *u = &gw->upstreams[up];
    headers_t h = {.arena = arena};
    souk_http_each_header(ctx, add_header, &h);
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    h.list[h.n++] = souk_arena_printf(arena, "X-Request-Id: %s", ctx->request_id);
    h.list[h.n++] = souk_arena_printf(arena, "traceparent: %s", tp);
    h.list[h.n++] = souk_arena_printf(arena, "X-Forwarded-For: %s", ctx->client_ip);
    h.list[h.n++] = "X-Forwarded-Proto: http";
    h.list[h.n] = NULL;
    souk_http_request_t req = {
        .method = method,
        .url = souk_arena_printf(arena, "%s%s", u->base_url, path_and_query),
        .headers = h.list,
        .body = body,
        .body_len = body_len,
        .path_as_is = true,
        .timeout_ms = gw->timeout_ms,
        .connect_timeout_ms = 1000,
    };
    uint64_t t0 = souk_now_mono_ns();
    souk_err_t err = souk_http_fetch(gw->client, &req, resp);
    double secs = (double)(souk_now_mono_ns() - t0) / 1e9;
    const char *outcome = err == SOUK_OK         ? (resp->status >= 500 ? "5xx" : "ok")
                          : err == SOUK_ETIMEOUT ? "timeout"
                          : err == SOUK_EUNAVAIL ? "refused"
                                                 : "error";
    souk_metric_inc(gw->upstream_requests, (const char *[]){u->name, outcome}, 1);
    souk_metric_observe(gw->upstream_seconds, (const char *[]){u->name}, secs);
    return err;
}

/* Copies the upstream's end-to-end response headers onto our reply. */
static void copy_headers(souk_http_ctx_t *ctx, const souk_http_response_t *resp)
{
    static const char *const keep[] = {
        "Content-Type",  "Location", "Retry-After",   "WWW-Authenticate",   "Allow",
        "Cache-Control", "ETag",     "Last-Modified", "Idempotent-Replayed"};
    char value[1024];
    for (size_t i = 0; i < SOUK_ARRAY_LEN(keep); i++)
        if (souk_http_response_header(resp, keep[i], value, sizeof(value)))
            souk_http_set_header(ctx, keep[i], value);
}

static void upstream_failed(souk_http_ctx_t *ctx, const upstream_t *u, souk_err_t err)
{
    const char *detail = souk_arena_printf(ctx->arena, "the %s service %s", u->name,
                                           err == SOUK_ETIMEOUT   ? "did not answer in time"
                                           : err == SOUK_EUNAVAIL ? "is unavailable"
                                                                  : "failed");
    int status = err == SOUK_ETIMEOUT ? 504 : err == SOUK_EUNAVAIL ? 503 : 502;
    if (status == 503)
        souk_http_set_header(ctx, "Retry-After", "5");
    souk_http_problem(ctx, status, detail);
}

void gw_proxy(souk_http_ctx_t *ctx, void *ud)
{
    gateway_t *gw = ud;
    if (has_dot_segment(ctx->path)) {
        ctx->route = "dot_segments";
        souk_http_problem(ctx, 400, "paths with . or .. segments are not accepted");
        return;
    }
    const gw_rule_t *r = gw_rule_match(gw->rules, ctx->method, ctx->path);
    if (!r) {
        souk_http_problem(ctx, 404, "no such resource");
        return;
    }
    ctx->route = r->path;
    if (r->credentials && !gw_limit(ctx, gw, gw->credential_limit, "credentials"))
        return;
    souk_claims_t claims;
    if (r->access != ACCESS_PUBLIC &&
        !souk_auth_require(ctx, gw->verifier, r->access == ACCESS_ADMIN ? SOUK_ROLE_ADMIN : 0,
                           &claims))
        return;
    const upstream_t *u = &gw->upstreams[r->upstream];
    if (!ctx->log_fields)
        ctx->log_fields = json_object();
    json_object_set_new(ctx->log_fields, "upstream", json_string(u->name));
    if (!u->base_url) {
        souk_http_problem(ctx, 503,
                          souk_arena_printf(ctx->arena, "the %s service is not deployed", u->name));
        return;
    }
    souk_http_response_t resp;
    souk_err_t err = gw_upstream_call(gw, ctx, ctx->arena, r->upstream, ctx->method, ctx->url,
                                      ctx->body, ctx->body_len, &resp);
    if (err) {
        upstream_failed(ctx, u, err);
    } else {
        copy_headers(ctx, &resp);
        souk_http_reply_raw(ctx, (int)resp.status, NULL, resp.body.data, resp.body.len);
    }
    souk_http_response_cleanup(&resp);
}
