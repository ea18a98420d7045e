/* metrics.c: a Prometheus registry. A family holds an append-only list of
 * series; readers walk it without locks (the head is published with release
 * semantics), writers take the family lock only to add a series. Values are
 * atomics. Series are never removed, so the rules of obs.h bound them: label
 * values come from closed sets, a value that is not short UTF-8 becomes
 * OTHER, and a family past its series cap counts into one overflow series. */
#include "obs_int.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } kind_t;

typedef struct series {
    struct series *next;
    char *key; /* label values, each after a length byte (see make_key) */
    char **values;
    _Atomic uint64_t value;    /* counter count, or gauge double bits */
    _Atomic uint64_t sum;      /* histogram sum (double bits) */
    _Atomic uint64_t *buckets; /* histogram: nbuckets + 1 (+Inf) */
} series_t;

struct souk_metric {
    struct souk_metric *next;
    souk_metrics_t *registry;
    size_t nseries; /* under lock */
    kind_t kind;
    char *name, *help;
    const char *const *labels;
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    _Atomic(series_t *) head;
    pthread_mutex_t lock;
};

typedef struct collector {
    struct collector *next;
    souk_metrics_collect_fn fn;
    void *ud;
} collector_t;

struct souk_metrics {
    pthread_mutex_t lock;
    souk_metric_t *families;
    collector_t *collectors;
    size_t max_series;
    souk_metric_t *overflowed; /* metrics_series_overflow_total{family} */
};

const double souk_metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t souk_metrics_latency_nbuckets = SOUK_ARRAY_LEN(souk_metrics_latency_buckets);

static const char *const family_label[] = {"family", NULL};

souk_metrics_t *souk_metrics_new(void)
{
    souk_metrics_t *m = souk_calloc(1, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
    m->max_series = SOUK_METRIC_MAX_SERIES;
    m->overflowed = souk_metrics_counter(
        m, "metrics_series_overflow_total",
        "Observations counted into a family's overflow series (its series cap was reached).",
        family_label);
    souk_metrics_add_collector(m, souk_metrics__process, NULL);
    return m;
}

void souk_metrics_set_max_series(souk_metrics_t *m, size_t max)
{
    m->max_series = max ? max : SOUK_METRIC_MAX_SERIES;
}

static void series_free(series_t *s, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++)
        souk_free(s->values[i]);
    souk_free(s->values);
    souk_free(s->key);
    souk_free((void *)s->buckets);
    souk_free(s);
}

void souk_metrics_free(souk_metrics_t *m)
{
    if (!m)
        return;
    souk_metric_t *f = m->families;
    while (f) {
        souk_metric_t *next = f->next;
        series_t *s = atomic_load(&f->head);
        while (s) {
            series_t *sn = s->next;
            series_free(s, f->nlabels);
            s = sn;
        }
        pthread_mutex_destroy(&f->lock);
        souk_free(f->name);
        souk_free(f->help);
        souk_free(f->bounds);
        souk_free(f);
        f = next;
    }
    collector_t *c = m->collectors;
    while (c) {
        collector_t *next = c->next;
        souk_free(c);
        c = next;
    }
    pthread_mutex_destroy(&m->lock);
    souk_free(m);
}

