/* routes.c: analytics-service's HTTP handlers (ARCHITECTURE.md §4, reports
 * and recommendations). Reports need the reports:read permission (checked
 * in one function) and answer JSON, or CSV for Accept: text/csv; product
 * recommendations are public, a user's own need their token. */
#include "analytics.h"

#include <souk/svc.h>
#include <string.h>
#include <strings.h>

#define TOP_DEFAULT 10
#define TOP_MAX     100
#define REC_DEFAULT 5
#define REC_MAX     20
#define CSV_MAX     (8 * 1024 * 1024)

bool analytics_may_read_reports(const souk_claims_t *claims)
{
    return souk_claims_can(claims, SOUK_PERM_REPORTS_READ);
}

static bool reader(souk_http_ctx_t *ctx, an_app_t *app)
{
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims))
        return false;
    if (!analytics_may_read_reports(&claims)) {
        souk_http_problem(ctx, 403, "reading reports needs the reports:read permission");
        return false;
    }
    return true;
}

static bool wants_csv(souk_http_ctx_t *ctx)
{
    const char *accept = souk_http_header(ctx, "Accept");
    for (const char *p = accept; p && *p; p++)
        if (strncasecmp(p, "text/csv", 8) == 0)
            return true;
    return false;
}

/* ?name=<integer in [min, max]>, def when absent; errors go to v. */
static long query_long(souk_http_ctx_t *ctx, souk_valid_t *v, const char *name, long def, long min,
                       long max)
{
    const char *s = souk_http_query(ctx, name);
    long out = def;
    if (s && souk_parse_long(s, strlen(s), min, max, &out) != SOUK_OK)
        souk_valid_error(v, name, "must be an integer from %ld to %ld", min, max);
    return out;
}

typedef enum { REPORT_SUMMARY, REPORT_SALES, REPORT_TOP, REPORT_CATEGORIES } report_t;

typedef struct {
    report_t kind;
    an_range_t range;
    const char *interval;
    bool by_revenue;
    long limit;
} report_req_t;

static bool parse_report(souk_http_ctx_t *ctx, report_t kind, report_req_t *r)
{
    souk_valid_t v;
    souk_valid_init(&v);
    *r = (report_req_t){.kind = kind, .interval = "day", .limit = TOP_DEFAULT};
    an_range_parse(&v, souk_http_query(ctx, "from"), souk_http_query(ctx, "to"),
                   (long)(souk_now_unix() / 86400), &r->range);
    if (kind == REPORT_SALES) {
        const char *i = souk_http_query(ctx, "interval");
        if (i && strcmp(i, "day") && strcmp(i, "week") && strcmp(i, "month"))
            souk_valid_error(&v, "interval", "must be day, week or month");
        else if (i)
            r->interval = i;
    }
    if (kind == REPORT_TOP) {
        const char *by = souk_http_query(ctx, "by");
        if (by && strcmp(by, "units") && strcmp(by, "revenue"))
            souk_valid_error(&v, "by", "must be units or revenue");
        r->by_revenue = by && strcmp(by, "revenue") == 0;
        r->limit = query_long(ctx, &v, "limit", TOP_DEFAULT, 1, TOP_MAX);
    }
    bool ok = souk_valid_ok(&v);
    if (!ok)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    return ok;
}

static souk_err_t run_report(souk_db_conn_t *c, const report_req_t *r, json_t **out)
{
    switch (r->kind) {
    case REPORT_SUMMARY:
        return store_summary(c, &r->range, out);
    case REPORT_SALES:
        return store_sales(c, &r->range, r->interval, out);
    case REPORT_TOP:
        return store_top_products(c, &r->range, r->by_revenue, r->limit, out);
    default:
        return store_categories(c, &r->range, out);
    }
}

