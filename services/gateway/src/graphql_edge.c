/* graphql_edge.c: POST /graphql and GET /graphql?query= served on the edge's
 * loop threads (GraphQL over HTTP, with the application/json media type),
 * with no hop to the internal server and no thread waiting on the network:
 * the request's envelope is read here ({query, variables, operationName} as
 * a JSON body, or the same as query parameters), a token that is sent must
 * be valid (401 otherwise, as on every REST route; the verifier runs in
 * background-refresh mode, so a check never waits on the key fetch), then
 * the reply is deferred and graphql_exec.c drives the execution: its calls
 * go out as the edge's sub-requests on the loop's pooled upstream
 * connections, each answer resumes the engine on the same thread, and the
 * last one replies. A client that goes away meanwhile cancels the
 * execution with its calls.
 *
 * Requests that are not GraphQL requests at all (no query, a body that is
 * not a JSON object, variables that are not an object) are 400 with errors
 * and no data, like documents that do not parse or validate; a body that is
 * not JSON is a 415 problem; methods other than GET, HEAD and POST a 405.
 * Results are never cached by intermediaries (they may be a user's data).
 * Logged and counted under the route "/graphql". */
#include "graphql_gw.h"

#include <string.h>
#include <strings.h>

#define ROUTE "/graphql"

/* One request's state, in its arena (it lives until the request ends). */
typedef struct {
    gateway_t *gw;
    souk_edge_req_t *req;
    gw_gql_run_t *run; /* while it waits on calls */
} gql_edge_t;

typedef struct {
    gql_edge_t *st;
    size_t id;
} call_ud_t;

/* ---- the query string ---------------------------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* [p, p+n) percent-decoded ('+' is a space) into a, NUL-terminated; NULL
 * when it is not UTF-8 or holds a NUL. */
static char *decode(souk_arena_t *a, const char *p, size_t n)
{
    char *out = souk_arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (p[i] == '%' && i + 2 < n && (hi = hexval(p[i + 1])) >= 0 &&
            (lo = hexval(p[i + 2])) >= 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = p[i] == '+' ? ' ' : p[i];
        }
    }
    out[o] = '\0';
    return memchr(out, '\0', o) || !souk_utf8_valid(out, o) ? NULL : out;
}

/* The first parameter called name of the query string q (NULL: none): its
 * decoded value, or NULL when absent; *bad when a parameter does not decode
 * (the whole query string is then refused, as the internal server does). */
static const char *param(souk_arena_t *a, const char *q, const char *name, bool *bad)
{
    const char *found = NULL;
    for (const char *p = q; p && *p;) {
        size_t len = strcspn(p, "&");
        const char *eq = memchr(p, '=', len);
        size_t nlen = eq ? (size_t)(eq - p) : len;
        char *n = decode(a, p, nlen);
        char *v = eq ? decode(a, eq + 1, len - nlen - 1) : "";
        if (!n || !v)
            *bad = true;
        else if (!found && strcmp(n, name) == 0)
            found = v;
        p += len + (p[len] == '&');
    }
    return found;
}

/* ---- replies ----------------------------------------------------------------------------------
 */

static void reply_json(souk_edge_req_t *req, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        souk_die_oom(0);
    souk_edge_set_header(req, "Cache-Control", "no-store");
    souk_edge_reply(req, status, "application/json", text, strlen(text));
    free(text);
}

static void bad_request(souk_edge_req_t *req, const char *message)
{
    reply_json(req, 400,
               json_pack("{s:[{s:s, s:{s:s}}]}", "errors", "message", message, "extensions", "code",
                         "BAD_REQUEST"));
}

/* ---- the execution's transport: sub-requests --------------------------------------------------
 */

static void call_done(souk_edge_req_t *req, const souk_edge_sub_result_t *res, void *ud)
{
    call_ud_t *cu = ud;
    const char *retry = NULL;
    (void)req;
    for (size_t i = 0; i < res->nheaders && !retry; i++)
        if (strcasecmp(res->headers[i].name, "Retry-After") == 0)
            retry = res->headers[i].value;
    gw_gql_reply_t r = {.err = res->outcome == SOUK_EDGE_SUB_OK        ? SOUK_OK
                               : res->outcome == SOUK_EDGE_SUB_REFUSED ? SOUK_EUNAVAIL
                               : res->outcome == SOUK_EDGE_SUB_TIMEOUT ? SOUK_ETIMEOUT
                                                                       : SOUK_EUPSTREAM,
                        .status = res->status,
                        .body = res->body,
                        .body_len = res->body_len,
                        .retry_after = retry};
    gw_gql_run_answer(cu->st->run, cu->id, &r);
}

static void send_call(void *ud, gw_gql_run_t *run, size_t id, const gw_gql_call_t *call)
{
    gql_edge_t *st = ud;
    int up = st->gw->edge_upstream[call->up];
    call_ud_t *cu = souk_arena_alloc(st->req->arena, sizeof(*cu));
    *cu = (call_ud_t){st, id};
    souk_edge_sub_t sub = {.upstream = (size_t)up,
                           .method = call->method,
                           .target = call->target,
                           .headers = call->headers,
                           .nheaders = call->nheaders,
                           .body = call->body,
                           .body_len = call->body_len,
                           .parent = call->parent,
                           .done = call_done,
                           .ud = cu};
    if (up < 0)
        gw_gql_run_answer(run, id, &(gw_gql_reply_t){.err = SOUK_EUNAVAIL});
    else if (souk_edge_sub_start(st->req, &sub) != SOUK_OK)
        gw_gql_run_answer(run, id, &(gw_gql_reply_t){.err = SOUK_EUPSTREAM});
}

