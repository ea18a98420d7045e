/* store.h: auth-service's SQL: users, refresh tokens, login throttling. Every
 * function takes a connection the caller acquired (so callers choose the
 * transaction) and returns souk_err_t; nothing here knows about HTTP. */
#ifndef AUTH_STORE_H
#define AUTH_STORE_H

#include <souk/auth.h>
#include <souk/db.h>

typedef struct {
    json_t *json; /* public representation {id, email, name, roles, ...} (owned) */
    char id[SOUK_UUID_STRLEN + 1];
    char email[256];
    char *password_hash; /* owned; NULL for an account without a password */
    unsigned roles;
    bool disabled;
} auth_user_t;

void auth_user_cleanup(auth_user_t *u);
/* Role bits of "customer,admin"; *arr (when not NULL) gets the names. */
unsigned store_roles_from_csv(const char *csv, json_t **arr);

souk_err_t store_user_insert(souk_db_conn_t *c, const char *email, const char *name,
                             const char *hash, unsigned roles, auth_user_t *out) SOUK_MUST_CHECK;
souk_err_t store_user_by_email(souk_db_conn_t *c, const char *email,
                               auth_user_t *out) SOUK_MUST_CHECK;
souk_err_t store_user_by_id(souk_db_conn_t *c, const char *id, auth_user_t *out) SOUK_MUST_CHECK;
/* Page of users (newest first) whose email or name contains q (may be NULL),
 * in any case; *items is a new JSON array. */
souk_err_t store_user_list(souk_db_conn_t *c, const char *q, long page, long limit, json_t **items,
                           long long *total) SOUK_MUST_CHECK;

/* NULL members are left unchanged. */
typedef struct {
    const char *name;
    const char *password_hash;
    const unsigned *roles;
    const bool *disabled;
} auth_user_patch_t;

souk_err_t store_user_update(souk_db_conn_t *c, const char *id, const auth_user_patch_t *p,
                             auth_user_t *out) SOUK_MUST_CHECK;
souk_err_t store_user_delete(souk_db_conn_t *c, const char *id) SOUK_MUST_CHECK;
/* Enabled admins other than except_id (NULL: all). Locks admin rows. */
souk_err_t store_other_admins(souk_db_conn_t *c, const char *except_id,
                              long long *count) SOUK_MUST_CHECK;

/* ---- refresh tokens ------------------------------------------------------- */

typedef struct {
    char id[SOUK_UUID_STRLEN + 1];
    char family_id[SOUK_UUID_STRLEN + 1];
    char user_id[SOUK_UUID_STRLEN + 1];
    bool spent, revoked, expired;
} auth_refresh_t;

/* token_hash is hex of the token's hash. */
souk_err_t store_refresh_insert(souk_db_conn_t *c, const char *family_id, const char *user_id,
                                const char *token_hash, int ttl_s) SOUK_MUST_CHECK;
/* Finds and row-locks the token (call inside a transaction). */
souk_err_t store_refresh_lock(souk_db_conn_t *c, const char *token_hash,
                              auth_refresh_t *out) SOUK_MUST_CHECK;
souk_err_t store_refresh_spend(souk_db_conn_t *c, const char *id) SOUK_MUST_CHECK;
souk_err_t store_family_revoke(souk_db_conn_t *c, const char *family_id) SOUK_MUST_CHECK;
souk_err_t store_user_tokens_revoke(souk_db_conn_t *c, const char *user_id) SOUK_MUST_CHECK;

/* ---- login throttling ----------------------------------------------------- */

/* *retry_after_s > 0 when any of the keys is locked out now (the longest). */
souk_err_t store_throttle_check(souk_db_conn_t *c, const char *const keys[3],
                                long *retry_after_s) SOUK_MUST_CHECK;
/* email folded to lower case the way the users' email index folds it (so
 * U+212A KELVIN SIGN and 'k' are one account), into out[cap]. */
souk_err_t store_fold_email(souk_db_conn_t *c, const char *email, char *out,
                            size_t cap) SOUK_MUST_CHECK;
/* Deletes refresh tokens no one can use any more and throttle rows whose
 * window passed. */
souk_err_t store_purge(souk_db_conn_t *c, int throttle_window_s) SOUK_MUST_CHECK;
/* Counts a failure in the current window; locks the key for lockout_s once
 * failures reach max. */
