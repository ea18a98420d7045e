/* analytics.h: analytics-service's context and modules. It projects the
 * orders, products and users topics into its own tables and answers reports
 * and recommendations from them.
 *
 * Two stages keep consumers from contending: a handler only touches rows of
 * its own aggregate (the order's state, the product, the user) and appends
 * what changed to a journal (changes); a single roll-up, once a second,
 * folds the journal into the pre-aggregated rows (per day and currency, per
 * day and product, per day and category, co-purchase pairs, bestsellers) in
 * one repeatable-read transaction and deletes what it folded. Reports read
 * only those rows, never a scan of orders. Days are the events' own days
 * (CloudEvents time, UTC).
 *
 * Modules: rules.c (the order state machine, dates and ranges, CSV), store.c
 * (SQL), events.c (the handler), reports.c (JSON and CSV answers), routes.c
 * (HTTP). */
#ifndef ANALYTICS_H
#define ANALYTICS_H

#include <souk/auth.h>
#include <souk/bus.h>
#include <souk/db.h>
#include <souk/http.h>

/* ---- rules.c: what an order event does ------------------------------------- */

/* Where an order stands in the projection (AN_UNSEEN: no row yet). */
typedef enum {
    AN_UNSEEN,
    AN_PENDING,
    AN_CONFIRMED,
    AN_REJECTED,
    AN_CANCELLED,
    AN__STATUS_COUNT
} an_status_t;

/* What an event does to the figures. */
typedef enum {
    AN_IGNORE, /* nothing: a repeat, or an event its state does not allow */
    AN_PLACE,  /* one more order placed */
    AN_SELL,   /* confirmed: placed into units, revenue, co-purchases ... */
    AN_REJECT, /* rejected */
    AN_CANCEL, /* cancelled before confirmation: counted, nothing to undo */
    AN_UNSELL, /* cancelled after confirmation: counted, and its sale undone */
} an_action_t;

const char *an_status_name(an_status_t s);
bool an_status_parse(const char *name, an_status_t *out);
/* The action of event_type on an order in state now (placed: whether its
 * order.placed was counted already), and the state after it. */
an_action_t an_order_action(an_status_t now, bool placed, const char *event_type,
                            an_status_t *next);
/* The journal's name of an action ("placed", "sold", ...). */
const char *an_action_name(an_action_t a);

/* ---- rules.c: days, ranges, CSV ------------------------------------------- */

/* Days since 1970-01-01 (UTC) of an RFC 3339 time ("2026-03-01T10:00:00Z",
 * any offset, optional fraction) or of a date ("2026-03-01"); *midnight
 * says whether it is the start of that day. false when malformed. */
bool an_parse_day(const char *s, long *day, bool *midnight);
/* "YYYY-MM-DD" of a day number into out[11]. */
void an_day_format(long day, char out[11]);

#define AN_MAX_RANGE_DAYS 3700 /* about ten years */
#define AN_DEFAULT_DAYS   30

/* A report's range in whole UTC days, [from, to). */
typedef struct {
    long from, to;
} an_range_t;

/* The range of ?from&to: from's day (inclusive) to to's day (exclusive;
 * a to inside a day counts that day). Defaults: to = tomorrow, from = 30
 * days before to. Errors (malformed, empty, too long) go to v. today: the
 * current day. */
bool an_range_parse(souk_valid_t *v, const char *from, const char *to, long today, an_range_t *out);

/* Appends one CSV field (quoted when it holds a comma, quote or line break;
 * text that a spreadsheet would take for a formula gets a leading '). */
souk_err_t an_csv_field(souk_buf_t *out, const char *s, bool text) SOUK_MUST_CHECK;

/* ---- the service ------------------------------------------------------------ */

typedef struct {
    souk_db_pool_t *db;
    souk_jwt_verifier_t *verifier;
    souk_metric_t *rollups, *folded; /* roll-ups run, journal rows folded */
} an_app_t;

/* ---- store.c ---------------------------------------------------------------- */

/* The order's state; AN_UNSEEN when there is no row. Locks it (FOR UPDATE)
 * for the rest of the transaction. *placed: its order.placed was counted;
 * confirmed_day gets the day it was confirmed (or ""). */
souk_err_t store_order_state(souk_db_conn_t *c, const char *order_id, an_status_t *status,
                             bool *placed, char confirmed_day[11]) SOUK_MUST_CHECK;

