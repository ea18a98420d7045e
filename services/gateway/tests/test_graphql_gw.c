/* Unit tests of the gateway's GraphQL host (src/graphql_exec.c,
 * src/graphql_resolvers.c, src/graphql.c's set-up) without a network: a fake
 * transport queues the calls the host hands it and the test answers them,
 * wave by wave, from fixtures shaped like the services' REST answers,
 * recording every call (method, target, headers, body) and its wave. So the
 * tests see exactly what the gateway would send: one product call per wave
 * whatever the number of lines, root fields of a query in one wave and
 * mutations one after the other, the caller's token on every call, nothing
 * at all for a refused document, arguments encoded so that they cannot
 * change the path, the services' refusals as the spec's errors; and how the
 * host behaves as an asynchronous one: answers in any order or at once
 * from within the transport, a bounded number of calls in flight, and a
 * request cancelled mid-wave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../src/graphql_gw.h"

#define P1 "11111111-1111-4111-8111-111111111111"
#define P2 "22222222-2222-4222-8222-222222222222"
#define P3 "33333333-3333-4333-8333-333333333333"
#define P4 "44444444-4444-4444-8444-444444444444"
#define PX "99999999-9999-4999-8999-999999999999" /* deleted: in no answer */
#define O1 "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define U1 "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define U2 "cccccccc-cccc-4ccc-8ccc-cccccccccccc"

/* ---- the fake upstreams -------------------------------------------------------------------- */

typedef struct {
    gw_gql_run_t *run;
    size_t id;
    char *method, *path, *body;
} pending_t;

typedef struct {
    json_t *routes;   /* "METHOD /path?query" -> {status, body} or {err} */
    json_t *products; /* id -> REST product: GET /products/{id} and the batch */
    json_t *calls;    /* every call: {wave, method, path, headers: [...], body} */
    int waves;        /* rounds of answers */
    bool batch_down;  /* the batch and product reads answer 503 */
    bool at_once;     /* answer from within send, not in rounds */
    bool reverse;     /* answer a round last call first */
    pending_t queue[256];
    size_t nqueue;
} fake_t;

static fake_t fake;

static json_t *product(const char *id, const char *name, int stock)
{
    return json_pack("{s:s, s:n, s:s, s:s, s:i, s:s, s:i, s:s, s:s, s:s}", "id", id, "sku", "name",
                     name, "description", "", "price_cents", 1999, "currency", "USD", "stock",
                     stock, "category", "kitchen", "created_at", "2026-01-01T00:00:00.000Z",
                     "updated_at", "2026-01-02T00:00:00.000Z");
}

static void route(const char *key, int status, json_t *body)
{
    json_object_set_new(fake.routes, key, json_pack("{s:i, s:o*}", "status", status, "body", body));
}

static void route_err(const char *key, souk_err_t err)
{
    json_object_set_new(fake.routes, key, json_pack("{s:i}", "err", (int)err));
}

/* A reply as the transport hands it over; the body's text is kept until
 * the next one. */
static char *reply_text;

static void respond(gw_gql_reply_t *r, int status, const json_t *body)
{
    free(reply_text);
    reply_text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    *r = (gw_gql_reply_t){
        .status = status, .body = reply_text, .body_len = reply_text ? strlen(reply_text) : 0};
}

static souk_err_t answer(const char *method, const char *path, const char *body, gw_gql_reply_t *r)
{
    char key[2048];
    snprintf(key, sizeof(key), "%s %s", method, path);
    if (fake.batch_down && (strstr(path, "/internal/products/batch") ||
                            (!strncmp(path, "/products/", 10) && strlen(path) == 46))) {
        json_t *down = json_pack("{s:s}", "detail", "database secrets at 10.0.0.1:5432");
        respond(r, 503, down);
        json_decref(down);
        return SOUK_OK;
    }
    if (!strcmp(key, "POST /internal/products/batch")) {
        json_t *req = json_loads(body, 0, NULL), *id, *items = json_array();
        size_t i;
        json_array_foreach(json_object_get(req, "ids"), i, id)
        {
            json_t *p = json_object_get(fake.products, json_string_value(id));
            if (p)
                json_array_append(items, p);
        }
        json_decref(req);
        json_t *out = json_pack("{s:o}", "items", items);
        respond(r, 200, out);
        json_decref(out);
        return SOUK_OK;
    }
    json_t *p = !strncmp(key, "GET /products/", 14) && strlen(key) == 50
                    ? json_object_get(fake.products, key + 14)
                    : NULL;
    json_t *rt = json_object_get(fake.routes, key);
    if (p || (!rt && !strncmp(key, "GET /products/", 14) && strlen(key) == 50)) {
        json_t *nf = json_pack("{s:s}", "detail", "no such product");
        respond(r, p ? 200 : 404, p ? p : nf);
        json_decref(nf);
        return SOUK_OK;
    }
    if (!rt) {
        fail_msg("unexpected call %s", key);
        return SOUK_EINTERNAL;
    }
    if (json_object_get(rt, "err"))
        return (souk_err_t)json_integer_value(json_object_get(rt, "err"));
    respond(r, (int)json_integer_value(json_object_get(rt, "status")), json_object_get(rt, "body"));
    return SOUK_OK;
}

static void answer_one(pending_t *p)
{
    gw_gql_reply_t r = {0};
    souk_err_t err = answer(p->method, p->path, p->body, &r);
    if (err)
        r = (gw_gql_reply_t){.err = err};
    free(p->method);
    free(p->path);
    free(p->body);
    gw_gql_run_answer(p->run, p->id, &r);
}

