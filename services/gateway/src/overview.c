/* overview.c: GET /me/overview = {user, orders: [5 latest], order_count}. The
 * two upstream calls run in parallel (libcurl's multi interface on the
 * request's thread, no thread per request), and a failure
 * of either degrades the answer to what is known, with "warnings" saying what
 * is missing, instead of failing the whole page. */
#include "gateway.h"

#include <string.h>

typedef struct {
    upstream_id_t up;
    souk_err_t err;
    souk_http_response_t resp;
    json_t *body; /* parsed 200 body, or NULL */
} call_t;

/* Both calls at once on this thread (souk_http_fetch_all), metrics after. */
static void run_calls(gateway_t *gw, souk_http_ctx_t *ctx, call_t *calls, const char **paths,
                      size_t n)
{
    souk_http_request_t reqs[2];
    souk_http_response_t resps[2];
    souk_err_t errs[2];
    size_t idx[2], k = 0;
    for (size_t i = 0; i < n; i++) {
        calls[i].err = SOUK_EUNAVAIL;
        if (!gw->upstreams[calls[i].up].base_url)
            continue;
        gw_upstream_request(gw, ctx, ctx->arena, calls[i].up, "GET", paths[i], &reqs[k]);
        idx[k++] = i;
    }
    uint64_t t0 = souk_now_mono_ns();
    souk_http_fetch_all(gw->client, reqs, resps, errs, k);
    double secs = (double)(souk_now_mono_ns() - t0) / 1e9;
    for (size_t j = 0; j < k; j++) {
        call_t *c = &calls[idx[j]];
        c->err = errs[j];
        c->resp = resps[j];
        gw_upstream_count(gw, c->up, c->err, &c->resp, secs);
        if (c->err == SOUK_OK && c->resp.status == 200)
            c->body = json_loadb(c->resp.body.data, c->resp.body.len, 0, NULL);
    }
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
    /* the caller's own orders, even for an admin (who would otherwise see all) */
    const char *paths[2] = {
        "/auth/me", souk_arena_printf(ctx->arena, "/orders?limit=5&user_id=%s", claims.sub)};
    call_t calls[2] = {{.up = UP_AUTH}, {.up = UP_ORDER}};
    run_calls(gw, ctx, calls, paths, 2);
    call_t user = calls[0], orders = calls[1];

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
