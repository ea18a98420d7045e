/* order.h: order-service's context, rules, the placement flow, store and
 * event handling. The rules (line validation and merging, the status state
 * machine) and the placement flow are plain functions the unit tests call
 * directly, without HTTP. */
#ifndef ORDER_H
#define ORDER_H

#include <souk/auth.h>
#include <souk/bus.h>
#include <souk/db.h>
#include <souk/http.h>

#define ORDER_MAX_ITEMS    SOUK_ORDER_MAX_LINES
#define ORDER_MAX_QUANTITY SOUK_ORDER_MAX_QUANTITY

typedef struct order_line order_line_t;

/* Where prices come from: *found gets {product id: product JSON} for the
 * products among lines that exist (a new reference). SOUK_EUNAVAIL (or any
 * error) when the catalog cannot be asked. */
typedef souk_err_t (*order_catalog_fn)(void *ud, const order_line_t *lines, size_t n,
                                       const char *request_id, const char *traceparent,
                                       json_t **found);

typedef struct {
    souk_db_pool_t *db;
    souk_jwt_verifier_t *verifier;
    souk_http_client_t *client;
    const char *product_url;
    order_catalog_fn catalog; /* product-service's batch read, or a test's */
    void *catalog_ud;
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

struct order_line {
    char product_id[SOUK_UUID_STRLEN + 1];
    long long quantity;
};

/* Validates {"items":[{product_id, quantity}]} into lines, merging lines of
 * one product (quantities added). Errors go to v with fields like
 * "items[2].quantity". */
size_t order_parse_lines(souk_valid_t *v, json_t *body, order_line_t lines[ORDER_MAX_ITEMS]);
/* A stable hash of the merged lines (hex, out[65]) to recognise a replayed
 * Idempotency-Key with a different request. */
void order_lines_hash(const order_line_t *lines, size_t n, char out[65]);

/* ---- place.c: the placement flow ----------------------------------------- */

typedef enum {
    ORDER_PLACE_CREATED,     /* a new order (201) */
    ORDER_PLACE_REPLAYED,    /* the order this key made before (200) */
    ORDER_PLACE_KEY_REUSED,  /* the key made a different order (422) */
    ORDER_PLACE_UNORDERABLE, /* unknown products or mixed currencies (422, errors) */
    ORDER_PLACE_NO_CATALOG,  /* prices cannot be had now (503) */
    ORDER_PLACE_FAILED,      /* err says why */
} order_place_outcome_t;

typedef struct {
    const char *user_id;
    const char *idempotency_key; /* may be NULL */
    const order_line_t *lines;   /* validated and merged (order_parse_lines) */
    size_t nlines;
    const char *request_id, *traceparent;
} order_place_req_t;

typedef struct {
    json_t *order;  /* CREATED, REPLAYED: the order (owned by the caller) */
    json_t *errors; /* UNORDERABLE: [{field, message}] (owned by the caller) */
    souk_err_t err; /* FAILED */
} order_place_result_t;

/* Places an order: replays a known Idempotency-Key, prices the lines at the
 * catalog, and stores the order with its order.placed event in one
 * transaction. A database connection is held only for the database parts,
 * never while the catalog is asked. */
order_place_outcome_t order_place(order_app_t *app, const order_place_req_t *req,
                                  order_place_result_t *out);

/* catalog.c: the catalog as product-service's POST /internal/products/batch. */
souk_err_t order_catalog_http(void *app, const order_line_t *lines, size_t n,
                              const char *request_id, const char *traceparent, json_t **found);

/* ---- store.c -------------------------------------------------------------- */

/* A priced line, ready to store. */
typedef struct {
    order_line_t line;
    const char *name;
    const char *category; /* NULL when the product has none */
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
/* The order's lines as its events carry them (a new JSON array): the
 * API's members plus the category snapshotted at placement. */
souk_err_t store_order_event_items(souk_db_conn_t *c, const char *id,
                                   json_t **items) SOUK_MUST_CHECK;
/* user_id/status may be NULL (no filter). */
souk_err_t store_order_list(souk_db_conn_t *c, const char *user_id, const char *status,
                            const souk_page_t *p, json_t **items, long long *total) SOUK_MUST_CHECK;

/* A metrics collector (app: order_app_t) appending "orders_by_status"
 * gauge lines read from the database at scrape time. */
souk_err_t order_collect_statuses(souk_buf_t *out, void *app);

/* ---- events.c ------------------------------------------------------------- */

/* Handler of the inventory topic (reserved/rejected -> confirmed/rejected). */
souk_err_t order_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud);
/* The topics and types it consumes. */
extern const char *const order_topics[], *const order_types[];
/* Writes a souk.order.<what>.v1 event for order (JSON) into the outbox. */
souk_err_t order_emit(souk_db_conn_t *c, const char *what, json_t *order,
                      const char *traceparent) SOUK_MUST_CHECK;

/* ---- routes.c ------------------------------------------------------------- */
/* Every route of the service (app: order_app_t). */
void order_routes_register(souk_http_server_t *srv, void *app);

#endif