/* The transport: records the call, and queues it (or answers it at once). */
static void fake_send(void *ud, gw_gql_run_t *run, size_t id, const gw_gql_call_t *call)
{
    (void)ud;
    json_t *headers = json_array();
    for (size_t h = 0; h < call->nheaders; h++)
        json_array_append_new(
            headers, json_sprintf("%s: %s", call->headers[h].name, call->headers[h].value));
    char *body = call->body ? strndup(call->body, call->body_len) : NULL;
    assert_non_null(call->parent);
    json_array_append_new(fake.calls, json_pack("{s:i, s:s, s:s, s:o, s:s?}", "wave",
                                                fake.waves + 1, "method", call->method, "path",
                                                call->target, "headers", headers, "body", body));
    pending_t p = {run, id, strdup(call->method), strdup(call->target), body};
    if (fake.at_once) {
        answer_one(&p);
        return;
    }
    assert_true(fake.nqueue < SOUK_ARRAY_LEN(fake.queue));
    fake.queue[fake.nqueue++] = p;
}

/* Answers what is queued, round after round (what a round's answers make
 * the host send waits for the next round), until nothing waits. */
static void answer_rounds(void)
{
    while (fake.nqueue) {
        pending_t round[256];
        size_t n = fake.nqueue;
        memcpy(round, fake.queue, n * sizeof(*round));
        fake.nqueue = 0;
        fake.waves++;
        for (size_t i = 0; i < n; i++)
            answer_one(&round[fake.reverse ? n - 1 - i : i]);
    }
}

/* ---- the gateway under test ----------------------------------------------------------------- */

static gateway_t gw;
static souk_metrics_t *metrics;
static gw_graphql_t *g;

