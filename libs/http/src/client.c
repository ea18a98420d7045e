/* client.c: outgoing HTTP on libcurl. Easy handles live in a pool: a request
 * takes one, uses it and puts it back, so the keep-alive connections each
 * handle holds are reused by whichever thread comes next. One short mutex
 * section per request; no curl share locks on the hot path. Parallel
 * fetches run on a pooled multi handle on the caller's thread. */
#include "http_int.h"

#include <curl/curl.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TIMEOUT_MS         10000
#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_MAX_RESPONSE       (8u << 20)
#define MAX_RESPONSE_HEADERS       (64u << 10)
#define MAX_POOLED_HANDLES         512
#define MAX_POOLED_MULTIS          64

struct souk_http_client {
    pthread_mutex_t lock;
    CURL *pool[MAX_POOLED_HANDLES];
    size_t npool;
    CURLM *multis[MAX_POOLED_MULTIS];
    size_t nmulti;
};

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

souk_http_client_t *souk_http_client_new(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    souk_http_client_t *c = souk_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void souk_http_client_free(souk_http_client_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nmulti; i++)
        curl_multi_cleanup(c->multis[i]);
    for (size_t i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    pthread_mutex_destroy(&c->lock);
    souk_free(c);
}

static CURL *take_handle(souk_http_client_t *c)
{
    pthread_mutex_lock(&c->lock);
    CURL *h = c->npool ? c->pool[--c->npool] : NULL;
    pthread_mutex_unlock(&c->lock);
    if (!h && !(h = curl_easy_init()))
        return NULL;
    curl_easy_reset(h); /* options go; its connections stay */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    return h;
}

static void give_handle(souk_http_client_t *c, CURL *h)
{
    pthread_mutex_lock(&c->lock);
    bool kept = c->npool < MAX_POOLED_HANDLES;
    if (kept)
        c->pool[c->npool++] = h;
    pthread_mutex_unlock(&c->lock);
    if (!kept)
        curl_easy_cleanup(h);
}

typedef struct {
    souk_http_response_t *resp;
    bool overflow;
} sink_t;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    if (souk_buf_append(&s->resp->body, p, size * n) != SOUK_OK) {
        s->overflow = true;
        return 0;
    }
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sink_t *s = ud;
    size_t len = size * n;
    /* A status line starts a new header block (after 100-continue, say). */
    if (len > 5 && strncmp(p, "HTTP/", 5) == 0)
        s->resp->headers.len = 0;
    if (souk_buf_append(&s->resp->headers, p, len) != SOUK_OK) {
        s->overflow = true;
        return 0;
    }
    return len;
}

static souk_err_t map_curl_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return SOUK_EUNAVAIL;
    case CURLE_OPERATION_TIMEDOUT:
        return SOUK_ETIMEOUT;
    default:
        return SOUK_EUPSTREAM;
    }
}

/* One request on a handle: options, sinks and headers set by prepare(),
 * the outcome read and the handle disarmed by finish(). */
typedef struct {
    CURL *h;
    sink_t sink;
    struct curl_slist *headers;
    souk_span_t span; /* a client span, child of the caller's current one */
} call_t;

/* The call's span; its context goes out as traceparent unless the caller
 * sends one of its own. */
static void start_span(const souk_http_request_t *req, call_t *call)
{
    bool has = false;
    for (size_t i = 0; req->headers && req->headers[i] && !has; i++)
        has = strncasecmp(req->headers[i], "traceparent:", 12) == 0;
    souk_span_start(&call->span, SOUK_SPAN_CLIENT, req->method ? req->method : "GET",
                    souk_trace_current(), NULL);
    if (!has) {
        char tp[SOUK_TRACEPARENT_LEN + 1], line[SOUK_TRACEPARENT_LEN + 16];
        souk_trace_format(&call->span.ctx, tp);
        snprintf(line, sizeof(line), "traceparent: %s", tp);
        call->headers = curl_slist_append(call->headers, line);
    }
}

static void end_span(call_t *call, const char *url, souk_err_t err)
{
    souk_span_t *s = &call->span;
    if (!souk_span_recording(s))
        return;
    long status = call->sink.resp->status;
    souk_span_attr_str(s, "http.request.method", s->name);
    souk_span_attr_str(s, "url.full", url);
    if (status)
        souk_span_attr_int(s, "http.response.status_code", status);
    if (err)
        souk_span_error(s, souk_strerror(err));
    else if (status >= 500)
        souk_span_error(s, "server error");
    souk_span_end(s);
}

