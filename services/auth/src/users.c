/* users.c: users beyond the HTTP edge: the admin created at start, and the
 * souk.user.* events that tell other services about accounts. */
#include "app.h"

#include <souk/svc.h>

souk_err_t auth_emit_user(souk_db_conn_t *c, const char *type, const auth_user_t *u,
                          const char *traceparent)
{
    json_t *data =
        json_pack("{s:s, s:s, s:O, s:O, s:O}", "user_id", u->id, "email", u->email, "name",
                  json_object_get(u->json, "name"), "roles", json_object_get(u->json, "roles"),
                  "created_at", json_object_get(u->json, "created_at"));
    souk_outbox_msg_t m = {.topic = SOUK_TOPIC_USERS,
                           .type = type,
                           .key = u->id,
                           .subject = u->id,
                           .data = data,
                           .traceparent = traceparent};
    souk_err_t err = souk_outbox_add(c, SOUK_SOURCE_AUTH, &m);
    json_decref(data);
    return err;
}

typedef struct {
    const char *email, *hash;
    bool created;
} bootstrap_t;

static souk_err_t bootstrap_tx(souk_db_conn_t *c, void *ud)
{
    bootstrap_t *b = ud;
    long long admins = 0;
    auth_user_t u = {0};
    souk_err_t err = store_other_admins(c, NULL, &admins);
    if (err || admins > 0)
        return err;
    err = store_user_insert(c, b->email, "Administrator", b->hash,
                            SOUK_ROLE_CUSTOMER | SOUK_ROLE_ADMIN, &u);
    if (err == SOUK_ECONFLICT) {
        /* Never promote an existing account: whoever registered it first
         * would otherwise become admin. */
        souk_log_error("no admin exists and %s is already a customer account; "
                       "choose another SOUK_ADMIN_EMAIL",
                       b->email);
        err = SOUK_OK;
    } else if (err == SOUK_OK) {
        err = auth_emit_user(c, SOUK_EV_USER_REGISTERED, &u, NULL);
        b->created = err == SOUK_OK;
    }
    auth_user_cleanup(&u);
    return err;
}

static souk_err_t count_admins(souk_db_conn_t *c, void *ud)
{
    return store_other_admins(c, NULL, ud);
}

souk_err_t auth_bootstrap_admin(auth_app_t *app, const char *email, const char *password)
{
    long long admins = 0;
    souk_err_t err = souk_db_run(app->db, count_admins, &admins);
    if (err || admins > 0) /* the usual start: no hash needed */
        return err;
    if (!auth_email_valid(email) || !auth_password_valid(password)) {
        souk_log_error("SOUK_ADMIN_EMAIL/SOUK_ADMIN_PASSWORD are not a valid email and a "
                       "%d..%d character password",
                       AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX);
        return SOUK_EINVAL;
    }
    char hash[SOUK_PASSWORD_HASH_MAX];
    err = auth_hash_password(app, password, hash);
    bootstrap_t b = {.email = email, .hash = hash};
    if (err == SOUK_OK)
        err = souk_db_run_tx(app->db, bootstrap_tx, &b);
    if (b.created)
        souk_log_info("created admin %s", email);
    return err;
}