static int setup(void **state)
{
    (void)state;
    static const char *const up_outcome[] = {"upstream", "outcome", NULL};
    static const char *const up[] = {"upstream", NULL};
    static const char *const scope[] = {"scope", NULL};
    static const char *const names[] = {"auth", "product", "order", "notification", "analytics"};
    memset(&gw, 0, sizeof(gw));
    metrics = souk_metrics_new();
    gw.upstream_requests =
        souk_metrics_counter(metrics, "gateway_upstream_requests_total", "x", up_outcome);
    gw.upstream_seconds =
        souk_metrics_histogram(metrics, "gateway_upstream_duration_seconds", "x", up,
                               souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
    gw.rate_limited = souk_metrics_counter(metrics, "gateway_rate_limited_total", "x", scope);
    gw.timeout_ms = 1000;
    for (int i = 0; i < UP__COUNT; i++) {
        gw.upstreams[i].name = names[i];
        gw.upstreams[i].base_url = souk_strdup(i == UP_PRODUCT     ? "http://product:1"
                                               : i == UP_AUTH      ? "http://auth:1"
                                               : i == UP_ORDER     ? "http://order:1"
                                               : i == UP_ANALYTICS ? "http://analytics:1"
                                                                   : "http://notification:1");
    }
    gw_graphql_config_t cfg = {.graphiql_dir = NULL, .operation_names = "CheckoutPage, MyOps"};
    assert_int_equal(gw_graphql_new(&gw, metrics, &cfg, &g), SOUK_OK);
    memset(&fake, 0, sizeof(fake));
    fake.routes = json_object();
    fake.calls = json_array();
    fake.products = json_object();
    json_object_set_new(fake.products, P1, product(P1, "Cup", 3));
    json_object_set_new(fake.products, P2, product(P2, "Mug", 0));
    json_object_set_new(fake.products, P3, product(P3, "Pot", 7));
    json_object_set_new(fake.products, P4, product(P4, "Tray", 1));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gw_graphql_free(g);
    gw_ratelimit_free(gw.credential_limit);
    for (int i = 0; i < UP__COUNT; i++)
        souk_free(gw.upstreams[i].base_url);
    souk_metrics_free(metrics);
    json_decref(fake.routes);
    json_decref(fake.calls);
    json_decref(fake.products);
    free(reply_text);
    reply_text = NULL;
    return 0;
}

typedef struct {
    int status;
    json_t *body;
    unsigned waves, calls;
} res_t;

static void store_result(void *ud, gw_gql_result_t *r)
{
    gw_gql_result_t *out = ud;
    assert_null(out->body); /* done once */
    *out = *r;
}

static gw_gql_transport_t transport = {fake_send, NULL};

/* Runs a request to its end, answering every call. */
static res_t run_as(const char *bearer, const char *query, const char *vars, const char *op,
                    bool get)
{
    gw_gql_caller_t caller = {.bearer = bearer, .client_ip = "192.0.2.7"};
    json_t *v = vars ? json_loads(vars, 0, NULL) : NULL;
    gw_gql_params_t p = {.query = query,
                         .query_len = strlen(query),
                         .variables = v,
                         .operation_name = op,
                         .get = get};
    gw_gql_result_t r = {0};
    souk_arena_t *a = souk_arena_new();
    gw_gql_run_t *run = gw_graphql_start(g, &caller, &p, a, &transport, store_result, &r);
    json_decref(v);
    assert_true(run != NULL || fake.nqueue == 0);
    answer_rounds();
    souk_arena_free(a);
    assert_non_null(r.body);
    return (res_t){r.status, r.body, r.waves, r.calls};
}

static res_t run(const char *query)
{
    return run_as("tok-1", query, NULL, NULL, false);
}

/* Asserts that v (decref'd) equals the JSON text want. */
static void assert_json(json_t *v, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    assert_non_null(w);
    if (!json_equal(v, w)) {
        char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        char *exp = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fail_msg("got  %s\nwant %s", got, exp);
    }
    json_decref(w);
    json_decref(v);
}

static const char *call_path(size_t i)
{
    return json_string_value(json_object_get(json_array_get(fake.calls, i), "path"));
}

static int call_wave(size_t i)
{
    return (int)json_integer_value(json_object_get(json_array_get(fake.calls, i), "wave"));
}

static bool call_has_header(size_t i, const char *line)
{
    json_t *h = json_object_get(json_array_get(fake.calls, i), "headers"), *x;
    size_t k;
    json_array_foreach(h, k, x) if (!strcmp(json_string_value(x), line)) return true;
    return false;
}

static bool call_has_header_named(size_t i, const char *prefix)
{
    json_t *h = json_object_get(json_array_get(fake.calls, i), "headers"), *x;
    size_t k;
    json_array_foreach(
        h, k, x) if (!strncasecmp(json_string_value(x), prefix, strlen(prefix))) return true;
    return false;
}

static json_t *error_at(json_t *body, size_t i)
{
    return json_array_get(json_object_get(body, "errors"), i);
}

static const char *error_code(json_t *body, size_t i)
{
    return json_string_value(
        json_object_get(json_object_get(error_at(body, i), "extensions"), "code"));
}

static const char *error_message(json_t *body, size_t i)
{
    return json_string_value(json_object_get(error_at(body, i), "message"));
}

static json_t *data(res_t *r)
{
    return json_object_get(r->body, "data");
}

/* ---- tests ------------------------------------------------------------------------------------
 */

/* A product page: the product, its recommendations (analytics), and each
 * recommended product in full: three waves, one call each. */
static void test_product_page(void **state)
{
    (void)state;
    route("GET /products/" P1 "/recommendations?limit=2", 200,
          json_pack("{s:s, s:[{s:s, s:s, s:i, s:s}, {s:s, s:s, s:i, s:s}]}", "strategy",
                    "co-purchase", "items", "id", P2, "name", "Mug", "price_cents", 1999,
                    "currency", "USD", "id", P3, "name", "Pot", "price_cents", 1999, "currency",
                    "USD"));
    res_t r = run("{ product(id: \"" P1 "\") { id name priceCents stock "
                  "recommendations(limit: 2) { strategy items { name product { stock } } } } }");
    assert_int_equal(r.status, 200);
    assert_json(json_incref(data(&r)),
                "{\"product\": {\"id\": \"" P1 "\", \"name\": \"Cup\", \"priceCents\": 1999, "
                "\"stock\": 3, \"recommendations\": {\"strategy\": \"CO_PURCHASE\", \"items\": "
                "[{\"name\": \"Mug\", \"product\": {\"stock\": 0}}, {\"name\": \"Pot\", "
                "\"product\": {\"stock\": 7}}]}}}");
    assert_null(json_object_get(r.body, "errors"));
    assert_int_equal(json_array_size(fake.calls), 3);
    assert_string_equal(call_path(0), "/products/" P1); /* one product: the cached GET */
    assert_string_equal(call_path(2), "/internal/products/batch");
    assert_int_equal(r.calls, 3);
    json_decref(r.body);
}

/* An order history with nested products: every product of every line in
 * one batch call, each id once, a deleted product null without an error. */
static void test_order_history_one_batch(void **state)
{
    (void)state;
    json_t *lines1 = json_pack("[{s:s, s:s, s:i, s:i}, {s:s, s:s, s:i, s:i}]", "product_id", P1,
                               "name", "Cup", "quantity", 1, "unit_price_cents", 100, "product_id",
                               P2, "name", "Mug", "quantity", 2, "unit_price_cents", 200);
    json_t *lines2 =
        json_pack("[{s:s, s:s, s:i, s:i}, {s:s, s:s, s:i, s:i}, {s:s, s:s, s:i, s:i}]",
                  "product_id", P1, "name", "Cup", "quantity", 1, "unit_price_cents", 100,
                  "product_id", P3, "name", "Pot", "quantity", 1, "unit_price_cents", 300,
                  "product_id", PX, "name", "Gone", "quantity", 1, "unit_price_cents", 5);
    route("GET /orders?page=1&limit=20", 200,
          json_pack("{s:[{s:s, s:s, s:s, s:o, s:i, s:s}, {s:s, s:s, s:s, s:o, s:i, s:s}], "
                    "s:i, s:i, s:i}",
                    "items", "id", O1, "user_id", U1, "status", "confirmed", "items", lines1,
                    "total_cents", 500, "currency", "USD", "id", O1, "user_id", U1, "status",
                    "rejected", "items", lines2, "total_cents", 405, "currency", "USD", "page", 1,
                    "limit", 20, "total", 2));
    res_t r = run("query OrderHistory { orders { total items { status items { quantity "
                  "product { name stock } } } } }");
    assert_int_equal(r.status, 200);
    assert_null(json_object_get(r.body, "errors"));
    assert_json(json_incref(json_object_get(json_object_get(data(&r), "orders"), "items")),
                "[{\"status\": \"CONFIRMED\", \"items\": [{\"quantity\": 1, \"product\": "
                "{\"name\": \"Cup\", \"stock\": 3}}, {\"quantity\": 2, \"product\": {\"name\": "
                "\"Mug\", \"stock\": 0}}]}, {\"status\": \"REJECTED\", \"items\": [{\"quantity\": "
                "1, \"product\": {\"name\": \"Cup\", \"stock\": 3}}, {\"quantity\": 1, "
                "\"product\": {\"name\": \"Pot\", \"stock\": 7}}, {\"quantity\": 1, \"product\": "
                "null}]}]");
    assert_int_equal(json_array_size(fake.calls), 2);
    assert_string_equal(call_path(1), "/internal/products/batch");
    json_t *body = json_loads(
        json_string_value(json_object_get(json_array_get(fake.calls, 1), "body")), 0, NULL);
    assert_json(json_incref(json_object_get(body, "ids")),
                "[\"" P1 "\", \"" P2 "\", \"" P3 "\", \"" PX "\"]");
    json_decref(body);
    assert_int_equal(r.waves, 2);
    json_decref(r.body);
}

/* Independent root fields: one wave, all calls at once; each call carries
 * the caller's token and asks for JSON, and has no Idempotency-Key (the
 * transport adds request id, trace context and address). */
static void test_roots_in_parallel_with_token(void **state)
{
    (void)state;
    route("GET /auth/me", 200,
          json_pack("{s:s, s:s, s:[s], s:b}", "id", U1, "email", "a@b.c", "roles", "customer",
                    "disabled", 0));
    route("GET /orders?page=1&limit=5", 200,
          json_pack("{s:[], s:i, s:i, s:i}", "items", "page", 1, "limit", 5, "total", 0));
    route("GET /products?page=1&limit=3", 200,
          json_pack("{s:[], s:i, s:i, s:i}", "items", "page", 1, "limit", 3, "total", 0));
    res_t r = run("{ me { email roles } orders(limit: 5) { total } products(limit: 3) { total } }");
    assert_int_equal(r.status, 200);
    assert_json(json_incref(data(&r)),
                "{\"me\": {\"email\": \"a@b.c\", \"roles\": [\"customer\"]}, \"orders\": "
                "{\"total\": 0}, \"products\": {\"total\": 0}}");
    assert_int_equal(fake.waves, 1);
    assert_int_equal(json_array_size(fake.calls), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(call_has_header(i, "Authorization: Bearer tok-1"));
        assert_true(call_has_header(i, "Accept: application/json"));
        assert_false(call_has_header_named(i, "Idempotency-Key"));
        assert_false(call_has_header_named(i, "Content-Type"));
    }
    json_decref(r.body);
}

/* Without a token, fields that need a login fail without a call; public
 * ones still answer. */
static void test_login_required(void **state)
{
    (void)state;
    route("GET /products?page=1&limit=1", 200,
          json_pack("{s:[], s:i, s:i, s:i}", "items", "page", 1, "limit", 1, "total", 0));
    res_t r = run_as(NULL, "{ me { id } orders { total } products(limit: 1) { total } }", NULL,
                     NULL, false);
    assert_int_equal(r.status, 200);
    assert_json(json_incref(data(&r)),
                "{\"me\": null, \"orders\": null, \"products\": {\"total\": 0}}");
    assert_string_equal(error_code(r.body, 0), "UNAUTHENTICATED");
    assert_string_equal(error_code(r.body, 1), "UNAUTHENTICATED");
    assert_int_equal(json_array_size(fake.calls), 1);
    assert_false(call_has_header_named(0, "Authorization"));
    json_decref(r.body);
}

/* The services' refusals become the spec's errors, with path and locations,
 * the field null and the rest served. */
static void test_errors_mapped(void **state)
{
    (void)state;
    route("GET /orders?user_id=" U2 "&page=1&limit=20", 403,
          json_pack("{s:s, s:i, s:s}", "title", "Forbidden", "status", 403, "detail",
                    "only admins may list other users' orders"));
    route("GET /orders/" O1, 404, json_pack("{s:s}", "detail", "no such order"));
    route("GET /notifications?page=1&limit=20", 500,
          json_pack("{s:s}", "detail", "SELECT * FROM secrets failed at 10.1.2.3:5432"));
    route_err("GET /auth/me", SOUK_EUNAVAIL);
    res_t r = run("{ others: orders(userId: \"" U2 "\") { total items { id } } "
                  "order(id: \"" O1 "\") { id } notifications { total } me { id } }");
    assert_int_equal(r.status, 200);
    assert_json(json_incref(data(&r)),
                "{\"others\": null, \"order\": null, \"notifications\": null, \"me\": null}");
    assert_int_equal(json_array_size(json_object_get(r.body, "errors")), 4);
    assert_string_equal(error_code(r.body, 0), "FORBIDDEN");
    assert_string_equal(error_message(r.body, 0), "only admins may list other users' orders");
    assert_json(json_incref(json_object_get(error_at(r.body, 0), "path")), "[\"others\"]");
    assert_json(json_incref(json_object_get(error_at(r.body, 0), "locations")),
                "[{\"line\": 1, \"column\": 3}]");
    assert_string_equal(error_code(r.body, 1), "NOT_FOUND");
    assert_string_equal(error_code(r.body, 2), "INTERNAL");
    assert_null(strstr(error_message(r.body, 2), "SELECT")); /* never the upstream's detail */
    assert_null(strstr(error_message(r.body, 2), "10.1.2.3"));
    assert_string_equal(error_code(r.body, 3), "INTERNAL");
    assert_string_equal(error_message(r.body, 3), "the auth service is unavailable");
    json_decref(r.body);
}

/* 400 with field errors: BAD_USER_INPUT carrying the detail and the fields. */
static void test_bad_input_detail(void **state)
{
    (void)state;
    route("POST /auth/register", 400,
          json_pack("{s:s, s:[{s:s, s:s}]}", "detail", "the request has invalid fields", "errors",
                    "field", "password", "message", "must be 8 to 128 characters long"));
    res_t r = run_as(NULL, "mutation { register(email: \"a@b.c\", password: \"x\") { id } }", NULL,
                     NULL, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(error_code(r.body, 0), "BAD_USER_INPUT");
    assert_string_equal(error_message(r.body, 0), "the request has invalid fields: password: must "
                                                  "be 8 to 128 characters long");
    assert_string_equal(json_string_value(json_object_get(json_array_get(fake.calls, 0), "body")),
                        "{\"email\":\"a@b.c\",\"password\":\"x\"}");
    json_decref(r.body);
}

/* Mutations run one after the other, each its own wave, in document order;
 * inputs go out in snake_case; a written product replaces what the request
 * had loaded. */
static void test_mutations_serial(void **state)
{
    (void)state;
    json_t *created = product(P4, "Bowl", 5);
    route("POST /products", 201, created);
    route("DELETE /products/" P1, 204, NULL);
    res_t r = run("mutation { a: createProduct(input: {name: \"Bowl\", priceCents: 1999, "
                  "stock: 5}) { id name } b: deleteProduct(id: \"" P1 "\") "
                  "c: deleteProduct(id: \"not-a-uuid\") }");
    assert_int_equal(r.status, 200);
    assert_json(json_incref(data(&r)),
                "{\"a\": {\"id\": \"" P4 "\", \"name\": \"Bowl\"}, \"b\": true, \"c\": null}");
    assert_string_equal(error_code(r.body, 0), "NOT_FOUND");
    assert_int_equal(json_array_size(fake.calls), 2);
    assert_int_equal(call_wave(0), 1);
    assert_int_equal(call_wave(1), 2);
    assert_string_equal(call_path(0), "/products");
    json_t *body = json_loads(
        json_string_value(json_object_get(json_array_get(fake.calls, 0), "body")), 0, NULL);
    assert_json(body, "{\"name\": \"Bowl\", \"price_cents\": 1999, \"currency\": \"USD\", "
                      "\"stock\": 5}");
    assert_true(call_has_header(0, "Content-Type: application/json"));
    assert_string_equal(call_path(1), "/products/" P1);
    json_decref(r.body);
}

/* placeOrder: the idempotency key goes out as Idempotency-Key; a malformed
 * one is refused without a call. */
static void test_place_order_key(void **state)
{
    (void)state;
    route("POST /orders", 201,
          json_pack("{s:s, s:s, s:s, s:[], s:i, s:s}", "id", O1, "user_id", U1, "status", "pending",
                    "items", "total_cents", 100, "currency", "USD"));
    const char *q = "mutation PlaceOrder($key: String) { placeOrder(items: [{productId: \"" P1
                    "\", quantity: 2}], idempotencyKey: $key) { id status } }";
    res_t r = run_as("tok-1", q, "{\"key\": \"key-123\"}", NULL, false);
    assert_json(json_incref(data(&r)),
                "{\"placeOrder\": {\"id\": \"" O1 "\", \"status\": \"PENDING\"}}");
    assert_true(call_has_header(0, "Idempotency-Key: key-123"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(fake.calls, 0), "body")),
                        "{\"items\":[{\"product_id\":\"" P1 "\",\"quantity\":2}]}");
    json_decref(r.body);
    r = run_as("tok-1", q, "{\"key\": \"two words\\r\\nX-Evil: 1\"}", NULL, false);
    assert_string_equal(error_code(r.body, 0), "BAD_USER_INPUT");
    assert_int_equal(json_array_size(fake.calls), 1);
    json_decref(r.body);
}

/* Arguments go into query strings percent-encoded, enums in their REST
 * spelling; an id that is not a UUID never reaches a path. */
static void test_arguments_encoded(void **state)
{
    (void)state;
    route("GET /products?q=a%26b%20c%2F%C3%BC%3Fx%3D1&min_price=100&sort=-price&page=2&limit=3",
          200, json_pack("{s:[], s:i, s:i, s:i}", "items", "page", 2, "limit", 3, "total", 0));
    route("GET /orders?status=cancelled&page=1&limit=20", 200,
          json_pack("{s:[], s:i, s:i, s:i}", "items", "page", 1, "limit", 20, "total", 0));
    res_t r = run("{ products(q: \"a&b c/\\u00fc?x=1\", minPrice: 100, sort: PRICE_DESC, page: 2, "
                  "limit: 3) { total } orders(status: CANCELLED) { total } "
                  "product(id: \"../../internal/products/batch\") { id } "
                  "order(id: \"x/../../products\") { id } }");
    assert_int_equal(r.status, 200);
    assert_json(json_incref(data(&r)), "{\"products\": {\"total\": 0}, \"orders\": {\"total\": 0}, "
                                       "\"product\": null, \"order\": null}");
    assert_string_equal(error_code(r.body, 0), "NOT_FOUND");
    assert_int_equal(json_array_size(fake.calls), 2);
    json_decref(r.body);
}

/* What the request has loaded is not asked for again in a later wave. */
static void test_products_loaded_once(void **state)
{
    (void)state;
    route("GET /orders/" O1, 200,
          json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:i, s:i}, {s:s, s:s, s:i, s:i}], s:i, s:s}",
                    "id", O1, "user_id", U1, "status", "pending", "items", "product_id", P1, "name",
                    "Cup", "quantity", 1, "unit_price_cents", 1, "product_id", P2, "name", "Mug",
                    "quantity", 1, "unit_price_cents", 1, "total_cents", 2, "currency", "USD"));
    res_t r = run("{ product(id: \"" P1 "\") { name } order(id: \"" O1 "\") { items { product { "
                  "name } } } }");
    assert_null(json_object_get(r.body, "errors"));
    assert_int_equal(json_array_size(fake.calls), 3);
    assert_int_equal(call_wave(2), 2);
    assert_string_equal(call_path(2), "/products/" P2); /* P1 came in wave 1 */
    json_decref(r.body);
}

