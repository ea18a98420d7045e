/* routes.c: order-service's HTTP handlers (ARCHITECTURE.md §4, orders). An
 * order is placed pending by the placement flow (place.c); inventory
 * outcomes arrive later as events (events.c). */
#include "order.h"

#include <souk/svc.h>
#include <string.h>
#include <strings.h>

#define IDEMPOTENCY_KEY_MAX 255

static void reply_order(souk_http_ctx_t *ctx, int status, json_t *order)
{
    if (status == 201)
        souk_http_set_header(ctx, "Location",
                             souk_arena_printf(ctx->arena, "/orders/%s",
                                               json_string_value(json_object_get(order, "id"))));
    souk_http_reply_json(ctx, status, order);
}

/* The Idempotency-Key header, NULL when absent; replies 400 when malformed. */
static bool idempotency_key(souk_http_ctx_t *ctx, const char **out)
{
    const char *k = souk_http_header(ctx, "Idempotency-Key");
    *out = k;
    if (!k)
        return true;
    size_t n = strlen(k);
    bool ok = n > 0 && n <= IDEMPOTENCY_KEY_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = k[i] > ' ' && k[i] < 0x7f;
    if (!ok) {
        json_t *errors = json_pack("[{s:s, s:s}]", "field", "Idempotency-Key", "message",
                                   "must be 1 to 255 visible ASCII characters");
        souk_http_problem_errors(ctx, 400, "the request has invalid fields", errors);
    }
    return ok;
}

/* The placement flow's outcome as HTTP. */
static void reply_placed(souk_http_ctx_t *ctx, order_app_t *app, order_place_outcome_t outcome,
                         order_place_result_t *r)
{
    switch (outcome) {
    case ORDER_PLACE_CREATED:
        souk_metric_inc(app->placed, NULL, 1);
        reply_order(ctx, 201, r->order);
        break;
    case ORDER_PLACE_REPLAYED:
        souk_http_set_header(ctx, "Idempotent-Replayed", "true");
        reply_order(ctx, 200, r->order);
        break;
    case ORDER_PLACE_KEY_REUSED:
        souk_http_problem(ctx, 422, "this Idempotency-Key was used for a different order");
        break;
    case ORDER_PLACE_UNORDERABLE:
        souk_http_problem_errors(ctx, 422, "the order refers to products that cannot be ordered",
                                 r->errors);
        break;
    case ORDER_PLACE_NO_CATALOG:
        souk_http_set_header(ctx, "Retry-After", "1");
        souk_http_problem(ctx, 503, "the product service is unavailable, retry later");
        break;
    case ORDER_PLACE_FAILED:
        souk_svc_fail(ctx, r->err);
        break;
    }
}

static void do_place(souk_http_ctx_t *ctx, void *ud)
{
    order_app_t *app = ud;
    souk_claims_t claims;
    const char *key;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims) || !idempotency_key(ctx, &key))
        return;
    if (claims.client) { /* a machine client is nobody's customer */
        souk_http_problem(ctx, 403, "machine clients cannot place orders");
        return;
    }
    json_t *body = souk_http_body_object(ctx);
    if (!body)
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    order_line_t lines[ORDER_MAX_ITEMS];
    size_t n = order_parse_lines(&v, body, lines);
    bool valid = souk_valid_ok(&v);
    if (!valid)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    if (!valid)
        return;
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    order_place_req_t req = {.user_id = claims.sub,
                             .idempotency_key = key,
                             .lines = lines,
                             .nlines = n,
                             .request_id = ctx->request_id,
                             .traceparent = tp};
    order_place_result_t r;
    reply_placed(ctx, app, order_place(app, &req, &r), &r);
}

static void do_list(souk_http_ctx_t *ctx, void *ud)
{
    order_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims))
        return;
    bool any = souk_claims_can(&claims, SOUK_PERM_ORDERS_READ_ANY);
    const char *user = souk_http_query(ctx, "user_id");
    const char *status = souk_http_query(ctx, "status");
    souk_valid_t v;
    souk_valid_init(&v);
    souk_page_t page;
    souk_http_page(ctx, &v, &page);
    order_status_t st;
    if (status && !order_status_parse(status, &st))
        souk_valid_error(&v, "status", "must be pending, confirmed, rejected or cancelled");
    if (user && !souk_uuid_valid(user, strlen(user)))
        souk_valid_error(&v, "user_id", "must be a UUID");
    souk_db_conn_t *c = NULL;
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
    } else if (!any && user && strcasecmp(user, claims.sub) != 0) {
        souk_http_problem(ctx, 403, "listing other users' orders needs orders:read:any");
    } else if ((c = souk_svc_conn(ctx, app->db))) {
        json_t *items = NULL;
        long long total = 0;
        souk_err_t err =
            store_order_list(c, any ? user : claims.sub, status, &page, &items, &total);
        if (err)
            souk_svc_fail(ctx, err);
        else
            souk_http_reply_json(ctx, 200, souk_http_page_body(items, &page, total));
    }
    souk_valid_cleanup(&v);
}

