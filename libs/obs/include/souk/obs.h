/* souk/obs.h: observability primitives: a Prometheus metrics registry with
 * text exposition, and W3C trace context (traceparent) handling. Exporting
 * spans to an OTLP collector is not done here.
 *
 * Thread-safety: all functions are thread-safe once the registry exists.
 * Families are created at start-up; series (label combinations) appear on
 * first use. Updates are lock-free atomics; only a new series takes a lock.
 *
 * The label rule. Every label value is a time series that lives as long as
 * the process, so a value must come from a closed set the code owns (route
 * templates, a fixed method set, status codes, configured event types),
 * never from a request or an event payload as received; callers map what is
 * outside their set to SOUK_METRIC_OTHER. The registry enforces the rest:
 * a value that is not UTF-8 or longer than SOUK_METRIC_MAX_VALUE bytes is
 * recorded as OTHER, and once a family holds its maximum number of series
 * every new combination is counted in one series whose labels are all OTHER
 * (metrics_series_overflow_total{family} says how often). So neither memory
 * nor the size of /metrics grows with what clients send. */
#ifndef SOUK_OBS_H
#define SOUK_OBS_H

#include <souk/core.h>

#define SOUK_METRIC_MAX_LABELS 6
#define SOUK_METRIC_MAX_VALUE  128     /* bytes of one label value */
#define SOUK_METRIC_MAX_SERIES 2000    /* default series cap per family */
#define SOUK_METRIC_OTHER      "OTHER" /* the catch-all label value */

typedef struct souk_metrics souk_metrics_t;
typedef struct souk_metric souk_metric_t; /* one family: counter, gauge or histogram */

souk_metrics_t *souk_metrics_new(void);
/* Frees the registry and every family in it. NULL ok. */
void souk_metrics_free(souk_metrics_t *m);
/* Sets the series cap per family (0: SOUK_METRIC_MAX_SERIES). Call before
 * any series exists. */
void souk_metrics_set_max_series(souk_metrics_t *m, size_t max);

/* Families are owned by the registry. labels: NULL-terminated array of names
 * (static storage). The same name registered twice returns the same family. */
souk_metric_t *souk_metrics_counter(souk_metrics_t *m, const char *name, const char *help,
                                    const char *const *labels);
souk_metric_t *souk_metrics_gauge(souk_metrics_t *m, const char *name, const char *help,
                                  const char *const *labels);
/* buckets: ascending upper bounds (copied); +Inf is implicit. */
souk_metric_t *souk_metrics_histogram(souk_metrics_t *m, const char *name, const char *help,
                                      const char *const *labels, const double *buckets,
                                      size_t nbuckets);

/* values: one per label name, in order (NULL when the family has no labels). */
void souk_metric_inc(souk_metric_t *f, const char *const *values, uint64_t n);
void souk_metric_set(souk_metric_t *f, const char *const *values, double v);
void souk_metric_add(souk_metric_t *f, const char *const *values, double delta);
void souk_metric_observe(souk_metric_t *f, const char *const *values, double v);

/* A collector appends its own exposition lines at scrape time (for values
 * read from elsewhere, such as a pool's state). */
typedef souk_err_t (*souk_metrics_collect_fn)(souk_buf_t *out, void *ud);
void souk_metrics_add_collector(souk_metrics_t *m, souk_metrics_collect_fn fn, void *ud);

/* Renders the Prometheus text format (0.0.4) into out. Every registry also
 * renders the process_* metrics (CPU, memory, descriptors, threads, start
 * time) under the names Prometheus's client libraries use. */
souk_err_t souk_metrics_render(souk_metrics_t *m, souk_buf_t *out) SOUK_MUST_CHECK;

/* Default latency buckets in seconds (5 ms .. 10 s). */
extern const double souk_metrics_latency_buckets[];
extern const size_t souk_metrics_latency_nbuckets;

/* ---- trace context -------------------------------------------------------- */

typedef struct {
    char trace_id[33];  /* 32 lower-case hex */
    char span_id[17];   /* this process's span */
    char parent_id[17]; /* caller's span, "" when this is a root */
    uint8_t flags;      /* trace-flags; bit 0 = sampled */
} souk_trace_t;

#define SOUK_TRACEPARENT_LEN 55

/* Parses a traceparent header ("00-<trace>-<span>-<flags>") of length len.
 * Rejects all-zero ids and bad hex. On success fills trace_id, parent_id and
 * flags and leaves span_id empty. */
bool souk_trace_parse(const char *s, size_t len, souk_trace_t *out);
/* Continues the caller's trace when header is a valid traceparent, otherwise
 * starts a new one; always gives this work a fresh span id. header may be NULL. */
