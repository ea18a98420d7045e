/* store.c: notification-service's SQL: recipients, preferences, in-app
 * notifications and email deliveries (see migrations/). Claiming due
 * deliveries is one statement (FOR UPDATE SKIP LOCKED), so senders on
 * several replicas never take the same row, and no transaction stays open
 * while an email travels. */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const souk_db_stmt_t q_recipient = {
    "recipient_get", "SELECT r.name, r.user_id IS NOT NULL,"
                     " EXISTS (SELECT 1 FROM erased_users e WHERE e.user_id = x.id)"
                     " FROM (SELECT $1::uuid AS id) x LEFT JOIN recipients r ON r.user_id = x.id"};
static const souk_db_stmt_t q_recipient_put = {
    "recipient_put",
    "WITH put AS (INSERT INTO recipients (user_id, email, name)"
    " SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM erased_users WHERE user_id = $1)"
    " ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name,"
    " updated_at = now() RETURNING user_id)"
    " UPDATE deliveries SET next_attempt_at = now(), updated_at = now()"
    " WHERE user_id IN (SELECT user_id FROM put) AND status = 'pending' AND next_attempt_at > "
    "now()"};
static const souk_db_stmt_t q_erase = {
    "user_erase", "WITH r AS (DELETE FROM recipients WHERE user_id = $1),"
                  " p AS (DELETE FROM preferences WHERE user_id = $1),"
                  " n AS (DELETE FROM notifications WHERE user_id = $1),"
                  " d AS (DELETE FROM deliveries WHERE user_id = $1)"
                  " INSERT INTO erased_users (user_id) VALUES ($1) ON CONFLICT DO NOTHING"};
static const souk_db_stmt_t q_prefs_get = {
    "prefs_get", "SELECT order_updates, welcome FROM preferences WHERE user_id = $1"};
static const souk_db_stmt_t q_prefs_put = {
    "prefs_put", "INSERT INTO preferences (user_id, order_updates, welcome) VALUES ($1, $2, $3)"
                 " ON CONFLICT (user_id) DO UPDATE SET order_updates = EXCLUDED.order_updates,"
                 " welcome = EXCLUDED.welcome, updated_at = now()"};
static const souk_db_stmt_t q_note_insert = {
    "note_insert",
    "INSERT INTO notifications (id, user_id, event_id, type, title, body, data, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, COALESCE($8::timestamptz, now()))"
    " ON CONFLICT ON CONSTRAINT notifications_once DO NOTHING"};
#define NOTE_FILTER " WHERE user_id = $1 AND (NOT $2::boolean OR read_at IS NULL)"
static const souk_db_stmt_t q_note_list = {
    "note_list", "SELECT id, type, title, body, data::text, read_at IS NOT NULL, " TS(
                     "created_at") " FROM notifications" NOTE_FILTER
                                   " ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"};
static const souk_db_stmt_t q_note_count = {"note_count",
                                            "SELECT count(*) FROM notifications" NOTE_FILTER};
static const souk_db_stmt_t q_note_unread = {
    "note_unread", "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL"};
static const souk_db_stmt_t q_note_read = {
    "note_read", "UPDATE notifications SET read_at = COALESCE(read_at, now())"
                 " WHERE id = $2 AND user_id = $1"};
static const souk_db_stmt_t q_note_read_all = {
    "note_read_all",
    "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL"};
static const souk_db_stmt_t q_delivery_insert = {
    "delivery_insert",
    "INSERT INTO deliveries (id, event_id, user_id, kind, subject, text_body, html_body)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT ON CONSTRAINT deliveries_once DO NOTHING"};
static const souk_db_stmt_t q_claim = {
    "delivery_claim",
    "WITH due AS (SELECT id, status AS was FROM deliveries"
    " WHERE (status = 'pending' AND next_attempt_at <= now())"
    " OR (status = 'sending' AND claimed_at < now() - make_interval(secs => $2::integer))"
    " ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)"
    " UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1, claimed_at = now(),"
    " resends = d.resends + (due.was = 'sending')::integer, updated_at = now()"
    " FROM due WHERE d.id = due.id"
    " RETURNING d.id, d.attempts, due.was = 'sending',"
    " (SELECT r.email FROM recipients r WHERE r.user_id = d.user_id),"
    " d.subject, d.text_body, d.html_body, extract(epoch FROM d.created_at)::bigint"};
