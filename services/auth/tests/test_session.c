/* Unit tests of auth-service's session flows against a real PostgreSQL
 * (SOUK_TEST_DATABASE_URL, a schema of their own with the service's
 * migrations): login and its throttling keys, refresh rotation with reuse
 * detection, a disabled user's refresh, logout, and the purge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/app.h"
#include "dbtest.h"

extern const souk_migration_t souk_migrations[];

static auth_app_t app;
static souk_metrics_t *metrics;
static souk_dbtest_t db;
static char key_path[64];

static void exec_sql(const char *sql)
{
    souk_dbtest_exec(app.db, sql);
}

static long long scalar(const char *sql)
{
    return souk_dbtest_scalar(app.db, sql);
}

static int setup(void **state)
{
    const souk_migration_t *const migrations[] = {souk_bus_migrations, souk_migrations, NULL};
    souk_dbtest_open(&db, "auth_t", 2, 0, migrations);
    app.db = db.pool;
    metrics = souk_metrics_new();
    static const char *const result[] = {"result", NULL};
    app.logins = souk_metrics_counter(metrics, "logins", "x", result);
    app.refreshes = souk_metrics_counter(metrics, "refreshes", "x", result);
    app.hash_busy = souk_metrics_counter(metrics, "busy", "x", NULL);
    app.pwhash = (souk_pwhash_params_t){.opslimit = 1, .memlimit = 8192 * 1024};
    app.hash_wait_ms = 5000;
    app.access_ttl_s = 900;
    app.refresh_ttl_s = 3600;
    app.throttle = (auth_throttle_t){
        .max_pair = 3, .max_account = 5, .max_client = 8, .window_s = 900, .lockout_s = 300};
    sem_init(&app.hash_slots, 0, 2);
    assert_int_equal(souk_password_hash("dummy-password", &app.pwhash, app.dummy_hash), SOUK_OK);
    snprintf(key_path, sizeof(key_path), "/tmp/souk-session-key-%d.pem", (int)getpid());
    souk_jwt_signer_config_t sc = {.path = key_path,
                                   .generate = true,
                                   .issuer = "souk-auth",
                                   .audience = "souk",
                                   .ttl_s = 900};
    assert_int_equal(souk_jwt_signer_new(&sc, &app.signer), SOUK_OK);
    return 0;
}

static int teardown(void **state)
{
    souk_dbtest_close(&db);
    souk_jwt_signer_free(app.signer);
    unlink(key_path);
    sem_destroy(&app.hash_slots);
    souk_metrics_free(metrics);
    return 0;
}

typedef struct {
    const char *email, *password;
    auth_user_t user;
} new_user_t;

static souk_err_t insert_user(souk_db_conn_t *c, void *ud)
{
    new_user_t *u = ud;
    char hash[SOUK_PASSWORD_HASH_MAX];
    assert_int_equal(souk_password_hash(u->password, &app.pwhash, hash), SOUK_OK);
    return store_user_insert(c, u->email, "T", hash, SOUK_ROLE_CUSTOMER, &u->user);
}

static void make_user(const char *email, const char *password, char id[SOUK_UUID_STRLEN + 1])
{
    new_user_t u = {.email = email, .password = password};
    assert_int_equal(souk_db_run(app.db, insert_user, &u), SOUK_OK);
    snprintf(id, SOUK_UUID_STRLEN + 1, "%s", u.user.id);
    auth_user_cleanup(&u.user);
}

static auth_session_outcome_t login(const char *email, const char *pw, const char *client)
{
    auth_session_result_t r;
    auth_session_outcome_t o = auth_login(&app, email, pw, client, NULL, &r);
    auth_session_result_cleanup(&r);
    return o;
}

static void test_login_and_pair_lock(void **state)
{
    char id[SOUK_UUID_STRLEN + 1];
    make_user("pair@example.com", "right-password", id);
    auth_session_result_t r;
    assert_int_equal(auth_login(&app, "PAIR@example.com", "right-password", "10.0.0.1", NULL, &r),
                     AUTH_SESSION_OK);
    assert_string_equal(r.user.id, id);
    assert_non_null(r.tokens.access);
    assert_int_equal(strlen(r.tokens.refresh), 43);
    auth_session_result_cleanup(&r);
    for (int i = 0; i < 3; i++)
        assert_int_equal(login("pair@example.com", "wrong", "10.0.0.1"), AUTH_SESSION_DENIED);
    /* This client is locked out of this account ... */
    assert_int_equal(login("pair@example.com", "right-password", "10.0.0.1"),
                     AUTH_SESSION_THROTTLED);
    /* ... the owner elsewhere is not. */
    assert_int_equal(login("pair@example.com", "right-password", "10.0.0.2"), AUTH_SESSION_OK);
}

