/* graphql.c: the GraphQL endpoint over HTTP (GraphQL over HTTP, with the
 * application/json media type): POST /graphql with {query, variables,
 * operationName}, GET /graphql?query=&variables=&operationName= for queries,
 * GraphiQL on GET /graphql for a browser (Accept: text/html, no query), and
 * the endpoint's construction for gw_init. A token that is sent must be
 * valid (401 otherwise, as on every REST route); without one only what is
 * public answers. Requests that are not GraphQL requests at all (no query, a
 * body that is not a JSON object, variables that are not an object) are 400
 * with errors and no data, like documents that do not parse or validate.
 * Results are never cached by intermediaries (they may be a user's data). */
#include "graphql_gw.h"

#include <string.h>

#define NAME_MAX_LEN 64

/* Operation names with their own metric label: GraphiQL's introspection and
 * the README's examples; GRAPHQL_OPERATION_NAMES adds others. */
static const char *const builtin_names[] = {"IntrospectionQuery", "ProductPage", "OrderHistory",
                                            "PlaceOrder", NULL};

/* One call (the common wave: a product, an order) on an easy handle; more at
 * once on a multi handle. The multi path costs more for a single call (its
 * set-up is sized for 32 transfers). */
static void fetch_all(void *ud, const souk_http_request_t *reqs, souk_http_response_t *resps,
                      souk_err_t *errs, size_t n)
{
    if (n == 1)
        errs[0] = souk_http_fetch(ud, &reqs[0], &resps[0]);
    else
        souk_http_fetch_all(ud, reqs, resps, errs, n);
}

