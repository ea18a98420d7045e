/* Unit tests of libs/db against a real PostgreSQL (SOUK_TEST_DATABASE_URL,
 * set by scripts/test): pool bounds, error mapping, rollback on release, and
 * migrations applied exactly once even when two runners race. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <poll.h>

#include "../src/db_int.h" /* the connection's socket, to see the server's close arrive */

#include <souk/db.h>

static const char *url(void)
{
    return getenv("SOUK_TEST_DATABASE_URL");
}

static souk_db_pool_t *pool_of(int size, int timeout_ms)
{
    souk_db_config_t cfg = {
        .conninfo = url(), .app_name = "test_db", .size = size, .acquire_timeout_ms = timeout_ms};
    souk_db_pool_t *p = NULL;
    assert_int_equal(souk_db_pool_new(&cfg, &p), SOUK_OK);
    return p;
}

static void test_pool_bounds(void **state)
{
    souk_db_pool_t *p = pool_of(2, 200);
    souk_db_conn_t *a, *b, *c;
    assert_int_equal(souk_db_acquire(p, &a), SOUK_OK);
    assert_int_equal(souk_db_acquire(p, &b), SOUK_OK);
    c = (souk_db_conn_t *)&c; /* garbage the failure must overwrite */
    assert_int_equal(souk_db_acquire(p, &c), SOUK_ETIMEOUT);
    assert_null(c);
    souk_db_release(p, c); /* what callers do on their single exit path */
    /* A dedicated connection does not take a slot, and needs none. */
    souk_db_conn_t *own = NULL;
    assert_int_equal(souk_db_connect(p, &own), SOUK_OK);
    static const souk_db_stmt_t one = {"one", "SELECT 1"};
    assert_int_equal(souk_db_query(own, &one, 0, NULL, NULL), SOUK_OK);
    souk_db_disconnect(own);
    souk_db_release(p, a);
    assert_int_equal(souk_db_acquire(p, &c), SOUK_OK);
    assert_ptr_equal(c, a); /* the released connection is reused */
    souk_db_release(p, b);
    souk_db_release(p, c);
    assert_true(souk_db_ping(p));
    souk_db_pool_free(p);
}

static void test_errors_and_rollback(void **state)
{
    souk_db_pool_t *p = pool_of(1, 1000);
    souk_db_conn_t *c;
    char table[64], sql[512];
    snprintf(table, sizeof(table), "t_%08x", (unsigned)rand());
    assert_int_equal(souk_db_acquire(p, &c), SOUK_OK);
    snprintf(sql, sizeof(sql),
             "CREATE TABLE %s (id int PRIMARY KEY, n int NOT NULL CHECK (n >= 0))", table);
    souk_db_stmt_t create = {"create", sql};
    assert_int_equal(souk_db_query(c, &create, 0, NULL, NULL), SOUK_OK);

    char ins_sql[128], sel_sql[128];
    snprintf(ins_sql, sizeof(ins_sql), "INSERT INTO %s (id, n) VALUES ($1, $2)", table);
    snprintf(sel_sql, sizeof(sel_sql), "SELECT count(*) FROM %s", table);
    souk_db_stmt_t ins = {"ins", ins_sql}, sel = {"sel", sel_sql};
    assert_int_equal(souk_db_query(c, &ins, 2, (const char *[]){"1", "5"}, NULL), SOUK_OK);
    assert_int_equal(souk_db_query(c, &ins, 2, (const char *[]){"1", "6"}, NULL), SOUK_ECONFLICT);
    assert_string_equal(souk_db_last_sqlstate(c), "23505");
    assert_true(strstr(souk_db_last_constraint(c), "pkey") != NULL);
    assert_int_equal(souk_db_query(c, &ins, 2, (const char *[]){"2", "-1"}, NULL), SOUK_EINVAL);
    assert_int_equal(souk_db_query(c, &ins, 2, (const char *[]){"x", "1"}, NULL), SOUK_EINVAL);
    /* SQL metacharacters are just data */
    assert_int_equal(souk_db_query(c, &ins, 2, (const char *[]){"3", "1); DROP TABLE x; --"}, NULL),
                     SOUK_EINVAL);

    /* A transaction left open is rolled back when the connection goes back. */
    assert_int_equal(souk_db_begin(c), SOUK_OK);
    assert_int_equal(souk_db_query(c, &ins, 2, (const char *[]){"4", "1"}, NULL), SOUK_OK);
    souk_db_release(p, c);
    assert_int_equal(souk_db_acquire(p, &c), SOUK_OK);
    PGresult *res;
    assert_int_equal(souk_db_query(c, &sel, 0, NULL, &res), SOUK_OK);
    assert_int_equal(souk_db_int(res, 0, 0), 1);
    PQclear(res);

    /* A failed statement poisons the transaction; commit reports it. */
    assert_int_equal(souk_db_begin(c), SOUK_OK);
    assert_int_equal(souk_db_query(c, &ins, 2, (const char *[]){"5", "1"}, NULL), SOUK_OK);
    assert_int_equal(souk_db_query(c, &ins, 2, (const char *[]){"5", "1"}, NULL), SOUK_ECONFLICT);
    assert_int_not_equal(souk_db_commit(c), SOUK_OK);
    assert_int_equal(souk_db_query(c, &sel, 0, NULL, &res), SOUK_OK);
    assert_int_equal(souk_db_int(res, 0, 0), 1);
    PQclear(res);
    souk_db_release(p, c);
    souk_db_pool_free(p);
}

