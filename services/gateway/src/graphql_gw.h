/* graphql_gw.h: the gateway's GraphQL endpoint (ARCHITECTURE.md §4,
 * GraphQL), around the engine of souk/graphql.h: POST /graphql and
 * GET /graphql?query= served on the edge's loop threads (graphql_edge.c),
 * the endpoint's construction and its pages on the internal souk/http.h
 * server: GraphiQL and the SDL (graphql.c, graphql_ui.c), the resolvers that
 * turn the schema's fields into calls of the REST services with the caller's
 * token (graphql_resolvers.c), and the host that drives the engine's waves
 * without blocking: each wave's calls handed to a transport at once (the
 * edge's sub-requests), every Product of a wave in one batch call, errors of
 * the services as GraphQL errors (graphql_exec.c).
 *
 * It holds no data and decides no permission: the services check the token
 * they are given, as they do for REST, and their 401/403/404 become the
 * field's UNAUTHENTICATED/FORBIDDEN/NOT_FOUND. Subscriptions are not served. */
#ifndef GW_GRAPHQL_H
#define GW_GRAPHQL_H

#include "gateway.h"

#include <souk/graphql.h>

/* What gw_init reads for the endpoint. */
typedef struct {
    /* GRAPHIQL_DIR: a node_modules directory holding graphiql, react and
     * react-dom (docs/node_modules); NULL or missing files: no GraphiQL
     * (GET /graphql for a browser answers 404), the API still works. */
    const char *graphiql_dir;
    /* GRAPHQL_OPERATION_NAMES: comma-separated operation names counted under
     * their own name in graphql_operations_total, besides the built-in ones
     * (any other name counts as OTHER). NULL: the built-in ones only. */
    const char *operation_names;
} gw_graphql_config_t;

typedef struct gw_graphql_ui gw_graphql_ui_t;
typedef struct gw_gql_docs gw_gql_docs_t;
typedef struct gw_gql_doc_ref gw_gql_doc_ref_t;

struct gw_graphql {
    gateway_t *gw;
    souk_gql_schema_t *schema;
    souk_gql_resolvers_t *resolvers;
    souk_gql_limits_t limits;
    char **op_names;     /* the operation-name label set, NULL-terminated */
    gw_gql_docs_t *docs; /* parsed documents by text */
    souk_metric_t *operations, *op_seconds, *resolver_calls, *batch_size, *doc_cache;
    gw_graphql_ui_t *ui; /* NULL without GraphiQL */
};

/* Builds the endpoint: the schema from the embedded SDL, the resolver table,
 * the metric families in m, GraphiQL's files when cfg->graphiql_dir has
 * them. SOUK_EINVAL (logged) when the SDL or the resolver table is broken;
 * then *out is NULL. Free with gw_graphql_free (NULL ok). Thread-safe once
 * built. */
souk_err_t gw_graphql_new(gateway_t *gw, souk_metrics_t *m, const gw_graphql_config_t *cfg,
                          gw_graphql_t **out) SOUK_MUST_CHECK;
void gw_graphql_free(gw_graphql_t *g);
/* Routes what the internal server answers: GET /graphql without a query
 * (GraphiQL for a browser, else a 400 saying how to ask),
 * GET /graphql/schema.graphql and GraphiQL's files (GET /graphql/ui/:file). */
void gw_graphql_routes(souk_http_server_t *srv, gateway_t *gw);

/* ---- on the edge (graphql_edge.c) -------------------------------------------------------- */

/* True for the GraphQL requests the edge serves itself: POST /graphql, and
 * GET /graphql with a query parameter. */
bool gw_graphql_edge_wants(const souk_edge_req_t *req);
/* Serves such a request on the loop thread: the HTTP envelope (body or
 * query string), the token (a sent token must be valid: 401), then the
 * execution with its loads as sub-requests of req; replies when done. Never
 * blocks. */
void gw_graphql_edge(gateway_t *gw, souk_edge_req_t *req);

/* ---- one request (graphql_exec.c) ------------------------------------------------------ */

