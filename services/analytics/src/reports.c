/* reports.c: the reports as CSV (Accept: text/csv), from the same JSON the
 * JSON answers carry, so both always say the same. A header row comes
 * first; amounts per currency become one column per currency
 * (revenue_cents_USD, ...), in alphabetical order, with 0 where a row has
 * none. Text fields are quoted as RFC 4180 says and defused against
 * spreadsheet formulas. */
#include "analytics.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CURRENCIES 64

typedef struct {
    const char *names[MAX_CURRENCIES];
    size_t n;
} currencies_t;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds the keys of obj (a currency map) to set. */
static void collect(currencies_t *set, json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool seen = false;
        for (size_t i = 0; i < set->n && !seen; i++)
            seen = strcmp(set->names[i], key) == 0;
        if (!seen && set->n < MAX_CURRENCIES)
            set->names[set->n++] = key;
    }
    qsort(set->names, set->n, sizeof(set->names[0]), by_name);
}

static souk_err_t header_currencies(souk_buf_t *out, const currencies_t *set, const char *prefix)
{
    souk_err_t err = SOUK_OK;
    for (size_t i = 0; i < set->n && !err; i++)
        err = souk_buf_appendf(out, ",%s_%s", prefix, set->names[i]);
    return err;
}

static souk_err_t row_currencies(souk_buf_t *out, const currencies_t *set, json_t *map)
{
    souk_err_t err = SOUK_OK;
    for (size_t i = 0; i < set->n && !err; i++)
        err = souk_buf_appendf(out, ",%lld",
                               (long long)json_integer_value(json_object_get(map, set->names[i])));
    return err;
}

static long long num(json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

souk_err_t an_csv_summary(json_t *s, souk_buf_t *out)
{
    static const char *const cols[] = {"orders_placed",    "orders_confirmed", "orders_rejected",
                                       "orders_cancelled", "units_sold",       "new_users"};
    currencies_t cur = {0};
    json_t *revenue = json_object_get(s, "revenue_by_currency");
    json_t *average = json_object_get(s, "average_order_cents_by_currency");
    collect(&cur, revenue);
    souk_err_t err = SOUK_OK;
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cols) && !err; i++)
        err = souk_buf_appendf(out, "%s%s", i ? "," : "", cols[i]);
    if (!err)
        err = header_currencies(out, &cur, "revenue_cents");
    if (!err)
        err = header_currencies(out, &cur, "average_order_cents");
    if (!err)
        err = souk_buf_append(out, "\r\n", 2);
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cols) && !err; i++)
        err = souk_buf_appendf(out, "%s%lld", i ? "," : "", num(s, cols[i]));
    if (!err)
        err = row_currencies(out, &cur, revenue);
    if (!err)
        err = row_currencies(out, &cur, average);
    return err ? err : souk_buf_append(out, "\r\n", 2);
}

souk_err_t an_csv_sales(json_t *sales, souk_buf_t *out)
{
    json_t *items = json_object_get(sales, "items"), *it;
    currencies_t cur = {0};
    size_t i;
    json_array_foreach(items, i, it) collect(&cur, json_object_get(it, "revenue_by_currency"));
    souk_err_t err = souk_buf_appendf(out, "period_start,orders,units");
    if (!err)
        err = header_currencies(out, &cur, "revenue_cents");
    if (!err)
        err = souk_buf_append(out, "\r\n", 2);
    json_array_foreach(items, i, it)
    {
        if (err)
            break;
        err = souk_buf_appendf(out, "%s,%lld,%lld",
                               json_string_value(json_object_get(it, "period_start")),
                               num(it, "orders"), num(it, "units"));
        if (!err)
            err = row_currencies(out, &cur, json_object_get(it, "revenue_by_currency"));
        if (!err)
            err = souk_buf_append(out, "\r\n", 2);
    }
    return err;
}

souk_err_t an_csv_top_products(json_t *top, souk_buf_t *out)
{
    json_t *items = json_object_get(top, "items"), *it;
    size_t i;
    souk_err_t err = souk_buf_appendf(out, "product_id,name,units,revenue_cents,currency\r\n");
    json_array_foreach(items, i, it)
    {
        if (err)
            break;
        err = souk_buf_appendf(out, "%s,", json_string_value(json_object_get(it, "product_id")));
        if (!err)
            err = an_csv_field(out, json_string_value(json_object_get(it, "name")), true);
        if (!err)
            err = souk_buf_appendf(out, ",%lld,%lld,%s\r\n", num(it, "units"),
                                   num(it, "revenue_cents"),
                                   json_string_value(json_object_get(it, "currency")));
    }
    return err;
}

souk_err_t an_csv_categories(json_t *cats, souk_buf_t *out)
{
    json_t *items = json_object_get(cats, "items"), *it;
    currencies_t cur = {0};
    size_t i;
    json_array_foreach(items, i, it) collect(&cur, json_object_get(it, "revenue_by_currency"));
    souk_err_t err = souk_buf_appendf(out, "category,units");
    if (!err)
        err = header_currencies(out, &cur, "revenue_cents");
    if (!err)
        err = souk_buf_append(out, "\r\n", 2);
    json_array_foreach(items, i, it)
    {
        if (err)
            break;
        err = an_csv_field(out, json_string_value(json_object_get(it, "category")), true);
        if (!err)
            err = souk_buf_appendf(out, ",%lld", num(it, "units"));
        if (!err)
            err = row_currencies(out, &cur, json_object_get(it, "revenue_by_currency"));
        if (!err)
            err = souk_buf_append(out, "\r\n", 2);
    }
    return err;
}
