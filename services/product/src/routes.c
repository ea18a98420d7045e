/* routes.c: product-service's HTTP handlers (ARCHITECTURE.md §4, products).
 * Reads are public; writes need products:write, checked here again even
 * though the gateway already did (a request may reach us directly). */
#include "product.h"

#include <souk/svc.h>
#include <stdlib.h>
#include <string.h>

static const char *query_of(const void *ctx, const char *name)
{
    return souk_http_query(ctx, name);
}

static void do_list(souk_http_ctx_t *ctx, void *ud)
{
    product_app_t *app = ud;
    souk_valid_t v;
    souk_valid_init(&v);
    product_query_t q;
    product_parse_query(&v, query_of, ctx, &q);
    souk_db_conn_t *c = NULL;
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
    } else if ((c = souk_svc_conn(ctx, app->db))) {
        product_page_t page;
        souk_err_t err = store_product_list(c, &q, app->guesses, &page);
        json_t *body = err ? NULL : souk_http_page_body(page.items, &q.page, page.total);
        if (err) {
            souk_svc_fail(ctx, err);
        } else {
            json_object_set_new(body, "total_exact", json_boolean(page.exact));
            souk_http_reply_json(ctx, 200, body);
        }
    }
    souk_valid_cleanup(&v);
}

/* The answer of GET /products/{id}: 304 when the client's If-None-Match
 * names it, else the JSON; ETag either way, and clients revalidate. */
static void reply_product(souk_http_ctx_t *ctx, const char *json, size_t len, const char *etag)
{
    const char *inm = souk_http_header(ctx, "If-None-Match");
    souk_http_set_header(ctx, "ETag", etag);
    souk_http_set_header(ctx, "Cache-Control", "no-cache");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0))
        souk_http_reply_empty(ctx, 304);
    else
        souk_http_reply_raw(ctx, 200, "application/json", json, len);
}

static void do_get(souk_http_ctx_t *ctx, void *ud)
{
    product_app_t *app = ud;
    const char *id = souk_svc_uuid_param(ctx, "id");
    product_cached_t hit;
    if (!id)
        return;
    if (product_cache_get(app->cache, id, ctx->arena, &hit)) {
        reply_product(ctx, hit.json, hit.len, hit.etag);
        return;
    }
    unsigned long mark = product_cache_mark(app->cache);
    souk_db_conn_t *c = souk_svc_conn(ctx, app->db);
    json_t *p = NULL;
    if (!c)
        return;
    souk_err_t err = store_product_get(c, id, &p);
    char *text = err ? NULL : json_dumps(p, JSON_COMPACT);
    json_decref(p);
    if (!text) {
        souk_svc_fail(ctx, err ? err : SOUK_ENOMEM);
        return;
    }
    char etag[20];
    size_t len = strlen(text);
    product_etag(text, len, etag);
    product_cache_put(app->cache, mark, id, text, len, etag);
    reply_product(ctx, text, len, etag);
    free(text);
}

/* Parses and validates a create/patch body; replies 400 and returns false. */
static bool read_input(souk_http_ctx_t *ctx, bool patch, product_input_t *in)
{
    json_t *body = souk_http_body_object(ctx);
    if (!body)
        return false;
    souk_valid_t v;
    souk_valid_init(&v);
    product_parse_input(&v, body, patch, in);
    bool ok = souk_valid_ok(&v);
    if (!ok)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    return ok;
}

static void write_failed(souk_http_ctx_t *ctx, souk_err_t err)
{
    if (err == SOUK_ECONFLICT)
        souk_http_problem(ctx, 409, "a product with this sku already exists");
    else
        souk_svc_fail(ctx, err);
}

/* Runs a catalog write, its product.* event and its audit event in one
 * transaction. */
typedef souk_err_t (*write_fn)(souk_db_conn_t *c, const char *id, const product_input_t *in,
                               json_t **out);

typedef struct {
    write_fn fn;
    const char *id, *type, *traceparent;
    const product_input_t *in;
    souk_audit_t audit; /* who did it; its target is the product written */
    json_t *out;
} write_t;

static souk_err_t write_tx(souk_db_conn_t *c, void *ud)
{
    write_t *w = ud;
    souk_err_t err = w->fn(c, w->id, w->in, &w->out);
    const char *key = err ? NULL : json_string_value(json_object_get(w->out, "id"));
    if (err == SOUK_OK)
        err = product_emit(c, SOUK_TOPIC_PRODUCTS, w->type, key, w->out, w->traceparent);
    if (err == SOUK_OK) {
        w->audit.target_id = key;
        json_t *audit = souk_audit_json(&w->audit);
        err = product_emit(c, SOUK_TOPIC_AUDIT, SOUK_EV_AUDIT_RECORDED, key, audit, w->traceparent);
        json_decref(audit);
    }
    if (err) {
        json_decref(w->out);
        w->out = NULL;
    }
    return err;
}

static souk_err_t write_with_event(souk_http_ctx_t *ctx, const souk_claims_t *claims,
                                   souk_db_conn_t *c, write_fn fn, const char *id,
                                   const product_input_t *in, const char *type, json_t **out)
{
    static const struct {
        const char *type, *action;
    } actions[] = {{SOUK_EV_PRODUCT_CREATED, "product.create"},
                   {SOUK_EV_PRODUCT_UPDATED, "product.update"},
                   {SOUK_EV_PRODUCT_DELETED, "product.delete"}};
    const char *action = "product.update";
    for (size_t i = 0; i < SOUK_ARRAY_LEN(actions); i++)
        if (strcmp(actions[i].type, type) == 0)
            action = actions[i].action;
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx->trace, tp);
    write_t w = {.fn = fn,
                 .id = id,
                 .type = type,
                 .traceparent = tp,
                 .in = in,
                 .audit = souk_audit_of(ctx, claims, action, "product", id)};
    souk_err_t err = souk_db_tx(c, write_tx, &w);
    *out = w.out;
    return err;
}

