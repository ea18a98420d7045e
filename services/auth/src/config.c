/* config.c: auth-service's own settings (the shared ones are the
 * skeleton's; OpenID Connect providers, PUBLIC_URL and the redirect
 * allow-list are read by oidc.c), its signing key and verifier, and the
 * admin created at start. */
#include "app.h"

#include <souk/svc.h>

#include <sodium.h>
#include <unistd.h>

typedef struct {
    long access_ttl, refresh_ttl, ops, mem_kib, slots, wait_ms;
    long max_pair, max_account, max_client, window, lockout;
} config_t;

static souk_err_t load_config(config_t *c)
{
    souk_err_t err = SOUK_OK;
    err |= souk_env_long("JWT_TTL_SECONDS", 900, 60, AUTH_TTL_MAX_S, &c->access_ttl);
    err |= souk_env_long("REFRESH_TTL_SECONDS", 30 * 86400, 300, 365 * 86400, &c->refresh_ttl);
    err |= souk_env_long("PASSWORD_HASH_OPS", crypto_pwhash_OPSLIMIT_INTERACTIVE, 1, 16, &c->ops);
    err |= souk_env_long("PASSWORD_HASH_MEM_KIB", crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024, 8,
                         1 << 20, &c->mem_kib);
    err |= souk_env_long("PASSWORD_HASH_CONCURRENCY", 2 * sysconf(_SC_NPROCESSORS_ONLN), 1, 256,
                         &c->slots);
    err |= souk_env_long("PASSWORD_HASH_WAIT_MS", 2000, 10, 60000, &c->wait_ms);
    err |= souk_env_long("LOGIN_MAX_FAILURES", 5, 1, 1000, &c->max_pair);
    err |= souk_env_long("LOGIN_MAX_FAILURES_ACCOUNT", 100, 1, 100000, &c->max_account);
    err |= souk_env_long("LOGIN_MAX_FAILURES_CLIENT", 50, 1, 100000, &c->max_client);
    err |= souk_env_long("LOGIN_WINDOW_SECONDS", 900, 1, 86400, &c->window);
    err |= souk_env_long("LOGIN_LOCKOUT_SECONDS", 300, 1, 86400, &c->lockout);
    return err ? SOUK_EINVAL : SOUK_OK;
}

static void init_app(auth_app_t *app, const config_t *c, souk_metrics_t *m)
{
    static const char *const result[] = {"result", NULL};
    app->access_ttl_s = (int)c->access_ttl;
    app->refresh_ttl_s = (int)c->refresh_ttl;
    app->pwhash.opslimit = (unsigned long long)c->ops;
    app->pwhash.memlimit = (size_t)c->mem_kib * 1024;
    app->hash_wait_ms = (int)c->wait_ms;
    app->throttle = (auth_throttle_t){(int)c->max_pair, (int)c->max_account, (int)c->max_client,
                                      (int)c->window, (int)c->lockout};
    sem_init(&app->hash_slots, 0, (unsigned)c->slots);
    app->logins = souk_metrics_counter(m, "auth_logins_total", "Login attempts by result.", result);
    app->registrations =
        souk_metrics_counter(m, "auth_registrations_total", "Accounts registered.", result);
    app->refreshes = souk_metrics_counter(m, "auth_refreshes_total",
                                          "Refresh token presentations by result.", result);
    app->hash_busy = souk_metrics_counter(
        m, "auth_password_hash_busy_total",
        "Requests refused because every password-hash slot stayed busy.", NULL);
}

/* The verifier of our own tokens holds our public key: no JWKS fetch. */
static souk_err_t init_keys(auth_app_t *app, const souk_svc_config_t *cfg, int ttl_s)
{
    souk_jwt_signer_config_t sc = {.pem = souk_env_str("JWT_PRIVATE_KEY", NULL),
                                   .path = souk_env_str("JWT_PRIVATE_KEY_FILE", NULL),
                                   .generate = true,
                                   .issuer = cfg->issuer,
                                   .audience = "souk",
                                   .ttl_s = ttl_s};
    souk_jwt_verifier_config_t vc = {
        .issuer = cfg->issuer, .audience = "souk", .cache_entries = (size_t)cfg->token_cache};
    if (!sc.pem && !sc.path) {
        souk_log_error("set JWT_PRIVATE_KEY (PEM) or JWT_PRIVATE_KEY_FILE");
        return SOUK_EINVAL;
    }
    json_t *jwks = NULL;
    souk_err_t err = souk_jwt_signer_new(&sc, &app->signer);
    if (err == SOUK_OK)
        err = souk_jwt_verifier_new(&vc, &app->verifier);
    if (err == SOUK_OK && !(jwks = souk_jwt_signer_jwks(app->signer)))
        err = SOUK_EINTERNAL;
    if (err == SOUK_OK)
        err = souk_jwt_verifier_set_jwks(app->verifier, jwks);
    json_decref(jwks);
    return err;
}

souk_err_t auth_app_init(souk_svc_t *svc, void *ud)
{
    auth_app_t *app = ud;
    config_t c;
    app->db = svc->db;
    app->client = svc->client;
    if (load_config(&c) != SOUK_OK || auth_oidc_config(app) != SOUK_OK)
        return SOUK_EINVAL;
    init_app(app, &c, svc->metrics);
    /* A hash of a random password, so unknown emails cost the same as known. */
    char pw[33];
    uint8_t raw[16];
    souk_random(raw, sizeof(raw));
    souk_hex(raw, sizeof(raw), pw);
    souk_err_t err = souk_password_hash(pw, &app->pwhash, app->dummy_hash);
    if (err == SOUK_OK)
        err = init_keys(app, svc->cfg, app->access_ttl_s);
    const char *admin = souk_env_str("SOUK_ADMIN_EMAIL", NULL);
    const char *password = souk_env_str("SOUK_ADMIN_PASSWORD", NULL);
    if (err == SOUK_OK && admin && password)
        err = auth_bootstrap_admin(app, admin, password);
    return err;
}

void auth_app_cleanup(void *ud)
{
    auth_app_t *app = ud;
    souk_jwt_verifier_free(app->verifier);
    souk_jwt_signer_free(app->signer);
    auth_oidc_cleanup(app);
}
