/* order-service: orders and their life cycle. main only wires: config, pool,
 * migrations, JWKS verifier, product-service client, event bus, routes,
 * serve, graceful shutdown. */
#include "order.h"

#include <souk/svc.h>

extern const souk_migration_t souk_migrations[];

typedef struct {
    int port;
    long pool_size;
    const char *db_url, *bind, *brokers, *product_url;
} config_t;

static souk_err_t load_config(config_t *c)
{
    souk_err_t err = SOUK_OK;
    err |= souk_env_port("ORDER_PORT", 8083, &c->port);
    err |= souk_env_long("DB_POOL_SIZE", 8, 2, 200, &c->pool_size);
    c->db_url = souk_env_str("DATABASE_URL", "postgresql://souk@127.0.0.1:55432/souk_order");
    c->bind = souk_env_str("BIND_ADDRESS", "127.0.0.1");
    c->brokers = souk_env_str("KAFKA_BROKERS", "127.0.0.1:9092");
    c->product_url = souk_env_str("PRODUCT_URL", "http://127.0.0.1:8082");
    return err ? SOUK_EINVAL : SOUK_OK;
}

/* orders_by_status, read from the database at scrape time. */
static souk_err_t collect_statuses(souk_buf_t *out, void *ud)
{
    order_app_t *app = ud;
    souk_db_conn_t *c;
    if (souk_db_acquire(app->db, &c) != SOUK_OK)
        return SOUK_OK; /* a scrape without it beats a failed scrape */
    souk_err_t err = store_status_counts(c, out);
    souk_db_release(app->db, c);
    return err == SOUK_ELIMIT ? err : SOUK_OK;
}

int main(void)
{
    souk_signals_block();
    config_t cfg;
    order_app_t app = {0};
    souk_metrics_t *metrics = souk_metrics_new();
    souk_http_server_t *srv = NULL;
    int rc = 1;
    app.client = souk_http_client_new();
    if (souk_log_init("order-service", souk_env_str("LOG_LEVEL", "info")) != SOUK_OK ||
        load_config(&cfg) != SOUK_OK || souk_auth_init() != SOUK_OK) {
        souk_log_error("invalid configuration");
        goto out;
    }
    app.product_url = souk_strdup(cfg.product_url);
    app.placed = souk_metrics_counter(metrics, "orders_placed_total", "Orders placed.", NULL);
    souk_metrics_add_collector(metrics, collect_statuses, &app);
    souk_db_config_t dbc = {.conninfo = cfg.db_url,
                            .app_name = "order-service",
                            .size = (int)cfg.pool_size,
                            .metrics = metrics};
    souk_http_config_t hc = {
        .service = "order-service", .bind = cfg.bind, .port = cfg.port, .metrics = metrics};
    static const char *const topics[] = {"inventory", NULL};
    static const char *const types[] = {"souk.inventory.reserved.v1", "souk.inventory.rejected.v1",
                                        NULL};
    souk_bus_config_t bc = {.brokers = cfg.brokers,
                            .service = "order-service",
                            .group = "order-service",
                            .topics = topics,
                            .handler = order_on_event,
                            .types = types,
                            .ud = &app,
                            .metrics = metrics};
    if (souk_db_pool_new(&dbc, &app.db) || souk_db_migrate(app.db, souk_bus_migrations, 30) ||
        souk_db_migrate(app.db, souk_migrations, 0) ||
        souk_jwt_verifier_from_env(app.client, &app.verifier) || souk_http_server_new(&hc, &srv)) {
        souk_log_error("start-up failed");
        goto out;
    }
    bc.pool = app.db;
    if (souk_bus_start(&bc, &app.bus) != SOUK_OK)
        goto out;
    order_routes_register(srv, &app);
    souk_svc_deps_t deps = {app.db, app.bus};
    souk_http_set_ready(srv, souk_svc_ready, &deps);
    if (souk_http_serve(srv) == SOUK_OK)
        rc = 0;
out:
    souk_http_server_free(srv);
    souk_bus_stop(app.bus);
    souk_jwt_verifier_free(app.verifier);
    souk_db_pool_free(app.db);
    souk_http_client_free(app.client);
    souk_free(app.product_url);
    souk_metrics_free(metrics);
    return rc;
}
