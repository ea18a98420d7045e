/* gateway.h: the API gateway's context and modules. The gateway owns no data:
 * it authenticates at the edge, limits, routes to upstream services and
 * composes a few aggregate views. */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <souk/auth.h>
#include <souk/http.h>
#include <souk/obs.h>

typedef enum {
    UP_AUTH,
    UP_PRODUCT,
    UP_ORDER,
    UP_NOTIFICATION,
    UP_ANALYTICS,
    UP__COUNT
} upstream_id_t;

typedef struct {
    const char *name; /* "auth" */
    char *base_url;   /* "http://127.0.0.1:8081", NULL when not deployed */
} upstream_t;

typedef struct gw_ratelimit gw_ratelimit_t;

typedef struct {
    upstream_t upstreams[UP__COUNT];
    souk_http_client_t *client;
    souk_jwt_verifier_t *verifier;
    souk_router_t *rules;             /* the route table (proxy.c) */
    gw_ratelimit_t *ratelimit;        /* per client, every route; NULL when disabled */
    gw_ratelimit_t *credential_limit; /* per client, on routes that take credentials */
    char **cors_origins;              /* NULL-terminated; "*" allows any */
    long timeout_ms;
    char *docs_dir;           /* swagger-ui-dist files; NULL: /docs assets are 404 */
    const char *openapi_json; /* the API description, embedded at build time */
    souk_metric_t *upstream_requests, *upstream_seconds, *rate_limited;
} gateway_t;

/* proxy.c */
typedef enum { ACCESS_PUBLIC, ACCESS_USER, ACCESS_ADMIN } access_t;

typedef struct {
    const char *method; /* NULL: any method (the upstream answers 405) */
    const char *path;   /* template: literal and ":name" segments; the route label */
    upstream_id_t upstream;
    access_t access;
    bool credentials; /* takes a password or refresh token: the stricter limit */
} gw_rule_t;

/* The route table as a router (each route's data is its gw_rule_t). */
souk_router_t *gw_rules_new(void);
/* The rule for method + path, or NULL (unknown route). */
const gw_rule_t *gw_rule_match(const souk_router_t *rules, const char *method, const char *path);
/* Fallback handler: edge auth, then forward to the rule's upstream. */
void gw_proxy(souk_http_ctx_t *ctx, void *ud);

/* Performs one upstream call on behalf of ctx (headers forwarded, request id
 * and trace context passed on). Records metrics. Scratch memory comes from
 * arena, so parallel calls for one request each pass their own. */
souk_err_t gw_upstream_call(gateway_t *gw, souk_http_ctx_t *ctx, souk_arena_t *arena,
                            upstream_id_t up, const char *method, const char *path_and_query,
                            const void *body, size_t body_len,
                            souk_http_response_t *resp) SOUK_MUST_CHECK;

/* limits.c */
/* rps <= 0 disables limiting (returns NULL). */
gw_ratelimit_t *gw_ratelimit_new(double rps, double burst);
void gw_ratelimit_free(gw_ratelimit_t *rl);
/* Takes a token for client; false and *retry_after_s when empty. */
bool gw_ratelimit_take(gw_ratelimit_t *rl, const char *client, long *retry_after_s);
/* Takes a token from rl (NULL: unlimited) for ctx's client; otherwise
 * replies 429 with Retry-After, counts it under scope, and returns false. */
bool gw_limit(souk_http_ctx_t *ctx, gateway_t *gw, gw_ratelimit_t *rl, const char *scope);
/* Middleware hook: CORS (and preflight), then the per-client rate limit. */
bool gw_hook(souk_http_ctx_t *ctx, void *ud);

/* docs.c: /openapi.json, /docs (Swagger UI) and its assets /docs/:file */
void gw_openapi(souk_http_ctx_t *ctx, void *ud);
void gw_docs_index(souk_http_ctx_t *ctx, void *ud);
void gw_docs_asset(souk_http_ctx_t *ctx, void *ud);

/* overview.c */
void gw_me_overview(souk_http_ctx_t *ctx, void *ud);

/* config.c: the gateway's parts for the skeleton */
struct souk_svc;
souk_err_t gw_init(struct souk_svc *svc, void *gw) SOUK_MUST_CHECK;
void gw_routes(souk_http_server_t *srv, void *gw);
bool gw_ready(void *gw);
void gw_cleanup(void *gw);

#endif
