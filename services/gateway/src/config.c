/* config.c: the gateway's own settings (upstreams, limits, CORS, docs, edge
 * threads) and its parts for the skeleton: init, the internal server's
 * routes, readiness, cleanup (the edge's start and stop are in edge.c). */
#include "gateway.h"
#include "graphql_gw.h"

#include <souk/http_static.h>
#include <souk/svc.h>

#include <stdio.h>
#include <string.h>

extern const char gateway_openapi_json[];

static void init_upstreams(gateway_t *gw, const char *auth_url)
{
    static const struct {
        const char *name, *env;
    } ups[UP__COUNT] = {
        [UP_AUTH] = {"auth", "AUTH_URL"},
        [UP_PRODUCT] = {"product", "PRODUCT_URL"},
        [UP_ORDER] = {"order", "ORDER_URL"},
        [UP_NOTIFICATION] = {"notification", "NOTIFICATION_URL"},
        [UP_ANALYTICS] = {"analytics", "ANALYTICS_URL"},
    };
    for (int i = 0; i < UP__COUNT; i++) {
        const char *url = i == UP_AUTH ? auth_url : souk_env_str(ups[i].env, NULL);
        gw->upstreams[i].name = ups[i].name;
        gw->upstreams[i].base_url = url ? souk_strdup(url) : NULL;
        souk_log_info("upstream %s: %s", ups[i].name, url ? url : "not deployed");
    }
}

static void init_metrics(gateway_t *gw, souk_metrics_t *m)
{
    static const char *const up_outcome[] = {"upstream", "outcome", NULL};
    static const char *const up[] = {"upstream", NULL};
    static const char *const scope[] = {"scope", NULL};
    gw->upstream_requests = souk_metrics_counter(m, "gateway_upstream_requests_total",
                                                 "Upstream calls by outcome.", up_outcome);
    gw->upstream_seconds = souk_metrics_histogram(
        m, "gateway_upstream_duration_seconds", "Upstream call latency in seconds.", up,
        souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
    gw->rate_limited = souk_metrics_counter(m, "gateway_rate_limited_total",
                                            "Requests refused by a rate limit, by scope.", scope);
}

souk_err_t gw_init(souk_svc_t *svc, void *ud)
{
    gateway_t *gw = ud;
    long rps, burst, crps, cburst;
    souk_err_t err = SOUK_OK;
    err |= souk_env_long("RATE_LIMIT_RPS", 100, 0, 1000000, &rps);
    err |= souk_env_long("RATE_LIMIT_BURST", 200, 0, 1000000, &burst);
    err |= souk_env_long("CREDENTIAL_RATE_LIMIT_RPS", 2, 0, 1000000, &crps);
    err |= souk_env_long("CREDENTIAL_RATE_LIMIT_BURST", 20, 0, 1000000, &cburst);
    err |= souk_env_long("UPSTREAM_TIMEOUT_MS", 10000, 100, 600000, &gw->timeout_ms);
    err |= souk_env_long("EDGE_THREADS", 0, 0, 256, &gw->edge_threads);
    if (err)
        return SOUK_EINVAL;
    init_upstreams(gw, svc->cfg->auth_url);
    init_metrics(gw, svc->metrics);
    gw->client = svc->client;
    gw->verifier = svc->verifier;
    gw->rules = gw_rules_new();
    gw->openapi_json = gateway_openapi_json;
    gw->docs_dir = souk_strdup(souk_env_str("DOCS_DIR", SOUK_DEFAULT_DOCS_DIR));
    gw->cors_origins = souk_list_split(souk_env_str("CORS_ORIGINS", NULL));
    gw->ratelimit = gw_ratelimit_new((double)rps, (double)burst);
    gw->credential_limit = gw_ratelimit_new((double)crps, (double)cburst);
    gw_graphql_config_t gql = {souk_env_str("GRAPHIQL_DIR", SOUK_DEFAULT_GRAPHIQL_DIR),
                               souk_env_str("GRAPHQL_OPERATION_NAMES", NULL)};
    if (gw_graphql_new(gw, svc->metrics, &gql, &gw->graphql) != SOUK_OK)
        return SOUK_EINVAL;
    return gw_web_load(gw, souk_env_str("WEB_DIR", SOUK_DEFAULT_WEB_DIR));
}

void gw_routes(souk_http_server_t *srv, void *gw)
{
    souk_http_route(srv, "GET", "/me/overview", gw_me_overview, gw);
    souk_http_route(srv, "GET", "/openapi.json", gw_openapi, gw);
    souk_http_route(srv, "GET", "/docs", gw_docs_index, gw);
    souk_http_route(srv, "GET", "/docs/:file", gw_docs_asset, gw);
    gw_graphql_routes(srv, gw);
    souk_http_set_fallback(srv, gw_web, gw);
}

/* Ready when every deployed upstream answers /healthz and the token keys are
 * loaded. */
bool gw_ready(void *ud)
{
    gateway_t *gw = ud;
    for (int i = 0; i < UP__COUNT; i++) {
        if (!gw->upstreams[i].base_url)
            continue;
        char url[512];
        snprintf(url, sizeof(url), "%s/healthz", gw->upstreams[i].base_url);
        souk_http_request_t req = {.url = url, .timeout_ms = 2000, .connect_timeout_ms = 500};
        souk_http_response_t resp;
        bool ok = souk_http_fetch(gw->client, &req, &resp) == SOUK_OK && resp.status == 200;
        souk_http_response_cleanup(&resp);
        if (!ok)
            return false;
    }
    return souk_jwt_verifier_ready(gw->verifier) ||
           souk_jwt_verifier_refresh(gw->verifier) == SOUK_OK;
}

void gw_cleanup(void *ud)
{
    gateway_t *gw = ud;
    souk_router_free(gw->rules);
    gw_graphql_free(gw->graphql);
    gw_ratelimit_free(gw->ratelimit);
    gw_ratelimit_free(gw->credential_limit);
    souk_free(gw->docs_dir);
    souk_http_static_free(gw->web);
    souk_list_free(gw->cors_origins);
    for (int i = 0; i < UP__COUNT; i++)
        souk_free(gw->upstreams[i].base_url);
}
