/* store_oauth.c: auth-service's SQL for OAuth 2.0 and the audit log:
 * machine clients, authorization states and login codes of OpenID Connect
 * sign-ins, provider identities, audit entries. Named prepared statements;
 * secrets, states and codes are stored only as hashes. */
#include "store.h"

#include <stdio.h>
#include <string.h>

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define CLIENT_COLS                                                                                \
    "id, name, array_to_string(scopes, ' '), " TS("created_at") ", encode(secret_hash, 'hex'),"    \
                                                                " deleted_at IS NOT NULL"

static const souk_db_stmt_t q_client_insert = {
    "client_insert",
    "INSERT INTO oauth_clients (id, name, secret_hash, scopes, created_by)"
    " VALUES ($1, $2, decode($3, 'hex'), string_to_array($4, ' '), $5) RETURNING " CLIENT_COLS};
static const souk_db_stmt_t q_client_get = {"client_get", "SELECT " CLIENT_COLS
                                                          " FROM oauth_clients WHERE id = $1"};
static const souk_db_stmt_t q_client_list = {
    "client_list", "SELECT " CLIENT_COLS " FROM oauth_clients WHERE deleted_at IS NULL"
                   " ORDER BY created_at DESC, id LIMIT $1 OFFSET $2"};
static const souk_db_stmt_t q_client_count = {
    "client_count", "SELECT count(*) FROM oauth_clients WHERE deleted_at IS NULL"};
static const souk_db_stmt_t q_client_delete = {
    "client_delete",
    "UPDATE oauth_clients SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL"};
static const souk_db_stmt_t q_clients_forget = {
    "clients_forget", "DELETE FROM oauth_clients WHERE deleted_at IS NOT NULL"
                      " AND deleted_at < now() - make_interval(secs => $1::int)"};
static const souk_db_stmt_t q_clients_revoked = {
    "clients_revoked", "SELECT id FROM oauth_clients WHERE deleted_at IS NOT NULL"
                       " AND deleted_at > now() - make_interval(secs => $1::int) ORDER BY id"};

static const souk_db_stmt_t q_state_insert = {
    "oauth_state_insert",
    "INSERT INTO oauth_states (state_hash, provider, nonce, code_verifier, redirect_uri,"
    " expires_at) VALUES (decode($1, 'hex'), $2, $3, $4, $5,"
    " now() + make_interval(secs => $6::int))"};
static const souk_db_stmt_t q_state_take = {
    "oauth_state_take", "DELETE FROM oauth_states WHERE state_hash = decode($1, 'hex')"
                        " RETURNING provider, nonce, code_verifier, redirect_uri,"
                        " expires_at > now()"};
static const souk_db_stmt_t q_identity_user = {
    "identity_user", "SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2"};
static const souk_db_stmt_t q_identity_link = {
    "identity_link",
    "INSERT INTO user_identities (provider, subject, user_id) VALUES ($1, $2, $3)"};
static const souk_db_stmt_t q_code_insert = {
    "login_code_insert", "INSERT INTO login_codes (code_hash, user_id, expires_at)"
                         " VALUES (decode($1, 'hex'), $2, now() + make_interval(secs => $3::int))"};
static const souk_db_stmt_t q_code_take = {"login_code_take",
                                           "DELETE FROM login_codes WHERE code_hash = decode($1, "
                                           "'hex') RETURNING user_id, expires_at > now()"};
static const souk_db_stmt_t q_states_purge = {"oauth_states_purge",
                                              "DELETE FROM oauth_states WHERE expires_at < now()"};
static const souk_db_stmt_t q_codes_purge = {"login_codes_purge",
                                             "DELETE FROM login_codes WHERE expires_at < now()"};

#define AUDIT_COLS                                                                                 \
    "id, " TS("at") ", actor_id, actor_type, action, target_type, target_id, outcome,"             \
                    " client_ip, request_id"
static const souk_db_stmt_t q_audit_insert = {
    "audit_insert",
    "INSERT INTO audit_log (id, at, actor_id, actor_type, action, target_type, target_id,"
    " outcome, client_ip, request_id, event_id)"
    " VALUES ($1, COALESCE($2::timestamptz, now()), $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (event_id) DO NOTHING"};
#define AUDIT_WHERE                                                                                \
    " WHERE ($1::uuid IS NULL OR actor_id = $1) AND ($2::text IS NULL OR action = $2)"
