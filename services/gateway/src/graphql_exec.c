/* graphql_exec.c: one GraphQL request, as the host of the engine's waves.
 * Parsing, validation (once per document text: graphql_docs.c), the limits
 * (document size, depth, aliases, cost) and the variables are all decided
 * before the first upstream call; a refusal is
 * a 400 with errors and no data (a mutation that came by GET, a 405). Then
 * each wave's loads become HTTP calls made at once on a curl multi handle
 * (souk_http_fetch_all, on the request's thread): one call per REST load,
 * and one call for all the products of the wave (POST
 * /internal/products/batch, or GET /products/{id} when the wave asks for a
 * single product, which product-service answers from its cache). Products
 * already loaded in the request are not asked for again, and a product the
 * request writes replaces what it had loaded.
 *
 * The caller's token, request id and address go with every call; the trace
 * gets a span per call a resolver asked for. A service's refusal becomes the
 * field's error (401 UNAUTHENTICATED, 403 FORBIDDEN, 404 NOT_FOUND, other
 * 4xx BAD_USER_INPUT with the service's detail, 5xx and transport failures
 * INTERNAL without it), and the rest of the response is still served. */
#include "graphql_gw.h"

#include <stdio.h>
#include <string.h>

#define PRODUCT_BATCH_MAX 100 /* ids per call that product-service accepts */
#define MESSAGE_MAX       512
#define CALL_HEADERS      8

typedef enum { CALL_REST, CALL_PRODUCT } kind_t;

typedef struct {
    kind_t kind;
    upstream_id_t up;
    const char *label;
    souk_gql_batch_t *b;
    size_t entry; /* REST: the entry it answers */
    json_t *arg;  /* REST: that entry's argument (borrowed) */
    json_t *ids;  /* PRODUCT: the ids asked (owned) */
    souk_span_t span;
} call_t;

/* The calls of one wave. */
typedef struct {
    gw_gql_req_t *req;
    gateway_t *gw;
    souk_arena_t *a;
    call_t *calls;
    souk_http_request_t *reqs;
    size_t n, cap;
    json_t *failed; /* product id -> {code, message} of a failed product call */
} wave_t;

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
static void problem_message(const souk_http_response_t *r, char *out, size_t cap)
{
    json_t *p = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    const char *detail = json_string_value(json_object_get(p, "detail"));
    int k = snprintf(out, cap, "%s", detail ? detail : souk_http_status_title((int)r->status));
    json_t *errors = json_object_get(p, "errors"), *e;
    size_t i;
    json_array_foreach(errors, i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        const char *m = json_string_value(json_object_get(e, "message"));
        if (k >= 0 && (size_t)k < cap && f && m)
            k += snprintf(out + k, cap - (size_t)k, "%s%s: %s", i ? "; " : ": ", f, m);
    }
    char retry[16];
    if (r->status == 429 && k >= 0 && (size_t)k < cap &&
        souk_http_response_header(r, "Retry-After", retry, sizeof(retry)))
        snprintf(out + k, cap - (size_t)k, " (retry in %s s)", retry);
    json_decref(p);
}

/* Why a call did not give a 2xx answer: the field's code and message. */
static souk_gql_code_t failure(const upstream_t *u, souk_err_t err, const souk_http_response_t *r,
                               char *msg, size_t cap)
{
    if (err == SOUK_ETIMEOUT)
        snprintf(msg, cap, "the %s service did not answer in time", u->name);
    else if (err == SOUK_EUNAVAIL)
        snprintf(msg, cap, "the %s service is unavailable", u->name);
    else if (err)
        snprintf(msg, cap, "the call to the %s service failed", u->name);
    else if (r->status >= 500 || r->status < 400)
        snprintf(msg, cap, "the %s service failed (status %ld)", u->name, r->status);
    else
        problem_message(r, msg, cap);
    return err ? SOUK_GQL_INTERNAL : code_of(r->status);
}

static void count(wave_t *w, const char *label, const char *outcome)
{
    souk_metric_inc(w->req->g->resolver_calls, (const char *[]){label, outcome}, 1);
}

/* ---- planning the calls -----------------------------------------------------------------------
 */

static const char *const *call_headers(wave_t *w, bool body, const char *key)
{
    const gw_gql_caller_t *c = w->req->caller;
    const char **h = souk_arena_alloc(w->a, CALL_HEADERS * sizeof(*h));
    size_t n = 0;
    h[n++] = "Accept: application/json";
    h[n++] = "X-Forwarded-Proto: http";
    if (c->bearer)
        h[n++] = souk_arena_printf(w->a, "Authorization: Bearer %s", c->bearer);
    if (c->request_id)
        h[n++] = souk_arena_printf(w->a, "X-Request-Id: %s", c->request_id);
    if (c->client_ip)
        h[n++] = souk_arena_printf(w->a, "X-Forwarded-For: %s", c->client_ip);
    if (body)
        h[n++] = "Content-Type: application/json";
    if (key && n < CALL_HEADERS - 1)
        h[n++] = souk_arena_printf(w->a, "Idempotency-Key: %s", key);
    h[n] = NULL;
    return h;
}

