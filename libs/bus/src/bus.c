/* bus.c: lifecycle of the bus: metrics, the relay and consumer threads, and
 * the readiness probe. */
#include "bus_int.h"

#include <string.h>

static void init_metrics(souk_bus_t *b, souk_metrics_t *m)
{
    static const char *const topic[] = {"topic", NULL};
    static const char *const topic_partition[] = {"topic", "partition", NULL};
    static const char *const type_outcome[] = {"type", "outcome", NULL};
    static const char *const topic_reason[] = {"topic", "reason", NULL};
    static const char *const type[] = {"type", NULL};
    b->pending = souk_metrics_gauge(m, "outbox_pending", "Outbox events not yet published.", NULL);
    b->oldest = souk_metrics_gauge(m, "outbox_oldest_age_seconds",
                                   "Age of the oldest unpublished outbox event.", NULL);
    b->published =
        souk_metrics_counter(m, "outbox_published_total", "Outbox events published.", NULL);
    b->lag =
        souk_metrics_gauge(m, "kafka_consumer_lag",
                           "Messages behind the end of the log, per partition.", topic_partition);
    b->handled = souk_metrics_counter(m, "events_handled_total",
                                      "Consumed events by type and outcome.", type_outcome);
    b->invalid = souk_metrics_counter(m, "events_invalid_total",
                                      "Messages with an envelope that is not a CloudEvent.", topic);
    b->dead =
        souk_metrics_counter(m, "events_dead_lettered_total",
                             "Events parked in the dead-letter table, by reason.", topic_reason);
    b->dead_rows = souk_metrics_gauge(m, "events_dead_letters",
                                      "Rows in the dead-letter table (read by the relay).", NULL);
    b->handle_seconds = souk_metrics_histogram(
        m, "event_handling_duration_seconds", "Time to handle one event, retries included.", type,
        souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
}

static char **copy_list(const char *const *list)
{
    size_t n = 0;
    while (list && list[n])
        n++;
    char **out = souk_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = souk_strdup(list[i]);
    return out;
}

static void free_list(char **list)
{
    for (char **p = list; p && *p; p++)
        souk_free(*p);
    souk_free(list);
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
    souk_bus__relay_free(b->relay_state);
    free_list(b->topics);
    free_list(b->types);
    free_list(b->settings);
    souk_free(b->brokers);
    souk_free(b->service);
    souk_free(b->group);
    souk_free(b);
}

static souk_err_t start_threads(souk_bus_t *b)
{
    if (pthread_create(&b->relay, NULL, souk_bus__relay_main, b->relay_state) != 0)
        return SOUK_EINTERNAL;
    b->relay_started = true;
    for (size_t i = 0; i < b->nconsumers; i++) {
        souk_bus__consumer_t *c = &b->consumers[i];
        if (pthread_create(&c->thread, NULL, souk_bus__consumer_main, c) != 0)
            return SOUK_EINTERNAL;
        c->started = true;
    }
    return SOUK_OK;
}

souk_err_t souk_bus_start(const souk_bus_config_t *cfg, souk_bus_t **out)
{
    *out = NULL;
    if (!cfg->brokers || !cfg->service || !cfg->pool || !cfg->metrics ||
        (cfg->group && (!cfg->topics || !cfg->handler)))
        return SOUK_EINVAL;
    souk_bus_t *b = souk_calloc(1, sizeof(*b));
    b->cfg = *cfg;
    b->brokers = souk_strdup(cfg->brokers);
    b->service = souk_strdup(cfg->service);
    b->group = cfg->group ? souk_strdup(cfg->group) : NULL;
    b->topics = copy_list(cfg->topics);
    b->types = copy_list(cfg->types);
    b->settings = copy_list(cfg->kafka_settings);
    if (!b->cfg.max_attempts)
        b->cfg.max_attempts = 5;
    if (!b->cfg.retry_min_ms)
        b->cfg.retry_min_ms = 100;
    if (!b->cfg.retry_max_ms)
        b->cfg.retry_max_ms = 5000;
    init_metrics(b, cfg->metrics);
    souk_err_t err = SOUK_EUNAVAIL;
    if (!(b->relay_state = souk_bus__relay_new(b)))
        goto fail;
    b->nconsumers = b->group ? (cfg->consumers ? cfg->consumers : 1) : 0;
    b->consumers = souk_calloc(b->nconsumers ? b->nconsumers : 1, sizeof(*b->consumers));
    for (size_t i = 0; i < b->nconsumers; i++) {
        b->consumers[i].bus = b;
        if (!(b->consumers[i].rk = souk_bus__consumer_new(b)))
            goto fail;
    }
    if ((err = start_threads(b)) != SOUK_OK) {
        souk_bus_stop(b);
        return err;
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

bool souk_bus_ready(souk_bus_t *b)
{
    return atomic_load(&b->broker) == SOUK_BUS__BROKER_UP;
}
