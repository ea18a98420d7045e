/* print.c: text for messages: types ("[Int!]!"), value literals and JSON
 * values printed the way graphql-js prints them (print(), inspect()), and the
 * "Did you mean ...?" suggestions (suggestionList, naturalCompare). Output
 * goes to bounded buffers and is simply cut at their maximum: a message is
 * never worth failing a request over. Nothing here is needed for results. */
#include "gql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void souk_gql__putn(souk_buf_t *b, const char *s, size_t n)
{
    if (souk_buf_append(b, s, n) == SOUK_OK || b->len >= b->max)
        return;
    if (souk_buf_append(b, s, b->max - b->len) != SOUK_OK)
        return; /* cannot happen: that much fits */
}

void souk_gql__put(souk_buf_t *b, const char *s)
{
    souk_gql__putn(b, s, strlen(s));
}

void souk_gql__putf(souk_buf_t *b, const char *fmt, ...)
{
    char tmp[GQL_MAX_MESSAGE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        souk_gql__putn(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void souk_gql__print_tref(souk_buf_t *b, const gql_tref_t *t)
{
    if (!t)
        return;
    if (t->kind == GQL_T_NAMED) {
        souk_gql__put(b, t->named->name);
    } else if (t->kind == GQL_T_LIST) {
        souk_gql__put(b, "[");
        souk_gql__print_tref(b, t->of);
        souk_gql__put(b, "]");
    } else {
        souk_gql__print_tref(b, t->of);
        souk_gql__put(b, "!");
    }
}

void souk_gql__print_typeref(souk_buf_t *b, const gql_typeref_t *t)
{
    if (!t)
        return;
    if (t->kind == GQL_T_NAMED) {
        souk_gql__put(b, t->name);
    } else if (t->kind == GQL_T_LIST) {
        souk_gql__put(b, "[");
        souk_gql__print_typeref(b, t->of);
        souk_gql__put(b, "]");
    } else {
        souk_gql__print_typeref(b, t->of);
        souk_gql__put(b, "!");
    }
}

/* printString: JSON-like, with graphql-js's escapes for C0 and C1 controls. */
void souk_gql__print_string(souk_buf_t *b, const char *s, size_t n)
{
    souk_gql__put(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            snprintf(esc, sizeof(esc), "\\%c", c);
        } else if (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r') {
            snprintf(esc, sizeof(esc), "\\%c", "btnfr"[strchr("\b\t\n\f\r", c) - "\b\t\n\f\r"]);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\u%04X", c);
        } else if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] <= 0x9f) {
            snprintf(esc, sizeof(esc), "\\u%04X", (unsigned char)s[++i]);
        } else {
            souk_gql__putn(b, s + i, 1);
            continue;
        }
        souk_gql__put(b, esc);
    }
    souk_gql__put(b, "\"");
}

static void print_value(souk_buf_t *b, const gql_value_t *v, bool sorted);

static int cmp_fields(const void *x, const void *y)
{
    const gql_value_t *a = *(const gql_value_t *const *)x, *c = *(const gql_value_t *const *)y;
    return souk_gql__natural_compare(a->name, c->name);
}

static void print_object(souk_buf_t *b, const gql_value_t *v, bool sorted)
{
    const gql_value_t **f = souk_calloc(v->count ? v->count : 1, sizeof(*f));
    size_t n = 0;
    for (const gql_value_t *i = v->items; i; i = i->next)
        f[n++] = i;
    if (sorted)
        qsort(f, n, sizeof(*f), cmp_fields);
    souk_gql__put(b, "{");
    for (size_t i = 0; i < n; i++) {
        souk_gql__put(b, i ? ", " : "");
        souk_gql__put(b, f[i]->name);
        souk_gql__put(b, ": ");
        print_value(b, f[i], sorted);
    }
    souk_gql__put(b, "}");
    souk_free(f);
}

static void print_value(souk_buf_t *b, const gql_value_t *v, bool sorted)
{
    switch (v->kind) {
    case GQL_V_VAR:
        souk_gql__put(b, "$");
        souk_gql__put(b, v->str);
        break;
    case GQL_V_INT:
    case GQL_V_FLOAT:
    case GQL_V_ENUM:
        souk_gql__putn(b, v->str, v->len);
        break;
    case GQL_V_STRING:
        /* for comparisons block strings keep their kind, as graphql-js's printed
         * forms do; elsewhere a string prints as a plain string */
        if (v->block && sorted)
            souk_gql__put(b, "\"\"");
        souk_gql__print_string(b, v->str, v->len);
        if (v->block && sorted)
            souk_gql__put(b, "\"\"");
        break;
    case GQL_V_BOOL:
        souk_gql__put(b, v->boolean ? "true" : "false");
        break;
    case GQL_V_NULL:
        souk_gql__put(b, "null");
        break;
    case GQL_V_LIST:
        souk_gql__put(b, "[");
        for (const gql_value_t *i = v->items; i; i = i->next) {
            souk_gql__put(b, i == v->items ? "" : ", ");
            print_value(b, i, sorted);
        }
        souk_gql__put(b, "]");
        break;
    case GQL_V_OBJECT:
        print_object(b, v, sorted);
        break;
    }
}

void souk_gql__print_value(souk_buf_t *b, const gql_value_t *v)
{
    print_value(b, v, false);
}

void souk_gql__print_value_sorted(souk_buf_t *b, const gql_value_t *v)
{
    print_value(b, v, true);
}

