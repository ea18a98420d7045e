/* bus_int.h: private to libs/bus: the bus object shared by the relay and the
 * consumer modules. */
#ifndef SOUK_BUS_INT_H
#define SOUK_BUS_INT_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <souk/bus.h>
#include <souk/events.h>
#include <stdatomic.h>
#include <time.h>

/* One consumer thread with its own group member; partitions are spread over
 * the members, so events of different partitions are handled in parallel
 * while each partition stays in order. */
typedef struct {
    struct souk_bus *bus;
    rd_kafka_t *rk;
    pthread_t thread;
    bool started;
} souk_bus__consumer_t;

typedef struct souk_bus__relay souk_bus__relay_t;

/* What the last look at the broker said, for readiness without blocking. */
enum { SOUK_BUS__BROKER_UNKNOWN, SOUK_BUS__BROKER_UP, SOUK_BUS__BROKER_DOWN };

struct souk_bus {
    souk_bus_config_t cfg;
    char *brokers, *service, *group;
    char **topics, **types, **settings;
    atomic_bool stop;
    atomic_int broker; /* SOUK_BUS__BROKER_* */
    souk_bus__relay_t *relay_state;
    souk_bus__consumer_t *consumers;
    size_t nconsumers;
    pthread_t relay;
    bool relay_started;
    souk_metric_t *pending, *oldest, *published, *lag, *handled, *invalid, *dead, *dead_rows,
        *handle_seconds;
};

/* inbox.c: one consumed message on the database side */
typedef enum { SOUK_BUS__HANDLE, SOUK_BUS__PARK, SOUK_BUS__ACK } souk_bus__todo_t;

typedef struct {
    struct souk_bus *bus;
    const rd_kafka_message_t *msg;
    souk_event_t event;
    souk_event_t *ev; /* &event, or NULL when the envelope did not parse */
    souk_bus__todo_t todo;
    const char *reason; /* why it is parked */
    int attempts;
    bool duplicate, parked, traced;
    char sqlstate[6];
    uint64_t t0;
    souk_span_t span; /* the consumer span, when traced */
} souk_bus__work_t;

/* Parses m and decides what is to be done with it. */
void souk_bus__work_init(souk_bus__work_t *w, souk_bus_t *b, const rd_kafka_message_t *m);
void souk_bus__work_cleanup(souk_bus__work_t *w);
/* Handles (or parks) w on c inside the caller's transaction, under a
 * savepoint; an error means w is undone and must be handled alone. */
souk_err_t souk_bus__work_in_tx(souk_db_conn_t *c, souk_bus__work_t *w);
/* Handles w in transactions of its own, with retries and the dead-letter
 * table; false only when the bus stops first. */
bool souk_bus__work_alone(souk_bus__work_t *w);
/* Metrics and logs for w, once it is settled (committed or not). */
void souk_bus__work_done(souk_bus__work_t *w, bool committed);

/* relay.c */
/* The relay owns its producer (created here so a bad configuration fails
 * the start) from then on; freed by souk_bus__relay_free after the thread
 * ended. */
souk_bus__relay_t *souk_bus__relay_new(souk_bus_t *b);
void souk_bus__relay_free(souk_bus__relay_t *r);
void *souk_bus__relay_main(void *relay);
/* consumer.c */
void *souk_bus__consumer_main(void *consumer);
rd_kafka_t *souk_bus__consumer_new(souk_bus_t *b);
/* A conf with the bootstrap servers, the client id and the configured extra
 * settings, then the NULL-terminated key, value list kv; NULL on error
 * (logged). */
rd_kafka_conf_t *souk_bus__conf(souk_bus_t *b, const char *const *kv);
/* Sleeps up to ms, waking early when the bus is stopping. */
void souk_bus__nap(souk_bus_t *b, long ms);
/* The closed set of metric labels for a type: a configured type, else OTHER. */
const char *souk_bus__type_label(const souk_bus_t *b, const char *type);
/* True when type is one of the configured types. */
bool souk_bus__type_wanted(const souk_bus_t *b, const char *type);

#endif