static void test_unreachable(void **state)
{
    souk_db_config_t cfg = {.conninfo = "postgresql://souk@127.0.0.1:1/nope",
                            .acquire_timeout_ms = 200};
    souk_db_pool_t *p;
    assert_int_equal(souk_db_pool_new(&cfg, &p), SOUK_OK);
    souk_db_conn_t *c = (souk_db_conn_t *)&c;
    assert_int_equal(souk_db_acquire(p, &c), SOUK_EUNAVAIL);
    assert_null(c);
    assert_int_equal(souk_db_connect(p, &c), SOUK_EUNAVAIL);
    assert_null(c);
    assert_false(souk_db_ping(p));
    assert_int_equal(souk_db_migrate(p, (souk_migration_t[]){{NULL, NULL}}, 0), SOUK_EUNAVAIL);
    souk_db_pool_free(p);
}

typedef struct {
    souk_db_pool_t *pool;
    const souk_migration_t *list;
    souk_err_t err;
} runner_t;

static void *run_migrate(void *ud)
{
    runner_t *r = ud;
    r->err = souk_db_migrate(r->pool, r->list, 5);
    return NULL;
}

static long long scalar(souk_db_pool_t *p, const char *sql)
{
    souk_db_conn_t *c;
    PGresult *res;
    assert_int_equal(souk_db_acquire(p, &c), SOUK_OK);
    souk_db_stmt_t st = {"", sql}; /* unnamed statement */
    assert_int_equal(souk_db_query(c, &st, 0, NULL, &res), SOUK_OK);
    long long v = souk_db_int(res, 0, 0);
    PQclear(res);
    souk_db_release(p, c);
    return v;
}