void souk_trace_begin(souk_trace_t *t, const char *header);
/* Formats "00-trace-span-flags" for passing this span on (out[56]). */
void souk_trace_format(const souk_trace_t *t, char out[SOUK_TRACEPARENT_LEN + 1]);
/* A child of parent's span in parent's trace: a fresh span id, parent's
 * span as its parent, parent's flags. */
void souk_trace_child(souk_trace_t *t, const souk_trace_t *parent);

/* ---- spans (OpenTelemetry) ------------------------------------------------ */
/* A span is a struct the caller owns (on its stack or in its request), so
 * starting and ending one allocates nothing; souk_span_end() copies a
 * sampled span into the tracer's bounded queue, from which a background
 * thread exports batches as OTLP/HTTP JSON. A full queue or a dead
 * collector drops spans and counts them (otel_spans_dropped_total): tracing
 * never blocks or fails the work it describes. Without a tracer spans still
 * carry ids (the trace context is passed on) and nothing is recorded.
 *
 * Attribute keys are OpenTelemetry semantic-convention names and must be
 * string literals (static storage); values are copied. Never put request
 * data that may hold secrets or personal data (SQL values, bodies, headers)
 * in an attribute. */

typedef enum {
    SOUK_SPAN_INTERNAL = 1,
    SOUK_SPAN_SERVER = 2,
    SOUK_SPAN_CLIENT = 3,
    SOUK_SPAN_PRODUCER = 4,
    SOUK_SPAN_CONSUMER = 5
} souk_span_kind_t;

#define SOUK_SPAN_MAX_ATTRS 12
#define SOUK_SPAN_VALUE_MAX 160

typedef struct {
    const char *key;
    bool is_int;
    long long i;
    char s[SOUK_SPAN_VALUE_MAX];
} souk_span_attr_t;

typedef struct {
    souk_trace_t ctx; /* trace id, this span's id, its parent's, flags (bit 0: sampled) */
    souk_span_kind_t kind;
    char name[96];
    uint64_t start_ns, end_ns; /* Unix time, ns */
    int nattrs;
    souk_span_attr_t attrs[SOUK_SPAN_MAX_ATTRS];
    bool error;
    char status[96]; /* the error's message, when error */
} souk_span_t;

/* Starts s as a child of parent (its trace, sampled as it is for a
 * parent-based sampler), or of a valid traceparent header when parent is
 * NULL, else as the root of a new trace sampled by the tracer's sampler. */
void souk_span_start(souk_span_t *s, souk_span_kind_t kind, const char *name,
                     const souk_trace_t *parent, const char *traceparent);
void souk_span_attr_str(souk_span_t *s, const char *key, const char *value);
void souk_span_attr_int(souk_span_t *s, const char *key, long long value);
/* Marks the span failed, with a short message (no secrets, no values). */
void souk_span_error(souk_span_t *s, const char *message);
/* Ends s: records it when it is sampled and a tracer runs. */
void souk_span_end(souk_span_t *s);
/* True when s will be recorded (sampled, with a tracer running); callers
 * may skip computing attributes otherwise. */
bool souk_span_recording(const souk_span_t *s);

/* The trace context the calling thread works in (the span of the request
 * or event it is handling), for spans started deeper down (SQL, calls to
 * other services); NULL when there is none. Set by whoever starts the
 * thread's work, restored when it ends. */
const souk_trace_t *souk_trace_current(void);
const souk_trace_t *souk_trace_set_current(const souk_trace_t *t); /* returns the previous */

/* ---- the tracer (one per process, set up in main) ------------------------- */

typedef struct {
    const char *endpoint;    /* OTLP/HTTP base URL (".../v1/traces" is added); NULL: none */
    const char *service;     /* service.name of the resource */
    const char *sampler;     /* always_on, always_off, traceidratio, parentbased_always_on
                                (default), parentbased_always_off, parentbased_traceidratio */
    double ratio;            /* for the ratio samplers, 0..1 */
    size_t queue;            /* spans held at most; 0: 8192 */
    int export_timeout_ms;   /* 0: 2000 */
    souk_metrics_t *metrics; /* otel_spans_exported_total, otel_spans_dropped_total{reason} */
} souk_tracer_config_t;

/* Starts the process's tracer (and its export thread when an endpoint is
 * set). SOUK_EINVAL for an unknown sampler or a ratio outside 0..1. */
souk_err_t souk_tracer_start(const souk_tracer_config_t *cfg) SOUK_MUST_CHECK;
/* Exports what is queued (bounded by the export timeout) and stops. */
void souk_tracer_stop(void);

#endif
