/* routes.c: order-service's HTTP handlers (ARCHITECTURE.md §4, orders). An
 * order is placed pending with prices snapshotted from product-service, and
 * its order.placed event is written in the same transaction; inventory
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

/* Looks up the products of lines at product-service: *found is {id: product}. */
static souk_err_t fetch_products(souk_http_ctx_t *ctx, order_app_t *app, const order_line_t *lines,
                                 size_t n, json_t **found)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ids, json_string(lines[i].product_id));
    json_t *body = json_pack("{s:o}", "ids", ids);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    const char *headers[] = {"Content-Type: application/json",
                             souk_arena_printf(ctx->arena, "X-Request-Id: %s", ctx->request_id),
                             souk_arena_printf(ctx->arena, "traceparent: %s", tp), NULL};
    souk_http_request_t req = {
        .method = "POST",
        .url = souk_arena_printf(ctx->arena, "%s/internal/products/batch", app->product_url),
        .headers = headers,
        .body = text,
        .body_len = strlen(text),
        .timeout_ms = 5000,
        .connect_timeout_ms = 1000};
    souk_http_response_t resp;
    souk_err_t err = souk_http_fetch(app->client, &req, &resp);
    free(text);
    json_t *j = err == SOUK_OK && resp.status == 200
                    ? json_loadb(resp.body.data, resp.body.len, 0, NULL)
                    : NULL;
    souk_http_response_cleanup(&resp);
    json_t *items = json_object_get(j, "items");
    if (!json_is_array(items)) {
        json_decref(j);
        return SOUK_EUPSTREAM;
    }
    *found = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(items, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "id"));
        if (id)
            json_object_set(*found, id, p);
    }
    json_decref(j);
    return SOUK_OK;
}

/* Prices the lines from found products; replies 422 and returns false when a
 * product is unknown or currencies differ. */
static bool price_lines(souk_http_ctx_t *ctx, const order_line_t *lines, size_t n, json_t *found,
                        order_item_t *items, order_new_t *o)
{
    json_t *errors = json_array();
    o->total_cents = 0;
    o->currency = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_object_get(found, lines[i].product_id);
        if (!p) {
            json_array_append_new(
                errors, json_pack("{s:s, s:s}", "field", "items", "message",
                                  souk_arena_printf(ctx->arena, "product %s does not exist",
                                                    lines[i].product_id)));
            continue;
        }
        const char *cur = json_string_value(json_object_get(p, "currency"));
        if (o->currency && cur && strcmp(o->currency, cur) != 0)
            json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "items", "message",
                                                    "all products of an order must share one "
                                                    "currency"));
        o->currency = o->currency ? o->currency : cur;
        items[i].line = lines[i];
        items[i].name = json_string_value(json_object_get(p, "name"));
        items[i].unit_price_cents = json_integer_value(json_object_get(p, "price_cents"));
        o->total_cents += items[i].unit_price_cents * lines[i].quantity;
    }
    if (json_array_size(errors)) {
        souk_http_problem_errors(ctx, 422, "the order refers to products that cannot be ordered",
                                 errors);
        return false;
    }
    json_decref(errors);
    return true;
}

/* An earlier order with this key: the same order (200), or 422 when the key
 * was used for a different request. Returns true when it replied. */
static bool replay(souk_http_ctx_t *ctx, souk_db_conn_t *c, const char *user, const char *key,
                   const char *hash)
{
    json_t *order = NULL;
    char stored[65];
    souk_err_t err = store_order_by_key(c, user, key, &order, stored);
    if (err == SOUK_ENOTFOUND)
        return false;
    if (err)
        souk_svc_fail(ctx, err);
    else if (strcmp(stored, hash) != 0) {
        json_decref(order);
        souk_http_problem(ctx, 422, "this Idempotency-Key was used for a different order");
    } else {
        souk_http_set_header(ctx, "Idempotent-Replayed", "true");
        reply_order(ctx, 200, order);
    }
    return true;
}

static souk_err_t insert_placed(souk_http_ctx_t *ctx, souk_db_conn_t *c, const order_new_t *o,
                                json_t **order)
{
    char id[SOUK_UUID_STRLEN + 1], tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    souk_err_t err = souk_db_begin(c);
    if (err == SOUK_OK)
        err = store_order_insert(c, o, id);
    if (err == SOUK_OK)
        err = store_order_get(c, id, false, order);
    if (err == SOUK_OK)
        err = order_emit(c, "placed", *order, tp);
    if (err == SOUK_OK)
        err = souk_db_commit(c);
    if (err) {
        souk_db_rollback(c);
        json_decref(*order);
        *order = NULL;
    }
    return err;
}

