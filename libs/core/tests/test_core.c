/* Unit tests of libs/core: configuration parsing, ids, arena, time. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <souk/core.h>

static void test_parse_long_table(void **state)
{
    static const struct {
        const char *in;
        long min, max;
        souk_err_t want;
        long value;
    } cases[] = {
        {"0", 0, 10, SOUK_OK, 0},
        {"10", 0, 10, SOUK_OK, 10},
        {"11", 0, 10, SOUK_EINVAL, 0},
        {"-1", 0, 10, SOUK_EINVAL, 0},
        {"-5", -10, 10, SOUK_OK, -5},
        {"", 0, 10, SOUK_EINVAL, 0},
        {" 1", 0, 10, SOUK_EINVAL, 0},
        {"+1", 0, 10, SOUK_EINVAL, 0},
        {"1x", 0, 10, SOUK_EINVAL, 0},
        {"1.5", 0, 10, SOUK_EINVAL, 0},
        {"99999999999999999999999", 0, 10, SOUK_EINVAL, 0},
        {"0x10", 0, 100, SOUK_EINVAL, 0},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        long v = -42;
        souk_err_t err =
            souk_parse_long(cases[i].in, strlen(cases[i].in), cases[i].min, cases[i].max, &v);
        assert_int_equal(err, cases[i].want);
        if (err == SOUK_OK)
            assert_int_equal(v, cases[i].value);
        else
            assert_int_equal(v, -42);
    }
}

static void test_env_getters(void **state)
{
    long v;
    bool b;
    int port;
    unsetenv("SOUK_T_X");
    assert_int_equal(souk_env_long("SOUK_T_X", 7, 0, 10, &v), SOUK_OK);
    assert_int_equal(v, 7);
    setenv("SOUK_T_X", "9", 1);
    assert_int_equal(souk_env_long("SOUK_T_X", 7, 0, 10, &v), SOUK_OK);
    assert_int_equal(v, 9);
    setenv("SOUK_T_X", "abc", 1);
    assert_int_equal(souk_env_long("SOUK_T_X", 7, 0, 10, &v), SOUK_EINVAL);
    setenv("SOUK_T_X", "yes", 1);
    assert_int_equal(souk_env_bool("SOUK_T_X", false, &b), SOUK_OK);
    assert_true(b);
    setenv("SOUK_T_X", "OFF", 1);
    assert_int_equal(souk_env_bool("SOUK_T_X", true, &b), SOUK_OK);
    assert_false(b);
    setenv("SOUK_T_X", "maybe", 1);
    assert_int_equal(souk_env_bool("SOUK_T_X", true, &b), SOUK_EINVAL);
    setenv("SOUK_T_X", "70000", 1);
    assert_int_equal(souk_env_port("SOUK_T_X", 80, &port), SOUK_EINVAL);
    setenv("SOUK_T_X", "", 1);
    assert_string_equal(souk_env_str("SOUK_T_X", "dflt"), "dflt");
    unsetenv("SOUK_T_X");
}

static void test_uuid(void **state)
{
    char a[SOUK_UUID_STRLEN + 1], b[SOUK_UUID_STRLEN + 1];
    souk_uuid_v4(a);
    souk_uuid_v4(b);
    assert_true(souk_uuid_valid(a, strlen(a)));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    assert_true(strchr("89ab", a[19]) != NULL);
    assert_false(souk_uuid_valid("not-a-uuid", 10));
    assert_false(souk_uuid_valid("0123456789abcdef0123456789abcdef0123", 36));
    assert_false(souk_uuid_valid("01234567-89ab-cdef-0123-456789abcdeg", 36));
    assert_true(souk_uuid_valid("01234567-89AB-cdef-0123-456789abcdef", 36));
}

static int destroyed;
static void count_destroy(void *p)
{
    destroyed += *(int *)p;
}

static void test_arena(void **state)
{
    souk_arena_t *a = souk_arena_new();
    /* Many allocations across chunk boundaries, including one huge one. */
    for (int i = 0; i < 1000; i++) {
        char want[16];
        snprintf(want, sizeof(want), "item-%d", i);
        assert_string_equal(souk_arena_printf(a, "item-%d", i), want);
    }
    char *big = souk_arena_alloc(a, 3 << 20);
    memset(big, 'x', 3 << 20);
    int *v = souk_arena_alloc(a, sizeof(int));
    *v = 3;
    destroyed = 0;
    souk_arena_defer(a, count_destroy, v);
    souk_arena_defer(a, count_destroy, NULL); /* ignored */
    json_t *j = souk_arena_json(a, json_object());
    assert_non_null(j);
    souk_arena_free(a);
    assert_int_equal(destroyed, 3);
    souk_arena_free(NULL);
}

