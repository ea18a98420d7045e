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

#endif
