/* store.c: order-service's SQL. An order is read with its lines in one
 * statement (json_agg), so a page of orders is one round trip. */
#include "order.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define ITEMS                                                                                      \
    "(SELECT json_agg(json_build_object('product_id', i.product_id, 'name', i.name,"               \
    " 'quantity', i.quantity, 'unit_price_cents', i.unit_price_cents) ORDER BY i.product_id)"      \
    " FROM order_items i WHERE i.order_id = o.id)"
#define COLS                                                                                       \
    "o.id, o.user_id, o.status, o.reason, " ITEMS                                                  \
    ", o.total_cents, o.currency, " TS("o.created_at") ", " TS("o.updated_at")

static const souk_db_stmt_t q_insert = {
    "order_insert",
    "INSERT INTO orders (id, user_id, status, total_cents, currency, idempotency_key,"
    " request_hash) VALUES ($1, $2, 'pending', $3, $4, $5, $6)"
    " ON CONFLICT ON CONSTRAINT orders_idempotency DO NOTHING"};
static const souk_db_stmt_t q_items = {
    "order_items_insert",
    "INSERT INTO order_items (order_id, product_id, name, category, quantity, unit_price_cents)"
    " SELECT $1, x.product_id, x.name, x.category, x.quantity, x.unit_price_cents"
    " FROM json_to_recordset($2::json)"
    " AS x(product_id uuid, name text, category text, quantity integer, unit_price_cents bigint)"};
static const souk_db_stmt_t q_event_items = {
    "order_event_items",
    "SELECT coalesce(json_agg(json_build_object('product_id', i.product_id, 'name', i.name,"
    " 'category', i.category, 'quantity', i.quantity, 'unit_price_cents', i.unit_price_cents)"
    " ORDER BY i.product_id), '[]') FROM order_items i WHERE i.order_id = $1"};
static const souk_db_stmt_t q_get = {"order_get", "SELECT " COLS " FROM orders o WHERE o.id = $1"};
static const souk_db_stmt_t q_get_lock = {
    "order_get_lock", "SELECT " COLS " FROM orders o WHERE o.id = $1 FOR UPDATE OF o"};
static const souk_db_stmt_t q_by_key = {"order_by_key",
                                        "SELECT " COLS ", o.request_hash FROM orders o"
                                        " WHERE o.user_id = $1 AND o.idempotency_key = $2"};
static const souk_db_stmt_t q_status = {
    "order_set_status", "UPDATE orders SET status = $2, reason = $3, updated_at = now()"
                        " WHERE id = $1"};
static const souk_db_stmt_t q_list = {"order_list",
                                      "SELECT " COLS " FROM orders o"
                                      " WHERE ($1::uuid IS NULL OR o.user_id = $1)"
                                      " AND ($2::text IS NULL OR o.status = $2)"
                                      " ORDER BY o.created_at DESC, o.id LIMIT $3 OFFSET $4"};
static const souk_db_stmt_t q_count = {"order_count", "SELECT count(*) FROM orders o"
                                                      " WHERE ($1::uuid IS NULL OR o.user_id = $1)"
                                                      " AND ($2::text IS NULL OR o.status = $2)"};
static const souk_db_stmt_t q_by_status = {"order_status_counts",
                                           "SELECT status, count(*) FROM orders GROUP BY status"};

static json_t *row_json(const PGresult *res, int r)
{
    const char *reason = souk_db_value(res, r, 3);
    const char *items = souk_db_value(res, r, 4);
    json_t *lines = items ? json_loads(items, 0, NULL) : NULL;
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:s, s:s, s:s}", "id", PQgetvalue(res, r, 0),
                     "user_id", PQgetvalue(res, r, 1), "status", PQgetvalue(res, r, 2), "reason",
                     reason ? json_string(reason) : json_null(), "items",
                     lines ? lines : json_array(), "total_cents",
                     (json_int_t)souk_db_int(res, r, 5), "currency", PQgetvalue(res, r, 6),
                     "created_at", PQgetvalue(res, r, 7), "updated_at", PQgetvalue(res, r, 8));
}

