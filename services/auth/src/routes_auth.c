/* routes_auth.c: the /auth routes and the JWKS (ARCHITECTURE.md §4, auth).
 * Handlers validate the body, call a session flow (session.c) or run one
 * short unit of work, and map the outcome to HTTP. Token answers are never
 * cached (Cache-Control: no-store). */
#include "app.h"

#include <souk/svc.h>

#include <string.h>

static void session_end(void *p)
{
    auth_session_result_cleanup(p);
}

/* A result slot cleaned up with the request. */
static auth_session_result_t *result_slot(souk_http_ctx_t *ctx)
{
    auth_session_result_t *r = souk_arena_alloc(ctx->arena, sizeof(*r));
    memset(r, 0, sizeof(*r));
    souk_arena_defer(ctx->arena, session_end, r);
    return r;
}

static void reply_tokens(souk_http_ctx_t *ctx, auth_app_t *app, const auth_session_result_t *r)
{
    souk_http_set_header(ctx, "Cache-Control", "no-store");
    souk_http_reply_json(ctx, 200,
                         json_pack("{s:s, s:s, s:i, s:s, s:O}", "access_token", r->tokens.access,
                                   "token_type", "Bearer", "expires_in", app->access_ttl_s,
                                   "refresh_token", r->tokens.refresh, "user", r->user.json));
}

static void busy(souk_http_ctx_t *ctx)
{
    souk_http_set_header(ctx, "Retry-After", "1");
    souk_http_problem(ctx, 503, "too many sign-ins at once; retry in a moment");
}

/* The outcome of a session flow as HTTP. */
static void reply_session(souk_http_ctx_t *ctx, auth_app_t *app, auth_session_outcome_t outcome,
                          const auth_session_result_t *r, const char *denied)
{
    switch (outcome) {
    case AUTH_SESSION_OK:
        reply_tokens(ctx, app, r);
        break;
    case AUTH_SESSION_DENIED:
        souk_http_problem(ctx, 401, denied);
        break;
    case AUTH_SESSION_THROTTLED:
        souk_http_set_header(ctx, "Retry-After",
                             souk_arena_printf(ctx->arena, "%ld", r->retry_after));
        souk_http_problem(ctx, 429, "too many failed logins; retry later");
        break;
    case AUTH_SESSION_DISABLED:
        souk_http_problem(ctx, 403, "this account is disabled");
        break;
    case AUTH_SESSION_BUSY:
        busy(ctx);
        break;
    case AUTH_SESSION_FAILED:
        souk_svc_fail(ctx, r->err);
        break;
    }
}

/* ---- register ------------------------------------------------------------- */

typedef struct {
    const char *email, *name, *password;
} signup_t;

/* Validates a registration body; replies 400 and returns false on error. */
static bool parse_signup(souk_http_ctx_t *ctx, json_t *body, signup_t *s)
{
    souk_valid_t v;
    souk_valid_init(&v);
    const char *email = NULL, *name = "";
    souk_valid_known(&v, body, (const char *const[]){"email", "password", "name", NULL});
    if (souk_valid_string(&v, body, "email", SOUK_FIELD_REQUIRED, 1, 1024, &email)) {
        s->email = auth_trim(souk_arena_strdup(ctx->arena, email));
        if (!auth_email_valid(s->email))
            souk_valid_error(&v, "email", "must be a valid email address");
    }
    if (souk_valid_string(&v, body, "password", SOUK_FIELD_REQUIRED, 0, 1024, &s->password) &&
        !auth_password_valid(s->password))
        souk_valid_error(&v, "password", "must be %d to %d characters long", AUTH_PASSWORD_MIN,
                         AUTH_PASSWORD_MAX);
    if (souk_valid_string(&v, body, "name", SOUK_FIELD_NULLABLE, 0, AUTH_NAME_MAX, &name))
        s->name = auth_trim(souk_arena_strdup(ctx->arena, name));
    if (!s->name)
        s->name = "";
    bool ok = souk_valid_ok(&v);
    if (!ok)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    return ok;
}

typedef struct {
    const signup_t *s;
    const char *hash, *traceparent;
    auth_user_t user;
} signup_tx_t;

static souk_err_t register_tx(souk_db_conn_t *c, void *ud)
{
    signup_tx_t *r = ud;
    souk_err_t err =
        store_user_insert(c, r->s->email, r->s->name, r->hash, SOUK_ROLE_CUSTOMER, &r->user);
    return err ? err : auth_emit_user(c, SOUK_EV_USER_REGISTERED, &r->user, r->traceparent);
}

