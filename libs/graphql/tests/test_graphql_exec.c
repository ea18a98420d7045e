/* Unit tests of execution (libs/graphql/src/execute.c, values.c): a fake host
 * answers the loads of each wave from fixtures (REST-shaped JSON, snake_case)
 * and records every batch, so the tests see what a gateway would send:
 * batching (N lookups of a wave are one batch), waves, serial mutations,
 * variables and their coercion, fragments, aliases, @skip/@include,
 * __typename, null propagation, error shapes and codes, enum and scalar
 * result coercion, and the cost check with real variable values. */
#include "gql_test.h"

/* ---- the fake host ---------------------------------------------------------------------- */

typedef struct {
    json_t *products; /* id -> REST product */
    json_t *orders;   /* REST orders */
    json_t *calls;    /* [{"wave": n, "loader": name, "keys": [...], "args": [...]}] */
    json_t *log;      /* resolver side effects, in order */
    bool logged_in;
    unsigned wave;
} host_t;

static json_t *product(const char *id, const char *name, long long price)
{
    return json_pack("{s:s,s:n,s:s,s:s,s:I,s:s,s:i,s:s,s:s,s:s}", "id", id, "sku", "name", name,
                     "description", "", "price_cents", (json_int_t)price, "currency", "USD",
                     "stock", 3, "category", "kitchen", "created_at", "2026-01-01T00:00:00.000Z",
                     "updated_at", "2026-01-02T00:00:00.000Z");
}

static json_t *line(const char *product_id, int quantity)
{
    return json_pack("{s:s,s:s,s:i,s:i}", "product_id", product_id, "name", "then", "quantity",
                     quantity, "unit_price_cents", 100);
}

static host_t *host_new(void)
{
    host_t *h = calloc(1, sizeof(*h));
    h->products = json_object();
    json_object_set_new(h->products, "p1", product("p1", "Cup", 1999));
    json_object_set_new(h->products, "p2", product("p2", "Mug", 2499));
    json_object_set_new(h->products, "p3", product("p3", "Pot", 999999999999LL));
    json_object_set_new(h->products, "p4", product("p4", "Tray", 500));
    h->orders =
        json_pack("[{s:s,s:s,s:s,s:n,s:[o,o],s:i,s:s},"
                  " {s:s,s:s,s:s,s:n,s:[o,o,o],s:i,s:s},"
                  " {s:s,s:s,s:s,s:s,s:[o,o],s:i,s:s}]",
                  "id", "o1", "user_id", "u1", "status", "confirmed", "reason", "items",
                  line("p1", 1), line("p2", 2), "total_cents", 300, "currency", "USD", "id", "o2",
                  "user_id", "u1", "status", "pending", "reason", "items", line("p1", 1),
                  line("p3", 1), line("p4", 5), "total_cents", 700, "currency", "USD", "id", "o3",
                  "user_id", "u1", "status", "rejected", "reason", "out of stock", "items",
                  line("p2", 1), line("p4", 1), "total_cents", 200, "currency", "USD");
    h->calls = json_array();
    h->log = json_array();
    return h;
}

static void host_free(host_t *h)
{
    json_decref(h->products);
    json_decref(h->orders);
    json_decref(h->calls);
    json_decref(h->log);
    free(h);
}

static void answer_key(host_t *h, souk_gql_batch_t *b, size_t i)
{
    const char *loader = souk_gql_batch_loader(b), *key = souk_gql_batch_key(b, i);
    json_t *arg = souk_gql_batch_arg(b, i);
    if (!strcmp(loader, "product")) {
        json_t *p = json_object_get(h->products, key);
        if (p)
            souk_gql_batch_resolve(b, i, json_deep_copy(p));
        else
            souk_gql_batch_fail(b, i, SOUK_GQL_NOT_FOUND, "no product %s", key);
    } else if (!strcmp(loader, "products")) {
        json_t *items = json_array(), *p;
        const char *id;
        json_object_foreach(h->products, id, p) json_array_append_new(items, json_deep_copy(p));
        souk_gql_batch_resolve(b, i,
                               json_pack("{s:o,s:i,s:O,s:i}", "items", items, "page", 1, "limit",
                                         json_object_get(arg, "limit"), "total", 4));
    } else if (!strcmp(loader, "recommendations")) {
        json_t *items = json_array(), *p;
        const char *id;
        json_object_foreach(h->products, id,
                            p) if (strcmp(id, key) != 0 && json_array_size(items) < 2)
            json_array_append_new(items,
                                  json_pack("{s:s,s:O,s:O,s:s}", "id", id, "name",
                                            json_object_get(p, "name"), "price_cents",
                                            json_object_get(p, "price_cents"), "currency", "USD"));
        souk_gql_batch_resolve(b, i,
                               json_pack("{s:s,s:o}", "strategy", "co-purchase", "items", items));
    } else if (!strcmp(loader, "void")) {
        /* left unanswered on purpose */
    } else {
        json_array_append_new(h->log, json_pack("{s:s,s:s}", "loader", loader, "key", key));
        souk_gql_batch_resolve(b, i, arg ? json_incref(arg) : json_true());
    }
}

