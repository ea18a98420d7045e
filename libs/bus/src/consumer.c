/* consumer.c: the consumer-group consumer. For each message: parse the
 * envelope, check that its type comes from the service that owns it, then in
 * one database transaction record the event id in processed_events and run
 * the handler; commit; only then commit the Kafka offset. A redelivered event
 * finds its id already recorded and changes nothing.
 *
 * Nothing is dropped silently. A transient failure (database or dependency
 * away) is retried with back-off for as long as it lasts, so the partition
 * waits rather than skips. An event that can never be handled (a bad
 * envelope, a wrong source, a handler's refusal, or a failure that outlives
 * its retries) is parked in the dead_letters table, counted, and handed to
 * the service's dead-letter hook in the same transaction, so a saga can still
 * answer it; then the partition moves on. */
#include "bus_int.h"

#include <stdio.h>
#include <string.h>

static const souk_db_stmt_t q_seen = {
    "bus_inbox_record", "INSERT INTO processed_events (event_id, type, topic, outcome)"
                        " VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING"};
static const souk_db_stmt_t q_dead = {
    "bus_dead_letter",
    "INSERT INTO dead_letters (event_id, type, source, topic, partition, kafka_offset, reason,"
    " attempts, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"};

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

/* What became of one message. */
typedef enum { DONE_OK, DONE_DUPLICATE, DONE_DEAD, NOT_DONE } outcome_t;

/* How a failed attempt is treated (see the file comment). */
typedef enum { RETRY_FOREVER, RETRY_BOUNDED, POISON } failure_t;

static failure_t classify(souk_err_t err, const char *sqlstate)
{
    if (err == SOUK_EUNAVAIL || err == SOUK_ETIMEOUT)
        return RETRY_FOREVER;
    /* SOUK_EINVAL is the handler's "never": unless a statement failed, in
     * which case it is the database's (a check or type error) and gets the
     * bounded retries like any other failure. */
    if (err == SOUK_EINVAL && !*sqlstate)
        return POISON;
    return RETRY_BOUNDED;
}

typedef struct {
    souk_bus_t *bus;
    const rd_kafka_message_t *msg;
    souk_event_t *ev; /* NULL for an envelope that did not parse */
    const char *reason;
    int attempts;
    bool duplicate;
    char sqlstate[6];
} work_t;

static souk_err_t record_seen(souk_db_conn_t *c, const work_t *w, const char *outcome, bool *fresh)
{
    PGresult *res = NULL;
    const souk_event_t *ev = w->ev;
    const char *p[] = {ev->id, ev->type, ev->topic, outcome};
    souk_err_t err = souk_db_query(c, &q_seen, 4, p, &res);
    if (err == SOUK_OK)
        *fresh = strcmp(PQcmdTuples(res), "0") != 0;
    PQclear(res);
    return err;
}

/* Inbox record + handler, in the transaction souk_db_tx opened. */
static souk_err_t handle_tx(souk_db_conn_t *c, void *ud)
{
    work_t *w = ud;
    bool fresh = false;
    souk_err_t err = record_seen(c, w, "handled", &fresh);
    w->duplicate = err == SOUK_OK && !fresh;
    if (err == SOUK_OK && fresh)
        err = w->bus->cfg.handler(c, w->ev, w->bus->cfg.ud);
    snprintf(w->sqlstate, sizeof(w->sqlstate), "%s", souk_db_last_sqlstate(c));
    return err;
}

/* Dead letter row (+ inbox record and the service's hook for a parsed
 * event), in the transaction souk_db_tx opened. */
static souk_err_t dead_tx(souk_db_conn_t *c, void *ud)
{
    work_t *w = ud;
    const rd_kafka_message_t *m = w->msg;
    const souk_event_t *ev = w->ev;
    char partition[16], offset[24], attempts[16];
    snprintf(partition, sizeof(partition), "%d", (int)m->partition);
    snprintf(offset, sizeof(offset), "%lld", (long long)m->offset);
    snprintf(attempts, sizeof(attempts), "%d", w->attempts);
    /* The payload as text, when it is text; bytes that are not UTF-8 would
     * make the row fail, and a dead letter must never fail to be written. */
    bool text = m->payload && souk_utf8_valid(m->payload, m->len);
    char *payload = text ? souk_strndup(m->payload, m->len) : NULL;
    const char *p[] = {ev ? ev->id : NULL,
                       ev ? ev->type : NULL,
                       ev ? ev->source : NULL,
                       rd_kafka_topic_name(m->rkt),
                       partition,
                       offset,
                       w->reason,
                       attempts,
                       payload};
    bool fresh = true; /* a redelivery of an event parked before is a duplicate */
    souk_err_t err = ev ? record_seen(c, w, "dead_letter", &fresh) : SOUK_OK;
    if (err == SOUK_OK && fresh)
        err = souk_db_query(c, &q_dead, 9, p, NULL);
    souk_free(payload);
    if (err == SOUK_OK && ev && fresh && w->bus->cfg.on_dead_letter)
        err = w->bus->cfg.on_dead_letter(c, ev, w->reason, w->bus->cfg.ud);
    return err;
}