/* A failing product call fails only the product fields, with the code and
 * none of the upstream's words. */
static void test_product_call_fails(void **state)
{
    (void)state;
    fake.batch_down = true;
    route("GET /auth/me", 200, json_pack("{s:s, s:s}", "id", U1, "email", "a@b.c"));
    res_t r = run("{ me { email } a: product(id: \"" P1 "\") { name } b: product(id: \"" P2
                  "\") { name } }");
    assert_json(json_incref(data(&r)),
                "{\"me\": {\"email\": \"a@b.c\"}, \"a\": null, \"b\": null}");
    assert_string_equal(error_code(r.body, 0), "INTERNAL");
    assert_string_equal(error_code(r.body, 1), "INTERNAL");
    assert_null(strstr(error_message(r.body, 0), "10.0.0.1"));
    json_decref(r.body);
}

/* A service that is not deployed: its fields fail, nothing is called. */
static void test_not_deployed(void **state)
{
    (void)state;
    souk_free(gw.upstreams[UP_ANALYTICS].base_url);
    gw.upstreams[UP_ANALYTICS].base_url = NULL;
    res_t r = run("{ recommendations(productId: \"" P1 "\") { strategy } }");
    assert_string_equal(error_code(r.body, 0), "INTERNAL");
    assert_string_equal(error_message(r.body, 0), "the analytics service is not deployed");
    assert_int_equal(json_array_size(fake.calls), 0);
    json_decref(r.body);
}