static bool graphql_name(const char *s, size_t n)
{
    if (n == 0 || n > NAME_MAX_LEN || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* The built-in names and those of list (comma-separated); NULL when one of
 * them is not a GraphQL name. */
static char **name_set(const char *list)
{
    size_t n = SOUK_ARRAY_LEN(builtin_names), k = 0;
    for (const char *p = list; p && *p; p++)
        n += *p == ',';
    char **set = souk_calloc(n + 1, sizeof(char *));
    for (; builtin_names[k]; k++)
        set[k] = souk_strdup(builtin_names[k]);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *s = p;
        while (len && *s == ' ')
            s++, len--;
        while (len && s[len - 1] == ' ')
            len--;
        if (len && !graphql_name(s, len)) {
            souk_log_error("GRAPHQL_OPERATION_NAMES: \"%.*s\" is not a GraphQL name", (int)len, s);
            for (char **x = set; *x; x++)
                souk_free(*x);
            souk_free(set);
            return NULL;
        }
        if (len)
            set[k++] = souk_strndup(s, len);
        p += strcspn(p, ",");
        p += *p == ',';
    }
    return set;
}

static void init_metrics(gw_graphql_t *g, souk_metrics_t *m)
{
    static const char *const op[] = {"type", "name", "outcome", NULL};
    static const char *const type[] = {"type", NULL};
    static const char *const field[] = {"field", "outcome", NULL};
    static const char *const result[] = {"result", NULL};
    static const double sizes[] = {1, 2, 5, 10, 20, 50, 100};
    g->operations = souk_metrics_counter(
        m, "graphql_operations_total",
        "GraphQL requests by operation type, operation name (known names; others OTHER) and "
        "outcome (ok, errors: data with errors, refused: no execution).",
        op);
    g->op_seconds =
        souk_metrics_histogram(m, "graphql_operation_duration_seconds",
                               "GraphQL request latency in seconds, by operation type.", type,
                               souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
    g->resolver_calls = souk_metrics_counter(
        m, "graphql_resolver_calls_total",
        "Upstream calls made for GraphQL fields, by field (Product: product loads) and outcome "
        "(ok or the error code).",
        field);
    g->batch_size = souk_metrics_histogram(m, "graphql_product_batch_ids",
                                           "Products asked for in one product-service call.", NULL,
                                           sizes, SOUK_ARRAY_LEN(sizes));
    g->doc_cache = souk_metrics_counter(
        m, "graphql_document_cache_total",
        "Valid documents found parsed (hit) or parsed and validated now (miss).", result);
}

souk_err_t gw_graphql_new(gateway_t *gw, souk_metrics_t *m, const gw_graphql_config_t *cfg,
                          gw_graphql_t **out)
{
    gw_graphql_t *g = souk_calloc(1, sizeof(*g));
    json_t *errors = NULL;
    *out = NULL;
    g->gw = gw;
    if (souk_gql_schema_new(souk_gql_sdl, strlen(souk_gql_sdl), &g->schema, &errors)) {
        char *text = json_dumps(errors, JSON_COMPACT);
        souk_log_error("graphql: the embedded schema is invalid: %s", text ? text : "");
        free(text);
        json_decref(errors);
        gw_graphql_free(g);
        return SOUK_EINVAL;
    }
    g->resolvers = souk_gql_resolvers_new(g->schema);
    if (gw_graphql_resolvers_register(g->resolvers) != SOUK_OK ||
        !(g->op_names = name_set(cfg->operation_names))) {
        gw_graphql_free(g);
        return SOUK_EINVAL;
    }
    souk_gql_limits_default(&g->limits);
    g->docs = gw_gql_docs_new(GW_GQL_DOC_CACHE_SLOTS);
    g->fetch = fetch_all;
    g->fetch_ud = gw->client;
    init_metrics(g, m);
    g->ui = gw_graphql_ui_load(cfg->graphiql_dir);
    *out = g;
    return SOUK_OK;
}

void gw_graphql_free(gw_graphql_t *g)
{
    if (!g)
        return;
    gw_graphql_ui_free(g->ui);
    gw_gql_docs_free(g->docs);
    souk_gql_resolvers_free(g->resolvers);
    souk_gql_schema_free(g->schema);
    for (char **n = g->op_names; n && *n; n++)
        souk_free(*n);
    souk_free(g->op_names);
    souk_free(g);
}

/* ---- HTTP --------------------------------------------------------------------------------- */

static void bad_request(souk_http_ctx_t *ctx, const char *message)
{
    souk_http_set_header(ctx, "Cache-Control", "no-store");
    souk_http_reply_json(ctx, 400,
                         json_pack("{s:[{s:s, s:{s:s}}]}", "errors", "message", message,
                                   "extensions", "code", "BAD_REQUEST"));
}

/* The caller, once a token it sends is verified; false when it replied. */
static bool caller_of(souk_http_ctx_t *ctx, gateway_t *gw, gw_gql_caller_t *c)
{
    const char *bearer = souk_http_bearer(ctx);
    souk_claims_t claims;
    souk_err_t err = bearer ? souk_jwt_verify(gw->verifier, bearer, &claims) : SOUK_OK;
    if (err == SOUK_EUNAVAIL) {
        souk_http_set_header(ctx, "Retry-After", "1");
        souk_http_problem(ctx, 503, "token keys are not available yet");
        return false;
    }
    if (err) {
        souk_http_problem(ctx, 401, "the bearer token is invalid or expired");
        return false;
    }
    *c = (gw_gql_caller_t){.bearer = bearer,
                           .request_id = ctx->request_id,
                           .client_ip = ctx->client_ip,
                           .trace = &ctx->trace};
    return true;
}

static void run(souk_http_ctx_t *ctx, gateway_t *gw, const gw_gql_params_t *p)
{
    gw_gql_caller_t caller;
    gw_gql_result_t r;
    if (!caller_of(ctx, gw, &caller))
        return;
    gw_graphql_execute(gw->graphql, &caller, p, &r);
    if (!ctx->log_fields)
        ctx->log_fields = json_object();
    json_object_set_new(ctx->log_fields, "graphql.operation.type", json_string(r.op_type));
    json_object_set_new(ctx->log_fields, "graphql.operation.name", json_string(r.op_name));
    json_object_set_new(ctx->log_fields, "graphql.upstream_calls", json_integer(r.calls));
    souk_http_set_header(ctx, "Cache-Control", "no-store");
    if (r.status == 405)
        souk_http_set_header(ctx, "Allow", "POST");
    souk_http_reply_json(ctx, r.status, r.body);
}

static void do_post(souk_http_ctx_t *ctx, void *ud)
{
    json_t *body = json_loadb(ctx->body ? ctx->body : "", ctx->body_len, 0, NULL);
    json_t *query = json_object_get(body, "query");
    json_t *vars = json_object_get(body, "variables");
    json_t *name = json_object_get(body, "operationName");
    souk_arena_json(ctx->arena, body);
    if (!json_is_object(body))
        bad_request(ctx, "The body must be a JSON object: {\"query\": ..., \"variables\": {...}, "
                         "\"operationName\": ...}.");
    else if (!json_is_string(query))
        bad_request(ctx, "The body must have a \"query\" member holding the GraphQL document.");
    else if (vars && !json_is_null(vars) && !json_is_object(vars))
        bad_request(ctx, "\"variables\" must be an object (or null).");
    else if (name && !json_is_null(name) && !json_is_string(name))
        bad_request(ctx, "\"operationName\" must be a string (or null).");
    else
        run(ctx, ud,
            &(gw_gql_params_t){.query = json_string_value(query),
                               .query_len = json_string_length(query),
                               .variables = json_is_object(vars) ? vars : NULL,
                               .operation_name = json_string_value(name)});
}

static bool wants_html(const souk_http_ctx_t *ctx)
{
    const char *accept = souk_http_header(ctx, "Accept");
    return accept && strstr(accept, "text/html");
}

static void do_get(souk_http_ctx_t *ctx, void *ud)
{
    gateway_t *gw = ud;
    const char *query = souk_http_query(ctx, "query");
    const char *vars_text = souk_http_query(ctx, "variables");
    const char *name = souk_http_query(ctx, "operationName");
    souk_http_set_header(ctx, "Vary", "Accept");
    if (!query && wants_html(ctx)) {
        gw_graphql_ui_page(ctx, gw->graphql->ui);
        return;
    }
    if (!query) {
        bad_request(ctx, "Give the GraphQL document in the \"query\" parameter (queries only), or "
                         "POST it.");
        return;
    }
    json_t *vars = vars_text && *vars_text ? json_loads(vars_text, 0, NULL) : NULL;
    souk_arena_json(ctx->arena, vars);
    if (vars_text && *vars_text && !json_is_object(vars) && !json_is_null(vars)) {
        bad_request(ctx, "The \"variables\" parameter must be a JSON object.");
        return;
    }
    run(ctx, gw,
        &(gw_gql_params_t){.query = query,
                           .query_len = strlen(query),
                           .variables = json_is_object(vars) ? vars : NULL,
                           .operation_name = name && *name ? name : NULL,
                           .get = true});
}

void gw_graphql_routes(souk_http_server_t *srv, gateway_t *gw)
{
    souk_http_route(srv, "POST", "/graphql", do_post, gw);
    souk_http_route(srv, "GET", "/graphql", do_get, gw);
    souk_http_route(srv, "GET", "/graphql/schema.graphql", gw_graphql_sdl, gw);
    souk_http_route(srv, "GET", "/graphql/ui/:file", gw_graphql_ui_file, gw);
}