static call_t *add_call(wave_t *w, kind_t kind, upstream_id_t up, const char *label,
                        const char *method, const char *path, json_t *body, const char *key)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->calls = souk_realloc(w->calls, w->cap * sizeof(*w->calls));
        w->reqs = souk_realloc(w->reqs, w->cap * sizeof(*w->reqs));
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    souk_arena_defer(w->a, free, text);
    call_t *c = &w->calls[w->n];
    *c = (call_t){.kind = kind, .up = up, .label = label};
    w->reqs[w->n++] = (souk_http_request_t){
        .method = method,
        .url = souk_arena_printf(w->a, "%s%s", w->gw->upstreams[up].base_url, path),
        .headers = call_headers(w, text != NULL, key),
        .body = text,
        .body_len = text ? strlen(text) : 0,
        .path_as_is = true,
        .timeout_ms = w->gw->timeout_ms,
        .connect_timeout_ms = 1000,
    };
    return c;
}

static void plan_rest(wave_t *w, souk_gql_batch_t *b, size_t i)
{
    const char *key = souk_gql_batch_key(b, i), *sp = strchr(key, ' ');
    json_t *arg = souk_gql_batch_arg(b, i);
    json_int_t up = json_integer_value(json_object_get(arg, "up"));
    const char *label = gw_graphql_field_label(json_string_value(json_object_get(arg, "field")));
    if (!sp || up < 0 || up >= UP__COUNT) {
        souk_gql_batch_fail(b, i, SOUK_GQL_INTERNAL, "the field asked for an unknown call");
        count(w, label, souk_gql_code_name(SOUK_GQL_INTERNAL));
        return;
    }
    const upstream_t *u = &w->gw->upstreams[up];
    if (!u->base_url) {
        souk_gql_batch_fail(b, i, SOUK_GQL_INTERNAL, "the %s service is not deployed", u->name);
        count(w, label, souk_gql_code_name(SOUK_GQL_INTERNAL));
        return;
    }
    const char *method = souk_arena_strndup(w->a, key, (size_t)(sp - key));
    call_t *c =
        add_call(w, CALL_REST, (upstream_id_t)up, label, method, sp + 1,
                 json_object_get(arg, "body"), json_string_value(json_object_get(arg, "key")));
    c->b = b;
    c->entry = i;
    c->arg = arg;
}

/* The products of the batch that this request has not loaded yet, in calls of
 * at most PRODUCT_BATCH_MAX ids (one call for any realistic response). */
static void plan_products(wave_t *w, souk_gql_batch_t *b)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < souk_gql_batch_size(b); i++)
        if (!json_object_get(w->req->products, souk_gql_batch_key(b, i)))
            json_array_append_new(ids, json_string(souk_gql_batch_key(b, i)));
    const upstream_t *u = &w->gw->upstreams[UP_PRODUCT];
    for (size_t at = 0; at < json_array_size(ids) && !u->base_url; at++)
        json_object_set_new(w->failed, json_string_value(json_array_get(ids, at)),
                            json_pack("{s:i, s:s}", "code", SOUK_GQL_INTERNAL, "message",
                                      "the product service is not deployed"));
    for (size_t at = 0; at < json_array_size(ids) && u->base_url; at += PRODUCT_BATCH_MAX) {
        size_t n = json_array_size(ids) - at;
        n = n < PRODUCT_BATCH_MAX ? n : PRODUCT_BATCH_MAX;
        json_t *chunk = json_array();
        for (size_t k = 0; k < n; k++)
            json_array_append(chunk, json_array_get(ids, at + k));
        call_t *c;
        if (n == 1) {
            const char *path = souk_arena_printf(w->a, "/products/%s",
                                                 json_string_value(json_array_get(chunk, 0)));
            c = add_call(w, CALL_PRODUCT, UP_PRODUCT, "Product", "GET", path, NULL, NULL);
        } else {
            json_t *body = json_pack("{s:O}", "ids", chunk);
            c = add_call(w, CALL_PRODUCT, UP_PRODUCT, "Product", "POST", "/internal/products/batch",
                         body, NULL);
            json_decref(body);
        }
        c->b = b;
        c->ids = chunk;
        souk_metric_observe(w->req->g->batch_size, NULL, (double)n);
    }
    json_decref(ids);
}

/* ---- results ----------------------------------------------------------------------------------
 */

static json_t *body_json(const souk_http_response_t *r)
{
    if (r->body.len == 0)
        return json_true(); /* 204: done */
    return json_loadb(r->body.data, r->body.len, 0, NULL);
}