static souk_metric_t *family(souk_metrics_t *m, kind_t kind, const char *name, const char *help,
                             const char *const *labels, const double *bounds, size_t nbounds)
{
    pthread_mutex_lock(&m->lock);
    souk_metric_t *f;
    for (f = m->families; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            goto out;
    f = souk_calloc(1, sizeof(*f));
    f->registry = m;
    f->kind = kind;
    f->name = souk_strdup(name);
    f->help = souk_strdup(help);
    f->labels = labels;
    while (labels && labels[f->nlabels] && f->nlabels < SOUK_METRIC_MAX_LABELS)
        f->nlabels++;
    if (nbounds) {
        f->bounds = souk_malloc(nbounds * sizeof(double));
        memcpy(f->bounds, bounds, nbounds * sizeof(double));
        f->nbounds = nbounds;
    }
    pthread_mutex_init(&f->lock, NULL);
    /* Keep registration order in the exposition: append at the tail. */
    souk_metric_t **tail = &m->families;
    while (*tail)
        tail = &(*tail)->next;
    *tail = f;
out:
    pthread_mutex_unlock(&m->lock);
    return f;
}

souk_metric_t *souk_metrics_counter(souk_metrics_t *m, const char *name, const char *help,
                                    const char *const *labels)
{
    return family(m, KIND_COUNTER, name, help, labels, NULL, 0);
}

souk_metric_t *souk_metrics_gauge(souk_metrics_t *m, const char *name, const char *help,
                                  const char *const *labels)
{
    return family(m, KIND_GAUGE, name, help, labels, NULL, 0);
}

souk_metric_t *souk_metrics_histogram(souk_metrics_t *m, const char *name, const char *help,
                                      const char *const *labels, const double *buckets,
                                      size_t nbuckets)
{
    return family(m, KIND_HISTOGRAM, name, help, labels, buckets, nbuckets);
}

/* A label value as it may appear in the exposition: short UTF-8, else the
 * catch-all. Non-UTF-8 bytes would make the whole scrape unreadable. */
static const char *label_value(const char *v)
{
    if (!v)
        return "";
    size_t n = strnlen(v, SOUK_METRIC_MAX_VALUE + 1);
    if (n > SOUK_METRIC_MAX_VALUE || !souk_utf8_valid(v, n))
        return SOUK_METRIC_OTHER;
    return v;
}

/* The series key: each value preceded by a byte holding its length + 1
 * (never NUL). Values are bounded, so the key always fits whole, and no two
 * value lists share a key whatever bytes they contain. */
static void make_key(const souk_metric_t *f, const char *const *values, char *key)
{
    size_t o = 0;
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = label_value(values[i]);
        size_t n = strlen(v);
        key[o++] = (char)(n + 1);
        memcpy(key + o, v, n);
        o += n;
    }
    key[o] = '\0';
}

static series_t *find(souk_metric_t *f, const char *key)
{
    for (series_t *s = atomic_load_explicit(&f->head, memory_order_acquire); s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

static series_t *series_add(souk_metric_t *f, const char *key, const char *const *values)
{
    series_t *s = souk_calloc(1, sizeof(*s));
    s->key = souk_strdup(key);
    s->values = souk_calloc(f->nlabels ? f->nlabels : 1, sizeof(char *));
    for (size_t i = 0; i < f->nlabels; i++)
        s->values[i] = souk_strdup(values ? label_value(values[i]) : SOUK_METRIC_OTHER);
    if (f->kind == KIND_HISTOGRAM)
        s->buckets = souk_calloc(f->nbounds + 1, sizeof(uint64_t));
    s->next = atomic_load_explicit(&f->head, memory_order_relaxed);
    atomic_store_explicit(&f->head, s, memory_order_release);
    f->nseries++;
    return s;
}

/* The series of values, created on first use; past the family's cap every
 * new combination lands in the one series whose labels are all OTHER. */
static series_t *series_get(souk_metric_t *f, const char *const *values)
{
    char key[SOUK_METRIC_MAX_LABELS * (SOUK_METRIC_MAX_VALUE + 1) + 1];
    make_key(f, values, key);
    series_t *s = find(f, key);
    if (s)
        return s;
    bool overflow = false;
    pthread_mutex_lock(&f->lock);
    s = find(f, key);
    if (!s && f->nseries < f->registry->max_series) {
        s = series_add(f, key, values);
    } else if (!s) {
        overflow = true;
        char other[SOUK_METRIC_MAX_LABELS * (sizeof(SOUK_METRIC_OTHER)) + 1];
        const char *all_other[SOUK_METRIC_MAX_LABELS];
        for (size_t i = 0; i < f->nlabels; i++)
            all_other[i] = SOUK_METRIC_OTHER;
        make_key(f, all_other, other);
        if (!(s = find(f, other)))
            s = series_add(f, other, NULL);
    }
    pthread_mutex_unlock(&f->lock);
    if (overflow && f != f->registry->overflowed)
        souk_metric_inc(f->registry->overflowed, (const char *[]){f->name}, 1);
    return s;
}

static uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    return u;
}

static double u2d(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof(d));
    return d;
}

static void atomic_add_double(_Atomic uint64_t *slot, double delta)
{
    uint64_t old = atomic_load_explicit(slot, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(slot, &old, d2u(u2d(old) + delta)))
        ;
}

void souk_metric_inc(souk_metric_t *f, const char *const *values, uint64_t n)
{
    atomic_fetch_add_explicit(&series_get(f, values)->value, n, memory_order_relaxed);
}

void souk_metric_set(souk_metric_t *f, const char *const *values, double v)
{
    atomic_store_explicit(&series_get(f, values)->value, d2u(v), memory_order_relaxed);
}

