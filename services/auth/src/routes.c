/* routes.c: auth-service's HTTP handlers (ARCHITECTURE.md §4, auth and users).
 * Handlers validate, call store.c inside one connection (and transaction when
 * several writes must agree), and reply; resources they take are released by
 * the request arena, so an early return cannot leak. */
#include "app.h"
#include "store.h"

#include <souk/bus.h>
#include <souk/svc.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- per-request helpers ------------------------------------------------- */

static void user_end(void *p)
{
    auth_user_cleanup(p);
}

static auth_user_t *user_slot(souk_http_ctx_t *ctx)
{
    auth_user_t *u = souk_arena_alloc(ctx->arena, sizeof(*u));
    memset(u, 0, sizeof(*u));
    souk_arena_defer(ctx->arena, user_end, u);
    return u;
}

static void count(souk_metric_t *m, const char *result)
{
    souk_metric_inc(m, (const char *[]){result}, 1);
}

/* Argon2id takes memlimit bytes per run; a semaphore keeps a burst of logins
 * from taking the machine's memory. */
static souk_err_t hash_password(auth_app_t *app, const char *pw, char out[SOUK_PASSWORD_HASH_MAX])
{
    sem_wait(&app->hash_slots);
    souk_err_t err = souk_password_hash(pw, &app->pwhash, out);
    sem_post(&app->hash_slots);
    return err;
}

static bool verify_password(auth_app_t *app, const char *hash, const char *pw)
{
    sem_wait(&app->hash_slots);
    bool ok = souk_password_verify(hash, pw);
    sem_post(&app->hash_slots);
    return ok;
}

/* The client address for throttling: the gateway's X-Forwarded-For when we
 * sit behind it, the peer otherwise. */
static const char *client_of(souk_http_ctx_t *ctx, auth_app_t *app)
{
    const char *xff = app->trust_forwarded ? souk_http_header(ctx, "X-Forwarded-For") : NULL;
    if (!xff || !*xff)
        return ctx->client_ip;
    size_t n = strcspn(xff, ",");
    return souk_arena_strndup(ctx->arena, xff, n < 64 ? n : 64);
}

/* {access_token, token_type, expires_in, refresh_token, user} for u, with a
 * refresh token in family (a new family when family is NULL). */
static void reply_tokens(souk_http_ctx_t *ctx, auth_app_t *app, souk_db_conn_t *c,
                         const auth_user_t *u, const char *family, int status)
{
    souk_claims_t claims = {.roles = u->roles};
    snprintf(claims.sub, sizeof(claims.sub), "%s", u->id);
    snprintf(claims.email, sizeof(claims.email), "%s", u->email);
    char *access = NULL, refresh[44], hash[65], fam[SOUK_UUID_STRLEN + 1];
    if (!family) {
        souk_uuid_v4(fam);
        family = fam;
    }
    auth_new_refresh_token(refresh);
    auth_token_hash(refresh, hash);
    souk_err_t err = store_refresh_insert(c, family, u->id, hash, app->refresh_ttl_s);
    if (err == SOUK_OK)
        err = souk_jwt_issue(app->signer, &claims, &access);
    if (err == SOUK_OK)
        err = souk_db_commit(c);
    if (err) {
        souk_free(access);
        souk_svc_fail(ctx, err);
        return;
    }
    souk_http_reply_json(ctx, status,
                         json_pack("{s:s, s:s, s:i, s:s, s:O}", "access_token", access,
                                   "token_type", "Bearer", "expires_in", app->access_ttl_s,
                                   "refresh_token", refresh, "user", u->json));
    souk_free(access);
}

/* ---- /auth ---------------------------------------------------------------- */

/* souk.user.registered.v1, in the registration's transaction. */
static souk_err_t emit_registered(souk_http_ctx_t *ctx, souk_db_conn_t *c, const auth_user_t *u)
{
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    json_t *data = json_pack("{s:s, s:s, s:O, s:O}", "user_id", u->id, "email", u->email, "name",
                             json_object_get(u->json, "name"), "created_at",
                             json_object_get(u->json, "created_at"));
    souk_outbox_msg_t m = {.topic = "users",
                           .type = "souk.user.registered.v1",
                           .key = u->id,
                           .subject = u->id,
                           .data = data,
                           .traceparent = tp};
    souk_err_t err = souk_outbox_add(c, "/auth-service", &m);
    json_decref(data);
    return err;
}