/* Every spelling that finds the account counts against it: U+212A KELVIN
 * SIGN folds to "k" in the database, so it is the same account. */
static void test_spellings_share_the_account(void **state)
{
    char id[SOUK_UUID_STRLEN + 1];
    make_user("kim@example.com", "right-password", id);
    const char *kelvin = "\xe2\x84\xaaim@example.com";
    assert_int_equal(login(kelvin, "wrong", "10.0.1.1"), AUTH_SESSION_DENIED);
    assert_int_equal(login("KIM@example.com", "wrong", "10.0.1.1"), AUTH_SESSION_DENIED);
    assert_int_equal(login("kim@example.com", "wrong", "10.0.1.1"), AUTH_SESSION_DENIED);
    assert_int_equal(login("kim@example.com", "right-password", "10.0.1.1"),
                     AUTH_SESSION_THROTTLED);
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT failures FROM login_throttle WHERE key = 'pair:%s|10.0.1.1'",
             id);
    assert_int_equal(scalar(sql), 3);
}

/* Guesses from many clients reach the account's own ceiling; failures from
 * one client across accounts reach the client's. */
static void test_account_and_client_ceilings(void **state)
{
    char id[SOUK_UUID_STRLEN + 1], client[32];
    make_user("target@example.com", "right-password", id);
    for (int i = 0; i < 5; i++) {
        snprintf(client, sizeof(client), "10.1.0.%d", i + 1);
        assert_int_equal(login("target@example.com", "wrong", client), AUTH_SESSION_DENIED);
    }
    assert_int_equal(login("target@example.com", "right-password", "10.1.9.9"),
                     AUTH_SESSION_THROTTLED);
    char email[64];
    for (int i = 0; i < 8; i++) {
        snprintf(email, sizeof(email), "nobody-%d@example.com", i);
        assert_int_equal(login(email, "wrong", "10.2.0.1"), AUTH_SESSION_DENIED);
    }
    assert_int_equal(login("pair@example.com", "right-password", "10.2.0.1"),
                     AUTH_SESSION_THROTTLED);
}

static void test_refresh_rotation_and_reuse(void **state)
{
    char id[SOUK_UUID_STRLEN + 1];
    make_user("rot@example.com", "right-password", id);
    auth_session_result_t r, r2, r3;
    assert_int_equal(auth_login(&app, "rot@example.com", "right-password", "10.3.0.1", NULL, &r),
                     AUTH_SESSION_OK);
    assert_int_equal(auth_refresh(&app, r.tokens.refresh, &r2), AUTH_SESSION_OK);
    assert_string_not_equal(r2.tokens.refresh, r.tokens.refresh);
    /* The spent token again: denied, and the whole family goes. */
    assert_int_equal(auth_refresh(&app, r.tokens.refresh, &r3), AUTH_SESSION_DENIED);
    assert_true(r3.reuse);
    auth_session_result_cleanup(&r3);
    assert_int_equal(auth_refresh(&app, r2.tokens.refresh, &r3), AUTH_SESSION_DENIED);
    assert_false(r3.reuse);
    auth_session_result_cleanup(&r3);
    assert_int_equal(auth_refresh(&app, "no-such-token", &r3), AUTH_SESSION_DENIED);
    auth_session_result_cleanup(&r3);
    auth_session_result_cleanup(&r);
    auth_session_result_cleanup(&r2);
}

