/* router.c: method + path-template routing. Templates are split into segments
 * once at registration; matching walks the request path without copying it
 * except for captured parameters. A linear scan is fine at tens of routes. */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t split(char *s, char **segs, size_t max)
{
    size_t n = 0;
    char *p = s;
    while (*p == '/')
        p++;
    while (*p && n < max) {
        segs[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    return n;
}

void souk_http_route(souk_http_server_t *srv, const char *method, const char *tmpl,
                     souk_http_handler_fn fn, void *ud)
{
    if (srv->nroutes == SOUK_HTTP_MAX_ROUTES) {
        souk_log_error("too many routes; %s %s not registered", method, tmpl);
        abort();
    }
    souk_http__route_t *r = &srv->routes[srv->nroutes++];
    r->method = method;
    r->tmpl = souk_strdup(tmpl);
    char *copy = souk_strdup(tmpl);
    r->nsegs = split(copy, r->segs, SOUK_HTTP_MAX_SEGMENTS);
    for (size_t i = 0; i < r->nsegs; i++)
        r->segs[i] = souk_strdup(r->segs[i]);
    souk_free(copy);
    r->fn = fn;
    r->ud = ud;
}

void souk_http__route_free(souk_http__route_t *r)
{
    for (size_t i = 0; i < r->nsegs; i++)
        souk_free(r->segs[i]);
    souk_free(r->tmpl);
}

/* Request path segments as (ptr, len) slices; a trailing slash is ignored. */
typedef struct {
    const char *p[SOUK_HTTP_MAX_SEGMENTS];
    size_t len[SOUK_HTTP_MAX_SEGMENTS];
    size_t n;
    bool overflow, empty_inner;
} path_t;

static void path_split(const char *path, path_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *p = path;
    if (*p == '/')
        p++;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0) {
            out->empty_inner = slash && slash[1] != '\0';
            if (!out->empty_inner)
                break;
        }
        if (out->n == SOUK_HTTP_MAX_SEGMENTS) {
            out->overflow = true;
            return;
        }
        out->p[out->n] = p;
        out->len[out->n++] = len;
        if (!slash)
            break;
        p = slash + 1;
    }
}

static bool seg_match(const souk_http__route_t *r, const path_t *path)
{
    if (r->nsegs != path->n)
        return false;
    for (size_t i = 0; i < r->nsegs; i++) {
        const char *s = r->segs[i];
        if (s[0] == ':') {
            if (path->len[i] == 0)
                return false;
        } else if (strlen(s) != path->len[i] || memcmp(s, path->p[i], path->len[i]) != 0) {
            return false;
        }
    }
    return true;
}

static bool method_match(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static void capture(souk_http_ctx_t *ctx, const souk_http__route_t *r, const path_t *path)
{
    ctx->nparams = 0;
    for (size_t i = 0; i < r->nsegs && ctx->nparams < SOUK_HTTP_MAX_PARAMS; i++) {
        if (r->segs[i][0] != ':')
            continue;
        ctx->param_names[ctx->nparams] = r->segs[i] + 1;
        ctx->param_values[ctx->nparams++] =
            souk_arena_strndup(ctx->arena, path->p[i], path->len[i]);
    }
}

const souk_http__route_t *souk_http__match(souk_http_server_t *srv, souk_http_ctx_t *ctx,
                                           bool *path_known, char *allow, size_t allow_cap)
{
    path_t path;
    path_split(ctx->path, &path);
    *path_known = false;
    allow[0] = '\0';
    if (path.overflow || path.empty_inner)
        return NULL;
    size_t used = 0;
    for (size_t i = 0; i < srv->nroutes; i++) {
        const souk_http__route_t *r = &srv->routes[i];
        if (!seg_match(r, &path))
            continue;
        if (method_match(r->method, ctx->method)) {
            capture(ctx, r, &path);
            return r;
        }
        *path_known = true;
        int n = snprintf(allow + used, allow_cap - used, "%s%s", used ? ", " : "", r->method);
        if (n > 0 && (size_t)n < allow_cap - used)
            used += (size_t)n;
    }
    return NULL;
}

const char *souk_http_param(const souk_http_ctx_t *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->nparams; i++)
        if (strcmp(ctx->param_names[i], name) == 0)
            return ctx->param_values[i];
    return NULL;
}
