/* souk/db.h: PostgreSQL access for services: a bounded libpq connection pool
 * with an acquire timeout, named prepared statements (prepared lazily once per
 * connection), transactions, and the migrations runner. It builds no SQL from
 * input: every value travels as a parameter.
 *
 * Thread-safety: the pool is thread-safe; a souk_db_conn_t is used by one
 * thread between acquire and release. */
#ifndef SOUK_DB_H
#define SOUK_DB_H

#include <libpq-fe.h>
#include <souk/core.h>
#include <souk/obs.h>

typedef struct souk_db_pool souk_db_pool_t;
typedef struct souk_db_conn souk_db_conn_t;

typedef struct {
    const char *conninfo;     /* libpq URI or key=value string */
    const char *app_name;     /* application_name, shown in pg_stat_activity */
    int size;                 /* maximum connections, default 8 */
    int acquire_timeout_ms;   /* default 5000 */
    int statement_timeout_ms; /* 0: 10000; negative: no timeout */
    const char *settings;     /* extra session settings, "-c name=value ..."; or NULL */
    souk_metrics_t *metrics;  /* optional: exports db_pool_* */
} souk_db_config_t;

/* Creates the pool; connections open on demand. Nothing is dialled here. */
souk_err_t souk_db_pool_new(const souk_db_config_t *cfg, souk_db_pool_t **out) SOUK_MUST_CHECK;
/* Closes every connection; all must have been released. NULL ok. */
void souk_db_pool_free(souk_db_pool_t *pool);

/* Borrows a connection. SOUK_ETIMEOUT when none frees up in time,
 * SOUK_EUNAVAIL when a new connection cannot be opened; *out is NULL then.
 * A lease should cover database work only: release before waiting on
 * anything else (another service, a password hash). */
souk_err_t souk_db_acquire(souk_db_pool_t *pool, souk_db_conn_t **out) SOUK_MUST_CHECK;
/* Returns a connection; one left inside a transaction is rolled back, a broken
 * one is closed. NULL ok. */
void souk_db_release(souk_db_pool_t *pool, souk_db_conn_t *conn);

/* A connection of its own with the pool's settings, outside the pool's
 * capacity, for a long-lived holder (a LISTEN loop) that must not take a
 * request's slot. SOUK_EUNAVAIL when it cannot be opened (*out NULL). Close
 * it with souk_db_disconnect() (NULL ok). */
souk_err_t souk_db_connect(souk_db_pool_t *pool, souk_db_conn_t **out) SOUK_MUST_CHECK;
void souk_db_disconnect(souk_db_conn_t *conn);
/* True when a connection can be had and answers "SELECT 1". */
bool souk_db_ping(souk_db_pool_t *pool);

/* A named statement, defined statically by the module that owns the table.
 * A named one is prepared once per connection (PostgreSQL may then reuse a
 * generic plan); the name "" runs the SQL unprepared, planned with the
 * actual values every time, in one round trip: for statements whose best
 * plan depends on which optional parameters are NULL. */
typedef struct {
    const char *name;
    const char *sql;
} souk_db_stmt_t;

/* Executes stmt with nparams text parameters (NULL entries are SQL NULL).
 * On SOUK_OK *res (may be NULL to discard) holds the result; PQclear it.
 * Errors: SOUK_ECONFLICT (unique violation, serialization failure, deadlock),
 * SOUK_EINVAL (check/foreign-key/not-null/invalid-text violations),
 * SOUK_EUNAVAIL (connection lost), SOUK_EDB (anything else; logged). */
souk_err_t souk_db_query(souk_db_conn_t *conn, const souk_db_stmt_t *stmt, int nparams,
                         const char *const *params, PGresult **res) SOUK_MUST_CHECK;
/* Like souk_db_query() for a statement that should return rows: on
 * SOUK_OK *res holds at least one (PQclear it); SOUK_ENOTFOUND when it
 * returned none (*res is NULL then). */
souk_err_t souk_db_query_one(souk_db_conn_t *conn, const souk_db_stmt_t *stmt, int nparams,
                             const char *const *params, PGresult **res) SOUK_MUST_CHECK;
/* Like souk_db_query() for a write without a result: SOUK_ENOTFOUND when it
 * affected no row. */
souk_err_t souk_db_exec_one(souk_db_conn_t *conn, const souk_db_stmt_t *stmt, int nparams,
                            const char *const *params) SOUK_MUST_CHECK;
/* A LIKE/ILIKE pattern matching q anywhere ("%q%"), with q's own %, _ and \
 * escaped so they match literally. Returns a souk_free-able string. */
char *souk_db_like_contains(const char *q);

