/* graphql_exec.c: one GraphQL request, as the host of the engine's waves,
 * without ever blocking. Parsing, validation (once per document text:
 * graphql_docs.c), the limits (document size, depth, aliases, cost) and the
 * variables are all decided before the first upstream call; a refusal is a
 * 400 with errors and no data (a mutation that came by GET, a 405). Then
 * each wave's loads become calls handed to a transport all at once (on the
 * edge: sub-requests on its loop thread), at most GW_GQL_MAX_PARALLEL in
 * flight; when the last call of a wave is answered the engine runs the next
 * wave, and when none is left the result goes to the done callback. One call
 * per REST load, and one call for all the products of the wave (POST
 * /internal/products/batch, or GET /products/{id} when the wave asks for a
 * single product, which product-service answers from its cache). Products
 * already loaded in the request are not asked for again, and a product the
 * request writes replaces what it had loaded.
 *
 * The caller's token goes with every call (the transport adds the request
 * id, trace context and client address); the trace gets a span per call a
 * resolver asked for, the parent of the call's own client span. A service's
 * refusal becomes the field's error (401 UNAUTHENTICATED, 403 FORBIDDEN, 404
 * NOT_FOUND, other 4xx BAD_USER_INPUT with the service's detail, 5xx and
 * transport failures INTERNAL without it), and the rest of the response is
 * still served. */
#include "graphql_gw.h"

#include <stdio.h>
#include <string.h>

#define PRODUCT_BATCH_MAX 100 /* ids per call that product-service accepts */
#define MESSAGE_MAX       512

typedef enum { CALL_REST, CALL_PRODUCT } kind_t;

typedef struct {
    kind_t kind;
    upstream_id_t up;
    const char *label;
    souk_gql_batch_t *b;
    size_t entry; /* REST: the entry it answers */
    json_t *arg;  /* REST: that entry's argument (borrowed) */
    json_t *ids;  /* PRODUCT: the ids asked (owned) */
    bool sent, answered;
    souk_span_t *span; /* once sent (in the arena: a span is big, a call is not) */
    gw_gql_call_t call;
    souk_edge_header_t headers[GW_GQL_CALL_HEADERS];
} call_t;

struct gw_gql_run {
    gw_gql_req_t req; /* the resolvers' host pointer */
    gw_gql_caller_t caller;
    gw_gql_transport_t t;
    gw_gql_done_fn done;
    void *done_ud;
    uint64_t t0;
    gw_gql_doc_ref_t *ref;
    souk_gql_exec_t *ex;
    souk_arena_t *a; /* the caller's: every wave's scratch */
    /* the current wave */
    call_t *calls;
    size_t n, cap;
    json_t *failed;       /* product id -> {code, message} of a failed product call, or NULL */
    size_t next, pending; /* calls handed to the transport; those not answered yet */
    bool sending;         /* inside the transport's send: answers only record */
};

/* ---- outcomes ---------------------------------------------------------------------------------
 */

static souk_gql_code_t code_of(long status)
{
    switch (status) {
    case 401:
        return SOUK_GQL_UNAUTHENTICATED;
    case 403:
        return SOUK_GQL_FORBIDDEN;
    case 404:
    case 410:
        return SOUK_GQL_NOT_FOUND;
    default:
        return status >= 400 && status < 500 ? SOUK_GQL_BAD_USER_INPUT : SOUK_GQL_INTERNAL;
    }
}

/* A 4xx problem's detail and field errors, as one message. */
static void problem_message(const gw_gql_reply_t *r, char *out, size_t cap)
{
    json_t *p = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL);
    const char *detail = json_string_value(json_object_get(p, "detail"));
    int k = snprintf(out, cap, "%s", detail ? detail : souk_http_status_title(r->status));
    json_t *errors = json_object_get(p, "errors"), *e;
    size_t i;
    json_array_foreach(errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        const char *m = json_string_value(json_object_get(e, "message"));
        if (k >= 0 && (size_t)k < cap && f && m)
            k += snprintf(out + k, cap - (size_t)k, "%s%s: %s", i ? "; " : ": ", f, m);
    }
    if (r->status == 429 && k >= 0 && (size_t)k < cap && r->retry_after)
        snprintf(out + k, cap - (size_t)k, " (retry in %.15s s)", r->retry_after);
    json_decref(p);
}

