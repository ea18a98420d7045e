/* Unit tests of the gateway's pure parts: the route table (who may pass
 * where: permissions, never roles), the decisions with real tokens, and the
 * token bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "../src/gateway.h"

#define PUB  -1 /* public */
#define USER 0  /* any valid token */

static void test_rules(void **state)
{
    static const struct {
        const char *method, *path;
        int upstream; /* -1: no route */
        long perms;   /* PUB, USER, or the SOUK_PERM_* bits required */
    } cases[] = {
        {"POST", "/auth/login", UP_AUTH, PUB},
        {"POST", "/auth/register", UP_AUTH, PUB},
        {"GET", "/auth/login", UP_AUTH, PUB}, /* upstream answers 405 */
        {"GET", "/auth/me", UP_AUTH, USER},
        {"GET", "/auth/roles", UP_AUTH, USER},
        {"GET", "/auth/providers", UP_AUTH, PUB},
        {"GET", "/auth/oauth/google/authorize", UP_AUTH, PUB},
        {"GET", "/auth/oauth/google/callback", UP_AUTH, PUB},
        {"POST", "/auth/oauth/exchange", UP_AUTH, PUB},
        {"GET", "/auth/oauth/google", -1, 0},
        {"POST", "/auth/clients", UP_AUTH, SOUK_PERM_CLIENTS_WRITE},
        {"GET", "/auth/clients", UP_AUTH, SOUK_PERM_CLIENTS_WRITE},
        {"DELETE", "/auth/clients/abc", UP_AUTH, SOUK_PERM_CLIENTS_WRITE},
        {"POST", "/oauth/token", UP_AUTH, PUB},
        {"GET", "/audit", UP_AUTH, SOUK_PERM_AUDIT_READ},
        {"GET", "/.well-known/oauth-authorization-server", UP_AUTH, PUB},
        {"GET", "/auth/loginx", -1, 0},
        {"GET", "/auth/nope", -1, 0},
        {"GET", "/.well-known/nope", -1, 0},
        {"GET", "/users/", UP_AUTH, SOUK_PERM_USERS_READ},
        {"GET", "/users/abc/def", -1, 0},
        {"GET", "/orders//cancel", -1, 0},
        {"POST", "/orders/1/cancel/", UP_ORDER, USER},
        {"GET", "/.well-known/jwks.json", UP_AUTH, PUB},
        {"GET", "/users", UP_AUTH, SOUK_PERM_USERS_READ},
        {"GET", "/users/abc", UP_AUTH, USER},
        {"PATCH", "/users/abc", UP_AUTH, USER},
        {"GET", "/products", UP_PRODUCT, PUB},
        {"GET", "/products/1", UP_PRODUCT, PUB},
        {"POST", "/products", UP_PRODUCT, SOUK_PERM_PRODUCTS_WRITE},
        {"DELETE", "/products/1", UP_PRODUCT, SOUK_PERM_PRODUCTS_WRITE},
        {"GET", "/orders", UP_ORDER, USER},
        {"POST", "/orders/1/cancel", UP_ORDER, USER},
        {"GET", "/reports/summary", UP_ANALYTICS, SOUK_PERM_REPORTS_READ},
        {"GET", "/notifications/deliveries", UP_NOTIFICATION, SOUK_PERM_USERS_WRITE},
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
        bool pub = cases[i].perms == PUB;
        if (!r || (int)r->upstream != cases[i].upstream || r->access.token == pub ||
            (!pub && r->access.perms != (unsigned)cases[i].perms))
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

static souk_metrics_t *decide_metrics;

/* A gateway with its route table, limits and CORS, but no network: the
 * verifier has no keys, auth is deployed, order is not. */
static gateway_t *decide_gateway(void)
{
    static char *origins[] = {"https://shop.example", NULL};
    gateway_t *gw = souk_calloc(1, sizeof(*gw));
    decide_metrics = souk_metrics_new();
    static const char *const scope[] = {"scope", NULL};
    gw->rate_limited = souk_metrics_counter(decide_metrics, "rl", "x", scope);
    gw->rules = gw_rules_new();
    gw->ratelimit = gw_ratelimit_new(1000, 1000);
    gw->credential_limit = gw_ratelimit_new(1, 2);
    gw->cors_origins = origins;
    for (int i = 0; i < UP__COUNT; i++)
        gw->upstreams[i].name = i == UP_AUTH ? "auth" : i == UP_ORDER ? "order" : "other";
    gw->upstreams[UP_AUTH].base_url = "http://127.0.0.1:1";
    gw->upstreams[UP_PRODUCT].base_url = "http://127.0.0.1:2";
    souk_jwt_verifier_config_t vc = {.issuer = "souk-auth", .audience = "souk"};
    assert_int_equal(souk_jwt_verifier_new(&vc, &gw->verifier), SOUK_OK);
    return gw;
}

static void decide_free(gateway_t *gw)
{
    souk_jwt_verifier_free(gw->verifier);
    gw_ratelimit_free(gw->ratelimit);
    gw_ratelimit_free(gw->credential_limit);
    souk_router_free(gw->rules);
    souk_metrics_free(decide_metrics);
    souk_free(gw);
}

static const char *header(const gw_decision_t *d, const char *name)
{
    for (size_t i = 0; i < d->nheaders; i++)
        if (strcmp(d->headers[i][0], name) == 0)
            return d->headers[i][1];
    return NULL;
}

/* The edge's decisions, without an engine. */
static void test_decide(void **state)
{
    gateway_t *gw = decide_gateway();
    gw_decision_t d;
    static const struct {
        gw_request_t req;
        gw_action_t action;
        int status; /* GW_REPLY */
        const char *route;
    } cases[] = {
        {{.method = "GET", .path = "/products/1", .client_ip = "10.0.0.1"},
         GW_FORWARD,
         0,
         "/products/:id"},
        {{.method = "GET", .path = "/healthz", .client_ip = "10.0.0.1"},
         GW_INTERNAL,
         0,
         "unmatched"},
        {{.method = "GET", .path = "/me/overview", .client_ip = "10.0.0.1"},
         GW_INTERNAL,
         0,
         "unmatched"},
        {{.method = "GET", .path = "/users/%2e%2E", .client_ip = "10.0.0.1"},
         GW_REPLY,
         400,
         "dot_segments"},
        {{.method = "GET", .path = "/auth/me", .client_ip = "10.0.0.1"}, GW_REPLY, 401, "/auth/me"},
        {{.method = "GET", .path = "/auth/me", .client_ip = "10.0.0.1", .bearer = "not.a.token"},
         GW_REPLY,
         401,
         "/auth/me"},
        {{.method = "GET", .path = "/orders", .client_ip = "10.0.0.1", .bearer = "x"},
         GW_REPLY,
         401,
         "/orders"},
        {{.method = "POST",
          .path = "/auth/register",
          .client_ip = "10.0.0.2",
          .content_type = "text/plain",
          .body_len = 3},
         GW_REPLY,
         415,
         "/auth/register"},
        {{.method = "POST",
          .path = "/auth/register",
          .client_ip = "10.0.0.2",
          .content_type = "application/json",
          .body_len = 3},
         GW_FORWARD,
         0,
         "/auth/register"},
        {{.method = "POST", .path = "/auth/login", .client_ip = "10.0.0.2"},
         GW_REPLY,
         429,
         "rate_limited"}, /* burst 2 */
        {{.method = "OPTIONS",
          .path = "/products",
          .client_ip = "10.0.0.3",
          .origin = "https://evil.example",
          .preflight_method = "POST"},
         GW_REPLY,
         403,
         "cors_preflight"},
        {{.method = "OPTIONS",
          .path = "/products",
          .client_ip = "10.0.0.3",
          .origin = "https://shop.example",
          .preflight_method = "POST"},
         GW_REPLY,
         204,
         "cors_preflight"},
    };
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        gw_decide(gw, &cases[i].req, &d);
        if (d.action != cases[i].action || (d.action == GW_REPLY && d.status != cases[i].status) ||
            strcmp(d.route, cases[i].route) != 0)
            fail_msg("case %zu (%s %s): action %d status %d route %s", i, cases[i].req.method,
                     cases[i].req.path, d.action, d.status, d.route);
    }
    /* the last answers carry their headers */
    assert_string_equal(header(&d, "Access-Control-Allow-Origin"), "https://shop.example");
    assert_non_null(header(&d, "Access-Control-Allow-Methods"));
    gw_request_t login = {.method = "POST", .path = "/auth/login", .client_ip = "10.0.0.2"};
    gw_decide(gw, &login, &d);
    assert_int_equal(d.status, 429);
    assert_true(header(&d, "Retry-After") && strspn(header(&d, "Retry-After"), "0123456789") > 0);
    /* an upstream that is not deployed, once past the token check */
    gw->upstreams[UP_PRODUCT].base_url = NULL;
    gw_request_t get = {.method = "GET", .path = "/products", .client_ip = "10.0.0.4"};
    gw_decide(gw, &get, &d);
    assert_int_equal(d.status, 503);
    assert_string_equal(d.detail, "the other service is not deployed");
    /* probes are never limited */
    gw_ratelimit_free(gw->ratelimit);
    gw->ratelimit = gw_ratelimit_new(1, 1);
    gw_request_t probe = {.method = "GET", .path = "/readyz", .client_ip = "10.0.0.5"};
    for (int i = 0; i < 5; i++) {
        gw_decide(gw, &probe, &d);
        assert_int_equal(d.action, GW_INTERNAL);
    }
    decide_free(gw);
}

/* A token of the test's own signer (the verifier holds its key). */
static char *token_for(souk_jwt_signer_t *signer, unsigned roles, unsigned scope, bool client)
{
    souk_claims_t c = {.roles = roles, .scope = scope, .client = client};
    souk_uuid_v4(c.sub);
    snprintf(c.email, sizeof(c.email), "%s", client ? "" : "t@example.com");
    char *t = NULL;
    assert_int_equal(souk_jwt_issue(signer, &c, &t), SOUK_OK);
    return t;
}

/* Routes ask for permissions: a role's, or a scope's; never a role name. */
static void test_decide_permissions(void **state)
{
    gateway_t *gw = decide_gateway();
    gw->upstreams[UP_ORDER].base_url = "http://127.0.0.1:3";
    gw->upstreams[UP_ANALYTICS].base_url = "http://127.0.0.1:4";
    char path[64];
    snprintf(path, sizeof(path), "/tmp/souk-gw-test-key-%d.pem", (int)getpid());
    unlink(path);
    souk_jwt_signer_config_t sc = {
        .path = path, .generate = true, .issuer = "souk-auth", .audience = "souk", .ttl_s = 900};
    souk_jwt_signer_t *signer = NULL;
    assert_int_equal(souk_jwt_signer_new(&sc, &signer), SOUK_OK);
    json_t *jwks = souk_jwt_signer_jwks(signer);
    assert_int_equal(souk_jwt_verifier_set_jwks(gw->verifier, jwks), SOUK_OK);
    json_decref(jwks);
    char *customer = token_for(signer, SOUK_ROLE_CUSTOMER, 0, false);
    char *catalog = token_for(signer, SOUK_ROLE_CUSTOMER | SOUK_ROLE_CATALOG, 0, false);
    char *support = token_for(signer, SOUK_ROLE_CUSTOMER | SOUK_ROLE_SUPPORT, 0, false);
    char *analyst = token_for(signer, SOUK_ROLE_CUSTOMER | SOUK_ROLE_ANALYST, 0, false);
    char *admin = token_for(signer, SOUK_ROLE_CUSTOMER | SOUK_ROLE_ADMIN, 0, false);
    char *reader = token_for(signer, 0, SOUK_PERM_ORDERS_READ_ANY, true);
    char *scoped = token_for(signer, SOUK_ROLE_CUSTOMER, SOUK_PERM_REPORTS_READ, false);
    const struct {
        const char *method, *path, *bearer;
        int status; /* 0: forwarded */
    } cases[] = {
        {"POST", "/products", customer, 403},
        {"POST", "/products", catalog, 0},
        {"DELETE", "/products/1", support, 403},
        {"PATCH", "/products/1", admin, 0},
        {"GET", "/users", catalog, 403},
        {"GET", "/users", support, 0},
        {"GET", "/users", customer, 403},
        {"GET", "/reports/summary", analyst, 0},
        {"GET", "/reports/summary", support, 403},
        {"GET", "/reports/summary", scoped, 0}, /* the scope claim adds it */
        {"GET", "/audit", support, 403},
        {"GET", "/audit", admin, 0},
        {"POST", "/auth/clients", analyst, 403},
        {"POST", "/auth/clients", admin, 0},
        {"GET", "/orders", reader, 0},
        {"POST", "/products", reader, 403},
        {"GET", "/users", reader, 403},
    };
    gw_decision_t d;
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        gw_request_t r = {.method = cases[i].method,
                          .path = cases[i].path,
                          .client_ip = "10.0.1.1",
                          .bearer = cases[i].bearer};
        gw_decide(gw, &r, &d);
        bool ok = cases[i].status ? d.action == GW_REPLY && d.status == cases[i].status
                                  : d.action == GW_FORWARD;
        if (!ok)
            fail_msg("case %zu (%s %s): action %d status %d", i, cases[i].method, cases[i].path,
                     d.action, d.status);
    }
    /* the token endpoint takes form bodies, and only those */
    gw_request_t form = {.method = "POST",
                         .path = "/oauth/token",
                         .client_ip = "10.0.1.2",
                         .content_type = "application/x-www-form-urlencoded",
                         .body_len = 10};
    gw_decide(gw, &form, &d);
    assert_int_equal(d.action, GW_FORWARD);
    form.content_type = "application/json";
    form.client_ip = "10.0.1.3";
    gw_decide(gw, &form, &d);
    assert_int_equal(d.status, 415);
    char *all[] = {customer, catalog, support, analyst, admin, reader, scoped};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(all); i++)
        souk_free(all[i]);
    souk_jwt_signer_free(signer);
    unlink(path);
    decide_free(gw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_ratelimit),
        cmocka_unit_test(test_ratelimit_threads),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_decide_permissions),
    };
    if (souk_auth_init() != SOUK_OK)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