/* True while conn's session is up (a lost one is replaced on release). */
bool souk_db_conn_ok(const souk_db_conn_t *conn);
/* The SQLSTATE and constraint of the last failed query on conn ("" if none). */
const char *souk_db_last_sqlstate(const souk_db_conn_t *conn);
const char *souk_db_last_constraint(const souk_db_conn_t *conn);

souk_err_t souk_db_begin(souk_db_conn_t *conn) SOUK_MUST_CHECK;
/* SAVEPOINT / ROLLBACK TO SAVEPOINT name (a lower-case identifier). */
souk_err_t souk_db_savepoint(souk_db_conn_t *conn, const char *name) SOUK_MUST_CHECK;
souk_err_t souk_db_rollback_to(souk_db_conn_t *conn, const char *name) SOUK_MUST_CHECK;
souk_err_t souk_db_commit(souk_db_conn_t *conn) SOUK_MUST_CHECK;
/* Rolls back if a transaction is open; never fails visibly. */
void souk_db_rollback(souk_db_conn_t *conn);

/* LISTEN on channel (a lower-case identifier) for this connection's session.
 * Keep such a connection for the listener's lifetime: UNLISTEN before
 * releasing it. */
souk_err_t souk_db_listen(souk_db_conn_t *conn, const char *channel) SOUK_MUST_CHECK;
souk_err_t souk_db_unlisten(souk_db_conn_t *conn) SOUK_MUST_CHECK;
/* Called for each notification with its channel and payload (borrowed). */
typedef void (*souk_db_notify_fn)(const char *channel, const char *payload, void *ud);
/* Waits up to timeout_ms for a notification on a listening connection;
 * *notified tells whether one (or more) arrived. Every one that arrived is
 * handed to fn (NULL: dropped). SOUK_EUNAVAIL when the session is lost
 * (notifications sent meanwhile are lost with it). */
souk_err_t souk_db_wait_notify(souk_db_conn_t *conn, int timeout_ms, souk_db_notify_fn fn, void *ud,
                               bool *notified) SOUK_MUST_CHECK;

/* Helpers for reading results: the value of (row, col), NULL for SQL NULL. */
const char *souk_db_value(const PGresult *res, int row, int col);
bool souk_db_bool(const PGresult *res, int row, int col);
long long souk_db_int(const PGresult *res, int row, int col);

/* ---- units of work --------------------------------------------------------- */

typedef souk_err_t (*souk_db_fn)(souk_db_conn_t *conn, void *ud);

/* Runs fn inside BEGIN ... COMMIT on conn; any error from fn (or the
 * commit) rolls back and is returned. Outbox rows written by fn commit or
 * vanish with the rest. */
souk_err_t souk_db_tx(souk_db_conn_t *conn, souk_db_fn fn, void *ud) SOUK_MUST_CHECK;
/* Borrows a connection for fn alone and returns it; errors of the pool
 * (SOUK_ETIMEOUT, SOUK_EUNAVAIL) or of fn are returned. */
souk_err_t souk_db_run(souk_db_pool_t *pool, souk_db_fn fn, void *ud) SOUK_MUST_CHECK;
/* souk_db_run() of souk_db_tx(): one lease, one transaction. */
souk_err_t souk_db_run_tx(souk_db_pool_t *pool, souk_db_fn fn, void *ud) SOUK_MUST_CHECK;

/* ---- paged lists ------------------------------------------------------------ */

#define SOUK_DB_PAGE_MAX_PARAMS 14

typedef struct {
    const souk_db_stmt_t *rows;  /* the filters as $1..$n, then LIMIT $n+1 OFFSET $n+2 */
    const souk_db_stmt_t *count; /* count(*) over the same filters $1..$n */
    int nparams;                 /* n, at most SOUK_DB_PAGE_MAX_PARAMS */
    const char *const *params;
    long limit, offset;
    json_t *(*row)(const PGresult *res, int row); /* a new JSON item per row */
} souk_db_page_query_t;

/* One page of items (a new JSON array) and the total of matches. */
souk_err_t souk_db_page(souk_db_conn_t *conn, const souk_db_page_query_t *q, json_t **items,
                        long long *total) SOUK_MUST_CHECK;

/* ---- migrations ----------------------------------------------------------- */

/* One numbered SQL file; the table ends with {NULL, NULL}. Services embed
 * theirs at build time (souk_embed_migrations in CMake) as souk_migrations. */
typedef struct {
    const char *name; /* "0001_users.sql": the version is the file name */
    const char *sql;
} souk_migration_t;

/* Applies every migration not yet in schema_migrations, each in its own
 * transaction, in order, under a database-wide advisory lock so that replicas
 * starting together apply each migration once. Waits up to wait_s seconds for
 * the database to accept connections. */
souk_err_t souk_db_migrate(souk_db_pool_t *pool, const souk_migration_t *migrations,
                           int wait_s) SOUK_MUST_CHECK;

#endif
