/* Unit tests of the gateway's pure parts: the route table (who may pass where)
 * and the token bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include "../src/gateway.h"

static void test_rules(void **state)
{
    static const struct {
        const char *method, *path;
        int upstream; /* -1: no route */
        access_t access;
    } cases[] = {
        {"POST", "/auth/login", UP_AUTH, ACCESS_PUBLIC},
        {"POST", "/auth/register", UP_AUTH, ACCESS_PUBLIC},
        {"GET", "/auth/login", UP_AUTH, ACCESS_PUBLIC}, /* upstream answers 405 */
        {"GET", "/auth/me", UP_AUTH, ACCESS_USER},
        {"GET", "/auth/loginx", -1, 0},
        {"GET", "/auth/nope", -1, 0},
        {"GET", "/.well-known/nope", -1, 0},
        {"GET", "/users/", UP_AUTH, ACCESS_ADMIN},
        {"GET", "/users/abc/def", -1, 0},
        {"GET", "/orders//cancel", -1, 0},
        {"POST", "/orders/1/cancel/", UP_ORDER, ACCESS_USER},
        {"GET", "/.well-known/jwks.json", UP_AUTH, ACCESS_PUBLIC},
        {"GET", "/users", UP_AUTH, ACCESS_ADMIN},
        {"GET", "/users/abc", UP_AUTH, ACCESS_USER},
        {"PATCH", "/users/abc", UP_AUTH, ACCESS_USER},
        {"GET", "/products", UP_PRODUCT, ACCESS_PUBLIC},
        {"GET", "/products/1", UP_PRODUCT, ACCESS_PUBLIC},
        {"POST", "/products", UP_PRODUCT, ACCESS_ADMIN},
        {"DELETE", "/products/1", UP_PRODUCT, ACCESS_ADMIN},
        {"GET", "/orders", UP_ORDER, ACCESS_USER},
        {"POST", "/orders/1/cancel", UP_ORDER, ACCESS_USER},
        {"GET", "/productsx", -1, 0},
        {"GET", "/nope", -1, 0},
        {"GET", "/", -1, 0},
        {"GET", "/usersx", -1, 0},
    };
    souk_router_t *rules = gw_rules_new();
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        const gw_rule_t *r = gw_rule_match(rules, cases[i].method, cases[i].path);
        if (cases[i].upstream < 0) {
            if (r)
                fail_msg("%s %s should not route", cases[i].method, cases[i].path);
            continue;
        }
        if (!r || (int)r->upstream != cases[i].upstream || r->access != cases[i].access)
            fail_msg("%s %s routed wrong", cases[i].method, cases[i].path);
    }
    souk_router_free(rules);
}

static void test_ratelimit(void **state)
{
    assert_null(gw_ratelimit_new(0, 10));
    gw_ratelimit_t *rl = gw_ratelimit_new(1, 3); /* 1/s, burst 3 */
    long retry = 0;
    for (int i = 0; i < 3; i++)
        assert_true(gw_ratelimit_take(rl, "10.0.0.1", &retry));
    assert_false(gw_ratelimit_take(rl, "10.0.0.1", &retry));
    assert_true(retry >= 1);
    assert_true(gw_ratelimit_take(rl, "10.0.0.2", &retry)); /* clients are separate */
    nanosleep(&(struct timespec){1, 100 * 1000000L}, NULL); /* let one token refill */
    assert_true(gw_ratelimit_take(rl, "10.0.0.1", &retry));
    assert_false(gw_ratelimit_take(rl, "10.0.0.1", &retry));
    gw_ratelimit_free(rl);
}

typedef struct {
    gw_ratelimit_t *rl;
    const char *client;
    int taken;
} hammer_t;

static void *hammer(void *p)
{
    hammer_t *h = p;
    long retry;
    for (int i = 0; i < 20000; i++)
        h->taken += gw_ratelimit_take(h->rl, h->client, &retry);
    return NULL;
}

/* Under threads the bucket never hands out more than burst + rate x time,
 * and clients in other slots are not starved by a hammered one. */
static void test_ratelimit_threads(void **state)
{
    gw_ratelimit_t *rl = gw_ratelimit_new(10, 50);
    enum { N = 8 };
    hammer_t h[N];
    pthread_t t[N];
    uint64_t t0 = souk_now_mono_ns();
    for (int i = 0; i < N; i++) {
        h[i] = (hammer_t){rl, i < N - 1 ? "192.0.2.1" : "192.0.2.99", 0};
        pthread_create(&t[i], NULL, hammer, &h[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    double secs = (double)(souk_now_mono_ns() - t0) / 1e9;
    int shared = 0;
    for (int i = 0; i < N - 1; i++)
        shared += h[i].taken;
    assert_true(shared >= 50);
    assert_true(shared <= 50 + (int)(10 * secs) + 1);
    assert_true(h[N - 1].taken >= 50); /* the other client had its own bucket */
    gw_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_ratelimit_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
