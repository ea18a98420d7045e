/* server.c: the ulfius/libmicrohttpd server and the middleware chain every
 * request passes through, in order: request id, trace context, client
 * address, method (501 for one outside the fixed set), framing (400 for
 * Transfer-Encoding with Content-Length), body limit, query string, hook
 * (CORS, rate limits), routing (404/405), content type, handler, then the
 * access log line and metrics. ulfius' own router is not used: a single
 * catch-all endpoint hands every request to dispatch(), so 404 vs 405 and the
 * route label of metrics are decided in one place (router.c). */
#include "http_int.h"

#include <arpa/inet.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define REQUEST_ID_MAX 128

static const char *const req_labels[] = {"service", "method", "route", "status", NULL};
static const char *const dur_labels[] = {"service", "method", "route", NULL};
static const char *const svc_labels[] = {"service", NULL};

/* The methods souk serves; anything else is answered 501 before routing and
 * counted as OTHER, so invented methods cannot mint metric series. */
static const char *const known_methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                            "PATCH", "DELETE", "OPTIONS"};

const char *souk_http_method_label(const char *m, size_t len)
{
    for (size_t i = 0; i < SOUK_ARRAY_LEN(known_methods); i++)
        if (strlen(known_methods[i]) == len && memcmp(m, known_methods[i], len) == 0)
            return known_methods[i];
    return SOUK_METRIC_OTHER;
}

bool souk_http_request_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

const char *souk_http_request_id(const char *received, souk_arena_t *arena)
{
    if (received && souk_http_request_id_ok(received, strlen(received)))
        return received;
    char *id = souk_arena_alloc(arena, SOUK_UUID_STRLEN + 1);
    souk_uuid_v4(id);
    return id;
}

static void ctx_init(souk_http_ctx_t *ctx, souk_http_server_t *srv, const struct _u_request *req,
                     struct _u_response *res)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->arena = souk_arena_new();
    ctx->srv = srv;
    ctx->ureq = req;
    ctx->ures = res;
    ctx->method = souk_http_method_label(req->http_verb, strlen(req->http_verb));
    ctx->path = req->url_path;
    ctx->url = req->http_url;
    ctx->route = "unmatched";
    ctx->body = req->binary_body_length ? req->binary_body : NULL;
    ctx->body_len = req->binary_body_length;

    ctx->request_id = souk_http_request_id(souk_http_header(ctx, "X-Request-Id"), ctx->arena);
    souk_span_start(&ctx->span, SOUK_SPAN_SERVER, req->http_verb, NULL,
                    souk_http_header(ctx, "traceparent"));
    ctx->trace = ctx->span.ctx;

    char ip[INET6_ADDRSTRLEN];
    souk_http__client_address(srv, req->client_address,
                              srv->nproxies ? souk_http_header(ctx, "X-Forwarded-For") : NULL, ip);
    ctx->client_ip = souk_arena_strdup(ctx->arena, ip);
}

bool souk_http_content_type_json(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    return n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0 &&
           strncasecmp(ct, "application/", 12) == 0;
}

/* Bodies are JSON everywhere; anything else is refused before a handler
 * sees it. A body-less request needs no content type. */
static bool content_type_ok(const souk_http_ctx_t *ctx)
{
    return ctx->body_len == 0 || souk_http_content_type_json(souk_http_header(ctx, "Content-Type"));
}