souk_err_t store_order_insert(souk_db_conn_t *c, const order_new_t *o,
                              char id[SOUK_UUID_STRLEN + 1])
{
    char total[24];
    souk_uuid_v4(id);
    snprintf(total, sizeof(total), "%lld", o->total_cents);
    const char *p[] = {id, o->user_id, total, o->currency, o->idempotency_key, o->request_hash};
    souk_err_t err = souk_db_exec_one(c, &q_insert, 6, p);
    if (err == SOUK_ENOTFOUND)
        err = SOUK_ECONFLICT; /* nothing inserted: the same Idempotency-Key won a race */
    if (err)
        return err;
    /* All lines in one statement; jansson does the quoting. */
    json_t *lines = json_array();
    for (size_t i = 0; i < o->nitems; i++)
        json_array_append_new(lines,
                              json_pack("{s:s, s:s, s:s*, s:I, s:I}", "product_id",
                                        o->items[i].line.product_id, "name", o->items[i].name,
                                        "category", o->items[i].category, "quantity",
                                        (json_int_t)o->items[i].line.quantity, "unit_price_cents",
                                        (json_int_t)o->items[i].unit_price_cents));
    char *text = json_dumps(lines, JSON_COMPACT);
    json_decref(lines);
    err = text ? souk_db_query(c, &q_items, 2, (const char *[]){id, text}, NULL) : SOUK_EINVAL;
    free(text);
    return err;
}

static souk_err_t one(souk_db_conn_t *c, const souk_db_stmt_t *st, int n, const char *const *p,
                      json_t **out, char hash[65])
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, st, n, p, &res);
    if (err)
        return err;
    *out = row_json(res, 0);
    if (hash)
        snprintf(hash, 65, "%s", PQgetvalue(res, 0, 9));
    PQclear(res);
    return SOUK_OK;
}

souk_err_t store_order_get(souk_db_conn_t *c, const char *id, bool lock, json_t **out)
{
    return one(c, lock ? &q_get_lock : &q_get, 1, (const char *[]){id}, out, NULL);
}

souk_err_t store_order_by_key(souk_db_conn_t *c, const char *user_id, const char *key, json_t **out,
                              char hash[65])
{
    return one(c, &q_by_key, 2, (const char *[]){user_id, key}, out, hash);
}

souk_err_t store_order_set_status(souk_db_conn_t *c, const char *id, order_status_t s,
                                  const char *reason, json_t **out)
{
    souk_err_t err =
        souk_db_query(c, &q_status, 3, (const char *[]){id, order_status_name(s), reason}, NULL);
    return err ? err : store_order_get(c, id, false, out);
}

souk_err_t store_order_event_items(souk_db_conn_t *c, const char *id, json_t **items)
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, &q_event_items, 1, (const char *[]){id}, &res);
    if (err)
        return err;
    *items = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return *items ? SOUK_OK : SOUK_EINTERNAL;
}

souk_err_t store_order_list(souk_db_conn_t *c, const char *user_id, const char *status,
                            const souk_page_t *pg, json_t **items, long long *total)
{
    souk_db_page_query_t q = {.rows = &q_list,
                              .count = &q_count,
                              .nparams = 2,
                              .params = (const char *[]){user_id, status},
                              .limit = pg->limit,
                              .offset = (pg->page - 1) * pg->limit,
                              .row = row_json};
    return souk_db_page(c, &q, items, total);
}

static souk_err_t status_counts(souk_db_conn_t *c, souk_buf_t *out)
{
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_by_status, 0, NULL, &res);
    if (err)
        return err;
    long long counts[ORDER__STATUS_COUNT] = {0};
    for (int i = 0; i < PQntuples(res); i++) {
        order_status_t s;
        if (order_status_parse(PQgetvalue(res, i, 0), &s))
            counts[s] = souk_db_int(res, i, 1);
    }
    PQclear(res);
    err = souk_buf_appendf(out, "# HELP orders_by_status Orders by current status.\n"
                                "# TYPE orders_by_status gauge\n");
    for (int s = 0; err == SOUK_OK && s < ORDER__STATUS_COUNT; s++)
        err = souk_buf_appendf(out, "orders_by_status{status=\"%s\"} %lld\n",
                               order_status_name((order_status_t)s), counts[s]);
    return err;
}

typedef struct {
    souk_buf_t *out;
} collect_t;

static souk_err_t collect_fn(souk_db_conn_t *c, void *ud)
{
    return status_counts(c, ((collect_t *)ud)->out);
}

souk_err_t order_collect_statuses(souk_buf_t *out, void *ud)
{
    order_app_t *app = ud;
    collect_t x = {out};
    souk_err_t err = souk_db_run(app->db, collect_fn, &x);
    /* a scrape without these beats a failed scrape; only a full buffer fails */
    return err == SOUK_ELIMIT ? err : SOUK_OK;
}