/* Why a call did not give a 2xx answer: the field's code and message. */
static souk_gql_code_t failure(const upstream_t *u, const gw_gql_reply_t *r, char *msg, size_t cap)
{
    if (r->err == SOUK_ETIMEOUT)
        snprintf(msg, cap, "the %s service did not answer in time", u->name);
    else if (r->err == SOUK_EUNAVAIL)
        snprintf(msg, cap, "the %s service is unavailable", u->name);
    else if (r->err)
        snprintf(msg, cap, "the call to the %s service failed", u->name);
    else if (r->status >= 500 || r->status < 400)
        snprintf(msg, cap, "the %s service failed (status %d)", u->name, r->status);
    else
        problem_message(r, msg, cap);
    return r->err ? SOUK_GQL_INTERNAL : code_of(r->status);
}

static void count(gw_gql_run_t *run, const char *label, const char *outcome)
{
    souk_metric_inc(run->req.g->resolver_calls, (const char *[]){label, outcome}, 1);
}

/* Records why the product id could not be had (the wave's failures, made
 * when the first one comes). */
static void product_failed(gw_gql_run_t *run, const char *id, souk_gql_code_t code, const char *msg)
{
    if (!run->failed)
        run->failed = json_object();
    json_object_set_new(run->failed, id,
                        json_pack("{s:i, s:s}", "code", (int)code, "message", msg));
}

/* ---- planning the calls -----------------------------------------------------------------------
 */

static call_t *add_call(gw_gql_run_t *run, kind_t kind, upstream_id_t up, const char *label,
                        const char *method, const char *target, json_t *body, const char *key)
{
    if (run->n == run->cap) {
        run->cap = run->cap ? run->cap * 2 : 2; /* most waves make one call or two */
        run->calls = souk_realloc(run->calls, run->cap * sizeof(*run->calls));
    }
    call_t *c = &run->calls[run->n++];
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->up = up;
    c->label = label;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text)
        souk_die_oom(0);
    souk_arena_defer(run->a, free, text);
    size_t nh = 0;
    c->headers[nh++] = (souk_edge_header_t){"Accept", "application/json"};
    if (run->caller.bearer)
        c->headers[nh++] = (souk_edge_header_t){
            "Authorization", souk_arena_printf(run->a, "Bearer %s", run->caller.bearer)};
    if (text)
        c->headers[nh++] = (souk_edge_header_t){"Content-Type", "application/json"};
    if (key)
        c->headers[nh++] = (souk_edge_header_t){"Idempotency-Key", souk_arena_strdup(run->a, key)};
    c->call = (gw_gql_call_t){.up = up,
                              .method = method,
                              .target = souk_arena_strdup(run->a, target),
                              .nheaders = nh, /* headers: set when sent (calls may move) */
                              .body = text,
                              .body_len = text ? strlen(text) : 0};
    return c;
}

static void plan_rest(gw_gql_run_t *run, souk_gql_batch_t *b, size_t i)
{
    const char *key = souk_gql_batch_key(b, i), *sp = strchr(key, ' ');
    json_t *arg = souk_gql_batch_arg(b, i);
    json_int_t up = json_integer_value(json_object_get(arg, "up"));
    const char *label = gw_graphql_field_label(json_string_value(json_object_get(arg, "field")));
    if (!sp || up < 0 || up >= UP__COUNT) {
        souk_gql_batch_fail(b, i, SOUK_GQL_INTERNAL, "the field asked for an unknown call");
        count(run, label, souk_gql_code_name(SOUK_GQL_INTERNAL));
        return;
    }
    const upstream_t *u = &run->req.g->gw->upstreams[up];
    if (!u->base_url) {
        souk_gql_batch_fail(b, i, SOUK_GQL_INTERNAL, "the %s service is not deployed", u->name);
        count(run, label, souk_gql_code_name(SOUK_GQL_INTERNAL));
        return;
    }
    const char *method = souk_arena_strndup(run->a, key, (size_t)(sp - key));
    call_t *c =
        add_call(run, CALL_REST, (upstream_id_t)up, label, method, sp + 1,
                 json_object_get(arg, "body"), json_string_value(json_object_get(arg, "key")));
    c->b = b;
    c->entry = i;
    c->arg = arg;
}