static const souk_db_stmt_t q_audit_list = {"audit_list",
                                            "SELECT " AUDIT_COLS " FROM audit_log" AUDIT_WHERE
                                            " ORDER BY at DESC, id LIMIT $3 OFFSET $4"};
static const souk_db_stmt_t q_audit_count = {"audit_count",
                                             "SELECT count(*) FROM audit_log" AUDIT_WHERE};

/* ---- clients -------------------------------------------------------------- */

static json_t *client_json(const PGresult *res, int row)
{
    unsigned scopes = 0;
    if (souk_scope_parse(PQgetvalue(res, row, 2), &scopes) != SOUK_OK)
        scopes = 0; /* the table holds only known names; never widen */
    return json_pack("{s:s, s:s, s:o, s:s}", "client_id", PQgetvalue(res, row, 0), "name",
                     PQgetvalue(res, row, 1), "scopes", souk_permissions_json(scopes), "created_at",
                     PQgetvalue(res, row, 3));
}

souk_err_t store_client_insert(souk_db_conn_t *c, const char *id, const char *name,
                               const char *secret_hash, unsigned scopes, const char *created_by,
                               json_t **out)
{
    char scope[SOUK_SCOPE_MAX];
    souk_scope_format(scopes, scope);
    PGresult *res;
    const char *p[] = {id, name, secret_hash, scope, created_by};
    souk_err_t err = souk_db_query_one(c, &q_client_insert, 5, p, &res);
    if (err == SOUK_OK)
        *out = client_json(res, 0);
    PQclear(res);
    return err;
}

souk_err_t store_client_get(souk_db_conn_t *c, const char *id, auth_client_t *out)
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, &q_client_get, 1, (const char *[]){id}, &res);
    if (err == SOUK_OK) {
        memset(out, 0, sizeof(*out));
        snprintf(out->id, sizeof(out->id), "%s", PQgetvalue(res, 0, 0));
        if (souk_scope_parse(PQgetvalue(res, 0, 2), &out->scopes) != SOUK_OK)
            out->scopes = 0;
        snprintf(out->secret_hash, sizeof(out->secret_hash), "%s", PQgetvalue(res, 0, 4));
        out->deleted = souk_db_bool(res, 0, 5);
    }
    PQclear(res);
    return err;
}

souk_err_t store_client_list(souk_db_conn_t *c, long page, long limit, json_t **items,
                             long long *total)
{
    souk_db_page_query_t pq = {.rows = &q_client_list,
                               .count = &q_client_count,
                               .nparams = 0,
                               .params = NULL,
                               .limit = limit,
                               .offset = (page - 1) * limit,
                               .row = client_json};
    return souk_db_page(c, &pq, items, total);
}

souk_err_t store_client_delete(souk_db_conn_t *c, const char *id)
{
    return souk_db_exec_one(c, &q_client_delete, 1, (const char *[]){id});
}

souk_err_t store_clients_revoked(souk_db_conn_t *c, int within_s, json_t **ids)
{
    char within[16];
    snprintf(within, sizeof(within), "%d", within_s);
    PGresult *res = NULL;
    souk_err_t err = souk_db_query(c, &q_clients_revoked, 1, (const char *[]){within}, &res);
    if (err == SOUK_OK) {
        *ids = json_array();
        for (int i = 0; i < PQntuples(res); i++)
            json_array_append_new(*ids, json_string(PQgetvalue(res, i, 0)));
    }
    PQclear(res);
    return err;
}

/* ---- OpenID Connect logins ------------------------------------------------ */

souk_err_t store_state_insert(souk_db_conn_t *c, const char *state_hash,
                              const auth_oauth_state_t *st, int ttl_s)
{
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", ttl_s);
    const char *p[] = {state_hash,        st->provider,     st->nonce,
                       st->code_verifier, st->redirect_uri, ttl};
    return souk_db_query(c, &q_state_insert, 6, p, NULL);
}

