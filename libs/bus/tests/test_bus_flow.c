/* Unit tests of libs/bus's relay and consumer together, on librdkafka's mock
 * cluster and a real PostgreSQL (SOUK_TEST_DATABASE_URL), in a schema of
 * their own: events written to the outbox are published in order and handled
 * once; redeliveries change nothing; transient failures are retried; poison
 * events, bad envelopes and foreign sources are parked as dead letters (and
 * the service's hook answers them); the batch hook sees every event handled
 * in its transaction first, and a failing hook costs nothing but batching; a
 * broker outage delays, never loses, and readiness follows the broker
 * without blocking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <souk/bus.h>

#include "dbtest.h"

#define WAIT_S 40

typedef struct {
    rd_kafka_t *host; /* owns the mock cluster */
    rd_kafka_mock_cluster_t *cluster;
    rd_kafka_t *raw; /* a plain producer for hand-made messages */
    souk_metrics_t *metrics;
    souk_dbtest_t db;
    souk_db_pool_t *pool;
    souk_bus_t *bus;
    char service[48];
    atomic_int flaky_attempts;
} fx_t;

static fx_t fx;

static long long scalar(const char *sql)
{
    return souk_dbtest_scalar(fx.pool, sql);
}

/* Polls sql until it returns want, or fails after WAIT_S seconds. */
static void wait_for(const char *sql, long long want)
{
    long long last = -1;
    for (int i = 0; i < WAIT_S * 20; i++) {
        if ((last = scalar(sql)) == want)
            return;
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
    fail_msg("%s: %lld, expected %lld", sql, last, want);
}

static void wait_ready(bool want)
{
    for (int i = 0; i < WAIT_S * 20; i++) {
        if (souk_bus_ready(fx.bus) == want)
            return;
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    }
    fail_msg("readiness did not become %d", want);
}

/* The handler: data {"n": N, "mode": ok|poison|flaky|dbfail}. */
static souk_err_t handler(souk_db_conn_t *c, const souk_event_t *ev, void *ud)
{
    const char *mode = json_string_value(json_object_get(ev->data, "mode"));
    char n[24];
    snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(json_object_get(ev->data, "n")));
    if (mode && strcmp(mode, "poison") == 0)
        return SOUK_EINVAL;
    if (mode && strcmp(mode, "flaky") == 0 && atomic_fetch_add(&fx.flaky_attempts, 1) < 2)
        return SOUK_EUNAVAIL;
    if (mode && strcmp(mode, "dbfail") == 0) {
        static const souk_db_stmt_t boom = {"t_boom", "SELECT 1 / 0"};
        return souk_db_query(c, &boom, 0, NULL, NULL);
    }
    static const souk_db_stmt_t ins = {"t_handled", "INSERT INTO handled (n) VALUES ($1)"};
    return souk_db_query(c, &ins, 1, (const char *[]){n}, NULL);
}

/* The batch hook: records each event it is given in the transaction, and
 * refuses a batch holding a "batchfail" event. */
static souk_err_t on_batch(souk_db_conn_t *c, const souk_event_t *const *evs, size_t n, void *ud)
{
    static const souk_db_stmt_t ins = {"t_batch_seen", "INSERT INTO batch_seen (n) VALUES ($1)"};
    for (size_t i = 0; i < n; i++) {
        const char *mode = json_string_value(json_object_get(evs[i]->data, "mode"));
        if (mode && strcmp(mode, "batchfail") == 0)
            return SOUK_EINVAL;
        char v[24];
        snprintf(v, sizeof(v), "%lld",
                 (long long)json_integer_value(json_object_get(evs[i]->data, "n")));
        souk_err_t err = souk_db_query(c, &ins, 1, (const char *[]){v}, NULL);
        if (err)
            return err;
    }
    return SOUK_OK;
}

static souk_err_t on_dead(souk_db_conn_t *c, const souk_event_t *ev, const char *reason, void *ud)
{
    static const souk_db_stmt_t ins = {"t_answered",
                                       "INSERT INTO answered (event_id, reason) VALUES ($1, $2)"};
    return souk_db_query(c, &ins, 2, (const char *[]){ev->id, reason}, NULL);
}

