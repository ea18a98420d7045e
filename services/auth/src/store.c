/* store.c: auth-service's SQL, as named prepared statements. Times are
 * rendered by PostgreSQL as RFC 3339 UTC so the JSON needs no conversion. */
#include "store.h"

#include <stdio.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define USER_COLS                                                                                  \
    "id, email, name, array_to_string(roles, ','), disabled, " TS("created_at") ", " TS(           \
        "updated_at") ", password_hash"

static const souk_db_stmt_t q_insert = {
    "user_insert", "INSERT INTO users (id, email, name, password_hash, roles)"
                   " VALUES ($1, $2, $3, $4, string_to_array($5, ',')) RETURNING " USER_COLS};
static const souk_db_stmt_t q_by_email = {
    "user_by_email", "SELECT " USER_COLS " FROM users WHERE lower(email) = lower($1)"};
static const souk_db_stmt_t q_by_id = {"user_by_id",
                                       "SELECT " USER_COLS " FROM users WHERE id = $1"};
#define LIST_WHERE                                                                                 \
    " WHERE $1::text IS NULL OR lower(email) LIKE lower($1) ESCAPE '\\'"                           \
    " OR lower(name) LIKE lower($1) ESCAPE '\\'"
static const souk_db_stmt_t q_list = {"user_list",
                                      "SELECT " USER_COLS " FROM users" LIST_WHERE
                                      " ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"};
static const souk_db_stmt_t q_count = {"user_count", "SELECT count(*) FROM users" LIST_WHERE};
static const souk_db_stmt_t q_update = {
    "user_update",
    "UPDATE users SET name = COALESCE($2, name), password_hash = COALESCE($3, password_hash),"
    " roles = COALESCE(string_to_array($4, ','), roles),"
    " disabled = COALESCE($5::boolean, disabled), updated_at = now()"
    " WHERE id = $1 RETURNING " USER_COLS};
static const souk_db_stmt_t q_delete = {"user_delete", "DELETE FROM users WHERE id = $1"};
static const souk_db_stmt_t q_admins = {
    "user_other_admins", "SELECT id FROM users WHERE 'admin' = ANY (roles) AND NOT disabled"
                         " AND ($1::uuid IS NULL OR id <> $1) FOR UPDATE"};

static const souk_db_stmt_t q_rt_insert = {
    "refresh_insert",
    "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at)"
    " VALUES ($1, $2, $3, decode($4, 'hex'), now() + make_interval(secs => $5::int))"};
static const souk_db_stmt_t q_rt_lock = {
    "refresh_lock", "SELECT id, family_id, user_id, spent_at IS NOT NULL, revoked_at IS NOT NULL,"
                    " expires_at <= now() FROM refresh_tokens"
                    " WHERE token_hash = decode($1, 'hex') FOR UPDATE"};
static const souk_db_stmt_t q_rt_spend = {
    "refresh_spend", "UPDATE refresh_tokens SET spent_at = now() WHERE id = $1"};
static const souk_db_stmt_t q_rt_revoke_family = {"refresh_revoke_family",
                                                  "UPDATE refresh_tokens SET revoked_at = now()"
                                                  " WHERE family_id = $1 AND revoked_at IS NULL"};
static const souk_db_stmt_t q_rt_revoke_user = {"refresh_revoke_user",
                                                "UPDATE refresh_tokens SET revoked_at = now()"
                                                " WHERE user_id = $1 AND revoked_at IS NULL"};

static const souk_db_stmt_t q_th_check = {
    "throttle_check",
    "SELECT COALESCE(max(ceil(extract(epoch FROM locked_until - now()))), 0)::bigint"
    " FROM login_throttle WHERE key IN ($1, $2, $3) AND locked_until > now()"};
static const souk_db_stmt_t q_fold = {"email_fold", "SELECT lower($1)"};
static const souk_db_stmt_t q_th_purge = {
    "throttle_purge", "DELETE FROM login_throttle WHERE (locked_until IS NULL"
                      " OR locked_until < now()) AND window_start < now() - make_interval(secs => "
                      "$1::int)"};
static const souk_db_stmt_t q_rt_purge = {
    "refresh_purge",
    "DELETE FROM refresh_tokens t WHERE t.expires_at < now()"
    " OR ((t.spent_at IS NOT NULL OR t.revoked_at IS NOT NULL) AND NOT EXISTS ("
    "  SELECT 1 FROM refresh_tokens l WHERE l.family_id = t.family_id"
    "  AND l.spent_at IS NULL AND l.revoked_at IS NULL AND l.expires_at > now()))"};
