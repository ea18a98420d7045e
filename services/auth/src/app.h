/* app.h: auth-service's process-wide context, built once at start and passed
 * to every handler; the pure rules (email, password) and the session flows
 * (login with throttling, refresh rotation with reuse detection, logout)
 * that the unit tests call without HTTP. */
#ifndef AUTH_APP_H
#define AUTH_APP_H

#include <semaphore.h>
#include <souk/auth.h>
#include <souk/bus.h>
#include <souk/db.h>
#include <souk/http.h>
#include <souk/obs.h>

#include "store.h"

#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 128
#define AUTH_NAME_MAX     100
#define AUTH_EMAIL_MAX    254
#define AUTH_TTL_MAX_S    3600 /* an access token outlives a revocation at most this long */

typedef struct {
    int max_pair;    /* failures of one account from one client before a lock */
    int max_account; /* failures of one account from anywhere (a higher ceiling) */
    int max_client;  /* failures from one client, any account */
    int window_s, lockout_s;
} auth_throttle_t;

typedef struct {
    souk_db_pool_t *db;
    souk_jwt_signer_t *signer;
    souk_jwt_verifier_t *verifier;
    souk_pwhash_params_t pwhash;
    sem_t hash_slots; /* bounds concurrent Argon2id runs (each takes memlimit) */
    int hash_wait_ms; /* how long a request waits for a slot before 503 */
    char dummy_hash[SOUK_PASSWORD_HASH_MAX];
    int access_ttl_s, refresh_ttl_s;
    auth_throttle_t throttle;
    souk_metric_t *logins, *registrations, *refreshes, *hash_busy;
} auth_app_t;

/* ---- rules.c -------------------------------------------------------------- */
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

/* ---- passwords.c: Argon2id under a bound ---------------------------------- */
/* At most PASSWORD_HASH_CONCURRENCY hashes run at once; a caller waits for a
 * slot at most hash_wait_ms and then gets SOUK_ELIMIT (503 + Retry-After).
 * Nobody holds a database connection while waiting or hashing. */
souk_err_t auth_hash_password(auth_app_t *app, const char *pw,
                              char out[SOUK_PASSWORD_HASH_MAX]) SOUK_MUST_CHECK;
/* *ok tells whether pw matches hash (NULL hash: the dummy, so unknown
 * accounts cost the same). SOUK_ELIMIT when no slot freed up in time. */
souk_err_t auth_verify_password(auth_app_t *app, const char *hash, const char *pw,
                                bool *ok) SOUK_MUST_CHECK;

/* ---- session.c: the flows ------------------------------------------------- */

typedef struct {
    char *access; /* souk_free */
    char refresh[44];
} auth_tokens_t;

typedef enum {
    AUTH_SESSION_OK,        /* tokens issued (login, refresh) or done (logout) */
    AUTH_SESSION_DENIED,    /* wrong credentials, or an invalid refresh token (401) */
    AUTH_SESSION_THROTTLED, /* too many failures (429, retry_after) */
    AUTH_SESSION_DISABLED,  /* the account is disabled (403) */
    AUTH_SESSION_BUSY,      /* no hash slot in time (503) */
    AUTH_SESSION_FAILED,    /* err says why */
} auth_session_outcome_t;

typedef struct {
    auth_user_t user;     /* OK: the user (auth_user_cleanup) */
    auth_tokens_t tokens; /* OK: the new pair (auth_session_result_cleanup) */
    long retry_after;     /* THROTTLED: seconds */
    bool reuse;           /* DENIED on refresh: a spent token came back; family revoked */
    souk_err_t err;       /* FAILED */
} auth_session_result_t;

void auth_session_result_cleanup(auth_session_result_t *r);

/* Logs in email (as typed) with password from client (an address). Counts
 * failures per (account, client), per account (a higher ceiling, so nobody
 * locks a known user out from one address) and per client; the account is
 * the user id when the email is known, else its lower-case form as the
 * database folds it. */
auth_session_outcome_t auth_login(auth_app_t *app, const char *email, const char *password,
                                  const char *client, auth_session_result_t *out);
/* Rotates a refresh token: the old one is spent, a new one in the same
 * family issued; a spent one presented again revokes its family (reuse). A
 * disabled user's token family is revoked. */
auth_session_outcome_t auth_refresh(auth_app_t *app, const char *refresh_token,
                                    auth_session_result_t *out);
/* Revokes the token's family; an unknown token is fine (logged out). */
auth_session_outcome_t auth_logout(auth_app_t *app, const char *refresh_token,
                                   auth_session_result_t *out);
/* Removes refresh tokens no one can use (expired, or spent or revoked in a
 * family without a live token) and throttle rows past their window. */
souk_err_t auth_purge(auth_app_t *app) SOUK_MUST_CHECK;

/* ---- users.c -------------------------------------------------------------- */
/* Creates the configured admin when no admin exists. */
souk_err_t auth_bootstrap_admin(auth_app_t *app, const char *email,
                                const char *password) SOUK_MUST_CHECK;
/* Writes a souk.user.* event for u into the outbox on c (in the caller's
 * transaction). */
souk_err_t auth_emit_user(souk_db_conn_t *c, const char *type, const auth_user_t *u,
                          const char *traceparent) SOUK_MUST_CHECK;

/* ---- config.c: the service's parts for the skeleton ------------------------ */
struct souk_svc;
souk_err_t auth_app_init(struct souk_svc *svc, void *app) SOUK_MUST_CHECK;
void auth_app_cleanup(void *app);

/* ---- routes_auth.c, routes_users.c ---------------------------------------- */
/* Every route of the service (app: auth_app_t). */
void auth_routes_register(souk_http_server_t *srv, void *app);
void auth_user_routes_register(souk_http_server_t *srv, auth_app_t *app);

#endif
