/* alloc.c: the single allocation entry point. Out of memory is fatal by design
 * (see core.h); callers therefore never test for NULL. */
#include <souk/core.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void souk_die_oom(size_t n)
{
    /* The logger may itself need memory; write the line directly. */
    fprintf(stdout, "{\"log.level\":\"error\",\"message\":\"out of memory\",\"size\":%zu}\n", n);
    fflush(stdout);
    abort();
}

void *souk_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        souk_die_oom(n);
    return p;
}

void *souk_calloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p)
        souk_die_oom(count * n);
    return p;
}

void *souk_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        souk_die_oom(n);
    return q;
}

char *souk_strndup(const char *s, size_t n)
{
    if (n == SIZE_MAX)
        souk_die_oom(n);
    char *d = souk_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *souk_strdup(const char *s)
{
    return souk_strndup(s, strlen(s));
}

void souk_free(void *p)
{
    free(p);
}