#define MINE " WHERE id = $1 AND status = 'sending' AND attempts = $2"
static const souk_db_stmt_t q_sent = {
    "delivery_sent", "UPDATE deliveries SET status = 'sent', sent_at = now(), last_error = NULL,"
                     " updated_at = now()" MINE};
static const souk_db_stmt_t q_retry = {
    "delivery_retry",
    "UPDATE deliveries SET status = 'pending', last_error = $4, updated_at = now(),"
    " next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)" MINE};
static const souk_db_stmt_t q_failed = {
    "delivery_failed",
    "UPDATE deliveries SET status = 'failed', last_error = $3, updated_at = now()" MINE};
#define DELIVERY_COLS                                                                              \
    "id, event_id, user_id, channel, kind, subject, status, attempts, resends, last_error, " TS(   \
        "next_attempt_at") ", " TS("created_at") ", " TS("updated_at") ", " TS("sent_at")
static const souk_db_stmt_t q_delivery_list = {
    "delivery_list", "SELECT " DELIVERY_COLS " FROM deliveries"
                     " WHERE ($1::text IS NULL OR status = $1)"
                     " ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"};
static const souk_db_stmt_t q_delivery_count = {
    "delivery_count", "SELECT count(*) FROM deliveries WHERE ($1::text IS NULL OR status = $1)"};
static const souk_db_stmt_t q_retry_now = {
    "delivery_retry_now",
    "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(),"
    " last_error = NULL, updated_at = now() WHERE id = $1 AND status = 'failed'"
    " RETURNING " DELIVERY_COLS};
static const souk_db_stmt_t q_delivery_exists = {"delivery_exists",
                                                 "SELECT 1 FROM deliveries WHERE id = $1"};
static const souk_db_stmt_t q_waiting = {
    "delivery_waiting", "SELECT status, count(*) FROM deliveries"
                        " WHERE status IN ('pending', 'sending', 'failed') GROUP BY status"};

static const char *pg_bool(bool b)
{
    return b ? "true" : "false";
}

souk_err_t store_recipient(souk_db_conn_t *c, const char *user_id, char *name, size_t cap,
                           bool *known, bool *erased)
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, &q_recipient, 1, (const char *[]){user_id}, &res);
    if (err)
        return err;
    const char *n = souk_db_value(res, 0, 0);
    snprintf(name, cap, "%s", n ? n : "");
    *known = souk_db_bool(res, 0, 1);
    *erased = souk_db_bool(res, 0, 2);
    PQclear(res);
    return SOUK_OK;
}

souk_err_t store_recipient_put(souk_db_conn_t *c, const char *user_id, const char *email,
                               const char *name)
{
    return souk_db_query(c, &q_recipient_put, 3, (const char *[]){user_id, email, name}, NULL);
}

souk_err_t store_user_erase(souk_db_conn_t *c, const char *user_id)
{
    return souk_db_query(c, &q_erase, 1, (const char *[]){user_id}, NULL);
}

souk_err_t store_prefs_get(souk_db_conn_t *c, const char *user_id, notify_prefs_t *out)
{
    PGresult *res;
    *out = (notify_prefs_t){.order_updates = true, .welcome = true};
    souk_err_t err = souk_db_query_one(c, &q_prefs_get, 1, (const char *[]){user_id}, &res);
    if (err == SOUK_ENOTFOUND)
        return SOUK_OK;
    if (err)
        return err;
    out->order_updates = souk_db_bool(res, 0, 0);
    out->welcome = souk_db_bool(res, 0, 1);
    PQclear(res);
    return SOUK_OK;
}

souk_err_t store_prefs_put(souk_db_conn_t *c, const char *user_id, const notify_prefs_t *p)
{
    const char *params[] = {user_id, pg_bool(p->order_updates), pg_bool(p->welcome)};
    return souk_db_query(c, &q_prefs_put, 3, params, NULL);
}

souk_err_t store_note_insert(souk_db_conn_t *c, const notify_note_t *n, bool *created)
{
    char id[SOUK_UUID_STRLEN + 1];
    souk_uuid_v4(id);
    char *data = json_dumps(n->data, JSON_COMPACT);
    if (!data)
        return SOUK_EINVAL;
    const char *p[] = {
        id,       n->user_id, n->event_id, n->type,
        n->title, n->body,    data,        n->created_at && *n->created_at ? n->created_at : NULL};
    souk_err_t err = souk_db_exec_one(c, &q_note_insert, 8, p);
    free(data);
    *created = err == SOUK_OK;
    return err == SOUK_ENOTFOUND ? SOUK_OK : err;
}