static void reply_csv(souk_http_ctx_t *ctx, report_t kind, json_t *body)
{
    souk_buf_t out;
    souk_buf_init(&out, CSV_MAX);
    souk_err_t err = kind == REPORT_SUMMARY ? an_csv_summary(body, &out)
                     : kind == REPORT_SALES ? an_csv_sales(body, &out)
                     : kind == REPORT_TOP   ? an_csv_top_products(body, &out)
                                            : an_csv_categories(body, &out);
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_raw(ctx, 200, "text/csv; charset=utf-8", out.data, out.len);
    souk_buf_cleanup(&out);
    json_decref(body);
}

static void report(souk_http_ctx_t *ctx, an_app_t *app, report_t kind)
{
    report_req_t r;
    if (!reader(ctx, app) || !parse_report(ctx, kind, &r))
        return;
    souk_db_conn_t *c = souk_svc_conn(ctx, app->db);
    json_t *body = NULL;
    if (!c)
        return;
    souk_err_t err = run_report(c, &r, &body);
    if (err)
        souk_svc_fail(ctx, err);
    else if (wants_csv(ctx))
        reply_csv(ctx, kind, body);
    else
        souk_http_reply_json(ctx, 200, body);
}

static void do_summary(souk_http_ctx_t *ctx, void *app)
{
    report(ctx, app, REPORT_SUMMARY);
}

static void do_sales(souk_http_ctx_t *ctx, void *app)
{
    report(ctx, app, REPORT_SALES);
}

static void do_top(souk_http_ctx_t *ctx, void *app)
{
    report(ctx, app, REPORT_TOP);
}

static void do_categories(souk_http_ctx_t *ctx, void *app)
{
    report(ctx, app, REPORT_CATEGORIES);
}

/* ?limit of recommendations; replies 400 and returns -1 when bad. */
static long rec_limit(souk_http_ctx_t *ctx)
{
    souk_valid_t v;
    souk_valid_init(&v);
    long limit = query_long(ctx, &v, "limit", REC_DEFAULT, 1, REC_MAX);
    bool ok = souk_valid_ok(&v);
    if (!ok)
        souk_valid_reply(ctx, &v);
    souk_valid_cleanup(&v);
    return ok ? limit : -1;
}

static void reply_recommendations(souk_http_ctx_t *ctx, souk_err_t err, const char *strategy,
                                  json_t *items)
{
    if (err)
        souk_svc_fail(ctx, err);
    else
        souk_http_reply_json(ctx, 200,
                             json_pack("{s:s, s:o}", "strategy", strategy, "items", items));
}

static void do_product_recommendations(souk_http_ctx_t *ctx, void *ud)
{
    an_app_t *app = ud;
    const char *id = souk_svc_uuid_param(ctx, "id");
    long limit = id ? rec_limit(ctx) : -1;
    souk_db_conn_t *c = limit > 0 ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    const char *strategy = NULL;
    json_t *items = NULL;
    souk_err_t err = store_recommend_product(c, id, limit, &strategy, &items);
    reply_recommendations(ctx, err, strategy, items);
}

static void do_my_recommendations(souk_http_ctx_t *ctx, void *ud)
{
    an_app_t *app = ud;
    souk_claims_t claims;
    if (!souk_auth_require(ctx, app->verifier, 0, &claims))
        return;
    long limit = rec_limit(ctx);
    souk_db_conn_t *c = limit > 0 ? souk_svc_conn(ctx, app->db) : NULL;
    if (!c)
        return;
    const char *strategy = NULL;
    json_t *items = NULL;
    souk_err_t err = store_recommend_user(c, claims.sub, limit, &strategy, &items);
    reply_recommendations(ctx, err, strategy, items);
}

void an_routes_register(souk_http_server_t *srv, void *app)
{
    souk_http_route(srv, "GET", "/reports/summary", do_summary, app);
    souk_http_route(srv, "GET", "/reports/sales", do_sales, app);
    souk_http_route(srv, "GET", "/reports/top-products", do_top, app);
    souk_http_route(srv, "GET", "/reports/categories", do_categories, app);
    souk_http_route(srv, "GET", "/products/:id/recommendations", do_product_recommendations, app);
    souk_http_route(srv, "GET", "/me/recommendations", do_my_recommendations, app);
}
