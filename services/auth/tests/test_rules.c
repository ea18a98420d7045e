/* Unit tests of auth-service's pure rules: email and password validation,
 * trimming, refresh-token generation and hashing; the OpenID Connect rules
 * (redirect allow-list, PKCE, id_token claims, verified email). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "../src/app.h"

static void test_emails(void **state)
{
    static const struct {
        const char *email;
        bool ok;
    } cases[] = {
        {"a@b.co", true},
        {"first.last+tag@example.com", true},
        {"X@Example.COM", true},
        {"user@sub.domain-name.org", true},
        {"", false},
        {"plain", false},
        {"@example.com", false},
        {"a@", false},
        {"a@b", false},
        {"a@@b.com", false},
        {"a@b@c.com", false},
        {"a b@c.com", false},
        {"a@c .com", false},
        {".a@b.com", false},
        {"a.@b.com", false},
        {"a..b@c.com", false},
        {"a@-b.com", false},
        {"a@b-.com", false},
        {"a@b..com", false},
        {"a@b.com.", false},
        {"<a>@b.com", false},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        if (auth_email_valid(cases[i].email) != cases[i].ok)
            fail_msg("email \"%s\": expected %s", cases[i].email,
                     cases[i].ok ? "valid" : "invalid");
    }
    char long_local[80];
    memset(long_local, 'a', 65);
    memcpy(long_local + 65, "@b.com", 7);
    assert_false(auth_email_valid(long_local));
}

static void test_passwords(void **state)
{
    assert_false(auth_password_valid("1234567"));
    assert_true(auth_password_valid("12345678"));
    assert_true(auth_password_valid("ééééééé\xc3\xa9")); /* 8 code points, 16 bytes */
    assert_false(auth_password_valid("ééé"));
    char pw[130];
    memset(pw, 'x', 129);
    pw[129] = '\0';
    assert_false(auth_password_valid(pw));
    pw[128] = '\0';
    assert_true(auth_password_valid(pw));
}

static void test_trim(void **state)
{
    char a[] = "  \tX@Example.com \n", b[] = "", c[] = "   ", d[] = "x";
    assert_string_equal(auth_trim(a), "X@Example.com");
    assert_string_equal(auth_trim(b), "");
    assert_string_equal(auth_trim(c), "");
    assert_string_equal(auth_trim(d), "x");
}

static void test_refresh_tokens(void **state)
{
    char t1[44], t2[44], h1[65], h1b[65], h2[65];
    auth_new_refresh_token(t1);
    auth_new_refresh_token(t2);
    assert_int_equal(strlen(t1), 43);
    assert_string_not_equal(t1, t2);
    assert_int_equal(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                     43);
    auth_token_hash(t1, h1);
    auth_token_hash(t1, h1b);
    auth_token_hash(t2, h2);
    assert_string_equal(h1, h1b);
    assert_string_not_equal(h1, h2);
    assert_int_equal(strlen(h1), 64);
}

static void test_redirect_allowlist(void **state)
{
    static char *allow[] = {"http://127.0.0.1:8080", "https://shop.example/app/", NULL};
    auth_app_t app = {.redirect_allow = allow};
    static const struct {
        const char *url;
        bool ok;
    } cases[] = {
        {"http://127.0.0.1:8080", true},
        {"http://127.0.0.1:8080/", true},
        {"http://127.0.0.1:8080/login/callback?next=/orders", true},
        {"https://shop.example/app/oauth", true},
        {"http://127.0.0.1:8080.evil.example/", false},
        {"http://127.0.0.1:8080@evil.example/", false},
        {"http://127.0.0.1:80800/", false},
        {"https://shop.example/application", false},
        {"https://evil.example/?http://127.0.0.1:8080", false},
        {"http://127.0.0.1:8080/#code=x", false},
        {"http://127.0.0.1:8080/ x", false},
        {"javascript:alert(1)", false},
        {"", false},
        {NULL, false},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++)
        if (auth_redirect_allowed(&app, cases[i].url) != cases[i].ok)
            fail_msg("%s: expected %s", cases[i].url ? cases[i].url : "(null)",
                     cases[i].ok ? "allowed" : "refused");
}

/* RFC 7636 appendix B. */
static void test_pkce(void **state)
{
    char challenge[44];
    auth_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", challenge);
    assert_string_equal(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    auth_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj", challenge);
    assert_string_not_equal(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

static void test_id_token_claims(void **state)
{
    const int64_t now = 1800000000;
    const char *iss = "https://idp.example", *cid = "souk";
    struct {
        json_t *claims;
        bool ok;
    } cases[] = {
        {json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", iss, "aud", cid, "sub", "alice", "exp",
                   (json_int_t)now + 300, "iat", (json_int_t)now, "nonce", "n1"),
         true},
        {json_pack("{s:s, s:[ss], s:s, s:s, s:I, s:I, s:s}", "iss", iss, "aud", cid, "other", "azp",
                   cid, "sub", "alice", "exp", (json_int_t)now + 300, "iat", (json_int_t)now,
                   "nonce", "n1"),
         true},
        {json_pack("{s:s, s:[ss], s:s, s:I, s:I, s:s}", "iss", iss, "aud", cid, "other", "sub",
                   "alice", "exp", (json_int_t)now + 300, "iat", (json_int_t)now, "nonce", "n1"),
         false}, /* several audiences and no azp */
        {json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", iss, "aud", "other", "sub", "alice",
                   "exp", (json_int_t)now + 300, "iat", (json_int_t)now, "nonce", "n1"),
         false}, /* wrong aud */
        {json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", "https://evil.example", "aud", cid,
                   "sub", "alice", "exp", (json_int_t)now + 300, "iat", (json_int_t)now, "nonce",
                   "n1"),
         false}, /* wrong iss */
        {json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", iss, "aud", cid, "sub", "alice", "exp",
                   (json_int_t)now + 300, "iat", (json_int_t)now, "nonce", "n2"),
         false}, /* wrong nonce */
        {json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", iss, "aud", cid, "sub", "alice", "exp",
                   (json_int_t)now + 300, "iat", (json_int_t)now),
         false}, /* no nonce */
        {json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", iss, "aud", cid, "sub", "alice", "exp",
                   (json_int_t)now - 120, "iat", (json_int_t)now - 900, "nonce", "n1"),
         false}, /* expired */
        {json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", iss, "aud", cid, "sub", "", "exp",
                   (json_int_t)now + 300, "iat", (json_int_t)now, "nonce", "n1"),
         false}, /* empty subject */
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        if (auth_oidc_claims_ok(cases[i].claims, iss, cid, "n1", now) != cases[i].ok)
            fail_msg("case %zu: expected %s", i, cases[i].ok ? "accepted" : "refused");
        json_decref(cases[i].claims);
    }
    json_t *v = json_pack("{s:b}", "email_verified", 1);
    assert_true(auth_oidc_email_verified(v));
    json_object_set_new(v, "email_verified", json_string("true"));
    assert_true(auth_oidc_email_verified(v));
    json_object_set_new(v, "email_verified", json_false());
    assert_false(auth_oidc_email_verified(v));
    json_object_del(v, "email_verified");
    assert_false(auth_oidc_email_verified(v));
    json_decref(v);
}

int main(void)
{
    if (souk_auth_init() != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emails),
        cmocka_unit_test(test_passwords),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_refresh_tokens),
        cmocka_unit_test(test_redirect_allowlist),
        cmocka_unit_test(test_pkce),
        cmocka_unit_test(test_id_token_claims),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