static void do_register(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    json_t *body = souk_http_body_object(ctx);
    if (!body)
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    const char *email_in = NULL, *password = NULL, *name = "";
    souk_valid_known(&v, body, (const char *const[]){"email", "password", "name", NULL});
    char *email = NULL;
    if (souk_valid_string(&v, body, "email", SOUK_FIELD_REQUIRED, 1, 1024, &email_in)) {
        email = auth_trim(souk_arena_strdup(ctx->arena, email_in));
        if (!auth_email_valid(email))
            souk_valid_error(&v, "email", "must be a valid email address");
    }
    if (souk_valid_string(&v, body, "password", SOUK_FIELD_REQUIRED, 0, 1024, &password) &&
        !auth_password_valid(password))
        souk_valid_error(&v, "password", "must be %d to %d characters long", AUTH_PASSWORD_MIN,
                         AUTH_PASSWORD_MAX);
    if (souk_valid_string(&v, body, "name", SOUK_FIELD_NULLABLE, 0, AUTH_NAME_MAX, &name))
        name = auth_trim(souk_arena_strdup(ctx->arena, name));
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
        goto out;
    }
    char hash[SOUK_PASSWORD_HASH_MAX];
    souk_err_t err = hash_password(app, password, hash);
    souk_db_conn_t *c = err ? NULL : souk_svc_conn(ctx, app->db);
    if (!c) {
        if (err)
            souk_svc_fail(ctx, err);
        goto out;
    }
    auth_user_t *u = user_slot(ctx);
    err = souk_db_begin(c);
    if (err == SOUK_OK)
        err = store_user_insert(c, email, name ? name : "", hash, SOUK_ROLE_CUSTOMER, u);
    if (err == SOUK_OK)
        err = emit_registered(ctx, c, u);
    if (err == SOUK_OK)
        err = souk_db_commit(c);
    if (err == SOUK_ECONFLICT) {
        souk_http_problem(ctx, 409, "an account with this email already exists");
    } else if (err) {
        souk_svc_fail(ctx, err);
    } else {
        count(app->registrations, "created");
        souk_http_set_header(ctx, "Location", souk_arena_printf(ctx->arena, "/users/%s", u->id));
        souk_http_reply_json(ctx, 201, json_incref(u->json));
    }
out:
    souk_valid_cleanup(&v);
}

/* Replies 429 if either throttle key is locked; returns true when it did. */
static bool throttled(souk_http_ctx_t *ctx, souk_db_conn_t *c, const char *const keys[2])
{
    long wait = 0, w;
    for (int i = 0; i < 2; i++) {
        souk_err_t err = store_throttle_check(c, keys[i], &w);
        if (err) {
            souk_svc_fail(ctx, err);
            return true;
        }
        if (w > wait)
            wait = w;
    }
    if (wait <= 0)
        return false;
    souk_http_set_header(ctx, "Retry-After", souk_arena_printf(ctx->arena, "%ld", wait));
    souk_http_problem(ctx, 429, "too many failed logins; retry later");
    return true;
}

static void login_failed(souk_http_ctx_t *ctx, auth_app_t *app, souk_db_conn_t *c,
                         const char *const keys[2])
{
    souk_err_t err = store_throttle_fail(c, keys[0], app->max_failures_email,
                                         app->throttle_window_s, app->lockout_s);
    if (err == SOUK_OK)
        err = store_throttle_fail(c, keys[1], app->max_failures_client, app->throttle_window_s,
                                  app->lockout_s);
    if (err) {
        souk_svc_fail(ctx, err);
        return;
    }
    count(app->logins, "failure");
    souk_http_problem(ctx, 401, "invalid email or password");
}

