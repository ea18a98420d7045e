/* routes_users.c: the /users routes (ARCHITECTURE.md §4, users). Someone
 * else's account does not exist for a caller without users:read (404);
 * changing it needs users:write (403). Such a decision (roles, disabling,
 * acting on another account) is checked against the caller as the database
 * has them now, not only against the token: a disabled or demoted admin's
 * unexpired token grants nothing. Role and status changes and deletions
 * are audited in their transaction. Password hashes are computed with no
 * database connection held. */
#include "app.h"

#include <souk/svc.h>

#include <string.h>
#include <strings.h>

static void do_users_list(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    if (!auth_require(ctx, app, SOUK_PERM_USERS_READ, &claims))
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    souk_page_t page;
    const char *q = souk_http_query(ctx, "q");
    souk_http_page(ctx, &v, &page);
    if (q && strlen(q) > AUTH_EMAIL_MAX)
        souk_valid_error(&v, "q", "must be at most %d characters", AUTH_EMAIL_MAX);
    souk_db_conn_t *c = NULL;
    if (!souk_valid_ok(&v))
        souk_valid_reply(ctx, &v);
    else if ((c = souk_svc_conn(ctx, app->db))) {
        json_t *items = NULL;
        long long total = 0;
        souk_err_t err = store_user_list(c, q, page.page, page.limit, &items, &total);
        if (err)
            souk_svc_fail(ctx, err);
        else
            souk_http_reply_json(ctx, 200, souk_http_page_body(items, &page, total));
    }
    souk_valid_cleanup(&v);
}

/* Resolves /users/:id for the caller: self, or someone else with
 * users:read (else 404: the account is not acknowledged), and perm for
 * acting on someone else (else 403). Returns the id, or NULL after
 * replying. */
static const char *target_user(souk_http_ctx_t *ctx, auth_app_t *app, unsigned perm,
                               souk_claims_t *claims)
{
    if (!auth_require(ctx, app, 0, claims))
        return NULL;
    const char *id = souk_http_param(ctx, "id");
    bool self = strcasecmp(id, claims->sub) == 0 && !claims->client;
    if (!souk_uuid_valid(id, strlen(id)) ||
        (!self && !souk_claims_can(claims, SOUK_PERM_USERS_READ))) {
        souk_http_problem(ctx, 404, "no such user");
        return NULL;
    }
    return self || souk_auth_permit(ctx, claims, perm) ? id : NULL;
}

static void do_user_get(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    const char *id = target_user(ctx, app, SOUK_PERM_USERS_READ, &claims);
    souk_db_conn_t *c = id ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    auth_user_t u = {0};
    souk_err_t err = store_user_by_id(c, id, &u);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200, json_incref(u.json));
    auth_user_cleanup(&u);
}

/* ---- PATCH and DELETE ----------------------------------------------------- */

typedef struct {
    auth_user_patch_t patch;
    const char *password, *current_password;
    unsigned roles;
    bool disabled;
} patch_req_t;

/* Validates a PATCH body into p; replies (400/403) and returns false on error. */
static bool parse_patch(souk_http_ctx_t *ctx, json_t *body, bool admin, patch_req_t *p)
{
    souk_valid_t v;
    souk_valid_init(&v);
    memset(p, 0, sizeof(*p));
    souk_valid_known(
        &v, body,
        (const char *const[]){"name", "password", "current_password", "roles", "disabled", NULL});
    if (json_object_size(body) == 0)
        souk_valid_error(&v, "body", "must change at least one field");
    const char *name;
    if (souk_valid_string(&v, body, "name", 0, 0, AUTH_NAME_MAX, &name))
        p->patch.name = auth_trim(souk_arena_strdup(ctx->arena, name));
    if (souk_valid_string(&v, body, "password", 0, 0, 1024, &p->password) &&
        !auth_password_valid(p->password))
        souk_valid_error(&v, "password", "must be %d to %d characters long", AUTH_PASSWORD_MIN,
                         AUTH_PASSWORD_MAX);
    souk_valid_string(&v, body, "current_password", 0, 1, 1024, &p->current_password);
    json_t *roles = json_object_get(body, "roles");
    if (roles) {
        size_t i;
        json_t *r;
        bool ok = json_is_array(roles) && json_array_size(roles) > 0;
        json_array_foreach(roles, i, r)
        {
            unsigned bit = souk_role_parse(json_string_value(r));
            ok &= bit != 0;
            p->roles |= bit;
        }
        if (!ok)
            souk_valid_error(&v, "roles",
                             "must be a non-empty array of customer, catalog, support, analyst, "
                             "admin");
        p->patch.roles = &p->roles;
    }
    if (souk_valid_boolean(&v, body, "disabled", 0, &p->disabled))
        p->patch.disabled = &p->disabled;
    bool ok = souk_valid_ok(&v);
    if (!ok)
        souk_valid_reply(ctx, &v);
    else if (!admin && (roles || p->patch.disabled))
        souk_http_problem(ctx, 403, "changing roles or disabling accounts needs users:write");
    ok = ok && (admin || !(roles || p->patch.disabled));
    souk_valid_cleanup(&v);
    return ok;
}

