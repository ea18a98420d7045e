/* graphql_ui.c: GraphiQL at GET /graphql for a browser, and the SDL at GET
 * /graphql/schema.graphql. GraphiQL's files are npm's (graphiql's UMD build
 * with React's, installed under docs/node_modules by scripts/deps, never a
 * CDN), read into memory once at start from GRAPHIQL_DIR; the page and its
 * start-up script are ours, so the page needs no inline script and runs
 * under a strict Content-Security-Policy (scripts and connections to this
 * origin only; inline styles, which GraphiQL's dialogs inject, are the one
 * allowance). Only the fixed file names below are served. */
#include "graphql_gw.h"

#include <stdio.h>
#include <string.h>

#define MAX_FILE (8u << 20)

#define JS  "text/javascript; charset=utf-8"
#define CSS "text/css; charset=utf-8"

#define UI_POLICY                                                                                  \
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "                    \
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "           \
    "form-action 'none'; frame-ancestors 'none'"

/* Served name, path under GRAPHIQL_DIR (NULL: ours, below), type. */
static const struct {
    const char *name, *path, *type;
} files[] = {
    {"graphiql.min.css", "graphiql/graphiql.min.css", CSS},
    {"graphiql.min.js", "graphiql/graphiql.min.js", JS},
    {"react.production.min.js", "react/umd/react.production.min.js", JS},
    {"react-dom.production.min.js", "react-dom/umd/react-dom.production.min.js", JS},
    {"souk-graphiql.js", NULL, JS},
    {"souk-graphiql.css", NULL, CSS},
};

#define NFILES SOUK_ARRAY_LEN(files)

static const char page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>souk GraphQL</title><link rel=\"icon\" href=\"data:,\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<link rel=\"stylesheet\" href=\"/graphql/ui/graphiql.min.css\">"
    "<link rel=\"stylesheet\" href=\"/graphql/ui/souk-graphiql.css\"></head>\n"
    "<body><div id=\"graphiql\">Loading GraphiQL&hellip;</div>\n"
    "<script src=\"/graphql/ui/react.production.min.js\"></script>\n"
    "<script src=\"/graphql/ui/react-dom.production.min.js\"></script>\n"
    "<script src=\"/graphql/ui/graphiql.min.js\"></script>\n"
    "<script src=\"/graphql/ui/souk-graphiql.js\"></script>\n"
    "</body></html>\n";

static const char start_css[] = "html, body, #graphiql { height: 100%; margin: 0; }\n";

/* GraphiQL on this gateway's /graphql; the token goes in the headers tab. */
static const char start_js[] =
    "/* souk: GraphiQL against this gateway's POST /graphql. */\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var query = [\n"
    "    '# souk\\'s GraphQL API. Public fields answer without a login; for the rest,',\n"
    "    '# log in (the login mutation, or POST /auth/login) and put',\n"
    "    '#   {\"Authorization\": \"Bearer <accessToken>\"}',\n"
    "    '# in the Headers tab below. The schema: Docs (the book icon), or',\n"
    "    '# GET /graphql/schema.graphql.',\n"
    "    '',\n"
    "    'query Catalog {',\n"
    "    '  products(limit: 5, sort: PRICE) {',\n"
    "    '    total',\n"
    "    '    items { id name priceCents currency stock }',\n"
    "    '  }',\n"
    "    '}',\n"
    "    ''\n"
    "  ].join('\\n');\n"
    "  var fetcher = GraphiQL.createFetcher({ url: '/graphql', enableIncrementalDelivery: false "
    "});\n"
    "  ReactDOM.createRoot(document.getElementById('graphiql')).render(\n"
    "    React.createElement(GraphiQL, { fetcher: fetcher, defaultQuery: query,\n"
    "                                    defaultEditorToolsVisibility: true }));\n"
    "})();\n";

struct gw_graphql_ui {
    char *data[NFILES];
    size_t len[NFILES];
};

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    souk_buf_t buf;
    char chunk[65536];
    size_t n;
    souk_err_t err = SOUK_OK;
    if (!f)
        return NULL;
    souk_buf_init(&buf, MAX_FILE);
    while (err == SOUK_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        err = souk_buf_append(&buf, chunk, n);
    bool bad = ferror(f) || err != SOUK_OK || buf.len == 0;
    fclose(f);
    if (bad) {
        souk_buf_cleanup(&buf);
        return NULL;
    }
    return souk_buf_steal(&buf, len);
}

gw_graphql_ui_t *gw_graphql_ui_load(const char *dir)
{
    gw_graphql_ui_t *ui = souk_calloc(1, sizeof(*ui));
    for (size_t i = 0; i < NFILES; i++) {
        char path[1024];
        if (!files[i].path) {
            const char *text =
                strcmp(files[i].name, "souk-graphiql.js") == 0 ? start_js : start_css;
            ui->len[i] = strlen(text);
            ui->data[i] = souk_strdup(text);
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir ? dir : "", files[i].path);
        if (!dir || !(ui->data[i] = slurp(path, &ui->len[i]))) {
            souk_log_info("graphql: GraphiQL is not served (%s%s); the API is",
                          dir ? "missing: " : "GRAPHIQL_DIR is not set", dir ? path : "");
            gw_graphql_ui_free(ui);
            return NULL;
        }
    }
    return ui;
}

void gw_graphql_ui_free(gw_graphql_ui_t *ui)
{
    if (!ui)
        return;
    for (size_t i = 0; i < NFILES; i++)
        souk_free(ui->data[i]);
    souk_free(ui);
}

static void hardening(souk_http_ctx_t *ctx)
{
    souk_http_set_header(ctx, "X-Content-Type-Options", "nosniff");
    souk_http_set_header(ctx, "Referrer-Policy", "no-referrer");
}

void gw_graphql_ui_page(souk_http_ctx_t *ctx, const gw_graphql_ui_t *ui)
{
    if (!ui) {
        souk_http_problem(ctx, 404, "GraphiQL is not installed here; POST GraphQL to /graphql");
        return;
    }
    hardening(ctx);
    souk_http_set_header(ctx, "Content-Security-Policy", UI_POLICY);
    souk_http_set_header(ctx, "Cache-Control", "no-cache");
    souk_http_reply_raw(ctx, 200, "text/html; charset=utf-8", page, sizeof(page) - 1);
}

void gw_graphql_ui_file(souk_http_ctx_t *ctx, void *ud)
{
    const gw_graphql_ui_t *ui = ((gateway_t *)ud)->graphql->ui;
    const char *name = souk_http_param(ctx, "file");
    for (size_t i = 0; ui && name && i < NFILES; i++) {
        if (strcmp(files[i].name, name) != 0)
            continue;
        hardening(ctx);
        souk_http_set_header(ctx, "Cache-Control", "public, max-age=3600");
        souk_http_reply_raw(ctx, 200, files[i].type, ui->data[i], ui->len[i]);
        return;
    }
    souk_http_problem(ctx, 404, "no such file");
}

void gw_graphql_sdl(souk_http_ctx_t *ctx, void *ud)
{
    (void)ud;
    souk_http_set_header(ctx, "Cache-Control", "no-cache");
    souk_http_reply_raw(ctx, 200, "text/plain; charset=utf-8", souk_gql_sdl, strlen(souk_gql_sdl));
}