static void do_login(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    json_t *body = souk_http_body_object(ctx);
    if (!body)
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    const char *email = NULL, *password = NULL;
    souk_valid_known(&v, body, (const char *const[]){"email", "password", NULL});
    souk_valid_string(&v, body, "email", SOUK_FIELD_REQUIRED, 1, 1024, &email);
    souk_valid_string(&v, body, "password", SOUK_FIELD_REQUIRED, 1, 1024, &password);
    souk_db_conn_t *c = NULL;
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
        goto out;
    }
    if (!(c = souk_svc_conn(ctx, app->db)))
        goto out;
    char *norm = auth_trim(souk_arena_strdup(ctx->arena, email));
    for (char *p = norm; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    const char *keys[2] = {souk_arena_printf(ctx->arena, "email:%s", norm),
                           souk_arena_printf(ctx->arena, "client:%s", client_of(ctx, app))};
    if (throttled(ctx, c, keys)) {
        count(app->logins, "throttled");
        goto out;
    }
    auth_user_t *u = user_slot(ctx);
    souk_err_t err = store_user_by_email(c, norm, u);
    if (err && err != SOUK_ENOTFOUND) {
        souk_svc_fail(ctx, err);
        goto out;
    }
    /* Unknown emails still pay for one hash, so timing does not tell. */
    bool ok = verify_password(app, err ? app->dummy_hash : u->password_hash, password);
    if (err || !ok) {
        login_failed(ctx, app, c, keys);
        goto out;
    }
    if (u->disabled) {
        count(app->logins, "disabled");
        souk_http_problem(ctx, 403, "this account is disabled");
        goto out;
    }
    if ((err = souk_db_begin(c)) != SOUK_OK ||
        (err = store_throttle_clear(c, keys[0])) != SOUK_OK) {
        souk_svc_fail(ctx, err);
        goto out;
    }
    count(app->logins, "success");
    reply_tokens(ctx, app, c, u, NULL, 200);
out:
    souk_valid_cleanup(&v);
}

/* Reads {"refresh_token": "..."}; replies 400 and returns NULL when absent. */
static const char *refresh_token_of(souk_http_ctx_t *ctx)
{
    json_t *body = souk_http_body_object(ctx);
    if (!body)
        return NULL;
    souk_valid_t v;
    souk_valid_init(&v);
    const char *token = NULL;
    souk_valid_known(&v, body, (const char *const[]){"refresh_token", NULL});
    souk_valid_string(&v, body, "refresh_token", SOUK_FIELD_REQUIRED, 1, 512, &token);
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
        token = NULL;
    }
    souk_valid_cleanup(&v);
    return token;
}

static void do_refresh(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    const char *token = refresh_token_of(ctx);
    souk_db_conn_t *c = token ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    char hash[65];
    auth_token_hash(token, hash);
    auth_refresh_t rt;
    auth_user_t *u = user_slot(ctx);
    souk_err_t err = souk_db_begin(c);
    if (err == SOUK_OK)
        err = store_refresh_lock(c, hash, &rt);
    if (err == SOUK_ENOTFOUND || (err == SOUK_OK && (rt.revoked || rt.expired))) {
        count(app->refreshes, "invalid");
        souk_http_problem(ctx, 401, "the refresh token is invalid or expired");
        return;
    }
    if (err == SOUK_OK && rt.spent) {
        /* Reuse of a spent token: whoever holds the family is suspect. */
        err = store_family_revoke(c, rt.family_id);
        if (err == SOUK_OK)
            err = souk_db_commit(c);
        if (err) {
            souk_svc_fail(ctx, err);
            return;
        }
        souk_log_json(SOUK_LOG_WARN, &(souk_log_ctx_t){ctx->request_id, ctx->trace.trace_id, NULL},
                      "refresh token reuse; family revoked",
                      souk_arena_json(ctx->arena, json_pack("{s:s}", "user.id", rt.user_id)));
        count(app->refreshes, "reuse");
        souk_http_problem(ctx, 401, "the refresh token is invalid or expired");
        return;
    }
    if (err == SOUK_OK)
        err = store_user_by_id(c, rt.user_id, u);
    if (err == SOUK_OK && u->disabled) {
        err = store_family_revoke(c, rt.family_id);
        if (err == SOUK_OK && (err = souk_db_commit(c)) == SOUK_OK) {
            count(app->refreshes, "disabled");
            souk_http_problem(ctx, 401, "the refresh token is invalid or expired");
            return;
        }
    }
    if (err == SOUK_OK)
        err = store_refresh_spend(c, rt.id);
    if (err) {
        souk_svc_fail(ctx, err);
        return;
    }
    count(app->refreshes, "rotated");
    reply_tokens(ctx, app, c, u, rt.family_id, 200);
}

static void do_logout(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    const char *token = refresh_token_of(ctx);
    souk_db_conn_t *c = token ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    char hash[65];
    auth_token_hash(token, hash);
    auth_refresh_t rt;
    souk_err_t err = souk_db_begin(c);
    if (err == SOUK_OK)
        err = store_refresh_lock(c, hash, &rt);
    if (err == SOUK_OK)
        err = store_family_revoke(c, rt.family_id);
    if (err == SOUK_OK || err == SOUK_ENOTFOUND) /* logging out twice is fine */
        err = souk_db_commit(c);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_empty(ctx, 204);
}

