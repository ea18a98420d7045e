/* consumer.c: the consumer-group consumer, on the Kafka side. Each member
 * thread polls what its partitions have ready (up to a batch), hands the
 * messages to the inbox (inbox.c) to be handled in one database transaction,
 * and only after that transaction commits stores their offsets, so a crash
 * redelivers what was not committed and the inbox makes that harmless. A
 * message the batch could not take is handled alone, with its retries,
 * before the partition moves on. */
#include "bus_int.h"

#include <stdio.h>
#include <string.h>

#define BATCH 64

/* librdkafka's own log lines, as JSON lines like everything else (syslog
 * levels: 0..3 errors, 4 warnings, 5..6 notices and info, 7 debug). Broker
 * trouble is reported through the bus's behaviour and metrics, so its
 * errors are warnings here. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    souk_log_level_t l = level <= 4 ? SOUK_LOG_WARN : level <= 6 ? SOUK_LOG_INFO : SOUK_LOG_DEBUG;
    if (souk_log_enabled(l))
        souk_log(l, "kafka %s: %s: %s", rd_kafka_name(rk), fac, buf);
}

rd_kafka_conf_t *souk_bus__conf(souk_bus_t *b, const char *const *kv)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *base[] = {"bootstrap.servers", b->brokers, "client.id", b->service,
                          "log_level",         "4",        NULL};
    const char *const *lists[] = {base, (const char *const *)b->settings, kv};
    for (size_t l = 0; l < SOUK_ARRAY_LEN(lists); l++) {
        for (size_t i = 0; lists[l] && lists[l][i] && lists[l][i + 1]; i += 2) {
            if (rd_kafka_conf_set(conf, lists[l][i], lists[l][i + 1], err, sizeof(err)) !=
                RD_KAFKA_CONF_OK) {
                souk_log_error("Kafka setting %s: %s", lists[l][i], err);
                rd_kafka_conf_destroy(conf);
                return NULL;
            }
        }
    }
    rd_kafka_conf_set_log_cb(conf, on_log);
    return conf;
}

void souk_bus__nap(souk_bus_t *b, long ms)
{
    for (long slept = 0; slept < ms && !atomic_load(&b->stop); slept += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
}

static const char *configured_type(const souk_bus_t *b, const char *type)
{
    for (char **t = b->types; t && *t; t++)
        if (strcmp(*t, type) == 0)
            return *t;
    return NULL;
}

bool souk_bus__type_wanted(const souk_bus_t *b, const char *type)
{
    return configured_type(b, type) != NULL;
}

const char *souk_bus__type_label(const souk_bus_t *b, const char *type)
{
    const char *t = configured_type(b, type);
    return t ? t : SOUK_METRIC_OTHER;
}

static const char *topic_label(const souk_bus_t *b, const char *topic)
{
    for (char **t = b->topics; t && *t; t++)
        if (strcmp(*t, topic) == 0)
            return *t;
    return SOUK_METRIC_OTHER;
}

/* Publishes consumer_lag of the partitions this member owns (others report
 * -1) from librdkafka's statistics JSON. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *ud)
{
    souk_bus_t *b = ud;
    json_t *j = json_loadb(json, len, 0, NULL);
    const char *topic;
    json_t *t;
    json_object_foreach(json_object_get(j, "topics"), topic, t)
    {
        const char *pid;
        json_t *p;
        json_object_foreach(json_object_get(t, "partitions"), pid, p)
        {
            json_t *lag = json_object_get(p, "consumer_lag");
            if (strcmp(pid, "-1") != 0 && json_is_integer(lag) && json_integer_value(lag) >= 0)
                souk_metric_set(b->lag, (const char *[]){topic_label(b, topic), pid},
                                (double)json_integer_value(lag));
        }
    }
    json_decref(j);
    return 0; /* librdkafka frees json */
}

