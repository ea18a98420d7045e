/* place.c: placing an order, as a plain function the HTTP handler and the
 * unit tests call. Three steps, each holding only what it needs: a database
 * lease to look for an earlier order with the same Idempotency-Key; the
 * catalog call with no lease at all; a lease and one transaction that store
 * the order, its lines and its order.placed event together. */
#include "order.h"

#include <string.h>

typedef struct {
    const order_place_req_t *req;
    const char *hash;
    json_t *order;
    char stored_hash[65];
} lookup_t;

static souk_err_t find_by_key(souk_db_conn_t *c, void *ud)
{
    lookup_t *l = ud;
    return store_order_by_key(c, l->req->user_id, l->req->idempotency_key, &l->order,
                              l->stored_hash);
}

/* An earlier order of this key: REPLAYED, or KEY_REUSED when it was made by
 * a different request. Returns false when there is none (or on an error,
 * with out->err set and *outcome FAILED). */
static bool replay(order_app_t *app, const order_place_req_t *req, const char *hash,
                   order_place_result_t *out, order_place_outcome_t *outcome)
{
    lookup_t l = {.req = req, .hash = hash};
    souk_err_t err = souk_db_run(app->db, find_by_key, &l);
    if (err == SOUK_ENOTFOUND)
        return false;
    if (err) {
        out->err = err;
        *outcome = ORDER_PLACE_FAILED;
    } else if (strcmp(l.stored_hash, hash) != 0) {
        json_decref(l.order);
        *outcome = ORDER_PLACE_KEY_REUSED;
    } else {
        out->order = l.order;
        *outcome = ORDER_PLACE_REPLAYED;
    }
    return true;
}

static void add_error(json_t *errors, const char *message)
{
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "items", "message", message));
}

/* Prices the lines from the catalog's answer into items and o; the errors
 * (unknown products, mixed currencies) go to errors. */
static void price(const order_place_req_t *req, json_t *found, order_item_t *items, order_new_t *o,
                  json_t *errors)
{
    char msg[128];
    for (size_t i = 0; i < req->nlines; i++) {
        const order_line_t *line = &req->lines[i];
        json_t *p = json_object_get(found, line->product_id);
        if (!p) {
            snprintf(msg, sizeof(msg), "product %s does not exist", line->product_id);
            add_error(errors, msg);
            continue;
        }
        const char *cur = json_string_value(json_object_get(p, "currency"));
        if (o->currency && cur && strcmp(o->currency, cur) != 0)
            add_error(errors, "all products of an order must share one currency");
        o->currency = o->currency ? o->currency : cur;
        items[i].line = *line;
        items[i].name = json_string_value(json_object_get(p, "name"));
        items[i].category = json_string_value(json_object_get(p, "category"));
        items[i].unit_price_cents = json_integer_value(json_object_get(p, "price_cents"));
        o->total_cents += items[i].unit_price_cents * line->quantity;
    }
}

typedef struct {
    const order_new_t *o;
    const char *traceparent;
    json_t *order;
} insert_t;

static souk_err_t insert_tx(souk_db_conn_t *c, void *ud)
{
    insert_t *ins = ud;
    char id[SOUK_UUID_STRLEN + 1];
    souk_err_t err = store_order_insert(c, ins->o, id);
    if (err == SOUK_OK)
        err = store_order_get(c, id, false, &ins->order);
    if (err == SOUK_OK)
        err = order_emit(c, "placed", ins->order, ins->traceparent);
    if (err) {
        json_decref(ins->order);
        ins->order = NULL;
    }
    return err;
}

order_place_outcome_t order_place(order_app_t *app, const order_place_req_t *req,
                                  order_place_result_t *out)
{
    memset(out, 0, sizeof(*out));
    order_place_outcome_t outcome = ORDER_PLACE_FAILED;
    char hash[65];
    order_lines_hash(req->lines, req->nlines, hash);
    if (req->idempotency_key && replay(app, req, hash, out, &outcome))
        return outcome;
    json_t *found = NULL;
    if (app->catalog(app->catalog_ud, req->lines, req->nlines, req->request_id, req->traceparent,
                     &found) != SOUK_OK)
        return ORDER_PLACE_NO_CATALOG;
    order_item_t items[ORDER_MAX_ITEMS];
    order_new_t o = {.user_id = req->user_id,
                     .idempotency_key = req->idempotency_key,
                     .request_hash = hash,
                     .items = items,
                     .nitems = req->nlines};
    json_t *errors = json_array();
    price(req, found, items, &o, errors);
    if (json_array_size(errors)) {
        out->errors = errors;
        outcome = ORDER_PLACE_UNORDERABLE;
    } else {
        json_decref(errors);
        insert_t ins = {.o = &o, .traceparent = req->traceparent};
        out->err = souk_db_run_tx(app->db, insert_tx, &ins);
        out->order = ins.order;
        outcome = out->err ? ORDER_PLACE_FAILED : ORDER_PLACE_CREATED;
        /* A concurrent request with the same key won the race: its order. */
        if (out->err == SOUK_ECONFLICT && req->idempotency_key) {
            out->err = SOUK_OK;
            if (!replay(app, req, hash, out, &outcome)) {
                out->err = SOUK_ECONFLICT;
                outcome = ORDER_PLACE_FAILED;
            }
        }
    }
    json_decref(found);
    return outcome;
}
