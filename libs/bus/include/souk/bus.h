/* souk/bus.h: events between services. CloudEvents 1.0 (structured JSON)
 * envelopes, the transactional outbox (rows written in the caller's
 * transaction, published in order by a relay thread that survives broker
 * outages), and a consumer-group consumer whose handler runs inside a
 * database transaction that also records the event id (the inbox), so a
 * redelivered event changes nothing. Offsets are committed only after that
 * transaction commits. Kafka (librdkafka) stays behind this header.
 *
 * Threading: souk_bus_start() runs a relay thread and, when a group is
 * configured, consumer threads (one group member each; a partition is handled
 * by one of them at a time, in order). Handlers run concurrently for events
 * of different partitions. */
#ifndef SOUK_BUS_H
#define SOUK_BUS_H

#include <souk/core.h>
#include <souk/db.h>
#include <souk/obs.h>

/* ---- CloudEvents ---------------------------------------------------------- */

typedef struct {
    char id[129];
    char type[129];
    char source[129];
    char subject[129];
    char time[41];
    char traceparent[SOUK_TRACEPARENT_LEN + 1]; /* from the Kafka headers; may be "" */
    json_t *data;                               /* owned; an object */
    const char *topic;                          /* borrowed, while handling */
} souk_event_t;

/* Parses and validates a structured CloudEvent: specversion "1.0"; id,
 * source, type non-empty strings (at most 128 bytes); datacontenttype, when
 * present, application/json; data an object. SOUK_EINVAL otherwise. */
souk_err_t souk_event_parse(const void *payload, size_t len, souk_event_t *out) SOUK_MUST_CHECK;
void souk_event_cleanup(souk_event_t *ev);

/* ---- outbox (producer side) ----------------------------------------------- */

/* Tables the bus needs in a service's database (outbox, processed_events);
 * apply with souk_db_migrate() before the service's own migrations. */
extern const souk_migration_t souk_bus_migrations[];

typedef struct {
    const char *topic;       /* "orders" */
    const char *type;        /* "souk.order.placed.v1" */
    const char *key;         /* aggregate id: the partition key */
    const char *subject;     /* usually the aggregate id too */
    json_t *data;            /* borrowed */
    const char *traceparent; /* of the request that caused it; may be NULL */
} souk_outbox_msg_t;

/* Writes an event for m into the outbox on c, which should be inside the
 * transaction that makes the state change: no event without its state, no
 * state without its event. source is "/<service>". */
souk_err_t souk_outbox_add(souk_db_conn_t *c, const char *source,
                           const souk_outbox_msg_t *m) SOUK_MUST_CHECK;

/* ---- the bus (relay + consumer) ------------------------------------------- */

/* Runs inside a transaction on c; ev->data is borrowed. Return SOUK_OK to
 * commit. SOUK_EINVAL means the event can never be handled: it is logged,
 * counted and skipped. Anything else rolls back and retries with back-off. */
typedef souk_err_t (*souk_bus_handler_fn)(souk_db_conn_t *c, const souk_event_t *ev, void *ud);

typedef struct {
    const char *brokers;       /* bootstrap servers */
    const char *service;       /* client id, outbox relay lock name */
    const char *group;         /* consumer group; NULL: no consumer */
    const char *const *topics; /* NULL-terminated topics to consume */
    unsigned consumers;        /* consumer threads (group members); 0: BUS_CONSUMERS or 2 */
    souk_bus_handler_fn handler;
    const char *const *types; /* NULL-terminated event types the handler wants;
                                 others are skipped without a transaction. NULL: all */
    void *ud;
    souk_db_pool_t *pool;    /* borrowed */
    souk_metrics_t *metrics; /* borrowed */
} souk_bus_config_t;

typedef struct souk_bus souk_bus_t;

/* Starts the relay (and the consumer when cfg->group is set). */
souk_err_t souk_bus_start(const souk_bus_config_t *cfg, souk_bus_t **out) SOUK_MUST_CHECK;
/* Stops the threads (finishing the event in hand), flushes, frees. NULL ok. */
void souk_bus_stop(souk_bus_t *bus);
/* True when the broker answered a metadata request within timeout_ms. */
bool souk_bus_ready(souk_bus_t *bus, int timeout_ms);

#endif
