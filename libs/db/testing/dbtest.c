/* dbtest.c: see dbtest.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "dbtest.h"

static souk_db_pool_t *pool_new(int size, int acquire_ms, const char *settings)
{
    const char *url = getenv("SOUK_TEST_DATABASE_URL");
    if (!url)
        fail_msg("SOUK_TEST_DATABASE_URL is not set: run through scripts/test");
    souk_db_config_t cfg = {.conninfo = url,
                            .app_name = "souk-unit-test",
                            .size = size,
                            .acquire_timeout_ms = acquire_ms,
                            .settings = settings};
    souk_db_pool_t *p = NULL;
    assert_int_equal(souk_db_pool_new(&cfg, &p), SOUK_OK);
    return p;
}

void souk_dbtest_exec(souk_db_pool_t *pool, const char *sql)
{
    souk_db_conn_t *c;
    assert_int_equal(souk_db_acquire(pool, &c), SOUK_OK);
    souk_db_stmt_t st = {"", sql};
    assert_int_equal(souk_db_query(c, &st, 0, NULL, NULL), SOUK_OK);
    souk_db_release(pool, c);
}

long long souk_dbtest_scalar(souk_db_pool_t *pool, const char *sql)
{
    souk_db_conn_t *c;
    PGresult *res;
    assert_int_equal(souk_db_acquire(pool, &c), SOUK_OK);
    souk_db_stmt_t st = {"", sql};
    assert_int_equal(souk_db_query(c, &st, 0, NULL, &res), SOUK_OK);
    long long v = souk_db_int(res, 0, 0);
    PQclear(res);
    souk_db_release(pool, c);
    return v;
}

void souk_dbtest_open(souk_dbtest_t *t, const char *prefix, int size, int acquire_timeout_ms,
                      const souk_migration_t *const *migrations)
{
    uint8_t raw[4];
    char hex[9], sql[96], settings[96];
    souk_random(raw, sizeof(raw));
    souk_hex(raw, sizeof(raw), hex);
    snprintf(t->schema, sizeof(t->schema), "%s_%s", prefix, hex);
    souk_db_pool_t *boot = pool_new(1, 0, NULL);
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", t->schema);
    souk_dbtest_exec(boot, sql);
    souk_db_pool_free(boot);
    /* public last: where the extensions a migration needs live (pg_trgm) */
    snprintf(settings, sizeof(settings), "-c search_path=%s,public", t->schema);
    t->pool = pool_new(size, acquire_timeout_ms, settings);
    for (size_t i = 0; migrations && migrations[i]; i++)
        assert_int_equal(souk_db_migrate(t->pool, migrations[i], 5), SOUK_OK);
}

void souk_dbtest_close(souk_dbtest_t *t)
{
    char sql[96];
    snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", t->schema);
    souk_dbtest_exec(t->pool, sql);
    souk_db_pool_free(t->pool);
    t->pool = NULL;
}
