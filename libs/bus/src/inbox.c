/* inbox.c: what happens to one consumed message, on the database side. In
 * the usual case a message is handled inside a transaction shared with the
 * other messages of its batch, under a savepoint of its own: its inbox
 * record (processed_events) and its handler's effects commit together, a
 * duplicate changes nothing, and a refused (poison) event is rolled back to
 * its savepoint and parked as a dead letter in the same transaction. Any
 * other failure ends the batch there; that message is then handled alone,
 * retried with back-off (for as long as a dependency is away, or up to
 * max_attempts for other failures) and parked when its retries run out.
 * Nothing is dropped silently. */
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

static const char *topic_label(const souk_bus_t *b, const char *topic)
{
    for (char **t = b->topics; t && *t; t++)
        if (strcmp(*t, topic) == 0)
            return *t;
    return SOUK_METRIC_OTHER;
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

void souk_bus__work_init(souk_bus__work_t *w, souk_bus_t *b, const rd_kafka_message_t *m)
{
    memset(w, 0, sizeof(*w));
    w->bus = b;
    w->msg = m;
    w->t0 = souk_now_mono_ns();
    if (souk_event_parse(m->payload, m->len, &w->event) != SOUK_OK) {
        souk_metric_inc(b->invalid, (const char *[]){topic_label(b, rd_kafka_topic_name(m->rkt))},
                        1);
        w->todo = SOUK_BUS__PARK;
        w->reason = "invalid_envelope";
        return;
    }
    w->ev = &w->event;
    w->event.topic = rd_kafka_topic_name(m->rkt);
    header_traceparent(m, &w->event);
    /* The consumer span continues the producer's; what the handler writes
     * (outbox rows) continues the consumer span. */
    char name[96];
    snprintf(name, sizeof(name), "%s process", w->event.topic);
    souk_span_start(&w->span, SOUK_SPAN_CONSUMER, name, NULL, w->event.traceparent);
    souk_trace_format(&w->span.ctx, w->event.traceparent);
    w->traced = true;
    const char *owner = souk_event_source_of(w->event.type);
    if (b->types[0] && !souk_bus__type_wanted(b, w->event.type)) {
        w->todo = SOUK_BUS__ACK; /* no use for it: no transaction, not even an inbox row */
    } else if (owner && strcmp(owner, w->event.source) != 0) {
        w->todo = SOUK_BUS__PARK;
        w->reason = "unexpected_source";
    } else {
        w->todo = SOUK_BUS__HANDLE;
    }
}

void souk_bus__work_cleanup(souk_bus__work_t *w)
{
    souk_event_cleanup(&w->event);
}

static souk_err_t record_seen(souk_db_conn_t *c, const souk_bus__work_t *w, const char *outcome,
                              bool *fresh)
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

/* Inbox record + handler, on c in the caller's transaction. */
static souk_err_t handle_on(souk_db_conn_t *c, souk_bus__work_t *w)
{
    bool fresh = false;
    const souk_trace_t *outer = souk_trace_set_current(&w->span.ctx);
    souk_err_t err = record_seen(c, w, "handled", &fresh);
    w->duplicate = err == SOUK_OK && !fresh;
    if (err == SOUK_OK && fresh)
        err = w->bus->cfg.handler(c, w->ev, w->bus->cfg.ud);
    souk_trace_set_current(outer);
    snprintf(w->sqlstate, sizeof(w->sqlstate), "%s", souk_db_last_sqlstate(c));
    return err;
}

/* Dead letter row (+ inbox record and the service's hook for a parsed
 * event), on c in the caller's transaction. */
static souk_err_t park_on(souk_db_conn_t *c, souk_bus__work_t *w)
{
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
    w->parked = err == SOUK_OK;
    return err;
}

souk_err_t souk_bus__work_in_tx(souk_db_conn_t *c, souk_bus__work_t *w)
{
    if (w->todo == SOUK_BUS__ACK)
        return SOUK_OK;
    souk_err_t err = souk_db_savepoint(c, "souk_event");
    if (err)
        return err;
    if (w->todo == SOUK_BUS__HANDLE)
        w->attempts++;
    err = w->todo == SOUK_BUS__PARK ? park_on(c, w) : handle_on(c, w);
    if (err == SOUK_OK)
        return SOUK_OK; /* the savepoint goes with the commit */
    /* Undo this message only; the rest of the batch stands. */
    souk_err_t undo = souk_db_rollback_to(c, "souk_event");
    if (undo)
        return undo;
    if (w->todo == SOUK_BUS__HANDLE && classify(err, w->sqlstate) == POISON) {
        w->reason = "rejected";
        w->todo = SOUK_BUS__PARK;
        return souk_bus__work_in_tx(c, w);
    }
    return err;
}

static void log_event(souk_log_level_t level, const souk_bus__work_t *w, const char *msg)
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

static souk_err_t in_tx(souk_db_conn_t *c, void *ud)
{
    return souk_bus__work_in_tx(c, ud);
}

static void back_off(souk_bus_t *b, long *ms)
{
    souk_bus__nap(b, *ms);
    *ms = *ms * 2 > b->cfg.retry_max_ms ? b->cfg.retry_max_ms : *ms * 2;
}

bool souk_bus__work_alone(souk_bus__work_t *w)
{
    souk_bus_t *b = w->bus;
    long backoff = b->cfg.retry_min_ms;
    for (;;) {
        souk_err_t err = souk_db_run_tx(b->cfg.pool, in_tx, w);
        if (err == SOUK_OK)
            return true;
        failure_t kind = w->todo == SOUK_BUS__PARK ? RETRY_FOREVER : classify(err, w->sqlstate);
        if (kind == RETRY_BOUNDED && w->attempts >= b->cfg.max_attempts) {
            w->reason = "exhausted";
            w->todo = SOUK_BUS__PARK; /* a dead letter is retried until written */
            continue;
        }
        if (atomic_load(&b->stop))
            return false;
        log_event(SOUK_LOG_WARN, w, "event handling failed; retrying");
        back_off(b, &backoff);
    }
}

static void end_span(souk_bus__work_t *w, const char *outcome)
{
    souk_span_t *s = &w->span;
    if (!w->traced || !souk_span_recording(s))
        return;
    souk_span_attr_str(s, "messaging.system", "kafka");
    souk_span_attr_str(s, "messaging.destination.name", w->event.topic);
    souk_span_attr_str(s, "messaging.operation", "process");
    souk_span_attr_str(s, "messaging.message.id", w->event.id);
    souk_span_attr_str(s, "cloudevents.event_type", w->event.type);
    souk_span_attr_str(s, "souk.event.outcome", outcome);
    if (w->parked || strcmp(outcome, "aborted") == 0)
        souk_span_error(s, w->reason ? w->reason : outcome);
    souk_span_end(s);
}

void souk_bus__work_done(souk_bus__work_t *w, bool committed)
{
    souk_bus_t *b = w->bus;
    const char *outcome = !committed                 ? "aborted"
                          : w->todo == SOUK_BUS__ACK ? "ignored"
                          : w->parked                ? "dead_letter"
                          : w->duplicate             ? "duplicate"
                                                     : "ok";
    if (!w->ev) { /* an envelope that did not parse has no type to count under */
        if (w->parked)
            log_event(SOUK_LOG_WARN, w, "event dead-lettered");
    } else {
        const char *label = souk_bus__type_label(b, w->ev->type);
        souk_metric_inc(b->handled, (const char *[]){label, outcome}, 1);
        if (w->todo != SOUK_BUS__ACK)
            souk_metric_observe(b->handle_seconds, (const char *[]){label},
                                (double)(souk_now_mono_ns() - w->t0) / 1e9);
        if (w->parked)
            log_event(SOUK_LOG_WARN, w, "event dead-lettered");
        else if (souk_log_enabled(SOUK_LOG_DEBUG))
            log_event(SOUK_LOG_DEBUG, w, outcome);
        if (w->todo != SOUK_BUS__ACK) /* ignored types are not worth a span */
            end_span(w, outcome);
    }
    if (w->parked)
        souk_metric_inc(
            b->dead, (const char *[]){topic_label(b, rd_kafka_topic_name(w->msg->rkt)), w->reason},
            1);
}
