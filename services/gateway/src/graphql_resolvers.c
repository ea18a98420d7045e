/* graphql_resolvers.c: what each field of docs/schema.graphql asks of the
 * REST services. A resolver never calls anything itself: it answers a value
 * it already has, an error, or a load (a REST call, or a product by id) that
 * graphql_exec.c performs with the wave's other loads. Fields without a
 * resolver here take the engine's default (the parent's member, in
 * snake_case when needed), so the services' JSON is returned as it is.
 *
 * Arguments become query parameters (percent-encoded) or bodies (camelCase
 * input objects in snake_case); enum values become the REST spellings. Ids
 * that go into a path are checked as UUIDs first: anything else names nothing
 * (NOT_FOUND, or null where the schema says "null when there is none"), so no
 * argument can change the path that is called. Permissions are the
 * services': a field that needs a login answers UNAUTHENTICATED without a
 * call when there is no token, and every other decision comes back from the
 * service. */
#include "graphql_gw.h"

#include <stdio.h>
#include <string.h>

#define PATH_MAX_LEN    8192 /* a path with its query string */
#define KEY_MAX_LEN     255  /* Idempotency-Key, as order-service bounds it */
#define LOGIN_REQUIRED  "a login is required: send Authorization: Bearer <access token>"
#define LABEL_PRODUCT   "Product"
#define NEEDS_LOGIN     1u
#define CACHES_PRODUCT  2u
#define CREDENTIALS     4u
#define RESULT_IS_ITEMS 8u

/* ---- building calls ------------------------------------------------------------------------ */

/* Appends &name=value (? for the first) for a string, integer or boolean
 * value; nothing for an absent or null one. */
static souk_err_t put_param(souk_buf_t *b, const char *name, const json_t *v)
{
    if (!v || json_is_null(v))
        return SOUK_OK;
    souk_err_t err = souk_buf_appendf(b, "%c%s=", strchr(b->data, '?') ? '&' : '?', name);
    if (json_is_integer(v))
        return err ? err : souk_buf_appendf(b, "%lld", (long long)json_integer_value(v));
    if (json_is_boolean(v))
        return err ? err : souk_buf_appendf(b, "%s", json_is_true(v) ? "true" : "false");
    return err ? err : souk_http_url_encode(b, json_string_value(v));
}

/* The REST spelling of an enum value: lower case, or a table's. */
static json_t *rest_enum(const json_t *v, const char *const (*table)[2])
{
    const char *s = json_string_value(v);
    if (!s)
        return NULL;
    for (size_t i = 0; table && table[i][0]; i++)
        if (strcmp(table[i][0], s) == 0)
            return json_string(table[i][1]);
    char low[32];
    size_t n = strlen(s) < sizeof(low) - 1 ? strlen(s) : sizeof(low) - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    low[n] = '\0';
    return json_string(low);
}

static const char *arg_str(const souk_gql_info_t *info, const char *name)
{
    return json_string_value(json_object_get(info->args, name));
}

static bool is_uuid(const char *s)
{
    return s && souk_uuid_valid(s, strlen(s));
}

/* What a load of the REST loader needs; see graphql_gw.h. */
typedef struct {
    upstream_id_t up;
    const char *method;
    souk_buf_t path;
    json_t *body;      /* stolen */
    const char *key;   /* Idempotency-Key */
    const char *drops; /* the id of a product this call deletes */
    unsigned flags;
    souk_gql_then_fn then;
} call_t;

/* A call of prefix + id + suffix (id: a UUID or NULL; suffix may be NULL). */
static void call_init(call_t *c, upstream_id_t up, const char *method, const char *prefix,
                      const char *id, const char *suffix)
{
    *c = (call_t){.up = up, .method = method};
    souk_buf_init(&c->path, PATH_MAX_LEN);
    if (souk_buf_appendf(&c->path, "%s%s%s", prefix, id ? id : "", suffix ? suffix : "") != SOUK_OK)
        souk_die_oom(PATH_MAX_LEN); /* our paths and a UUID always fit */
}