/* The products of the batch that this request has not loaded yet, in calls of
 * at most PRODUCT_BATCH_MAX ids (one call for any realistic response). */
static void plan_products(gw_gql_run_t *run, souk_gql_batch_t *b)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < souk_gql_batch_size(b); i++)
        if (!json_object_get(run->req.products, souk_gql_batch_key(b, i)))
            json_array_append_new(ids, json_string(souk_gql_batch_key(b, i)));
    const upstream_t *u = &run->req.g->gw->upstreams[UP_PRODUCT];
    for (size_t at = 0; at < json_array_size(ids) && !u->base_url; at++)
        product_failed(run, json_string_value(json_array_get(ids, at)), SOUK_GQL_INTERNAL,
                       "the product service is not deployed");
    for (size_t at = 0; at < json_array_size(ids) && u->base_url; at += PRODUCT_BATCH_MAX) {
        size_t n = json_array_size(ids) - at;
        n = n < PRODUCT_BATCH_MAX ? n : PRODUCT_BATCH_MAX;
        json_t *chunk = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append(chunk, json_array_get(ids, at + k));
        call_t *c;
        if (n == 1) {
            const char *path = souk_arena_printf(run->a, "/products/%s",
                                                 json_string_value(json_array_get(chunk, 0)));
            c = add_call(run, CALL_PRODUCT, UP_PRODUCT, "Product", "GET", path, NULL, NULL);
        } else {
            json_t *body = json_pack("{s:O}", "ids", chunk);
            c = add_call(run, CALL_PRODUCT, UP_PRODUCT, "Product", "POST",
                         "/internal/products/batch", body, NULL);
            json_decref(body);
        }
        c->b = b;
        c->ids = chunk;
        souk_metric_observe(run->req.g->batch_size, NULL, (double)n);
    }
    json_decref(ids);
}

/* Every batch of the engine's current wave, as calls (some loads are
 * answered now, without a call). */
static void plan_wave(gw_gql_run_t *run)
{
    run->n = run->next = run->pending = 0;
    size_t nb = souk_gql_exec_batch_count(run->ex);
    for (size_t k = 0; k < nb; k++) {
        souk_gql_batch_t *b = souk_gql_exec_batch(run->ex, k);
        const char *loader = souk_gql_batch_loader(b);
        if (strcmp(loader, GW_GQL_LOAD_PRODUCT) == 0)
            plan_products(run, b);
        else if (strcmp(loader, GW_GQL_LOAD_REST) == 0)
            for (size_t i = 0; i < souk_gql_batch_size(b); i++)
                plan_rest(run, b, i);
    }
}

/* ---- results ----------------------------------------------------------------------------------
 */

static json_t *body_json(const gw_gql_reply_t *r)
{
    if (r->body_len == 0)
        return json_true(); /* 204: done */
    return json_loadb(r->body, r->body_len, 0, NULL);
}