/* Drives the wave loop as the gateway would; returns the result. */
static json_t *drive(souk_gql_exec_t *ex, host_t *h)
{
    unsigned waves = 0;
    while (souk_gql_exec_run(ex) == SOUK_GQL_PENDING) {
        h->wave++;
        waves++;
        assert_true(souk_gql_exec_batch_count(ex) > 0);
        for (size_t i = 0; i < souk_gql_exec_batch_count(ex); i++) {
            souk_gql_batch_t *b = souk_gql_exec_batch(ex, i);
            json_t *keys = json_array(), *args = json_array();
            for (size_t k = 0; k < souk_gql_batch_size(b); k++) {
                json_array_append_new(keys, json_string(souk_gql_batch_key(b, k)));
                json_t *arg = souk_gql_batch_arg(b, k);
                json_array_append_new(args, arg ? json_incref(arg) : json_null());
            }
            json_array_append_new(h->calls,
                                  json_pack("{s:i,s:s,s:o,s:o}", "wave", h->wave, "loader",
                                            souk_gql_batch_loader(b), "keys", keys, "args", args));
            for (size_t k = 0; k < souk_gql_batch_size(b); k++)
                answer_key(h, b, k);
        }
    }
    assert_int_equal(souk_gql_exec_batch_count(ex), 0);
    assert_int_equal(souk_gql_exec_waves(ex), waves);
    return souk_gql_exec_result(ex);
}

/* ---- resolvers ------------------------------------------------------------------------------ */

static const char *arg_str(const souk_gql_info_t *info, const char *name)
{
    return json_string_value(json_object_get(info->args, name));
}

static void r_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    souk_gql_answer_load(ans, "product", arg_str(info, "id"), NULL);
}

static void r_products(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    souk_gql_answer_load(ans, "products", "", json_deep_copy(info->args));
}

static void r_orders(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    host_t *h = info->host;
    souk_gql_answer_value(ans, json_pack("{s:O,s:i,s:i,s:i}", "items", h->orders, "page", 1,
                                         "limit", 20, "total", 3));
}

static void r_me(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    host_t *h = info->host;
    if (!h->logged_in)
        souk_gql_answer_error(ans, SOUK_GQL_UNAUTHENTICATED, "log in first");
    else
        souk_gql_answer_value(
            ans, json_pack("{s:s,s:s,s:[s]}", "id", "u1", "email", "a@b.c", "roles", "customer"));
}

static void r_item_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    souk_gql_answer_load(ans, "product",
                         json_string_value(json_object_get(info->parent, "product_id")), NULL);
}

static void r_rec_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    souk_gql_answer_load(ans, "product", json_string_value(json_object_get(info->parent, "id")),
                         NULL);
}

static void r_recommendations(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    const char *id = json_string_value(json_object_get(info->parent, "id"));
    souk_gql_answer_load(ans, "recommendations", id,
                         json_pack("{s:O}", "limit", json_object_get(info->args, "limit")));
}

static void r_delete(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    souk_gql_answer_load(ans, "products.delete", arg_str(info, "id"), NULL);
}

static void then_order(const souk_gql_info_t *info, json_t *loaded, souk_gql_answer_t *ans)
{
    /* loaded: the lines as the host received them; make an order of them */
    json_t *items = json_array(), *l;
    size_t i;
    json_array_foreach(loaded, i, l)
        json_array_append_new(items, line(json_string_value(json_object_get(l, "productId")),
                                          (int)json_integer_value(json_object_get(l, "quantity"))));
    souk_gql_answer_value(ans, json_pack("{s:s,s:s,s:s,s:n,s:o,s:i,s:s}", "id", "o9", "user_id",
                                         "u1", "status", "pending", "reason", "items", items,
                                         "total_cents", 1, "currency", "USD"));
}