static void do_me(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims))
        return;
    souk_db_conn_t *c = souk_svc_conn(ctx, app->db);
    if (!c)
        return;
    auth_user_t *u = user_slot(ctx);
    souk_err_t err = store_user_by_id(c, claims.sub, u);
    if (err == SOUK_ENOTFOUND)
        souk_http_problem(ctx, 401, "the token's user no longer exists");
    else if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200, json_incref(u->json));
}

static void do_jwks(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_http_set_header(ctx, "Cache-Control", "public, max-age=300");
    souk_http_reply_json(ctx, 200, souk_jwt_signer_jwks(app->signer));
}

/* ---- /users --------------------------------------------------------------- */

static void do_users_list(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, SOUK_ROLE_ADMIN, &claims))
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

/* Resolves /users/:id for the caller: self or admin, else 404 (someone else's
 * account is not acknowledged). Returns the id, or NULL after replying. */
static const char *target_user(souk_http_ctx_t *ctx, auth_app_t *app, souk_claims_t *claims)
{
    if (!souk_auth_require(ctx, app->verifier, 0, claims))
        return NULL;
    const char *id = souk_http_param(ctx, "id");
    bool admin = claims->roles & SOUK_ROLE_ADMIN;
    if (!souk_uuid_valid(id, strlen(id)) || (!admin && strcasecmp(id, claims->sub) != 0)) {
        souk_http_problem(ctx, 404, "no such user");
        return NULL;
    }
    return id;
}

static void do_user_get(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    const char *id = target_user(ctx, app, &claims);
    souk_db_conn_t *c = id ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    auth_user_t *u = user_slot(ctx);
    souk_err_t err = store_user_by_id(c, id, u);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200, json_incref(u->json));
}

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
            souk_valid_error(&v, "roles", "must be a non-empty array of \"customer\", \"admin\"");
        p->patch.roles = &p->roles;
    }
    if (souk_valid_boolean(&v, body, "disabled", 0, &p->disabled))
        p->patch.disabled = &p->disabled;
    bool ok = souk_valid_ok(&v);
    if (!ok)
        souk_valid_reply(ctx, &v);
    else if (!admin && (roles || p->patch.disabled))
        souk_http_problem(ctx, 403, "only an admin may change roles or disable accounts");
    ok = ok && (admin || !(roles || p->patch.disabled));
    souk_valid_cleanup(&v);
    return ok;
}

/* Refuses (409) a change that would leave no enabled admin. */
static bool keeps_an_admin(souk_http_ctx_t *ctx, souk_db_conn_t *c, const char *id,
                           const auth_user_t *cur, const patch_req_t *p, bool deleting)
{
    bool loses_admin = (cur->roles & SOUK_ROLE_ADMIN) && !cur->disabled &&
                       (deleting || (p->patch.roles && !(p->roles & SOUK_ROLE_ADMIN)) ||
                        (p->patch.disabled && p->disabled));
    if (!loses_admin)
        return true;
    long long others = 0;
    souk_err_t err = store_other_admins(c, id, &others);
    if (err) {
        souk_svc_fail(ctx, err);
        return false;
    }
    if (others == 0) {
        souk_http_problem(ctx, 409, "this would leave no enabled admin");
        return false;
    }
    return true;
}

