/* span.c: spans and the process's tracer: sampling at the root of a trace,
 * the thread's current trace context, and a bounded queue emptied by an
 * export thread that posts OTLP/HTTP JSON batches with libcurl. The export
 * never reaches back into a request: a span is copied into the queue (or
 * dropped and counted when it is full) and that is all souk_span_end does. */
#include "obs_int.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_QUEUE  8192
#define BATCH          512
#define FLUSH_EVERY_MS 1000
#define BODY_MAX       (16 * 1024 * 1024) /* a batch's document, at most */

typedef enum {
    SAMPLE_ALWAYS_ON,
    SAMPLE_ALWAYS_OFF,
    SAMPLE_RATIO,
    SAMPLE_PARENT_ON,
    SAMPLE_PARENT_OFF,
    SAMPLE_PARENT_RATIO
} sampler_t;

typedef struct {
    char *url, *service;
    sampler_t sampler;
    uint64_t ratio_bound; /* sampled when the trace id's low 64 bits are below */
    int timeout_ms;
    souk_span_t *ring;
    size_t cap, head, len; /* under lock */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool exporting, stop;
    souk_metric_t *exported, *dropped;
} tracer_t;

/* The process's tracer: set once in main before threads start serving, like
 * the logger; NULL when tracing is off. */
static tracer_t *tracer;
static _Thread_local const souk_trace_t *current;

const souk_trace_t *souk_trace_current(void)
{
    return current;
}

const souk_trace_t *souk_trace_set_current(const souk_trace_t *t)
{
    const souk_trace_t *prev = current;
    current = t;
    return prev;
}

