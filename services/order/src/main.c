/* order-service: orders and their life cycle. main names the service's
 * parts; the skeleton (souk/svc.h) builds, serves and stops them. */
#include "order.h"

#include <souk/svc.h>

extern const souk_migration_t souk_migrations[];

static souk_err_t init(souk_svc_t *svc, void *ud)
{
    order_app_t *app = ud;
    app->db = svc->db;
    app->verifier = svc->verifier;
    app->client = svc->client;
    app->product_url = souk_env_str("PRODUCT_URL", "http://127.0.0.1:8082");
    app->catalog = order_catalog_http;
    app->catalog_ud = app;
    app->placed = souk_metrics_counter(svc->metrics, "orders_placed_total", "Orders placed.", NULL);
    souk_metrics_add_collector(svc->metrics, order_collect_statuses, app);
    return SOUK_OK;
}

int main(void)
{
    static order_app_t app;
    const souk_svc_def_t def = {.name = "order-service",
                                .port_env = "ORDER_PORT",
                                .port = 8083,
                                .database = "souk_order",
                                .migrations = souk_migrations,
                                .verifier = true,
                                .bus = true,
                                .group = "order-service",
                                .topics = order_topics,
                                .types = order_types,
                                .on_event = order_on_event,
                                .init = init,
                                .routes = order_routes_register};
    return souk_svc_main(&def, &app);
}