static int setup(void **state)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    fx.host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(fx.host);
    fx.cluster = rd_kafka_mock_cluster_new(fx.host, 1);
    assert_non_null(fx.cluster);
    assert_int_equal(rd_kafka_mock_topic_create(fx.cluster, "orders", 2, 1), 0);
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(fx.cluster);
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    fx.raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    assert_non_null(fx.raw);

    const souk_migration_t *const migrations[] = {souk_bus_migrations, NULL};
    souk_dbtest_open(&fx.db, "bus_t", 6, 0, migrations);
    fx.pool = fx.db.pool;
    snprintf(fx.service, sizeof(fx.service), "test-%s", fx.db.schema);
    souk_dbtest_exec(fx.pool, "CREATE TABLE handled (n int NOT NULL, "
                              "tx bigint NOT NULL DEFAULT txid_current())");
    souk_dbtest_exec(fx.pool, "CREATE TABLE batch_seen (n int NOT NULL, "
                              "tx bigint NOT NULL DEFAULT txid_current())");
    souk_dbtest_exec(fx.pool, "CREATE TABLE answered (event_id text PRIMARY KEY, reason text)");

    fx.metrics = souk_metrics_new();
    static const char *const topics[] = {"orders", NULL};
    static const char *const types[] = {SOUK_EV_ORDER_PLACED, NULL};
    souk_bus_config_t bc = {.brokers = bootstrap,
                            .service = fx.service,
                            .group = fx.service,
                            .topics = topics,
                            .types = types,
                            .consumers = 2,
                            .handler = handler,
                            .on_dead_letter = on_dead,
                            .on_batch = on_batch,
                            .max_attempts = 3,
                            .retry_min_ms = 10,
                            .retry_max_ms = 50,
                            .pool = fx.pool,
                            .metrics = fx.metrics};
    assert_int_equal(souk_bus_start(&bc, &fx.bus), SOUK_OK);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    souk_bus_stop(fx.bus);
    souk_dbtest_close(&fx.db);
    souk_metrics_free(fx.metrics);
    rd_kafka_destroy(fx.raw);
    rd_kafka_mock_cluster_destroy(fx.cluster);
    rd_kafka_destroy(fx.host);
    return 0;
}

typedef struct {
    int n;
    const char *mode;
} add_t;

static souk_err_t add_event(souk_db_conn_t *c, void *ud)
{
    add_t *a = ud;
    char key[16];
    snprintf(key, sizeof(key), "k%d", a->n % 7);
    json_t *data = json_pack("{s:i, s:s}", "n", a->n, "mode", a->mode);
    souk_outbox_msg_t m = {
        .topic = "orders", .type = SOUK_EV_ORDER_PLACED, .key = key, .data = data};
    souk_err_t err = souk_outbox_add(c, SOUK_SOURCE_ORDER, &m);
    json_decref(data);
    return err;
}

static void outbox(int n, const char *mode)
{
    add_t a = {n, mode};
    assert_int_equal(souk_db_run_tx(fx.pool, add_event, &a), SOUK_OK);
}