static void r_place(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    const char *key = arg_str(info, "idempotencyKey");
    souk_gql_answer_load_then(ans, "orders.place", key ? key : "",
                              json_deep_copy(json_object_get(info->args, "items")), then_order);
}

static void r_forbidden(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    souk_gql_answer_error(ans, SOUK_GQL_FORBIDDEN, "needs %s", "products:write");
}

static void r_void(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    souk_gql_answer_load(ans, "void", "k", NULL);
}

typedef struct {
    souk_gql_schema_t *s;
    souk_gql_resolvers_t *r;
    host_t *h;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    f->s = schema_from(souk_gql_sdl);
    f->r = souk_gql_resolvers_new(f->s);
    f->h = host_new();
    static const struct {
        const char *type, *field;
        souk_gql_resolve_fn fn;
    } table[] = {
        {"Query", "product", r_product},
        {"Query", "products", r_products},
        {"Query", "orders", r_orders},
        {"Query", "me", r_me},
        {"OrderItem", "product", r_item_product},
        {"Recommendation", "product", r_rec_product},
        {"Product", "recommendations", r_recommendations},
        {"Mutation", "deleteProduct", r_delete},
        {"Mutation", "placeOrder", r_place},
        {"Mutation", "createProduct", r_forbidden},
        {"Mutation", "markNotificationRead", r_void},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(table); i++)
        assert_int_equal(
            souk_gql_resolvers_add(f->r, table[i].type, table[i].field, table[i].fn, NULL),
            SOUK_OK);
    assert_int_equal(souk_gql_resolvers_add(f->r, "Query", "nope", r_me, NULL), SOUK_ENOTFOUND);
    assert_int_equal(souk_gql_resolvers_add(f->r, "Page", "total", r_me, NULL), SOUK_ENOTFOUND);
    assert_int_equal(souk_gql_resolvers_unavailable(f->r, "Query", "notifications",
                                                    SOUK_GQL_NOT_FOUND,
                                                    "notifications are not available yet"),
                     SOUK_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    souk_gql_resolvers_free(f->r);
    souk_gql_schema_free(f->s);
    host_free(f->h);
    free(f);
    return 0;
}

/* Parses, executes with vars (JSON text or NULL) and returns the result. */
static json_t *exec(fixture_t *f, const char *query, const char *vars)
{
    souk_gql_doc_t *doc;
    json_t *errors = NULL, *v = vars ? json_loads(vars, 0, NULL) : NULL;
    if (souk_gql_document_parse(f->s, query, strlen(query), NULL, &doc, &errors) != SOUK_OK)
        print_json("document errors", errors);
    assert_null(errors);
    souk_gql_exec_t *ex;
    if (souk_gql_exec_new(doc, f->r, NULL, v, f->h, NULL, &ex, &errors) != SOUK_OK)
        print_json("request errors", errors);
    assert_null(errors);
    json_t *result = drive(ex, f->h);
    souk_gql_exec_free(ex);
    souk_gql_doc_free(doc);
    json_decref(v);
    return result;
}

/* ---- tests --------------------------------------------------------------------------------------
 */

static void test_batching(void **state)
{
    fixture_t *f = *state;
    /* seven order lines over four products, plus two root lookups: one batch */
    json_t *r = exec(f,
                     "{ a: product(id: \"p1\") { name } b: product(id: \"p9\") { name } "
                     "orders { items { id items { quantity product { name } } } } }",
                     NULL);
    assert_json(f->h->calls, "[{\"wave\": 1, \"loader\": \"product\","
                             " \"keys\": [\"p1\", \"p9\", \"p2\", \"p3\", \"p4\"],"
                             " \"args\": [null, null, null, null, null]}]");
    json_t *data = json_object_get(r, "data");
    assert_json(json_object_get(data, "a"), "{\"name\": \"Cup\"}");
    assert_true(json_is_null(json_object_get(data, "b")));
    assert_json(
        json_object_get(
            json_array_get(json_object_get(json_object_get(data, "orders"), "items"), 1), "items"),
        "[{\"quantity\": 1, \"product\": {\"name\": \"Cup\"}},"
        " {\"quantity\": 1, \"product\": {\"name\": \"Pot\"}},"
        " {\"quantity\": 5, \"product\": {\"name\": \"Tray\"}}]");
    assert_json(json_object_get(r, "errors"),
                "[{\"message\": \"no product p9\", \"locations\": [{\"line\": 1, \"column\": 33}],"
                " \"path\": [\"b\"], \"extensions\": {\"code\": \"NOT_FOUND\"}}]");
    json_decref(r);
}

static void test_waves(void **state)
{
    fixture_t *f = *state;
    json_t *r = exec(f,
                     "{ products(limit: 3) { items { name recommendations { strategy items { "
                     "product { name stock } } } } } }",
                     NULL);
    json_t *c = f->h->calls;
    assert_int_equal(json_array_size(c), 3);
    assert_json(json_array_get(c, 0), "{\"wave\": 1, \"loader\": \"products\", \"keys\": [\"\"],"
                                      " \"args\": [{\"page\": 1, \"limit\": 3}]}");
    assert_json(json_array_get(c, 1),
                "{\"wave\": 2, \"loader\": \"recommendations\","
                " \"keys\": [\"p1\", \"p2\", \"p3\", \"p4\"],"
                " \"args\": [{\"limit\": 5}, {\"limit\": 5}, {\"limit\": 5}, {\"limit\": 5}]}");
    assert_json(json_array_get(c, 2), "{\"wave\": 3, \"loader\": \"product\","
                                      " \"keys\": [\"p2\", \"p3\", \"p1\"],"
                                      " \"args\": [null, null, null]}");
    json_t *first = json_array_get(
        json_object_get(json_object_get(json_object_get(r, "data"), "products"), "items"), 0);
    assert_json(first, "{\"name\": \"Cup\", \"recommendations\": {\"strategy\": \"CO_PURCHASE\","
                       " \"items\": [{\"product\": {\"name\": \"Mug\", \"stock\": 3}},"
                       " {\"product\": {\"name\": \"Pot\", \"stock\": 3}}]}}");
    assert_null(json_object_get(r, "errors"));
    json_decref(r);
}

static void test_default_resolver_and_scalars(void **state)
{
    fixture_t *f = *state;
    json_t *r = exec(f,
                     "{ product(id: \"p3\") { id priceCents currency createdAt sku "
                     "description } orders { items { status totalCents } } }",
                     NULL);
    assert_json(r, "{\"data\": {\"product\": {\"id\": \"p3\", \"priceCents\": 999999999999,"
                   " \"currency\": \"USD\", \"createdAt\": \"2026-01-01T00:00:00.000Z\","
                   " \"sku\": null, \"description\": \"\"},"
                   " \"orders\": {\"items\": [{\"status\": \"CONFIRMED\", \"totalCents\": 300},"
                   " {\"status\": \"PENDING\", \"totalCents\": 700},"
                   " {\"status\": \"REJECTED\", \"totalCents\": 200}]}}}");
    json_decref(r);
}

static void test_variables(void **state)
{
    fixture_t *f = *state;
    const char *q = "query ($id: ID!, $n: Int = 7, $sort: ProductSort = NEWEST, $q: String) {"
                    " product(id: $id) { id } products(limit: $n, sort: $sort, q: $q) { limit } }";
    json_t *r = exec(f, q, "{\"id\": 4, \"q\": null}");
    /* an Int variable for an ID becomes a string; the default fills $n; null stays null */
    assert_json(json_array_get(f->h->calls, 0),
                "{\"wave\": 1, \"loader\": \"product\", \"keys\": [\"4\"], \"args\": [null]}");
    assert_json(
        json_object_get(json_array_get(json_object_get(json_array_get(f->h->calls, 1), "args"), 0),
                        "sort"),
        "\"NEWEST\"");
    assert_json(json_array_get(json_object_get(json_array_get(f->h->calls, 1), "args"), 0),
                "{\"limit\": 7, \"sort\": \"NEWEST\", \"q\": null, \"page\": 1}");
    assert_json(json_object_get(json_object_get(r, "data"), "products"), "{\"limit\": 7}");
    json_decref(r);
}

static void expect_request_error(fixture_t *f, const char *q, const char *vars, const char *msg,
                                 souk_err_t want)
{
    souk_gql_doc_t *doc;
    json_t *errors = NULL, *v = vars ? json_loads(vars, JSON_DECODE_ANY, NULL) : NULL;
    assert_int_equal(souk_gql_document_parse(f->s, q, strlen(q), NULL, &doc, &errors), SOUK_OK);
    souk_gql_exec_t *ex = NULL;
    assert_int_equal(souk_gql_exec_new(doc, f->r, NULL, v, f->h, NULL, &ex, &errors), want);
    assert_null(ex);
    if (!has_message(errors, msg))
        print_json("errors", errors);
    assert_true(has_message(errors, msg));
    json_decref(errors);
    json_decref(v);
    souk_gql_doc_free(doc);
}

static void test_variable_errors(void **state)
{
    fixture_t *f = *state;
    const char *q = "query ($id: ID!, $n: Int) { product(id: $id) { id } products(limit: $n) "
                    "{ total } }";
    expect_request_error(f, q, "{}", "Variable \"$id\" of required type \"ID!\" was not provided.",
                         SOUK_EINVAL);
    expect_request_error(f, q, "{\"id\": null}",
                         "Variable \"$id\" of non-null type \"ID!\" must not be null.",
                         SOUK_EINVAL);
    expect_request_error(f, q, "{\"id\": \"1\", \"n\": \"x\"}",
                         "Variable \"$n\" got invalid value \"x\"; Int cannot represent "
                         "non-integer value: \"x\"",
                         SOUK_EINVAL);
    expect_request_error(f, q, "{\"id\": \"1\", \"n\": 1.5}", "Int cannot represent non-integer",
                         SOUK_EINVAL);
    expect_request_error(f, q, "[1]", "Variables must be provided as an Object", SOUK_EINVAL);
    const char *m = "mutation ($in: CreateProductInput!) { createProduct(input: $in) { id } }";
    expect_request_error(f, m, "{\"in\": {\"name\": \"x\", \"stock\": 1, \"colour\": 2}}",
                         "Field \"priceCents\" of required type \"Cents!\" was not provided.",
                         SOUK_EINVAL);
    expect_request_error(f, m,
                         "{\"in\": {\"name\": \"x\", \"stock\": 1, \"priceCents\": 1, "
                         "\"colour\": 2}}",
                         "Variable \"$in\" got invalid value { name: \"x\", stock: 1, priceCents: "
                         "1, colour: 2 }; Field \"colour\" is not defined by type "
                         "\"CreateProductInput\".",
                         SOUK_EINVAL);
    const char *o = "mutation ($l: [OrderLineInput!]!) { placeOrder(items: $l) { id } }";
    expect_request_error(f, o, "{\"l\": [{\"productId\": \"a\", \"quantity\": \"2\"}]}",
                         "at \"l[0].quantity\"; Int cannot represent non-integer value: \"2\"",
                         SOUK_EINVAL);
    /* the cost with the real value of a variable */
    const char *c = "query ($n: Int) { orders(limit: $n) { items { id items { name product { name "
                    "} } } } }";
    expect_request_error(f, c, "{\"n\": 100}", "estimated cost is 6202", SOUK_ELIMIT);
    /* operation selection */
    const char *two = "query A { me { id } } query B { me { email } }";
    expect_request_error(f, two, NULL,
                         "Must provide operation name if query contains multiple operations.",
                         SOUK_EINVAL);
}

static void test_input_coercion(void **state)
{
    fixture_t *f = *state;
    /* a single object where a list is expected; defaults of input fields */
    json_t *r = exec(f,
                     "mutation ($q: Int = 2) { placeOrder(items: {productId: 7, quantity: $q},"
                     " idempotencyKey: \"k\") { id items { quantity product { name } } } }",
                     NULL);
    assert_json(json_array_get(f->h->calls, 0),
                "{\"wave\": 1, \"loader\": \"orders.place\", \"keys\": [\"k\"],"
                " \"args\": [[{\"productId\": \"7\", \"quantity\": 2}]]}");
    assert_json(json_object_get(json_object_get(r, "data"), "placeOrder"),
                "{\"id\": \"o9\", \"items\": [{\"quantity\": 2, \"product\": null}]}");
    assert_true(has_message(json_object_get(r, "errors"), "no product 7"));
    json_decref(r);
}

static void test_fragments_aliases_directives(void **state)
{
    fixture_t *f = *state;
    json_t *r = exec(f,
                     "query ($no: Boolean = true, $yes: Boolean!) {"
                     "  __typename"
                     "  first: product(id: \"p1\") { ...P id @skip(if: $no) }"
                     "  second: product(id: \"p2\") { ... on Product { __typename n: name }"
                     "    ... @include(if: $yes) { stock } ... @skip(if: $yes) { sku } }"
                     "  orders @include(if: false) { total }"
                     "}"
                     "fragment P on Product { name ...Q ...Q } fragment Q on Node { id }",
                     "{\"yes\": true}");
    assert_json(r, "{\"data\": {\"__typename\": \"Query\","
                   " \"first\": {\"name\": \"Cup\", \"id\": \"p1\"},"
                   " \"second\": {\"__typename\": \"Product\", \"n\": \"Mug\", \"stock\": 3}}}");
    json_decref(r);
}

static void test_errors_and_partial_data(void **state)
{
    fixture_t *f = *state;
    json_t *r = exec(f, "{ me { id } notifications { total } products(limit: 1) { total } }", NULL);
    assert_json(r,
                "{\"data\": {\"me\": null, \"notifications\": null, \"products\": {\"total\": 4}},"
                " \"errors\": ["
                "  {\"message\": \"log in first\", \"locations\": [{\"line\": 1, \"column\": 3}],"
                "   \"path\": [\"me\"], \"extensions\": {\"code\": \"UNAUTHENTICATED\"}},"
                "  {\"message\": \"notifications are not available yet\","
                "   \"locations\": [{\"line\": 1, \"column\": 13}],"
                "   \"path\": [\"notifications\"], \"extensions\": {\"code\": \"NOT_FOUND\"}}]}");
    json_decref(r);
    f->h->logged_in = true;
    r = exec(f, "{ me { id roles } }", NULL);
    assert_json(r, "{\"data\": {\"me\": {\"id\": \"u1\", \"roles\": [\"customer\"]}}}");
    json_decref(r);
}

static void test_serial_mutations(void **state)
{
    fixture_t *f = *state;
    json_t *r = exec(f,
                     "mutation { a: deleteProduct(id: \"p1\") b: deleteProduct(id: \"p2\")"
                     " c: placeOrder(items: [{productId: \"p4\", quantity: 1}]) { id items {"
                     " product { name } } } d: createProduct(input: {name: \"x\","
                     " priceCents: 1, stock: 1}) { id } e: markNotificationRead(id: \"n\") }",
                     NULL);
    /* one root field per step, each with everything below it, in order */
    json_t *c = f->h->calls;
    assert_int_equal(json_array_size(c), 5);
    const char *want[][2] = {{"products.delete", "p1"},
                             {"products.delete", "p2"},
                             {"orders.place", ""},
                             {"product", "p4"},
                             {"void", "k"}};
    for (size_t i = 0; i < 5; i++) {
        json_t *call = json_array_get(c, i);
        assert_int_equal(json_integer_value(json_object_get(call, "wave")), (json_int_t)i + 1);
        assert_string_equal(json_string_value(json_object_get(call, "loader")), want[i][0]);
        assert_string_equal(json_string_value(json_array_get(json_object_get(call, "keys"), 0)),
                            want[i][1]);
    }
    assert_json(json_object_get(r, "data"),
                "{\"a\": true, \"b\": true, \"c\": {\"id\": \"o9\", \"items\": [{\"product\":"
                " {\"name\": \"Tray\"}}]}, \"d\": null, \"e\": null}");
    json_t *errors = json_object_get(r, "errors");
    assert_int_equal(json_array_size(errors), 2);
    assert_json(
        json_array_get(errors, 0),
        "{\"message\": \"needs products:write\", \"locations\": [{\"line\": 1,"
        " \"column\": 155}], \"path\": [\"d\"], \"extensions\": {\"code\": \"FORBIDDEN\"}}");
    assert_true(has_message(errors, "The loader \"void\" gave no result for key \"k\"."));
    json_decref(r);
    /* a query's root fields all start in the first wave */
    json_array_clear(f->h->calls);
    f->h->wave = 0;
    r = exec(f, "{ a: product(id: \"p1\") { id } products { total } }", NULL);
    assert_int_equal(json_array_size(f->h->calls), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(f->h->calls, 1), "wave")),
                     1);
    json_decref(r);
}