static json_t *note_json(const PGresult *res, int r)
{
    json_t *data = json_loads(PQgetvalue(res, r, 4), 0, NULL);
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:b, s:s}", "id", PQgetvalue(res, r, 0), "type",
                     PQgetvalue(res, r, 1), "title", PQgetvalue(res, r, 2), "body",
                     PQgetvalue(res, r, 3), "data", data ? data : json_object(), "read",
                     souk_db_bool(res, r, 5), "created_at", PQgetvalue(res, r, 6));
}

souk_err_t store_note_list(souk_db_conn_t *c, const char *user_id, bool unread_only,
                           const souk_page_t *pg, json_t **items, long long *total)
{
    souk_db_page_query_t q = {.rows = &q_note_list,
                              .count = &q_note_count,
                              .nparams = 2,
                              .params = (const char *[]){user_id, pg_bool(unread_only)},
                              .limit = pg->limit,
                              .offset = (pg->page - 1) * pg->limit,
                              .row = note_json};
    return souk_db_page(c, &q, items, total);
}

souk_err_t store_note_unread(souk_db_conn_t *c, const char *user_id, long long *count)
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, &q_note_unread, 1, (const char *[]){user_id}, &res);
    if (err)
        return err;
    *count = souk_db_int(res, 0, 0);
    PQclear(res);
    return SOUK_OK;
}

souk_err_t store_note_read(souk_db_conn_t *c, const char *user_id, const char *id)
{
    return souk_db_exec_one(c, &q_note_read, 2, (const char *[]){user_id, id});
}

souk_err_t store_note_read_all(souk_db_conn_t *c, const char *user_id)
{
    return souk_db_query(c, &q_note_read_all, 1, (const char *[]){user_id}, NULL);
}

souk_err_t store_delivery_insert(souk_db_conn_t *c, const notify_email_t *e, bool *created)
{
    char id[SOUK_UUID_STRLEN + 1];
    souk_uuid_v4(id);
    const char *p[] = {id, e->event_id, e->user_id, e->kind, e->subject, e->text, e->html};
    souk_err_t err = souk_db_exec_one(c, &q_delivery_insert, 7, p);
    *created = err == SOUK_OK;
    return err == SOUK_ENOTFOUND ? SOUK_OK : err;
}

static char *dup_or_null(const PGresult *res, int r, int col)
{
    const char *v = souk_db_value(res, r, col);
    return v ? souk_strdup(v) : NULL;
}

souk_err_t store_delivery_claim(souk_db_conn_t *c, int max, long lease_s, notify_claimed_t **out,
                                int *n)
{
    char smax[16], slease[24];
    snprintf(smax, sizeof(smax), "%d", max);
    snprintf(slease, sizeof(slease), "%ld", lease_s);
    PGresult *res;
    *out = NULL;
    *n = 0;
    souk_err_t err = souk_db_query(c, &q_claim, 2, (const char *[]){smax, slease}, &res);
    if (err)
        return err;
    int rows = PQntuples(res);
    notify_claimed_t *cl = rows ? souk_calloc((size_t)rows, sizeof(*cl)) : NULL;
    for (int r = 0; r < rows; r++) {
        snprintf(cl[r].id, sizeof(cl[r].id), "%s", PQgetvalue(res, r, 0));
        cl[r].attempts = (int)souk_db_int(res, r, 1);
        cl[r].resend = souk_db_bool(res, r, 2);
        cl[r].to = dup_or_null(res, r, 3);
        cl[r].subject = dup_or_null(res, r, 4);
        cl[r].text = dup_or_null(res, r, 5);
        cl[r].html = dup_or_null(res, r, 6);
        cl[r].created_unix = souk_db_int(res, r, 7);
    }
    PQclear(res);
    *out = cl;
    *n = rows;
    return SOUK_OK;
}

void store_claims_free(notify_claimed_t *claims, int n)
{
    for (int i = 0; claims && i < n; i++) {
        souk_free(claims[i].to);
        souk_free(claims[i].subject);
        souk_free(claims[i].text);
        souk_free(claims[i].html);
    }
    souk_free(claims);
}