static bool owns(json_t *order, const souk_claims_t *claims)
{
    const char *owner = json_string_value(json_object_get(order, "user_id"));
    return owner && strcasecmp(owner, claims->sub) == 0;
}

/* Whether the caller may see order: their own, or any with orders:read:any.
 * Someone else's order does not exist for them (404, not 403). */
static bool visible(json_t *order, const souk_claims_t *claims)
{
    return souk_claims_can(claims, SOUK_PERM_ORDERS_READ_ANY) || owns(order, claims);
}

static void do_get(souk_http_ctx_t *ctx, void *ud)
{
    order_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims))
        return;
    const char *id = souk_svc_uuid_param(ctx, "id");
    souk_db_conn_t *c = id ? souk_svc_conn(ctx, app->db) : NULL;
    json_t *order = NULL;
    if (!c)
        return;
    souk_err_t err = store_order_get(c, id, false, &order);
    if (err == SOUK_OK && !visible(order, &claims))
        err = SOUK_ENOTFOUND;
    if (err) {
        json_decref(order);
        souk_svc_fail(ctx, err);
    } else {
        souk_http_reply_json(ctx, 200, order);
    }
}

typedef struct {
    const char *id;
    const souk_claims_t *claims;
    const char *traceparent;
    souk_audit_t audit;  /* cancelling someone else's order is audited */
    bool others, denied; /* someone else's order; without orders:cancel:any */
    order_status_t was;  /* the status that could not be left, on ECONFLICT */
    json_t *updated;
} cancel_t;

/* The audit event of cancelling someone else's order, with the cancel. */
static souk_err_t audit_cancel(souk_db_conn_t *c, cancel_t *x)
{
    json_t *data = souk_audit_json(&x->audit);
    souk_outbox_msg_t m = {.topic = SOUK_TOPIC_AUDIT,
                           .type = SOUK_EV_AUDIT_RECORDED,
                           .key = x->id,
                           .subject = x->id,
                           .data = data,
                           .traceparent = x->traceparent};
    souk_err_t err = souk_outbox_add(c, SOUK_SOURCE_ORDER, &m);
    json_decref(data);
    return err;
}

/* Cancels the order if the caller may see it, may cancel it (their own, or
 * any with orders:cancel:any) and its state allows; the order.cancelled
 * event (and the audit event for someone else's) commits with it. */
static souk_err_t cancel_tx(souk_db_conn_t *c, void *ud)
{
    cancel_t *x = ud;
    json_t *order = NULL;
    souk_err_t err = store_order_get(c, x->id, true, &order);
    if (err == SOUK_OK && !visible(order, x->claims))
        err = SOUK_ENOTFOUND;
    x->others = err == SOUK_OK && !owns(order, x->claims);
    if (x->others && !souk_claims_can(x->claims, SOUK_PERM_ORDERS_CANCEL_ANY)) {
        x->denied = true;
        err = SOUK_EFORBIDDEN;
    }
    if (err == SOUK_OK &&
        (!order_status_parse(json_string_value(json_object_get(order, "status")), &x->was) ||
         !order_transition_allowed(x->was, ORDER_CANCELLED)))
        err = SOUK_ECONFLICT;
    json_decref(order);
    if (err == SOUK_OK)
        err = store_order_set_status(c, x->id, ORDER_CANCELLED, NULL, &x->updated);
    if (err == SOUK_OK)
        err = order_emit(c, "cancelled", x->updated, x->traceparent);
    if (err == SOUK_OK && x->others)
        err = audit_cancel(c, x);
    if (err) {
        json_decref(x->updated);
        x->updated = NULL;
    }
    return err;
}

static void do_cancel(souk_http_ctx_t *ctx, void *ud)
{
    order_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims))
        return;
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    cancel_t x = {.id = souk_svc_uuid_param(ctx, "id"), .claims = &claims, .traceparent = tp};
    souk_db_conn_t *c = x.id ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    x.audit = souk_audit_of(ctx, &claims, "order.cancel", "order", x.id);
    souk_err_t err = souk_db_tx(c, cancel_tx, &x);
    if (x.denied)
        souk_auth_permit(ctx, &claims, SOUK_PERM_ORDERS_CANCEL_ANY);
    else if (err == SOUK_ECONFLICT)
        souk_http_problem(ctx, 409,
                          souk_arena_printf(ctx->arena, "a %s order cannot be cancelled",
                                            order_status_name(x.was)));
    else if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200, x.updated);
}

void order_routes_register(souk_http_server_t *srv, void *app)
{
    souk_http_route(srv, "POST", "/orders", do_place, app);
    souk_http_route(srv, "GET", "/orders", do_list, app);
    souk_http_route(srv, "GET", "/orders/:id", do_get, app);
    souk_http_route(srv, "POST", "/orders/:id/cancel", do_cancel, app);
}
