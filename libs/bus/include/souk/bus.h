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
#include <souk/events.h>
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

/* Tables the bus needs in a service's database (outbox, processed_events,
 * dead_letters); apply with souk_db_migrate() before the service's own. */
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

/* Runs inside a transaction on c; ev->data is borrowed. What it returns:
 * - SOUK_OK: commit; the event is done.
 * - SOUK_EINVAL (with no failed statement): the event can never be handled;
 *   it goes to the dead-letter table at once.
 * - SOUK_EUNAVAIL or SOUK_ETIMEOUT: a dependency is away; rolled back and
 *   retried with back-off for as long as that lasts.
 * - anything else (a failed statement, say): rolled back and retried up to
 *   max_attempts times, then dead-lettered.
 * Before the handler runs, an event whose type souk defines (souk/events.h)
 * but whose source is not that type's owner is dead-lettered. */
typedef souk_err_t (*souk_bus_handler_fn)(souk_db_conn_t *c, const souk_event_t *ev, void *ud);
/* Runs in the transaction that parks ev as a dead letter (reason:
 * "rejected", "exhausted" or "unexpected_source"), so a service can still
 * answer a saga step (an order.placed gets its inventory.rejected). An error
 * rolls the parking back and it is tried again. */
typedef souk_err_t (*souk_bus_dead_letter_fn)(souk_db_conn_t *c, const souk_event_t *ev,
                                              const char *reason, void *ud);

/* Runs first in each transaction that handles a batch of consumed events,
 * with the events about to be handled there (in order; borrowed): the place
 * to take, in one sorted statement, the row locks the batch's handlers will
 * take one by one, so that consumers handling overlapping batches cannot
 * deadlock. An error rolls the transaction back; the batch's first event is
 * then handled alone, and the rest in a new batch. */
typedef souk_err_t (*souk_bus_batch_fn)(souk_db_conn_t *c, const souk_event_t *const *evs, size_t n,
                                        void *ud);

typedef struct {
    const char *brokers; /* bootstrap servers */
    /* Extra librdkafka settings as a NULL-terminated "key", "value", ... list
     * (security.protocol, sasl.*, ssl.*); NULL for none. */
    const char *const *kafka_settings;
    const char *service;       /* client id, outbox relay lock name */
    const char *group;         /* consumer group; NULL: no consumer */
    const char *const *topics; /* NULL-terminated topics to consume */
    unsigned consumers;        /* consumer threads (group members); 0: 1 */
    souk_bus_handler_fn handler;
    souk_bus_dead_letter_fn on_dead_letter; /* may be NULL */
    souk_bus_batch_fn on_batch;             /* may be NULL */
    /* NULL-terminated event types the handler wants (also the closed set of
     * the type metric label); others are acknowledged without a
     * transaction. NULL: all. */
    const char *const *types;
    void *ud;
    int max_attempts;               /* 0: 5 */
    int retry_min_ms, retry_max_ms; /* back-off between attempts; 0: 100 / 5000 */
    souk_db_pool_t *pool;           /* borrowed */
    souk_metrics_t *metrics;        /* borrowed */
} souk_bus_config_t;

typedef struct souk_bus souk_bus_t;

/* Starts the relay (and the consumer when cfg->group is set). */
souk_err_t souk_bus_start(const souk_bus_config_t *cfg, souk_bus_t **out) SOUK_MUST_CHECK;
/* Stops the threads (finishing the event in hand) and frees. Outbox rows
 * not yet confirmed stay unsent and go out after the next start. NULL ok. */
void souk_bus_stop(souk_bus_t *bus);
/* True when the relay's last look at the broker (every few seconds, and
 * every publication) found it answering. Never blocks. */
bool souk_bus_ready(souk_bus_t *bus);

#endif