souk_err_t store_delivery_sent(souk_db_conn_t *c, const char *id, int attempts)
{
    char a[16];
    snprintf(a, sizeof(a), "%d", attempts);
    return souk_db_exec_one(c, &q_sent, 2, (const char *[]){id, a});
}

souk_err_t store_delivery_retry(souk_db_conn_t *c, const char *id, int attempts, long retry_ms,
                                const char *error)
{
    char a[16], ms[24];
    snprintf(a, sizeof(a), "%d", attempts);
    snprintf(ms, sizeof(ms), "%ld", retry_ms);
    return souk_db_exec_one(c, &q_retry, 4, (const char *[]){id, a, ms, error});
}

souk_err_t store_delivery_failed(souk_db_conn_t *c, const char *id, int attempts, const char *error)
{
    char a[16];
    snprintf(a, sizeof(a), "%d", attempts);
    return souk_db_exec_one(c, &q_failed, 3, (const char *[]){id, a, error});
}

static json_t *text_or_null(const PGresult *res, int r, int col)
{
    const char *v = souk_db_value(res, r, col);
    return v ? json_string(v) : json_null();
}

static json_t *delivery_json(const PGresult *res, int r)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:s, s:s, s:o}", "id",
                     PQgetvalue(res, r, 0), "event_id", PQgetvalue(res, r, 1), "user_id",
                     PQgetvalue(res, r, 2), "channel", PQgetvalue(res, r, 3), "kind",
                     PQgetvalue(res, r, 4), "subject", PQgetvalue(res, r, 5), "status",
                     PQgetvalue(res, r, 6), "attempts", (json_int_t)souk_db_int(res, r, 7),
                     "resends", (json_int_t)souk_db_int(res, r, 8), "last_error",
                     text_or_null(res, r, 9), "next_attempt_at", text_or_null(res, r, 10),
                     "created_at", PQgetvalue(res, r, 11), "updated_at", PQgetvalue(res, r, 12),
                     "sent_at", text_or_null(res, r, 13));
}

souk_err_t store_delivery_list(souk_db_conn_t *c, const char *status, const souk_page_t *pg,
                               json_t **items, long long *total)
{
    souk_db_page_query_t q = {.rows = &q_delivery_list,
                              .count = &q_delivery_count,
                              .nparams = 1,
                              .params = (const char *[]){status},
                              .limit = pg->limit,
                              .offset = (pg->page - 1) * pg->limit,
                              .row = delivery_json};
    return souk_db_page(c, &q, items, total);
}

souk_err_t store_delivery_retry_now(souk_db_conn_t *c, const char *id, json_t **out)
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, &q_retry_now, 1, (const char *[]){id}, &res);
    if (err == SOUK_OK) {
        *out = delivery_json(res, 0);
        PQclear(res);
        return SOUK_OK;
    }
    if (err != SOUK_ENOTFOUND)
        return err;
    err = souk_db_query_one(c, &q_delivery_exists, 1, (const char *[]){id}, &res);
    PQclear(res);
    return err == SOUK_OK ? SOUK_ECONFLICT : err;
}

typedef struct {
    souk_buf_t *out;
} collect_t;

static souk_err_t collect_fn(souk_db_conn_t *c, void *ud)
{
    static const char *const states[] = {"pending", "sending", "failed"};
    long long counts[3] = {0};
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_waiting, 0, NULL, &res);
    if (err)
        return err;
    for (int r = 0; r < PQntuples(res); r++)
        for (int s = 0; s < 3; s++)
            if (strcmp(PQgetvalue(res, r, 0), states[s]) == 0)
                counts[s] = souk_db_int(res, r, 1);
    PQclear(res);
    souk_buf_t *out = ((collect_t *)ud)->out;
    err = souk_buf_appendf(out, "# HELP notification_deliveries_waiting Emails not sent (yet), by "
                                "status.\n# TYPE notification_deliveries_waiting gauge\n");
    for (int s = 0; s < 3 && !err; s++)
        err = souk_buf_appendf(out, "notification_deliveries_waiting{status=\"%s\"} %lld\n",
                               states[s], counts[s]);
    return err;
}

souk_err_t notify_collect(souk_buf_t *out, void *ud)
{
    notify_app_t *app = ud;
    collect_t x = {out};
    souk_err_t err = souk_db_run(app->db, collect_fn, &x);
    /* a scrape without these beats a failed scrape; only a full buffer fails */
    return err == SOUK_ELIMIT ? err : SOUK_OK;
}