static bool body_too_large(const souk_http_ctx_t *ctx)
{
    size_t limit = ctx->srv->cfg.body_limit;
    if (ctx->body_len > limit)
        return true;
    const char *cl = souk_http_header(ctx, "Content-Length");
    long v;
    return cl && souk_parse_long(cl, strlen(cl), 0, LONG_MAX, &v) == SOUK_OK &&
           (unsigned long)v > limit;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The server decodes query values into C strings and drops those that are not
 * UTF-8: a "%00" would silently cut a filter short and bad bytes would remove
 * it. Refuse such a query string instead of answering a different question. */
static bool query_ok(const souk_http_ctx_t *ctx)
{
    const char *q = ctx->url ? strchr(ctx->url, '?') : NULL;
    if (!q)
        return true;
    size_t n = strlen(++q);
    char *dec = souk_arena_alloc(ctx->arena, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (q[i] == '%' && i + 2 < n && (hi = hexval(q[i + 1])) >= 0 &&
            (lo = hexval(q[i + 2])) >= 0) {
            dec[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            dec[o++] = q[i] == '+' ? ' ' : q[i];
        }
    }
    return souk_utf8_valid(dec, o);
}

static void route_request(souk_http_ctx_t *ctx)
{
    souk_http_server_t *srv = ctx->srv;
    souk_route_match_t m;
    if (souk_router_match(srv->router, ctx->method, ctx->path, ctx->arena, &m)) {
        const souk_http__handler_t *h = m.data;
        ctx->route = m.tmpl;
        ctx->nparams = m.nparams;
        memcpy(ctx->param_names, m.names, sizeof(m.names));
        memcpy(ctx->param_values, m.values, sizeof(m.values));
        if (!content_type_ok(ctx))
            souk_http_problem(ctx, 415, "request bodies must be application/json");
        else
            h->fn(ctx, h->ud);
        return;
    }
    if (m.path_known) {
        ctx->route = "method_not_allowed";
        souk_http_set_header(ctx, "Allow", m.allow);
        souk_http_problem(ctx, 405, "method not allowed on this resource");
        return;
    }
    if (srv->fallback) {
        if (!content_type_ok(ctx))
            souk_http_problem(ctx, 415, "request bodies must be application/json");
        else
            srv->fallback(ctx, srv->fallback_ud);
        return;
    }
    souk_http_problem(ctx, 404, "no such resource");
}

static bool is_probe(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
           strcmp(path, "/metrics") == 0;
}

/* The request's server span, with the semantic-convention attributes. */
static void end_span(souk_http_ctx_t *ctx)
{
    souk_span_t *s = &ctx->span;
    if (is_probe(ctx->path) || !souk_span_recording(s))
        return;
    snprintf(s->name, sizeof(s->name), "%s %s", ctx->method, ctx->route);
    souk_span_attr_str(s, "http.request.method", ctx->method);
    souk_span_attr_str(s, "http.route", ctx->route);
    souk_span_attr_str(s, "url.path", ctx->path);
    souk_span_attr_int(s, "http.response.status_code", ctx->status);
    souk_span_attr_str(s, "client.address", ctx->client_ip);
    souk_span_attr_str(s, "http.request.id", ctx->request_id);
    if (ctx->status >= 500)
        souk_span_error(s, souk_http_status_title(ctx->status));
    souk_span_end(s);
}

static void access_log(souk_http_ctx_t *ctx, double seconds)
{
    souk_http_server_t *srv = ctx->srv;
    char status[8];
    snprintf(status, sizeof(status), "%d", ctx->status);
    souk_metric_inc(srv->requests, (const char *[]){srv->service, ctx->method, ctx->route, status},
                    1);
    souk_metric_observe(srv->durations, (const char *[]){srv->service, ctx->method, ctx->route},
                        seconds);
    /* Probes and scrapes would drown the log; keep them at debug. */
    bool quiet = is_probe(ctx->path);
    souk_log_level_t level = quiet                ? SOUK_LOG_DEBUG
                             : ctx->status >= 500 ? SOUK_LOG_WARN
                                                  : SOUK_LOG_INFO;
    if (!souk_log_enabled(level))
        return;
    json_t *f = ctx->log_fields ? ctx->log_fields : json_object();
    ctx->log_fields = NULL;
    json_object_set_new(f, "http.request.method", json_string(ctx->method));
    json_object_set_new(f, "url.path", json_string(ctx->path));
    json_object_set_new(f, "http.route", json_string(ctx->route));
    json_object_set_new(f, "http.response.status_code", json_integer(ctx->status));
    json_object_set_new(f, "event.duration", json_integer((json_int_t)(seconds * 1e9)));
    json_object_set_new(f, "client.ip", json_string(ctx->client_ip));
    souk_log_ctx_t lc = {ctx->request_id, ctx->trace.trace_id, ctx->trace.span_id};
    souk_log_json(level, &lc, "request", f);
    json_decref(f);
}

static int dispatch(const struct _u_request *req, struct _u_response *res, void *ud)
{
    souk_http_server_t *srv = ud;
    uint64_t t0 = souk_now_mono_ns();
    souk_http_ctx_t ctx;
    ctx_init(&ctx, srv, req, res);
    souk_metric_add(srv->inflight, (const char *[]){srv->service}, 1);

    souk_http_set_header(&ctx, "X-Request-Id", ctx.request_id);
    char tp[SOUK_TRACEPARENT_LEN + 1];
    souk_trace_format(&ctx.trace, tp);
    souk_http_set_header(&ctx, "traceparent", tp);
    const souk_trace_t *outer = souk_trace_set_current(&ctx.trace);

    if (strcmp(ctx.method, SOUK_METRIC_OTHER) == 0) {
        ctx.route = "method_not_implemented";
        souk_http_problem(&ctx, 501, "this method is not implemented");
    } else if (souk_http_header(&ctx, "Transfer-Encoding") &&
               souk_http_header(&ctx, "Content-Length")) {
        /* Two framings disagree on where the body ends (request smuggling). */
        souk_http_problem(&ctx, 400, "Transfer-Encoding and Content-Length together");
    } else if (body_too_large(&ctx))
        souk_http_problem(&ctx, 413, "request body exceeds the size limit");
    else if (!query_ok(&ctx))
        souk_http_problem(&ctx, 400, "the query string must be UTF-8 without NUL characters");
    else if (!srv->hook || srv->hook(&ctx, srv->hook_ud))
        route_request(&ctx);
    if (!ctx.replied) {
        souk_log_error("handler for %s %s returned without replying", ctx.method, ctx.route);
        souk_http_problem(&ctx, 500, "internal error");
    }
    access_log(&ctx, (double)(souk_now_mono_ns() - t0) / 1e9);
    end_span(&ctx);
    souk_trace_set_current(outer);
    souk_metric_add(srv->inflight, (const char *[]){srv->service}, -1);
    json_decref(ctx.log_fields);
    souk_arena_free(ctx.arena);
    return U_CALLBACK_COMPLETE;
}

/* ---- built-in endpoints --------------------------------------------------- */

static void healthz(souk_http_ctx_t *ctx, void *ud)
{
    souk_http_reply_json(ctx, 200, json_pack("{s:s}", "status", "ok"));
}

static void readyz(souk_http_ctx_t *ctx, void *ud)
{
    souk_http_server_t *srv = ud;
    if (srv->ready && !srv->ready(srv->ready_ud)) {
        souk_http_problem(ctx, 503, "dependencies are not ready");
        return;
    }
    souk_http_reply_json(ctx, 200, json_pack("{s:s}", "status", "ready"));
}

static void metrics(souk_http_ctx_t *ctx, void *ud)
{
    souk_http_server_t *srv = ud;
    souk_buf_t out;
    souk_buf_init(&out, 16 << 20);
    if (souk_metrics_render(srv->cfg.metrics, &out) != SOUK_OK) {
        souk_buf_cleanup(&out);
        souk_http_problem(ctx, 500, "metrics exposition too large");
        return;
    }
    souk_http_reply_raw(ctx, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    souk_buf_cleanup(&out);
}

/* ---- lifecycle ------------------------------------------------------------ */

SOUK_PRINTF(2, 0) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    souk_log_warn("http server: %s", msg);
}

souk_err_t souk_http_server_new(const souk_http_config_t *cfg, souk_http_server_t **out)
{
    if (!cfg || !cfg->metrics || cfg->port < 0 || cfg->port > 65535)
        return SOUK_EINVAL;
    souk_http_server_t *srv = souk_calloc(1, sizeof(*srv));
    srv->cfg = *cfg;
    srv->service = souk_strdup(cfg->service ? cfg->service : "souk");
    if (!srv->cfg.body_limit)
        srv->cfg.body_limit = SOUK_HTTP_DEFAULT_BODY_LIMIT;
    if (!srv->cfg.idle_timeout_s)
        srv->cfg.idle_timeout_s = 60;
    if (!srv->cfg.threads)
        srv->cfg.threads = souk_http_default_threads();
    srv->router = souk_router_new();
    srv->addr.sin_family = AF_INET;
    srv->addr.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->bind ? cfg->bind : "127.0.0.1", &srv->addr.sin_addr) != 1) {
        souk_log_error("invalid bind address %s", cfg->bind);
        souk_http_server_free(srv);
        return SOUK_EINVAL;
    }
    if (souk_http__proxies_parse(srv, cfg->trusted_proxies) != SOUK_OK) {
        souk_http_server_free(srv);
        return SOUK_EINVAL;
    }
    srv->requests = souk_metrics_counter(cfg->metrics, "http_requests_total",
                                         "HTTP requests served.", req_labels);
    srv->durations = souk_metrics_histogram(
        cfg->metrics, "http_request_duration_seconds", "HTTP request latency in seconds.",
        dur_labels, souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
    srv->inflight = souk_metrics_gauge(cfg->metrics, "http_requests_in_flight",
                                       "HTTP requests being served.", svc_labels);
    souk_http_route(srv, "GET", "/healthz", healthz, srv);
    souk_http_route(srv, "GET", "/readyz", readyz, srv);
    souk_http_route(srv, "GET", "/metrics", metrics, srv);
    *out = srv;
    return SOUK_OK;
}

souk_err_t souk_http_server_start(souk_http_server_t *srv)
{
    struct _u_instance *inst = &srv->inst;
    /* ulfius refuses port 0; the socket address below (port 0 in it) is
     * what libmicrohttpd binds, so any valid number will do here. */
    if (ulfius_init_instance(inst, srv->cfg.port ? (unsigned)srv->cfg.port : 1, &srv->addr, NULL) !=
        U_OK)
        return SOUK_EIO;
    /* One more byte than the limit so an oversized body is detectable: ulfius
     * silently truncates at max_post_body_size. */
    inst->max_post_body_size = srv->cfg.body_limit + 1;
    inst->allowed_post_processor = U_POST_PROCESS_NONE;
    ulfius_add_endpoint_by_val(inst, "*", "*", NULL, 0, dispatch, srv);
    ulfius_set_default_endpoint(inst, dispatch, srv);
    struct MHD_OptionItem ops[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)mhd_request_completed, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)ulfius_uri_logger, NULL},
        {MHD_OPTION_SOCK_ADDR, 0, &srv->addr},
        {MHD_OPTION_CONNECTION_TIMEOUT, srv->cfg.idle_timeout_s, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)srv->cfg.threads, NULL},
        {MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    /* A pool of epoll threads: far fewer context switches than a thread per
     * connection, and idle keep-alive connections cost no thread. Handlers
     * block (database, upstream calls), so the pool is larger than the core
     * count. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (ulfius_start_framework_with_mhd_options(inst, flags, ops) != U_OK) {
        ulfius_clean_instance(inst);
        souk_log_error("cannot listen on port %d", srv->cfg.port);
        return SOUK_EIO;
    }
    srv->running = true;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(inst->mhd_daemon, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_in bound;
    socklen_t blen = sizeof(bound);
    srv->bound_port = info && getsockname(info->listen_fd, (struct sockaddr *)&bound, &blen) == 0
                          ? ntohs(bound.sin_port)
                          : (uint16_t)srv->cfg.port;
    souk_log_info("listening on http://%s:%d", srv->cfg.bind ? srv->cfg.bind : "127.0.0.1",
                  (int)srv->bound_port);
    return SOUK_OK;
}

souk_err_t souk_http_serve(souk_http_server_t *srv)
{
    souk_err_t err = souk_http_server_start(srv);
    if (err)
        return err;
    int sig = souk_signals_wait();
    souk_log_info("signal %d: shutting down", sig);
    return SOUK_OK;
}

void souk_http_server_stop(souk_http_server_t *srv)
{
    if (!srv || !srv->running)
        return;
    ulfius_stop_framework(&srv->inst);
    ulfius_clean_instance(&srv->inst);
    srv->running = false;
}

int souk_http_server_port(const souk_http_server_t *srv)
{
    return srv && srv->running ? (int)srv->bound_port : 0;
}

void souk_http_server_free(souk_http_server_t *srv)
{
    if (!srv)
        return;
    souk_http_server_stop(srv);
    souk_router_free(srv->router);
    souk_free(srv->service);
    souk_free(srv);
}

unsigned souk_http_default_threads(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores * 4 > 16 ? (unsigned)cores * 4 : 16;
}

void souk_http_route(souk_http_server_t *srv, const char *method, const char *tmpl,
                     souk_http_handler_fn fn, void *ud)
{
    if (srv->nhandlers == SOUK_HTTP_MAX_HANDLERS) {
        souk_log_error("too many routes; %s %s not registered", method, tmpl);
        abort();
    }
    souk_http__handler_t *h = &srv->handlers[srv->nhandlers++];
    h->fn = fn;
    h->ud = ud;
    souk_router_add(srv->router, method, tmpl, h);
}

void souk_http_set_fallback(souk_http_server_t *srv, souk_http_handler_fn fn, void *ud)
{
    srv->fallback = fn;
    srv->fallback_ud = ud;
}

void souk_http_set_hook(souk_http_server_t *srv, souk_http_hook_fn fn, void *ud)
{
    srv->hook = fn;
    srv->hook_ud = ud;
}

void souk_http_set_ready(souk_http_server_t *srv, souk_http_ready_fn fn, void *ud)
{
    srv->ready = fn;
    srv->ready_ud = ud;
}

/* ---- request accessors ---------------------------------------------------- */

const char *souk_http_query(const souk_http_ctx_t *ctx, const char *name)
{
    return u_map_get(((const struct _u_request *)ctx->ureq)->map_url, name);
}

const char *souk_http_header(const souk_http_ctx_t *ctx, const char *name)
{
    return u_map_get_case(((const struct _u_request *)ctx->ureq)->map_header, name);
}

void souk_http_each_header(const souk_http_ctx_t *ctx,
                           bool (*fn)(const char *name, const char *value, void *ud), void *ud)
{
    const struct _u_map *m = ((const struct _u_request *)ctx->ureq)->map_header;
    for (int i = 0; i < m->nb_values; i++)
        if (!fn(m->keys[i], m->values[i], ud))
            return;
}

const char *souk_http_bearer(const souk_http_ctx_t *ctx)
{
    return souk_http_bearer_of(souk_http_header(ctx, "Authorization"));
}

const char *souk_http_bearer_of(const char *h)
{
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

/* ---- signals -------------------------------------------------------------- */

void souk_signals_block(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int souk_signals_wait(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}