/* Why a change was refused inside its transaction. */
typedef enum { REFUSED_NONE, REFUSED_NOT_ADMIN, REFUSED_LAST_ADMIN } refusal_t;

typedef struct {
    const char *id, *traceparent;
    const souk_claims_t *caller;
    souk_audit_t audit;  /* the caller, client address and request id */
    bool admin_decision; /* re-read the caller before acting */
    bool deleting;
    const patch_req_t *p;
    refusal_t refused;
    auth_user_t cur, updated;
} change_t;

/* The caller as the database has them holds users:write, or the change is
 * refused. */
static souk_err_t check_caller(souk_db_conn_t *c, change_t *x)
{
    souk_err_t err = auth_caller_can(c, x->caller, SOUK_PERM_USERS_WRITE);
    if (err == SOUK_EFORBIDDEN)
        x->refused = REFUSED_NOT_ADMIN;
    return err;
}

/* One audit entry for action on the target account. */
static souk_err_t audit_change(souk_db_conn_t *c, change_t *x, const char *action)
{
    souk_audit_t a = x->audit;
    a.action = action;
    a.target_type = "user";
    a.target_id = x->cur.id;
    return auth_audit(c, &a);
}

/* The audit entries of an update: a role change, a status change. */
static souk_err_t audit_update(souk_db_conn_t *c, change_t *x)
{
    const auth_user_patch_t *p = &x->p->patch;
    souk_err_t err = SOUK_OK;
    if (p->roles && *p->roles != x->cur.roles)
        err = audit_change(c, x, "user.roles.change");
    if (err == SOUK_OK && p->disabled && *p->disabled != x->cur.disabled)
        err = audit_change(c, x, *p->disabled ? "user.disable" : "user.enable");
    return err;
}

/* Refuses a change that would leave no enabled admin. */
static souk_err_t keeps_an_admin(souk_db_conn_t *c, change_t *x)
{
    const patch_req_t *p = x->p;
    bool loses_admin = (x->cur.roles & SOUK_ROLE_ADMIN) && !x->cur.disabled &&
                       (x->deleting || (p && p->patch.roles && !(p->roles & SOUK_ROLE_ADMIN)) ||
                        (p && p->patch.disabled && p->disabled));
    long long others = 0;
    souk_err_t err = loses_admin ? store_other_admins(c, x->id, &others) : SOUK_OK;
    if (err == SOUK_OK && loses_admin && others == 0) {
        x->refused = REFUSED_LAST_ADMIN;
        err = SOUK_ECONFLICT;
    }
    return err;
}

static souk_err_t change_tx(souk_db_conn_t *c, void *ud)
{
    change_t *x = ud;
    souk_err_t err = x->admin_decision ? check_caller(c, x) : SOUK_OK;
    if (err == SOUK_OK)
        err = store_user_by_id(c, x->id, &x->cur);
    if (err == SOUK_OK)
        err = keeps_an_admin(c, x);
    if (err == SOUK_OK && x->deleting) {
        err = store_user_delete(c, x->id);
        if (err == SOUK_OK)
            err = audit_change(c, x, "user.delete");
        return err ? err : auth_emit_user(c, SOUK_EV_USER_DELETED, &x->cur, x->traceparent);
    }
    if (err == SOUK_OK)
        err = store_user_update(c, x->id, &x->p->patch, &x->updated);
    /* New credentials or a disabled account end every session. */
    if (err == SOUK_OK && (x->p->patch.password_hash || (x->p->patch.disabled && x->p->disabled)))
        err = store_user_tokens_revoke(c, x->id);
    if (err == SOUK_OK)
        err = audit_update(c, x);
    if (err == SOUK_OK)
        err = auth_emit_user(c, SOUK_EV_USER_UPDATED, &x->updated, x->traceparent);
    return err;
}

