/* Unit tests of auth-service's pure rules: email and password validation,
 * trimming, refresh-token generation and hashing. */
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

int main(void)
{
    if (souk_auth_init() != SOUK_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emails),
        cmocka_unit_test(test_passwords),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_refresh_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
