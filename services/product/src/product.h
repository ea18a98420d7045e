/* product.h: product-service's context, input rules and store. The rules
 * (body validation, list query parsing) are plain functions the unit tests
 * call without HTTP; the store is the only place with SQL. */
#ifndef PRODUCT_H
#define PRODUCT_H

#include <souk/auth.h>
#include <souk/bus.h>
#include <souk/db.h>
#include <souk/http.h>

#define PRODUCT_NAME_MAX        200
#define PRODUCT_DESCRIPTION_MAX 5000
#define PRODUCT_CATEGORY_MAX    100
#define PRODUCT_SKU_MAX         64
#define PRODUCT_PRICE_MAX       999999999999LL /* below 10^12 */
#define PRODUCT_STOCK_MAX       2147483647LL
#define PRODUCT_BATCH_MAX       100
#define PRODUCT_EXACT_TOTAL     1000 /* a list's total is exact up to this, estimated beyond */

typedef struct product_cache product_cache_t;
typedef struct product_guesses product_guesses_t;

typedef struct {
    souk_db_pool_t *db;
    souk_jwt_verifier_t *verifier;
    product_cache_t *cache;     /* NULL: reads always go to the database */
    product_guesses_t *guesses; /* NULL: every search asks the planner */
} product_app_t;

/* ---- cache.c: exact cache of product answers (see the file) ------------- */

typedef struct {
    const char *json; /* in the caller's arena */
    size_t len;
    char etag[20];
} product_cached_t;

/* Starts the listener thread on a connection of its own. entries bounds the
 * table. Free with product_cache_free (NULL ok). Thread-safe. */
product_cache_t *product_cache_new(souk_db_pool_t *db, size_t entries, souk_metrics_t *m);
void product_cache_free(product_cache_t *c);
/* True while the listener is connected (only then is the cache used). */
bool product_cache_live(product_cache_t *c);
/* The cached answer for id, copied into arena; false on a miss. */
bool product_cache_get(product_cache_t *c, const char *id, souk_arena_t *arena,
                       product_cached_t *out);
/* Take a mark before reading the database; product_cache_put keeps the
 * answer only if no invalidation arrived since the mark. */
unsigned long product_cache_mark(product_cache_t *c);
void product_cache_put(product_cache_t *c, unsigned long mark, const char *id, const char *json,
                       size_t len, const char etag[20]);
/* Drops id (NULL: everything). Also what the listener calls. */
void product_cache_invalidate(product_cache_t *c, const char *id);
/* A strong ETag ("\"16 hex\"") of an answer's bytes into out[20]. */
void product_etag(const char *json, size_t len, char out[20]);

/* ---- guesses.c: the planner's estimates of searches, kept ttl_ms ---------- */

product_guesses_t *product_guesses_new(size_t entries, long ttl_ms);
void product_guesses_free(product_guesses_t *g);
/* The estimated matches of search q and the table's rows (0: a search known
 * to match more than PRODUCT_EXACT_TOTAL); false if unknown or expired.
 * Thread-safe. */
bool product_guesses_get(product_guesses_t *g, const char *q, double *matches, double *rows);
void product_guesses_put(product_guesses_t *g, const char *q, double matches, double rows);

/* A create or patch request. NULL/unset members are absent. String members
 * borrow from the request body. */
typedef struct {
    const char *name, *description, *currency, *category, *sku;
    bool has_price, has_stock, has_category, has_sku, has_description;
    long long price_cents, stock;
} product_input_t;

/* Validates body into in (recording errors in v). patch: every field
 * optional (at least one required); create: name, price_cents, stock required. */
void product_parse_input(souk_valid_t *v, json_t *body, bool patch, product_input_t *in);

typedef enum { SORT_CREATED_DESC, SORT_PRICE_ASC, SORT_PRICE_DESC, SORT_NAME_ASC } product_sort_t;

typedef struct {
    const char *q, *category; /* NULL when absent */
    bool has_min, has_max;
    long long min_price, max_price;
    product_sort_t sort;
    souk_page_t page;
} product_query_t;

/* Parses ?q=&category=&min_price=&max_price=&sort=&page=&limit= from the
 * lookup function (a query-string getter); errors go to v. */
typedef const char *(*product_param_fn)(const void *src, const char *name);
void product_parse_query(souk_valid_t *v, product_param_fn get, const void *src,
                         product_query_t *out);

/* store.c: *out is a new JSON product. */
souk_err_t store_product_insert(souk_db_conn_t *c, const product_input_t *in,
                                json_t **out) SOUK_MUST_CHECK;
souk_err_t store_product_get(souk_db_conn_t *c, const char *id, json_t **out) SOUK_MUST_CHECK;
souk_err_t store_product_update(souk_db_conn_t *c, const char *id, const product_input_t *in,
                                json_t **out) SOUK_MUST_CHECK;
souk_err_t store_product_delete(souk_db_conn_t *c, const char *id) SOUK_MUST_CHECK;
/* A page of a list: its items (a new JSON array), and the total of
 * matches, exact when there are at most PRODUCT_EXACT_TOTAL. */
typedef struct {
    json_t *items;
    long long total;
    bool exact;
} product_page_t;

/* guesses (NULL ok) remembers the planner's estimates of searches. */
souk_err_t store_product_list(souk_db_conn_t *c, const product_query_t *q,
                              product_guesses_t *guesses, product_page_t *out) SOUK_MUST_CHECK;
/* Products among ids (a JSON array of UUID strings), as a new JSON array. */
souk_err_t store_product_batch(souk_db_conn_t *c, json_t *ids, json_t **items) SOUK_MUST_CHECK;
/* Runs the demo catalog's SQL when the table is empty; *seeded says
 * whether it did. Then *items (when seeded) holds every product. */
/* The metrics collector of reservations_by_status (souk_metrics_add_collector). */
souk_err_t product_collect_reservations(souk_buf_t *out, void *app);
souk_err_t store_seed_demo(souk_db_conn_t *c, const char *sql, bool *seeded,
                           json_t **items) SOUK_MUST_CHECK;

/* events.c */
/* Handler of the orders topic: reserve on placed, release on cancelled. */
souk_err_t product_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud);
/* The consumer's batch hook (souk_bus_batch_fn): locks, in id order, every
 * product the batch's events will move stock of. */
souk_err_t product_on_batch(souk_db_conn_t *c, const souk_event_t *const *evs, size_t n, void *ud);
/* Dead-letter hook: an order.placed that could not be handled still gets
 * its inventory.rejected, so the order does not stay pending. */
souk_err_t product_on_dead_letter(souk_db_conn_t *c, const souk_event_t *ev, const char *reason,
                                  void *ud);
extern const char *const product_topics[], *const product_types[];
/* Loads the demo catalog (sql) into an empty table, with a product.created
 * event per product, in one transaction. */
souk_err_t product_seed_demo(product_app_t *app, const char *sql) SOUK_MUST_CHECK;
/* Writes an event into the outbox (inside the caller's transaction). */
souk_err_t product_emit(souk_db_conn_t *c, const char *topic, const char *type, const char *key,
                        json_t *data, const char *traceparent) SOUK_MUST_CHECK;

/* routes.c */
/* Every route of the service (app: product_app_t). */
void product_routes_register(souk_http_server_t *srv, void *app);

#endif
