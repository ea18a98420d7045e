/* session.c: the session flows of auth-service as plain functions: login
 * with throttling, refresh rotation with reuse detection, logout, and the
 * purge of what they leave behind. Each holds a database connection only for
 * its database steps: a login looks the account up on one lease, hashes
 * with none, and records the outcome on another.
 *
 * Throttling counts failed logins under three keys: the account from this
 * client (locked after max_pair), the account from anywhere (a far higher
 * ceiling, so one address cannot lock its owner out) and the client (any
 * account). The account is its user id once known, so every spelling of an
 * email that finds the account counts against it. */
#include "app.h"

#include <stdio.h>
#include <string.h>

/* An account is a user id or a folded email (lower() of at most
 * AUTH_EMAIL_MAX bytes, which case folding may lengthen by half); a key adds
 * a prefix and the client's address (at most 45 bytes). */
#define ACCOUNT_MAX (2 * AUTH_EMAIL_MAX + 1)
#define KEY_MAX     (ACCOUNT_MAX + 64)

void auth_session_result_cleanup(auth_session_result_t *r)
{
    auth_user_cleanup(&r->user);
    souk_free(r->tokens.access);
    r->tokens.access = NULL;
}

/* Inserts a refresh token in family (a new one when NULL) and signs an
 * access token for u, inside the caller's transaction. */
static souk_err_t issue(auth_app_t *app, souk_db_conn_t *c, const auth_user_t *u,
                        const char *family, auth_tokens_t *out)
{
    souk_claims_t claims = {.roles = u->roles};
    snprintf(claims.sub, sizeof(claims.sub), "%s", u->id);
    snprintf(claims.email, sizeof(claims.email), "%s", u->email);
    char hash[65], fam[SOUK_UUID_STRLEN + 1];
    if (!family) {
        souk_uuid_v4(fam);
        family = fam;
    }
    auth_new_refresh_token(out->refresh);
    auth_token_hash(out->refresh, hash);
    souk_err_t err = store_refresh_insert(c, family, u->id, hash, app->refresh_ttl_s);
    if (err == SOUK_OK)
        err = souk_jwt_issue(app->signer, &claims, &out->access);
    return err;
}

/* ---- login ---------------------------------------------------------------- */

typedef struct {
    auth_app_t *app;
    const char *email, *client, *request_id;
    auth_session_result_t *out;
    bool known;
    char keys[3][KEY_MAX]; /* pair, account, client */
    const char *key_list[3];
} login_t;

static void make_keys(login_t *l, const char *account)
{
    snprintf(l->keys[0], KEY_MAX, "pair:%s|%s", account, l->client);
    snprintf(l->keys[1], KEY_MAX, "account:%s", account);
    snprintf(l->keys[2], KEY_MAX, "client:%s", l->client);
    for (int i = 0; i < 3; i++)
        l->key_list[i] = l->keys[i];
}

/* Lease 1: who is it, and may they try now? */
static souk_err_t login_lookup(souk_db_conn_t *c, void *ud)
{
    login_t *l = ud;
    char folded[ACCOUNT_MAX];
    souk_err_t err = store_user_by_email(c, l->email, &l->out->user);
    l->known = err == SOUK_OK;
    if (err == SOUK_ENOTFOUND)
        err = store_fold_email(c, l->email, folded, sizeof(folded));
    if (err)
        return err;
    make_keys(l, l->known ? l->out->user.id : folded);
    return store_throttle_check(c, l->key_list, &l->out->retry_after);
}

/* The audit entry of this attempt: the account when the email found one. */
static souk_err_t login_audit(souk_db_conn_t *c, const login_t *l, bool ok)
{
    const char *who = l->known ? l->out->user.id : NULL;
    souk_audit_t a = {.action = "login",
                      .actor_id = who,
                      .target_type = "user",
                      .target_id = who,
                      .outcome = ok ? "success" : "failure",
                      .client_ip = l->client,
                      .request_id = l->request_id};
    return auth_audit(c, &a);
}

