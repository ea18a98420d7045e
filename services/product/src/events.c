/* events.c: product-service's side of the event flow. It consumes the orders
 * topic and moves inventory: order.placed reserves every line of the order or
 * none (conditional decrements inside one transaction, so stock never goes
 * below zero whatever runs concurrently), order.cancelled releases exactly
 * what was reserved, once. Every order.placed gets exactly one answer,
 * inventory.reserved or inventory.rejected, also when its lines cannot be
 * read or its handling ends in the dead-letter table. It publishes product.*
 * catalog changes through the outbox too. */
#include "product.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const souk_db_stmt_t q_res_lock = {
    "reservation_lock", "SELECT status, items::text FROM reservations WHERE order_id = $1"
                        " FOR UPDATE"};
static const souk_db_stmt_t q_res_put = {
    "reservation_put",
    "INSERT INTO reservations (order_id, status, items, reason) VALUES ($1, $2, $3::jsonb, $4)"
    " ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason,"
    " updated_at = now()"};
static const souk_db_stmt_t q_take = {"stock_take",
                                      "UPDATE products SET stock = stock - $2, updated_at = now()"
                                      " WHERE id = $1 AND stock >= $2"};
static const souk_db_stmt_t q_give = {
    "stock_give", "UPDATE products SET stock = stock + $2, updated_at = now() WHERE id = $1"};

souk_err_t product_emit(souk_db_conn_t *c, const char *topic, const char *type, const char *key,
                        json_t *data, const char *traceparent)
{
    souk_outbox_msg_t m = {.topic = topic,
                           .type = type,
                           .key = key,
                           .subject = key,
                           .data = data,
                           .traceparent = traceparent};
    return souk_outbox_add(c, SOUK_SOURCE_PRODUCT, &m);
}

typedef struct {
    const char *product_id;
    long long quantity;
} line_t;

static int by_product(const void *a, const void *b)
{
    return strcmp(((const line_t *)a)->product_id, ((const line_t *)b)->product_id);
}

/* Lines of an order event, sorted by product so that concurrent reservations
 * lock rows in one order (no deadlocks); 0 when they cannot be read. */
static size_t read_lines(json_t *items, line_t out[SOUK_ORDER_MAX_LINES])
{
    size_t n = 0, i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        const char *id = json_string_value(json_object_get(it, "product_id"));
        json_t *q = json_object_get(it, "quantity");
        if (n == SOUK_ORDER_MAX_LINES || !id || !souk_uuid_valid(id, strlen(id)) ||
            !json_is_integer(q) || json_integer_value(q) <= 0 ||
            json_integer_value(q) > SOUK_ORDER_MAX_QUANTITY)
            return 0;
        out[n++] = (line_t){id, json_integer_value(q)};
    }
    qsort(out, n, sizeof(*out), by_product);
    return n;
}

static souk_err_t put(souk_db_conn_t *c, const char *order_id, const char *status, json_t *items,
                      const char *reason)
{
    char *text = json_dumps(items, JSON_COMPACT);
    souk_err_t err =
        souk_db_query(c, &q_res_put, 4, (const char *[]){order_id, status, text, reason}, NULL);
    free(text);
    return err;
}

static souk_err_t move_stock(souk_db_conn_t *c, const souk_db_stmt_t *st, const line_t *l,
                             bool *moved)
{
    char qty[24];
    PGresult *res;
    snprintf(qty, sizeof(qty), "%lld", l->quantity);
    souk_err_t err = souk_db_query(c, st, 2, (const char *[]){l->product_id, qty}, &res);
    if (err == SOUK_OK)
        *moved = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return err;
}

/* "reserved", "rejected", ... or "" when the order has no reservation row. */
static souk_err_t lock_reservation(souk_db_conn_t *c, const char *order_id, char status[16],
                                   json_t **items)
{
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_res_lock, 1, (const char *[]){order_id}, &res);
    if (err)
        return err;
    status[0] = '\0';
    if (PQntuples(res)) {
        snprintf(status, 16, "%s", PQgetvalue(res, 0, 0));
        if (items)
            *items = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    }
    PQclear(res);
    return SOUK_OK;
}

/* Records the order as rejected and says so, unless it was decided (or
 * cancelled) before: exactly one answer per order. */
