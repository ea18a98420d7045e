/* web.c: the front end at the gateway's root: the files of its build
 * (WEB_DIR, web/dist) and its pages. It answers what reaches the gateway's
 * internal server and no route there claims: a file of the build by its
 * exact path, index.html for a page the application routes itself (a GET
 * that asks for HTML), else a 404 problem. API paths never get here: the
 * edge routes them to their services first. */
#include "gateway.h"

#include <souk/http_static.h>

/* What the front end needs and nothing more (its dialogs inject style
 * elements, hence 'unsafe-inline' for styles only). */
#define WEB_POLICY                                                                                 \
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                    \
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "               \
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

souk_err_t gw_web_load(gateway_t *gw, const char *dir)
{
    souk_http_static_config_t cfg = {
        .root = dir, .immutable_prefix = "/assets/", .html_policy = WEB_POLICY};
    souk_err_t err = souk_http_static_new(&cfg, &gw->web);
    if (err == SOUK_ENOTFOUND) {
        souk_log_info("no front end in %s (make web builds it); / answers 404", dir);
        return SOUK_OK;
    }
    if (err)
        souk_log_error("cannot load the front end from %s: %s", dir, souk_strerror(err));
    return err;
}

void gw_web(souk_http_ctx_t *ctx, void *ud)
{
    gateway_t *gw = ud;
    ctx->route = "web";
    if (souk_http_static_file(ctx, gw->web) || souk_http_static_page(ctx, gw->web))
        return;
    ctx->route = "unmatched";
    souk_http_problem(ctx, 404, "no such resource");
}
