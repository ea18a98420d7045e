/* bus.c: lifecycle of the bus: metrics, producer, relay and consumer threads,
 * and the readiness probe. */
#include "bus_int.h"

#include <string.h>

static void init_metrics(souk_bus_t *b, souk_metrics_t *m)
{
    static const char *const topic[] = {"topic", NULL};
    static const char *const topic_partition[] = {"topic", "partition", NULL};
    static const char *const type_outcome[] = {"type", "outcome", NULL};
    static const char *const type[] = {"type", NULL};
    b->pending = souk_metrics_gauge(m, "outbox_pending", "Outbox events not yet published.", NULL);
    b->published =
        souk_metrics_counter(m, "outbox_published_total", "Outbox events published.", NULL);
    b->lag =
        souk_metrics_gauge(m, "kafka_consumer_lag",
                           "Messages behind the end of the log, per partition.", topic_partition);
    b->handled = souk_metrics_counter(m, "events_handled_total",
                                      "Consumed events by type and outcome.", type_outcome);
    b->invalid = souk_metrics_counter(m, "events_invalid_total",
                                      "Messages skipped for a bad envelope.", topic);
    b->handle_seconds = souk_metrics_histogram(
        m, "event_handling_duration_seconds", "Time to handle one event, retries included.", type,
        souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
}

static void free_bus(souk_bus_t *b)
{
    for (size_t i = 0; i < b->nconsumers; i++) {
        if (!b->consumers[i].rk)
            continue;
        rd_kafka_consumer_close(b->consumers[i].rk); /* leaves the group at once */
        rd_kafka_destroy(b->consumers[i].rk);
    }
    souk_free(b->consumers);
    if (b->producer) {
        rd_kafka_flush(b->producer, 5000);
        rd_kafka_destroy(b->producer);
    }
    for (char **t = b->topics; t && *t; t++)
        souk_free(*t);
    souk_free(b->topics);
    souk_free(b->brokers);
    souk_free(b->service);
    souk_free(b->group);
    pthread_mutex_destroy(&b->producer_lock);
    souk_free(b);
}

souk_err_t souk_bus_start(const souk_bus_config_t *cfg, souk_bus_t **out)
{
    if (!cfg->brokers || !cfg->service || !cfg->pool || !cfg->metrics ||
        (cfg->group && (!cfg->topics || !cfg->handler)))
        return SOUK_EINVAL;
    souk_bus_t *b = souk_calloc(1, sizeof(*b));
    b->cfg = *cfg;
    b->brokers = souk_strdup(cfg->brokers);
    b->service = souk_strdup(cfg->service);
    b->group = cfg->group ? souk_strdup(cfg->group) : NULL;
    size_t n = 0;
    while (cfg->topics && cfg->topics[n])
        n++;
    b->topics = souk_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        b->topics[i] = souk_strdup(cfg->topics[i]);
    pthread_mutex_init(&b->producer_lock, NULL);
    init_metrics(b, cfg->metrics);
    souk_err_t err = SOUK_EUNAVAIL;
    if (!(b->producer = souk_bus__producer_new(b)))
        goto fail;
    long members = cfg->consumers;
    if (!members && souk_env_long("BUS_CONSUMERS", 2, 1, 64, &members) != SOUK_OK)
        goto fail;
    b->nconsumers = b->group ? (size_t)members : 0;
    b->consumers = souk_calloc(b->nconsumers ? b->nconsumers : 1, sizeof(*b->consumers));
    for (size_t i = 0; i < b->nconsumers; i++) {
        b->consumers[i].bus = b;
        if (!(b->consumers[i].rk = souk_bus__consumer_new(b)))
            goto fail;
    }
    err = SOUK_EINTERNAL;
    if (pthread_create(&b->relay, NULL, souk_bus__relay_main, b) != 0)
        goto fail;
    b->relay_started = true;
    for (size_t i = 0; i < b->nconsumers; i++) {
        souk_bus__consumer_t *c = &b->consumers[i];
        if (pthread_create(&c->thread, NULL, souk_bus__consumer_main, c) != 0) {
            souk_bus_stop(b);
            return err;
        }
        c->started = true;
    }
    souk_log_info("event bus on %s%s%s", b->brokers, b->group ? ", group " : "",
                  b->group ? b->group : "");
    *out = b;
    return SOUK_OK;
fail:
    free_bus(b);
    return err;
}

void souk_bus_stop(souk_bus_t *b)
{
    if (!b)
        return;
    atomic_store(&b->stop, true);
    for (size_t i = 0; i < b->nconsumers; i++)
        if (b->consumers[i].started)
            pthread_join(b->consumers[i].thread, NULL);
    if (b->relay_started)
        pthread_join(b->relay, NULL);
    free_bus(b);
}

bool souk_bus_ready(souk_bus_t *b, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    pthread_mutex_lock(&b->producer_lock);
    rd_kafka_resp_err_t err = rd_kafka_metadata(b->producer, 0, NULL, &md, timeout_ms);
    pthread_mutex_unlock(&b->producer_lock);
    if (md)
        rd_kafka_metadata_destroy(md);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}