static const souk_db_stmt_t q_th_fail = {
    "throttle_fail",
    "INSERT INTO login_throttle AS t (key, failures, window_start) VALUES ($1, 1, now())"
    " ON CONFLICT (key) DO UPDATE SET"
    "  failures = CASE WHEN t.window_start < now() - make_interval(secs => $2::int)"
    "                    OR t.locked_until <= now() THEN 1 ELSE t.failures + 1 END,"
    "  window_start = CASE WHEN t.window_start < now() - make_interval(secs => $2::int)"
    "                    OR t.locked_until <= now() THEN now() ELSE t.window_start END,"
    "  locked_until = CASE WHEN t.locked_until <= now() THEN NULL ELSE t.locked_until END"
    " RETURNING failures"};
static const souk_db_stmt_t q_th_lock = {
    "throttle_lock",
    "UPDATE login_throttle SET locked_until = now() + make_interval(secs => $2::int)"
    " WHERE key = $1"};
static const souk_db_stmt_t q_th_clear = {"throttle_clear",
                                          "DELETE FROM login_throttle WHERE key = $1"};

void auth_user_cleanup(auth_user_t *u)
{
    json_decref(u->json);
    souk_free(u->password_hash);
    memset(u, 0, sizeof(*u));
}

unsigned store_roles_from_csv(const char *csv, json_t **arr)
{
    unsigned bits = 0;
    char name[32];
    for (const char *p = csv; p && *p;) {
        size_t n = strcspn(p, ",");
        snprintf(name, sizeof(name), "%.*s", (int)n, p);
        bits |= souk_role_parse(name);
        p += n + (p[n] == ',');
    }
    if (arr)
        *arr = souk_roles_json(bits);
    return bits;
}

static void row_to_user(const PGresult *res, int row, auth_user_t *u)
{
    json_t *roles;
    memset(u, 0, sizeof(*u));
    snprintf(u->id, sizeof(u->id), "%s", PQgetvalue(res, row, 0));
    snprintf(u->email, sizeof(u->email), "%s", PQgetvalue(res, row, 1));
    u->roles = store_roles_from_csv(PQgetvalue(res, row, 3), &roles);
    u->disabled = souk_db_bool(res, row, 4);
    u->password_hash = PQgetisnull(res, row, 7) ? NULL : souk_strdup(PQgetvalue(res, row, 7));
    u->json =
        json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:s}", "id", u->id, "email", u->email, "name",
                  PQgetvalue(res, row, 2), "roles", roles, "disabled", u->disabled, "created_at",
                  PQgetvalue(res, row, 5), "updated_at", PQgetvalue(res, row, 6));
}

/* Runs a statement expected to return at most one user row. */
static souk_err_t one_user(souk_db_conn_t *c, const souk_db_stmt_t *st, int n,
                           const char *const *params, auth_user_t *out)
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, st, n, params, &res);
    if (err == SOUK_OK)
        row_to_user(res, 0, out);
    PQclear(res);
    return err;
}

/* "customer,catalog": the roles' names in the table's order. */
static void roles_csv(unsigned roles, char *out, size_t cap)
{
    json_t *names = souk_roles_json(roles), *n;
    size_t i, len = 0;
    out[0] = '\0';
    json_array_foreach(names, i, n)
    {
        int w = snprintf(out + len, cap - len, "%s%s", len ? "," : "", json_string_value(n));
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    json_decref(names);
}

souk_err_t store_user_insert(souk_db_conn_t *c, const char *email, const char *name,
                             const char *hash, unsigned roles, auth_user_t *out)
{
    char id[SOUK_UUID_STRLEN + 1], csv[64];
    souk_uuid_v4(id);
    roles_csv(roles, csv, sizeof(csv));
    const char *p[] = {id, email, name ? name : "", hash, csv};
    return one_user(c, &q_insert, 5, p, out);
}

souk_err_t store_user_by_email(souk_db_conn_t *c, const char *email, auth_user_t *out)
{
    return one_user(c, &q_by_email, 1, (const char *[]){email}, out);
}

souk_err_t store_user_by_id(souk_db_conn_t *c, const char *id, auth_user_t *out)
{
    return one_user(c, &q_by_id, 1, (const char *[]){id}, out);
}

static json_t *user_json(const PGresult *res, int row)
{
    auth_user_t u;
    row_to_user(res, row, &u);
    json_t *j = json_incref(u.json);
    auth_user_cleanup(&u);
    return j;
}

souk_err_t store_user_list(souk_db_conn_t *c, const char *q, long page, long limit, json_t **items,
                           long long *total)
{
    char *pattern = q && *q ? souk_db_like_contains(q) : NULL;
    souk_db_page_query_t pq = {.rows = &q_list,
                               .count = &q_count,
                               .nparams = 1,
                               .params = (const char *[]){pattern},
                               .limit = limit,
                               .offset = (page - 1) * limit,
                               .row = user_json};
    souk_err_t err = souk_db_page(c, &pq, items, total);
    souk_free(pattern);
    return err;
}

souk_err_t store_user_update(souk_db_conn_t *c, const char *id, const auth_user_patch_t *p,
                             auth_user_t *out)
{
    char csv[64];
    if (p->roles)
        roles_csv(*p->roles, csv, sizeof(csv));
    const char *params[] = {id, p->name, p->password_hash, p->roles ? csv : NULL,
                            p->disabled ? (*p->disabled ? "true" : "false") : NULL};
    return one_user(c, &q_update, 5, params, out);
}

souk_err_t store_user_delete(souk_db_conn_t *c, const char *id)
{
    return souk_db_exec_one(c, &q_delete, 1, (const char *[]){id});
}

souk_err_t store_other_admins(souk_db_conn_t *c, const char *except_id, long long *count)
{
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_admins, 1, (const char *[]){except_id}, &res);
    if (err == SOUK_OK)
        *count = PQntuples(res);
    PQclear(res);
    return err;
}