/* Asks for the call as the field's load (or answers why it cannot be made). */
static void call_load(const souk_gql_info_t *info, souk_gql_answer_t *ans, call_t *c,
                      souk_err_t built)
{
    char label[96];
    snprintf(label, sizeof(label), "%s.%s", info->type, info->field);
    if (built != SOUK_OK) {
        souk_gql_answer_error(ans, SOUK_GQL_BAD_USER_INPUT, "the arguments are too long");
    } else {
        json_t *arg = json_pack("{s:i, s:s}", "up", (int)c->up, "field", label);
        if (c->body)
            json_object_set(arg, "body", c->body);
        if (c->key)
            json_object_set_new(arg, "key", json_string(c->key));
        if (c->flags & CACHES_PRODUCT)
            json_object_set_new(arg, "caches", json_true());
        if (c->drops)
            json_object_set_new(arg, "drops", json_string(c->drops));
        char *key = souk_malloc(strlen(c->method) + c->path.len + 2);
        memcpy(key, c->method, strlen(c->method));
        key[strlen(c->method)] = ' ';
        memcpy(key + strlen(c->method) + 1, c->path.data, c->path.len + 1);
        souk_gql_answer_load_then(ans, GW_GQL_LOAD_REST, key, arg, c->then);
        souk_free(key);
    }
    json_decref(c->body);
    souk_buf_cleanup(&c->path);
}

/* ---- the gate before a call: login, credential limit ------------------------------------------
 */

static bool allowed(const souk_gql_info_t *info, souk_gql_answer_t *ans, unsigned flags)
{
    gw_gql_req_t *req = info->host;
    if ((flags & NEEDS_LOGIN) && !req->caller->bearer) {
        souk_gql_answer_error(ans, SOUK_GQL_UNAUTHENTICATED, LOGIN_REQUIRED);
        return false;
    }
    gateway_t *gw = req->g->gw;
    if ((flags & CREDENTIALS) && gw->credential_limit) {
        /* the edge's limit on /auth/login and /auth/register, here too */
        gw_request_t r = {.client_ip = req->caller->client_ip ? req->caller->client_ip : ""};
        gw_decision_t d;
        memset(&d, 0, sizeof(d));
        if (!gw_limit(gw, gw->credential_limit, &r, "credentials", &d)) {
            souk_gql_answer_error(ans, SOUK_GQL_BAD_USER_INPUT,
                                  "too many login attempts; retry in %s s", d.retry_after);
            return false;
        }
    }
    return true;
}

/* ---- Query ---------------------------------------------------------------------------------- */

static void q_products(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    static const char *const sorts[][2] = {{"PRICE", "price"},
                                           {"PRICE_DESC", "-price"},
                                           {"NAME", "name"},
                                           {"NEWEST", "-created_at"},
                                           {NULL, NULL}};
    call_t c;
    call_init(&c, UP_PRODUCT, "GET", "/products", NULL, NULL);
    json_t *sort = rest_enum(json_object_get(info->args, "sort"), sorts);
    souk_err_t err = put_param(&c.path, "q", json_object_get(info->args, "q"));
    err = err ? err : put_param(&c.path, "category", json_object_get(info->args, "category"));
    err = err ? err : put_param(&c.path, "min_price", json_object_get(info->args, "minPrice"));
    err = err ? err : put_param(&c.path, "max_price", json_object_get(info->args, "maxPrice"));
    err = err ? err : put_param(&c.path, "sort", sort);
    err = err ? err : put_param(&c.path, "page", json_object_get(info->args, "page"));
    err = err ? err : put_param(&c.path, "limit", json_object_get(info->args, "limit"));
    json_decref(sort);
    call_load(info, ans, &c, err);
}