/* ---- null propagation, on a schema of its own -------------------------------------------------
 */

static const char bubble_sdl[] =
    "type Query { obj: Obj sure: Obj! list: [Obj!] items: [Obj] leaf: Int later: Obj }\n"
    "type Obj { must: String! may: String child: Obj slow: String count: Int tag: Tag }\n"
    "enum Tag { RED GREEN }\n"
    "union Either = Obj | Other type Other { x: Int }\n"
    "extend type Query { either: [Either] }\n";

static void r_fixture(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    json_t *root = info->host;
    souk_gql_answer_value(ans, json_incref(json_object_get(root, info->field)));
}

static void r_slow(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    souk_gql_answer_load(ans, "slow", "x", NULL);
}

static json_t *run_bubble(const char *query, const char *root_json, unsigned *waves)
{
    souk_gql_schema_t *s = schema_from(bubble_sdl);
    souk_gql_resolvers_t *r = souk_gql_resolvers_new(s);
    static const char *const roots[] = {"obj", "sure", "list", "items", "leaf", "later", "either"};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(roots); i++)
        assert_int_equal(souk_gql_resolvers_add(r, "Query", roots[i], r_fixture, NULL), SOUK_OK);
    assert_int_equal(souk_gql_resolvers_add(r, "Obj", "slow", r_slow, NULL), SOUK_OK);
    json_t *root = json_loads(root_json, 0, NULL), *errors = NULL;
    assert_non_null(root);
    souk_gql_doc_t *doc;
    assert_int_equal(souk_gql_document_parse(s, query, strlen(query), NULL, &doc, &errors),
                     SOUK_OK);
    souk_gql_exec_t *ex;
    assert_int_equal(souk_gql_exec_new(doc, r, NULL, NULL, root, NULL, &ex, &errors), SOUK_OK);
    while (souk_gql_exec_run(ex) == SOUK_GQL_PENDING)
        for (size_t i = 0; i < souk_gql_exec_batch_count(ex); i++)
            souk_gql_batch_resolve(souk_gql_exec_batch(ex, i), 0, json_string("done"));
    if (waves)
        *waves = souk_gql_exec_waves(ex);
    json_t *result = souk_gql_exec_result(ex);
    souk_gql_exec_free(ex);
    souk_gql_doc_free(doc);
    json_decref(root);
    souk_gql_resolvers_free(r);
    souk_gql_schema_free(s);
    return result;
}

