/* consumer.c: the consumer-group consumer. For each message: parse the
 * envelope (a bad one is logged, counted and skipped), then in one database
 * transaction record the event id in processed_events and run the handler;
 * commit; only then commit the Kafka offset. A redelivered event finds its id
 * already recorded and changes nothing. Transient failures retry the same
 * message with back-off, so a partition never skips an event. */
#include "bus_int.h"

#include <stdio.h>
#include <string.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

static const souk_db_stmt_t q_seen = {
    "bus_inbox_record", "INSERT INTO processed_events (event_id, type, topic, outcome)"
                        " VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING"};

bool souk_bus__conf(rd_kafka_conf_t *conf, const char *const *kv)
{
    char err[256];
    for (size_t i = 0; kv[i]; i += 2) {
        if (rd_kafka_conf_set(conf, kv[i], kv[i + 1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            souk_log_error("Kafka setting %s: %s", kv[i], err);
            return false;
        }
    }
    return true;
}

void souk_bus__nap(souk_bus_t *b, long ms)
{
    for (long slept = 0; slept < ms && !atomic_load(&b->stop); slept += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
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
                souk_metric_set(b->lag, (const char *[]){topic, pid},
                                (double)json_integer_value(lag));
        }
    }
    json_decref(j);
    return 0; /* librdkafka frees json */
}

rd_kafka_t *souk_bus__consumer_new(souk_bus_t *b)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* A short fetch wait: an empty fetch holds new events back that long (the
     * dev broker does not answer early), and it is on every event's path. */
    const char *kv[] = {"bootstrap.servers",
                        b->brokers,
                        "group.id",
                        b->group,
                        "client.id",
                        b->service,
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
                        "log_level",
                        "4",
                        NULL};
    if (!souk_bus__conf(conf, kv)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
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

static void header_traceparent(const rd_kafka_message_t *m, souk_event_t *ev)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(h, "traceparent", &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        n < sizeof(ev->traceparent)) {
        memcpy(ev->traceparent, v, n);
        ev->traceparent[n] = '\0';
    }
}

/* One transaction: inbox record + handler. */
static souk_err_t handle_once(souk_bus_t *b, const souk_event_t *ev, bool *duplicate,
                              bool *rejected)
{
    souk_db_conn_t *c = NULL;
    PGresult *res = NULL;
    souk_err_t err = souk_db_acquire(b->cfg.pool, &c);
    if (err)
        return err;
    if ((err = souk_db_begin(c)) != SOUK_OK)
        goto out;
    const char *p[] = {ev->id, ev->type, ev->topic, "handled"};
    if ((err = souk_db_query(c, &q_seen, 4, p, &res)) != SOUK_OK)
        goto out;
    *duplicate = strcmp(PQcmdTuples(res), "0") == 0;
    if (!*duplicate && (err = b->cfg.handler(c, ev, b->cfg.ud)) == SOUK_EINVAL) {
        /* Never handleable: record it as rejected so redelivery skips it. */
        souk_db_rollback(c);
        p[3] = "rejected";
        *rejected = true;
        err = souk_db_begin(c);
        if (err == SOUK_OK)
            err = souk_db_query(c, &q_seen, 4, p, NULL);
    }
    if (err == SOUK_OK)
        err = souk_db_commit(c);
out:
    PQclear(res);
    if (err)
        souk_db_rollback(c);
    souk_db_release(b->cfg.pool, c);
    return err;
}

static void log_event(souk_log_level_t level, const souk_event_t *ev, const char *msg)
{
    souk_trace_t t;
    bool traced = souk_trace_parse(ev->traceparent, strlen(ev->traceparent), &t);
    souk_log_ctx_t lc = {NULL, traced ? t.trace_id : NULL, NULL};
    json_t *f = json_pack("{s:s, s:s, s:s}", "event.id", ev->id, "event.type", ev->type,
                          "event.topic", ev->topic);
    souk_log_json(level, &lc, msg, f);
    json_decref(f);
}

/* Types the handler has no use for need no transaction, not even an inbox
 * row: they are acknowledged as they come. */
static bool wanted(const souk_bus_t *b, const char *type)
{
    for (const char *const *t = b->cfg.types; t && *t; t++)
        if (strcmp(*t, type) == 0)
            return true;
    return !b->cfg.types;
}

/* Returns true when the message is done with (handled, duplicate or
 * skipped) and its offset may be committed. */
static bool handle_message(souk_bus_t *b, const rd_kafka_message_t *m)
{
    souk_event_t ev;
    const char *topic = rd_kafka_topic_name(m->rkt);
    if (souk_event_parse(m->payload, m->len, &ev) != SOUK_OK) {
        souk_metric_inc(b->invalid, (const char *[]){topic}, 1);
        souk_log_warn("skipping an invalid event on %s [%d] at offset %lld", topic,
                      (int)m->partition, (long long)m->offset);
        return true;
    }
    ev.topic = topic;
    if (!wanted(b, ev.type)) {
        souk_metric_inc(b->handled, (const char *[]){ev.type, "ignored"}, 1);
        souk_event_cleanup(&ev);
        return true;
    }
    header_traceparent(m, &ev);
    uint64_t t0 = souk_now_mono_ns();
    long backoff = BACKOFF_MIN_MS;
    bool duplicate = false, rejected = false;
    souk_err_t err;
    while ((err = handle_once(b, &ev, &duplicate, &rejected)) != SOUK_OK &&
           !atomic_load(&b->stop)) {
        log_event(SOUK_LOG_WARN, &ev, "event handling failed; retrying");
        souk_bus__nap(b, backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    const char *outcome = err ? "aborted" : duplicate ? "duplicate" : rejected ? "rejected" : "ok";
    souk_metric_inc(b->handled, (const char *[]){ev.type, outcome}, 1);
    souk_metric_observe(b->handle_seconds, (const char *[]){ev.type},
                        (double)(souk_now_mono_ns() - t0) / 1e9);
    if (rejected)
        log_event(SOUK_LOG_WARN, &ev, "event rejected by its handler; skipped");
    else if (souk_log_enabled(SOUK_LOG_DEBUG))
        log_event(SOUK_LOG_DEBUG, &ev, duplicate ? "duplicate event ignored" : "event handled");
    souk_event_cleanup(&ev);
    return err == SOUK_OK;
}

void *souk_bus__consumer_main(void *arg)
{
    souk_bus__consumer_t *me = arg;
    souk_bus_t *b = me->bus;
    while (!atomic_load(&b->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(me->rk, 200);
        if (!m)
            continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                souk_log_debug("consumer: %s", rd_kafka_message_errstr(m));
        } else if (handle_message(b, m)) {
            rd_kafka_commit_message(me->rk, m, 1);
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}