static uint64_t now_unix_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t low64(const char *trace_id)
{
    uint64_t v = 0;
    for (int i = 16; i < 32; i++) {
        char c = trace_id[i];
        v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
}

/* The sampling decision for a span of trace t whose parent said sampled
 * (parent_sampled) or that has no parent (has_parent false). */
static bool sample(const tracer_t *tr, const souk_trace_t *t, bool has_parent, bool parent_sampled)
{
    sampler_t s = tr ? tr->sampler : SAMPLE_PARENT_ON;
    bool by_ratio = tr && low64(t->trace_id) < tr->ratio_bound;
    if (has_parent && (s == SAMPLE_PARENT_ON || s == SAMPLE_PARENT_OFF || s == SAMPLE_PARENT_RATIO))
        return parent_sampled;
    switch (s) {
    case SAMPLE_ALWAYS_OFF:
    case SAMPLE_PARENT_OFF:
        return false;
    case SAMPLE_RATIO:
    case SAMPLE_PARENT_RATIO:
        return by_ratio;
    default:
        return true;
    }
}

void souk_span_start(souk_span_t *s, souk_span_kind_t kind, const char *name,
                     const souk_trace_t *parent, const char *traceparent)
{
    souk_trace_t from;
    /* What a span starts with, and no more: its attributes are filled one
     * by one (next_attr), and clearing the whole struct (2 KB) cost more
     * than the rest of starting it. */
    s->kind = kind;
    s->nattrs = 0;
    s->error = false;
    s->status[0] = '\0';
    s->end_ns = 0;
    snprintf(s->name, sizeof(s->name), "%s", name ? name : "span");
    s->start_ns = now_unix_ns();
    if (!parent && traceparent && souk_trace_parse(traceparent, strlen(traceparent), &from)) {
        snprintf(from.span_id, sizeof(from.span_id), "%s", from.parent_id);
        parent = &from;
    }
    if (parent) {
        souk_trace_child(&s->ctx, parent);
    } else {
        souk_trace_begin(&s->ctx, NULL); /* a new trace */
    }
    bool sampled = sample(tracer, &s->ctx, parent != NULL, parent && (parent->flags & 1));
    s->ctx.flags = (uint8_t)((parent ? parent->flags & ~1u : 0) | (sampled ? 1 : 0));
}

bool souk_span_recording(const souk_span_t *s)
{
    return tracer && tracer->exporting && (s->ctx.flags & 1);
}

static souk_span_attr_t *next_attr(souk_span_t *s, const char *key)
{
    if (s->nattrs == SOUK_SPAN_MAX_ATTRS)
        return NULL;
    souk_span_attr_t *a = &s->attrs[s->nattrs++];
    memset(a, 0, sizeof(*a));
    a->key = key;
    return a;
}

void souk_span_attr_str(souk_span_t *s, const char *key, const char *value)
{
    souk_span_attr_t *a = value ? next_attr(s, key) : NULL;
    if (!a)
        return;
    size_t n = strnlen(value, sizeof(a->s) - 1);
    while (n > 0 && !souk_utf8_valid(value, n)) /* never cut a character in two */
        n--;
    memcpy(a->s, value, n);
    a->s[n] = '\0';
}

void souk_span_attr_int(souk_span_t *s, const char *key, long long value)
{
    souk_span_attr_t *a = next_attr(s, key);
    if (a) {
        a->is_int = true;
        a->i = value;
    }
}

void souk_span_error(souk_span_t *s, const char *message)
{
    s->error = true;
    snprintf(s->status, sizeof(s->status), "%s", message ? message : "error");
}

void souk_span_end(souk_span_t *s)
{
    s->end_ns = now_unix_ns();
    tracer_t *tr = tracer;
    if (!tr || !tr->exporting || !(s->ctx.flags & 1))
        return;
    pthread_mutex_lock(&tr->lock);
    bool full = tr->len == tr->cap;
    if (!full) {
        tr->ring[(tr->head + tr->len) % tr->cap] = *s;
        if (++tr->len >= BATCH)
            pthread_cond_signal(&tr->wake);
    }
    pthread_mutex_unlock(&tr->lock);
    if (full)
        souk_metric_inc(tr->dropped, (const char *[]){"queue_full"}, 1);
}

/* ---- export --------------------------------------------------------------- */

/* The batch is written straight into a buffer: building it as jansson
 * objects cost about 16 us a span, more than the request it describes, and
 * the export thread fell behind at a few thousand requests a second. Only
 * the strings need care: quotes, backslashes and control characters are
 * escaped, and a value that is not UTF-8 (a client's path) has its
 * non-ASCII bytes replaced, so the document is always valid JSON. */
static souk_err_t put_str(souk_buf_t *b, const char *s)
{
    bool utf8 = souk_utf8_valid(s, strlen(s));
    souk_err_t err = souk_buf_append(b, "\"", 1);
    for (const char *run = s; err == SOUK_OK; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = c >= 0x20 && c != '"' && c != '\\' && (utf8 || c < 0x80);
        if (c && plain)
            continue;
        err = souk_buf_append(b, run, (size_t)(s - run));
        if (err || !c)
            break;
        if (c == '"' || c == '\\')
            err = souk_buf_appendf(b, "\\%c", c);
        else if (c < 0x20)
            err = souk_buf_appendf(b, "\\u%04x", c);
        else
            err = souk_buf_append(b, "?", 1);
        run = s + 1;
    }
    return err ? err : souk_buf_append(b, "\"", 1);
}

static souk_err_t put_attr(souk_buf_t *b, const souk_span_attr_t *a, bool first)
{
    souk_err_t err = souk_buf_appendf(b, "%s{\"key\":", first ? "" : ",");
    err = err ? err : put_str(b, a->key);
    if (err == SOUK_OK && a->is_int) /* OTLP JSON: 64-bit ints as strings */
        return souk_buf_appendf(b, ",\"value\":{\"intValue\":\"%lld\"}}", a->i);
    err = err ? err : souk_buf_appendf(b, ",\"value\":{\"stringValue\":");
    err = err ? err : put_str(b, a->s);
    return err ? err : souk_buf_append(b, "}}", 2);
}

static souk_err_t put_span(souk_buf_t *b, const souk_span_t *s, bool first)
{
    souk_err_t err =
        souk_buf_appendf(b,
                         "%s{\"traceId\":\"%s\",\"spanId\":\"%s\"%s%s%s,\"kind\":%d,"
                         "\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\",\"name\":",
                         first ? "" : ",", s->ctx.trace_id, s->ctx.span_id,
                         s->ctx.parent_id[0] ? ",\"parentSpanId\":\"" : "", s->ctx.parent_id,
                         s->ctx.parent_id[0] ? "\"" : "", (int)s->kind,
                         (unsigned long long)s->start_ns, (unsigned long long)s->end_ns);
    err = err ? err : put_str(b, s->name);
    err = err ? err : souk_buf_append(b, ",\"attributes\":[", 15);
    for (int i = 0; err == SOUK_OK && i < s->nattrs; i++)
        err = put_attr(b, &s->attrs[i], i == 0);
    if (err == SOUK_OK && s->error) {
        err = souk_buf_appendf(b, "],\"status\":{\"code\":2,\"message\":");
        err = err ? err : put_str(b, s->status);
        return err ? err : souk_buf_append(b, "}}", 2);
    }
    return err ? err : souk_buf_appendf(b, "],\"status\":{\"code\":0}}");
}

/* The OTLP/HTTP JSON document of n spans (souk_free), or NULL. */
static char *batch_json(const tracer_t *tr, const souk_span_t *spans, size_t n)
{
    souk_buf_t b;
    souk_buf_init(&b, BODY_MAX);
    souk_err_t err = souk_buf_appendf(
        &b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
            "\"value\":{\"stringValue\":");
    err = err ? err : put_str(&b, tr->service);
    err = err ? err
              : souk_buf_appendf(&b, "}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"souk\"},"
                                     "\"spans\":[");
    for (size_t i = 0; err == SOUK_OK && i < n; i++)
        err = put_span(&b, &spans[i], i == 0);
    err = err ? err : souk_buf_append(&b, "]}]}]}", 6);
    if (err) {
        souk_buf_cleanup(&b);
        return NULL;
    }
    return souk_buf_steal(&b, NULL);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    return size * n;
}

static bool post(tracer_t *tr, CURL *h, const char *body)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, tr->url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)tr->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)tr->timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    bool ok = curl_easy_perform(h) == CURLE_OK &&
              curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status >= 200 &&
              status < 300;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return ok;
}