static void test_null_bubbling(void **state)
{
    json_t *r =
        run_bubble("{ obj { must may } leaf }", "{\"obj\": {\"may\": \"x\"}, \"leaf\": 1}", NULL);
    assert_json(r, "{\"data\": {\"obj\": null, \"leaf\": 1}, \"errors\": [{\"message\": \"Cannot "
                   "return null for non-nullable field Obj.must.\", \"locations\": [{\"line\": 1,"
                   " \"column\": 9}], \"path\": [\"obj\", \"must\"], \"extensions\": {\"code\":"
                   " \"INTERNAL\"}}]}");
    json_decref(r);
    /* through a non-null root field: no data at all */
    r = run_bubble("{ leaf sure { must } }", "{\"sure\": {}, \"leaf\": 1}", NULL);
    assert_true(json_is_null(json_object_get(r, "data")));
    assert_json(json_object_get(json_array_get(json_object_get(r, "errors"), 0), "path"),
                "[\"sure\", \"must\"]");
    json_decref(r);
    /* a non-null item nulls its (nullable) list; a nullable item only itself */
    r = run_bubble("{ list { must } items { must } }",
                   "{\"list\": [{\"must\": \"a\"}, {}], \"items\": [{\"must\": \"a\"}, {}, "
                   "{\"must\": \"c\"}]}",
                   NULL);
    assert_json(json_object_get(r, "data"),
                "{\"list\": null, \"items\": [{\"must\": \"a\"}, null, {\"must\": \"c\"}]}");
    assert_json(json_object_get(json_array_get(json_object_get(r, "errors"), 0), "path"),
                "[\"list\", 1, \"must\"]");
    assert_json(json_object_get(json_array_get(json_object_get(r, "errors"), 1), "path"),
                "[\"items\", 1, \"must\"]");
    json_decref(r);
    /* a field waiting for its load below a position that was nulled is dropped */
    unsigned waves = 0;
    r = run_bubble("{ obj { slow must } later { slow } }", "{\"obj\": {}, \"later\": {}}", &waves);
    assert_int_equal(waves, 1);
    assert_json(r, "{\"data\": {\"obj\": null, \"later\": {\"slow\": \"done\"}}, \"errors\": "
                   "[{\"message\": \"Cannot return null for non-nullable field Obj.must.\","
                   " \"locations\": [{\"line\": 1, \"column\": 14}], \"path\": [\"obj\", "
                   "\"must\"], \"extensions\": {\"code\": \"INTERNAL\"}}]}");
    json_decref(r);
}