rd_kafka_t *souk_bus__consumer_new(souk_bus_t *b)
{
    char err[256];
    /* A short fetch wait: an empty fetch holds new events back that long (the
     * dev broker does not answer early), and it is on every event's path. */
    const char *kv[] = {"group.id",
                        b->group,
                        "enable.auto.commit",
                        "false",
                        "enable.auto.offset.store",
                        "false",
                        "auto.offset.reset",
                        "earliest",
                        "fetch.wait.max.ms",
                        "10",
                        "reconnect.backoff.max.ms",
                        "1000",
                        "session.timeout.ms",
                        "6000",
                        "heartbeat.interval.ms",
                        "1000",
                        "statistics.interval.ms",
                        "5000",
                        NULL};
    rd_kafka_conf_t *conf = souk_bus__conf(b, kv);
    if (!conf)
        return NULL;
    rd_kafka_conf_set_opaque(conf, b);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        souk_log_error("cannot create the Kafka consumer: %s", err);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(4);
    for (char **t = b->topics; *t; t++)
        rd_kafka_topic_partition_list_add(list, *t, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e) {
        souk_log_error("cannot subscribe: %s", rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

/* The messages of one poll: at most BATCH, in the order they came (per
 * partition, the log's order). */
typedef struct {
    rd_kafka_message_t *m[BATCH];
    souk_bus__work_t w[BATCH];
    size_t n;
} batch_t;

static void poll_batch(rd_kafka_t *rk, batch_t *b)
{
    b->n = 0;
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
    while (m) {
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                souk_log_debug("consumer: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        } else {
            b->m[b->n++] = m;
        }
        m = b->n < BATCH ? rd_kafka_consumer_poll(rk, 0) : NULL;
    }
}

typedef struct {
    batch_t *b;
    size_t from, done; /* messages [from, done) went in without a failure */
} run_t;

/* The service's batch hook, with the events of [from, n) to be handled. */
static souk_err_t batch_begin(souk_db_conn_t *c, run_t *r)
{
    souk_bus_t *bus = r->b->w[0].bus;
    const souk_event_t *evs[BATCH];
    size_t n = 0;
    if (!bus->cfg.on_batch)
        return SOUK_OK;
    for (size_t i = r->from; i < r->b->n; i++)
        if (r->b->w[i].todo == SOUK_BUS__HANDLE)
            evs[n++] = r->b->w[i].ev;
    return n ? bus->cfg.on_batch(c, evs, n, bus->cfg.ud) : SOUK_OK;
}

/* One transaction over the batch from `from`; stops at the first message
 * it could not take, committing those before it. */
static souk_err_t batch_tx(souk_db_conn_t *c, void *ud)
{
    run_t *r = ud;
    souk_err_t err = batch_begin(c, r);
    if (err)
        return err;
    for (r->done = r->from; r->done < r->b->n; r->done++)
        if (souk_bus__work_in_tx(c, &r->b->w[r->done]) != SOUK_OK)
            break;
    return SOUK_OK;
}

static void settle(rd_kafka_t *rk, batch_t *b, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        souk_bus__work_done(&b->w[i], true);
        rd_kafka_commit_message(rk, b->m[i], 1);
    }
}

static void handle_batch(souk_bus_t *bus, rd_kafka_t *rk, batch_t *b)
{
    for (size_t i = 0; i < b->n; i++)
        souk_bus__work_init(&b->w[i], bus, b->m[i]);
    run_t r = {b, 0, 0};
    while (r.from < b->n && !atomic_load(&bus->stop)) {
        if (souk_db_run_tx(bus->cfg.pool, batch_tx, &r) != SOUK_OK)
            r.done = r.from; /* nothing committed: take the first one alone */
        settle(rk, b, r.from, r.done);
        if (r.done == b->n)
            break;
        /* The message the batch could not take, alone with its retries. */
        if (!souk_bus__work_alone(&b->w[r.done])) {
            souk_bus__work_done(&b->w[r.done], false);
            break; /* stopping: what is not committed is redelivered */
        }
        settle(rk, b, r.done, r.done + 1);
        r.from = r.done + 1;
    }
    for (size_t i = 0; i < b->n; i++) {
        souk_bus__work_cleanup(&b->w[i]);
        rd_kafka_message_destroy(b->m[i]);
    }
}

void *souk_bus__consumer_main(void *arg)
{
    souk_bus__consumer_t *me = arg;
    souk_bus_t *b = me->bus;
    batch_t *batch = souk_malloc(sizeof(*batch));
    while (!atomic_load(&b->stop)) {
        poll_batch(me->rk, batch);
        handle_batch(b, me->rk, batch);
    }
    souk_free(batch);
    return NULL;
}
