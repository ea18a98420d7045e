/* limits.c: what the gateway checks before routing, as decisions any
 * engine applies: CORS for configured origins (answering preflights itself)
 * and a per-client token bucket. The
 * bucket table is fixed-size and direct-mapped: memory stays bounded however
 * many clients appear, at the price that two colliding clients may reset each
 * other's bucket (erring towards letting a request through). */
#include "gateway.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define RL_SLOTS   65536
#define RL_STRIPES 64

typedef struct {
    char client[48];
    double tokens;
    uint64_t last_ns;
} bucket_t;

struct gw_ratelimit {
    double rate, burst;
    pthread_mutex_t locks[RL_STRIPES];
    bucket_t slots[RL_SLOTS];
};

gw_ratelimit_t *gw_ratelimit_new(double rps, double burst)
{
    if (rps <= 0)
        return NULL;
    gw_ratelimit_t *rl = souk_calloc(1, sizeof(*rl));
    rl->rate = rps;
    rl->burst = burst >= 1 ? burst : rps;
    for (int i = 0; i < RL_STRIPES; i++)
        pthread_mutex_init(&rl->locks[i], NULL);
    return rl;
}

void gw_ratelimit_free(gw_ratelimit_t *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < RL_STRIPES; i++)
        pthread_mutex_destroy(&rl->locks[i]);
    souk_free(rl);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

bool gw_ratelimit_take(gw_ratelimit_t *rl, const char *client, long *retry_after_s)
{
    uint32_t h = fnv1a(client);
    bucket_t *b = &rl->slots[h % RL_SLOTS];
    pthread_mutex_t *lock = &rl->locks[h % RL_STRIPES];
    pthread_mutex_lock(lock);
    /* Read the clock under the lock: a reading taken before another
     * thread's update would be older than last_ns, and the unsigned
     * difference would refill the bucket to the brim. */
    uint64_t now = souk_now_mono_ns();
    if (strncmp(b->client, client, sizeof(b->client)) != 0) {
        snprintf(b->client, sizeof(b->client), "%s", client);
        b->tokens = rl->burst;
        b->last_ns = now;
    }
    b->tokens = fmin(rl->burst, b->tokens + (double)(now - b->last_ns) / 1e9 * rl->rate);
    b->last_ns = now;
    bool ok = b->tokens >= 1;
    if (ok)
        b->tokens -= 1;
    else
        *retry_after_s = (long)ceil((1 - b->tokens) / rl->rate);
    pthread_mutex_unlock(lock);
    return ok;
}

static bool origin_allowed(const gateway_t *gw, const char *origin)
{
    for (char **o = gw->cors_origins; o && *o; o++)
        if (strcmp(*o, "*") == 0 || strcmp(*o, origin) == 0)
            return true;
    return false;
}

static void add(gw_decision_t *d, const char *name, const char *value)
{
    if (d->nheaders < GW_MAX_HEADERS) {
        d->headers[d->nheaders][0] = name;
        d->headers[d->nheaders++][1] = value;
    }
}

bool gw_cors(const gateway_t *gw, const gw_request_t *req, gw_decision_t *d)
{
    bool preflight = strcmp(req->method, "OPTIONS") == 0 && req->preflight_method;
    if (!req->origin)
        return true;
    if (!origin_allowed(gw, req->origin)) {
        if (!preflight)
            return true; /* the browser enforces the missing CORS headers */
        d->action = GW_REPLY;
        d->route = "cors_preflight";
        d->status = 403;
        d->detail = "origin not allowed";
        return false;
    }
    add(d, "Access-Control-Allow-Origin", req->origin);
    add(d, "Vary", "Origin");
    add(d, "Access-Control-Expose-Headers",
        "X-Request-Id, traceparent, Retry-After, Location, Idempotent-Replayed");
    if (!preflight)
        return true;
    d->action = GW_REPLY;
    d->route = "cors_preflight";
    d->status = 204;
    add(d, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    add(d, "Access-Control-Allow-Headers",
        "Authorization, Content-Type, Idempotency-Key, X-Request-Id, traceparent");
    add(d, "Access-Control-Max-Age", "600");
    return false;
}

bool gw_limit(gateway_t *gw, gw_ratelimit_t *rl, const gw_request_t *req, const char *scope,
              gw_decision_t *d)
{
    long retry = 1;
    if (!rl || gw_ratelimit_take(rl, req->client_ip, &retry))
        return true;
    souk_metric_inc(gw->rate_limited, (const char *[]){scope}, 1);
    snprintf(d->retry_after, sizeof(d->retry_after), "%ld", retry);
    add(d, "Retry-After", d->retry_after);
    d->action = GW_REPLY;
    d->route = "rate_limited";
    d->status = 429;
    d->detail = "too many requests; slow down";
    return false;
}

static bool is_probe(const char *path)
{
    return strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0 ||
           strcmp(path, "/metrics") == 0;
}

bool gw_limit_client(gateway_t *gw, const gw_request_t *req, gw_decision_t *d)
{
    return is_probe(req->path) || gw_limit(gw, gw->ratelimit, req, "client", d);
}
