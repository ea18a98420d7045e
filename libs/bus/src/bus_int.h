/* bus_int.h: private to libs/bus: the bus object shared by the relay and the
 * consumer modules. */
#ifndef SOUK_BUS_INT_H
#define SOUK_BUS_INT_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <souk/bus.h>
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

struct souk_bus {
    souk_bus_config_t cfg;
    char *brokers, *service, *group;
    char **topics;
    atomic_bool stop;
    rd_kafka_t *producer;
    souk_bus__consumer_t *consumers;
    size_t nconsumers;
    pthread_mutex_t producer_lock; /* relay recreates it after a fatal error */
    pthread_t relay;
    bool relay_started;
    souk_metric_t *pending, *published, *lag, *handled, *invalid, *handle_seconds;
};

/* relay.c */
void *souk_bus__relay_main(void *bus);
rd_kafka_t *souk_bus__producer_new(souk_bus_t *b);
/* consumer.c */
void *souk_bus__consumer_main(void *consumer);
rd_kafka_t *souk_bus__consumer_new(souk_bus_t *b);
/* Sets conf properties from a NULL-terminated key, value list; false on error. */
bool souk_bus__conf(rd_kafka_conf_t *conf, const char *const *kv);
/* Sleeps up to ms, waking early when the bus is stopping. */
void souk_bus__nap(souk_bus_t *b, long ms);

#endif