/* Answers the call's entry; false (with code and msg) when the call failed. */
static bool finish_rest(wave_t *w, call_t *c, souk_err_t err, const souk_http_response_t *r,
                        char *msg, size_t cap, souk_gql_code_t *code)
{
    json_t *v = NULL;
    if (err || r->status < 200 || r->status >= 300) {
        *code = failure(&w->gw->upstreams[c->up], err, r, msg, cap);
        souk_gql_batch_fail(c->b, c->entry, *code, "%s", msg);
        return false;
    }
    if (!(v = body_json(r))) {
        *code = SOUK_GQL_INTERNAL;
        snprintf(msg, cap, "the %s service answered something that is not JSON",
                 w->gw->upstreams[c->up].name);
        souk_gql_batch_fail(c->b, c->entry, *code, "%s", msg);
        return false;
    }
    const char *id = json_string_value(json_object_get(v, "id"));
    if (json_is_true(json_object_get(c->arg, "caches")) && id)
        json_object_set(w->req->products, id, v);
    const char *drops = json_string_value(json_object_get(c->arg, "drops"));
    if (drops)
        json_object_set_new(w->req->products, drops, json_null());
    souk_gql_batch_resolve(c->b, c->entry, v);
    return true;
}

/* Keeps the products the call brought; false (with code and msg, also kept
 * for its ids) when it failed. */