static void done(void *ud, gw_gql_result_t *r)
{
    gql_edge_t *st = ud;
    souk_edge_req_t *req = st->req;
    st->run = NULL;
    if (souk_log_enabled(SOUK_LOG_INFO)) /* the access line is info */
        req->log_fields = json_pack("{s:s, s:s, s:i}", "graphql.operation.type", r->op_type,
                                    "graphql.operation.name", r->op_name, "graphql.upstream_calls",
                                    (int)r->calls);
    if (r->status == 405)
        souk_edge_set_header(req, "Allow", "POST");
    reply_json(req, r->status, r->body);
}

static void aborted(souk_edge_req_t *req, void *ud)
{
    gql_edge_t *st = ud;
    (void)req;
    gw_gql_run_cancel(st->run);
    st->run = NULL;
}

/* ---- the request ------------------------------------------------------------------------------
 */

bool gw_graphql_edge_wants(const souk_edge_req_t *req)
{
    if (strcmp(req->path, ROUTE) != 0)
        return false;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
        return true;
    bool bad = false; /* a query string that does not decode is the edge's 400 too */
    return param(req->arena, req->query, "query", &bad) || bad;
}

/* The caller, once a token it sends is verified; false when it replied. */
static bool caller_of(gateway_t *gw, souk_edge_req_t *req, gw_gql_caller_t *c)
{
    const char *bearer = souk_edge_bearer(req);
    souk_claims_t claims;
    souk_err_t err = bearer ? souk_jwt_verify(gw->verifier, bearer, &claims) : SOUK_OK;
    if (err == SOUK_EUNAVAIL) {
        souk_edge_set_header(req, "Retry-After", "1");
        souk_edge_problem(req, 503, "token keys are not available yet");
        return false;
    }
    if (err) {
        souk_edge_problem(req, 401, "the bearer token is invalid or expired");
        return false;
    }
    *c = (gw_gql_caller_t){.bearer = bearer, .client_ip = req->client_ip, .trace = req->trace};
    return true;
}

static void run(gateway_t *gw, souk_edge_req_t *req, const gw_gql_params_t *p)
{
    gw_gql_caller_t caller;
    if (!caller_of(gw, req, &caller))
        return;
    gql_edge_t *st = souk_arena_alloc(req->arena, sizeof(*st));
    *st = (gql_edge_t){.gw = gw, .req = req};
    souk_edge_defer(req, aborted, st);
    gw_gql_transport_t t = {send_call, st};
    st->run = gw_graphql_start(gw->graphql, &caller, p, req->arena, &t, done, st);
}

static void from_body(gateway_t *gw, souk_edge_req_t *req)
{
    if (req->body_len && !souk_http_content_type_json(souk_edge_header(req, "Content-Type"))) {
        souk_edge_problem(req, 415, "request bodies must be application/json");
        return;
    }
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, 0, NULL);
    json_t *query = json_object_get(body, "query");
    json_t *vars = json_object_get(body, "variables");
    json_t *name = json_object_get(body, "operationName");
    souk_arena_json(req->arena, body);
    if (!json_is_object(body))
        bad_request(req, "The body must be a JSON object: {\"query\": ..., \"variables\": {...}, "
                         "\"operationName\": ...}.");
    else if (!json_is_string(query))
        bad_request(req, "The body must have a \"query\" member holding the GraphQL document.");
    else if (vars && !json_is_null(vars) && !json_is_object(vars))
        bad_request(req, "\"variables\" must be an object (or null).");
    else if (name && !json_is_null(name) && !json_is_string(name))
        bad_request(req, "\"operationName\" must be a string (or null).");
    else
        run(gw, req,
            &(gw_gql_params_t){.query = json_string_value(query),
                               .query_len = json_string_length(query),
                               .variables = json_is_object(vars) ? vars : NULL,
                               .operation_name = json_string_value(name)});
}

static void from_query(gateway_t *gw, souk_edge_req_t *req)
{
    bool bad = false;
    const char *query = param(req->arena, req->query, "query", &bad);
    const char *vars_text = param(req->arena, req->query, "variables", &bad);
    const char *name = param(req->arena, req->query, "operationName", &bad);
    souk_edge_set_header(req, "Vary", "Accept");
    if (bad) {
        souk_edge_problem(req, 400, "the query string must be UTF-8 without NUL characters");
        return;
    }
    json_t *vars = vars_text && *vars_text ? json_loads(vars_text, 0, NULL) : NULL;
    souk_arena_json(req->arena, vars);
    if (vars_text && *vars_text && !json_is_object(vars) && !json_is_null(vars)) {
        bad_request(req, "The \"variables\" parameter must be a JSON object.");
        return;
    }
    run(gw, req,
        &(gw_gql_params_t){.query = query,
                           .query_len = strlen(query),
                           .variables = json_is_object(vars) ? vars : NULL,
                           .operation_name = name && *name ? name : NULL,
                           .get = true});
}

void gw_graphql_edge(gateway_t *gw, souk_edge_req_t *req)
{
    req->route = ROUTE;
    if (strcmp(req->method, "POST") == 0) {
        from_body(gw, req);
    } else if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
        from_query(gw, req);
    } else {
        req->route = "method_not_allowed";
        souk_edge_set_header(req, "Allow", "GET, HEAD, POST");
        souk_edge_problem(req, 405, "method not allowed on this resource");
    }
}