static souk_err_t reject(souk_db_conn_t *c, const char *order_id, json_t *items, const char *reason,
                         const char *tp)
{
    json_t *none = json_array();
    json_t *data = json_pack("{s:s, s:O, s:s}", "order_id", order_id, "items",
                             json_is_array(items) ? items : none, "reason", reason);
    souk_err_t err = put(c, order_id, "rejected", none, reason);
    if (err == SOUK_OK)
        err = product_emit(c, SOUK_TOPIC_INVENTORY, SOUK_EV_INVENTORY_REJECTED, order_id, data, tp);
    json_decref(data);
    json_decref(none);
    return err;
}

/* Takes every line's quantity, or none: *short_of names the first product
 * that had too little (the savepoint undid the lines taken before it). */
static souk_err_t take_all(souk_db_conn_t *c, const line_t *lines, size_t n, const char **short_of)
{
    souk_err_t err = souk_db_savepoint(c, "reserve");
    *short_of = NULL;
    for (size_t i = 0; i < n && !err && !*short_of; i++) {
        bool moved = false;
        err = move_stock(c, &q_take, &lines[i], &moved);
        if (!moved)
            *short_of = lines[i].product_id;
    }
    if (err == SOUK_OK && *short_of)
        err = souk_db_rollback_to(c, "reserve");
    return err;
}

static souk_err_t reserve(souk_db_conn_t *c, const char *order_id, json_t *items, const char *tp)
{
    char status[16], reason[96];
    line_t lines[SOUK_ORDER_MAX_LINES];
    size_t n = read_lines(items, lines);
    const char *short_of = NULL;
    souk_err_t err = lock_reservation(c, order_id, status, NULL);
    if (err || status[0]) /* decided before, or cancelled first */
        return err;
    if (n == 0)
        return reject(c, order_id, items, "the order's lines cannot be read", tp);
    if ((err = take_all(c, lines, n, &short_of)) != SOUK_OK)
        return err;
    if (short_of) {
        snprintf(reason, sizeof(reason), "insufficient stock for product %s", short_of);
        return reject(c, order_id, items, reason, tp);
    }
    json_t *data = json_pack("{s:s, s:O}", "order_id", order_id, "items", items);
    err = put(c, order_id, "reserved", items, NULL);
    if (err == SOUK_OK)
        err = product_emit(c, SOUK_TOPIC_INVENTORY, SOUK_EV_INVENTORY_RESERVED, order_id, data, tp);
    json_decref(data);
    return err;
}

static souk_err_t release(souk_db_conn_t *c, const char *order_id, const char *tp)
{
    char status[16];
    json_t *items = NULL;
    souk_err_t err = lock_reservation(c, order_id, status, &items);
    if (err == SOUK_OK && !status[0]) { /* cancelled before reserved: tombstone */
        json_t *none = json_array();
        err = put(c, order_id, "cancelled", none, NULL);
        json_decref(none);
    } else if (err == SOUK_OK && strcmp(status, "reserved") == 0) {
        line_t lines[SOUK_ORDER_MAX_LINES];
        size_t n = read_lines(items, lines);
        for (size_t i = 0; i < n && !err; i++) {
            bool moved;
            err = move_stock(c, &q_give, &lines[i], &moved);
        }
        if (err == SOUK_OK)
            err = put(c, order_id, "released", items, NULL);
        json_t *data = json_pack("{s:s, s:O}", "order_id", order_id, "items", items);
        if (err == SOUK_OK)
            err = product_emit(c, SOUK_TOPIC_INVENTORY, SOUK_EV_INVENTORY_RELEASED, order_id, data,
                               tp);
        json_decref(data);
    }
    json_decref(items);
    return err;
}

const char *const product_topics[] = {SOUK_TOPIC_ORDERS, NULL};
const char *const product_types[] = {SOUK_EV_ORDER_PLACED, SOUK_EV_ORDER_CANCELLED, NULL};

souk_err_t product_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud)
{
    bool placed = strcmp(ev->type, SOUK_EV_ORDER_PLACED) == 0;
    bool cancelled = strcmp(ev->type, SOUK_EV_ORDER_CANCELLED) == 0;
    if (!placed && !cancelled)
        return SOUK_OK; /* confirmed/rejected and future types need nothing here */
    const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
    if (!order_id || !souk_uuid_valid(order_id, strlen(order_id)))
        return SOUK_EINVAL;
    if (placed)
        return reserve(c, order_id, json_object_get(ev->data, "items"), ev->traceparent);
    return release(c, order_id, ev->traceparent);
}