static void do_register(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    json_t *body = souk_http_body_object(ctx);
    signup_t s = {0};
    if (!body || !parse_signup(ctx, body, &s))
        return;
    char hash[SOUK_PASSWORD_HASH_MAX], tp[SOUK_TRACEPARENT_LEN + 1];
    souk_err_t err = auth_hash_password(app, s.password, hash);
    if (err == SOUK_ELIMIT) {
        busy(ctx);
        return;
    }
    souk_trace_format(&ctx->trace, tp);
    signup_tx_t r = {.s = &s, .hash = hash, .traceparent = tp};
    if (err == SOUK_OK)
        err = souk_db_run_tx(app->db, register_tx, &r);
    if (err == SOUK_ECONFLICT) {
        souk_http_problem(ctx, 409, "an account with this email already exists");
    } else if (err) {
        souk_svc_fail(ctx, err);
    } else {
        souk_metric_inc(app->registrations, (const char *[]){"created"}, 1);
        souk_http_set_header(ctx, "Location",
                             souk_arena_printf(ctx->arena, "/users/%s", r.user.id));
        souk_http_reply_json(ctx, 201, json_incref(r.user.json));
    }
    auth_user_cleanup(&r.user);
}

/* ---- login, refresh, logout ----------------------------------------------- */

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
    bool ok = souk_valid_ok(&v);
    if (!ok)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    if (!ok)
        return;
    auth_session_result_t *r = result_slot(ctx);
    char *trimmed = auth_trim(souk_arena_strdup(ctx->arena, email));
    reply_session(ctx, app, auth_login(app, trimmed, password, ctx->client_ip, ctx->request_id, r),
                  r, "invalid email or password");
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
    if (!token)
        return;
    auth_session_result_t *r = result_slot(ctx);
    auth_session_outcome_t outcome = auth_refresh(app, token, r);
    if (r->reuse)
        souk_log_json(SOUK_LOG_WARN, &(souk_log_ctx_t){ctx->request_id, ctx->trace.trace_id, NULL},
                      "refresh token reuse; family revoked", NULL);
    reply_session(ctx, app, outcome, r, "the refresh token is invalid or expired");
}

static void do_logout(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    const char *token = refresh_token_of(ctx);
    if (!token)
        return;
    auth_session_result_t *r = result_slot(ctx);
    if (auth_logout(app, token, r) != AUTH_SESSION_OK)
        souk_svc_fail(ctx, r->err);
    else
        souk_http_reply_empty(ctx, 204);
}

/* ---- me, keys ------------------------------------------------------------- */

static void do_me(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    if (!auth_require(ctx, app, 0, &claims))
        return;
    souk_db_conn_t *c = souk_svc_conn(ctx, app->db);
    if (!c)
        return;
    auth_user_t u = {0};
    souk_err_t err = store_user_by_id(c, claims.sub, &u);
    if (err == SOUK_ENOTFOUND)
        souk_http_problem(ctx, 401, "the token's user no longer exists");
    else if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200, json_incref(u.json));
    auth_user_cleanup(&u);
}

/* The keys, and the machine clients whose tokens must be refused: every
 * verifier fetches this every few seconds, so it is cached only briefly. */
static void do_jwks(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    json_t *jwks = NULL;
    souk_err_t err = auth_jwks(app, &jwks);
    if (err) {
        souk_svc_fail(ctx, err);
        return;
    }
    souk_http_set_header(ctx, "Cache-Control", "public, max-age=5");
    souk_http_reply_json(ctx, 200, jwks);
}

/* GET /auth/roles: the role table, for any signed-in caller. */
static void do_roles(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    souk_claims_t claims;
    if (auth_require(ctx, app, 0, &claims))
        souk_http_reply_json(ctx, 200, souk_roles_table_json());
}

/* POST /auth/oauth/exchange {code}: the one-time code of an OpenID Connect
 * sign-in for the same answer as a login. */
static void do_exchange(souk_http_ctx_t *ctx, void *ud)
{
    auth_app_t *app = ud;
    json_t *body = souk_http_body_object(ctx);
    if (!body)
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    const char *code = NULL;
    souk_valid_known(&v, body, (const char *const[]){"code", NULL});
    souk_valid_string(&v, body, "code", SOUK_FIELD_REQUIRED, 1, 128, &code);
    bool ok = souk_valid_ok(&v);
    if (!ok)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    if (!ok)
        return;
    auth_session_result_t *r = result_slot(ctx);
    reply_session(ctx, app, auth_login_code(app, code, r), r,
                  "the login code is invalid, used or expired");
}

void auth_routes_register(souk_http_server_t *srv, void *app)
{
    souk_http_route(srv, "POST", "/auth/register", do_register, app);
    souk_http_route(srv, "POST", "/auth/login", do_login, app);
    souk_http_route(srv, "POST", "/auth/refresh", do_refresh, app);
    souk_http_route(srv, "POST", "/auth/logout", do_logout, app);
    souk_http_route(srv, "GET", "/auth/me", do_me, app);
    souk_http_route(srv, "GET", "/.well-known/jwks.json", do_jwks, app);
    souk_http_route(srv, "GET", "/auth/roles", do_roles, app);
    souk_http_route(srv, "POST", "/auth/oauth/exchange", do_exchange, app);
    auth_user_routes_register(srv, app);
    auth_client_routes_register(srv, app);
    auth_oidc_routes_register(srv, app);
    auth_audit_routes_register(srv, app);
}
