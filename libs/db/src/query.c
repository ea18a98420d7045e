/* query.c: prepared statements, transactions and result helpers. A statement
 * is prepared on a connection the first time that connection runs it; the
 * connection remembers its names, so the hot path is one PQexecPrepared. */
#include "db_int.h"

#include <stdlib.h>
#include <string.h>

static bool is_prepared(const souk_db_conn_t *c, const char *name)
{
    for (size_t i = 0; i < c->nprepared; i++)
        if (strcmp(c->prepared[i], name) == 0)
            return true;
    return false;
}

static void remember_error(souk_db_conn_t *c, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *cons = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    snprintf(c->sqlstate, sizeof(c->sqlstate), "%s", state ? state : "");
    snprintf(c->constraint, sizeof(c->constraint), "%s", cons ? cons : "");
}

/* SQLSTATE classes: 23 integrity, 40 transaction rollback, 08 connection,
 * 22 data exception, 57 operator intervention (e.g. statement timeout). */
static souk_err_t map_error(souk_db_conn_t *c, const PGresult *res, const char *what)
{
    remember_error(c, res);
    const char *s = c->sqlstate;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return SOUK_EUNAVAIL;
    if (strcmp(s, "23505") == 0 || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return SOUK_ECONFLICT;
    if (strncmp(s, "23", 2) == 0 || strncmp(s, "22", 2) == 0)
        return SOUK_EINVAL;
    if (strcmp(s, "57014") == 0)
        return SOUK_ETIMEOUT;
    char msg[256];
    snprintf(msg, sizeof(msg), "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
    msg[strcspn(msg, "\n")] = '\0';
    souk_log_error("database error in %s: [%s] %s", what, s, msg);
    return SOUK_EDB;
}

static souk_err_t prepare(souk_db_conn_t *c, const souk_db_stmt_t *stmt)
{
    if (c->nprepared == SOUK_DB_MAX_PREPARED) {
        souk_log_error("too many prepared statements on one connection");
        return SOUK_EINTERNAL;
    }
    PGresult *res = PQprepare(c->pg, stmt->name, stmt->sql, 0, NULL);
    souk_err_t err = SOUK_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        err = map_error(c, res, stmt->name);
    else
        c->prepared[c->nprepared++] = souk_strdup(stmt->name);
    PQclear(res);
    return err;
}

/* A named statement is prepared once per connection and may get a generic
 * plan; the unnamed one ("") is parsed, planned with its actual values and
 * run in one round trip every time: for queries whose best plan depends on
 * which optional filters are set. */
static PGresult *run(souk_db_conn_t *c, const souk_db_stmt_t *stmt, int nparams,
                     const char *const *params)
{
    if (!stmt->name[0])
        return PQexecParams(c->pg, stmt->sql, nparams, NULL, params, NULL, NULL, 0);
    return PQexecPrepared(c->pg, stmt->name, nparams, params, NULL, NULL, 0);
}

/* The statement's first keyword (SELECT, INSERT, WITH, ...) into out. */
static void operation_of(const char *sql, char *out, size_t cap)
{
    while (*sql == ' ' || *sql == '\n' || *sql == '(')
        sql++;
    size_t n = 0;
    while (n + 1 < cap && ((sql[n] >= 'A' && sql[n] <= 'Z') || (sql[n] >= 'a' && sql[n] <= 'z'))) {
        out[n] = (char)(sql[n] & ~0x20);
        n++;
    }
    out[n] = '\0';
}

/* A span for the statement when the thread works for a traced request or
 * event (background polling is not worth a trace of its own). Only the
 * statement's name and operation are recorded, never its values. */
static bool start_span(souk_span_t *s, const souk_db_stmt_t *stmt)
{
    const souk_trace_t *parent = souk_trace_current();
    if (!parent || !(parent->flags & 1))
        return false;
    souk_span_start(s, SOUK_SPAN_CLIENT, stmt->name[0] ? stmt->name : "sql", parent, NULL);
    return souk_span_recording(s);
}

static void end_span(souk_span_t *s, const souk_db_stmt_t *stmt, const souk_db_conn_t *c,
                     souk_err_t err)
{
    char op[16];
    operation_of(stmt->sql, op, sizeof(op));
    souk_span_attr_str(s, "db.system", "postgresql");
    souk_span_attr_str(s, "db.operation", op);
    if (err)
        souk_span_error(s, c->sqlstate[0] ? c->sqlstate : souk_strerror(err));
    souk_span_end(s);
}

static souk_err_t query(souk_db_conn_t *c, const souk_db_stmt_t *stmt, int nparams,
                        const char *const *params, PGresult **out);

souk_err_t souk_db_query(souk_db_conn_t *c, const souk_db_stmt_t *stmt, int nparams,
                         const char *const *params, PGresult **out)
{
    souk_span_t span;
    bool traced = start_span(&span, stmt);
    souk_err_t err = query(c, stmt, nparams, params, out);
    if (traced)
        end_span(&span, stmt, c, err);
    return err;
}

static souk_err_t query(souk_db_conn_t *c, const souk_db_stmt_t *stmt, int nparams,
                        const char *const *params, PGresult **out)
{
    souk_err_t err = SOUK_OK;
    if (out)
        *out = NULL;
    c->sqlstate[0] = c->constraint[0] = '\0';
    if (stmt->name[0] && !is_prepared(c, stmt->name) && (err = prepare(c, stmt)) != SOUK_OK)
        return err;
    PGresult *res = run(c, stmt, nparams, params);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        err = map_error(c, res, stmt->name);
        PQclear(res);
        return err;
    }
    if (out)
        *out = res;
    else
        PQclear(res);
    return SOUK_OK;
}

souk_err_t souk_db_exec_one(souk_db_conn_t *c, const souk_db_stmt_t *stmt, int nparams,
                            const char *const *params)
{
    PGresult *res;
    souk_err_t err = souk_db_query(c, stmt, nparams, params, &res);
    if (err == SOUK_OK && strcmp(PQcmdTuples(res), "0") == 0)
        err = SOUK_ENOTFOUND;
    PQclear(res);
    return err;
}

char *souk_db_like_contains(const char *q)
{
    size_t n = strlen(q), o = 0;
    char *p = souk_malloc(2 * n + 3);
    p[o++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
            p[o++] = '\\';
        p[o++] = q[i];
    }
    p[o++] = '%';
    p[o] = '\0';
    return p;
}

bool souk_db_conn_ok(const souk_db_conn_t *c)
{
    return c && PQstatus(c->pg) == CONNECTION_OK;
}

const char *souk_db_last_sqlstate(const souk_db_conn_t *c)
{
    return c->sqlstate;
}

const char *souk_db_last_constraint(const souk_db_conn_t *c)
{
    return c->constraint;
}

static souk_err_t simple(souk_db_conn_t *c, const char *sql)
{
    PGresult *res = PQexec(c->pg, sql);
    souk_err_t err = SOUK_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        err = map_error(c, res, sql);
    PQclear(res);
    return err;
}

souk_err_t souk_db_begin(souk_db_conn_t *c)
{
    return simple(c, "BEGIN");
}

static bool identifier(const char *s)
{
    return *s && strlen(s) < 48 && strspn(s, "abcdefghijklmnopqrstuvwxyz_") == strlen(s);
}

souk_err_t souk_db_savepoint(souk_db_conn_t *c, const char *name)
{
    char sql[64];
    if (!identifier(name))
        return SOUK_EINVAL;
    snprintf(sql, sizeof(sql), "SAVEPOINT %s", name);
    return simple(c, sql);
}

souk_err_t souk_db_rollback_to(souk_db_conn_t *c, const char *name)
{
    char sql[80];
    if (!identifier(name))
        return SOUK_EINVAL;
    snprintf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT %s", name);
    return simple(c, sql);
}

souk_err_t souk_db_commit(souk_db_conn_t *c)
{
    /* COMMIT of a failed transaction "succeeds" as ROLLBACK; treat it as the
     * failure it is. */
    if (PQtransactionStatus(c->pg) == PQTRANS_INERROR) {
        souk_db_rollback(c);
        return SOUK_EDB;
    }
    return simple(c, "COMMIT");
}

void souk_db_rollback(souk_db_conn_t *c)
{
    PGTransactionStatusType ts = PQtransactionStatus(c->pg);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        PQclear(PQexec(c->pg, "ROLLBACK"));
}

const char *souk_db_value(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

bool souk_db_bool(const PGresult *res, int row, int col)
{
    const char *v = souk_db_value(res, row, col);
    return v && v[0] == 't';
}

long long souk_db_int(const PGresult *res, int row, int col)
{
    const char *v = souk_db_value(res, row, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

souk_err_t souk_db_query_one(souk_db_conn_t *c, const souk_db_stmt_t *stmt, int nparams,
                             const char *const *params, PGresult **res)
{
    souk_err_t err = souk_db_query(c, stmt, nparams, params, res);
    if (err == SOUK_OK && PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        err = SOUK_ENOTFOUND;
    }
    return err;
}

souk_err_t souk_db_page(souk_db_conn_t *c, const souk_db_page_query_t *q, json_t **items,
                        long long *total)
{
    /* The page statement takes the filters, then LIMIT and OFFSET. */
    const char *params[SOUK_DB_PAGE_MAX_PARAMS + 2];
    char limit[24], offset[24];
    if (q->nparams > SOUK_DB_PAGE_MAX_PARAMS)
        return SOUK_EINVAL;
    if (q->nparams > 0) /* a page with no filters may pass no array */
        memcpy(params, q->params, (size_t)q->nparams * sizeof(*params));
    snprintf(limit, sizeof(limit), "%ld", q->limit);
    snprintf(offset, sizeof(offset), "%ld", q->offset);
    params[q->nparams] = limit;
    params[q->nparams + 1] = offset;
    PGresult *res = NULL;
    *items = NULL;
    souk_err_t err = souk_db_query(c, q->rows, q->nparams + 2, params, &res);
    if (err)
        return err;
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, q->row(res, i));
    PQclear(res);
    /* Its own statement: a count(*) OVER () would make the page visit every
     * match, while alone each can take its best plan. */
    if ((err = souk_db_query(c, q->count, q->nparams, params, &res)) != SOUK_OK) {
        json_decref(list);
        return err;
    }
    *total = souk_db_int(res, 0, 0);
    PQclear(res);
    *items = list;
    return SOUK_OK;
}