static void load_product(souk_gql_answer_t *ans, const char *id)
{
    if (is_uuid(id))
        souk_gql_answer_load(ans, GW_GQL_LOAD_PRODUCT, id, NULL);
    else
        souk_gql_answer_value(ans, NULL); /* names no product */
}

static void q_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    load_product(ans, arg_str(info, "id"));
}

static void q_me(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    call_t c;
    if (!allowed(info, ans, NEEDS_LOGIN))
        return;
    call_init(&c, UP_AUTH, "GET", "/auth/me", NULL, NULL);
    call_load(info, ans, &c, SOUK_OK);
}

static void q_orders(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    call_t c;
    if (!allowed(info, ans, NEEDS_LOGIN))
        return;
    call_init(&c, UP_ORDER, "GET", "/orders", NULL, NULL);
    json_t *status = rest_enum(json_object_get(info->args, "status"), NULL);
    souk_err_t err = put_param(&c.path, "user_id", json_object_get(info->args, "userId"));
    err = err ? err : put_param(&c.path, "status", status);
    err = err ? err : put_param(&c.path, "page", json_object_get(info->args, "page"));
    err = err ? err : put_param(&c.path, "limit", json_object_get(info->args, "limit"));
    json_decref(status);
    call_load(info, ans, &c, err);
}

/* A call of prefix + the "id" argument + suffix, when that is a UUID;
 * NOT_FOUND for any other id. */
static void by_id(const souk_gql_info_t *info, souk_gql_answer_t *ans, upstream_id_t up,
                  const char *method, const char *prefix, const char *suffix, unsigned flags,
                  const char *what)
{
    const char *id = arg_str(info, "id");
    call_t c;
    if (!allowed(info, ans, flags))
        return;
    if (!is_uuid(id)) {
        souk_gql_answer_error(ans, SOUK_GQL_NOT_FOUND, "no such %s", what);
        return;
    }
    call_init(&c, up, method, prefix, id, suffix);
    c.flags = flags;
    call_load(info, ans, &c, SOUK_OK);
}

static void q_order(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    by_id(info, ans, UP_ORDER, "GET", "/orders/", NULL, NEEDS_LOGIN, "order");
}

static void recommendations(const souk_gql_info_t *info, souk_gql_answer_t *ans, const char *id)
{
    call_t c;
    if (!is_uuid(id)) {
        souk_gql_answer_error(ans, SOUK_GQL_NOT_FOUND, "no such product");
        return;
    }
    call_init(&c, UP_ANALYTICS, "GET", "/products/", id, "/recommendations");
    call_load(info, ans, &c, put_param(&c.path, "limit", json_object_get(info->args, "limit")));
}

static void q_recommendations(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    recommendations(info, ans, arg_str(info, "productId"));
}

static void q_notifications(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    call_t c;
    if (!allowed(info, ans, NEEDS_LOGIN))
        return;
    call_init(&c, UP_NOTIFICATION, "GET", "/notifications", NULL, NULL);
    souk_err_t err = put_param(&c.path, "unread", json_object_get(info->args, "unread"));
    err = err ? err : put_param(&c.path, "page", json_object_get(info->args, "page"));
    err = err ? err : put_param(&c.path, "limit", json_object_get(info->args, "limit"));
    call_load(info, ans, &c, err);
}

/* The report's frame; its summary and sales load below it, in parallel. */
static void q_sales_report(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    if (allowed(info, ans, NEEDS_LOGIN))
        souk_gql_answer_value(ans, json_deep_copy(info->args));
}

static void report(const souk_gql_info_t *info, souk_gql_answer_t *ans, const char *path,
                   bool interval, souk_gql_then_fn then)
{
    call_t c;
    call_init(&c, UP_ANALYTICS, "GET", path, NULL, NULL);
    c.then = then;
    json_t *iv = interval ? rest_enum(json_object_get(info->parent, "interval"), NULL) : NULL;
    souk_err_t err = put_param(&c.path, "from", json_object_get(info->parent, "from"));
    err = err ? err : put_param(&c.path, "to", json_object_get(info->parent, "to"));
    err = err ? err : put_param(&c.path, "interval", iv);
    json_decref(iv);
    call_load(info, ans, &c, err);
}