souk_err_t store_state_take(souk_db_conn_t *c, const char *state_hash, auth_oauth_state_t *out)
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, &q_state_take, 1, (const char *[]){state_hash}, &res);
    if (err == SOUK_OK && !souk_db_bool(res, 0, 4))
        err = SOUK_ENOTFOUND; /* expired: taken all the same, so it is gone */
    if (err == SOUK_OK) {
        snprintf(out->provider, sizeof(out->provider), "%s", PQgetvalue(res, 0, 0));
        snprintf(out->nonce, sizeof(out->nonce), "%s", PQgetvalue(res, 0, 1));
        snprintf(out->code_verifier, sizeof(out->code_verifier), "%s", PQgetvalue(res, 0, 2));
        snprintf(out->redirect_uri, sizeof(out->redirect_uri), "%s", PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return err;
}

souk_err_t store_identity_user(souk_db_conn_t *c, const char *provider, const char *subject,
                               char user_id[SOUK_UUID_STRLEN + 1])
{
    PGresult *res;
    souk_err_t err =
        souk_db_query_one(c, &q_identity_user, 2, (const char *[]){provider, subject}, &res);
    if (err == SOUK_OK)
        snprintf(user_id, SOUK_UUID_STRLEN + 1, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return err;
}

souk_err_t store_identity_link(souk_db_conn_t *c, const char *provider, const char *subject,
                               const char *user_id)
{
    return souk_db_query(c, &q_identity_link, 3, (const char *[]){provider, subject, user_id},
                         NULL);
}

souk_err_t store_login_code_insert(souk_db_conn_t *c, const char *code_hash, const char *user_id,
                                   int ttl_s)
{
    char ttl[16];
    snprintf(ttl, sizeof(ttl), "%d", ttl_s);
    return souk_db_query(c, &q_code_insert, 3, (const char *[]){code_hash, user_id, ttl}, NULL);
}

souk_err_t store_login_code_take(souk_db_conn_t *c, const char *code_hash,
                                 char user_id[SOUK_UUID_STRLEN + 1])
{
    PGresult *res;
    souk_err_t err = souk_db_query_one(c, &q_code_take, 1, (const char *[]){code_hash}, &res);
    if (err == SOUK_OK && !souk_db_bool(res, 0, 1))
        err = SOUK_ENOTFOUND;
    if (err == SOUK_OK)
        snprintf(user_id, SOUK_UUID_STRLEN + 1, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return err;
}

souk_err_t store_oauth_purge(souk_db_conn_t *c, int revoked_s)
{
    char within[16];
    snprintf(within, sizeof(within), "%d", revoked_s);
    souk_err_t err = souk_db_query(c, &q_states_purge, 0, NULL, NULL);
    if (err == SOUK_OK)
        err = souk_db_query(c, &q_codes_purge, 0, NULL, NULL);
    return err ? err : souk_db_query(c, &q_clients_forget, 1, (const char *[]){within}, NULL);
}

/* ---- audit ---------------------------------------------------------------- */

souk_err_t store_audit_insert(souk_db_conn_t *c, const souk_audit_t *a, const char *event_id,
                              const char *at)
{
    char id[SOUK_UUID_STRLEN + 1];
    souk_uuid_v4(id);
    const char *p[] = {id,           at,
                       a->actor_id,  a->actor_client ? "client" : "user",
                       a->action,    a->target_type,
                       a->target_id, a->outcome ? a->outcome : "success",
                       a->client_ip, a->request_id,
                       event_id};
    return souk_db_query(c, &q_audit_insert, 11, p, NULL);
}

static json_t *nullable(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static json_t *audit_json(const PGresult *res, int row)
{
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:s, s:o, s:o}", "id",
                     PQgetvalue(res, row, 0), "at", PQgetvalue(res, row, 1), "actor_id",
                     nullable(res, row, 2), "actor_type", PQgetvalue(res, row, 3), "action",
                     PQgetvalue(res, row, 4), "target_type", nullable(res, row, 5), "target_id",
                     nullable(res, row, 6), "outcome", PQgetvalue(res, row, 7), "client_ip",
                     nullable(res, row, 8), "request_id", nullable(res, row, 9));
}

souk_err_t store_audit_list(souk_db_conn_t *c, const char *actor_id, const char *action, long page,
                            long limit, json_t **items, long long *total)
{
    souk_db_page_query_t pq = {.rows = &q_audit_list,
                               .count = &q_audit_count,
                               .nparams = 2,
                               .params = (const char *[]){actor_id, action},
                               .limit = limit,
                               .offset = (page - 1) * limit,
                               .row = audit_json};
    return souk_db_page(c, &pq, items, total);
}
