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
    char *password_hash; /* owned */
    unsigned roles;
    bool disabled;
} auth_user_t;

void auth_user_cleanup(auth_user_t *u);

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

#endif
