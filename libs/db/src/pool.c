/* pool.c: a fixed-capacity pool of libpq connections. Connections are opened
 * lazily up to the capacity and kept; a caller waits on a condition variable
 * with a deadline when all are busy. Broken connections are dropped on
 * release and replaced on the next acquire. */
#include "db_int.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#define DEFAULT_SIZE         8
#define DEFAULT_ACQUIRE_MS   5000
#define DEFAULT_STATEMENT_MS 10000

static souk_err_t collect(souk_buf_t *out, void *ud)
{
    souk_db_pool_t *p = ud;
    pthread_mutex_lock(&p->lock);
    int open = p->open, idle = p->nidle, waiting = p->waiting, size = p->cfg.size;
    pthread_mutex_unlock(&p->lock);
    return souk_buf_appendf(out,
                            "# HELP db_pool_connections Database pool connections by state.\n"
                            "# TYPE db_pool_connections gauge\n"
                            "db_pool_connections{state=\"in_use\"} %d\n"
                            "db_pool_connections{state=\"idle\"} %d\n"
                            "# HELP db_pool_max Capacity of the database pool.\n"
                            "# TYPE db_pool_max gauge\ndb_pool_max %d\n"
                            "# HELP db_pool_waiting Requests waiting for a connection.\n"
                            "# TYPE db_pool_waiting gauge\ndb_pool_waiting %d\n",
                            open - idle, idle, size, waiting);
}

souk_err_t souk_db_pool_new(const souk_db_config_t *cfg, souk_db_pool_t **out)
{
    if (!cfg || !cfg->conninfo)
        return SOUK_EINVAL;
    souk_db_pool_t *p = souk_calloc(1, sizeof(*p));
    p->cfg = *cfg;
    p->conninfo = souk_strdup(cfg->conninfo);
    p->app_name = souk_strdup(cfg->app_name ? cfg->app_name : "souk");
    p->settings = cfg->settings ? souk_strdup(cfg->settings) : NULL;
    if (p->cfg.size <= 0)
        p->cfg.size = DEFAULT_SIZE;
    if (p->cfg.acquire_timeout_ms <= 0)
        p->cfg.acquire_timeout_ms = DEFAULT_ACQUIRE_MS;
    if (p->cfg.statement_timeout_ms == 0)
        p->cfg.statement_timeout_ms = DEFAULT_STATEMENT_MS;
    p->idle = souk_calloc((size_t)p->cfg.size, sizeof(*p->idle));
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->freed, &attr);
    pthread_condattr_destroy(&attr);
    if (cfg->metrics) {
        p->timeouts = souk_metrics_counter(cfg->metrics, "db_pool_acquire_timeouts_total",
                                           "Pool acquisitions that timed out.", NULL);
        p->acquire_seconds =
            souk_metrics_histogram(cfg->metrics, "db_pool_acquire_duration_seconds",
                                   "Time to obtain a pooled connection, waiting included.", NULL,
                                   souk_metrics_latency_buckets, souk_metrics_latency_nbuckets);
        souk_metrics_add_collector(cfg->metrics, collect, p);
    }
    *out = p;
    return SOUK_OK;
}

static void conn_close(souk_db_conn_t *c)
{
    if (!c)
        return;
    PQfinish(c->pg);
    for (size_t i = 0; i < c->nprepared; i++)
        souk_free(c->prepared[i]);
    souk_free(c);
}

void souk_db_pool_free(souk_db_pool_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nidle; i++)
        conn_close(p->idle[i]);
    if (p->open != p->nidle)
        souk_log_error("database pool freed with %d connections in use", p->open - p->nidle);
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
    souk_free(p->idle);
    souk_free(p->conninfo);
    souk_free(p->app_name);
    souk_free(p->settings);
    souk_free(p);
}

static void on_notice(void *ud, const char *msg)
{
    /* NOTICEs ("relation already exists, skipping") are not worth stderr. */
    souk_log_debug("database notice: %.*s", (int)strcspn(msg, "\n"), msg);
}