static void r_summary(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    report(info, ans, "/reports/summary", false, NULL);
}

static void items_of(const souk_gql_info_t *info, json_t *loaded, souk_gql_answer_t *ans)
{
    (void)info;
    souk_gql_answer_value(ans, json_incref(json_object_get(loaded, "items")));
}

static void r_sales(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    report(info, ans, "/reports/sales", true, items_of);
}

/* {"USD": 1999, ...} -> [{currency: "USD", amountCents: 1999}, ...], by currency. */
static void amounts(const souk_gql_info_t *info, souk_gql_answer_t *ans, const char *member)
{
    json_t *map = json_object_get(info->parent, member), *v;
    const char *cur;
    if (!json_is_object(map)) {
        souk_gql_answer_value(ans, NULL);
        return;
    }
    const char **keys = souk_calloc(json_object_size(map) + 1, sizeof(*keys));
    size_t n = 0;
    json_object_foreach(map, cur, v) keys[n++] = cur;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:O}", "currency", keys[i], "amountCents",
                                              json_object_get(map, keys[i])));
    souk_free(keys);
    souk_gql_answer_value(ans, list);
}

static void revenue(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    amounts(info, ans, "revenue_by_currency");
}

static void average(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    amounts(info, ans, "average_order_cents_by_currency");
}

/* ---- objects below the roots ---------------------------------------------------------------- */

static void p_recommendations(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    recommendations(info, ans, json_string_value(json_object_get(info->parent, "id")));
}

static void rec_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    load_product(ans, json_string_value(json_object_get(info->parent, "id")));
}

static void item_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    load_product(ans, json_string_value(json_object_get(info->parent, "product_id")));
}

/* ---- Mutation -------------------------------------------------------------------------------- */

static void m_register(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    call_t c;
    if (!allowed(info, ans, CREDENTIALS))
        return;
    call_init(&c, UP_AUTH, "POST", "/auth/register", NULL, NULL);
    c.body = json_deep_copy(info->args); /* email, password, name: the REST names */
    call_load(info, ans, &c, SOUK_OK);
}

static void m_login(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    call_t c;
    if (!allowed(info, ans, CREDENTIALS))
        return;
    call_init(&c, UP_AUTH, "POST", "/auth/login", NULL, NULL);
    c.body = json_deep_copy(info->args);
    call_load(info, ans, &c, SOUK_OK);
}

static bool key_ok(const char *k)
{
    size_t n = strlen(k);
    bool ok = n > 0 && n <= KEY_MAX_LEN;
    for (size_t i = 0; ok && i < n; i++)
        ok = k[i] > ' ' && k[i] < 0x7f;
    return ok;
}

static void m_place_order(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    const char *key = arg_str(info, "idempotencyKey");
    call_t c;
    if (!allowed(info, ans, NEEDS_LOGIN))
        return;
    if (key && !key_ok(key)) {
        souk_gql_answer_error(ans, SOUK_GQL_BAD_USER_INPUT,
                              "idempotencyKey: must be 1 to 255 visible ASCII characters");
        return;
    }
    call_init(&c, UP_ORDER, "POST", "/orders", NULL, NULL);
    c.body = json_pack("{s:o}", "items", souk_gql_snake_keys(json_object_get(info->args, "items")));
    c.key = key;
    call_load(info, ans, &c, SOUK_OK);
}

static void m_cancel_order(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    by_id(info, ans, UP_ORDER, "POST", "/orders/", "/cancel", NEEDS_LOGIN, "order");
}

static void m_create_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    call_t c;
    if (!allowed(info, ans, NEEDS_LOGIN))
        return;
    call_init(&c, UP_PRODUCT, "POST", "/products", NULL, NULL);
    c.body = souk_gql_snake_keys(json_object_get(info->args, "input"));
    c.flags = CACHES_PRODUCT;
    call_load(info, ans, &c, SOUK_OK);
}