static souk_err_t prepare(souk_http_client_t *c, const souk_http_request_t *req,
                          souk_http_response_t *resp, call_t *call)
{
    memset(resp, 0, sizeof(*resp));
    souk_buf_init(&resp->body, req->max_response ? req->max_response : DEFAULT_MAX_RESPONSE);
    souk_buf_init(&resp->headers, MAX_RESPONSE_HEADERS);
    *call = (call_t){.h = take_handle(c), .sink = {resp, false}};
    CURL *h = call->h;
    if (!h)
        return SOUK_ENOMEM;
    for (size_t i = 0; req->headers && req->headers[i]; i++)
        call->headers = curl_slist_append(call->headers, req->headers[i]);
    start_span(req, call);
    /* curl would otherwise add "Expect: 100-continue" and wait on big bodies. */
    call->headers = curl_slist_append(call->headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    if (req->path_as_is)
        curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method ? req->method : "GET");
    if (req->method && strcmp(req->method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (req->body_len) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms ? req->connect_timeout_ms
                                             : DEFAULT_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &call->sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &call->sink);
    return SOUK_OK;
}

static souk_err_t finish(souk_http_client_t *c, call_t *call, CURLcode rc)
{
    souk_err_t err = SOUK_OK;
    if (!call->h)
        return SOUK_ENOMEM;
    char *url = NULL;
    if (rc != CURLE_OK)
        err = call->sink.overflow ? SOUK_ELIMIT : map_curl_error(rc);
    else
        curl_easy_getinfo(call->h, CURLINFO_RESPONSE_CODE, &call->sink.resp->status);
    curl_easy_getinfo(call->h, CURLINFO_EFFECTIVE_URL, &url);
    end_span(call, url ? url : "", err);
    /* The handle outlives this call; it must not keep pointers into our stack. */
    curl_easy_setopt(call->h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(call->h, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(call->h, CURLOPT_HEADERDATA, NULL);
    curl_slist_free_all(call->headers);
    give_handle(c, call->h);
    call->h = NULL;
    return err;
}

souk_err_t souk_http_fetch(souk_http_client_t *c, const souk_http_request_t *req,
                           souk_http_response_t *resp)
{
    call_t call;
    souk_err_t err = prepare(c, req, resp, &call);
    if (err)
        return err; /* no handle was taken */
    return finish(c, &call, curl_easy_perform(call.h));
}

/* Multi handles keep the connections their transfers opened, so a pool of
 * them (like the easy handles') lets parallel fetches reuse connections. */
static CURLM *take_multi(souk_http_client_t *c)
{
    pthread_mutex_lock(&c->lock);
    CURLM *m = c->nmulti ? c->multis[--c->nmulti] : NULL;
    pthread_mutex_unlock(&c->lock);
    return m ? m : curl_multi_init();
}

static void give_multi(souk_http_client_t *c, CURLM *m)
{
    pthread_mutex_lock(&c->lock);
    bool kept = c->nmulti < MAX_POOLED_MULTIS;
    if (kept)
        c->multis[c->nmulti++] = m;
    pthread_mutex_unlock(&c->lock);
    if (!kept)
        curl_multi_cleanup(m);
}

#define MAX_PARALLEL 32

void souk_http_fetch_all(souk_http_client_t *c, const souk_http_request_t *reqs,
                         souk_http_response_t *resps, souk_err_t *errs, size_t n)
{
    call_t calls[MAX_PARALLEL];
    for (size_t base = 0; base < n; base += MAX_PARALLEL) {
        size_t k = n - base < MAX_PARALLEL ? n - base : MAX_PARALLEL;
        memset(calls, 0, k * sizeof(calls[0])); /* only the slots this round uses */
        CURLM *m = take_multi(c);
        for (size_t i = 0; i < k; i++) {
            memset(&resps[base + i], 0, sizeof(resps[base + i]));
            errs[base + i] =
                m ? prepare(c, &reqs[base + i], &resps[base + i], &calls[i]) : SOUK_ENOMEM;
            if (errs[base + i] == SOUK_OK)
                curl_multi_add_handle(m, calls[i].h);
        }
        int running = 1;
        while (m && running) {
            if (curl_multi_perform(m, &running) != CURLM_OK)
                break;
            if (running)
                curl_multi_poll(m, NULL, 0, 1000, NULL);
        }
        CURLMsg *msg;
        int left;
        while (m && (msg = curl_multi_info_read(m, &left)))
            for (size_t i = 0; i < k; i++)
                if (msg->msg == CURLMSG_DONE && calls[i].h == msg->easy_handle) {
                    curl_multi_remove_handle(m, calls[i].h);
                    errs[base + i] = finish(c, &calls[i], msg->data.result);
                }
        for (size_t i = 0; i < k; i++)
            if (calls[i].h) { /* never reported done (the multi failed) */
                curl_multi_remove_handle(m, calls[i].h);
                errs[base + i] = finish(c, &calls[i], CURLE_OPERATION_TIMEDOUT);
            }
        if (m)
            give_multi(c, m);
    }
}

void souk_http_response_cleanup(souk_http_response_t *resp)
{
    souk_buf_cleanup(&resp->body);
    souk_buf_cleanup(&resp->headers);
}

bool souk_http_response_header(const souk_http_response_t *resp, const char *name, char *out,
                               size_t cap)
{
    size_t nlen = strlen(name);
    const char *p = resp->headers.data;
    const char *end = p ? p + resp->headers.len : NULL;
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
        if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
            const char *v = p + nlen + 1;
            const char *ve = p + len;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            size_t n = (size_t)(ve - v) < cap - 1 ? (size_t)(ve - v) : cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = eol ? eol + 1 : end;
    }
    return false;
}

souk_err_t souk_http_url_encode(souk_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    souk_err_t err = SOUK_OK;
    for (const unsigned char *p = (const unsigned char *)s; !err && p && *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~';
        char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        err = plain ? souk_buf_append(b, p, 1) : souk_buf_append(b, esc, 3);
    }
    return err;
}