souk_err_t store_throttle_fail(souk_db_conn_t *c, const char *key, int max, int window_s,
                               int lockout_s) SOUK_MUST_CHECK;
souk_err_t store_throttle_clear(souk_db_conn_t *c, const char *key) SOUK_MUST_CHECK;

/* ---- machine clients (store_oauth.c) --------------------------------------- */

typedef struct {
    char id[SOUK_UUID_STRLEN + 1];
    char secret_hash[65]; /* hex */
    unsigned scopes;
    bool deleted;
} auth_client_t;

/* Inserts a client; *out its public JSON {client_id, name, scopes,
 * created_at} (new reference). */
souk_err_t store_client_insert(souk_db_conn_t *c, const char *id, const char *name,
                               const char *secret_hash, unsigned scopes, const char *created_by,
                               json_t **out) SOUK_MUST_CHECK;
souk_err_t store_client_get(souk_db_conn_t *c, const char *id, auth_client_t *out) SOUK_MUST_CHECK;
/* Page of live clients, newest first (*items: new array of public JSON). */
souk_err_t store_client_list(souk_db_conn_t *c, long page, long limit, json_t **items,
                             long long *total) SOUK_MUST_CHECK;
/* Marks a live client deleted; SOUK_ENOTFOUND when there is none. */
souk_err_t store_client_delete(souk_db_conn_t *c, const char *id) SOUK_MUST_CHECK;
/* Ids of clients deleted within the last within_s seconds (their tokens may
 * still be alive), as a new JSON array. */
souk_err_t store_clients_revoked(souk_db_conn_t *c, int within_s, json_t **ids) SOUK_MUST_CHECK;

/* ---- OpenID Connect logins (store_oauth.c) -------------------------------- */

typedef struct {
    char provider[64];
    char nonce[64];
    char code_verifier[128];
    char redirect_uri[1024];
} auth_oauth_state_t;

/* state_hash and code hashes are hex (auth_token_hash). */
souk_err_t store_state_insert(souk_db_conn_t *c, const char *state_hash,
                              const auth_oauth_state_t *st, int ttl_s) SOUK_MUST_CHECK;
/* Takes (deletes and returns) a live state; SOUK_ENOTFOUND when unknown,
 * used or expired. */
souk_err_t store_state_take(souk_db_conn_t *c, const char *state_hash,
                            auth_oauth_state_t *out) SOUK_MUST_CHECK;
/* The user linked to (provider, subject); SOUK_ENOTFOUND when none. */
souk_err_t store_identity_user(souk_db_conn_t *c, const char *provider, const char *subject,
                               char user_id[SOUK_UUID_STRLEN + 1]) SOUK_MUST_CHECK;
souk_err_t store_identity_link(souk_db_conn_t *c, const char *provider, const char *subject,
                               const char *user_id) SOUK_MUST_CHECK;
souk_err_t store_login_code_insert(souk_db_conn_t *c, const char *code_hash, const char *user_id,
                                   int ttl_s) SOUK_MUST_CHECK;
/* Takes a live login code: its user id; SOUK_ENOTFOUND when unknown, used
 * or expired. */
souk_err_t store_login_code_take(souk_db_conn_t *c, const char *code_hash,
                                 char user_id[SOUK_UUID_STRLEN + 1]) SOUK_MUST_CHECK;
/* Removes expired states and codes, and clients deleted more than
 * revoked_s ago (no token of theirs is alive). */
souk_err_t store_oauth_purge(souk_db_conn_t *c, int revoked_s) SOUK_MUST_CHECK;

/* ---- audit log (store_oauth.c) -------------------------------------------- */

/* Records a; event_id (may be NULL) makes a redelivered event a no-op; at
 * (RFC 3339, may be NULL: now). */
souk_err_t store_audit_insert(souk_db_conn_t *c, const souk_audit_t *a, const char *event_id,
                              const char *at) SOUK_MUST_CHECK;
/* Page of entries, newest first, filtered by actor_id and action (NULL: any). */
souk_err_t store_audit_list(souk_db_conn_t *c, const char *actor_id, const char *action, long page,
                            long limit, json_t **items, long long *total) SOUK_MUST_CHECK;

#endif