static void test_migrations_once(void **state)
{
    souk_db_pool_t *p = pool_of(4, 5000);
    unsigned tag = (unsigned)rand();
    char n1[64], n2[64], n3[64], s1[256], s2[256], q[256];
    snprintf(n1, sizeof(n1), "0001_m%08x.sql", tag);
    snprintf(n2, sizeof(n2), "0002_m%08x.sql", tag);
    snprintf(n3, sizeof(n3), "0003_m%08x.sql", tag);
    snprintf(s1, sizeof(s1), "CREATE TABLE m%08x (v int); INSERT INTO m%08x VALUES (1);", tag, tag);
    snprintf(s2, sizeof(s2), "INSERT INTO m%08x VALUES (2);", tag);
    souk_migration_t list[] = {{n1, s1}, {n2, s2}, {NULL, NULL}};

    runner_t a = {p, list, SOUK_EINTERNAL}, b = {p, list, SOUK_EINTERNAL};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, run_migrate, &a);
    pthread_create(&tb, NULL, run_migrate, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.err, SOUK_OK);
    assert_int_equal(b.err, SOUK_OK);
    snprintf(q, sizeof(q), "SELECT count(*) FROM m%08x", tag);
    assert_int_equal(scalar(p, q), 2); /* each file ran once */

    /* A failing migration is not recorded and leaves no partial effect. */
    snprintf(s1, sizeof(s1), "INSERT INTO m%08x VALUES (3); SELECT * FROM no_such_table;", tag);
    souk_migration_t bad[] = {list[0], list[1], {n3, s1}, {NULL, NULL}};
    assert_int_equal(souk_db_migrate(p, bad, 0), SOUK_EDB);
    assert_int_equal(scalar(p, q), 2);
    snprintf(q, sizeof(q), "SELECT count(*) FROM schema_migrations WHERE version LIKE '%%m%08x%%'",
             tag);
    assert_int_equal(scalar(p, q), 2);
    souk_db_pool_free(p);
}

typedef struct {
    const char *table;
    const char *fail_with; /* a value the CHECK refuses, or NULL */
} tx_work_t;

static souk_err_t insert_two(souk_db_conn_t *c, void *ud)
{
    tx_work_t *w = ud;
    char sql[128];
    snprintf(sql, sizeof(sql), "INSERT INTO %s (id, n) VALUES ($1, $2)", w->table);
    souk_db_stmt_t ins = {"", sql};
    souk_err_t err = souk_db_query(c, &ins, 2, (const char *[]){"10", "1"}, NULL);
    if (err == SOUK_OK)
        err = souk_db_query(c, &ins, 2, (const char *[]){"11", w->fail_with ? w->fail_with : "2"},
                            NULL);
    return err;
}

static json_t *id_row(const PGresult *res, int row)
{
    return json_integer(souk_db_int(res, row, 0));
}

/* A unit of work commits whole or not at all, on a lease of its own; pages
 * and single rows come back through the shared helpers. */
static void test_units_of_work(void **state)
{
    souk_db_pool_t *p = pool_of(1, 1000);
    char table[64], sql[256];
    snprintf(table, sizeof(table), "u_%08x", (unsigned)rand());
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (id int PRIMARY KEY, n int CHECK (n >= 0))", table);
    assert_int_equal(scalar(p, "SELECT 0"), 0);
    souk_db_conn_t *c;
    assert_int_equal(souk_db_acquire(p, &c), SOUK_OK);
    souk_db_stmt_t create = {"", sql};
    assert_int_equal(souk_db_query(c, &create, 0, NULL, NULL), SOUK_OK);
    souk_db_release(p, c);

    tx_work_t bad = {table, "-1"}, good = {table, NULL};
    assert_int_equal(souk_db_run_tx(p, insert_two, &bad), SOUK_EINVAL);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
    assert_int_equal(scalar(p, sql), 0); /* the first insert was rolled back */
    assert_int_equal(souk_db_run_tx(p, insert_two, &good), SOUK_OK);
    assert_int_equal(scalar(p, sql), 2);

    assert_int_equal(souk_db_acquire(p, &c), SOUK_OK); /* the lease came back */
    char one_sql[128], rows_sql[128], count_sql[128];
    snprintf(one_sql, sizeof(one_sql), "SELECT n FROM %s WHERE id = $1", table);
    souk_db_stmt_t one = {"", one_sql};
    PGresult *res = (PGresult *)&res;
    assert_int_equal(souk_db_query_one(c, &one, 1, (const char *[]){"99"}, &res), SOUK_ENOTFOUND);
    assert_null(res);
    assert_int_equal(souk_db_query_one(c, &one, 1, (const char *[]){"11"}, &res), SOUK_OK);
    assert_int_equal(souk_db_int(res, 0, 0), 2);
    PQclear(res);

    snprintf(rows_sql, sizeof(rows_sql),
             "SELECT id FROM %s WHERE n >= $1 ORDER BY id LIMIT $2 OFFSET $3", table);
    snprintf(count_sql, sizeof(count_sql), "SELECT count(*) FROM %s WHERE n >= $1", table);
    souk_db_stmt_t rows = {"page_rows", rows_sql}, count = {"page_count", count_sql};
    souk_db_page_query_t q = {.rows = &rows,
                              .count = &count,
                              .nparams = 1,
                              .params = (const char *[]){"0"},
                              .limit = 1,
                              .offset = 1,
                              .row = id_row};
    json_t *items = NULL;
    long long total = 0;
    assert_int_equal(souk_db_page(c, &q, &items, &total), SOUK_OK);
    assert_int_equal(total, 2);
    assert_int_equal(json_array_size(items), 1);
    assert_int_equal(json_integer_value(json_array_get(items, 0)), 11);
    json_decref(items);
    q.offset = 5; /* past the end: no items, the total still counts */
    assert_int_equal(souk_db_page(c, &q, &items, &total), SOUK_OK);
    assert_int_equal(json_array_size(items), 0);
    assert_int_equal(total, 2);
    json_decref(items);

    /* no filters at all: no parameter array (UBSan checks the copy) */
    char all_rows[128], all_count[128];
    snprintf(all_rows, sizeof(all_rows), "SELECT id FROM %s ORDER BY id LIMIT $1 OFFSET $2", table);
    snprintf(all_count, sizeof(all_count), "SELECT count(*) FROM %s", table);
    souk_db_stmt_t rows0 = {"", all_rows}, count0 = {"", all_count};
    souk_db_page_query_t q0 = {
        .rows = &rows0, .count = &count0, .limit = 10, .offset = 0, .row = id_row};
    assert_int_equal(souk_db_page(c, &q0, &items, &total), SOUK_OK);
    assert_int_equal(json_array_size(items), 2);
    assert_int_equal(total, 2);
    json_decref(items);
    souk_db_release(p, c);
    souk_db_pool_free(p);
}