/* Answers the call's entry; false (with code and msg) when the call failed. */
static bool finish_rest(gw_gql_run_t *run, call_t *c, const gw_gql_reply_t *r, char *msg,
                        size_t cap, souk_gql_code_t *code)
{
    const upstream_t *u = &run->req.g->gw->upstreams[c->up];
    json_t *v = NULL;
    if (r->err || r->status < 200 || r->status >= 300) {
        *code = failure(u, r, msg, cap);
        souk_gql_batch_fail(c->b, c->entry, *code, "%s", msg);
        return false;
    }
    if (!(v = body_json(r))) {
        *code = SOUK_GQL_INTERNAL;
        snprintf(msg, cap, "the %s service answered something that is not JSON", u->name);
        souk_gql_batch_fail(c->b, c->entry, *code, "%s", msg);
        return false;
    }
    const char *id = json_string_value(json_object_get(v, "id"));
    if (json_is_true(json_object_get(c->arg, "caches")) && id)
        json_object_set(run->req.products, id, v);
    const char *drops = json_string_value(json_object_get(c->arg, "drops"));
    if (drops)
        json_object_set_new(run->req.products, drops, json_null());
    souk_gql_batch_resolve(c->b, c->entry, v);
    return true;
}

/* Keeps the products the call brought; false (with code and msg, also kept
 * for its ids) when it failed. */
static bool finish_products(gw_gql_run_t *run, call_t *c, const gw_gql_reply_t *r, char *msg,
                            size_t cap, souk_gql_code_t *code)
{
    json_t *products = run->req.products, *id, *body = NULL, *p;
    size_t i;
    bool one = json_array_size(c->ids) == 1;
    if (!r->err && one && r->status == 404) {
        json_object_set_new(products, json_string_value(json_array_get(c->ids, 0)), json_null());
        return true;
    }
    if (!r->err && r->status == 200 &&
        (body = json_loadb(r->body ? r->body : "", r->body_len, 0, NULL))) {
        if (one) {
            json_object_set(products, json_string_value(json_array_get(c->ids, 0)), body);
        } else {
            json_array_foreach(json_object_get(body, "items"), i, p)
            {
                const char *pid = json_string_value(json_object_get(p, "id"));
                if (pid)
                    json_object_set(products, pid, p);
            }
        }
        json_array_foreach(c->ids, i, id)
        {
            if (!json_object_get(products, json_string_value(id))) /* not there: none */
                json_object_set_new(products, json_string_value(id), json_null());
        }
        json_decref(body);
        return true;
    }
    *code = r->err || r->status != 200
                ? failure(&run->req.g->gw->upstreams[UP_PRODUCT], r, msg, cap)
                : SOUK_GQL_INTERNAL;
    if (!r->err && r->status == 200)
        snprintf(msg, cap, "the product service answered something that is not JSON");
    json_array_foreach(c->ids, i, id) product_failed(run, json_string_value(id), *code, msg);
    return false;
}

/* Answers every key of a product batch from the request's products, or with
 * the error of the call that should have brought it. */
static void answer_products(gw_gql_run_t *run, souk_gql_batch_t *b)
{
    for (size_t i = 0; i < souk_gql_batch_size(b); i++) {
        const char *key = souk_gql_batch_key(b, i);
        json_t *p = json_object_get(run->req.products, key);
        json_t *f = json_object_get(run->failed, key);
        if (p)
            souk_gql_batch_resolve(b, i, json_is_null(p) ? NULL : json_incref(p));
        else if (f)
            souk_gql_batch_fail(b, i,
                                (souk_gql_code_t)json_integer_value(json_object_get(f, "code")),
                                "%s", json_string_value(json_object_get(f, "message")));
    }
}

/* ---- calls in flight -------------------------------------------------------------------------
 */

static void start_span(gw_gql_run_t *run, call_t *c)
{
    const gw_gql_req_t *req = &run->req;
    c->span = souk_arena_alloc(run->a, sizeof(*c->span));
    souk_span_start(c->span, SOUK_SPAN_INTERNAL, "graphql.resolve",
                    run->caller.trace.trace_id[0] ? &run->caller.trace : NULL, NULL);
    c->call.parent = &c->span->ctx;
    if (!souk_span_recording(c->span))
        return; /* its ids are the call's parent all the same */
    snprintf(c->span->name, sizeof(c->span->name), "graphql.resolve %s", c->label);
    souk_span_attr_str(c->span, "graphql.operation.type", req->op_type);
    souk_span_attr_str(c->span, "graphql.operation.name", req->op_name);
    souk_span_attr_str(c->span, "souk.graphql.field", c->label);
    if (c->kind == CALL_PRODUCT)
        souk_span_attr_int(c->span, "souk.graphql.batch.size", (long long)json_array_size(c->ids));
}