static void raw(const char *payload)
{
    assert_int_equal(rd_kafka_producev(fx.raw, RD_KAFKA_V_TOPIC("orders"),
                                       RD_KAFKA_V_VALUE((void *)payload, strlen(payload)),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                     0);
    assert_int_equal(rd_kafka_flush(fx.raw, 10000), 0);
}

static void test_published_and_handled_once(void **state)
{
    wait_ready(true);
    for (int i = 1; i <= 10; i++)
        outbox(i, "ok");
    wait_for("SELECT count(*) FROM handled", 10);
    wait_for("SELECT count(*) FROM outbox WHERE sent_at IS NULL", 0);
    assert_int_equal(scalar("SELECT count(DISTINCT n) FROM handled"), 10);
    /* The same envelope twice (a redelivery): handled once. */
    const char *ev = "{\"specversion\":\"1.0\",\"id\":\"dup-1\",\"source\":\"/order-service\","
                     "\"type\":\"souk.order.placed.v1\",\"data\":{\"n\":100,\"mode\":\"ok\"}}";
    raw(ev);
    raw(ev);
    outbox(101, "ok"); /* a marker after both copies on the same partition or not */
    wait_for("SELECT count(*) FROM handled WHERE n = 101", 1);
    wait_for("SELECT count(*) FROM processed_events WHERE event_id = 'dup-1'", 1);
    assert_int_equal(scalar("SELECT count(*) FROM handled WHERE n = 100"), 1);
}

/* Every event handled in a batch was first given to the batch hook in the
 * same transaction; a batch the hook refuses is still handled, each once. */
static void test_batch_hook(void **state)
{
    wait_ready(true);
    for (int i = 1000; i < 1030; i++)
        outbox(i, i == 1015 ? "batchfail" : "ok");
    wait_for("SELECT count(*) FROM handled WHERE n >= 1000 AND n < 1030", 30);
    assert_int_equal(scalar("SELECT count(DISTINCT n) FROM handled WHERE n >= 1000 AND n < 1030"),
                     30);
    /* handled with a hook: seen by it in that very transaction */
    assert_int_equal(
        scalar("SELECT count(*) FROM handled h WHERE n >= 1000 AND n < 1030 AND "
               "EXISTS (SELECT 1 FROM batch_seen b WHERE b.tx = h.tx) AND "
               "NOT EXISTS (SELECT 1 FROM batch_seen b WHERE b.tx = h.tx AND b.n = h.n)"),
        0);
    /* what the hook saw and committed was handled in its transaction */
    assert_int_equal(scalar("SELECT count(*) FROM batch_seen b WHERE n >= 1000 AND NOT EXISTS "
                            "(SELECT 1 FROM handled h WHERE h.tx = b.tx AND h.n = b.n)"),
                     0);
    assert_true(scalar("SELECT count(*) FROM batch_seen WHERE n >= 1000") > 0);
}

static void test_failures_are_parked_or_retried(void **state)
{
    wait_ready(true);
    outbox(201, "poison");
    outbox(202, "flaky");
    outbox(203, "dbfail");
    raw("this is not a CloudEvent");
    raw("{\"specversion\":\"1.0\",\"id\":\"forged-1\",\"source\":\"/somebody-else\","
        "\"type\":\"souk.order.placed.v1\",\"data\":{\"n\":204,\"mode\":\"ok\"}}");
    outbox(205, "ok");
    wait_for("SELECT count(*) FROM dead_letters", 4);
    wait_for("SELECT count(*) FROM handled WHERE n IN (202, 205)", 2);
    assert_int_equal(scalar("SELECT count(*) FROM handled WHERE n IN (201, 203, 204)"), 0);
    assert_int_equal(scalar("SELECT count(*) FROM dead_letters WHERE reason = 'rejected'"), 1);
    assert_int_equal(scalar("SELECT count(*) FROM dead_letters WHERE reason = 'exhausted'"
                            " AND attempts = 3"),
                     1);
    assert_int_equal(scalar("SELECT count(*) FROM dead_letters WHERE reason = 'invalid_envelope'"
                            " AND event_id IS NULL AND payload = 'this is not a CloudEvent'"),
                     1);
    assert_int_equal(scalar("SELECT count(*) FROM dead_letters WHERE reason = 'unexpected_source'"
                            " AND event_id = 'forged-1'"),
                     1);
    /* The hook answered each parsed one, in the parking transaction. */
    assert_int_equal(scalar("SELECT count(*) FROM answered"), 3);
    assert_int_equal(atomic_load(&fx.flaky_attempts), 3);
}

static void test_broker_outage(void **state)
{
    wait_ready(true);
    rd_kafka_mock_broker_set_down(fx.cluster, 1);
    wait_ready(false);
    for (int i = 301; i <= 305; i++)
        outbox(i, "ok");
    assert_int_equal(scalar("SELECT count(*) FROM handled WHERE n > 300 AND n < 1000"), 0);
    rd_kafka_mock_broker_set_up(fx.cluster, 1);
    wait_ready(true);
    wait_for("SELECT count(*) FROM handled WHERE n > 300 AND n < 1000", 5);
    wait_for("SELECT count(*) FROM outbox WHERE sent_at IS NULL", 0);
}

int main(void)
{
    if (!getenv("SOUK_TEST_DATABASE_URL")) {
        fprintf(stderr, "SOUK_TEST_DATABASE_URL is not set: run through scripts/test\n");
        return 1;
    }
    srand((unsigned)souk_now_unix_ms());
    if (souk_log_init("test_bus_flow", "error") != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_and_handled_once),
        cmocka_unit_test(test_batch_hook),
        cmocka_unit_test(test_failures_are_parked_or_retried),
        cmocka_unit_test(test_broker_outage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
