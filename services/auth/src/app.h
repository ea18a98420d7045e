/* app.h: auth-service's process-wide context, built once at start and passed
 * to every handler; the pure rules (email, password) and the session flows
 * (login with throttling, refresh rotation with reuse detection, logout)
 * that the unit tests call without HTTP. */
#ifndef AUTH_APP_H
#define AUTH_APP_H

#include <pthread.h>
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

#define AUTH_PROVIDERS_MAX    8
#define AUTH_STATE_TTL_S      600 /* an authorization request in flight */
#define AUTH_LOGIN_CODE_TTL_S 60  /* the one-time code handed to the front end */

/* An OpenID Connect provider (OIDC_<NAME>_*), discovered on first use and
 * again when its keys do not know a token's kid (oidc.c). */
typedef struct {
    char name[32]; /* lower case, as in /auth/oauth/{provider}/... */
    char display_name[64];
    char *issuer, *client_id, *client_secret, *scopes;
    pthread_mutex_t lock; /* guards what follows */
    char *authorization_endpoint, *token_endpoint;
    char *jwks_uri;
    json_t *jwks;           /* the provider's keys, as fetched */
    uint64_t next_fetch_ns; /* no discovery or JWKS fetch before this */
} auth_provider_t;

typedef struct {
    souk_db_pool_t *db;
    souk_http_client_t *client; /* to the providers */
    souk_jwt_signer_t *signer;
    souk_jwt_verifier_t *verifier;
    souk_pwhash_params_t pwhash;
    sem_t hash_slots; /* bounds concurrent Argon2id runs (each takes memlimit) */
    int hash_wait_ms; /* how long a request waits for a slot before 503 */
    char dummy_hash[SOUK_PASSWORD_HASH_MAX];
    int access_ttl_s, refresh_ttl_s;
    auth_throttle_t throttle;
    souk_metric_t *logins, *registrations, *refreshes, *hash_busy;
    char *public_url;      /* PUBLIC_URL: the gateway's origin as browsers see it */
    char **redirect_allow; /* OAUTH_REDIRECT_ALLOWLIST: front-end URL prefixes */
    auth_provider_t providers[AUTH_PROVIDERS_MAX];
    size_t nproviders;
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
                                  const char *client, const char *request_id,
                                  auth_session_result_t *out);
/* Tokens for the user a one-time login code names (the code is spent);
 * DENIED when it is unknown, used or expired; DISABLED for a disabled
 * account. */
auth_session_outcome_t auth_login_code(auth_app_t *app, const char *code,
                                       auth_session_result_t *out);
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

/* ---- audit.c -------------------------------------------------------------- */
/* Records an entry on c (in the caller's transaction). */
souk_err_t auth_audit(souk_db_conn_t *c, const souk_audit_t *a) SOUK_MUST_CHECK;
/* The audit topic's consumer: stores other services' entries once each,
 * refusing an action its source does not own. */
extern const char *const auth_topics[];
extern const char *const auth_types[];
souk_err_t auth_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *app);
void auth_audit_routes_register(souk_http_server_t *srv, auth_app_t *app);

/* ---- guard.c: the caller --------------------------------------------------- */
/* souk_auth_require, and for a machine client's token that the client still
 * exists here (auth-service has the table; other services learn it within
 * the verifiers' recheck bound). */
bool auth_require(souk_http_ctx_t *ctx, auth_app_t *app, unsigned perm, souk_claims_t *out);
/* The caller as the database has them now holds perm: an enabled user
 * whose roles grant it, or a live client whose scopes do. SOUK_EFORBIDDEN
 * otherwise. For security-relevant decisions. */
souk_err_t auth_caller_can(souk_db_conn_t *c, const souk_claims_t *caller,
                           unsigned perm) SOUK_MUST_CHECK;

/* ---- clients.c: souk as an OAuth 2.0 authorization server ----------------- */
/* POST/GET/DELETE /auth/clients, POST /oauth/token,
 * GET /.well-known/oauth-authorization-server. */
void auth_client_routes_register(souk_http_server_t *srv, auth_app_t *app);
/* The JWKS with souk_revoked_clients (new reference). */
souk_err_t auth_jwks(auth_app_t *app, json_t **out) SOUK_MUST_CHECK;

/* ---- oidc.c: sign-in with OpenID Connect providers ------------------------ */
/* Reads OIDC_PROVIDERS and each OIDC_<NAME>_* into app->providers. */
souk_err_t auth_oidc_config(auth_app_t *app) SOUK_MUST_CHECK;
void auth_oidc_cleanup(auth_app_t *app);
/* Whether url may receive the browser after a sign-in: it starts with an
 * entry of the allow-list followed by nothing, '/', '?' or '#'. */
bool auth_redirect_allowed(const auth_app_t *app, const char *url);
void auth_oidc_routes_register(souk_http_server_t *srv, auth_app_t *app);
/* RFC 7636 §4.2: BASE64URL(SHA256(verifier)) into out. */
void auth_pkce_challenge(const char *verifier, char out[44]);
/* An id_token's claims: iss, aud (azp when several), sub, exp and iat
 * (with a minute's leeway), nonce. */
bool auth_oidc_claims_ok(json_t *claims, const char *issuer, const char *client_id,
                         const char *nonce, int64_t now);
/* email_verified is true (or "true", as some providers send it). */
bool auth_oidc_email_verified(json_t *claims);

/* ---- config.c: the service's parts for the skeleton ------------------------ */
struct souk_svc;
souk_err_t auth_app_init(struct souk_svc *svc, void *app) SOUK_MUST_CHECK;
void auth_app_cleanup(void *app);

/* ---- routes_auth.c, routes_users.c ---------------------------------------- */
/* Every route of the service (app: auth_app_t). */
void auth_routes_register(souk_http_server_t *srv, void *app);
void auth_user_routes_register(souk_http_server_t *srv, auth_app_t *app);

#endif
