/* auth-service: users, credentials and tokens. main only wires: config, pool,
 * migrations, keys, admin bootstrap, routes, serve, graceful shutdown. */
#include "app.h"

#include <souk/svc.h>

#include <sodium.h>
#include <stdio.h>
#include <unistd.h>

extern const souk_migration_t souk_migrations[];

typedef struct {
    int port, pool_size;
    long access_ttl, refresh_ttl, ops, mem_kib, max_email, max_client, window, lockout;
    long hash_slots;
    bool trust_forwarded;
    const char *db_url, *bind, *issuer;
} config_t;

static souk_err_t load_config(config_t *c)
{
    long pool;
    souk_err_t err = SOUK_OK;
    err |= souk_env_port("AUTH_PORT", 8081, &c->port);
    err |= souk_env_long("DB_POOL_SIZE", 8, 1, 200, &pool);
    err |= souk_env_long("JWT_TTL_SECONDS", 900, 60, 86400, &c->access_ttl);
    err |= souk_env_long("REFRESH_TTL_SECONDS", 30 * 86400, 300, 365 * 86400, &c->refresh_ttl);
    err |= souk_env_long("PASSWORD_HASH_OPS", crypto_pwhash_OPSLIMIT_INTERACTIVE, 1, 16, &c->ops);
    err |= souk_env_long("PASSWORD_HASH_MEM_KIB", crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024, 8,
                         1 << 20, &c->mem_kib);
    err |= souk_env_long("PASSWORD_HASH_CONCURRENCY", 2 * sysconf(_SC_NPROCESSORS_ONLN), 1, 256,
                         &c->hash_slots);
    err |= souk_env_long("LOGIN_MAX_FAILURES", 5, 1, 1000, &c->max_email);
    err |= souk_env_long("LOGIN_MAX_FAILURES_CLIENT", 50, 1, 100000, &c->max_client);
    err |= souk_env_long("LOGIN_WINDOW_SECONDS", 900, 1, 86400, &c->window);
    err |= souk_env_long("LOGIN_LOCKOUT_SECONDS", 300, 1, 86400, &c->lockout);
    err |= souk_env_bool("TRUST_FORWARDED_FOR", true, &c->trust_forwarded);
    c->pool_size = (int)pool;
    c->db_url = souk_env_str("DATABASE_URL", "postgresql://souk@127.0.0.1:55432/souk_auth");
    c->bind = souk_env_str("BIND_ADDRESS", "127.0.0.1");
    c->issuer = souk_env_str("JWT_ISSUER", "souk-auth");
    return err ? SOUK_EINVAL : SOUK_OK;
}

static souk_err_t init_app(auth_app_t *app, const config_t *cfg, souk_metrics_t *m)
{
    static const char *const result[] = {"result", NULL};
    app->access_ttl_s = (int)cfg->access_ttl;
    app->refresh_ttl_s = (int)cfg->refresh_ttl;
    app->pwhash.opslimit = (unsigned long long)cfg->ops;
    app->pwhash.memlimit = (size_t)cfg->mem_kib * 1024;
    app->max_failures_email = (int)cfg->max_email;
    app->max_failures_client = (int)cfg->max_client;
    app->throttle_window_s = (int)cfg->window;
    app->lockout_s = (int)cfg->lockout;
    app->trust_forwarded = cfg->trust_forwarded;
    sem_init(&app->hash_slots, 0, (unsigned)cfg->hash_slots);
    app->logins = souk_metrics_counter(m, "auth_logins_total", "Login attempts by result.", result);
    app->registrations =
        souk_metrics_counter(m, "auth_registrations_total", "Accounts registered.", result);
    app->refreshes = souk_metrics_counter(m, "auth_refreshes_total",
                                          "Refresh token presentations by result.", result);
    /* A hash of a random password, so unknown emails cost the same as known. */
    char pw[33];
    uint8_t raw[16];
    souk_random(raw, sizeof(raw));
    souk_hex(raw, sizeof(raw), pw);
    return souk_password_hash(pw, &app->pwhash, app->dummy_hash);
}

int main(void)
{
    souk_signals_block();
    config_t cfg;
    auth_app_t app = {0};
    souk_metrics_t *metrics = souk_metrics_new();
    souk_http_server_t *srv = NULL;
    int rc = 1;
    if (souk_log_init("auth-service", souk_env_str("LOG_LEVEL", "info")) != SOUK_OK ||
        load_config(&cfg) != SOUK_OK || souk_auth_init() != SOUK_OK) {
        souk_log_error("invalid configuration");
        goto out;
    }
    souk_db_config_t dbc = {.conninfo = cfg.db_url,
                            .app_name = "auth-service",
                            .size = cfg.pool_size,
                            .metrics = metrics};
    souk_jwt_signer_config_t sc = {.pem = souk_env_str("JWT_PRIVATE_KEY", NULL),
                                   .path = souk_env_str("JWT_PRIVATE_KEY_FILE", NULL),
                                   .generate = true,
                                   .issuer = cfg.issuer,
                                   .audience = "souk",
                                   .ttl_s = (int)cfg.access_ttl};
    souk_jwt_verifier_config_t vc = {.issuer = cfg.issuer, .audience = "souk"};
    souk_http_config_t hc = {
        .service = "auth-service", .bind = cfg.bind, .port = cfg.port, .metrics = metrics};
    if (!sc.pem && !sc.path) {
        souk_log_error("set JWT_PRIVATE_KEY (PEM) or JWT_PRIVATE_KEY_FILE");
        goto out;
    }
    json_t *jwks = NULL;
    if (init_app(&app, &cfg, metrics) || souk_db_pool_new(&dbc, &app.db) ||
        souk_db_migrate(app.db, souk_bus_migrations, 30) ||
        souk_db_migrate(app.db, souk_migrations, 0) || souk_jwt_signer_new(&sc, &app.signer) ||
        souk_jwt_verifier_new(&vc, &app.verifier) || !(jwks = souk_jwt_signer_jwks(app.signer)) ||
        souk_jwt_verifier_set_jwks(app.verifier, jwks)) {
        json_decref(jwks);
        souk_log_error("start-up failed");
        goto out;
    }
    json_decref(jwks);
    const char *admin_email = souk_env_str("SOUK_ADMIN_EMAIL", NULL);
    const char *admin_password = souk_env_str("SOUK_ADMIN_PASSWORD", NULL);
    if (admin_email && admin_password &&
        auth_bootstrap_admin(&app, admin_email, admin_password) != SOUK_OK)
        goto out;
    souk_bus_config_t bc = {.brokers = souk_env_str("KAFKA_BROKERS", "127.0.0.1:9092"),
                            .service = "auth-service",
                            .pool = app.db,
                            .metrics = metrics};
    if (souk_bus_start(&bc, &app.bus) != SOUK_OK || souk_http_server_new(&hc, &srv) != SOUK_OK)
        goto out;
    auth_routes_register(srv, &app);
    souk_svc_deps_t deps = {app.db, app.bus};
    souk_http_set_ready(srv, souk_svc_ready, &deps);
    if (souk_http_serve(srv) == SOUK_OK)
        rc = 0;
out:
    souk_http_server_free(srv); /* stops accepting and drains in-flight requests */
    souk_bus_stop(app.bus);
    souk_jwt_verifier_free(app.verifier);
    souk_jwt_signer_free(app.signer);
    souk_db_pool_free(app.db);
    souk_metrics_free(metrics);
    return rc;
}