/* The products a batch will move stock of, locked at once in id order: the
 * lines of its placed orders, and what its cancelled orders hold reserved.
 * Each order's own lines are sorted, but two consumers handling batches of
 * several orders would otherwise lock shared products in opposite orders. */
static const souk_db_stmt_t q_lock_batch = {
    "product_lock_batch", "SELECT id FROM products WHERE id IN ("
                          " SELECT unnest($1::uuid[])"
                          " UNION SELECT (l->>'product_id')::uuid FROM reservations r,"
                          "  jsonb_array_elements(r.items) AS l"
                          "  WHERE r.order_id = ANY($2::uuid[]) AND r.status = 'reserved')"
                          " ORDER BY id FOR UPDATE"};

/* Appends id to a PostgreSQL array literal ("{a,b"); ids are checked UUIDs. */
static souk_err_t add_id(souk_buf_t *lit, const char *id)
{
    if (!id || !souk_uuid_valid(id, strlen(id)))
        return SOUK_OK; /* the handler refuses it; nothing to lock */
    return souk_buf_appendf(lit, "%s%s", lit->len > 1 ? "," : "", id);
}

static souk_err_t batch_ids(const souk_event_t *const *evs, size_t n, souk_buf_t *products,
                            souk_buf_t *orders)
{
    souk_err_t err = souk_buf_append(products, "{", 1) | souk_buf_append(orders, "{", 1);
    for (size_t i = 0; err == SOUK_OK && i < n; i++) {
        if (strcmp(evs[i]->type, SOUK_EV_ORDER_CANCELLED) == 0) {
            err = add_id(orders, json_string_value(json_object_get(evs[i]->data, "order_id")));
            continue;
        }
        size_t k;
        json_t *it;
        json_array_foreach(json_object_get(evs[i]->data, "items"), k, it)
        {
            if (err == SOUK_OK)
                err = add_id(products, json_string_value(json_object_get(it, "product_id")));
        }
    }
    if (err == SOUK_OK)
        err = souk_buf_append(products, "}", 1) | souk_buf_append(orders, "}", 1);
    return err ? SOUK_ENOMEM : SOUK_OK;
}

souk_err_t product_on_batch(souk_db_conn_t *c, const souk_event_t *const *evs, size_t n, void *ud)
{
    (void)ud;
    souk_buf_t products, orders;
    souk_buf_init(&products, 1024 * 1024);
    souk_buf_init(&orders, 1024 * 1024);
    souk_err_t err = batch_ids(evs, n, &products, &orders);
    if (err == SOUK_OK)
        err =
            souk_db_query(c, &q_lock_batch, 2, (const char *[]){products.data, orders.data}, NULL);
    souk_buf_cleanup(&products);
    souk_buf_cleanup(&orders);
    return err;
}

souk_err_t product_on_dead_letter(souk_db_conn_t *c, const souk_event_t *ev, const char *reason,
                                  void *ud)
{
    const char *order_id = json_string_value(json_object_get(ev->data, "order_id"));
    char status[16];
    if (strcmp(ev->type, SOUK_EV_ORDER_PLACED) != 0 || !order_id ||
        !souk_uuid_valid(order_id, strlen(order_id)))
        return SOUK_OK; /* nothing to answer, or no one to answer to */
    souk_err_t err = lock_reservation(c, order_id, status, NULL);
    if (err || status[0])
        return err;
    return reject(c, order_id, json_object_get(ev->data, "items"),
                  "the order could not be processed", ev->traceparent);
}

typedef struct {
    const char *sql;
    int seeded;
} seed_t;

static souk_err_t seed_tx(souk_db_conn_t *c, void *ud)
{
    seed_t *s = ud;
    json_t *items = NULL;
    bool seeded = false;
    souk_err_t err = store_seed_demo(c, s->sql, &seeded, &items);
    size_t i;
    json_t *p;
    json_array_foreach(items, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "id"));
        if (err == SOUK_OK)
            err = product_emit(c, SOUK_TOPIC_PRODUCTS, SOUK_EV_PRODUCT_CREATED, id, p, NULL);
    }
    s->seeded = seeded ? (int)json_array_size(items) : 0;
    json_decref(items);
    return err;
}

souk_err_t product_seed_demo(product_app_t *app, const char *sql)
{
    seed_t s = {sql, 0};
    souk_err_t err = souk_db_run_tx(app->db, seed_tx, &s);
    if (err == SOUK_OK && s.seeded)
        souk_log_info("loaded the demo catalog (%d products)", s.seeded);
    return err;
}
