/* guard.c: who the caller of auth-service is. Tokens are checked by the
 * shared guard (souk_auth_require); a machine client's token is also held
 * against the clients table, which lives here, so a deleted client is
 * refused by auth-service at once. Decisions that matter (roles, disabling,
 * clients) re-read the caller from the database, not only the token. */
#include "app.h"

#include <souk/svc.h>

static souk_err_t client_live(souk_db_conn_t *c, void *ud)
{
    const souk_claims_t *claims = ud;
    auth_client_t cl;
    souk_err_t err = store_client_get(c, claims->sub, &cl);
    return err == SOUK_OK && cl.deleted ? SOUK_ENOTFOUND : err;
}

bool auth_require(souk_http_ctx_t *ctx, auth_app_t *app, unsigned perm, souk_claims_t *out)
{
    if (!souk_auth_require(ctx, app->verifier, perm, out))
        return false;
    if (!out->client)
        return true;
    souk_err_t err = souk_db_run(app->db, client_live, out);
    if (err == SOUK_ENOTFOUND)
        souk_http_problem(ctx, 401, "the bearer token's client no longer exists");
    else if (err)
        souk_svc_fail(ctx, err);
    return err == SOUK_OK;
}

souk_err_t auth_caller_can(souk_db_conn_t *c, const souk_claims_t *caller, unsigned perm)
{
    unsigned has = 0;
    souk_err_t err;
    if (caller->client) {
        auth_client_t cl;
        err = store_client_get(c, caller->sub, &cl);
        if (err == SOUK_OK && !cl.deleted)
            has = cl.scopes;
    } else {
        auth_user_t u = {0};
        err = store_user_by_id(c, caller->sub, &u);
        if (err == SOUK_OK && !u.disabled)
            has = souk_role_permissions(u.roles);
        auth_user_cleanup(&u);
    }
    if (err == SOUK_ENOTFOUND || (err == SOUK_OK && (has & perm) != perm))
        err = SOUK_EFORBIDDEN;
    return err;
}