/* Documents refused before any call: 400, errors, no data. */
static void test_refused_before_calls(void **state)
{
    (void)state;
    char deep[1024] = "{ orders { items { items { product { recommendations { items { "
                      "product { recommendations { items { product { recommendations { items { "
                      "name } } } } } } } } } } } }";
    char aliases[4096] = "{ ";
    for (int i = 0; i < 51; i++) {
        char a[64];
        snprintf(a, sizeof(a), "a%d: products { total } ", i);
        strncat(aliases, a, sizeof(aliases) - strlen(aliases) - 1);
    }
    strncat(aliases, "}", sizeof(aliases) - strlen(aliases) - 1);
    char *big = calloc(1, 17000);
    memset(big, ' ', 16990);
    memcpy(big, "{ me { id } }", 13);
    const char *docs[] = {
        deep,
        aliases,
        big,
        "{ products(limit: 100) { items { recommendations(limit: 20) { items { product { id "
        "name stock } } } } } }",
        "{ product(id: 1) { nope } }",
        "{ me { id }",
        "query($id: ID!) { product(id: $id) { id } }",
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(docs); i++) {
        res_t r = run(docs[i]);
        assert_int_equal(r.status, 400);
        assert_null(json_object_get(r.body, "data"));
        assert_true(json_array_size(json_object_get(r.body, "errors")) > 0);
        assert_non_null(error_message(r.body, 0));
        json_decref(r.body);
    }
    assert_int_equal(json_array_size(fake.calls), 0);
    free(big);
}

