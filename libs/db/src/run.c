/* run.c: work on pooled connections, each piece with a lease of its own.
 * souk_db_run() borrows a connection for one function and gives it back;
 * souk_db_tx() wraps one function in a transaction (committed when it
 * returns SOUK_OK, rolled back otherwise). Together they keep a lease to the
 * database work it covers: a caller that hashes a password or calls another
 * service does it between two runs, never inside one. */
#include "db_int.h"

souk_err_t souk_db_tx(souk_db_conn_t *c, souk_db_fn fn, void *ud)
{
    souk_err_t err = souk_db_begin(c);
    if (err == SOUK_OK)
        err = fn(c, ud);
    if (err == SOUK_OK)
        err = souk_db_commit(c);
    if (err)
        souk_db_rollback(c);
    return err;
}

souk_err_t souk_db_run(souk_db_pool_t *pool, souk_db_fn fn, void *ud)
{
    souk_db_conn_t *c;
    souk_err_t err = souk_db_acquire(pool, &c);
    if (err == SOUK_OK)
        err = fn(c, ud);
    souk_db_release(pool, c);
    return err;
}

typedef struct {
    souk_db_fn fn;
    void *ud;
} tx_call_t;

static souk_err_t in_tx(souk_db_conn_t *c, void *p)
{
    tx_call_t *call = p;
    return souk_db_tx(c, call->fn, call->ud);
}

souk_err_t souk_db_run_tx(souk_db_pool_t *pool, souk_db_fn fn, void *ud)
{
    tx_call_t call = {fn, ud};
    return souk_db_run(pool, in_tx, &call);
}
