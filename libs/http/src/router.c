/* router.c: method + path-template routing, the one matcher of souk: the
 * server routes its handlers with it and the gateway its route table.
 * Templates are split into segments once at registration; matching walks the
 * request path without copying it except for captured parameters. A linear
 * scan in registration order is fine at tens of routes, and it gives the
 * first-match rule the gateway's table is written for. */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES   128
#define MAX_SEGMENTS 16

typedef struct {
    char *method; /* NULL: any method */
    char *tmpl;
    size_t nsegs;
    char *segs[MAX_SEGMENTS];
    void *data;
} route_t;

struct souk_router {
    size_t nroutes;
    route_t routes[MAX_ROUTES];
};

souk_router_t *souk_router_new(void)
{
    return souk_calloc(1, sizeof(souk_router_t));
}

void souk_router_free(souk_router_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nroutes; i++) {
        route_t *rt = &r->routes[i];
        for (size_t s = 0; s < rt->nsegs; s++)
            souk_free(rt->segs[s]);
        souk_free(rt->tmpl);
        souk_free(rt->method);
    }
    souk_free(r);
}

void souk_router_add(souk_router_t *r, const char *method, const char *tmpl, void *data)
{
    if (r->nroutes == MAX_ROUTES) {
        souk_log_error("too many routes; %s %s not registered", method ? method : "*", tmpl);
        abort();
    }
    route_t *rt = &r->routes[r->nroutes++];
    rt->method = method ? souk_strdup(method) : NULL;
    rt->tmpl = souk_strdup(tmpl);
    rt->data = data;
    for (const char *p = tmpl; *p && rt->nsegs < MAX_SEGMENTS;) {
        while (*p == '/')
            p++;
        size_t len = strcspn(p, "/");
        if (len)
            rt->segs[rt->nsegs++] = souk_strndup(p, len);
        p += len;
    }
}

/* Request path segments as (ptr, len) slices; one trailing slash is ignored. */
typedef struct {
    const char *p[MAX_SEGMENTS];
    size_t len[MAX_SEGMENTS];
    size_t n;
    bool bad; /* too many segments, or an empty one inside the path */
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
        if (len == 0 || out->n == MAX_SEGMENTS) {
            out->bad = true;
            return;
        }
        out->p[out->n] = p;
        out->len[out->n++] = len;
        if (!slash)
            break;
        p = slash + 1;
    }
}

static bool seg_match(const route_t *r, const path_t *path)
{
    if (r->nsegs != path->n)
        return false;
    for (size_t i = 0; i < r->nsegs; i++) {
        const char *s = r->segs[i];
        if (s[0] != ':' && (strlen(s) != path->len[i] || memcmp(s, path->p[i], path->len[i]) != 0))
            return false;
    }
    return true;
}

static bool method_match(const char *route_method, const char *method)
{
    return !route_method || strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

static void capture(const route_t *r, const path_t *path, souk_arena_t *arena,
                    souk_route_match_t *m)
{
    m->nparams = 0;
    for (size_t i = 0; i < r->nsegs && m->nparams < SOUK_HTTP_MAX_PARAMS; i++) {
        if (r->segs[i][0] != ':')
            continue;
        m->names[m->nparams] = r->segs[i] + 1;
        m->values[m->nparams++] = souk_arena_strndup(arena, path->p[i], path->len[i]);
    }
}

static void allow_add(souk_route_match_t *m, const char *method)
{
    size_t used = strlen(m->allow);
    if (strstr(m->allow, method))
        return;
    snprintf(m->allow + used, sizeof(m->allow) - used, "%s%s", used ? ", " : "", method);
}

bool souk_router_match(const souk_router_t *r, const char *method, const char *path,
                       souk_arena_t *arena, souk_route_match_t *m)
{
    path_t p;
    memset(m, 0, sizeof(*m));
    path_split(path, &p);
    if (p.bad)
        return false;
    for (size_t i = 0; i < r->nroutes; i++) {
        const route_t *rt = &r->routes[i];
        if (!seg_match(rt, &p))
            continue;
        if (method_match(rt->method, method)) {
            m->tmpl = rt->tmpl;
            m->data = rt->data;
            if (arena)
                capture(rt, &p, arena, m);
            return true;
        }
        m->path_known = true;
        allow_add(m, rt->method);
        if (strcmp(rt->method, "GET") == 0)
            allow_add(m, "HEAD");
    }
    return false;
}

const char *souk_http_param(const souk_http_ctx_t *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->nparams; i++)
        if (strcmp(ctx->param_names[i], name) == 0)
            return ctx->param_values[i];
    return NULL;
}