typedef struct {
    const char *query; /* the document (not NUL-terminated) */
    size_t query_len;
    json_t *variables;          /* a JSON object, borrowed; NULL: none */
    const char *operation_name; /* NULL: none given */
    bool get;                   /* came by GET: queries only (a mutation is a 405) */
} gw_gql_params_t;

/* Who asks. Strings borrowed: they must live until the run is done or
 * cancelled. (Request id and address go with the calls by the transport.) */
typedef struct {
    const char *bearer;    /* the caller's token, or NULL; sent with every call */
    const char *client_ip; /* the credential limit's key */
    souk_trace_t trace;    /* parent of the resolver spans (zero: a new trace) */
} gw_gql_caller_t;

typedef struct {
    int status;            /* 200; 400 (refused before execution); 405 (a mutation by GET) */
    json_t *body;          /* new reference: {errors?, data} for 200, {errors} otherwise */
    unsigned waves, calls; /* engine waves and upstream HTTP calls made */
    const char *op_type;   /* "query", "mutation", "subscription", "none" (static) */
    const char *op_name;   /* its metric label: a known name, "anonymous" or OTHER */
} gw_gql_result_t;

#define GW_GQL_MAX_PARALLEL 32 /* calls of one request in flight at once */
#define GW_GQL_CALL_HEADERS 4  /* Accept, Authorization, Content-Type, Idempotency-Key */

/* One upstream call of a wave, as the host asks its transport to make it;
 * everything borrowed, valid until the call is answered. */
typedef struct {
    upstream_id_t up;
    const char *method;
    const char *target; /* path and query */
    const souk_edge_header_t *headers;
    size_t nheaders;
    const char *body; /* JSON, or NULL */
    size_t body_len;
    const souk_trace_t *parent; /* the resolver span: the call's parent */
} gw_gql_call_t;

/* What a call brought back (borrowed during gw_gql_run_answer). */
typedef struct {
    souk_err_t err; /* SOUK_OK: a response; SOUK_EUNAVAIL refused, SOUK_ETIMEOUT,
                       SOUK_EUPSTREAM any other failure */
    int status;
    const char *body;
    size_t body_len;
    const char *retry_after; /* its Retry-After header, or NULL */
} gw_gql_reply_t;

typedef struct gw_gql_run gw_gql_run_t;

/* Makes the calls: send starts call number id of run (the edge: a
 * sub-request) and answers it with gw_gql_run_answer exactly once, from
 * within send or later on the same thread. */
typedef struct {
    void (*send)(void *ud, gw_gql_run_t *run, size_t id, const gw_gql_call_t *call);
    void *ud;
} gw_gql_transport_t;

/* The request's result: result->body is a new reference, the callee's. */
typedef void (*gw_gql_done_fn)(void *ud, gw_gql_result_t *result);

/* Starts one GraphQL request: parse and validate (with the limits), the
 * operation, variables and cost, all before any call, then the waves, each
 * wave's calls handed to t at once (at most GW_GQL_MAX_PARALLEL in flight),
 * the next wave when the last call of one is answered; counts it in the
 * metrics. done is called exactly once, possibly before this returns (a
 * refusal, a request without calls, a transport that answers at once),
 * unless the run is cancelled. Returns the run while it waits on calls,
 * NULL once done was called. Never blocks; CPU work only. p is read only
 * during the call; arena (the request's) holds the calls' scratch and must
 * outlive the run. */
gw_gql_run_t *gw_graphql_start(gw_graphql_t *g, const gw_gql_caller_t *caller,
                               const gw_gql_params_t *p, souk_arena_t *arena,
                               const gw_gql_transport_t *t, gw_gql_done_fn done, void *ud);
/* Answers call id of run (the last answer of the last wave calls done and
 * frees run). A second answer of the same call is ignored. */
void gw_gql_run_answer(gw_gql_run_t *run, size_t id, const gw_gql_reply_t *reply);
/* Frees a run that waits on calls, without calling done; its unanswered
 * calls must never be answered (the transport has dropped them). */
void gw_gql_run_cancel(gw_gql_run_t *run);

/* The state of one execution, the engine's host pointer: what resolvers read
 * (info->host) and what the loads of its waves share. */
