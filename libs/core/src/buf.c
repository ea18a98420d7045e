/* buf.c: a bounded, growable byte buffer (curl's dynbuf idea): it refuses to
 * grow past its maximum instead of letting input decide how much we allocate. */
#include <souk/core.h>

#include <stdio.h>
#include <string.h>

void souk_buf_init(souk_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void souk_buf_cleanup(souk_buf_t *b)
{
    souk_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static souk_err_t reserve(souk_buf_t *b, size_t extra)
{
    if (extra > b->max || b->len + extra > b->max)
        return SOUK_ELIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return SOUK_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    b->data = souk_realloc(b->data, cap);
    b->cap = cap;
    return SOUK_OK;
}

souk_err_t souk_buf_append(souk_buf_t *b, const void *p, size_t n)
{
    souk_err_t err = reserve(b, n);
    if (err)
        return err;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SOUK_OK;
}

souk_err_t souk_buf_appendf(souk_buf_t *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    souk_err_t err = n < 0 ? SOUK_EINVAL : reserve(b, (size_t)n);
    if (err == SOUK_OK) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    return err;
}

char *souk_buf_steal(souk_buf_t *b, size_t *len)
{
    if (!b->data && souk_buf_append(b, "", 0) != SOUK_OK)
        return NULL;
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
