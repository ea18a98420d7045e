/* relay.c: publishes committed outbox rows in order and marks them sent.
 * One relay per service is active at a time (a session advisory lock), so
 * rows leave in sequence order; replicas stand by. A batch is produced,
 * flushed, and only the rows whose delivery was confirmed (acks=all,
 * idempotent producer) are marked sent; on a broker outage it backs off and
 * retries the same rows, so an outage delays events but loses none.
 *
 * The relay thread alone touches its producer and its database connection,
 * a connection of its own outside the request pool (it LISTENs for new rows
 * and holds the lock for the process's life). Readiness reads the broker
 * state the relay last saw instead of asking the broker itself, so a probe
 * never waits on a flush. Delivery reports of a batch live on the heap until
 * the last one arrived, however late that is. */
#include "bus_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH          256
#define FLUSH_MS       12000 /* message.timeout.ms plus a margin */
#define IDLE_WAIT_MS   1000
#define PROBE_EVERY_NS (2ull * 1000000000ull)
#define PROBE_MS       1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define PURGE_EVERY_NS (600ull * 1000000000ull)

static const souk_db_stmt_t q_lock = {"bus_relay_lock",
                                      "SELECT pg_try_advisory_lock(hashtext($1))"};
static const souk_db_stmt_t q_batch = {"bus_relay_batch",
                                       "SELECT seq, topic, key, payload, traceparent FROM outbox"
                                       " WHERE sent_at IS NULL ORDER BY seq LIMIT 256"};
static const souk_db_stmt_t q_mark = {
    "bus_relay_mark", "UPDATE outbox SET sent_at = now() WHERE seq = ANY ($1::bigint[])"};
static const souk_db_stmt_t q_pending = {
    "bus_relay_pending",
    "SELECT count(*), COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8,"
    " (SELECT count(*) FROM dead_letters) FROM outbox WHERE sent_at IS NULL"};
static const souk_db_stmt_t q_purge = {
    "bus_relay_purge", "DELETE FROM outbox WHERE sent_at < now() - interval '1 day'"};

/* One batch's delivery reports; freed by whichever of the relay and the
 * last report lets go of it last. Reports are served on the relay thread
 * (poll/flush), so the count needs no lock. */
typedef struct batch batch_t;
typedef struct {
    batch_t *batch;
    rd_kafka_resp_err_t err;
    bool done;
} delivery_t;

struct batch {
    int refs; /* the relay's + one per message not yet reported */
    batch_t *next;
    delivery_t d[BATCH];
};

struct souk_bus__relay {
    souk_bus_t *bus;
    rd_kafka_t *producer;
    souk_db_conn_t *conn; /* dedicated, outside the pool */
    bool locked, outage_logged;
    long backoff_ms;
    uint64_t last_purge_ns, last_probe_ns;
    batch_t *batches; /* still referenced by a report, freed at the end */
};

static void batch_unref(batch_t *b)
{
    b->refs--;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *ud)
{
    delivery_t *d = m->_private;
    d->err = m->err;
    d->done = true;
    batch_unref(d->batch);
}

static rd_kafka_t *producer_new(souk_bus_t *b)
{
    char err[256];
    const char *kv[] = {"enable.idempotence",
                        "true",
                        "acks",
                        "all",
                        "linger.ms",
                        "2",
                        "message.timeout.ms",
                        "10000",
                        "reconnect.backoff.max.ms",
                        "1000",
                        NULL};
    rd_kafka_conf_t *conf = souk_bus__conf(b, kv);
    if (!conf)
        return NULL;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        souk_log_error("cannot create the Kafka producer: %s", err);
    return rk;
}

souk_bus__relay_t *souk_bus__relay_new(souk_bus_t *b)
{
    souk_bus__relay_t *r = souk_calloc(1, sizeof(*r));
    r->bus = b;
    r->backoff_ms = BACKOFF_MIN_MS;
    r->last_purge_ns = souk_now_mono_ns();
    if (!(r->producer = producer_new(b))) {
        souk_free(r);
        return NULL;
    }
    return r;
}

/* Frees the batches no report refers to any more; with all, every batch
 * (after the producer is gone, no report can come). */
static void batches_collect(souk_bus__relay_t *r, bool all)
{
    batch_t **p = &r->batches;
    while (*p) {
        batch_t *b = *p;
        if (all || b->refs == 0) {
            *p = b->next;
            souk_free(b);
        } else {
            p = &b->next;
        }
    }
}