static void do_place(souk_http_ctx_t *ctx, void *ud)
{
    order_app_t *app = ud;
    souk_claims_t claims;
    const char *key;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims) || !idempotency_key(ctx, &key))
        return;
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
    char hash[65];
    order_lines_hash(lines, n, hash);
    souk_db_conn_t *c = valid ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c || (key && replay(ctx, c, claims.sub, key, hash)))
        return;
    json_t *found = NULL, *order = NULL;
    souk_err_t err = fetch_products(ctx, app, lines, n, &found);
    if (err) {
        souk_http_problem(ctx, 503, "the product service is unavailable, retry later");
        return;
    }
    souk_arena_json(ctx->arena, found);
    order_item_t items[ORDER_MAX_ITEMS];
    order_new_t o = {.user_id = claims.sub,
                     .idempotency_key = key,
                     .request_hash = hash,
                     .items = items,
                     .nitems = n};
    if (!price_lines(ctx, lines, n, found, items, &o))
        return;
    err = insert_placed(ctx, c, &o, &order);
    if (err == SOUK_ECONFLICT && key && replay(ctx, c, claims.sub, key, hash))
        return; /* a concurrent request with the same key won */
    if (err) {
        souk_svc_fail(ctx, err);
        return;
    }
    souk_metric_inc(app->placed, NULL, 1);
    reply_order(ctx, 201, order);
}

static void do_list(souk_http_ctx_t *ctx, void *ud)
{
    order_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims))
        return;
    bool admin = claims.roles & SOUK_ROLE_ADMIN;
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
    } else if (!admin && user && strcasecmp(user, claims.sub) != 0) {
        souk_http_problem(ctx, 403, "only admins may list other users' orders");
    } else if ((c = souk_svc_conn(ctx, app->db))) {
        json_t *items = NULL;
        long long total = 0;
        souk_err_t err =
            store_order_list(c, admin ? user : claims.sub, status, &page, &items, &total);
        if (err)
            souk_svc_fail(ctx, err);
        else
            souk_http_reply_json(ctx, 200, souk_http_page_body(items, &page, total));
    }
    souk_valid_cleanup(&v);
}

/* The order at :id when the caller may see it (own, or admin); otherwise
 * replies 404 and returns NULL. lock: within a transaction, FOR UPDATE. */
static json_t *visible_order(souk_http_ctx_t *ctx, souk_db_conn_t *c, const souk_claims_t *claims,
                             bool lock)
{
    const char *id = souk_svc_uuid_param(ctx, "id");
    json_t *order = NULL;
    if (!id)
        return NULL;
    souk_err_t err = store_order_get(c, id, lock, &order);
    if (err == SOUK_OK && !(claims->roles & SOUK_ROLE_ADMIN) &&
        strcasecmp(json_string_value(json_object_get(order, "user_id")), claims->sub) != 0)
        err = SOUK_ENOTFOUND; /* someone else's order does not exist for you */
    if (err) {
        json_decref(order);
        souk_svc_fail(ctx, err);
        return NULL;
    }
    return souk_arena_json(ctx->arena, order);
}

static void do_get(souk_http_ctx_t *ctx, void *ud)
{
    order_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims))
        return;
    souk_db_conn_t *c = souk_svc_conn(ctx, app->db);
    json_t *order = c ? visible_order(ctx, c, &claims, false) : NULL;
    if (order)
        souk_http_reply_json(ctx, 200, json_incref(order));
}

static void do_cancel(souk_http_ctx_t *ctx, void *ud)
{
    order_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims))
        return;
    souk_db_conn_t *c = souk_svc_conn(ctx, app->db);
    if (!c)
        return;
    souk_err_t err = souk_db_begin(c);
    if (err) {
        souk_svc_fail(ctx, err);
        return;
    }
    json_t *order = visible_order(ctx, c, &claims, true), *updated = NULL;
    if (!order)
        return;
    order_status_t now;
    const char *id = json_string_value(json_object_get(order, "id"));
    if (!order_status_parse(json_string_value(json_object_get(order, "status")), &now) ||
        !order_transition_allowed(now, ORDER_CANCELLED)) {
        souk_http_problem(ctx, 409,
                          souk_arena_printf(ctx->arena, "a %s order cannot be cancelled",
                                            order_status_name(now)));
        return;
    }
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    err = store_order_set_status(c, id, ORDER_CANCELLED, NULL, &updated);
    if (err == SOUK_OK)
        err = order_emit(c, "cancelled", updated, tp);
    if (err == SOUK_OK)
        err = souk_db_commit(c);
    if (err) {
        json_decref(updated);
        souk_svc_fail(ctx, err);
        return;
    }
    souk_http_reply_json(ctx, 200, updated);
}

void order_routes_register(souk_http_server_t *srv, order_app_t *app)
{
    souk_http_route(srv, "POST", "/orders", do_place, app);
    souk_http_route(srv, "GET", "/orders", do_list, app);
    souk_http_route(srv, "GET", "/orders/:id", do_get, app);
    souk_http_route(srv, "POST", "/orders/:id/cancel", do_cancel, app);
}
