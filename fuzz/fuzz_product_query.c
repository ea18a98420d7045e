/* fuzz_product_query: GET /products list-query parsing (product_parse_query)
 * on an arbitrary query string "k=v&k=v". The getter decodes like the HTTP
 * server does (percent escapes, '+' as space, the first of repeated keys) and
 * stops a value at a decoded NUL, as a C string would. */
#include "fuzz_common.h"
#include "product.h"

#define MAX_PARAMS 64

typedef struct {
    size_t n;
    char *key[MAX_PARAMS], *value[MAX_PARAMS];
} params_t;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (!out)
        abort();
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '+')
            *o++ = ' ';
        else if (s[i] == '%' && i + 2 < len && (hi = hexval(s[i + 1])) >= 0 &&
                 (lo = hexval(s[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else
            *o++ = s[i];
    }
    *o = '\0';
    return out;
}

static void params_parse(params_t *p, const char *qs, size_t len)
{
    p->n = 0;
    size_t start = 0;
    while (start <= len && p->n < MAX_PARAMS) {
        const char *amp = memchr(qs + start, '&', len - start);
        size_t end = amp ? (size_t)(amp - qs) : len;
        const char *eq = memchr(qs + start, '=', end - start);
        size_t klen = eq ? (size_t)(eq - (qs + start)) : end - start;
        if (end > start) {
            p->key[p->n] = decode(qs + start, klen);
            p->value[p->n] = eq ? decode(eq + 1, end - klen - start - 1) : decode("", 0);
            p->n++;
        }
        if (!amp)
            break;
        start = end + 1;
    }
}

static void params_free(params_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->key[i]);
        free(p->value[i]);
    }
}

static const char *get(const void *src, const char *name)
{
    const params_t *p = src;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->key[i], name) == 0)
            return p->value[i];
    return NULL;
}

static void check_accepted(const params_t *p, const product_query_t *q)
{
    FUZZ_CHECK(!q->q || (*q->q && q->q == get(p, "q")));
    FUZZ_CHECK(!q->category || q->category == get(p, "category"));
    if (q->category)
        FUZZ_CHECK(*q->category && strlen(q->category) <= PRODUCT_CATEGORY_MAX);
    FUZZ_CHECK(q->has_min == (get(p, "min_price") != NULL));
    FUZZ_CHECK(q->has_max == (get(p, "max_price") != NULL));
    if (q->has_min)
        FUZZ_CHECK(q->min_price >= 0 && q->min_price <= PRODUCT_PRICE_MAX);
    if (q->has_max)
        FUZZ_CHECK(q->max_price >= 0 && q->max_price <= PRODUCT_PRICE_MAX);
    if (q->has_min && q->has_max)
        FUZZ_CHECK(q->min_price <= q->max_price);
    FUZZ_CHECK(q->sort >= SORT_CREATED_DESC && q->sort <= SORT_NAME_ASC);
    FUZZ_CHECK(q->page.page >= 1 && q->page.page <= 1000000);
    FUZZ_CHECK(q->page.limit >= 1 && q->page.limit <= 100);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    params_t p;
    params_parse(&p, size ? (const char *)data : "", size);
    souk_valid_t v;
    product_query_t q;
    souk_valid_init(&v);
    product_parse_query(&v, get, &p, &q);
    fuzz_check_errors(v.errors);
    if (souk_valid_ok(&v))
        check_accepted(&p, &q);
    souk_valid_cleanup(&v);
    params_free(&p);
    return 0;
}