static void m_update_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    const char *id = arg_str(info, "id");
    call_t c;
    if (!allowed(info, ans, NEEDS_LOGIN))
        return;
    if (!is_uuid(id)) {
        souk_gql_answer_error(ans, SOUK_GQL_NOT_FOUND, "no such product");
        return;
    }
    call_init(&c, UP_PRODUCT, "PATCH", "/products/", id, NULL);
    c.body = souk_gql_snake_keys(json_object_get(info->args, "input"));
    c.flags = CACHES_PRODUCT;
    call_load(info, ans, &c, SOUK_OK);
}

static void m_delete_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    const char *id = arg_str(info, "id");
    call_t c;
    if (!allowed(info, ans, NEEDS_LOGIN))
        return;
    if (!is_uuid(id)) {
        souk_gql_answer_error(ans, SOUK_GQL_NOT_FOUND, "no such product");
        return;
    }
    call_init(&c, UP_PRODUCT, "DELETE", "/products/", id, NULL);
    c.drops = id;
    call_load(info, ans, &c, SOUK_OK);
}

static void m_mark_read(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    by_id(info, ans, UP_NOTIFICATION, "POST", "/notifications/", "/read", NEEDS_LOGIN,
          "notification");
}

/* ---- the table ------------------------------------------------------------------------------- */

typedef struct {
    const char *label; /* "Type.field" */
    souk_gql_resolve_fn fn;
    bool calls; /* loads something: a label of graphql_resolver_calls_total */
} entry_t;

static const entry_t table[] = {
    {"Query.products", q_products, true},
    {"Query.product", q_product, false},
    {"Query.me", q_me, true},
    {"Query.orders", q_orders, true},
    {"Query.order", q_order, true},
    {"Query.recommendations", q_recommendations, true},
    {"Query.notifications", q_notifications, true},
    {"Query.salesReport", q_sales_report, false},
    {"SalesReport.summary", r_summary, true},
    {"SalesReport.sales", r_sales, true},
    {"SalesSummary.revenueByCurrency", revenue, false},
    {"SalesSummary.averageOrderCentsByCurrency", average, false},
    {"SalesBucket.revenueByCurrency", revenue, false},
    {"Product.recommendations", p_recommendations, true},
    {"Recommendation.product", rec_product, false},
    {"OrderItem.product", item_product, false},
    {"Mutation.register", m_register, true},
    {"Mutation.login", m_login, true},
    {"Mutation.placeOrder", m_place_order, true},
    {"Mutation.cancelOrder", m_cancel_order, true},
    {"Mutation.createProduct", m_create_product, true},
    {"Mutation.updateProduct", m_update_product, true},
    {"Mutation.deleteProduct", m_delete_product, true},
    {"Mutation.markNotificationRead", m_mark_read, true},
};

souk_err_t gw_graphql_resolvers_register(souk_gql_resolvers_t *r)
{
    for (size_t i = 0; i < SOUK_ARRAY_LEN(table); i++) {
        char type[64];
        const char *dot = strchr(table[i].label, '.');
        snprintf(type, sizeof(type), "%.*s", (int)(dot - table[i].label), table[i].label);
        if (souk_gql_resolvers_add(r, type, dot + 1, table[i].fn, NULL) != SOUK_OK) {
            souk_log_error("graphql: the schema has no field %s", table[i].label);
            return SOUK_ENOTFOUND;
        }
    }
    return SOUK_OK;
}

const char *gw_graphql_field_label(const char *field)
{
    if (field && strcmp(field, LABEL_PRODUCT) == 0)
        return LABEL_PRODUCT;
    for (size_t i = 0; field && i < SOUK_ARRAY_LEN(table); i++)
        if (table[i].calls && strcmp(table[i].label, field) == 0)
            return table[i].label;
    return SOUK_METRIC_OTHER;
}
