/* gateway: the single entry point of souk. main only wires: config, HTTP
 * client, JWKS verifier, limits, routes, serve, graceful shutdown. */
#include "gateway.h"

#include <string.h>

extern const char gateway_openapi_json[];

typedef struct {
    int port;
    long rps, burst, timeout_ms, cache;
    const char *bind, *issuer, *cors;
} config_t;

static souk_err_t load_config(config_t *c)
{
    souk_err_t err = SOUK_OK;
    err |= souk_env_port("GATEWAY_PORT", 8080, &c->port);
    err |= souk_env_long("RATE_LIMIT_RPS", 100, 0, 1000000, &c->rps);
    err |= souk_env_long("RATE_LIMIT_BURST", 200, 0, 1000000, &c->burst);
    err |= souk_env_long("UPSTREAM_TIMEOUT_MS", 10000, 100, 600000, &c->timeout_ms);
    err |= souk_env_long("TOKEN_CACHE_ENTRIES", 16384, 16, 1 << 22, &c->cache);
    c->bind = souk_env_str("BIND_ADDRESS", "127.0.0.1");
    c->issuer = souk_env_str("JWT_ISSUER", "souk-auth");
    c->cors = souk_env_str("CORS_ORIGINS", NULL);
    return err ? SOUK_EINVAL : SOUK_OK;
}

static char **split_list(const char *s)
{
    size_t n = 1;
    for (const char *p = s; p && *p; p++)
        n += *p == ',';
    char **list = souk_calloc(n + 1, sizeof(char *));
    size_t i = 0;
    for (const char *p = s; p && *p;) {
        size_t len = strcspn(p, ",");
        while (len && *p == ' ')
            p++, len--;
        if (len)
            list[i++] = souk_strndup(p, len);
        p += len + (p[len] == ',');
    }
    return list;
}

static void init_upstreams(gateway_t *gw)
{
    static const struct {
        const char *name, *env, *def;
    } ups[UP__COUNT] = {
        [UP_AUTH] = {"auth", "AUTH_URL", "http://127.0.0.1:8081"},
        [UP_PRODUCT] = {"product", "PRODUCT_URL", NULL},
        [UP_ORDER] = {"order", "ORDER_URL", NULL},
    };
    for (int i = 0; i < UP__COUNT; i++) {
        const char *url = souk_env_str(ups[i].env, ups[i].def);
        gw->upstreams[i].name = ups[i].name;
        gw->upstreams[i].base_url = url ? souk_strdup(url) : NULL;
        souk_log_info("upstream %s: %s", ups[i].name, url ? url : "not deployed");
    }
}

/* Ready when every deployed upstream answers /healthz and the token keys are
 * loaded. */
static bool ready(void *ud)
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

static void init_metrics(gateway_t *gw, souk_metrics_t *m)
{
    static const char *const up_outcome[] = {"upstream", "outcome", NULL};
    static const char *const up[] = {"upstream", NULL};
    gw->upstream_requests = souk_metrics_counter(m, "gateway_upstream_requests_total",
                                                 "Upstream calls by outcome.", up_outcome);
    gw->upstream_seconds = souk_metrics_histogram(
        m, "gateway_upstream_duration_seconds", "Upstream call latency in seconds.", up,
        souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
    gw->rate_limited = souk_metrics_counter(m, "gateway_rate_limited_total",
                                            "Requests refused by the rate limit.", NULL);
}

int main(void)
{
    souk_signals_block();
    config_t cfg;
    gateway_t gw = {0};
    souk_metrics_t *metrics = souk_metrics_new();
    souk_http_server_t *srv = NULL;
    int rc = 1;
    if (souk_log_init("gateway", souk_env_str("LOG_LEVEL", "info")) != SOUK_OK ||
        load_config(&cfg) != SOUK_OK || souk_auth_init() != SOUK_OK) {
        souk_log_error("invalid configuration");
        goto out;
    }
    init_upstreams(&gw);
    init_metrics(&gw, metrics);
    gw.client = souk_http_client_new();
    gw.timeout_ms = cfg.timeout_ms;
    gw.openapi_json = gateway_openapi_json;
    gw.docs_dir = souk_strdup(souk_env_str("DOCS_DIR", SOUK_DEFAULT_DOCS_DIR));
    gw.cors_origins = split_list(cfg.cors);
    gw.ratelimit = gw_ratelimit_new((double)cfg.rps, (double)cfg.burst);
    char jwks_url[512];
    snprintf(jwks_url, sizeof(jwks_url), "%s/.well-known/jwks.json",
             gw.upstreams[UP_AUTH].base_url);
    souk_jwt_verifier_config_t vc = {.issuer = cfg.issuer,
                                     .audience = "souk",
                                     .jwks_url = jwks_url,
                                     .client = gw.client,
                                     .cache_entries = (size_t)cfg.cache};
    souk_http_config_t hc = {
        .service = "gateway", .bind = cfg.bind, .port = cfg.port, .metrics = metrics};
    if (souk_jwt_verifier_new(&vc, &gw.verifier) != SOUK_OK ||
        souk_http_server_new(&hc, &srv) != SOUK_OK)
        goto out;
    if (souk_jwt_verifier_refresh(gw.verifier) != SOUK_OK)
        souk_log_warn("JWKS not loaded yet; will retry on the first token");
    souk_http_route(srv, "GET", "/me/overview", gw_me_overview, &gw);
    souk_http_route(srv, "GET", "/openapi.json", gw_openapi, &gw);
    souk_http_route(srv, "GET", "/docs", gw_docs_index, &gw);
    souk_http_route(srv, "GET", "/docs/:file", gw_docs_asset, &gw);
    souk_http_set_fallback(srv, gw_proxy, &gw);
    souk_http_set_hook(srv, gw_hook, &gw);
    souk_http_set_ready(srv, ready, &gw);
    if (souk_http_serve(srv) == SOUK_OK)
        rc = 0;
out:
    souk_http_server_free(srv);
    souk_jwt_verifier_free(gw.verifier);
    souk_http_client_free(gw.client);
    gw_ratelimit_free(gw.ratelimit);
    souk_free(gw.docs_dir);
    for (char **o = gw.cors_origins; o && *o; o++)
        souk_free(*o);
    souk_free(gw.cors_origins);
    for (int i = 0; i < UP__COUNT; i++)
        souk_free(gw.upstreams[i].base_url);
    souk_metrics_free(metrics);
    return rc;
}