void souk_bus__relay_free(souk_bus__relay_t *r)
{
    if (!r)
        return;
    if (r->producer) {
        /* Whatever is still queued was never marked sent: the next relay
         * publishes it again, so nothing waits for it here. */
        rd_kafka_purge(r->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(r->producer, 0);
        rd_kafka_destroy(r->producer);
    }
    batches_collect(r, true);
    souk_db_disconnect(r->conn);
    souk_free(r);
}

static void drop_conn(souk_bus__relay_t *r)
{
    /* Closing the session releases the advisory lock and the LISTEN. */
    souk_db_disconnect(r->conn);
    r->conn = NULL;
    r->locked = false;
}

static souk_err_t acquire(souk_bus__relay_t *r)
{
    souk_bus_t *b = r->bus;
    souk_err_t err;
    if (!r->conn) {
        if ((err = souk_db_connect(b->cfg.pool, &r->conn)) != SOUK_OK)
            return err;
        if ((err = souk_db_listen(r->conn, "souk_outbox")) != SOUK_OK) {
            drop_conn(r);
            return err;
        }
    }
    if (!r->locked) {
        PGresult *res;
        err = souk_db_query(r->conn, &q_lock, 1, (const char *[]){b->service}, &res);
        r->locked = err == SOUK_OK && souk_db_bool(res, 0, 0);
        PQclear(res);
        if (err)
            return err;
    }
    return r->locked ? SOUK_OK : SOUK_ECONFLICT;
}

/* A producer span per event, child of the request that wrote the row; its
 * context is what consumers continue (the Kafka header). */
static void start_span(souk_span_t *span, const char *topic, const char *row_traceparent,
                       char tp[SOUK_TRACEPARENT_LEN + 1])
{
    char name[96];
    snprintf(name, sizeof(name), "%s publish", topic);
    souk_span_start(span, SOUK_SPAN_PRODUCER, name, NULL, row_traceparent);
    souk_span_attr_str(span, "messaging.system", "kafka");
    souk_span_attr_str(span, "messaging.destination.name", topic);
    souk_span_attr_str(span, "messaging.operation", "publish");
    souk_trace_format(&span->ctx, tp);
}

static void produce_row(rd_kafka_t *rk, const PGresult *res, int i, delivery_t *d)
{
    const char *topic = PQgetvalue(res, i, 1), *key = PQgetvalue(res, i, 2);
    const char *payload = PQgetvalue(res, i, 3);
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_span_t span;
    start_span(&span, topic, souk_db_value(res, i, 4), tp);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
    rd_kafka_header_add(hdrs, "content-type", -1, "application/cloudevents+json", -1);
    rd_kafka_header_add(hdrs, "traceparent", -1, tp, -1);
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)payload, strlen(payload)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                          RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
    if (err) { /* never queued: no report will come */
        rd_kafka_headers_destroy(hdrs);
        d->err = err;
        d->done = true;
        batch_unref(d->batch);
        souk_span_error(&span, rd_kafka_err2str(err));
    }
    souk_span_end(&span);
}

/* Produces rows [0, n) of res and waits for their reports (or the flush
 * deadline); returns the batch, still referenced by late reports if any. */