typedef struct {
    const char *order_id, *user_id, *currency;
    long long total_cents, units;
    an_action_t action;
    an_status_t next;
    bool placed;
    const char *day;           /* the event's day */
    const char *confirmed_day; /* SELL: day; UNSELL: the sale's day; else NULL */
    const char *items;         /* SELL/UNSELL: the lines as JSON text; else NULL */
} an_order_change_t;

/* Stores the order's new state and appends the change to the journal. */
souk_err_t store_order_change(souk_db_conn_t *c, const an_order_change_t *ch) SOUK_MUST_CHECK;
/* The same in one statement, but only if the order is in state `assumed`
 * (AN_UNSEEN: it has no row; AN_PENDING: its row says pending): *applied
 * says whether it was, so the caller reads the state only when the usual
 * order of events did not hold. */
souk_err_t store_order_change_assuming(souk_db_conn_t *c, const an_order_change_t *ch,
                                       an_status_t assumed, bool *applied) SOUK_MUST_CHECK;
/* Product projection: the newest event wins (changed_at). data: the
 * product; deleted: only its id. */
souk_err_t store_product_put(souk_db_conn_t *c, const char *id, json_t *data, bool deleted,
                             const char *at) SOUK_MUST_CHECK;
/* A registered user counts once, on the day of the event. */
souk_err_t store_user_registered(souk_db_conn_t *c, const char *user_id,
                                 const char *day) SOUK_MUST_CHECK;
/* Forgets what the user bought (used for their recommendations). */
souk_err_t store_user_deleted(souk_db_conn_t *c, const char *user_id) SOUK_MUST_CHECK;

/* Folds the journal into the aggregates, at most one roll-up at a time
 * across replicas (an advisory lock; *folded 0 when another holds it).
 * Runs in its own repeatable-read transaction on c. */
souk_err_t store_rollup(souk_db_conn_t *c, long long *folded) SOUK_MUST_CHECK;
/* Journal rows not folded yet. */
souk_err_t store_journal_size(souk_db_conn_t *c, long long *rows) SOUK_MUST_CHECK;

/* Report rows (new JSON, as reports.c shapes them). */
souk_err_t store_summary(souk_db_conn_t *c, const an_range_t *r, json_t **out) SOUK_MUST_CHECK;
souk_err_t store_sales(souk_db_conn_t *c, const an_range_t *r, const char *interval,
                       json_t **out) SOUK_MUST_CHECK;
souk_err_t store_top_products(souk_db_conn_t *c, const an_range_t *r, bool by_revenue, long limit,
                              json_t **out) SOUK_MUST_CHECK;
souk_err_t store_categories(souk_db_conn_t *c, const an_range_t *r, json_t **out) SOUK_MUST_CHECK;

/* Recommendations: *strategy names the one that produced *items (a new
 * array of {id, name, price_cents, currency}); SOUK_ENOTFOUND for a
 * deleted product. */
souk_err_t store_recommend_product(souk_db_conn_t *c, const char *product_id, long limit,
                                   const char **strategy, json_t **items) SOUK_MUST_CHECK;
souk_err_t store_recommend_user(souk_db_conn_t *c, const char *user_id, long limit,
                                const char **strategy, json_t **items) SOUK_MUST_CHECK;

/* A metrics collector (app: an_app_t): analytics_journal_rows. */
souk_err_t an_collect(souk_buf_t *out, void *app);

/* ---- events.c --------------------------------------------------------------- */

extern const char *const an_topics[], *const an_types[];
souk_err_t an_on_event(souk_db_conn_t *c, const souk_event_t *ev, void *ud);
/* The maintain hook: one roll-up. */
void an_maintain(void *app);

/* ---- reports.c -------------------------------------------------------------- */

/* The report as CSV (header row first) into out. */
souk_err_t an_csv_summary(json_t *summary, souk_buf_t *out) SOUK_MUST_CHECK;
souk_err_t an_csv_sales(json_t *sales, souk_buf_t *out) SOUK_MUST_CHECK;
souk_err_t an_csv_top_products(json_t *top, souk_buf_t *out) SOUK_MUST_CHECK;
souk_err_t an_csv_categories(json_t *cats, souk_buf_t *out) SOUK_MUST_CHECK;

/* ---- routes.c --------------------------------------------------------------- */

/* Whether claims hold the reports:read permission. */
bool analytics_may_read_reports(const souk_claims_t *claims);
void an_routes_register(souk_http_server_t *srv, void *app);

#endif
