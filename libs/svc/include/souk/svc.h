/* souk/svc.h: request-scoped glue every service handler needs between
 * souk/http.h and souk/db.h: a pooled connection tied to the request's
 * lifetime, the one mapping of error codes to problem replies, and UUID path
 * parameters, and the readiness probe over database and broker. It holds no
 * state of its own. */
#ifndef SOUK_SVC_H
#define SOUK_SVC_H

#include <souk/bus.h>
#include <souk/db.h>
#include <souk/http.h>

/* A connection for this request, released when the request ends (its arena
 * is freed). On failure replies 503 and returns NULL; the handler returns. */
souk_db_conn_t *souk_svc_conn(souk_http_ctx_t *ctx, souk_db_pool_t *pool);

/* Replies for err: 503 (database unavailable or busy), 404, 409, 400, or 500
 * for anything unexpected. Never exposes internal details. */
void souk_svc_fail(souk_http_ctx_t *ctx, souk_err_t err);

/* The path parameter name when it is a UUID; otherwise replies 404 (a
 * malformed id names nothing) and returns NULL. */
const char *souk_svc_uuid_param(souk_http_ctx_t *ctx, const char *name);

/* What a service's readiness depends on; bus may be NULL. */
typedef struct {
    souk_db_pool_t *db;
    souk_bus_t *bus;
} souk_svc_deps_t;

/* A souk_http_ready_fn over a souk_svc_deps_t: the database answers and, when
 * there is a bus, so does the broker. */
bool souk_svc_ready(void *deps);

#endif