void souk_metric_add(souk_metric_t *f, const char *const *values, double delta)
{
    atomic_add_double(&series_get(f, values)->value, delta);
}

void souk_metric_observe(souk_metric_t *f, const char *const *values, double v)
{
    series_t *s = series_get(f, values);
    size_t i = 0;
    while (i < f->nbounds && v > f->bounds[i])
        i++;
    atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
    atomic_add_double(&s->sum, v);
}

void souk_metrics_add_collector(souk_metrics_t *m, souk_metrics_collect_fn fn, void *ud)
{
    collector_t *c = souk_calloc(1, sizeof(*c));
    c->fn = fn;
    c->ud = ud;
    pthread_mutex_lock(&m->lock);
    c->next = m->collectors;
    m->collectors = c;
    pthread_mutex_unlock(&m->lock);
}

/* Label values are escaped as the text format requires (\\, \", \n). */
static souk_err_t put_labels(souk_buf_t *out, const souk_metric_t *f, const series_t *s,
                             const char *extra_name, const char *extra_value)
{
    souk_err_t err = SOUK_OK;
    if (f->nlabels == 0 && !extra_name)
        return SOUK_OK;
    err |= souk_buf_append(out, "{", 1);
    for (size_t i = 0; i <= f->nlabels; i++) {
        const char *name = i < f->nlabels ? f->labels[i] : extra_name;
        const char *value = i < f->nlabels ? s->values[i] : extra_value;
        if (!name)
            break;
        err |= souk_buf_appendf(out, "%s%s=\"", i ? "," : "", name);
        for (const char *p = value; *p; p++) {
            if (*p == '\\' || *p == '"')
                err |= souk_buf_appendf(out, "\\%c", *p);
            else if (*p == '\n')
                err |= souk_buf_append(out, "\\n", 2);
            else
                err |= souk_buf_append(out, p, 1);
        }
        err |= souk_buf_append(out, "\"", 1);
    }
    err |= souk_buf_append(out, "}", 1);
    return err ? SOUK_ELIMIT : SOUK_OK;
}

static souk_err_t render_histogram(souk_buf_t *out, const souk_metric_t *f, const series_t *s)
{
    souk_err_t err = SOUK_OK;
    uint64_t cum = 0;
    char le[32];
    for (size_t i = 0; i <= f->nbounds; i++) {
        cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
        if (i < f->nbounds)
            snprintf(le, sizeof(le), "%g", f->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        err |= souk_buf_appendf(out, "%s_bucket", f->name);
        err |= put_labels(out, f, s, "le", le);
        err |= souk_buf_appendf(out, " %llu\n", (unsigned long long)cum);
    }
    err |= souk_buf_appendf(out, "%s_sum", f->name);
    err |= put_labels(out, f, s, NULL, NULL);
    err |= souk_buf_appendf(out, " %.9g\n%s_count", u2d(atomic_load(&s->sum)), f->name);
    err |= put_labels(out, f, s, NULL, NULL);
    err |= souk_buf_appendf(out, " %llu\n", (unsigned long long)cum);
    return err ? SOUK_ELIMIT : SOUK_OK;
}

static souk_err_t render_family(souk_buf_t *out, souk_metric_t *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    souk_err_t err = souk_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
                                      f->name, types[f->kind]);
    for (series_t *s = atomic_load_explicit(&f->head, memory_order_acquire); s && !err;
         s = s->next) {
        if (f->kind == KIND_HISTOGRAM) {
            err = render_histogram(out, f, s);
            continue;
        }
        err |= souk_buf_appendf(out, "%s", f->name);
        err |= put_labels(out, f, s, NULL, NULL);
        uint64_t v = atomic_load_explicit(&s->value, memory_order_relaxed);
        if (f->kind == KIND_COUNTER)
            err |= souk_buf_appendf(out, " %llu\n", (unsigned long long)v);
        else
            err |= souk_buf_appendf(out, " %.9g\n", u2d(v));
    }
    return err ? SOUK_ELIMIT : SOUK_OK;
}

souk_err_t souk_metrics_render(souk_metrics_t *m, souk_buf_t *out)
{
    souk_err_t err = SOUK_OK;
    pthread_mutex_lock(&m->lock);
    for (souk_metric_t *f = m->families; f && !err; f = f->next)
        err = render_family(out, f);
    for (collector_t *c = m->collectors; c && !err; c = c->next)
        err = c->fn(out, c->ud);
    pthread_mutex_unlock(&m->lock);
    return err;
}
