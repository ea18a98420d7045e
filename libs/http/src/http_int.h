/* http_int.h: private to libs/http: the server structure shared by the
 * server, router and reply modules. */
#ifndef SOUK_HTTP_INT_H
#define SOUK_HTTP_INT_H

#include <souk/http.h>
#include <netinet/in.h>
#include <ulfius.h>

#define SOUK_HTTP_MAX_ROUTES   64
#define SOUK_HTTP_MAX_SEGMENTS 16

typedef struct {
    const char *method;
    char *tmpl;
    size_t nsegs;
    char *segs[SOUK_HTTP_MAX_SEGMENTS];
    souk_http_handler_fn fn;
    void *ud;
} souk_http__route_t;

struct souk_http_server {
    souk_http_config_t cfg;
    char *service;
    struct _u_instance inst;
    struct sockaddr_in addr;
    bool running;
    size_t nroutes;
    souk_http__route_t routes[SOUK_HTTP_MAX_ROUTES];
    souk_http_handler_fn fallback;
    void *fallback_ud;
    souk_http_hook_fn hook;
    void *hook_ud;
    souk_http_ready_fn ready;
    void *ready_ud;
    souk_metric_t *requests, *durations, *inflight;
};

/* router.c */
void souk_http__route_free(souk_http__route_t *r);
/* Finds the route for ctx->method and ctx->path and fills ctx params.
 * Returns the route, or NULL with *path_known telling whether some other
 * method would have matched (405 rather than 404); allow gets "GET, POST". */
const souk_http__route_t *souk_http__match(souk_http_server_t *srv, souk_http_ctx_t *ctx,
                                           bool *path_known, char *allow, size_t allow_cap);

#endif
