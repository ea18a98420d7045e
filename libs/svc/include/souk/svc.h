/* souk/svc.h: what every souk service shares beyond the libraries: the
 * service skeleton (configuration from the environment, metrics, database
 * pool and migrations, token verifier, event bus, HTTP server, graceful
 * shutdown), so a service's main only names its parts; and the
 * request-scoped glue of handlers: a pooled connection tied to the request's
 * lifetime, the one mapping of error codes to problem replies, UUID path
 * parameters, and readiness over database and broker.
 *
 * The skeleton is the one place that reads the shared settings from the
 * environment; libraries get them as config structs. */
#ifndef SOUK_SVC_H
#define SOUK_SVC_H

#include <souk/auth.h>
#include <souk/bus.h>
#include <souk/db.h>
#include <souk/http.h>

/* ---- the skeleton --------------------------------------------------------- */

/* The shared settings, read once at start (see the README's table). */
typedef struct {
    const char *bind;      /* BIND_ADDRESS */
    int port;              /* <PORT_ENV> */
    long http_threads;     /* HTTP_THREADS */
    const char *trusted;   /* TRUSTED_PROXIES when TRUST_FORWARDED_FOR, else NULL */
    const char *db_url;    /* DATABASE_URL */
    long db_pool_size;     /* DB_POOL_SIZE */
    const char *brokers;   /* KAFKA_BROKERS */
    const char *kafka[17]; /* KAFKA_SECURITY_PROTOCOL, ... as librdkafka key/value pairs */
    long bus_consumers;    /* BUS_CONSUMERS */
    const char *issuer;    /* JWT_ISSUER */
    const char *auth_url;  /* AUTH_URL */
    const char *jwks_url;  /* JWKS_URL, else AUTH_URL + /.well-known/jwks.json */
    long token_cache;      /* TOKEN_CACHE_ENTRIES */
    char jwks_buf[512], db_buf[256];
} souk_svc_config_t;

/* What the skeleton built; the service's hooks use it. Members a service did
 * not ask for are NULL. */
typedef struct souk_svc {
    const souk_svc_config_t *cfg;
    souk_metrics_t *metrics;
    souk_http_client_t *client;
    souk_jwt_verifier_t *verifier;
    souk_db_pool_t *db;
    souk_bus_t *bus;
    souk_http_server_t *http;
} souk_svc_t;

/* A service, as its main describes it. Hooks get the service's own context
 * (app) and may be NULL. */
typedef struct {
    const char *name;     /* "order-service": logs, metrics, client ids */
    const char *port_env; /* "ORDER_PORT" */
    int port;             /* its default */
    /* Database: the default database name (DATABASE_URL otherwise); NULL for
     * a service without one. Bus tables are migrated first when bus is set,
     * then migrations. */
    const char *database;
    const souk_migration_t *migrations;
    const char *db_settings; /* extra session settings ("-c name=value ...") */
    bool verifier;           /* verify tokens with the issuer's JWKS */
    /* The verifier never fetches keys on a request's thread (the thread is
     * an event loop): see background_refresh in souk/auth.h. */
    bool verifier_background;
    /* The souk/http.h server is internal: it listens on 127.0.0.1 on a port
     * the system picks (souk_http_server_port(svc->http)), not on
     * BIND_ADDRESS:<PORT_ENV>, and believes X-Forwarded-For from the
     * loopback. For a process whose public port is served by another engine
     * (the gateway's edge, started by the start hook) that forwards the
     * requests it does not serve itself to this server. */
    bool internal_http;
    bool bus; /* run the outbox relay */
    /* Consumer (optional): group, topics and types as in souk_bus_config_t. */
    const char *group;
    const char *const *topics;
    const char *const *types;
    souk_bus_handler_fn on_event;
    souk_bus_dead_letter_fn on_dead_letter;
    souk_bus_batch_fn on_batch; /* may be NULL (souk/bus.h) */
    /* Reads the service's own settings and builds its state, after the pool
     * and migrations and before the bus and the server. */
    souk_err_t (*init)(souk_svc_t *svc, void *app);
    void (*routes)(souk_http_server_t *srv, void *app); /* registers the handlers */
    /* Readiness beyond database and broker (the gateway's upstreams). */
    bool (*ready)(void *app);
    /* Housekeeping (purges) run on a thread of its own every maintain_every_s
     * seconds while the service runs. */
    void (*maintain)(void *app);
    int maintain_every_s;
    /* Starts what else serves the process, once the HTTP server listens
     * (its port known); a failure stops the service. stop runs on SIGTERM or
     * SIGINT, before the HTTP server drains, and returns when what start
     * started has stopped accepting and finished its requests; it also runs
     * when start failed, to release what start built. */
    souk_err_t (*start)(souk_svc_t *svc, void *app);
    void (*stop)(void *app);
    /* Frees what init built; runs after the server drained and the bus
     * stopped. */
    void (*cleanup)(void *app);
} souk_svc_def_t;

/* Runs the service until SIGTERM or SIGINT: configuration, metrics, pool,
 * migrations, verifier, init, bus, routes, serve, start; then stop, drains
 * the server,
 * stops the bus (the event in hand finishes; unconfirmed outbox rows wait
 * for the next start), cleans
 * up and closes the pool. Returns the process exit status (1 when start-up
 * failed, with a log line saying why). */
int souk_svc_main(const souk_svc_def_t *def, void *app);

/* ---- request-scoped glue -------------------------------------------------- */

/* A connection for this request, released when the request ends (its arena
 * is freed). On failure replies 503 and returns NULL; the handler returns.
 * For work that waits on anything but the database (another service, a
 * password hash), use souk_db_run() around each database part instead, so
 * the lease covers only that. */
souk_db_conn_t *souk_svc_conn(souk_http_ctx_t *ctx, souk_db_pool_t *pool);

/* Replies for err: 503 (database unavailable or busy), 404, 409, 400, or 500
 * for anything unexpected. Never exposes internal details. */
void souk_svc_fail(souk_http_ctx_t *ctx, souk_err_t err);

/* The path parameter name when it is a UUID; otherwise replies 404 (a
 * malformed id names nothing) and returns NULL. */
const char *souk_svc_uuid_param(souk_http_ctx_t *ctx, const char *name);

#endif
