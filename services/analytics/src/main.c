/* analytics-service: reports and recommendations from the orders, products
 * and users topics. main names the service's parts; the skeleton
 * (souk/svc.h) builds, serves and stops them, and runs the roll-up once a
 * second on its housekeeping thread. */
#include "analytics.h"

#include <souk/svc.h>

extern const souk_migration_t souk_migrations[];

static souk_err_t init(souk_svc_t *svc, void *ud)
{
    an_app_t *app = ud;
    app->db = svc->db;
    app->verifier = svc->verifier;
    app->rollups = souk_metrics_counter(svc->metrics, "analytics_rollups_total",
                                        "Roll-ups of the journal into the reports.", NULL);
    app->folded = souk_metrics_counter(svc->metrics, "analytics_changes_folded_total",
                                       "Journal rows folded into the reports.", NULL);
    souk_metrics_add_collector(svc->metrics, an_collect, app);
    return SOUK_OK;
}

int main(void)
{
    static an_app_t app;
    const souk_svc_def_t def = {.name = "analytics-service",
                                .port_env = "ANALYTICS_PORT",
                                .port = 8085,
                                .database = "souk_analytics",
                                .migrations = souk_migrations,
                                .verifier = true,
                                .bus = true,
                                .group = "analytics-service",
                                .topics = an_topics,
                                .types = an_types,
                                .on_event = an_on_event,
                                .init = init,
                                .routes = an_routes_register,
                                .maintain = an_maintain,
                                .maintain_every_s = 1};
    return souk_svc_main(&def, &app);
}