/* Over GET only queries: a mutation is a 405 and runs nothing. */
static void test_get_mutation(void **state)
{
    (void)state;
    res_t r = run_as("tok-1", "mutation { deleteProduct(id: \"" P1 "\") }", NULL, NULL, true);
    assert_int_equal(r.status, 405);
    assert_null(json_object_get(r.body, "data"));
    assert_int_equal(json_array_size(fake.calls), 0);
    json_decref(r.body);
    r = run_as(NULL, "query Q { __typename } mutation M { deleteProduct(id: \"" P1 "\") }", NULL,
               "Q", true);
    assert_int_equal(r.status, 200);
    assert_json(json_incref(data(&r)), "{\"__typename\": \"Query\"}");
    json_decref(r.body);
}

/* salesReport: summary and sales in parallel, currency maps as lists. */
static void test_sales_report(void **state)
{
    (void)state;
    route("GET /reports/summary?from=2026-01-01&to=2026-02-01", 200,
          json_pack("{s:i, s:{s:i, s:i}, s:{s:i}}", "orders_placed", 3, "revenue_by_currency",
                    "USD", 500, "EUR", 70, "average_order_cents_by_currency", "USD", 250));
    route("GET /reports/sales?from=2026-01-01&to=2026-02-01&interval=week", 200,
          json_pack("{s:[{s:s, s:i, s:i, s:{}}]}", "items", "period_start",
                    "2026-01-01T00:00:00.000Z", "orders", 0, "units", 0, "revenue_by_currency"));
    res_t r = run("{ salesReport(from: \"2026-01-01\", to: \"2026-02-01\", interval: WEEK) { "
                  "from interval summary { ordersPlaced revenueByCurrency { currency amountCents } "
                  "averageOrderCentsByCurrency { currency amountCents } } "
                  "sales { periodStart orders revenueByCurrency { currency } } } }");
    assert_null(json_object_get(r.body, "errors"));
    assert_json(
        json_incref(data(&r)),
        "{\"salesReport\": {\"from\": \"2026-01-01\", \"interval\": \"WEEK\", \"summary\": "
        "{\"ordersPlaced\": 3, \"revenueByCurrency\": [{\"currency\": \"EUR\", "
        "\"amountCents\": 70}, {\"currency\": \"USD\", \"amountCents\": 500}], "
        "\"averageOrderCentsByCurrency\": [{\"currency\": \"USD\", \"amountCents\": 250}]}, "
        "\"sales\": [{\"periodStart\": \"2026-01-01T00:00:00.000Z\", \"orders\": 0, "
        "\"revenueByCurrency\": []}]}}");
    assert_int_equal(fake.waves, 1);
    json_decref(r.body);
}

/* Login and register take from the edge's credential bucket. */
static void test_credential_limit(void **state)
{
    (void)state;
    gw.credential_limit = gw_ratelimit_new(0.001, 1);
    route("POST /auth/login", 401, json_pack("{s:s}", "detail", "wrong email or password"));
    const char *q = "mutation { login(email: \"a@b.c\", password: \"secret-pw\") { accessToken } }";
    res_t r = run_as(NULL, q, NULL, NULL, false);
    assert_string_equal(error_code(r.body, 0), "UNAUTHENTICATED");
    json_decref(r.body);
    r = run_as(NULL, q, NULL, NULL, false);
    assert_string_equal(error_code(r.body, 0), "BAD_USER_INPUT");
    assert_non_null(strstr(error_message(r.body, 0), "too many"));
    assert_int_equal(json_array_size(fake.calls), 1);
    json_decref(r.body);
}

