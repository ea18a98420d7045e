/* product-service: the catalog and its inventory. main names the service's
 * parts; the skeleton (souk/svc.h) builds, serves and stops them. */
#include "product.h"

#include <souk/svc.h>

extern const souk_migration_t souk_migrations[];
extern const char product_demo_seed[];

static souk_err_t init(souk_svc_t *svc, void *ud)
{
    product_app_t *app = ud;
    bool seed;
    long entries, guess_ms;
    app->db = svc->db;
    app->verifier = svc->verifier;
    souk_err_t err = souk_env_bool("PRODUCT_SEED_DEMO", false, &seed);
    err |= souk_env_long("PRODUCT_CACHE_ENTRIES", 50000, 0, 10000000, &entries);
    err |= souk_env_long("PRODUCT_SEARCH_ESTIMATE_MS", 60000, 0, 3600000, &guess_ms);
    if (err)
        return SOUK_EINVAL;
    if (entries > 0)
        app->cache = product_cache_new(app->db, (size_t)entries, svc->metrics);
    if (guess_ms > 0)
        app->guesses = product_guesses_new(4096, guess_ms);
    souk_metrics_add_collector(svc->metrics, product_collect_reservations, app);
    return seed ? product_seed_demo(app, product_demo_seed) : SOUK_OK;
}

static void cleanup(void *ud)
{
    product_app_t *app = ud;
    product_cache_free(app->cache);
    product_guesses_free(app->guesses);
}

int main(void)
{
    static product_app_t app;
    /* A catalog lives in memory or on SSD, where random reads cost little
     * more than sequential ones: without saying so the planner counts
     * search matches with a sequential scan instead of the trigram index.
     * Plans: PostgreSQL's default (auto), so the named point reads settle on
     * a generic plan; the lists run unnamed and are planned for their values. */
    const souk_svc_def_t def = {.name = "product-service",
                                .port_env = "PRODUCT_PORT",
                                .port = 8082,
                                .database = "souk_product",
                                .migrations = souk_migrations,
                                .db_settings = "-c random_page_cost=1.1",
                                .verifier = true,
                                .bus = true,
                                .group = "product-service",
                                .topics = product_topics,
                                .types = product_types,
                                .on_event = product_on_event,
                                .on_dead_letter = product_on_dead_letter,
                                .on_batch = product_on_batch,
                                .init = init,
                                .cleanup = cleanup,
                                .routes = product_routes_register};
    return souk_svc_main(&def, &app);
}
