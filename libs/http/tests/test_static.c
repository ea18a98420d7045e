/* Unit tests of souk/http_static.h through a real server: a tiny front-end
 * build in a temporary directory, served by exact path with types, caching,
 * ETags, gzip siblings and the page fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <souk/http_static.h>

static char dir[64];
static souk_http_static_t *st;
static souk_metrics_t *metrics;
static souk_http_server_t *srv;
static souk_http_client_t *client;
static int port;

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void fallback(souk_http_ctx_t *ctx, void *ud)
{
    if (!souk_http_static_file(ctx, st) && !souk_http_static_page(ctx, st))
        souk_http_problem(ctx, 404, "no such resource");
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/souk-static-%d", (int)getpid());
    char sub[96];
    mkdir(dir, 0700);
    snprintf(sub, sizeof(sub), "%s/assets", dir);
    mkdir(sub, 0700);
    put("index.html", "<!doctype html><div id=\"root\"></div>");
    put("index.html.gz", "GZ-INDEX");
    put("assets/app-1a2b.js", "console.log(1)");
    put("assets/app-1a2b.js.gz", "GZ-APP");
    put("favicon.svg", "<svg/>");
    souk_http_static_config_t cfg = {
        .root = dir, .immutable_prefix = "/assets/", .html_policy = "default-src 'self'"};
    assert_int_equal(souk_http_static_new(&cfg, &st), SOUK_OK);
    metrics = souk_metrics_new();
    port = free_port();
    souk_http_config_t hc = {.service = "static", .port = port, .threads = 2, .metrics = metrics};
    assert_int_equal(souk_http_server_new(&hc, &srv), SOUK_OK);
    souk_http_set_fallback(srv, fallback, NULL);
    assert_int_equal(souk_http_server_start(srv), SOUK_OK);
    client = souk_http_client_new();
    return 0;
}

static int teardown(void **state)
{
    souk_http_server_free(srv);
    souk_http_client_free(client);
    souk_metrics_free(metrics);
    souk_http_static_free(st);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

typedef struct {
    long status;
    char body[256];
    char type[96], cache[96], etag[40], encoding[32], csp[64];
} got_t;

static void get(const char *method, const char *path, const char *const *headers, got_t *g)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    souk_http_request_t req = {
        .method = method, .url = url, .headers = headers, .path_as_is = true};
    souk_http_response_t resp;
    memset(g, 0, sizeof(*g));
    assert_int_equal(souk_http_fetch(client, &req, &resp), SOUK_OK);
    g->status = resp.status;
    snprintf(g->body, sizeof(g->body), "%.*s", (int)resp.body.len,
             resp.body.data ? resp.body.data : "");
    souk_http_response_header(&resp, "Content-Type", g->type, sizeof(g->type));
    souk_http_response_header(&resp, "Cache-Control", g->cache, sizeof(g->cache));
    souk_http_response_header(&resp, "ETag", g->etag, sizeof(g->etag));
    souk_http_response_header(&resp, "Content-Encoding", g->encoding, sizeof(g->encoding));
    souk_http_response_header(&resp, "Content-Security-Policy", g->csp, sizeof(g->csp));
    souk_http_response_cleanup(&resp);
}

static void test_files(void **state)
{
    got_t g;
    get("GET", "/", NULL, &g);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "<!doctype html><div id=\"root\"></div>");
    assert_string_equal(g.type, "text/html; charset=utf-8");
    assert_string_equal(g.cache, "no-cache");
    assert_string_equal(g.csp, "default-src 'self'");
    get("GET", "/assets/app-1a2b.js", NULL, &g);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "console.log(1)");
    assert_string_equal(g.type, "text/javascript; charset=utf-8");
    assert_string_equal(g.cache, "public, max-age=31536000, immutable");
    assert_string_equal(g.csp, ""); /* the policy goes with HTML */
    char etag[40];
    snprintf(etag, sizeof(etag), "%s", g.etag);
    char inm[64];
    snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
    get("GET", "/assets/app-1a2b.js", (const char *[]){inm, NULL}, &g);
    assert_int_equal(g.status, 304);
    assert_string_equal(g.body, "");
    get("GET", "/assets/app-1a2b.js", (const char *[]){"Accept-Encoding: gzip, br", NULL}, &g);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "GZ-APP");
    assert_string_equal(g.encoding, "gzip");
    get("GET", "/favicon.svg", NULL, &g);
    assert_string_equal(g.type, "image/svg+xml");
}

static void test_pages_and_misses(void **state)
{
    got_t g;
    const char *html[] = {"Accept: text/html,application/xhtml+xml", NULL};
    get("GET", "/cart", html, &g); /* a page the application routes */
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "<!doctype html><div id=\"root\"></div>");
    get("GET", "/cart", (const char *[]){"Accept: application/json", NULL}, &g);
    assert_int_equal(g.status, 404);
    get("GET", "/assets/gone-1234.js", html, &g); /* a missing file, even asked as HTML */
    assert_int_equal(g.status, 404);
    get("GET", "/orders/42", html, &g);
    assert_int_equal(g.status, 200);
    get("GET", "/index.html.gz", NULL, &g); /* a sibling is no path of its own */
    assert_int_equal(g.status, 404);
    get("GET", "/assets/../index.html", NULL, &g); /* exact paths only */
    assert_int_equal(g.status, 404);
    get("POST", "/", html, &g);
    assert_int_equal(g.status, 404);
}

static void test_missing_root(void **state)
{
    souk_http_static_t *none = NULL;
    souk_http_static_config_t cfg = {.root = "/nonexistent/souk/web/dist"};
    assert_int_equal(souk_http_static_new(&cfg, &none), SOUK_ENOTFOUND);
    assert_null(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_pages_and_misses),
        cmocka_unit_test(test_missing_root),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
