/* routes.c: notification-service's HTTP handlers (ARCHITECTURE.md §4,
 * notifications): a user's in-app notifications and email preferences, and
 * for holders of users:write the email deliveries that failed and a way to
 * send them again.
 * Someone else's notification does not exist for the caller (404). */
#include "notify.h"

#include <souk/svc.h>
#include <string.h>

static const char *const delivery_states[] = {"pending", "sending", "sent", "failed", NULL};

bool notify_may_manage_deliveries(const souk_claims_t *claims)
{
    return souk_claims_can(claims, SOUK_PERM_USERS_WRITE);
}

/* The caller's claims, or a reply (401/503) and false. */
static bool caller(souk_http_ctx_t *ctx, notify_app_t *app, souk_claims_t *claims)
{
    return souk_auth_require(ctx, app->verifier, 0, claims);
}

static bool admin(souk_http_ctx_t *ctx, notify_app_t *app, souk_claims_t *claims)
{
    if (!caller(ctx, app, claims))
        return false;
    if (!notify_may_manage_deliveries(claims)) {
        souk_http_problem(ctx, 403, "you may not manage email deliveries");
        return false;
    }
    return true;
}

/* ?unread=true|false into *out; records an error otherwise. */
static void parse_unread(souk_http_ctx_t *ctx, souk_valid_t *v, bool *out)
{
    const char *u = souk_http_query(ctx, "unread");
    *out = false;
    if (!u)
        return;
    if (strcmp(u, "true") == 0)
        *out = true;
    else if (strcmp(u, "false") != 0)
        souk_valid_error(v, "unread", "must be true or false");
}

static void do_list(souk_http_ctx_t *ctx, void *ud)
{
    notify_app_t *app = ud;
    souk_claims_t claims;
    if (!caller(ctx, app, &claims))
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    souk_page_t page;
    bool unread;
    souk_http_page(ctx, &v, &page);
    parse_unread(ctx, &v, &unread);
    souk_db_conn_t *c;
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
    } else if ((c = souk_svc_conn(ctx, app->db))) {
        json_t *items = NULL;
        long long total = 0;
        souk_err_t err = store_note_list(c, claims.sub, unread, &page, &items, &total);
        if (err)
            souk_svc_fail(ctx, err);
        else
            souk_http_reply_json(ctx, 200, souk_http_page_body(items, &page, total));
    }
    souk_valid_cleanup(&v);
}

static void do_unread_count(souk_http_ctx_t *ctx, void *ud)
{
    notify_app_t *app = ud;
    souk_claims_t claims;
    souk_db_conn_t *c = caller(ctx, app, &claims) ? souk_svc_conn(ctx, app->db) : NULL;
    long long n = 0;
    if (!c)
        return;
    souk_err_t err = store_note_unread(c, claims.sub, &n);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200, json_pack("{s:I}", "count", (json_int_t)n));
}

static void do_read(souk_http_ctx_t *ctx, void *ud)
{
    notify_app_t *app = ud;
    souk_claims_t claims;
    if (!caller(ctx, app, &claims))
        return;
    const char *id = souk_svc_uuid_param(ctx, "id");
    souk_db_conn_t *c = id ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    souk_err_t err = store_note_read(c, claims.sub, id);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_empty(ctx, 204);
}

static void do_read_all(souk_http_ctx_t *ctx, void *ud)
{
    notify_app_t *app = ud;
    souk_claims_t claims;
    souk_db_conn_t *c = caller(ctx, app, &claims) ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    souk_err_t err = store_note_read_all(c, claims.sub);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_empty(ctx, 204);
}

static json_t *prefs_json(const notify_prefs_t *p)
{
    return json_pack("{s:{s:b, s:b}}", "email", "order_updates", p->order_updates, "welcome",
                     p->welcome);
}

static void do_prefs_get(souk_http_ctx_t *ctx, void *ud)
{
    notify_app_t *app = ud;
    souk_claims_t claims;
    souk_db_conn_t *c = caller(ctx, app, &claims) ? souk_svc_conn(ctx, app->db) : NULL;
    notify_prefs_t p;
    if (!c)
        return;
    souk_err_t err = store_prefs_get(c, claims.sub, &p);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200, prefs_json(&p));
}

