/* app.h: auth-service's process-wide context, built once in main and passed
 * to every handler, plus the pure rules (email, password) the unit tests call
 * without HTTP. */
#ifndef AUTH_APP_H
#define AUTH_APP_H

#include <semaphore.h>
#include <souk/auth.h>
#include <souk/bus.h>
#include <souk/db.h>
#include <souk/http.h>
#include <souk/obs.h>

#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 128
#define AUTH_NAME_MAX     100
#define AUTH_EMAIL_MAX    254

typedef struct {
    souk_db_pool_t *db;
    souk_bus_t *bus;
    souk_jwt_signer_t *signer;
    souk_jwt_verifier_t *verifier;
    souk_pwhash_params_t pwhash;
    sem_t hash_slots; /* bounds concurrent Argon2id runs (each takes memlimit) */
    char dummy_hash[SOUK_PASSWORD_HASH_MAX];
    int access_ttl_s, refresh_ttl_s;
    int max_failures_email, max_failures_client, throttle_window_s, lockout_s;
    bool trust_forwarded;
    souk_metric_t *logins, *registrations, *refreshes;
} auth_app_t;

/* rules.c */
/* Trims ASCII whitespace from both ends of s, in place; returns s. */
char *auth_trim(char *s);
/* A pragmatic address check: one '@', non-empty local part of at most 64
 * bytes, a dotted domain of letters, digits and hyphens, no spaces. */
bool auth_email_valid(const char *email);
/* Validates register/patch passwords: AUTH_PASSWORD_MIN..MAX code points. */
bool auth_password_valid(const char *pw);
/* Hex of a refresh token's hash (out[65]); new_refresh_token makes a random
 * token (out[44], base64url of 32 bytes). */
void auth_token_hash(const char *token, char out[65]);
void auth_new_refresh_token(char out[44]);

/* routes.c */
void auth_routes_register(souk_http_server_t *srv, auth_app_t *app);
/* Creates the configured admin when no admin exists. */
souk_err_t auth_bootstrap_admin(auth_app_t *app, const char *email,
                                const char *password) SOUK_MUST_CHECK;

#endif
