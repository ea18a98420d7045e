/* cache.c: product-service's in-process cache of GET /products/{id} answers
 * (the JSON text and its ETag), exact by construction rather than by
 * expiry. A trigger NOTIFYs product_changed with the id of every product row
 * inserted, updated or deleted (catalog writes and stock reservations alike,
 * by any replica); a listener thread on a connection of its own drops that
 * id here. A reader notes the invalidation count before it reads the
 * database and keeps what it read only if no invalidation arrived meanwhile,
 * so a copy older than a reported change is never kept. While the listener
 * is not connected (start-up, a database restart) nothing is served from or
 * kept in the cache, and a reconnection empties it: a change it could have
 * missed cannot be served. The table is bounded and direct-mapped; a
 * collision just evicts. */
#include "product.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define STRIPES        32
#define LISTEN_WAIT_MS 1000
#define RETRY_MS       500

typedef struct {
    char id[SOUK_UUID_STRLEN + 1]; /* "" when empty */
    char *json;                    /* souk_free */
    size_t len;
    char etag[20]; /* "\"" + 16 hex + "\"" */
} slot_t;

typedef struct {
    pthread_mutex_t lock;
    slot_t *slots;
} stripe_t;

struct product_cache {
    souk_db_pool_t *db;
    size_t per_stripe;
    stripe_t stripes[STRIPES];
    atomic_ulong seq; /* invalidations seen so far */
    atomic_bool live; /* the listener is connected and listening */
    atomic_bool stop;
    pthread_t listener;
    bool started;
    souk_metric_t *lookups;
};

static uint64_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)(*p | 0x20)) * 1099511628211ull; /* ids compare in any case */
    return h;
}

static slot_t *slot_of(product_cache_t *c, const char *id, stripe_t **st)
{
    uint64_t h = hash_id(id);
    *st = &c->stripes[h % STRIPES];
    return &(*st)->slots[(h / STRIPES) % c->per_stripe];
}

static void slot_clear(slot_t *s)
{
    souk_free(s->json);
    memset(s, 0, sizeof(*s));
}

static void evict(product_cache_t *c, const char *id)
{
    stripe_t *st;
    slot_t *s = slot_of(c, id, &st);
    pthread_mutex_lock(&st->lock);
    if (strcasecmp(s->id, id) == 0)
        slot_clear(s);
    pthread_mutex_unlock(&st->lock);
}

static void evict_all(product_cache_t *c)
{
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&c->stripes[i].lock);
        for (size_t j = 0; j < c->per_stripe; j++)
            slot_clear(&c->stripes[i].slots[j]);
        pthread_mutex_unlock(&c->stripes[i].lock);
    }
}

void product_cache_invalidate(product_cache_t *c, const char *id)
{
    if (!c)
        return;
    atomic_fetch_add(&c->seq, 1);
    if (id && souk_uuid_valid(id, strlen(id)))
        evict(c, id);
    else
        evict_all(c);
}

static void on_notify(const char *channel, const char *payload, void *ud)
{
    product_cache_invalidate(ud, payload);
}

static void nap(product_cache_t *c, long ms)
{
    for (long slept = 0; slept < ms && !atomic_load(&c->stop); slept += 50)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
}

static void *listen_main(void *arg)
{
    product_cache_t *c = arg;
    while (!atomic_load(&c->stop)) {
        souk_db_conn_t *conn = NULL;
        bool notified;
        if (souk_db_connect(c->db, &conn) != SOUK_OK ||
            souk_db_listen(conn, "product_changed") != SOUK_OK) {
            souk_db_disconnect(conn);
            nap(c, RETRY_MS);
            continue;
        }
        /* Whatever changed while nobody listened is unknown: start empty. */
        product_cache_invalidate(c, NULL);
        atomic_store(&c->live, true);
        while (!atomic_load(&c->stop) &&
               souk_db_wait_notify(conn, LISTEN_WAIT_MS, on_notify, c, &notified) == SOUK_OK)
            ;
        atomic_store(&c->live, false);
        product_cache_invalidate(c, NULL);
        souk_db_disconnect(conn);
    }
    return NULL;
}

product_cache_t *product_cache_new(souk_db_pool_t *db, size_t entries, souk_metrics_t *m)
{
    static const char *const result[] = {"result", NULL};
    product_cache_t *c = souk_calloc(1, sizeof(*c));
    c->db = db;
    c->per_stripe = entries / STRIPES + 1;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&c->stripes[i].lock, NULL);
        c->stripes[i].slots = souk_calloc(c->per_stripe, sizeof(slot_t));
    }
    c->lookups = souk_metrics_counter(m, "product_cache_lookups_total",
                                      "Product reads by cache result (hit, miss, off).", result);
    c->started = pthread_create(&c->listener, NULL, listen_main, c) == 0;
    return c;
}

void product_cache_free(product_cache_t *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, true);
    if (c->started)
        pthread_join(c->listener, NULL);
    evict_all(c);
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_destroy(&c->stripes[i].lock);
        souk_free(c->stripes[i].slots);
    }
    souk_free(c);
}

bool product_cache_live(product_cache_t *c)
{
    return c && atomic_load(&c->live);
}

bool product_cache_get(product_cache_t *c, const char *id, souk_arena_t *arena,
                       product_cached_t *out)
{
    if (!product_cache_live(c)) {
        if (c)
            souk_metric_inc(c->lookups, (const char *[]){"off"}, 1);
        return false;
    }
    stripe_t *st;
    slot_t *s = slot_of(c, id, &st);
    pthread_mutex_lock(&st->lock);
    bool hit = s->json && strcasecmp(s->id, id) == 0;
    if (hit) {
        out->json = souk_arena_strndup(arena, s->json, s->len);
        out->len = s->len;
        memcpy(out->etag, s->etag, sizeof(out->etag));
    }
    pthread_mutex_unlock(&st->lock);
    souk_metric_inc(c->lookups, (const char *[]){hit ? "hit" : "miss"}, 1);
    return hit;
}

unsigned long product_cache_mark(product_cache_t *c)
{
    return c ? atomic_load(&c->seq) : 0;
}

void product_etag(const char *json, size_t len, char out[20])
{
    uint8_t h[8];
    char hex[17];
    crypto_generichash(h, sizeof(h), (const uint8_t *)json, len, NULL, 0);
    souk_hex(h, sizeof(h), hex);
    snprintf(out, 20, "\"%s\"", hex);
}

void product_cache_put(product_cache_t *c, unsigned long mark, const char *id, const char *json,
                       size_t len, const char etag[20])
{
    if (!product_cache_live(c))
        return;
    stripe_t *st;
    slot_t *s = slot_of(c, id, &st);
    pthread_mutex_lock(&st->lock);
    /* Checked under the lock that eviction takes too: an invalidation that
     * lands after this check evicts what is stored here. */
    if (atomic_load(&c->seq) == mark) {
        slot_clear(s);
        snprintf(s->id, sizeof(s->id), "%s", id);
        s->json = souk_strndup(json, len);
        s->len = len;
        memcpy(s->etag, etag, sizeof(s->etag));
    }
    pthread_mutex_unlock(&st->lock);
}