/* {email:{order_updates?, welcome?}} over the current preferences. */
static bool parse_prefs(souk_http_ctx_t *ctx, json_t *body, notify_prefs_t *p)
{
    souk_valid_t v;
    souk_valid_init(&v);
    souk_valid_known(&v, body, (const char *const[]){"email", NULL});
    size_t before = json_array_size(v.errors);
    json_t *email = json_object_get(body, "email");
    if (!json_is_object(email)) {
        souk_valid_error(&v, "email", "must be an object with order_updates and welcome");
    } else {
        souk_valid_known(&v, email, (const char *const[]){"order_updates", "welcome", NULL});
        souk_valid_boolean(&v, email, "order_updates", SOUK_FIELD_OPTIONAL, &p->order_updates);
        souk_valid_boolean(&v, email, "welcome", SOUK_FIELD_OPTIONAL, &p->welcome);
    }
    /* souk_valid_* name the bare member: say where it is */
    for (size_t i = before; i < json_array_size(v.errors); i++) {
        json_t *e = json_array_get(v.errors, i);
        const char *f = json_string_value(json_object_get(e, "field"));
        if (f && strcmp(f, "email") != 0)
            json_object_set_new(e, "field",
                                json_string(souk_arena_printf(ctx->arena, "email.%s", f)));
    }
    bool ok = souk_valid_ok(&v);
    if (!ok)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    return ok;
}

typedef struct {
    const char *user_id;
    json_t *body;
    souk_http_ctx_t *ctx;
    notify_prefs_t prefs;
    bool invalid;
} prefs_put_t;

static souk_err_t prefs_put_tx(souk_db_conn_t *c, void *ud)
{
    prefs_put_t *x = ud;
    souk_err_t err = store_prefs_get(c, x->user_id, &x->prefs);
    if (err)
        return err;
    if (!parse_prefs(x->ctx, x->body, &x->prefs)) {
        x->invalid = true;
        return SOUK_EINVAL;
    }
    return store_prefs_put(c, x->user_id, &x->prefs);
}

static void do_prefs_put(souk_http_ctx_t *ctx, void *ud)
{
    notify_app_t *app = ud;
    souk_claims_t claims;
    if (!caller(ctx, app, &claims))
        return;
    prefs_put_t x = {.user_id = claims.sub, .ctx = ctx, .body = souk_http_body_object(ctx)};
    souk_db_conn_t *c = x.body ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    souk_err_t err = souk_db_tx(c, prefs_put_tx, &x);
    if (x.invalid)
        return; /* answered with the field errors */
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200, prefs_json(&x.prefs));
}

static bool known_state(const char *s)
{
    for (size_t i = 0; delivery_states[i]; i++)
        if (strcmp(s, delivery_states[i]) == 0)
            return true;
    return false;
}

static void do_deliveries(souk_http_ctx_t *ctx, void *ud)
{
    notify_app_t *app = ud;
    souk_claims_t claims;
    if (!admin(ctx, app, &claims))
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    souk_page_t page;
    souk_http_page(ctx, &v, &page);
    const char *status = souk_http_query(ctx, "status");
    if (status && !known_state(status))
        souk_valid_error(&v, "status", "must be pending, sending, sent or failed");
    souk_db_conn_t *c;
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
    } else if ((c = souk_svc_conn(ctx, app->db))) {
        json_t *items = NULL;
        long long total = 0;
        souk_err_t err = store_delivery_list(c, status, &page, &items, &total);
        if (err)
            souk_svc_fail(ctx, err);
        else
            souk_http_reply_json(ctx, 200, souk_http_page_body(items, &page, total));
    }
    souk_valid_cleanup(&v);
}

static void do_retry(souk_http_ctx_t *ctx, void *ud)
{
    notify_app_t *app = ud;
    souk_claims_t claims;
    if (!admin(ctx, app, &claims))
        return;
    const char *id = souk_svc_uuid_param(ctx, "id");
    souk_db_conn_t *c = id ? souk_svc_conn(ctx, app->db) : NULL;
    json_t *d = NULL;
    if (!c)
        return;
    souk_err_t err = store_delivery_retry_now(c, id, &d);
    if (err == SOUK_ECONFLICT)
        souk_http_problem(ctx, 409, "only a failed delivery can be retried");
    else if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 202, d);
}

void notify_routes_register(souk_http_server_t *srv, void *app)
{
    souk_http_route(srv, "GET", "/notifications", do_list, app);
    souk_http_route(srv, "GET", "/notifications/unread-count", do_unread_count, app);
    souk_http_route(srv, "POST", "/notifications/read-all", do_read_all, app);
    souk_http_route(srv, "GET", "/notifications/preferences", do_prefs_get, app);
    souk_http_route(srv, "PUT", "/notifications/preferences", do_prefs_put, app);
    souk_http_route(srv, "GET", "/notifications/deliveries", do_deliveries, app);
    souk_http_route(srv, "POST", "/notifications/deliveries/:id/retry", do_retry, app);
    souk_http_route(srv, "POST", "/notifications/:id/read", do_read, app);
}
