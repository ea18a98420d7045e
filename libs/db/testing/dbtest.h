/* dbtest.h: what unit tests against the real PostgreSQL of the test run
 * (SOUK_TEST_DATABASE_URL) share: a schema of the test's own, so tests of
 * several modules can migrate the same table names side by side, and
 * one-line SQL helpers that fail the test (cmocka) on any error. Test code
 * only; not part of any service. */
#ifndef SOUK_DBTEST_H
#define SOUK_DBTEST_H

#include <souk/db.h>

typedef struct {
    char schema[40];
    souk_db_pool_t *pool; /* its connections see the schema first */
} souk_dbtest_t;

/* Creates a fresh schema named prefix_<random hex> and a pool of size
 * connections (acquire_timeout_ms 0: the default) searching it, with the
 * given migrations lists applied in order (NULL-terminated; may be empty). */
void souk_dbtest_open(souk_dbtest_t *t, const char *prefix, int size, int acquire_timeout_ms,
                      const souk_migration_t *const *migrations);
/* Drops the schema with everything in it and frees the pool. */
void souk_dbtest_close(souk_dbtest_t *t);
/* Runs sql (no parameters) on pool; fails the test on an error. */
void souk_dbtest_exec(souk_db_pool_t *pool, const char *sql);
/* The first column of the first row of sql as an integer. */
long long souk_dbtest_scalar(souk_db_pool_t *pool, const char *sql);

#endif