static batch_t *produce_batch(souk_bus__relay_t *r, const PGresult *res, int n)
{
    batch_t *b = souk_calloc(1, sizeof(*b));
    b->refs = 1 + n;
    b->next = r->batches;
    r->batches = b;
    for (int i = 0; i < n; i++) {
        b->d[i].batch = b;
        produce_row(r->producer, res, i, &b->d[i]);
    }
    /* Flushed in slices, so a shutdown during an outage does not wait for
     * the delivery timeout. */
    uint64_t deadline = souk_now_mono_ns() + (uint64_t)FLUSH_MS * 1000000ull;
    while (rd_kafka_outq_len(r->producer) > 0 && !atomic_load(&r->bus->stop) &&
           souk_now_mono_ns() < deadline)
        rd_kafka_flush(r->producer, 100);
    if (rd_kafka_outq_len(r->producer) > 0) /* undelivered: take them back */
        rd_kafka_purge(r->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(r->producer, 0);
    batch_unref(b);
    return b;
}

/* Marks the confirmed prefix sent: a failed row stops the batch so order
 * holds. Returns how many were marked, or -1 when the mark failed. */
static int mark_sent(souk_bus__relay_t *r, const PGresult *res, const batch_t *b, int n)
{
    souk_buf_t seqs;
    souk_buf_init(&seqs, (size_t)BATCH * 24 + 4);
    souk_err_t err = souk_buf_append(&seqs, "{", 1);
    int sent = 0;
    for (; sent < n && b->d[sent].done && !b->d[sent].err; sent++)
        err |= souk_buf_appendf(&seqs, "%s%s", sent ? "," : "", PQgetvalue(res, sent, 0));
    err |= souk_buf_append(&seqs, "}", 1);
    if (sent > 0 && !err)
        err = souk_db_query(r->conn, &q_mark, 1, (const char *[]){seqs.data}, NULL);
    souk_buf_cleanup(&seqs);
    return err ? -1 : sent;
}

static void log_outage(souk_bus__relay_t *r, const batch_t *b, int sent)
{
    if (r->outage_logged)
        return;
    rd_kafka_resp_err_t e = b->d[sent].done ? b->d[sent].err : RD_KAFKA_RESP_ERR__TIMED_OUT;
    souk_log_warn("outbox: publishing failed (%s); retrying with back-off", rd_kafka_err2str(e));
    r->outage_logged = true;
}

/* Publishes one batch; returns the number sent, or -1 on a failure. */
static int publish_batch(souk_bus__relay_t *r)
{
    souk_bus_t *bus = r->bus;
    PGresult *res = NULL;
    if (souk_db_query(r->conn, &q_batch, 0, NULL, &res) != SOUK_OK)
        return -1;
    int n = PQntuples(res), sent = 0;
    if (n > 0) {
        batch_t *b = produce_batch(r, res, n);
        sent = mark_sent(r, res, b, n);
        if (sent >= 0 && sent < n)
            log_outage(r, b, sent);
        atomic_store(&bus->broker, sent == n ? SOUK_BUS__BROKER_UP : SOUK_BUS__BROKER_DOWN);
        batches_collect(r, false);
    }
    PQclear(res);
    if (sent > 0)
        souk_metric_inc(bus->published, NULL, (uint64_t)sent);
    return sent < n ? -1 : sent;
}

static void housekeeping(souk_bus__relay_t *r)
{
    PGresult *res;
    if (souk_db_query(r->conn, &q_pending, 0, NULL, &res) == SOUK_OK) {
        souk_metric_set(r->bus->pending, NULL, (double)souk_db_int(res, 0, 0));
        souk_metric_set(r->bus->oldest, NULL, strtod(PQgetvalue(res, 0, 1), NULL));
        souk_metric_set(r->bus->dead_rows, NULL, (double)souk_db_int(res, 0, 2));
    }
    PQclear(res);
    uint64_t now = souk_now_mono_ns();
    if (now - r->last_purge_ns > PURGE_EVERY_NS) {
        r->last_purge_ns = now;
        if (souk_db_query(r->conn, &q_purge, 0, NULL, NULL) != SOUK_OK)
            souk_log_warn("outbox: purge of sent rows failed");
    }
}

/* Looks at the broker every few seconds, whatever else the relay is doing
 * (standing by, waiting for the database), so readiness stays current. */
static void probe_broker(souk_bus__relay_t *r)
{
    uint64_t now = souk_now_mono_ns();
    if (now - r->last_probe_ns < PROBE_EVERY_NS && r->last_probe_ns)
        return;
    r->last_probe_ns = now;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(r->producer, 0, NULL, &md, PROBE_MS);
    if (md)
        rd_kafka_metadata_destroy(md);
    atomic_store(&r->bus->broker, err ? SOUK_BUS__BROKER_DOWN : SOUK_BUS__BROKER_UP);
}

/* A fatal producer error (idempotence state lost) needs a new producer. */
static void renew_producer_if_fatal(souk_bus__relay_t *r)
{
    char why[256];
    if (rd_kafka_fatal_error(r->producer, why, sizeof(why)) == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    souk_log_error("Kafka producer fatal error (%s); recreating it", why);
    rd_kafka_t *fresh = producer_new(r->bus);
    if (!fresh)
        return;
    rd_kafka_purge(r->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(r->producer, 0);
    rd_kafka_destroy(r->producer);
    r->producer = fresh;
}

static void back_off(souk_bus__relay_t *r)
{
    souk_bus__nap(r->bus, r->backoff_ms);
    r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

static void step(souk_bus__relay_t *r)
{
    probe_broker(r);
    souk_err_t err = acquire(r);
    if (err == SOUK_ECONFLICT) { /* another replica relays; stand by */
        souk_bus__nap(r->bus, IDLE_WAIT_MS);
        return;
    }
    if (err) {
        drop_conn(r);
        back_off(r);
        return;
    }
    int sent = publish_batch(r);
    housekeeping(r);
    if (sent < 0) {
        if (!souk_db_conn_ok(r->conn))
            drop_conn(r);
        renew_producer_if_fatal(r);
        back_off(r);
        return;
    }
    if (r->outage_logged) {
        souk_log_info("outbox: publishing again");
        r->outage_logged = false;
    }
    r->backoff_ms = BACKOFF_MIN_MS;
    bool notified;
    if (sent < BATCH &&
        souk_db_wait_notify(r->conn, IDLE_WAIT_MS, NULL, NULL, &notified) != SOUK_OK)
        drop_conn(r);
}

void *souk_bus__relay_main(void *arg)
{
    souk_bus__relay_t *r = arg;
    while (!atomic_load(&r->bus->stop))
        step(r);
    return NULL;
}