/* Takes up to BATCH spans off the queue (caller holds the lock). */
static size_t take(tracer_t *tr, souk_span_t *out)
{
    size_t n = tr->len < BATCH ? tr->len : BATCH;
    for (size_t i = 0; i < n; i++)
        out[i] = tr->ring[(tr->head + i) % tr->cap];
    tr->head = (tr->head + n) % tr->cap;
    tr->len -= n;
    return n;
}

static void export_batch(tracer_t *tr, CURL *h, const souk_span_t *spans, size_t n)
{
    char *body = batch_json(tr, spans, n);
    bool ok = body && post(tr, h, body);
    souk_free(body);
    if (ok)
        souk_metric_inc(tr->exported, NULL, n);
    else
        souk_metric_inc(tr->dropped, (const char *[]){"export_failed"}, n);
}

static void *export_main(void *arg)
{
    tracer_t *tr = arg;
    souk_span_t *batch = souk_malloc(BATCH * sizeof(*batch));
    CURL *h = curl_easy_init();
    pthread_mutex_lock(&tr->lock);
    for (;;) {
        if (tr->len < BATCH && !tr->stop) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += FLUSH_EVERY_MS / 1000;
            pthread_cond_timedwait(&tr->wake, &tr->lock, &until);
        }
        size_t n = take(tr, batch);
        bool stop = tr->stop && tr->len == 0;
        pthread_mutex_unlock(&tr->lock);
        if (n > 0 && h)
            export_batch(tr, h, batch, n);
        pthread_mutex_lock(&tr->lock);
        if (stop)
            break;
    }
    pthread_mutex_unlock(&tr->lock);
    curl_easy_cleanup(h);
    souk_free(batch);
    return NULL;
}