static void change_failed(souk_http_ctx_t *ctx, const change_t *x, souk_err_t err)
{
    if (x->refused == REFUSED_NOT_ADMIN)
        souk_http_problem(ctx, 403, "your account may not do this");
    else if (x->refused == REFUSED_LAST_ADMIN)
        souk_http_problem(ctx, 409, "this would leave no enabled admin");
    else
        souk_svc_fail(ctx, err); /* a missing user is a 404 there */
}

static souk_err_t load_user(souk_db_conn_t *c, void *ud)
{
    change_t *x = ud;
    return store_user_by_id(c, x->id, &x->cur);
}

/* Changing one's own password needs the current one: a stolen access token
 * must not be enough to take the account over. Replies and returns false
 * when it does not match. */
static bool current_password_ok(souk_http_ctx_t *ctx, auth_app_t *app, change_t *x)
{
    souk_valid_t v;
    souk_valid_init(&v);
    bool match = false;
    souk_err_t err = x->p->current_password ? souk_db_run(app->db, load_user, x) : SOUK_OK;
    if (err == SOUK_OK && x->p->current_password)
        err = auth_verify_password(app, x->cur.password_hash, x->p->current_password, &match);
    auth_user_cleanup(&x->cur);
    if (err == SOUK_ELIMIT) {
        souk_http_set_header(ctx, "Retry-After", "1");
        souk_http_problem(ctx, 503, "too many sign-ins at once; retry in a moment");
    } else if (err) {
        souk_svc_fail(ctx, err);
    } else if (!x->p->current_password) {
        souk_valid_error(&v, "current_password", "is required to change the password");
    } else if (!match) {
        souk_valid_error(&v, "current_password", "does not match");
    }
    bool ok = err == SOUK_OK && souk_valid_ok(&v);
    if (err == SOUK_OK && !ok)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    return ok;
}

static void do_user_patch(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    const char *id = target_user(ctx, app, SOUK_PERM_USERS_WRITE, &claims);
    json_t *body = id ? souk_http_body_object(ctx) : NULL;
    patch_req_t p;
    if (!body || !parse_patch(ctx, body, souk_claims_can(&claims, SOUK_PERM_USERS_WRITE), &p))
        return;
    bool self = strcasecmp(id, claims.sub) == 0 && !claims.client;
    char tp[SOUK_TRACEPARENT_LEN + 1], hash[SOUK_PASSWORD_HASH_MAX];
    souk_trace_format(&ctx->trace, tp);
    change_t x = {.id = id,
                  .caller = &claims,
                  .audit = souk_audit_of(ctx, &claims, NULL, NULL, NULL),
                  .traceparent = tp,
                  .admin_decision = !self || p.patch.roles || p.patch.disabled,
                  .p = &p};
    if (p.password && self && !current_password_ok(ctx, app, &x))
        return;
    souk_err_t err = p.password ? auth_hash_password(app, p.password, hash) : SOUK_OK;
    p.patch.password_hash = p.password ? hash : NULL;
    if (err == SOUK_OK)
        err = souk_db_run_tx(app->db, change_tx, &x);
    if (err == SOUK_ELIMIT) {
        souk_http_set_header(ctx, "Retry-After", "1");
        souk_http_problem(ctx, 503, "too many sign-ins at once; retry in a moment");
    } else if (err) {
        change_failed(ctx, &x, err);
    } else {
        souk_http_reply_json(ctx, 200, json_incref(x.updated.json));
    }
    auth_user_cleanup(&x.cur);
    auth_user_cleanup(&x.updated);
}

static void do_user_delete(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    const char *id = target_user(ctx, app, SOUK_PERM_USERS_WRITE, &claims);
    if (!id)
        return;
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    change_t x = {.id = id,
                  .caller = &claims,
                  .audit = souk_audit_of(ctx, &claims, NULL, NULL, NULL),
                  .traceparent = tp,
                  .admin_decision = strcasecmp(id, claims.sub) != 0 || claims.client,
                  .deleting = true};
    souk_err_t err = souk_db_run_tx(app->db, change_tx, &x);
    if (err)
        change_failed(ctx, &x, err);
    else
        souk_http_reply_empty(ctx, 204);
    auth_user_cleanup(&x.cur);
}

void auth_user_routes_register(souk_http_server_t *srv, auth_app_t *app)
{
    souk_http_route(srv, "GET", "/users", do_users_list, app);
    souk_http_route(srv, "GET", "/users/:id", do_user_get, app);
    souk_http_route(srv, "PATCH", "/users/:id", do_user_patch, app);
    souk_http_route(srv, "DELETE", "/users/:id", do_user_delete, app);
}
