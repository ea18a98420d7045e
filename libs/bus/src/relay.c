/* relay.c: publishes committed outbox rows in order and marks them sent.
 * One relay per service is active at a time (a session advisory lock), so
 * rows leave in sequence order; replicas stand by. A batch is produced,
 * flushed, and only the rows whose delivery was confirmed (acks=all,
 * idempotent producer) are marked sent; on a broker outage it backs off and
 * retries the same rows, so an outage delays events but loses none. */
#include "bus_int.h"

#include <stdio.h>
#include <string.h>

#define BATCH          256
#define FLUSH_MS       15000
#define IDLE_WAIT_MS   1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define PURGE_EVERY_NS (600ull * 1000000000ull)

static const souk_db_stmt_t q_lock = {"bus_relay_lock",
                                      "SELECT pg_try_advisory_lock(hashtext($1))"};
static const souk_db_stmt_t q_unlock = {"bus_relay_unlock",
                                        "SELECT pg_advisory_unlock(hashtext($1))"};
static const souk_db_stmt_t q_batch = {"bus_relay_batch",
                                       "SELECT seq, topic, key, payload, traceparent FROM outbox"
                                       " WHERE sent_at IS NULL ORDER BY seq LIMIT 256"};
static const souk_db_stmt_t q_mark = {
    "bus_relay_mark", "UPDATE outbox SET sent_at = now() WHERE seq = ANY ($1::bigint[])"};
static const souk_db_stmt_t q_pending = {"bus_relay_pending",
                                         "SELECT count(*) FROM outbox WHERE sent_at IS NULL"};
static const souk_db_stmt_t q_purge = {
    "bus_relay_purge", "DELETE FROM outbox WHERE sent_at < now() - interval '1 day'"};

/* Delivery reports land here through the message opaque. */
typedef struct {
    rd_kafka_resp_err_t err;
    bool done;
} delivery_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *ud)
{
    delivery_t *d = m->_private;
    d->err = m->err;
    d->done = true;
}

rd_kafka_t *souk_bus__producer_new(souk_bus_t *b)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *kv[] = {"bootstrap.servers",
                        b->brokers,
                        "client.id",
                        b->service,
                        "enable.idempotence",
                        "true",
                        "acks",
                        "all",
                        "linger.ms",
                        "2",
                        "message.timeout.ms",
                        "10000",
                        "reconnect.backoff.max.ms",
                        "1000",
                        "log_level",
                        "4",
                        NULL};
    if (!souk_bus__conf(conf, kv)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk)
        souk_log_error("cannot create the Kafka producer: %s", err);
    return rk;
}

typedef struct {
    souk_bus_t *bus;
    souk_db_conn_t *conn;
    bool locked;
    long backoff_ms;
    uint64_t last_purge_ns;
    bool outage_logged;
} relay_t;

static souk_err_t acquire(relay_t *r)
{
    souk_bus_t *b = r->bus;
    if (!r->conn) {
        souk_err_t err = souk_db_acquire(b->cfg.pool, &r->conn);
        if (err)
            return err;
        if ((err = souk_db_listen(r->conn, "souk_outbox")) != SOUK_OK) {
            souk_db_release(b->cfg.pool, r->conn);
            r->conn = NULL;
            return err;
        }
    }
    if (!r->locked) {
        PGresult *res;
        souk_err_t err = souk_db_query(r->conn, &q_lock, 1, (const char *[]){b->service}, &res);
        r->locked = err == SOUK_OK && souk_db_bool(res, 0, 0);
        PQclear(res);
        if (err)
            return err;
    }
    return r->locked ? SOUK_OK : SOUK_ECONFLICT;
}

static void drop_conn(relay_t *r)
{
    if (!r->conn)
        return;
    if (r->locked &&
        souk_db_query(r->conn, &q_unlock, 1, (const char *[]){r->bus->service}, NULL) != SOUK_OK)
        souk_log_debug("relay lock release failed; the session end releases it");
    if (souk_db_unlisten(r->conn) != SOUK_OK)
        souk_log_debug("unlisten failed");
    souk_db_release(r->bus->cfg.pool, r->conn);
    r->conn = NULL;
    r->locked = false;
}

static void produce_row(rd_kafka_t *rk, const PGresult *res, int i, delivery_t *d)
{
    const char *topic = PQgetvalue(res, i, 1), *key = PQgetvalue(res, i, 2);
    const char *payload = PQgetvalue(res, i, 3), *tp = souk_db_value(res, i, 4);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
    rd_kafka_header_add(hdrs, "content-type", -1, "application/cloudevents+json", -1);
    if (tp)
        rd_kafka_header_add(hdrs, "traceparent", -1, tp, -1);
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)payload, strlen(payload)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                          RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
    if (err) {
        rd_kafka_headers_destroy(hdrs);
        d->err = err;
        d->done = true;
    }
}