/* Runs fn in a child process; true when the child died of SIGABRT. */
static bool aborts(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        fclose(stdout); /* the out-of-memory line is expected; keep the output clean */
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void huge_arena_alloc(void)
{
    souk_arena_t *a = souk_arena_new();
    /* Rounding SIZE_MAX - 3 up to the alignment would wrap to 0 bytes. */
    unsigned char *p = souk_arena_alloc(a, SIZE_MAX - 3);
    p[0] = 1;
}

static void huge_arena_strndup(void)
{
    souk_arena_t *a = souk_arena_new();
    souk_arena_strndup(a, "x", SIZE_MAX);
}

static void test_arena_refuses_overflowing_sizes(void **state)
{
    assert_true(aborts(huge_arena_alloc));
    assert_true(aborts(huge_arena_strndup));
}

static void test_rfc3339(void **state)
{
    char out[SOUK_RFC3339_LEN];
    souk_time_rfc3339(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    souk_time_rfc3339(1767225600123, out);
    assert_string_equal(out, "2026-01-01T00:00:00.123Z");
}

static void test_strerror(void **state)
{
    assert_string_equal(souk_strerror(SOUK_OK), "ok");
    assert_string_equal(souk_strerror(SOUK_ENOTFOUND), "not found");
    assert_string_equal(souk_strerror((souk_err_t)999), "unknown error");
    for (int e = 0; e < SOUK_ERR__COUNT; e++)
        assert_non_null(souk_strerror((souk_err_t)e));
}

static void test_buf_bounded(void **state)
{
    souk_buf_t b;
    souk_buf_init(&b, 10);
    assert_int_equal(souk_buf_append(&b, "hello", 5), SOUK_OK);
    assert_int_equal(souk_buf_appendf(&b, "%d", 1234), SOUK_OK);
    assert_string_equal(b.data, "hello1234");
    assert_int_equal(souk_buf_append(&b, "xx", 2), SOUK_ELIMIT);
    assert_string_equal(b.data, "hello1234"); /* unchanged on failure */
    assert_int_equal(souk_buf_appendf(&b, "%s", "yy"), SOUK_ELIMIT);
    assert_int_equal(souk_buf_append(&b, "z", 1), SOUK_OK);
    size_t len;
    char *s = souk_buf_steal(&b, &len);
    assert_int_equal(len, 10);
    assert_string_equal(s, "hello1234z");
    souk_free(s);
    assert_null(b.data);
    souk_buf_cleanup(&b);
}

static void test_list_split(void **state)
{
    char **l = souk_list_split(" a, b ,,c d,\t, ");
    assert_string_equal(l[0], "a");
    assert_string_equal(l[1], "b");
    assert_string_equal(l[2], "c d");
    assert_null(l[3]);
    souk_list_free(l);
    l = souk_list_split(NULL);
    assert_null(l[0]);
    souk_list_free(l);
    l = souk_list_split(",,");
    assert_null(l[0]);
    souk_list_free(l);
    souk_list_free(NULL);
}

static void test_utf8(void **state)
{
    static const struct {
        const char *s;
        size_t n;
        bool ok;
    } cases[] = {
        {"plain", 5, true},
        {"Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80", 13, true},
        {"\xc3", 1, false},             /* truncated */
        {"\xc0\xaf", 2, false},         /* overlong */
        {"\xed\xa0\x80", 3, false},     /* surrogate */
        {"\xf4\x90\x80\x80", 4, false}, /* above U+10FFFF */
        {"\xff", 1, false},
        {"a\0b", 3, false}, /* NUL */
        {"\x80", 1, false},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++)
        if (souk_utf8_valid(cases[i].s, cases[i].n) != cases[i].ok)
            fail_msg("case %zu", i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_long_table),
        cmocka_unit_test(test_env_getters),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_arena_refuses_overflowing_sizes),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_buf_bounded),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_list_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