static void test_result_coercion(void **state)
{
    json_t *r = run_bubble("{ items { count tag may } }",
                           "{\"items\": [{\"count\": 3.0, \"tag\": \"green\", \"may\": 42},"
                           " {\"count\": 3.5}, {\"tag\": \"BLUE\"}, {\"may\": [1]},"
                           " {\"count\": 4294967296}]}",
                           NULL);
    assert_json(json_object_get(r, "data"),
                "{\"items\": [{\"count\": 3, \"tag\": \"GREEN\", \"may\": \"42\"},"
                " {\"count\": null, \"tag\": null, \"may\": null},"
                " {\"count\": null, \"tag\": null, \"may\": null},"
                " {\"count\": null, \"tag\": null, \"may\": null},"
                " {\"count\": null, \"tag\": null, \"may\": null}]}");
    json_t *errors = json_object_get(r, "errors");
    assert_int_equal(json_array_size(errors), 4);
    assert_true(has_message(errors, "Int cannot represent non-integer value: 3.5"));
    assert_true(has_message(errors, "Enum \"Tag\" cannot represent value: \"BLUE\""));
    assert_true(has_message(errors, "String cannot represent value: [1]"));
    assert_true(has_message(errors, "Int cannot represent non 32-bit signed integer value: "
                                    "4294967296"));
    json_decref(r);
    r = run_bubble("{ leaf obj { child { may } } }", "{\"leaf\": [1], \"obj\": \"scalar\"}", NULL);
    assert_json(json_object_get(r, "data"), "{\"leaf\": null, \"obj\": {\"child\": null}}");
    json_decref(r);
    r = run_bubble("{ either { __typename ... on Obj { may } ... on Other { x } } }",
                   "{\"either\": [{\"__typename\": \"Other\", \"x\": 1}, {\"__typename\": \"Obj\","
                   " \"may\": \"m\"}, {\"may\": \"?\"}]}",
                   NULL);
    assert_json(json_object_get(r, "data"), "{\"either\": [{\"__typename\": \"Other\", \"x\": 1},"
                                            " {\"__typename\": \"Obj\", \"may\": \"m\"}, null]}");
    assert_true(has_message(json_object_get(r, "errors"),
                            "Abstract type \"Either\" must resolve to an Object type at runtime"));
    json_decref(r);
}

