/* notify.c: LISTEN/NOTIFY, so a worker (the outbox relay) wakes up when a
 * transaction commits new work instead of polling the table. */
#include "db_int.h"

#include <poll.h>
#include <string.h>

souk_err_t souk_db_listen(souk_db_conn_t *c, const char *channel)
{
    if (!*channel || strspn(channel, "abcdefghijklmnopqrstuvwxyz_") != strlen(channel) ||
        strlen(channel) > 48)
        return SOUK_EINVAL;
    char sql[64];
    snprintf(sql, sizeof(sql), "LISTEN %s", channel);
    PGresult *res = PQexec(c->pg, sql);
    souk_err_t err = PQresultStatus(res) == PGRES_COMMAND_OK ? SOUK_OK : SOUK_EUNAVAIL;
    PQclear(res);
    return err;
}

souk_err_t souk_db_unlisten(souk_db_conn_t *c)
{
    PGresult *res = PQexec(c->pg, "UNLISTEN *");
    souk_err_t err = PQresultStatus(res) == PGRES_COMMAND_OK ? SOUK_OK : SOUK_EUNAVAIL;
    PQclear(res);
    return err;
}

static bool drain(souk_db_conn_t *c, souk_db_notify_fn fn, void *ud)
{
    bool any = false;
    PGnotify *n;
    while ((n = PQnotifies(c->pg)) != NULL) {
        any = true;
        if (fn)
            fn(n->relname, n->extra, ud);
        PQfreemem(n);
    }
    return any;
}

souk_err_t souk_db_wait_notify(souk_db_conn_t *c, int timeout_ms, souk_db_notify_fn fn, void *ud,
                               bool *notified)
{
    *notified = false;
    if (PQconsumeInput(c->pg) == 0)
        return SOUK_EUNAVAIL;
    if ((*notified = drain(c, fn, ud)))
        return SOUK_OK;
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
    if (pfd.fd < 0)
        return SOUK_EUNAVAIL;
    int rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0)
        return SOUK_OK; /* interrupted: the caller loops anyway */
    if (rc > 0 && PQconsumeInput(c->pg) == 0)
        return SOUK_EUNAVAIL;
    *notified = drain(c, fn, ud);
    return SOUK_OK;
}