static void do_user_patch(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    const char *id = target_user(ctx, app, &claims);
    json_t *body = id ? souk_http_body_object(ctx) : NULL;
    patch_req_t p;
    if (!body || !parse_patch(ctx, body, claims.roles & SOUK_ROLE_ADMIN, &p))
        return;
    bool self = strcasecmp(id, claims.sub) == 0;
    souk_db_conn_t *c = souk_svc_conn(ctx, app->db);
    if (!c)
        return;
    auth_user_t *cur = user_slot(ctx), *u = user_slot(ctx);
    souk_err_t err = souk_db_begin(c);
    if (err == SOUK_OK)
        err = store_user_by_id(c, id, cur);
    if (err) { /* a missing user is a 404 there */
        souk_svc_fail(ctx, err);
        return;
    }
    if (p.password && self) {
        /* Changing one's own password needs the current one: a stolen access
         * token must not be enough to take the account over. */
        souk_valid_t v;
        souk_valid_init(&v);
        if (!p.current_password)
            souk_valid_error(&v, "current_password", "is required to change the password");
        else if (!verify_password(app, cur->password_hash, p.current_password))
            souk_valid_error(&v, "current_password", "does not match");
        bool ok = souk_valid_ok(&v);
        if (!ok)
            souk_valid_reply(ctx, &v);
        souk_valid_cleanup(&v);
        if (!ok)
            return;
    }
    if (!keeps_an_admin(ctx, c, id, cur, &p, false))
        return;
    char hash[SOUK_PASSWORD_HASH_MAX];
    if (p.password && (err = hash_password(app, p.password, hash)) == SOUK_OK)
        p.patch.password_hash = hash;
    if (err == SOUK_OK)
        err = store_user_update(c, id, &p.patch, u);
    /* New credentials or a disabled account end every session. */
    if (err == SOUK_OK && (p.password || (p.patch.disabled && p.disabled)))
        err = store_user_tokens_revoke(c, id);
    if (err == SOUK_OK)
        err = souk_db_commit(c);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200, json_incref(u->json));
}

static void do_user_delete(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    const char *id = target_user(ctx, app, &claims);
    souk_db_conn_t *c = id ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    auth_user_t *cur = user_slot(ctx);
    patch_req_t none = {0};
    souk_err_t err = souk_db_begin(c);
    if (err == SOUK_OK)
        err = store_user_by_id(c, id, cur);
    if (err) { /* a missing user is a 404 there */
        souk_svc_fail(ctx, err);
        return;
    }
    if (!keeps_an_admin(ctx, c, id, cur, &none, true))
        return;
    err = store_user_delete(c, id);
    if (err == SOUK_OK)
        err = souk_db_commit(c);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_empty(ctx, 204);
}

void auth_routes_register(souk_http_server_t *srv, auth_app_t *app)
{
    souk_http_route(srv, "POST", "/auth/register", do_register, app);
    souk_http_route(srv, "POST", "/auth/login", do_login, app);
    souk_http_route(srv, "POST", "/auth/refresh", do_refresh, app);
    souk_http_route(srv, "POST", "/auth/logout", do_logout, app);
    souk_http_route(srv, "GET", "/auth/me", do_me, app);
    souk_http_route(srv, "GET", "/.well-known/jwks.json", do_jwks, app);
    souk_http_route(srv, "GET", "/users", do_users_list, app);
    souk_http_route(srv, "GET", "/users/:id", do_user_get, app);
    souk_http_route(srv, "PATCH", "/users/:id", do_user_patch, app);
    souk_http_route(srv, "DELETE", "/users/:id", do_user_delete, app);
}

souk_err_t auth_bootstrap_admin(auth_app_t *app, const char *email, const char *password)
{
    souk_db_conn_t *c = NULL;
    auth_user_t u = {0};
    long long admins = 0;
    char hash[SOUK_PASSWORD_HASH_MAX];
    souk_err_t err = souk_db_acquire(app->db, &c);
    if (err)
        return err;
    if ((err = souk_db_begin(c)) || (err = store_other_admins(c, NULL, &admins)) || admins > 0)
        goto out;
    if (!auth_email_valid(email) || !auth_password_valid(password)) {
        souk_log_error("SOUK_ADMIN_EMAIL/SOUK_ADMIN_PASSWORD are not a valid email and a "
                       "%d..%d character password",
                       AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
        err = SOUK_EINVAL;
        goto out;
    }
    if ((err = hash_password(app, password, hash)))
        goto out;
    err = store_user_insert(c, email, "Administrator", hash, SOUK_ROLE_CUSTOMER | SOUK_ROLE_ADMIN,
                            &u);
    if (err == SOUK_ECONFLICT) {
        /* Never promote an existing account: whoever registered it first
         * would otherwise become admin. */
        souk_log_error("no admin exists and %s is already a customer account; "
                       "choose another SOUK_ADMIN_EMAIL",
                       email);
        err = SOUK_OK;
        goto out;
    }
    if (err == SOUK_OK && (err = souk_db_commit(c)) == SOUK_OK)
        souk_log_info("created admin %s", email);
out:
    auth_user_cleanup(&u);
    souk_db_release(app->db, c);
    return err;
}
