/* order.h: order-service's context, rules, store and event handling. The
 * rules (line validation and merging, the status state machine) are plain
 * functions the unit tests call directly. */
#ifndef ORDER_H
#define ORDER_H

#include <souk/auth.h>
#include <souk/bus.h>
#include <souk/db.h>
#include <souk/http.h>

#define ORDER_MAX_ITEMS    50
#define ORDER_MAX_QUANTITY 1000
#define ORDER_SOURCE       "/order-service"

typedef struct {
    souk_db_pool_t *db;
    souk_jwt_verifier_t *verifier;
    souk_http_client_t *client;
    souk_bus_t *bus;
    char *product_url;
    souk_metric_t *placed;
} order_app_t;

/* ---- rules.c -------------------------------------------------------------- */

typedef enum {
    ORDER_PENDING,
    ORDER_CONFIRMED,
    ORDER_REJECTED,
    ORDER_CANCELLED,
    ORDER__STATUS_COUNT
} order_status_t;

const char *order_status_name(order_status_t s);
/* false for an unknown name */
bool order_status_parse(const char *name, order_status_t *out);
/* pending -> confirmed | rejected | cancelled; confirmed -> cancelled. */
bool order_transition_allowed(order_status_t from, order_status_t to);

typedef struct {
    char product_id[SOUK_UUID_STRLEN + 1];
    long long quantity;
} order_line_t;

/* Validates {"items":[{product_id, quantity}]} into lines, merging lines of
 * one product (quantities added). Errors go to v with fields like
 * "items[2].quantity". */
size_t order_parse_lines(souk_valid_t *v, json_t *body, order_line_t lines[ORDER_MAX_ITEMS]);
/* A stable hash of the merged lines (hex, out[65]) to recognise a replayed
 * Idempotency-Key with a different request. */
void order_lines_hash(const order_line_t *lines, size_t n, char out[65]);

/* ---- store.c -------------------------------------------------------------- */

/* A priced line, ready to store. */
typedef struct {
    order_line_t line;
    const char *name;
    long long unit_price_cents;
} order_item_t;

typedef struct {
    const char *user_id;
    const char *idempotency_key; /* may be NULL */
    const char *request_hash;
    const char *currency;
    long long total_cents;
    const order_item_t *items;
    size_t nitems;
} order_new_t;

/* Inserts the order and its items; SOUK_ECONFLICT when (user, key) exists.
 * *id receives the new id. */
souk_err_t store_order_insert(souk_db_conn_t *c, const order_new_t *o,
                              char id[SOUK_UUID_STRLEN + 1]) SOUK_MUST_CHECK;
/* The order as a new JSON object; lock: SELECT ... FOR UPDATE (inside a
 * transaction). SOUK_ENOTFOUND when there is none. */
souk_err_t store_order_get(souk_db_conn_t *c, const char *id, bool lock,
                           json_t **out) SOUK_MUST_CHECK;
/* The user's order placed with Idempotency-Key key; hash gets the hash of the
 * request that created it. */
souk_err_t store_order_by_key(souk_db_conn_t *c, const char *user_id, const char *key, json_t **out,
                              char hash[65]) SOUK_MUST_CHECK;
souk_err_t store_order_set_status(souk_db_conn_t *c, const char *id, order_status_t s,
                                  const char *reason, json_t **out) SOUK_MUST_CHECK;
/* user_id/status may be NULL (no filter). */
souk_err_t store_order_list(souk_db_conn_t *c, const char *user_id, const char *status,
                            const souk_page_t *p, json_t **items, long long *total) SOUK_MUST_CHECK;
/* Appends "orders_by_status" gauge lines. */
souk_err_t store_status_counts(souk_db_conn_t *c, souk_buf_t *out) SOUK_MUST_CHECK;

/* ---- events.c ------------------------------------------------------------- */

/* Handler of the inventory topic (reserved/rejected -> confirmed/rejected). */
souk_err_t order_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud);
/* Writes a souk.order.<what>.v1 event for order (JSON) into the outbox. */
souk_err_t order_emit(souk_db_conn_t *c, const char *what, json_t *order,
                      const char *traceparent) SOUK_MUST_CHECK;

/* ---- routes.c ------------------------------------------------------------- */
void order_routes_register(souk_http_server_t *srv, order_app_t *app);

#endif
