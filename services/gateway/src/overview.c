/* overview.c: GET /me/overview = {user, orders: [5 latest], order_count}. The
 * two upstream calls run in parallel (one on a helper thread), and a failure
 * of either degrades the answer to what is known, with "warnings" saying what
 * is missing, instead of failing the whole page. */
#include "gateway.h"

#include <pthread.h>
#include <string.h>

typedef struct {
    gateway_t *gw;
    souk_http_ctx_t *ctx;
    upstream_id_t up;
    const char *path;
    souk_err_t err;
    souk_http_response_t resp;
    json_t *body; /* parsed 200 body, or NULL */
} call_t;

static void *run_call(void *p)
{
    call_t *c = p;
    if (!c->gw->upstreams[c->up].base_url) {
        c->err = SOUK_EUNAVAIL;
        return NULL;
    }
    souk_arena_t *arena = souk_arena_new(); /* the request's arena is not thread-safe */
    c->err = gw_upstream_call(c->gw, c->ctx, arena, c->up, "GET", c->path, NULL, 0, &c->resp);
    souk_arena_free(arena);
    if (c->err == SOUK_OK && c->resp.status == 200)
        c->body = json_loadb(c->resp.body.data, c->resp.body.len, 0, NULL);
    return NULL;
}

static void warn(json_t *warnings, const char *source, const call_t *c)
{
    const char *why = c->err == SOUK_ETIMEOUT   ? "timed out"
                      : c->err == SOUK_EUNAVAIL ? "unavailable"
                      : c->err                  ? "failed"
                                                : "answered with an error";
    json_array_append_new(warnings, json_pack("{s:s, s:s}", "source", source, "detail", why));
}

void gw_me_overview(souk_http_ctx_t *ctx, void *ud)
{
    gateway_t *gw = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, gw->verifier, 0, &claims))
        return;
    call_t user = {.gw = gw, .ctx = ctx, .up = UP_AUTH, .path = "/auth/me"};
    /* the caller's own orders, even for an admin (who would otherwise see all) */
    call_t orders = {.gw = gw,
                     .ctx = ctx,
                     .up = UP_ORDER,
                     .path =
                         souk_arena_printf(ctx->arena, "/orders?limit=5&user_id=%s", claims.sub)};
    pthread_t t;
    bool threaded = pthread_create(&t, NULL, run_call, &orders) == 0;
    run_call(&user);
    if (threaded)
        pthread_join(t, NULL);
    else
        run_call(&orders);

    if (user.err == SOUK_OK && user.resp.status == 401) {
        souk_http_problem(ctx, 401, "the bearer token is invalid or expired");
        goto out;
    }
    json_t *warnings = json_array();
    json_t *out = json_object();
    json_t *items = json_object_get(orders.body, "items");
    json_t *total = json_object_get(orders.body, "total");
    json_object_set(out, "user", user.body ? user.body : json_null());
    json_object_set_new(out, "orders", json_is_array(items) ? json_incref(items) : json_array());
    json_object_set_new(out, "order_count",
                        json_is_integer(total) ? json_incref(total) : json_null());
    if (!user.body)
        warn(warnings, "user", &user);
    if (!orders.body)
        warn(warnings, "orders", &orders);
    if (!user.body && !orders.body) {
        json_decref(out);
        json_decref(warnings);
        souk_http_problem(ctx, 503, "neither the auth nor the order service answered");
        goto out;
    }
    if (json_array_size(warnings))
        json_object_set_new(out, "warnings", warnings);
    else
        json_decref(warnings);
    souk_http_reply_json(ctx, 200, out);
out:
    json_decref(user.body);
    json_decref(orders.body);
    souk_http_response_cleanup(&user.resp);
    souk_http_response_cleanup(&orders.resp);
}