/* An idle connection the server closed (a restart, a failover) is replaced
 * on acquire: the request that borrows it does not fail. */
static void test_dead_idle_connection_replaced(void **state)
{
    souk_db_pool_t *p = pool_of(1, 1000), *other = pool_of(1, 1000);
    souk_db_conn_t *c;
    PGresult *res;
    static const souk_db_stmt_t pid = {"backend_pid", "SELECT pg_backend_pid()"};
    assert_int_equal(souk_db_acquire(p, &c), SOUK_OK);
    assert_int_equal(souk_db_query(c, &pid, 0, NULL, &res), SOUK_OK);
    char victim[16];
    snprintf(victim, sizeof(victim), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    int fd = PQsocket(c->pg);
    souk_db_release(p, c);
    souk_db_conn_t *killer;
    static const souk_db_stmt_t kill = {"", "SELECT pg_terminate_backend($1::int)"};
    assert_int_equal(souk_db_acquire(other, &killer), SOUK_OK);
    assert_int_equal(souk_db_query(killer, &kill, 1, (const char *[]){victim}, NULL), SOUK_OK);
    /* wait until the server's close has reached the idle connection's socket
     * (the backend leaves pg_stat_activity before its socket closes), then
     * borrow the dead connection */
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    souk_db_release(other, killer);
    assert_int_equal(souk_db_acquire(p, &c), SOUK_OK);
    assert_int_equal(souk_db_query(c, &pid, 0, NULL, &res), SOUK_OK);
    assert_string_not_equal(PQgetvalue(res, 0, 0), victim);
    PQclear(res);
    souk_db_release(p, c);
    souk_db_pool_free(p);
    souk_db_pool_free(other);
}

int main(void)
{
    if (!url()) {
        fprintf(stderr, "SOUK_TEST_DATABASE_URL is not set: run through scripts/test\n");
        return 1;
    }
    srand((unsigned)souk_now_unix_ms());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_bounds),   cmocka_unit_test(test_errors_and_rollback),
        cmocka_unit_test(test_unreachable),   cmocka_unit_test(test_migrations_once),
        cmocka_unit_test(test_units_of_work), cmocka_unit_test(test_dead_idle_connection_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
