/* guesses.c: the planner's estimates of searches, remembered for a while.
 * A search alone asks PostgreSQL to plan it (EXPLAIN) before choosing how to
 * run it; shoppers repeat searches, and an estimate only chooses a plan,
 * while the answer's exactness is checked by the plan itself (see store.c),
 * so an estimate a minute old serves as well as the planner's statistics,
 * which are older. The table is bounded and direct-mapped; a collision just
 * replaces. */
#include "product.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *q; /* NULL when empty */
    double matches, rows;
    uint64_t expires_ns;
} guess_t;

struct product_guesses {
    pthread_mutex_t lock;
    size_t n;
    uint64_t ttl_ns;
    guess_t *slots;
};

product_guesses_t *product_guesses_new(size_t entries, long ttl_ms)
{
    product_guesses_t *g = souk_calloc(1, sizeof(*g));
    g->n = entries ? entries : 1;
    g->ttl_ns = (uint64_t)(ttl_ms > 0 ? ttl_ms : 0) * 1000000ull;
    g->slots = souk_calloc(g->n, sizeof(*g->slots));
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

void product_guesses_free(product_guesses_t *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        souk_free(g->slots[i].q);
    pthread_mutex_destroy(&g->lock);
    souk_free(g->slots);
    souk_free(g);
}

/* Searches ignore case; ASCII is folded here so "Mor" and "mor" share. */
static guess_t *slot_of(product_guesses_t *g, const char *q)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = q; *p; p++)
        h = (h ^ (uint8_t)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p)) * 1099511628211ull;
    return &g->slots[h % g->n];
}

bool product_guesses_get(product_guesses_t *g, const char *q, double *matches, double *rows)
{
    bool hit = false;
    pthread_mutex_lock(&g->lock);
    guess_t *s = slot_of(g, q);
    if (s->q && strcasecmp(s->q, q) == 0 && souk_now_mono_ns() < s->expires_ns) {
        *matches = s->matches;
        *rows = s->rows;
        hit = true;
    }
    pthread_mutex_unlock(&g->lock);
    return hit;
}

void product_guesses_put(product_guesses_t *g, const char *q, double matches, double rows)
{
    char *copy = souk_strdup(q);
    pthread_mutex_lock(&g->lock);
    guess_t *s = slot_of(g, q);
    char *old = s->q;
    *s = (guess_t){copy, matches, rows, souk_now_mono_ns() + g->ttl_ns};
    pthread_mutex_unlock(&g->lock);
    souk_free(old);
}
