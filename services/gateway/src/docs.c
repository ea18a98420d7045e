/* docs.c: the API description at the edge: /openapi.json (docs/openapi.yaml,
 * converted and embedded at build time) and Swagger UI at /docs (the static
 * files of swagger-ui-dist, read from DOCS_DIR). Only plain file names inside
 * that one directory are served. */
#include "gateway.h"

#include <stdio.h>
#include <string.h>

#define MAX_ASSET (16u << 20)

static const char index_html[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>souk API</title>"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css\"></head>\n"
    "<body><div id=\"swagger-ui\"></div>\n"
    "<script src=\"/docs/swagger-ui-bundle.js\"></script>\n"
    "<script>window.ui = SwaggerUIBundle({url: \"/openapi.json\", dom_id: \"#swagger-ui\","
    " persistAuthorization: true, tryItOutEnabled: true});</script>\n"
    "</body></html>\n";

void gw_openapi(souk_http_ctx_t *ctx, void *ud)
{
    gateway_t *gw = ud;
    souk_http_set_header(ctx, "Cache-Control", "no-cache");
    souk_http_reply_raw(ctx, 200, "application/json", gw->openapi_json, strlen(gw->openapi_json));
}

void gw_docs_index(souk_http_ctx_t *ctx, void *ud)
{
    souk_http_reply_raw(ctx, 200, "text/html; charset=utf-8", index_html, sizeof(index_html) - 1);
}

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".js", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".html", "text/html; charset=utf-8"},
                 {".png", "image/png"},
                 {".map", "application/json"},
                 {".json", "application/json"}};
    size_t n = strlen(name);
    for (size_t i = 0; i < SOUK_ARRAY_LEN(types); i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcmp(name + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL;
}

static bool plain_name(const char *name)
{
    return name[0] != '.' && strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789._-") == strlen(name);
}

void gw_docs_asset(souk_http_ctx_t *ctx, void *ud)
{
    gateway_t *gw = ud;
    const char *name = souk_http_param(ctx, "file");
    const char *type = content_type(name);
    if (!gw->docs_dir || !plain_name(name) || !type) {
        souk_http_problem(ctx, 404, "no such file");
        return;
    }
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", gw->docs_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        souk_http_problem(ctx, 404, "no such file");
        return;
    }
    souk_buf_t buf;
    souk_buf_init(&buf, MAX_ASSET);
    char chunk[65536];
    size_t n;
    souk_err_t err = SOUK_OK;
    while (err == SOUK_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        err = souk_buf_append(&buf, chunk, n);
    fclose(f);
    if (err) {
        souk_http_problem(ctx, 500, "file too large");
    } else {
        souk_http_set_header(ctx, "Cache-Control", "public, max-age=3600");
        souk_http_reply_raw(ctx, 200, type, buf.data, buf.len);
    }
    souk_buf_cleanup(&buf);
}
