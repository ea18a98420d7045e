/* migrate.c: applies numbered SQL migrations once, in order, recording each
 * in schema_migrations. A session advisory lock serialises replicas that start
 * at the same time; each file runs in its own transaction with its record, so
 * a failed migration leaves no trace and stops the start-up. */
#include "db_int.h"

#include <string.h>
#include <time.h>

/* Arbitrary constant shared by every souk service: "souk" in ASCII. */
#define MIGRATION_LOCK_KEY "1936684395"

static const souk_db_stmt_t create_table = {
    "souk_migrations_create",
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"};
static const souk_db_stmt_t lock = {"souk_migrations_lock", "SELECT pg_advisory_lock($1)"};
static const souk_db_stmt_t unlock = {"souk_migrations_unlock", "SELECT pg_advisory_unlock($1)"};
static const souk_db_stmt_t applied = {"souk_migrations_applied",
                                       "SELECT 1 FROM schema_migrations WHERE version = $1"};
static const souk_db_stmt_t record = {"souk_migrations_record",
                                      "INSERT INTO schema_migrations (version) VALUES ($1)"};

static souk_err_t acquire_waiting(souk_db_pool_t *pool, int wait_s, souk_db_conn_t **c)
{
    uint64_t deadline = souk_now_mono_ns() + (uint64_t)wait_s * 1000000000u;
    for (;;) {
        souk_err_t err = souk_db_acquire(pool, c);
        if (err == SOUK_OK || souk_now_mono_ns() >= deadline)
            return err;
        souk_log_info("waiting for the database");
        nanosleep(&(struct timespec){0, 250 * 1000000L}, NULL); /* retry back-off */
    }
}

static souk_err_t apply_one(souk_db_conn_t *c, const souk_migration_t *m)
{
    const char *v[] = {m->name};
    PGresult *res = NULL;
    souk_err_t err = souk_db_query(c, &applied, 1, v, &res);
    bool done = err == SOUK_OK && PQntuples(res) > 0;
    PQclear(res);
    if (err || done)
        return err;
    if ((err = souk_db_begin(c)) != SOUK_OK)
        return err;
    PGresult *r = PQexec(c->pg, m->sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(r));
        msg[strcspn(msg, "\n")] = '\0';
        souk_log_error("migration %s failed: %s", m->name, msg);
        err = SOUK_EDB;
    }
    PQclear(r);
    if (err == SOUK_OK)
        err = souk_db_query(c, &record, 1, v, NULL);
    if (err == SOUK_OK)
        err = souk_db_commit(c);
    if (err) {
        souk_db_rollback(c);
        return err;
    }
    souk_log_info("applied migration %s", m->name);
    return SOUK_OK;
}

souk_err_t souk_db_migrate(souk_db_pool_t *pool, const souk_migration_t *migrations, int wait_s)
{
    souk_db_conn_t *c = NULL;
    souk_err_t err = acquire_waiting(pool, wait_s, &c);
    if (err)
        return err;
    const char *key[] = {MIGRATION_LOCK_KEY};
    if ((err = souk_db_query(c, &lock, 1, key, NULL)) != SOUK_OK)
        goto out;
    err = souk_db_query(c, &create_table, 0, NULL, NULL);
    for (const souk_migration_t *m = migrations; err == SOUK_OK && m->name; m++)
        err = apply_one(c, m);
    if (souk_db_query(c, &unlock, 1, key, NULL) != SOUK_OK)
        souk_log_warn("could not release the migration lock");
out:
    souk_db_release(pool, c);
    return err;
}