/* Metrics: operation type, a known name or OTHER, outcome; resolver calls
 * by field; label sets closed whatever the client sends. */
static void test_metrics(void **state)
{
    (void)state;
    route("GET /auth/me", 403, json_pack("{s:s}", "detail", "no"));
    json_decref(run("query MyOps { __typename }").body);
    json_decref(run("query SomethingClientMade { me { id } }").body);
    json_decref(run("{ me { id }").body);
    souk_buf_t out;
    souk_buf_init(&out, 1 << 22);
    assert_int_equal(souk_metrics_render(metrics, &out), SOUK_OK);
    assert_non_null(strstr(out.data, "graphql_operations_total{type=\"query\",name=\"MyOps\","
                                     "outcome=\"ok\"} 1"));
    assert_non_null(strstr(out.data, "graphql_operations_total{type=\"query\",name=\"OTHER\","
                                     "outcome=\"errors\"} 1"));
    assert_non_null(strstr(out.data, "graphql_operations_total{type=\"none\",name=\"anonymous\","
                                     "outcome=\"refused\"} 1"));
    assert_non_null(strstr(out.data, "graphql_resolver_calls_total{field=\"Query.me\","
                                     "outcome=\"FORBIDDEN\"} 1"));
    assert_null(strstr(out.data, "SomethingClientMade"));
    souk_buf_cleanup(&out);
}

/* Introspection answers without a call. */
static void test_introspection(void **state)
{
    (void)state;
    res_t r = run("query IntrospectionQuery { __schema { queryType { name } mutationType { name } "
                  "} __type(name: \"Product\") { fields { name } } }");
    assert_int_equal(r.status, 200);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(data(&r), "__schema"), "queryType"), "name")),
        "Query");
    assert_int_equal(json_array_size(fake.calls), 0);
    json_decref(r.body);
}

static void test_bad_operation_names(void **state)
{
    (void)state;
    gw_graphql_t *other = NULL;
    gw_graphql_config_t cfg = {.operation_names = "Fine, not-a-name"};
    assert_int_equal(gw_graphql_new(&gw, metrics, &cfg, &other), SOUK_EINVAL);
    assert_null(other);
}

/* Documents: the same text is parsed once and shared; an evicted document
 * lives while an execution holds it; refusals and long texts are not kept. */
static void test_document_cache(void **state)
{
    (void)state;
    gw_gql_docs_t *c = gw_gql_docs_new(1); /* one slot: every new text evicts */
    const char *a = "{ me { id } }", *b = "{ products { total } }";
    gw_gql_doc_ref_t *r1, *r2, *r3;
    bool hit;
    json_t *errors = NULL;
    assert_int_equal(gw_gql_docs_get(c, g->schema, a, strlen(a), NULL, &r1, &hit, &errors), 0);
    assert_false(hit);
    assert_int_equal(gw_gql_docs_get(c, g->schema, a, strlen(a), NULL, &r2, &hit, &errors), 0);
    assert_true(hit);
    assert_ptr_equal(gw_gql_doc(r1), gw_gql_doc(r2));
    assert_int_equal(gw_gql_docs_get(c, g->schema, b, strlen(b), NULL, &r3, &hit, &errors), 0);
    assert_false(hit);
    /* a was evicted but r1 and r2 still hold it */
    souk_gql_op_t type;
    assert_int_equal(souk_gql_doc_operation(gw_gql_doc(r1), NULL, &type, NULL), SOUK_OK);
    gw_gql_docs_release(c, r1);
    gw_gql_docs_release(c, r2);
    gw_gql_docs_release(c, r3);
    assert_int_equal(gw_gql_docs_get(c, g->schema, a, strlen(a), NULL, &r1, &hit, &errors), 0);
    assert_false(hit);
    gw_gql_docs_release(c, r1);
    /* refused: an error every time, nothing kept */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(gw_gql_docs_get(c, g->schema, "{ nope }", 8, NULL, &r1, &hit, &errors),
                         SOUK_EINVAL);
        assert_null(r1);
        json_decref(errors);
    }
    assert_int_equal(gw_gql_docs_get(c, g->schema, a, strlen(a), NULL, &r1, &hit, &errors), 0);
    assert_true(hit);
    gw_gql_docs_release(c, r1);
    /* longer than GW_GQL_DOC_CACHE_TEXT: parsed each time */
    char *long_doc = calloc(1, GW_GQL_DOC_CACHE_TEXT + 64);
    memset(long_doc, ' ', GW_GQL_DOC_CACHE_TEXT + 32);
    memcpy(long_doc, "{ __typename }", 14);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            gw_gql_docs_get(c, g->schema, long_doc, strlen(long_doc), NULL, &r1, &hit, &errors), 0);
        assert_false(hit);
        gw_gql_docs_release(c, r1);
    }
    free(long_doc);
    gw_gql_docs_free(c);
}

typedef struct {
    const char *query;
    int ok;
} worker_t;

static void no_call(void *ud, gw_gql_run_t *run, size_t id, const gw_gql_call_t *call)
{
    (void)ud, (void)run, (void)id, (void)call;
    abort(); /* these documents need no call */
}

static void *execute_many(void *p)
{
    worker_t *w = p;
    gw_gql_transport_t none = {no_call, NULL};
    for (int i = 0; i < 200; i++) {
        gw_gql_caller_t caller = {0};
        gw_gql_params_t params = {.query = w->query, .query_len = strlen(w->query)};
        gw_gql_result_t r = {0};
        souk_arena_t *a = souk_arena_new();
        gw_gql_run_t *run = gw_graphql_start(g, &caller, &params, a, &none, store_result, &r);
        w->ok += !run && r.status == 200 && !json_object_get(r.body, "errors");
        json_decref(r.body);
        souk_arena_free(a);
    }
    return NULL;
}