/* Publishes one batch; returns the number sent, or -1 on a failure. */
static int publish_batch(relay_t *r)
{
    souk_bus_t *b = r->bus;
    PGresult *res = NULL;
    if (souk_db_query(r->conn, &q_batch, 0, NULL, &res) != SOUK_OK)
        return -1;
    int n = PQntuples(res), sent = 0;
    delivery_t d[BATCH] = {0};
    pthread_mutex_lock(&b->producer_lock);
    for (int i = 0; i < n; i++)
        produce_row(b->producer, res, i, &d[i]);
    rd_kafka_flush(b->producer, FLUSH_MS);
    if (rd_kafka_outq_len(b->producer) > 0) {
        /* Reports must not arrive after d[] is gone: purge what is left and
         * serve the purge reports now. */
        rd_kafka_purge(b->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        for (int i = 0; i < 100 && rd_kafka_outq_len(b->producer) > 0; i++)
            rd_kafka_poll(b->producer, 100);
    }
    pthread_mutex_unlock(&b->producer_lock);
    /* Mark the confirmed prefix: a failed row stops the batch so order holds. */
    souk_buf_t seqs;
    souk_buf_init(&seqs, (size_t)BATCH * 24 + 4);
    souk_err_t err = souk_buf_append(&seqs, "{", 1);
    for (int i = 0; i < n && d[i].done && !d[i].err; i++, sent++)
        err |= souk_buf_appendf(&seqs, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
    err |= souk_buf_append(&seqs, "}", 1);
    if (sent > 0 && !err)
        err = souk_db_query(r->conn, &q_mark, 1, (const char *[]){seqs.data}, NULL);
    if (sent < n && !r->outage_logged) {
        rd_kafka_resp_err_t e =
            sent < n && d[sent].done ? d[sent].err : RD_KAFKA_RESP_ERR__TIMED_OUT;
        souk_log_warn("outbox: publishing failed (%s); retrying with back-off",
                      rd_kafka_err2str(e));
        r->outage_logged = true;
    }
    souk_buf_cleanup(&seqs);
    PQclear(res);
    if (sent > 0)
        souk_metric_inc(b->published, NULL, (uint64_t)sent);
    return err || sent < n ? -1 : sent;
}

static void housekeeping(relay_t *r)
{
    PGresult *res;
    if (souk_db_query(r->conn, &q_pending, 0, NULL, &res) == SOUK_OK)
        souk_metric_set(r->bus->pending, NULL, (double)souk_db_int(res, 0, 0));
    PQclear(res);
    uint64_t now = souk_now_mono_ns();
    if (now - r->last_purge_ns > PURGE_EVERY_NS) {
        r->last_purge_ns = now;
        if (souk_db_query(r->conn, &q_purge, 0, NULL, NULL) != SOUK_OK)
            souk_log_warn("outbox: purge of sent rows failed");
    }
}

/* A fatal producer error (idempotence state lost) needs a new producer. */
static void renew_producer_if_fatal(souk_bus_t *b)
{
    char why[256];
    if (rd_kafka_fatal_error(b->producer, why, sizeof(why)) == RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    souk_log_error("Kafka producer fatal error (%s); recreating it", why);
    rd_kafka_t *fresh = souk_bus__producer_new(b);
    if (!fresh)
        return;
    pthread_mutex_lock(&b->producer_lock);
    rd_kafka_t *old = b->producer;
    b->producer = fresh;
    pthread_mutex_unlock(&b->producer_lock);
    rd_kafka_destroy(old);
}

static void step(relay_t *r)
{
    souk_err_t err = acquire(r);
    if (err == SOUK_ECONFLICT) { /* another replica relays; stand by */
        souk_bus__nap(r->bus, IDLE_WAIT_MS);
        return;
    }
    if (err) {
        drop_conn(r);
        souk_bus__nap(r->bus, r->backoff_ms);
        r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
        return;
    }
    int sent = publish_batch(r);
    housekeeping(r);
    if (sent < 0) {
        renew_producer_if_fatal(r->bus);
        souk_bus__nap(r->bus, r->backoff_ms);
        r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
        return;
    }
    if (r->outage_logged) {
        souk_log_info("outbox: publishing again");
        r->outage_logged = false;
    }
    r->backoff_ms = BACKOFF_MIN_MS;
    bool notified;
    if (sent < BATCH && souk_db_wait_notify(r->conn, IDLE_WAIT_MS, &notified) != SOUK_OK)
        drop_conn(r);
}

void *souk_bus__relay_main(void *arg)
{
    relay_t r = {.bus = arg, .backoff_ms = BACKOFF_MIN_MS, .last_purge_ns = souk_now_mono_ns()};
    while (!atomic_load(&r.bus->stop))
        step(&r);
    drop_conn(&r);
    return NULL;
}