static souk_err_t parse_sampler(const char *name, double ratio, sampler_t *out)
{
    static const struct {
        const char *name;
        sampler_t s;
    } names[] = {{"always_on", SAMPLE_ALWAYS_ON},
                 {"always_off", SAMPLE_ALWAYS_OFF},
                 {"traceidratio", SAMPLE_RATIO},
                 {"parentbased_always_on", SAMPLE_PARENT_ON},
                 {"parentbased_always_off", SAMPLE_PARENT_OFF},
                 {"parentbased_traceidratio", SAMPLE_PARENT_RATIO}};
    if (!(ratio >= 0 && ratio <= 1))
        return SOUK_EINVAL;
    for (size_t i = 0; i < SOUK_ARRAY_LEN(names); i++)
        if (strcmp(name ? name : "parentbased_always_on", names[i].name) == 0) {
            *out = names[i].s;
            return SOUK_OK;
        }
    return SOUK_EINVAL;
}

souk_err_t souk_tracer_start(const souk_tracer_config_t *cfg)
{
    static const char *const reason[] = {"reason", NULL};
    sampler_t sampler;
    if (parse_sampler(cfg->sampler, cfg->ratio, &sampler) != SOUK_OK) {
        souk_log_error("OTEL_TRACES_SAMPLER/OTEL_TRACES_SAMPLER_ARG: unknown sampler or a ratio "
                       "outside 0..1");
        return SOUK_EINVAL;
    }
    tracer_t *tr = souk_calloc(1, sizeof(*tr));
    tr->sampler = sampler;
    tr->ratio_bound =
        cfg->ratio >= 1 ? UINT64_MAX : (uint64_t)(cfg->ratio * 18446744073709551615.0);
    tr->service = souk_strdup(cfg->service ? cfg->service : "souk");
    tr->timeout_ms = cfg->export_timeout_ms > 0 ? cfg->export_timeout_ms : 2000;
    tr->cap = cfg->queue ? cfg->queue : DEFAULT_QUEUE;
    pthread_mutex_init(&tr->lock, NULL);
    pthread_cond_init(&tr->wake, NULL);
    if (cfg->metrics) {
        tr->exported = souk_metrics_counter(cfg->metrics, "otel_spans_exported_total",
                                            "Spans sent to the OTLP collector.", NULL);
        tr->dropped = souk_metrics_counter(cfg->metrics, "otel_spans_dropped_total",
                                           "Spans dropped (queue full, export failed).", reason);
    }
    if (cfg->endpoint && *cfg->endpoint) {
        size_t n = strlen(cfg->endpoint);
        tr->url = souk_malloc(n + 16);
        snprintf(tr->url, n + 16, "%.*s/v1/traces",
                 (int)(n && cfg->endpoint[n - 1] == '/' ? n - 1 : n), cfg->endpoint);
        tr->ring = souk_calloc(tr->cap, sizeof(souk_span_t));
        curl_global_init(CURL_GLOBAL_DEFAULT);
        tr->exporting = pthread_create(&tr->thread, NULL, export_main, tr) == 0;
        souk_log_info("exporting spans to %s (sampler %s)", tr->url,
                      cfg->sampler ? cfg->sampler : "parentbased_always_on");
    }
    tracer = tr;
    return SOUK_OK;
}

void souk_tracer_stop(void)
{
    tracer_t *tr = tracer;
    if (!tr)
        return;
    if (tr->exporting) {
        pthread_mutex_lock(&tr->lock);
        tr->stop = true;
        pthread_cond_signal(&tr->wake);
        pthread_mutex_unlock(&tr->lock);
        pthread_join(tr->thread, NULL);
    }
    tracer = NULL;
    pthread_cond_destroy(&tr->wake);
    pthread_mutex_destroy(&tr->lock);
    souk_free(tr->ring);
    souk_free(tr->url);
    souk_free(tr->service);
    souk_free(tr);
}
