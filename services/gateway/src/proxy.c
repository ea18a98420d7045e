/* proxy.c: the route table of ARCHITECTURE.md §4 and the gateway's decision
 * for each request, made the same whichever engine serves it (the edge runs
 * it on its event loop). Deny by default: a path not in the table never
 * reaches a service (it goes to the gateway's own server, which has its
 * routes or a 404), and every route names who may pass (anyone, any valid
 * token, or a token holding given permissions: never a role name) before
 * anything reaches a service. The table is matched by the one router
 * of souk/http.h, and what is forwarded is exactly what was matched: a path
 * with "." or ".." segments is refused, and the path goes out as it came
 * in (no client-side normalisation that could turn an authorised path into
 * another). Services check again; the edge check only saves them the work. */
#include "gateway.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* OAuth 2.0's token endpoint takes form bodies (RFC 6749 §4.4.2), not JSON. */
#define OAUTH_TOKEN "/oauth/token"

static const gw_rule_t rules[] = {
    {NULL, "/auth/register", UP_AUTH, ACCESS_PUBLIC, true},
    {NULL, "/auth/login", UP_AUTH, ACCESS_PUBLIC, true},
    {NULL, "/auth/refresh", UP_AUTH, ACCESS_PUBLIC, true},
    {NULL, "/auth/logout", UP_AUTH, ACCESS_PUBLIC, false},
    {NULL, "/auth/me", UP_AUTH, ACCESS_USER, false},
    {NULL, "/auth/roles", UP_AUTH, ACCESS_USER, false},
    {NULL, "/auth/providers", UP_AUTH, ACCESS_PUBLIC, false},
    {NULL, "/auth/oauth/:provider/authorize", UP_AUTH, ACCESS_PUBLIC, false},
    {NULL, "/auth/oauth/:provider/callback", UP_AUTH, ACCESS_PUBLIC, false},
    {NULL, "/auth/oauth/exchange", UP_AUTH, ACCESS_PUBLIC, true},
    {NULL, "/auth/clients", UP_AUTH, PERM(SOUK_PERM_CLIENTS_WRITE), false},
    {NULL, "/auth/clients/:id", UP_AUTH, PERM(SOUK_PERM_CLIENTS_WRITE), false},
    {NULL, "/oauth/token", UP_AUTH, ACCESS_PUBLIC, true}, /* OAUTH_TOKEN */
    {NULL, "/audit", UP_AUTH, PERM(SOUK_PERM_AUDIT_READ), false},
    {NULL, "/.well-known/jwks.json", UP_AUTH, ACCESS_PUBLIC, false},
    {NULL, "/.well-known/oauth-authorization-server", UP_AUTH, ACCESS_PUBLIC, false},
    {"GET", "/users", UP_AUTH, PERM(SOUK_PERM_USERS_READ), false},
    {NULL, "/users", UP_AUTH, ACCESS_USER, false},
    {NULL, "/users/:id", UP_AUTH, ACCESS_USER, false},
    {"GET", "/products", UP_PRODUCT, ACCESS_PUBLIC, false},
    {"HEAD", "/products", UP_PRODUCT, ACCESS_PUBLIC, false},
    {NULL, "/products", UP_PRODUCT, PERM(SOUK_PERM_PRODUCTS_WRITE), false},
    {"GET", "/products/:id", UP_PRODUCT, ACCESS_PUBLIC, false},
    {"HEAD", "/products/:id", UP_PRODUCT, ACCESS_PUBLIC, false},
    {NULL, "/products/:id", UP_PRODUCT, PERM(SOUK_PERM_PRODUCTS_WRITE), false},
    {NULL, "/orders", UP_ORDER, ACCESS_USER, false},
    {NULL, "/orders/:id", UP_ORDER, ACCESS_USER, false},
    {NULL, "/orders/:id/cancel", UP_ORDER, ACCESS_USER, false},
    {NULL, "/notifications", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/unread-count", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/read-all", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/preferences", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/:id/read", UP_NOTIFICATION, ACCESS_USER, false},
    {NULL, "/notifications/deliveries", UP_NOTIFICATION, PERM(SOUK_PERM_USERS_WRITE), false},
    {NULL, "/notifications/deliveries/:id/retry", UP_NOTIFICATION, PERM(SOUK_PERM_USERS_WRITE),
     false},
    {NULL, "/reports/summary", UP_ANALYTICS, PERM(SOUK_PERM_REPORTS_READ), false},
    {NULL, "/reports/sales", UP_ANALYTICS, PERM(SOUK_PERM_REPORTS_READ), false},
    {NULL, "/reports/top-products", UP_ANALYTICS, PERM(SOUK_PERM_REPORTS_READ), false},
    {NULL, "/reports/categories", UP_ANALYTICS, PERM(SOUK_PERM_REPORTS_READ), false},
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
bool gw_has_dot_segment(const char *path)
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

void gw_upstream_request(gateway_t *gw, souk_http_ctx_t *ctx, souk_arena_t *arena, upstream_id_t up,
                         const char *method, const char *path_and_query, souk_http_request_t *out)
{
    const upstream_t *u = &gw->upstreams[up];
    headers_t *h = souk_arena_alloc(arena, sizeof(*h));
    h->arena = arena;
    h->n = 0;
    souk_http_each_header(ctx, add_header, h);
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    h->list[h->n++] = souk_arena_printf(arena, "X-Request-Id: %s", ctx->request_id);
    h->list[h->n++] = souk_arena_printf(arena, "traceparent: %s", tp);
    h->list[h->n++] = souk_arena_printf(arena, "X-Forwarded-For: %s", ctx->client_ip);
    h->list[h->n++] = "X-Forwarded-Proto: http";
    h->list[h->n] = NULL;
    *out = (souk_http_request_t){
        .method = method,
        .url = souk_arena_printf(arena, "%s%s", u->base_url ? u->base_url : "", path_and_query),
        .headers = h->list,
        .path_as_is = true,
        .timeout_ms = gw->timeout_ms,
        .connect_timeout_ms = 1000,
    };
}

void gw_upstream_count(gateway_t *gw, upstream_id_t up, souk_err_t err,
                       const souk_http_response_t *resp, double seconds)
{
    const char *outcome = err == SOUK_OK         ? (resp->status >= 500 ? "5xx" : "ok")
                          : err == SOUK_ETIMEOUT ? "timeout"
                          : err == SOUK_EUNAVAIL ? "refused"
                                                 : "error";
    const char *name = gw->upstreams[up].name;
    souk_metric_inc(gw->upstream_requests, (const char *[]){name, outcome}, 1);
    souk_metric_observe(gw->upstream_seconds, (const char *[]){name}, seconds);
}

static void reply(gw_decision_t *d, int status, const char *route, const char *detail)
{
    d->action = GW_REPLY;
    d->status = status;
    d->route = route ? route : d->route;
    d->detail = detail;
}

/* The token and permissions a rule asks for; false when it decided a
 * refusal. */
static bool authorised(gateway_t *gw, const gw_rule_t *r, const gw_request_t *req, gw_decision_t *d)
{
    if (!r->access.token)
        return true;
    if (!req->bearer) {
        reply(d, 401, NULL, "a bearer token is required");
        return false;
    }
    souk_claims_t claims;
    souk_err_t err = souk_jwt_verify(gw->verifier, req->bearer, &claims);
    if (err == SOUK_EUNAVAIL) {
        snprintf(d->retry_after, sizeof(d->retry_after), "1");
        d->headers[d->nheaders][0] = "Retry-After";
        d->headers[d->nheaders++][1] = d->retry_after;
        reply(d, 503, NULL, "token keys are not available yet");
        return false;
    }
    if (err) {
        reply(d, 401, NULL, "the bearer token is invalid or expired");
        return false;
    }
    if (!souk_claims_can(&claims, r->access.perms)) {
        reply(d, 403, NULL, "your permissions do not allow this");
        return false;
    }
    return true;
}

/* application/x-www-form-urlencoded, with parameters or not. */
static bool form_type(const char *ct)
{
    static const char form[] = "application/x-www-form-urlencoded";
    size_t n = sizeof(form) - 1;
    return ct && strncasecmp(ct, form, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

void gw_decide(gateway_t *gw, const gw_request_t *req, gw_decision_t *d)
{
    memset(d, 0, sizeof(*d));
    d->route = "unmatched";
    if (!gw_cors(gw, req, d))
        return;
    if (!gw_limit_client(gw, req, d))
        return;
    if (gw_has_dot_segment(req->path)) {
        reply(d, 400, "dot_segments", "paths with . or .. segments are not accepted");
        return;
    }
    const gw_rule_t *r = gw_rule_match(gw->rules, req->method, req->path);
    if (!r) {
        d->action = GW_INTERNAL;
        return;
    }
    d->route = r->path;
    if (r->credentials && !gw_limit(gw, gw->credential_limit, req, "credentials", d))
        return;
    bool form = strcmp(r->path, OAUTH_TOKEN) == 0;
    if (req->body_len &&
        !(form ? form_type(req->content_type) : souk_http_content_type_json(req->content_type))) {
        reply(d, 415, NULL,
              form ? "request bodies must be application/x-www-form-urlencoded"
                   : "request bodies must be application/json");
        return;
    }
    if (!authorised(gw, r, req, d))
        return;
    const upstream_t *u = &gw->upstreams[r->upstream];
    if (!u->base_url) {
        snprintf(d->detail_buf, sizeof(d->detail_buf), "the %s service is not deployed", u->name);
        reply(d, 503, NULL, d->detail_buf);
        return;
    }
    d->action = GW_FORWARD;
    d->upstream = r->upstream;
}
