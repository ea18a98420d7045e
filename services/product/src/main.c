/* product-service: the catalog. main only wires: config, pool, migrations,
 * demo seed, JWKS verifier, routes, serve, graceful shutdown. */
#include "product.h"

extern const souk_migration_t souk_migrations[];
extern const char product_demo_seed[];

typedef struct {
    int port;
    long pool_size;
    bool seed;
    const char *db_url, *bind, *issuer, *jwks_url;
} config_t;

static souk_err_t load_config(config_t *c)
{
    souk_err_t err = SOUK_OK;
    err |= souk_env_port("PRODUCT_PORT", 8082, &c->port);
    err |= souk_env_long("DB_POOL_SIZE", 8, 1, 200, &c->pool_size);
    err |= souk_env_bool("PRODUCT_SEED_DEMO", false, &c->seed);
    c->db_url = souk_env_str("DATABASE_URL", "postgresql://souk@127.0.0.1:55432/souk_product");
    c->bind = souk_env_str("BIND_ADDRESS", "127.0.0.1");
    c->issuer = souk_env_str("JWT_ISSUER", "souk-auth");
    c->jwks_url = souk_env_str("JWKS_URL", NULL);
    return err ? SOUK_EINVAL : SOUK_OK;
}

static bool ready(void *ud)
{
    return souk_db_ping(((product_app_t *)ud)->db);
}

static souk_err_t seed(product_app_t *app)
{
    souk_db_conn_t *c;
    bool seeded = false;
    souk_err_t err = souk_db_acquire(app->db, &c);
    if (err == SOUK_OK)
        err = store_seed_demo(c, product_demo_seed, &seeded);
    souk_db_release(app->db, c);
    if (seeded)
        souk_log_info("loaded the demo catalog");
    return err;
}

int main(void)
{
    souk_signals_block();
    config_t cfg;
    product_app_t app = {0};
    souk_metrics_t *metrics = souk_metrics_new();
    souk_http_client_t *client = souk_http_client_new();
    souk_http_server_t *srv = NULL;
    int rc = 1;
    char jwks[512];
    if (souk_log_init("product-service", souk_env_str("LOG_LEVEL", "info")) != SOUK_OK ||
        load_config(&cfg) != SOUK_OK || souk_auth_init() != SOUK_OK) {
        souk_log_error("invalid configuration");
        goto out;
    }
    snprintf(jwks, sizeof(jwks), "%s/.well-known/jwks.json",
             souk_env_str("AUTH_URL", "http://127.0.0.1:8081"));
    souk_db_config_t dbc = {.conninfo = cfg.db_url,
                            .app_name = "product-service",
                            .size = (int)cfg.pool_size,
                            .metrics = metrics,
                            .settings = "-c plan_cache_mode=force_custom_plan"};
    souk_jwt_verifier_config_t vc = {.issuer = cfg.issuer,
                                     .audience = "souk",
                                     .jwks_url = cfg.jwks_url ? cfg.jwks_url : jwks,
                                     .client = client};
    souk_http_config_t hc = {
        .service = "product-service", .bind = cfg.bind, .port = cfg.port, .metrics = metrics};
    if (souk_db_pool_new(&dbc, &app.db) || souk_db_migrate(app.db, souk_migrations, 30) ||
        (cfg.seed && seed(&app)) || souk_jwt_verifier_new(&vc, &app.verifier) ||
        souk_http_server_new(&hc, &srv)) {
        souk_log_error("start-up failed");
        goto out;
    }
    if (souk_jwt_verifier_refresh(app.verifier) != SOUK_OK)
        souk_log_warn("JWKS not loaded yet; will retry on the first token");
    product_routes_register(srv, &app);
    souk_http_set_ready(srv, ready, &app);
    if (souk_http_server_start(srv) != SOUK_OK)
        goto out;
    int sig = souk_signals_wait();
    souk_log_info("signal %d: shutting down", sig);
    rc = 0;
out:
    souk_http_server_free(srv);
    souk_jwt_verifier_free(app.verifier);
    souk_db_pool_free(app.db);
    souk_http_client_free(client);
    souk_metrics_free(metrics);
    return rc;
}