/* A refused attempt (throttled, disabled) is audited as a failure. */
static souk_err_t login_refused(souk_db_conn_t *c, void *ud)
{
    return login_audit(c, ud, false);
}

/* Lease 2 after a failure: count it under every key. */
static souk_err_t login_failed(souk_db_conn_t *c, void *ud)
{
    login_t *l = ud;
    const auth_throttle_t *t = &l->app->throttle;
    const int max[3] = {t->max_pair, t->max_account, t->max_client};
    souk_err_t err = login_audit(c, l, false);
    for (int i = 0; i < 3 && err == SOUK_OK; i++)
        err = store_throttle_fail(c, l->keys[i], max[i], t->window_s, t->lockout_s);
    return err;
}

/* Lease 2 after a success: this client's count for the account starts over;
 * the account-wide count does not (the owner's success says nothing about
 * guesses from elsewhere). */
static souk_err_t login_succeeded(souk_db_conn_t *c, void *ud)
{
    login_t *l = ud;
    souk_err_t err = store_throttle_clear(c, l->keys[0]);
    if (err == SOUK_OK)
        err = login_audit(c, l, true);
    return err ? err : issue(l->app, c, &l->out->user, NULL, &l->out->tokens);
}

static void count(souk_metric_t *m, const char *result)
{
    souk_metric_inc(m, (const char *[]){result}, 1);
}

auth_session_outcome_t auth_login(auth_app_t *app, const char *email, const char *password,
                                  const char *client, const char *request_id,
                                  auth_session_result_t *out)
{
    memset(out, 0, sizeof(*out));
    login_t l = {
        .app = app, .email = email, .client = client, .request_id = request_id, .out = out};
    bool ok = false;
    if ((out->err = souk_db_run(app->db, login_lookup, &l)) != SOUK_OK)
        return AUTH_SESSION_FAILED;
    if (out->retry_after > 0) {
        count(app->logins, "throttled");
        out->err = souk_db_run(app->db, login_refused, &l);
        return out->err ? AUTH_SESSION_FAILED : AUTH_SESSION_THROTTLED;
    }
    /* Unknown emails pay for one hash too, so timing does not tell. */
    out->err = auth_verify_password(app, l.known ? out->user.password_hash : NULL, password, &ok);
    /* an account made by a provider has no password: nothing matches it */
    if (out->err == SOUK_ELIMIT)
        return AUTH_SESSION_BUSY;
    if (!ok) {
        count(app->logins, "failure");
        out->err = souk_db_run_tx(app->db, login_failed, &l);
        return out->err ? AUTH_SESSION_FAILED : AUTH_SESSION_DENIED;
    }
    if (out->user.disabled) {
        count(app->logins, "disabled");
        out->err = souk_db_run(app->db, login_refused, &l);
        return out->err ? AUTH_SESSION_FAILED : AUTH_SESSION_DISABLED;
    }
    if ((out->err = souk_db_run_tx(app->db, login_succeeded, &l)) != SOUK_OK)
        return AUTH_SESSION_FAILED;
    count(app->logins, "success");
    return AUTH_SESSION_OK;
}

/* ---- one-time login codes (OpenID Connect sign-ins) ------------------------ */

typedef struct {
    auth_app_t *app;
    const char *code;
    auth_session_result_t *out;
    auth_session_outcome_t outcome;
} code_t;

static souk_err_t code_tx(souk_db_conn_t *c, void *ud)
{
    code_t *x = ud;
    char hash[65], user_id[SOUK_UUID_STRLEN + 1];
    auth_token_hash(x->code, hash);
    souk_err_t err = store_login_code_take(c, hash, user_id);
    x->outcome = AUTH_SESSION_DENIED;
    if (err == SOUK_ENOTFOUND)
        return SOUK_OK; /* unknown, spent or expired: the same answer */
    if (err == SOUK_OK)
        err = store_user_by_id(c, user_id, &x->out->user);
    if (err == SOUK_ENOTFOUND)
        return SOUK_OK; /* deleted meanwhile */
    if (err == SOUK_OK && x->out->user.disabled) {
        x->outcome = AUTH_SESSION_DISABLED;
        return SOUK_OK; /* the code stays spent */
    }
    if (err == SOUK_OK)
        err = issue(x->app, c, &x->out->user, NULL, &x->out->tokens);
    x->outcome = AUTH_SESSION_OK;
    return err;
}