souk_err_t store_refresh_insert(souk_db_conn_t *c, const char *family_id, const char *user_id,
                                const char *token_hash, int ttl_s)
{
    char id[SOUK_UUID_STRLEN + 1], ttl[16];
    souk_uuid_v4(id);
    snprintf(ttl, sizeof(ttl), "%d", ttl_s);
    return souk_db_query(c, &q_rt_insert, 5,
                         (const char *[]){id, family_id, user_id, token_hash, ttl}, NULL);
}

souk_err_t store_refresh_lock(souk_db_conn_t *c, const char *token_hash, auth_refresh_t *out)
{
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_rt_lock, 1, (const char *[]){token_hash}, &res);
    if (err)
        return err;
    if (PQntuples(res) == 0) {
        err = SOUK_ENOTFOUND;
    } else {
        snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
        snprintf(out->family_id, sizeof(out->family_id), "%s", PQgetvalue(res, 0, 1));
        snprintf(out->user_id, sizeof(out->user_id), "%s", PQgetvalue(res, 0, 2));
        out->spent = souk_db_bool(res, 0, 3);
        out->revoked = souk_db_bool(res, 0, 4);
        out->expired = souk_db_bool(res, 0, 5);
    }
    PQclear(res);
    return err;
}

souk_err_t store_refresh_spend(souk_db_conn_t *c, const char *id)
{
    return souk_db_query(c, &q_rt_spend, 1, (const char *[]){id}, NULL);
}

souk_err_t store_family_revoke(souk_db_conn_t *c, const char *family_id)
{
    return souk_db_query(c, &q_rt_revoke_family, 1, (const char *[]){family_id}, NULL);
}

souk_err_t store_user_tokens_revoke(souk_db_conn_t *c, const char *user_id)
{
    return souk_db_query(c, &q_rt_revoke_user, 1, (const char *[]){user_id}, NULL);
}

souk_err_t store_throttle_check(souk_db_conn_t *c, const char *const keys[3], long *retry_after_s)
{
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_th_check, 3, keys, &res);
    if (err == SOUK_OK)
        *retry_after_s = (long)souk_db_int(res, 0, 0);
    PQclear(res);
    return err;
}

souk_err_t store_fold_email(souk_db_conn_t *c, const char *email, char *out, size_t cap)
{
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_fold, 1, (const char *[]){email}, &res);
    if (err == SOUK_OK)
        snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return err;
}

souk_err_t store_purge(souk_db_conn_t *c, int throttle_window_s)
{
    char window[16];
    snprintf(window, sizeof(window), "%d", throttle_window_s);
    souk_err_t err = souk_db_query(c, &q_rt_purge, 0, NULL, NULL);
    if (err == SOUK_OK)
        err = souk_db_query(c, &q_th_purge, 1, (const char *[]){window}, NULL);
    return err;
}

souk_err_t store_throttle_fail(souk_db_conn_t *c, const char *key, int max, int window_s,
                               int lockout_s)
{
    char window[16], lockout[16];
    snprintf(window, sizeof(window), "%d", window_s);
    snprintf(lockout, sizeof(lockout), "%d", lockout_s);
    PGresult *res;
    souk_err_t err = souk_db_query(c, &q_th_fail, 2, (const char *[]){key, window}, &res);
    if (err)
        return err;
    long long failures = souk_db_int(res, 0, 0);
    PQclear(res);
    if (failures >= max)
        err = souk_db_query(c, &q_th_lock, 2, (const char *[]){key, lockout}, NULL);
    return err;
}

souk_err_t store_throttle_clear(souk_db_conn_t *c, const char *key)
{
    return souk_db_query(c, &q_th_clear, 1, (const char *[]){key}, NULL);
}