static void inspect(souk_buf_t *b, const json_t *j, int depth)
{
    size_t i;
    const char *key;
    json_t *item;
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        if (json_object_size(j) == 0) {
            souk_gql__put(b, "{}");
            break;
        }
        if (depth > 2) {
            souk_gql__put(b, "[Object]");
            break;
        }
        souk_gql__put(b, "{ ");
        i = 0;
        json_object_foreach((json_t *)j, key, item)
        {
            souk_gql__putf(b, "%s%s: ", i++ ? ", " : "", key);
            inspect(b, item, depth + 1);
        }
        souk_gql__put(b, " }");
        break;
    case JSON_ARRAY:
        if (depth > 2 && json_array_size(j)) {
            souk_gql__put(b, "[Array]");
            break;
        }
        souk_gql__put(b, "[");
        json_array_foreach((json_t *)j, i, item)
        {
            if (i == 10) {
                size_t rest = json_array_size(j) - 10;
                souk_gql__putf(b, ", ... %zu more item%s", rest, rest == 1 ? "" : "s");
                break;
            }
            souk_gql__put(b, i ? ", " : "");
            inspect(b, item, depth + 1);
        }
        souk_gql__put(b, "]");
        break;
    case JSON_STRING:
        souk_gql__print_string(b, json_string_value(j), json_string_length(j));
        break;
    default: {
        char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
        souk_gql__put(b, s ? s : "?");
        free(s);
    }
    }
}

void souk_gql__inspect_json(souk_buf_t *b, const json_t *j)
{
    if (!j)
        souk_gql__put(b, "undefined");
    else
        inspect(b, j, 0);
}

/* ---- suggestions ------------------------------------------------------------- */

int souk_gql__natural_compare(const char *a, const char *b)
{
    size_t i = 0, j = 0, la = strlen(a), lb = strlen(b);
    while (i < la && j < lb) {
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[j];
        if (ca >= '0' && ca <= '9' && cb >= '0' && cb <= '9') {
            unsigned long long na = 0, nb = 0;
            do {
                na = na * 10 + (unsigned)(a[i++] - '0');
            } while (i < la && a[i] >= '0' && a[i] <= '9' && na > 0);
            do {
                nb = nb * 10 + (unsigned)(b[j++] - '0');
            } while (j < lb && b[j] >= '0' && b[j] <= '9' && nb > 0);
            if (na != nb)
                return na < nb ? -1 : 1;
        } else {
            if (ca != cb)
                return ca < cb ? -1 : 1;
            i++;
            j++;
        }
    }
    return (la > lb) - (la < lb);
}

static void lower(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[i] = '\0';
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* LexicalDistance.measure (Damerau-Levenshtein, case-insensitive); SIZE_MAX
 * when over threshold. Names are at most 128 bytes long here. */
static size_t distance(const char *input, const char *option, size_t threshold)
{
    char a[129], b[129];
    if (strcmp(input, option) == 0)
        return 0;
    lower(option, a, sizeof(a));
    lower(input, b, sizeof(b));
    if (strcmp(a, b) == 0)
        return 1;
    size_t la = strlen(a), lb = strlen(b);
    if (la < lb) {
        char t[129];
        memcpy(t, a, sizeof(t));
        memcpy(a, b, sizeof(a));
        memcpy(b, t, sizeof(b));
        size_t tl = la;
        la = lb;
        lb = tl;
    }
    if (la - lb > threshold)
        return SIZE_MAX;
    size_t rows[3][130];
    for (size_t j = 0; j <= lb; j++)
        rows[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *up = rows[(i - 1) % 3], *cur = rows[i % 3], smallest = cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t cell = min3(up[j] + 1, cur[j - 1] + 1, up[j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                size_t dd = rows[(i - 2) % 3][j - 2] + 1;
                cell = cell < dd ? cell : dd;
            }
            smallest = cell < smallest ? cell : smallest;
            cur[j] = cell;
        }
        if (smallest > threshold)
            return SIZE_MAX;
    }
    size_t d = rows[la % 3][lb];
    return d <= threshold ? d : SIZE_MAX;
}

typedef struct {
    const char *name;
    size_t dist;
} cand_t;

static int cmp_cand(const void *x, const void *y)
{
    const cand_t *a = x, *b = y;
    if (a->dist != b->dist)
        return a->dist < b->dist ? -1 : 1;
    return souk_gql__natural_compare(a->name, b->name);
}

void souk_gql__did_you_mean(souk_buf_t *b, const char *input, const char *const *options, size_t n,
                            const char *prefix)
{
    if (n == 0 || (input && strlen(input) > 128))
        return;
    cand_t *c = souk_calloc(n, sizeof(*c));
    size_t k = 0, threshold = input ? strlen(input) * 4 / 10 + 1 : 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = !input                     ? 0
                   : strlen(options[i]) > 128 ? SIZE_MAX
                                              : distance(input, options[i], threshold);
        if (d != SIZE_MAX)
            c[k++] = (cand_t){options[i], d};
    }
    if (input)
        qsort(c, k, sizeof(*c), cmp_cand);
    if (k > 0) {
        size_t shown = k > 5 ? 5 : k;
        souk_gql__put(b, " Did you mean ");
        if (prefix)
            souk_gql__putf(b, "%s ", prefix);
        for (size_t i = 0; i < shown; i++) {
            const char *sep = i == 0 ? "" : shown == 2 ? " or " : i + 1 == shown ? ", or " : ", ";
            souk_gql__putf(b, "%s\"%s\"", sep, c[i].name);
        }
        souk_gql__put(b, "?");
    }
    souk_free(c);
}