static bool finish_products(wave_t *w, call_t *c, souk_err_t err, const souk_http_response_t *r,
                            char *msg, size_t cap, souk_gql_code_t *code)
{
    json_t *products = w->req->products, *id, *body = NULL, *p;
    size_t i;
    bool one = json_array_size(c->ids) == 1;
    if (!err && one && r->status == 404) {
        json_object_set_new(products, json_string_value(json_array_get(c->ids, 0)), json_null());
        return true;
    }
    if (!err && r->status == 200 && (body = json_loadb(r->body.data, r->body.len, 0, NULL))) {
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
    *code = err || r->status != 200 ? failure(&w->gw->upstreams[UP_PRODUCT], err, r, msg, cap)
                                    : SOUK_GQL_INTERNAL;
    if (!err && r->status == 200)
        snprintf(msg, cap, "the product service answered something that is not JSON");
    json_array_foreach(c->ids, i, id)
    {
        json_object_set_new(w->failed, json_string_value(id),
                            json_pack("{s:i, s:s}", "code", (int)*code, "message", msg));
    }
    return false;
}

/* Answers every key of a product batch from the request's products, or with
 * the error of the call that should have brought it. */
static void answer_products(wave_t *w, souk_gql_batch_t *b)
{
    for (size_t i = 0; i < souk_gql_batch_size(b); i++) {
        const char *key = souk_gql_batch_key(b, i);
        json_t *p = json_object_get(w->req->products, key);
        json_t *f = json_object_get(w->failed, key);
        if (p)
            souk_gql_batch_resolve(b, i, json_is_null(p) ? NULL : json_incref(p));
        else if (f)
            souk_gql_batch_fail(b, i,
                                (souk_gql_code_t)json_integer_value(json_object_get(f, "code")),
                                "%s", json_string_value(json_object_get(f, "message")));
    }
}

static void start_span(wave_t *w, call_t *c)
{
    const gw_gql_req_t *req = w->req;
    char name[96];
    snprintf(name, sizeof(name), "graphql.resolve %s", c->label);
    souk_span_start(&c->span, SOUK_SPAN_INTERNAL, name, req->caller->trace, NULL);
    if (!souk_span_recording(&c->span))
        return;
    souk_span_attr_str(&c->span, "graphql.operation.type", req->op_type);
    souk_span_attr_str(&c->span, "graphql.operation.name", req->op_name);
    souk_span_attr_str(&c->span, "souk.graphql.field", c->label);
    if (c->kind == CALL_PRODUCT)
        souk_span_attr_int(&c->span, "souk.graphql.batch.size", (long long)json_array_size(c->ids));
}

static void run_calls(wave_t *w)
{
    souk_http_response_t *resps = souk_calloc(w->n ? w->n : 1, sizeof(*resps));
    souk_err_t *errs = souk_calloc(w->n ? w->n : 1, sizeof(*errs));
    for (size_t i = 0; i < w->n; i++)
        start_span(w, &w->calls[i]);
    uint64_t t0 = souk_now_mono_ns();
    if (w->n)
        w->req->g->fetch(w->req->g->fetch_ud, w->reqs, resps, errs, w->n);
    double secs = (double)(souk_now_mono_ns() - t0) / 1e9;
    w->req->calls += (unsigned)w->n;
    for (size_t i = 0; i < w->n; i++) {
        call_t *c = &w->calls[i];
        char msg[MESSAGE_MAX] = "";
        souk_gql_code_t code = SOUK_GQL_INTERNAL;
        gw_upstream_count(w->gw, c->up, errs[i], &resps[i], secs);
        bool failed = c->kind == CALL_REST
                          ? !finish_rest(w, c, errs[i], &resps[i], msg, sizeof(msg), &code)
                          : !finish_products(w, c, errs[i], &resps[i], msg, sizeof(msg), &code);
        count(w, c->label, failed ? souk_gql_code_name(code) : "ok");
        if (resps[i].status)
            souk_span_attr_int(&c->span, "http.response.status_code", resps[i].status);
        if (failed)
            souk_span_error(&c->span, souk_gql_code_name(code));
        souk_span_end(&c->span);
        json_decref(c->ids);
        souk_http_response_cleanup(&resps[i]);
    }
    souk_free(resps);
    souk_free(errs);
}

/* One wave: every batch's calls at once, then every key answered. */
static void run_wave(gw_gql_req_t *req, souk_gql_exec_t *ex)
{
    wave_t w = {.req = req, .gw = req->g->gw, .a = souk_arena_new(), .failed = json_object()};
    size_t nb = souk_gql_exec_batch_count(ex);
    for (size_t k = 0; k < nb; k++) {
        souk_gql_batch_t *b = souk_gql_exec_batch(ex, k);
        const char *loader = souk_gql_batch_loader(b);
        if (strcmp(loader, GW_GQL_LOAD_PRODUCT) == 0)
            plan_products(&w, b);
        else if (strcmp(loader, GW_GQL_LOAD_REST) == 0)
            for (size_t i = 0; i < souk_gql_batch_size(b); i++)
                plan_rest(&w, b, i);
    }
    run_calls(&w);
    for (size_t k = 0; k < nb; k++) {
        souk_gql_batch_t *b = souk_gql_exec_batch(ex, k);
        if (strcmp(souk_gql_batch_loader(b), GW_GQL_LOAD_PRODUCT) == 0)
            answer_products(&w, b);
    }
    json_decref(w.failed);
    souk_free(w.calls);
    souk_free(w.reqs);
    souk_arena_free(w.a);
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

void gw_graphql_execute(gw_graphql_t *g, const gw_gql_caller_t *caller, const gw_gql_params_t *p,
                        gw_gql_result_t *out)
{
    uint64_t t0 = souk_now_mono_ns();
    gw_gql_req_t req = {.g = g,
                        .caller = caller,
                        .op_type = "none",
                        .op_name = "anonymous",
                        .products = json_object()};
    gw_gql_doc_ref_t *ref = NULL;
    const souk_gql_doc_t *doc;
    souk_gql_exec_t *ex = NULL;
    json_t *errors = NULL;
    souk_gql_op_t type;
    const char *name = NULL;
    bool hit = false;
    *out = (gw_gql_result_t){.status = 400};
    if (gw_gql_docs_get(g->docs, g->schema, p->query, p->query_len, &g->limits, &ref, &hit,
                        &errors)) {
        out->body = json_pack("{s:o}", "errors", errors);
        goto out;
    }
    souk_metric_inc(g->doc_cache, (const char *[]){hit ? "hit" : "miss"}, 1);
    doc = gw_gql_doc(ref);
    if (souk_gql_doc_operation(doc, p->operation_name, &type, &name) == SOUK_OK) {
        req.op_type = type_label(type);
        req.op_name = name_label(g, name);
        if (p->get && type != SOUK_GQL_QUERY) {
            out->status = 405;
            out->body = request_error("Only queries are accepted over GET; send mutations by POST.",
                                      "METHOD_NOT_ALLOWED");
            goto out;
        }
    }
    if (souk_gql_exec_new(doc, g->resolvers, p->operation_name, p->variables, &req, &g->limits, &ex,
                          &errors)) {
        out->body = json_pack("{s:o}", "errors", errors);
        goto out;
    }
    while (souk_gql_exec_run(ex) == SOUK_GQL_PENDING)
        run_wave(&req, ex);
    out->status = 200;
    out->body = souk_gql_exec_result(ex);
    out->waves = souk_gql_exec_waves(ex);
out:
    out->calls = req.calls;
    out->op_type = req.op_type;
    out->op_name = req.op_name;
    const char *outcome = out->status != 200                     ? "refused"
                          : json_object_get(out->body, "errors") ? "errors"
                                                                 : "ok";
    souk_metric_inc(g->operations, (const char *[]){req.op_type, req.op_name, outcome}, 1);
    souk_metric_observe(g->op_seconds, (const char *[]){req.op_type},
                        (double)(souk_now_mono_ns() - t0) / 1e9);
    souk_gql_exec_free(ex);
    gw_gql_docs_release(g->docs, ref);
    json_decref(req.products);
}