static souk_err_t insert_fn(souk_db_conn_t *c, const char *id, const product_input_t *in,
                            json_t **out)
{
    return store_product_insert(c, in, out);
}

static souk_err_t delete_fn(souk_db_conn_t *c, const char *id, const product_input_t *in,
                            json_t **out)
{
    souk_err_t err = store_product_delete(c, id);
    *out = err ? NULL : json_pack("{s:s}", "id", id);
    return err;
}

static void do_create(souk_http_ctx_t *ctx, void *ud)
{
    product_app_t *app = ud;
    souk_claims_t claims;
    product_input_t in;
    if (!souk_auth_require(ctx, app->verifier, SOUK_PERM_PRODUCTS_WRITE, &claims) ||
        !read_input(ctx, false, &in))
        return;
    souk_db_conn_t *c = souk_svc_conn(ctx, app->db);
    if (!c)
        return;
    json_t *p = NULL;
    souk_err_t err =
        write_with_event(ctx, &claims, c, insert_fn, NULL, &in, SOUK_EV_PRODUCT_CREATED, &p);
    if (err) {
        write_failed(ctx, err);
        return;
    }
    const char *id = json_string_value(json_object_get(p, "id"));
    souk_http_set_header(ctx, "Location", souk_arena_printf(ctx->arena, "/products/%s", id));
    souk_http_reply_json(ctx, 201, p);
}

static void do_patch(souk_http_ctx_t *ctx, void *ud)
{
    product_app_t *app = ud;
    souk_claims_t claims;
    product_input_t in;
    if (!souk_auth_require(ctx, app->verifier, SOUK_PERM_PRODUCTS_WRITE, &claims))
        return;
    const char *id = souk_svc_uuid_param(ctx, "id");
    if (!id || !read_input(ctx, true, &in))
        return;
    souk_db_conn_t *c = souk_svc_conn(ctx, app->db);
    if (!c)
        return;
    json_t *p = NULL;
    souk_err_t err = write_with_event(ctx, &claims, c, store_product_update, id, &in,
                                      SOUK_EV_PRODUCT_UPDATED, &p);
    if (err) {
        write_failed(ctx, err);
        return;
    }
    product_cache_invalidate(app->cache, id); /* this replica at once; others on NOTIFY */
    souk_http_reply_json(ctx, 200, p);
}

static void do_delete(souk_http_ctx_t *ctx, void *ud)
{
    product_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, SOUK_PERM_PRODUCTS_WRITE, &claims))
        return;
    const char *id = souk_svc_uuid_param(ctx, "id");
    souk_db_conn_t *c = id ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    json_t *gone = NULL;
    souk_err_t err =
        write_with_event(ctx, &claims, c, delete_fn, id, NULL, SOUK_EV_PRODUCT_DELETED, &gone);
    json_decref(gone);
    if (err) {
        souk_svc_fail(ctx, err);
        return;
    }
    product_cache_invalidate(app->cache, id);
    souk_http_reply_empty(ctx, 204);
}

/* POST /internal/products/batch {"ids": [...]}: for other services (the order
 * service snapshots names and prices with it); the gateway does not route it.
 * Unknown ids are simply absent from the answer. */
static void do_batch(souk_http_ctx_t *ctx, void *ud)
{
    product_app_t *app = ud;
    json_t *body = souk_http_body_object(ctx);
    if (!body)
        return;
    souk_valid_t v;
    souk_valid_init(&v);
    souk_valid_known(&v, body, (const char *const[]){"ids", NULL});
    json_t *ids = json_object_get(body, "ids");
    size_t i;
    json_t *id;
    if (!json_is_array(ids) || json_array_size(ids) == 0 ||
        json_array_size(ids) > PRODUCT_BATCH_MAX)
        souk_valid_error(&v, "ids", "must be an array of 1 to %d ids", PRODUCT_BATCH_MAX);
    json_array_foreach(ids, i, id)
    {
        const char *s = json_string_value(id);
        if (!s || !souk_uuid_valid(s, strlen(s))) {
            souk_valid_error(&v, "ids", "item %zu is not a UUID", i);
            break;
        }
    }
    souk_db_conn_t *c = NULL;
    if (!souk_valid_ok(&v)) {
        souk_valid_reply(ctx, &v);
    } else if ((c = souk_svc_conn(ctx, app->db))) {
        json_t *items = NULL;
        souk_err_t err = store_product_batch(c, ids, &items);
        if (err)
            souk_svc_fail(ctx, err);
        else
            souk_http_reply_json(ctx, 200, json_pack("{s:o}", "items", items));
    }
    souk_valid_cleanup(&v);
}

void product_routes_register(souk_http_server_t *srv, void *app)
{
    souk_http_route(srv, "GET", "/products", do_list, app);
    souk_http_route(srv, "POST", "/products", do_create, app);
    souk_http_route(srv, "GET", "/products/:id", do_get, app);
    souk_http_route(srv, "PATCH", "/products/:id", do_patch, app);
    souk_http_route(srv, "DELETE", "/products/:id", do_delete, app);
    souk_http_route(srv, "POST", "/internal/products/batch", do_batch, app);
}