/* Hands calls to the transport while the window has room. */
static void send_calls(gw_gql_run_t *run)
{
    run->sending = true;
    while (run->next < run->n && run->pending < GW_GQL_MAX_PARALLEL) {
        size_t id = run->next++;
        call_t *c = &run->calls[id];
        run->pending++;
        run->req.calls++;
        c->sent = true;
        c->call.headers = c->headers; /* the array no longer moves */
        start_span(run, c);
        run->t.send(run->t.ud, run, id, &c->call);
    }
    run->sending = false;
}

/* The wave's last call is answered: its product batches get their keys,
 * and its scratch goes. */
static void end_wave(gw_gql_run_t *run)
{
    size_t nb = souk_gql_exec_batch_count(run->ex);
    for (size_t k = 0; k < nb; k++) {
        souk_gql_batch_t *b = souk_gql_exec_batch(run->ex, k);
        if (strcmp(souk_gql_batch_loader(b), GW_GQL_LOAD_PRODUCT) == 0)
            answer_products(run, b);
    }
    for (size_t i = 0; i < run->n; i++)
        json_decref(run->calls[i].ids);
    run->n = run->next = run->pending = 0;
    json_decref(run->failed);
    run->failed = NULL;
}

/* ---- the request --------------------------------------------------------------------------------
 */

static const char *type_label(souk_gql_op_t t)
{
    return t == SOUK_GQL_QUERY ? "query" : t == SOUK_GQL_MUTATION ? "mutation" : "subscription";
}

static const char *name_label(const gw_graphql_t *g, const char *name)
{
    if (!name)
        return "anonymous";
    for (char **n = g->op_names; n && *n; n++)
        if (strcmp(*n, name) == 0)
            return *n;
    return SOUK_METRIC_OTHER;
}

static json_t *request_error(const char *message, const char *code)
{
    return json_pack("{s:[{s:s, s:{s:s}}]}", "errors", "message", message, "extensions", "code",
                     code);
}

static void run_free(gw_gql_run_t *run)
{
    for (size_t i = 0; i < run->n; i++)
        json_decref(run->calls[i].ids);
    souk_free(run->calls);
    json_decref(run->failed);
    souk_gql_exec_free(run->ex);
    gw_gql_docs_release(run->req.g->docs, run->ref);
    json_decref(run->req.products);
    souk_free(run);
}

/* The request is over: counted, handed to done, freed. */
static void finish(gw_gql_run_t *run, int status, json_t *body)
{
    gw_graphql_t *g = run->req.g;
    gw_gql_result_t out = {.status = status,
                           .body = body,
                           .waves = run->ex ? souk_gql_exec_waves(run->ex) : 0,
                           .calls = run->req.calls,
                           .op_type = run->req.op_type,
                           .op_name = run->req.op_name};
    const char *outcome = status != 200                     ? "refused"
                          : json_object_get(body, "errors") ? "errors"
                                                            : "ok";
    souk_metric_inc(g->operations, (const char *[]){out.op_type, out.op_name, outcome}, 1);
    souk_metric_observe(g->op_seconds, (const char *[]){out.op_type},
                        (double)(souk_now_mono_ns() - run->t0) / 1e9);
    gw_gql_done_fn done = run->done;
    void *ud = run->done_ud;
    run_free(run);
    done(ud, &out);
}

/* Runs waves until one waits on calls (true) or the request is done (false:
 * run is freed). */
static bool advance(gw_gql_run_t *run)
{
    while (souk_gql_exec_run(run->ex) == SOUK_GQL_PENDING) {
        plan_wave(run);
        send_calls(run);
        if (run->pending || run->next < run->n)
            return true;
        end_wave(run); /* every call answered at once, or none was needed */
    }
    finish(run, 200, souk_gql_exec_result(run->ex));
    return false;
}