/* Executions on several threads share the cached documents. */
static void test_documents_shared_by_threads(void **state)
{
    (void)state;
    const char *queries[] = {"{ a: __typename b: __type(name: \"Product\") { name } }",
                             "query Q { __schema { queryType { name } } }"};
    enum { N = 4 };
    pthread_t t[N];
    worker_t w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (worker_t){queries[i % 2], 0};
        pthread_create(&t[i], NULL, execute_many, &w[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 200);
    }
    assert_int_equal(json_array_size(fake.calls), 0);
}

/* ---- the host as an asynchronous one --------------------------------------------------------- */

/* Answers in any order, or from within the transport's send: the same
 * result, the same waves. */
static void test_answer_orders(void **state)
{
    (void)state;
    json_t *lines = json_pack("[{s:s, s:s, s:i, s:i}, {s:s, s:s, s:i, s:i}]", "product_id", P1,
                              "name", "Cup", "quantity", 1, "unit_price_cents", 1, "product_id", P3,
                              "name", "Pot", "quantity", 1, "unit_price_cents", 1);
    route("GET /orders/" O1, 200,
          json_pack("{s:s, s:s, s:s, s:o, s:i, s:s}", "id", O1, "user_id", U1, "status", "pending",
                    "items", lines, "total_cents", 2, "currency", "USD"));
    route("GET /auth/me", 200, json_pack("{s:s, s:s}", "id", U1, "email", "a@b.c"));
    const char *q = "{ me { email } order(id: \"" O1 "\") { items { product { name stock } } } "
                    "a: product(id: \"" P2 "\") { name } }";
    const char *want = "{\"me\": {\"email\": \"a@b.c\"}, \"order\": {\"items\": [{\"product\": "
                       "{\"name\": \"Cup\", \"stock\": 3}}, {\"product\": {\"name\": \"Pot\", "
                       "\"stock\": 7}}]}, \"a\": {\"name\": \"Mug\"}}";
    for (int mode = 0; mode < 3; mode++) {
        fake.reverse = mode == 1;
        fake.at_once = mode == 2;
        json_decref(fake.calls);
        fake.calls = json_array();
        res_t r = run(q);
        assert_int_equal(r.status, 200);
        assert_null(json_object_get(r.body, "errors"));
        assert_json(json_incref(data(&r)), want);
        assert_int_equal(r.waves, 2);
        assert_int_equal(r.calls, 4); /* me, order, product P2; then P1 and P3 in one batch */
        assert_int_equal(json_array_size(fake.calls), 4);
        json_decref(r.body);
    }
}

/* No more than GW_GQL_MAX_PARALLEL calls in flight: the rest go out as
 * answers come back, still in the same engine wave. */
static void test_calls_in_flight_bounded(void **state)
{
    (void)state;
    char q[4096] = "{ ";
    size_t len = 2;
    for (int i = 0; i < 40; i++) {
        char key[128];
        snprintf(key, sizeof(key), "GET /products?q=w%d&page=1&limit=1", i);
        route(key, 200,
              json_pack("{s:[], s:i, s:i, s:i}", "items", "page", 1, "limit", 1, "total", i));
        len += (size_t)snprintf(q + len, sizeof(q) - len,
                                "a%d: products(q: \"w%d\", limit: 1) { total } ", i, i);
    }
    snprintf(q + len, sizeof(q) - len, "}");
    res_t r = run(q);
    assert_int_equal(r.status, 200);
    assert_null(json_object_get(r.body, "errors"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(data(&r), "a39"), "total")),
                     39);
    assert_int_equal(r.waves, 1);
    assert_int_equal(json_array_size(fake.calls), 40);
    assert_int_equal(call_wave(GW_GQL_MAX_PARALLEL - 1), 1);
    assert_int_equal(call_wave(GW_GQL_MAX_PARALLEL), 2); /* sent once the first ones came back */
    json_decref(r.body);
}

static void never_done(void *ud, gw_gql_result_t *r)
{
    (void)ud, (void)r;
    fail_msg("a cancelled run called done");
}

/* A run cancelled while its calls are out (the client went away) frees
 * everything and never calls done; the answers are dropped by the
 * transport. */
static void test_cancel_mid_wave(void **state)
{
    (void)state;
    route("GET /auth/me", 200, json_pack("{s:s}", "id", U1));
    gw_gql_caller_t caller = {.bearer = "tok-1", .client_ip = "192.0.2.7"};
    const char *q =
        "{ me { id } a: product(id: \"" P1 "\") { name } b: product(id: \"" P2 "\") { name } }";
    gw_gql_params_t p = {.query = q, .query_len = strlen(q)};
    souk_arena_t *a = souk_arena_new();
    gw_gql_run_t *run = gw_graphql_start(g, &caller, &p, a, &transport, never_done, NULL);
    assert_non_null(run);
    assert_int_equal(fake.nqueue, 2); /* me, and the batch of both products */
    answer_one(&fake.queue[0]);       /* one came back, the other did not */
    gw_gql_run_cancel(run);
    for (size_t i = 1; i < fake.nqueue; i++) {
        free(fake.queue[i].method);
        free(fake.queue[i].path);
        free(fake.queue[i].body);
    }
    fake.nqueue = 0;
    souk_arena_free(a);
    gw_gql_run_cancel(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_product_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_history_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roots_in_parallel_with_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_detail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutations_serial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_place_order_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arguments_encoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_products_loaded_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_product_call_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_deployed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_before_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_mutation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sales_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credential_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_introspection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_operation_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_document_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_documents_shared_by_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calls_in_flight_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_mid_wave, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