static void test_operation_info(void **state)
{
    fixture_t *f = *state;
    const char *q = "query A { me { id } } mutation B { deleteProduct(id: 1) }";
    souk_gql_doc_t *doc;
    json_t *errors;
    assert_int_equal(souk_gql_document_parse(f->s, q, strlen(q), NULL, &doc, &errors), SOUK_OK);
    souk_gql_op_t type;
    const char *name;
    assert_int_equal(souk_gql_doc_operation(doc, "B", &type, &name), SOUK_OK);
    assert_int_equal(type, SOUK_GQL_MUTATION);
    assert_string_equal(name, "B");
    assert_int_equal(souk_gql_doc_operation(doc, NULL, &type, &name), SOUK_ENOTFOUND);
    assert_int_equal(souk_gql_doc_operation(doc, "C", NULL, NULL), SOUK_ENOTFOUND);
    souk_gql_exec_t *ex;
    assert_int_equal(souk_gql_exec_new(doc, f->r, "C", NULL, f->h, NULL, &ex, &errors),
                     SOUK_EINVAL);
    assert_true(has_message(errors, "Unknown operation named \"C\"."));
    json_decref(errors);
    assert_int_equal(souk_gql_exec_new(doc, f->r, "A", NULL, f->h, NULL, &ex, &errors), SOUK_OK);
    json_t *r = drive(ex, f->h);
    assert_true(json_is_null(json_object_get(json_object_get(r, "data"), "me")));
    json_decref(r);
    souk_gql_exec_free(ex);
    souk_gql_doc_free(doc);
}

static void test_snake_keys(void **state)
{
    json_t *in = json_loads("{\"priceCents\": 1, \"items\": [{\"productId\": \"a\","
                            " \"unitPriceCents\": 2}], \"name\": \"x\", \"nested\": {\"isOk\":"
                            " null}}",
                            0, NULL);
    json_t *out = souk_gql_snake_keys(in);
    assert_json(out, "{\"price_cents\": 1, \"items\": [{\"product_id\": \"a\","
                     " \"unit_price_cents\": 2}], \"name\": \"x\", \"nested\": {\"is_ok\":"
                     " null}}");
    assert_null(souk_gql_snake_keys(NULL));
    json_decref(out);
    json_decref(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_resolver_and_scalars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_variables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_variable_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_coercion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fragments_aliases_directives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_and_partial_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_serial_mutations, setup, teardown),
        cmocka_unit_test(test_null_bubbling),
        cmocka_unit_test(test_result_coercion),
        cmocka_unit_test(test_snake_keys),
        cmocka_unit_test_setup_teardown(test_operation_info, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