static souk_err_t conn_open(souk_db_pool_t *p, souk_db_conn_t **out)
{
    char options[512];
    snprintf(options, sizeof(options), "-c statement_timeout=%d %s",
             p->cfg.statement_timeout_ms > 0 ? p->cfg.statement_timeout_ms : 0,
             p->settings ? p->settings : "");
    const char *keys[] = {"dbname", "application_name", "connect_timeout", "options", NULL};
    const char *vals[] = {p->conninfo, p->app_name, "5", options, NULL};
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(pg) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(pg));
        msg[strcspn(msg, "\n")] = '\0';
        souk_log_warn("database connection failed: %s", msg);
        PQfinish(pg);
        return SOUK_EUNAVAIL;
    }
    PQsetNoticeProcessor(pg, on_notice, NULL);
    souk_db_conn_t *c = souk_calloc(1, sizeof(*c));
    c->pg = pg;
    *out = c;
    return SOUK_OK;
}

static souk_err_t acquire(souk_db_pool_t *p, souk_db_conn_t **out);

/* An idle connection has nothing to say: if its socket is readable, the
 * server is hanging up (pg_terminate_backend, a restart: a FATAL message,
 * then the end of the stream, which may not have arrived yet) or, rarely,
 * reports a setting or a notice. Either way it is replaced: telling them
 * apart would mean waiting for the end that may be on its way. One poll(2),
 * no round trip. */
static bool conn_alive(souk_db_conn_t *c)
{
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
    return pfd.fd >= 0 && PQstatus(c->pg) == CONNECTION_OK && poll(&pfd, 1, 0) == 0;
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

souk_err_t souk_db_acquire(souk_db_pool_t *p, souk_db_conn_t **out)
{
    *out = NULL;
    uint64_t t0 = souk_now_mono_ns();
    souk_err_t err = acquire(p, out);
    if (p->acquire_seconds)
        souk_metric_observe(p->acquire_seconds, NULL, (double)(souk_now_mono_ns() - t0) / 1e9);
    return err;
}

souk_err_t souk_db_connect(souk_db_pool_t *p, souk_db_conn_t **out)
{
    *out = NULL;
    return conn_open(p, out);
}

void souk_db_disconnect(souk_db_conn_t *c)
{
    conn_close(c);
}

static souk_err_t acquire(souk_db_pool_t *p, souk_db_conn_t **out)
{
    struct timespec deadline;
    deadline_after(&deadline, p->cfg.acquire_timeout_ms);
    pthread_mutex_lock(&p->lock);
    while (p->nidle == 0 && p->open >= p->cfg.size) {
        p->waiting++;
        int rc = pthread_cond_timedwait(&p->freed, &p->lock, &deadline);
        p->waiting--;
        if (rc == ETIMEDOUT && p->nidle == 0 && p->open >= p->cfg.size) {
            pthread_mutex_unlock(&p->lock);
            if (p->timeouts)
                souk_metric_inc(p->timeouts, NULL, 1);
            return SOUK_ETIMEOUT;
        }
    }
    if (p->nidle > 0) {
        souk_db_conn_t *c = p->idle[--p->nidle];
        pthread_mutex_unlock(&p->lock);
        if (conn_alive(c)) {
            *out = c;
            return SOUK_OK;
        }
        /* The server closed it while it was idle (a restart, a failover):
         * open a new one in its slot rather than fail this request. */
        conn_close(c);
        souk_err_t err = conn_open(p, out);
        if (err) {
            pthread_mutex_lock(&p->lock);
            p->open--;
            pthread_cond_signal(&p->freed);
            pthread_mutex_unlock(&p->lock);
        }
        return err;
    }
    p->open++; /* reserve the slot, then dial without holding the lock */
    pthread_mutex_unlock(&p->lock);
    souk_err_t err = conn_open(p, out);
    if (err) {
        pthread_mutex_lock(&p->lock);
        p->open--;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->lock);
    }
    return err;
}

void souk_db_release(souk_db_pool_t *p, souk_db_conn_t *c)
{
    if (!c)
        return;
    if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        souk_db_rollback(c);
    bool healthy = PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    pthread_mutex_lock(&p->lock);
    if (healthy) {
        p->idle[p->nidle++] = c;
    } else {
        p->open--;
    }
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
    if (!healthy)
        conn_close(c);
}

bool souk_db_ping(souk_db_pool_t *p)
{
    souk_db_conn_t *c;
    if (souk_db_acquire(p, &c) != SOUK_OK)
        return false;
    static const souk_db_stmt_t ping = {"souk_ping", "SELECT 1"};
    bool ok = souk_db_query(c, &ping, 0, NULL, NULL) == SOUK_OK;
    souk_db_release(p, c);
    return ok;
}