static void log_event(souk_log_level_t level, const work_t *w, const char *msg)
{
    const rd_kafka_message_t *m = w->msg;
    const souk_event_t *ev = w->ev;
    souk_trace_t t;
    bool traced = ev && souk_trace_parse(ev->traceparent, strlen(ev->traceparent), &t);
    souk_log_ctx_t lc = {NULL, traced ? t.trace_id : NULL, NULL};
    json_t *f =
        json_pack("{s:s, s:i, s:I}", "event.topic", rd_kafka_topic_name(m->rkt), "event.partition",
                  (int)m->partition, "event.offset", (json_int_t)m->offset);
    if (ev) {
        json_object_set_new(f, "event.id", json_string(ev->id));
        json_object_set_new(f, "event.type", json_string(ev->type));
    }
    if (w->reason)
        json_object_set_new(f, "event.reason", json_string(w->reason));
    souk_log_json(level, &lc, msg, f);
    json_decref(f);
}

/* Parks the message; retried (like any database work) until it is written,
 * because a dead letter that is not recorded would be a loss. */
static outcome_t park(work_t *w)
{
    souk_bus_t *b = w->bus;
    long backoff = b->cfg.retry_min_ms;
    while (souk_db_run_tx(b->cfg.pool, dead_tx, w) != SOUK_OK) {
        if (atomic_load(&b->stop))
            return NOT_DONE;
        souk_bus__nap(b, backoff);
        backoff = backoff * 2 > b->cfg.retry_max_ms ? b->cfg.retry_max_ms : backoff * 2;
    }
    souk_metric_inc(
        b->dead, (const char *[]){topic_label(b, rd_kafka_topic_name(w->msg->rkt)), w->reason}, 1);
    log_event(SOUK_LOG_WARN, w, "event dead-lettered");
    return DONE_DEAD;
}

static outcome_t handle(work_t *w)
{
    souk_bus_t *b = w->bus;
    long backoff = b->cfg.retry_min_ms;
    for (;;) {
        w->attempts++;
        souk_err_t err = souk_db_run_tx(b->cfg.pool, handle_tx, w);
        if (err == SOUK_OK)
            return w->duplicate ? DONE_DUPLICATE : DONE_OK;
        failure_t kind = classify(err, w->sqlstate);
        if (kind == POISON || (kind == RETRY_BOUNDED && w->attempts >= b->cfg.max_attempts)) {
            w->reason = kind == POISON ? "rejected" : "exhausted";
            return park(w);
        }
        if (atomic_load(&b->stop))
            return NOT_DONE;
        log_event(SOUK_LOG_WARN, w, "event handling failed; retrying");
        souk_bus__nap(b, backoff);
        backoff = backoff * 2 > b->cfg.retry_max_ms ? b->cfg.retry_max_ms : backoff * 2;
    }
}

/* Types the handler has no use for need no transaction, not even an inbox
 * row: they are acknowledged as they come. */
static bool wanted(const souk_bus_t *b, const char *type)
{
    return !b->types[0] || configured_type(b, type) != NULL;
}

static const char *const outcome_names[] = {[DONE_OK] = "ok",
                                            [DONE_DUPLICATE] = "duplicate",
                                            [DONE_DEAD] = "dead_letter",
                                            [NOT_DONE] = "aborted"};

/* Returns true when the message is done with (handled, duplicate, ignored
 * or parked) and its offset may be committed. */
static bool handle_message(souk_bus_t *b, const rd_kafka_message_t *m)
{
    souk_event_t ev;
    work_t w = {.bus = b, .msg = m};
    if (souk_event_parse(m->payload, m->len, &ev) != SOUK_OK) {
        souk_metric_inc(b->invalid, (const char *[]){topic_label(b, rd_kafka_topic_name(m->rkt))},
                        1);
        w.reason = "invalid_envelope";
        return park(&w) == DONE_DEAD;
    }
    ev.topic = rd_kafka_topic_name(m->rkt);
    w.ev = &ev;
    const char *label = souk_bus__type_label(b, ev.type);
    if (!wanted(b, ev.type)) {
        souk_metric_inc(b->handled, (const char *[]){label, "ignored"}, 1);
        souk_event_cleanup(&ev);
        return true;
    }
    header_traceparent(m, &ev);
    uint64_t t0 = souk_now_mono_ns();
    const char *owner = souk_event_source_of(ev.type);
    outcome_t done;
    if (owner && strcmp(owner, ev.source) != 0) {
        w.reason = "unexpected_source";
        done = park(&w);
    } else {
        done = handle(&w);
    }
    souk_metric_inc(b->handled, (const char *[]){label, outcome_names[done]}, 1);
    souk_metric_observe(b->handle_seconds, (const char *[]){label},
                        (double)(souk_now_mono_ns() - t0) / 1e9);
    if (souk_log_enabled(SOUK_LOG_DEBUG) && done != DONE_DEAD)
        log_event(SOUK_LOG_DEBUG, &w,
                  done == DONE_DUPLICATE ? "duplicate event ignored" : "event handled");
    souk_event_cleanup(&ev);
    return done != NOT_DONE;
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
