/* graphql.c: the GraphQL endpoint's construction for gw_init (schema,
 * resolvers, document cache, metrics, GraphiQL's files) and what the
 * gateway's internal souk/http.h server answers for it: GraphiQL on
 * GET /graphql for a browser (Accept: text/html, no query), a 400 saying how
 * to ask for any other GET without a query, the SDL and GraphiQL's files.
 * The requests themselves (POST /graphql, GET /graphql?query=) are served on
 * the edge's loop threads (graphql_edge.c). */
#include "graphql_gw.h"

#include <string.h>

#define NAME_MAX_LEN 64
#define HOW_TO_ASK                                                                                 \
    "Give the GraphQL document in the \"query\" parameter (queries only), or POST it."

/* Operation names with their own metric label: GraphiQL's introspection and
 * the README's examples; GRAPHQL_OPERATION_NAMES adds others. */
static const char *const builtin_names[] = {"IntrospectionQuery", "ProductPage", "OrderHistory",
                                            "PlaceOrder", NULL};

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
    char **given = souk_list_split(list), **set;
    size_t n = SOUK_ARRAY_LEN(builtin_names), k = 0;
    for (char **g = given; *g; g++, n++) {
        if (!graphql_name(*g, strlen(*g))) {
            souk_log_error("GRAPHQL_OPERATION_NAMES: \"%s\" is not a GraphQL name", *g);
            souk_list_free(given);
            return NULL;
        }
    }
    set = souk_calloc(n + 1, sizeof(char *));
    for (; builtin_names[k]; k++)
        set[k] = souk_strdup(builtin_names[k]);
    for (char **g = given; *g; g++)
        set[k++] = souk_strdup(*g);
    souk_list_free(given);
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
    souk_list_free(g->op_names);
    souk_free(g);
}

/* ---- the internal server's part ------------------------------------------------------------ */

static bool wants_html(const souk_http_ctx_t *ctx)
{
    const char *accept = souk_http_header(ctx, "Accept");
    return accept && strstr(accept, "text/html");
}

/* GET /graphql without a query (those with one are the edge's). */
static void do_get(souk_http_ctx_t *ctx, void *ud)
{
    gateway_t *gw = ud;
    souk_http_set_header(ctx, "Vary", "Accept");
    if (!souk_http_query(ctx, "query") && wants_html(ctx)) {
        gw_graphql_ui_page(ctx, gw->graphql->ui);
        return;
    }
    souk_http_set_header(ctx, "Cache-Control", "no-store");
    souk_http_reply_json(ctx, 400,
                         json_pack("{s:[{s:s, s:{s:s}}]}", "errors", "message", HOW_TO_ASK,
                                   "extensions", "code", "BAD_REQUEST"));
}

void gw_graphql_routes(souk_http_server_t *srv, gateway_t *gw)
{
    souk_http_route(srv, "GET", "/graphql", do_get, gw);
    souk_http_route(srv, "GET", "/graphql/schema.graphql", gw_graphql_sdl, gw);
    souk_http_route(srv, "GET", "/graphql/ui/:file", gw_graphql_ui_file, gw);
}
