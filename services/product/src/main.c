/* product-service: the catalog and its inventory. main only wires: config,
 * pool, migrations, demo seed, JWKS verifier, event bus, routes, serve,
 * graceful shutdown. */
#include "product.h"

#include <souk/svc.h>

extern const souk_migration_t souk_migrations[];
extern const char product_demo_seed[];

typedef struct {
    int port;
    long pool_size;
    bool seed;
    const char *db_url, *bind, *brokers;
} config_t;

static souk_err_t load_config(config_t *c)
{
    souk_err_t err = SOUK_OK;
    err |= souk_env_port("PRODUCT_PORT", 8082, &c->port);
    err |= souk_env_long("DB_POOL_SIZE", 8, 2, 200, &c->pool_size);
    err |= souk_env_bool("PRODUCT_SEED_DEMO", false, &c->seed);
    c->db_url = souk_env_str("DATABASE_URL", "postgresql://souk@127.0.0.1:55432/souk_product");
    c->bind = souk_env_str("BIND_ADDRESS", "127.0.0.1");
    c->brokers = souk_env_str("KAFKA_BROKERS", "127.0.0.1:9092");
    return err ? SOUK_EINVAL : SOUK_OK;
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
    if (souk_log_init("product-service", souk_env_str("LOG_LEVEL", "info")) != SOUK_OK ||
        load_config(&cfg) != SOUK_OK || souk_auth_init() != SOUK_OK) {
        souk_log_error("invalid configuration");
        goto out;
    }
    /* Custom plans: the list's optional filters then use their indexes. A
     * catalog lives in memory or on SSD, where random reads cost little more
     * than sequential ones: without saying so the planner counts search
     * matches with a sequential scan instead of the trigram index. */
    souk_db_config_t dbc = {.conninfo = cfg.db_url,
                            .app_name = "product-service",
                            .size = (int)cfg.pool_size,
                            .metrics = metrics,
                            .settings =
                                "-c plan_cache_mode=force_custom_plan -c random_page_cost=1.1"};
    souk_http_config_t hc = {
        .service = "product-service", .bind = cfg.bind, .port = cfg.port, .metrics = metrics};
    static const char *const topics[] = {"orders", NULL};
    static const char *const types[] = {"souk.order.placed.v1", "souk.order.cancelled.v1", NULL};
    souk_bus_config_t bc = {.brokers = cfg.brokers,
                            .service = "product-service",
                            .group = "product-service",
                            .topics = topics,
                            .handler = product_on_event,
                            .types = types,
                            .ud = &app,
                            .metrics = metrics};
    if (souk_db_pool_new(&dbc, &app.db) || souk_db_migrate(app.db, souk_bus_migrations, 30) ||
        souk_db_migrate(app.db, souk_migrations, 0) || (cfg.seed && seed(&app)) ||
        souk_jwt_verifier_from_env(client, &app.verifier) || souk_http_server_new(&hc, &srv)) {
        souk_log_error("start-up failed");
        goto out;
    }
    bc.pool = app.db;
    if (souk_bus_start(&bc, &app.bus) != SOUK_OK)
        goto out;
    product_routes_register(srv, &app);
    souk_svc_deps_t deps = {app.db, app.bus};
    souk_http_set_ready(srv, souk_svc_ready, &deps);
    if (souk_http_serve(srv) == SOUK_OK)
        rc = 0;
out:
    souk_http_server_free(srv); /* no new requests; in-flight ones finish */
    souk_bus_stop(app.bus);     /* the event in hand finishes; the producer flushes */
    souk_jwt_verifier_free(app.verifier);
    souk_db_pool_free(app.db);
    souk_http_client_free(client);
    souk_metrics_free(metrics);
    return rc;
}