typedef struct {
    gw_graphql_t *g;
    const gw_gql_caller_t *caller;
    const char *op_type, *op_name; /* metric labels of the operation */
    json_t *products;              /* id -> product (or null) loaded so far in this request */
    unsigned calls;
} gw_gql_req_t;

/* ---- parsed documents (graphql_docs.c) ------------------------------------------------ */

#define GW_GQL_DOC_CACHE_SLOTS 512  /* documents kept at most */
#define GW_GQL_DOC_CACHE_TEXT  4096 /* bytes of text of a document that is kept */

/* A cache of slots documents (0: 1). Thread-safe. Free with
 * gw_gql_docs_free (NULL ok) once no execution holds a document of it. */
gw_gql_docs_t *gw_gql_docs_new(size_t slots);
void gw_gql_docs_free(gw_gql_docs_t *c);
/* The document of text (len bytes), parsed and validated with lim: the one
 * kept for the same text (*hit true), or parsed now and kept when it is
 * valid and short enough. SOUK_OK with *out, a reference the caller gives
 * back with gw_gql_docs_release; otherwise souk_gql_document_parse's error
 * and *errors, and nothing kept. */
souk_err_t gw_gql_docs_get(gw_gql_docs_t *c, const souk_gql_schema_t *schema, const char *text,
                           size_t len, const souk_gql_limits_t *lim, gw_gql_doc_ref_t **out,
                           bool *hit, json_t **errors) SOUK_MUST_CHECK;
/* The document of a reference (valid until it is released). */
const souk_gql_doc_t *gw_gql_doc(const gw_gql_doc_ref_t *r);
/* Gives a reference back (NULL ok). */
void gw_gql_docs_release(gw_gql_docs_t *c, gw_gql_doc_ref_t *r);

/* ---- resolvers (graphql_resolvers.c) ---------------------------------------------------- */

/* The loaders the resolvers ask for, which graphql_exec.c performs:
 *   GW_GQL_LOAD_REST    one REST call: key "METHOD /path?query", arg
 *                       {"up": upstream index, "body": JSON (optional),
 *                        "key": Idempotency-Key (optional), "field":
 *                        "Type.field" (the metric and span label),
 *                        "caches": true when the answer is a product to
 *                        keep, "drops": the id of a product deleted};
 *                       the value is the answer's JSON (true for an empty
 *                       2xx answer).
 *   GW_GQL_LOAD_PRODUCT a product by id (a UUID, checked by the resolver);
 *                       null when there is none. */
#define GW_GQL_LOAD_REST    "rest"
#define GW_GQL_LOAD_PRODUCT "product"

/* Registers souk's resolvers on r. SOUK_ENOTFOUND when the schema lacks a
 * field of the table (the SDL and the gateway disagree). */
souk_err_t gw_graphql_resolvers_register(souk_gql_resolvers_t *r) SOUK_MUST_CHECK;

/* The label of a load's field for graphql_resolver_calls_total and the
 * resolver spans: field ("Query.orders", or "Product" for product loads) when
 * it is one of the table's loading fields (static storage), else
 * SOUK_METRIC_OTHER. */
const char *gw_graphql_field_label(const char *field);

/* ---- GraphiQL and the SDL (graphql_ui.c) ------------------------------------------------ */

/* Loads GraphiQL's files from dir into memory; NULL (logged) when dir is NULL
 * or a file is missing. Free with gw_graphql_ui_free (NULL ok). */
gw_graphql_ui_t *gw_graphql_ui_load(const char *dir);
void gw_graphql_ui_free(gw_graphql_ui_t *ui);
/* GET /graphql for a browser: the page, or 404 when GraphiQL is not there. */
void gw_graphql_ui_page(souk_http_ctx_t *ctx, const gw_graphql_ui_t *ui);
/* GET /graphql/ui/:file */
void gw_graphql_ui_file(souk_http_ctx_t *ctx, void *ud);
/* GET /graphql/schema.graphql */
void gw_graphql_sdl(souk_http_ctx_t *ctx, void *ud);

#endif
