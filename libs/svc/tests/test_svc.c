/* Unit tests of the service skeleton's hooks for a second engine: an
 * internal HTTP server on an ephemeral loopback port that believes
 * X-Forwarded-For from the loopback, the start hook run once it listens,
 * and the stop hook run on SIGTERM (and after a failed start). No database,
 * verifier or bus: the skeleton builds only what a definition asks for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <souk/svc.h>

typedef struct {
    int port;
    char client_ip[64];
    long status;
    bool fail_start, stopped, cleaned;
    int order; /* 1: start, 2: stop, 3: cleanup */
} app_t;

static void hello(souk_http_ctx_t *ctx, void *ud)
{
    souk_http_reply_raw(ctx, 200, "text/plain", ctx->client_ip, strlen(ctx->client_ip));
}

static void routes(souk_http_server_t *srv, void *app)
{
    souk_http_route(srv, "GET", "/hello", hello, app);
}

static souk_err_t start(souk_svc_t *svc, void *p)
{
    app_t *app = p;
    app->order = 1;
    app->port = souk_http_server_port(svc->http);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", app->port);
    const char *headers[] = {"X-Forwarded-For: 192.0.2.7", NULL};
    souk_http_request_t req = {.url = url, .headers = headers};
    souk_http_response_t resp;
    if (souk_http_fetch(svc->client, &req, &resp) == SOUK_OK) {
        app->status = resp.status;
        snprintf(app->client_ip, sizeof(app->client_ip), "%s",
                 resp.body.data ? resp.body.data : "");
    }
    souk_http_response_cleanup(&resp);
    if (app->fail_start)
        return SOUK_EIO;
    kill(getpid(), SIGTERM); /* blocked, so it waits for the skeleton's sigwait */
    return SOUK_OK;
}

static void stop(void *p)
{
    app_t *app = p;
    app->stopped = app->order == 1;
    app->order = 2;
}

static void cleanup(void *p)
{
    app_t *app = p;
    app->cleaned = app->order == 2;
    app->order = 3;
}

static const souk_svc_def_t def = {.name = "svc-test",
                                   .port_env = "SVC_TEST_PORT",
                                   .port = 1, /* not used: the server is internal */
                                   .internal_http = true,
                                   .routes = routes,
                                   .start = start,
                                   .stop = stop,
                                   .cleanup = cleanup};

static void test_internal_server_and_hooks(void **state)
{
    app_t app = {0};
    assert_int_equal(souk_svc_main(&def, &app), 0);
    assert_true(app.port > 1);
    assert_int_equal(app.status, 200);
    assert_string_equal(app.client_ip, "192.0.2.7"); /* the loopback proxy is believed */
    assert_true(app.stopped);
    assert_true(app.cleaned);
}

static void test_failed_start_still_stops(void **state)
{
    app_t app = {.fail_start = true};
    assert_int_equal(souk_svc_main(&def, &app), 1);
    assert_int_equal(app.status, 200);
    assert_true(app.stopped);
    assert_true(app.cleaned);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_internal_server_and_hooks),
        cmocka_unit_test(test_failed_start_still_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