static void test_disabled_and_logout(void **state)
{
    char id[SOUK_UUID_STRLEN + 1], sql[160];
    make_user("dis@example.com", "right-password", id);
    auth_session_result_t r, r2;
    assert_int_equal(auth_login(&app, "dis@example.com", "right-password", "10.4.0.1", NULL, &r),
                     AUTH_SESSION_OK);
    snprintf(sql, sizeof(sql), "UPDATE users SET disabled = true WHERE id = '%s'", id);
    exec_sql(sql);
    assert_int_equal(auth_refresh(&app, r.tokens.refresh, &r2), AUTH_SESSION_DENIED);
    auth_session_result_cleanup(&r2);
    assert_int_equal(login("dis@example.com", "right-password", "10.4.0.1"), AUTH_SESSION_DISABLED);
    snprintf(sql, sizeof(sql), "UPDATE users SET disabled = false WHERE id = '%s'", id);
    exec_sql(sql);
    auth_session_result_cleanup(&r);
    assert_int_equal(auth_login(&app, "dis@example.com", "right-password", "10.4.0.1", NULL, &r),
                     AUTH_SESSION_OK);
    assert_int_equal(auth_logout(&app, r.tokens.refresh, &r2), AUTH_SESSION_OK);
    assert_int_equal(auth_logout(&app, r.tokens.refresh, &r2), AUTH_SESSION_OK); /* twice */
    assert_int_equal(auth_refresh(&app, r.tokens.refresh, &r2), AUTH_SESSION_DENIED);
    auth_session_result_cleanup(&r2);
    auth_session_result_cleanup(&r);
}

/* Nothing usable goes; what no one can use any more does. */
static void test_purge(void **state)
{
    char id[SOUK_UUID_STRLEN + 1];
    make_user("purge@example.com", "right-password", id);
    auth_session_result_t live, old, next, out;
    assert_int_equal(
        auth_login(&app, "purge@example.com", "right-password", "10.5.0.1", NULL, &live),
        AUTH_SESSION_OK);
    assert_int_equal(
        auth_login(&app, "purge@example.com", "right-password", "10.5.0.1", NULL, &old),
        AUTH_SESSION_OK);
    assert_int_equal(auth_refresh(&app, live.tokens.refresh, &next), AUTH_SESSION_OK);
    /* old's family is logged out: revoked, with no live token left */
    assert_int_equal(auth_logout(&app, old.tokens.refresh, &out), AUTH_SESSION_OK);
    exec_sql("INSERT INTO login_throttle (key, failures, window_start)"
             " VALUES ('client:stale', 2, now() - interval '2 hours')");
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM refresh_tokens WHERE user_id = '%s'", id);
    assert_int_equal(scalar(sql), 3);
    assert_int_equal(auth_purge(&app), SOUK_OK);
    /* left: the live token and the spent one of its family (reuse detection) */
    assert_int_equal(scalar(sql), 2);
    assert_int_equal(scalar("SELECT count(*) FROM login_throttle WHERE key = 'client:stale'"), 0);
    auth_session_result_t check;
    assert_int_equal(auth_refresh(&app, live.tokens.refresh, &check), AUTH_SESSION_DENIED);
    assert_true(check.reuse); /* still detected after the purge */
    auth_session_result_cleanup(&check);
    auth_session_result_cleanup(&live);
    auth_session_result_cleanup(&old);
    auth_session_result_cleanup(&next);
}

int main(void)
{
    if (!getenv("SOUK_TEST_DATABASE_URL")) {
        fprintf(stderr, "SOUK_TEST_DATABASE_URL is not set: run through scripts/test\n");
        return 1;
    }
    if (souk_log_init("test_auth_session", "error") != SOUK_OK || souk_auth_init() != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_and_pair_lock),
        cmocka_unit_test(test_spellings_share_the_account),
        cmocka_unit_test(test_account_and_client_ceilings),
        cmocka_unit_test(test_refresh_rotation_and_reuse),
        cmocka_unit_test(test_disabled_and_logout),
        cmocka_unit_test(test_purge),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