/* Parse, validation, operation, variables and cost: false (with the
 * refusal's status and body) when the request is refused. */
static bool prepare(gw_gql_run_t *run, const gw_gql_params_t *p, int *status, json_t **body)
{
    gw_graphql_t *g = run->req.g;
    json_t *errors = NULL;
    souk_gql_op_t type;
    const char *name = NULL;
    bool hit = false;
    *status = 400;
    if (gw_gql_docs_get(g->docs, g->schema, p->query, p->query_len, &g->limits, &run->ref, &hit,
                        &errors)) {
        *body = json_pack("{s:o}", "errors", errors);
        return false;
    }
    souk_metric_inc(g->doc_cache, (const char *[]){hit ? "hit" : "miss"}, 1);
    const souk_gql_doc_t *doc = gw_gql_doc(run->ref);
    if (souk_gql_doc_operation(doc, p->operation_name, &type, &name) == SOUK_OK) {
        run->req.op_type = type_label(type);
        run->req.op_name = name_label(g, name);
        if (p->get && type != SOUK_GQL_QUERY) {
            *status = 405;
            *body = request_error("Only queries are accepted over GET; send mutations by POST.",
                                  "METHOD_NOT_ALLOWED");
            return false;
        }
    }
    if (souk_gql_exec_new(doc, g->resolvers, p->operation_name, p->variables, &run->req, &g->limits,
                          &run->ex, &errors)) {
        *body = json_pack("{s:o}", "errors", errors);
        return false;
    }
    return true;
}

gw_gql_run_t *gw_graphql_start(gw_graphql_t *g, const gw_gql_caller_t *caller,
                               const gw_gql_params_t *p, souk_arena_t *arena,
                               const gw_gql_transport_t *t, gw_gql_done_fn done, void *ud)
{
    gw_gql_run_t *run = souk_calloc(1, sizeof(*run));
    run->a = arena;
    run->caller = *caller;
    run->req = (gw_gql_req_t){.g = g,
                              .caller = &run->caller,
                              .op_type = "none",
                              .op_name = "anonymous",
                              .products = json_object()};
    run->t = *t;
    run->done = done;
    run->done_ud = ud;
    run->t0 = souk_now_mono_ns();
    int status;
    json_t *body = NULL;
    if (!prepare(run, p, &status, &body)) {
        finish(run, status, body);
        return NULL;
    }
    return advance(run) ? run : NULL;
}

void gw_gql_run_answer(gw_gql_run_t *run, size_t id, const gw_gql_reply_t *reply)
{
    if (id >= run->n || !run->calls[id].sent || run->calls[id].answered)
        return;
    call_t *c = &run->calls[id];
    char msg[MESSAGE_MAX] = "";
    souk_gql_code_t code = SOUK_GQL_INTERNAL;
    c->answered = true;
    run->pending--;
    bool failed = c->kind == CALL_REST ? !finish_rest(run, c, reply, msg, sizeof(msg), &code)
                                       : !finish_products(run, c, reply, msg, sizeof(msg), &code);
    count(run, c->label, failed ? souk_gql_code_name(code) : "ok");
    if (reply->status)
        souk_span_attr_int(c->span, "http.response.status_code", reply->status);
    if (failed)
        souk_span_error(c->span, souk_gql_code_name(code));
    souk_span_end(c->span);
    if (run->sending)
        return; /* send_calls goes on, and advance after it */
    send_calls(run);
    if (run->pending == 0 && run->next == run->n) {
        end_wave(run);
        advance(run);
    }
}

void gw_gql_run_cancel(gw_gql_run_t *run)
{
    if (!run)
        return;
    for (size_t i = 0; i < run->n; i++) {
        call_t *c = &run->calls[i];
        if (c->sent && !c->answered) {
            souk_span_error(c->span, "cancelled");
            souk_span_end(c->span);
        }
    }
    run_free(run);
}