auth_session_outcome_t auth_login_code(auth_app_t *app, const char *code,
                                       auth_session_result_t *out)
{
    memset(out, 0, sizeof(*out));
    code_t x = {.app = app, .code = code, .out = out};
    if ((out->err = souk_db_run_tx(app->db, code_tx, &x)) != SOUK_OK)
        return AUTH_SESSION_FAILED;
    return x.outcome;
}

/* ---- refresh and logout --------------------------------------------------- */

typedef struct {
    auth_app_t *app;
    const char *token;
    auth_session_result_t *out;
    auth_session_outcome_t outcome;
} refresh_t;

/* One transaction. A denial that revokes a family still commits: the
 * revocation is the point. */
static souk_err_t refresh_tx(souk_db_conn_t *c, void *ud)
{
    refresh_t *x = ud;
    auth_refresh_t rt;
    char hash[65];
    auth_token_hash(x->token, hash);
    souk_err_t err = store_refresh_lock(c, hash, &rt);
    x->outcome = AUTH_SESSION_DENIED;
    if (err == SOUK_ENOTFOUND || (err == SOUK_OK && (rt.revoked || rt.expired)))
        return SOUK_OK;
    if (err == SOUK_OK && rt.spent) { /* whoever holds the family is suspect */
        x->out->reuse = true;
        return store_family_revoke(c, rt.family_id);
    }
    if (err == SOUK_OK)
        err = store_user_by_id(c, rt.user_id, &x->out->user);
    if (err == SOUK_OK && x->out->user.disabled)
        return store_family_revoke(c, rt.family_id);
    if (err == SOUK_OK)
        err = store_refresh_spend(c, rt.id);
    if (err == SOUK_OK)
        err = issue(x->app, c, &x->out->user, rt.family_id, &x->out->tokens);
    x->outcome = AUTH_SESSION_OK;
    return err;
}

auth_session_outcome_t auth_refresh(auth_app_t *app, const char *refresh_token,
                                    auth_session_result_t *out)
{
    memset(out, 0, sizeof(*out));
    refresh_t x = {.app = app, .token = refresh_token, .out = out};
    if ((out->err = souk_db_run_tx(app->db, refresh_tx, &x)) != SOUK_OK)
        return AUTH_SESSION_FAILED;
    count(app->refreshes, x.outcome == AUTH_SESSION_OK ? "rotated"
                          : out->reuse                 ? "reuse"
                          : out->user.disabled         ? "disabled"
                                                       : "invalid");
    return x.outcome;
}

static souk_err_t logout_tx(souk_db_conn_t *c, void *ud)
{
    refresh_t *x = ud;
    auth_refresh_t rt;
    char hash[65];
    auth_token_hash(x->token, hash);
    souk_err_t err = store_refresh_lock(c, hash, &rt);
    if (err == SOUK_ENOTFOUND) /* logging out twice is fine */
        return SOUK_OK;
    return err ? err : store_family_revoke(c, rt.family_id);
}

auth_session_outcome_t auth_logout(auth_app_t *app, const char *refresh_token,
                                   auth_session_result_t *out)
{
    memset(out, 0, sizeof(*out));
    refresh_t x = {.app = app, .token = refresh_token, .out = out};
    out->err = souk_db_run_tx(app->db, logout_tx, &x);
    return out->err ? AUTH_SESSION_FAILED : AUTH_SESSION_OK;
}

static souk_err_t purge(souk_db_conn_t *c, void *ud)
{
    auth_app_t *app = ud;
    souk_err_t err = store_purge(c, app->throttle.window_s);
    return err ? err : store_oauth_purge(c, app->access_ttl_s + 60);
}

souk_err_t auth_purge(auth_app_t *app)
{
    return souk_db_run(app->db, purge, app);
}
