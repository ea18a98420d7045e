/* arena.c: per-request bump allocator with deferred destructors. Chunks grow
 * geometrically; big requests get their own chunk. Not thread-safe: an arena
 * belongs to the request (thread) that created it. */
#include <souk/core.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARENA_FIRST_CHUNK 4096
#define ARENA_ALIGN       16

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
} chunk_t;

typedef struct deferred {
    struct deferred *next;
    void (*fn)(void *);
    void *ptr;
} deferred_t;

struct souk_arena {
    chunk_t *chunks;
    deferred_t *deferred;
    size_t next_size;
};

souk_arena_t *souk_arena_new(void)
{
    souk_arena_t *a = souk_calloc(1, sizeof(*a));
    a->next_size = ARENA_FIRST_CHUNK;
    return a;
}

void souk_arena_free(souk_arena_t *a)
{
    if (!a)
        return;
    /* Destructors first: they may reference arena memory. */
    for (deferred_t *d = a->deferred; d; d = d->next)
        d->fn(d->ptr);
    chunk_t *c = a->chunks;
    while (c) {
        chunk_t *next = c->next;
        souk_free(c);
        c = next;
    }
    souk_free(a);
}

/* A size that would wrap around when rounded up or added to the chunk
 * header is no request anyone can satisfy: treat it as exhaustion. */
#define ARENA_MAX_ALLOC (SIZE_MAX / 2)

void *souk_arena_alloc(souk_arena_t *a, size_t n)
{
    if (n > ARENA_MAX_ALLOC)
        souk_die_oom(n);
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    chunk_t *c = a->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = n > a->next_size ? n : a->next_size;
        if (a->next_size < (1u << 20))
            a->next_size *= 2;
        c = souk_malloc(sizeof(*c) + size);
        c->size = size;
        c->used = 0;
        c->next = a->chunks;
        a->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

char *souk_arena_strndup(souk_arena_t *a, const char *s, size_t n)
{
    if (n > ARENA_MAX_ALLOC)
        souk_die_oom(n);
    char *d = souk_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *souk_arena_strdup(souk_arena_t *a, const char *s)
{
    return souk_arena_strndup(a, s, strlen(s));
}

char *souk_arena_printf(souk_arena_t *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *s = souk_arena_alloc(a, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

void souk_arena_defer(souk_arena_t *a, void (*fn)(void *), void *ptr)
{
    if (!ptr)
        return;
    deferred_t *d = souk_arena_alloc(a, sizeof(*d));
    d->fn = fn;
    d->ptr = ptr;
    d->next = a->deferred;
    a->deferred = d;
}

static void decref(void *p)
{
    json_decref(p);
}

json_t *souk_arena_json(souk_arena_t *a, json_t *j)
{
    souk_arena_defer(a, decref, j);
    return j;
}
