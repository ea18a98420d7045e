/* gateway.h: the API gateway's context and modules. The gateway owns no data:
 * it authenticates at the edge, limits, routes to upstream services and
 * composes a few aggregate views. Two engines serve it: the edge
 * (souk/edge.h) on GATEWAY_PORT runs the decisions below on its event loop,
 * proxies to the services and serves GraphQL's requests itself (their loads
 * as the edge's sub-requests, graphql_gw.h); what else the gateway answers
 * itself (probes, /metrics, /openapi.json, /docs, /me/overview, GraphiQL,
 * ...) is served by its souk/http.h server on an internal loopback port, to
 * which the edge forwards every path the route table does not name. */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <souk/auth.h>
#include <souk/edge.h>
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
typedef struct gw_graphql gw_graphql_t;

typedef struct {
    upstream_t upstreams[UP__COUNT];
    souk_http_client_t *client;
    souk_jwt_verifier_t *verifier;
    souk_router_t *rules;             /* the route table (proxy.c) */
    gw_ratelimit_t *ratelimit;        /* per client, every route; NULL when disabled */
    gw_ratelimit_t *credential_limit; /* per client, on routes that take credentials */
    char **cors_origins;              /* NULL-terminated; "*" allows any */
    long timeout_ms;
    long edge_threads;            /* EDGE_THREADS; 0: one per core */
    char *docs_dir;               /* swagger-ui-dist files; NULL: /docs assets are 404 */
    struct souk_http_static *web; /* the front end's build; NULL when not built */
    const char *openapi_json;     /* the API description, embedded at build time */
    souk_metric_t *upstream_requests, *upstream_seconds, *rate_limited;
    souk_edge_t *edge;
    int edge_upstream[UP__COUNT]; /* the edge's upstream index; -1: not deployed */
    size_t edge_internal;         /* the edge's upstream index of the internal server */
    gw_graphql_t *graphql;        /* /graphql (graphql_gw.h) */
} gateway_t;

/* proxy.c */
/* Who may pass a route: anyone, or the bearer of a valid token holding the
 * SOUK_PERM_* bits of PERM(...) (none: any valid token, a user's or a
 * machine client's). A rule names permissions, never a role. */
typedef struct {
    bool token;     /* a valid bearer token is required */
    unsigned perms; /* and these permissions (souk_claims_can) */
} access_t;

/* clang-format off */
#define ACCESS_PUBLIC {false, 0}
#define ACCESS_USER   {true, 0}
#define PERM(p)       {true, (p)}
/* clang-format on */

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
/* True when a segment of path is "." or ".." (also percent-encoded). */
bool gw_has_dot_segment(const char *path);

/* What the gateway decides for a request, whichever engine serves it: the
 * request as the decision needs it, and the outcome. */
typedef struct {
    const char *method, *path, *client_ip;
    const char *origin, *preflight_method; /* Origin, Access-Control-Request-Method */
    const char *bearer;                    /* the bearer token, or NULL */
    const char *content_type;
    size_t body_len;
} gw_request_t;

typedef enum {
    GW_FORWARD,  /* to upstreams[upstream] */
    GW_INTERNAL, /* to the gateway's own server (its routes, or 404) */
    GW_REPLY     /* status: a problem with detail, or 204 empty */
} gw_action_t;

#define GW_MAX_HEADERS 8

typedef struct {
    gw_action_t action;
    upstream_id_t upstream;
    int status;
    const char *detail;
    const char *route; /* the route label: a template or a fixed name */
    size_t nheaders;   /* response headers to add (CORS, Retry-After) */
    const char *headers[GW_MAX_HEADERS][2];
    char retry_after[24];
    char detail_buf[96];
} gw_decision_t;

/* The whole edge decision: CORS and preflight, the per-client limit (not on
 * probes), dot segments, the route table, the credential limit, the content
 * type, the token and its permissions, and whether the upstream is deployed.
 * Never blocks: the token check uses the verifier's cache or one signature
 * check.
 * Counts refusals by a limit in rate_limited. */
void gw_decide(gateway_t *gw, const gw_request_t *req, gw_decision_t *out);

/* The edge's handler: gw_decide on a souk_edge request (edge.c). */
void gw_edge_handler(souk_edge_req_t *req, void *gw);

/* Builds one upstream call on behalf of ctx (headers forwarded, request id
 * and trace context passed on) into *out; scratch from arena. */
void gw_upstream_request(gateway_t *gw, souk_http_ctx_t *ctx, souk_arena_t *arena, upstream_id_t up,
                         const char *method, const char *path_and_query, souk_http_request_t *out);
/* Records the metrics of a finished upstream call. */
void gw_upstream_count(gateway_t *gw, upstream_id_t up, souk_err_t err,
                       const souk_http_response_t *resp, double seconds);

/* limits.c */
/* rps <= 0 disables limiting (returns NULL). */
gw_ratelimit_t *gw_ratelimit_new(double rps, double burst);
void gw_ratelimit_free(gw_ratelimit_t *rl);
/* Takes a token for client; false and *retry_after_s when empty. */
bool gw_ratelimit_take(gw_ratelimit_t *rl, const char *client, long *retry_after_s);
/* CORS for req: false when it decided (a preflight, or a refused one). */
bool gw_cors(const gateway_t *gw, const gw_request_t *req, gw_decision_t *out);
/* Takes a token from rl (NULL: unlimited); otherwise decides 429 with
 * Retry-After, counts it under scope, and returns false. */
bool gw_limit(gateway_t *gw, gw_ratelimit_t *rl, const gw_request_t *req, const char *scope,
              gw_decision_t *out);

/* The per-client limit of every request but the probes (/healthz, /readyz,
 * /metrics), under scope "client". */
bool gw_limit_client(gateway_t *gw, const gw_request_t *req, gw_decision_t *out);

/* docs.c: /openapi.json, /docs (Swagger UI) and its assets /docs/:file */
void gw_openapi(souk_http_ctx_t *ctx, void *ud);
void gw_docs_index(souk_http_ctx_t *ctx, void *ud);
void gw_docs_asset(souk_http_ctx_t *ctx, void *ud);

/* web.c: the front end (WEB_DIR) as the internal server's fallback */
souk_err_t gw_web_load(gateway_t *gw, const char *dir) SOUK_MUST_CHECK;
void gw_web(souk_http_ctx_t *ctx, void *ud);

/* overview.c */
void gw_me_overview(souk_http_ctx_t *ctx, void *ud);

/* config.c: the gateway's parts for the skeleton */
struct souk_svc;
souk_err_t gw_init(struct souk_svc *svc, void *gw) SOUK_MUST_CHECK;
void gw_routes(souk_http_server_t *srv, void *gw);
bool gw_ready(void *gw);
/* Starts the edge once the internal server listens; stops it on SIGTERM. */
souk_err_t gw_start(struct souk_svc *svc, void *gw) SOUK_MUST_CHECK;
void gw_stop(void *gw);
void gw_cleanup(void *gw);

#endif
