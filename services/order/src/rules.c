/* rules.c: order lines and the status state machine, free of HTTP and SQL. */
#include "order.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[ORDER__STATUS_COUNT] = {
    [ORDER_PENDING] = "pending",
    [ORDER_CONFIRMED] = "confirmed",
    [ORDER_REJECTED] = "rejected",
    [ORDER_CANCELLED] = "cancelled",
};

/* transitions[from][to] */
static const bool transitions[ORDER__STATUS_COUNT][ORDER__STATUS_COUNT] = {
    [ORDER_PENDING] = {[ORDER_CONFIRMED] = true, [ORDER_REJECTED] = true, [ORDER_CANCELLED] = true},
    [ORDER_CONFIRMED] = {[ORDER_CANCELLED] = true},
};

const char *order_status_name(order_status_t s)
{
    return (unsigned)s < ORDER__STATUS_COUNT ? status_names[s] : "unknown";
}

bool order_status_parse(const char *name, order_status_t *out)
{
    for (int i = 0; name && i < ORDER__STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *out = (order_status_t)i;
            return true;
        }
    return false;
}

bool order_transition_allowed(order_status_t from, order_status_t to)
{
    return (unsigned)from < ORDER__STATUS_COUNT && (unsigned)to < ORDER__STATUS_COUNT &&
           transitions[from][to];
}

static bool parse_line(souk_valid_t *v, json_t *item, size_t i, order_line_t *out)
{
    char field[64];
    snprintf(field, sizeof(field), "items[%zu]", i);
    if (!json_is_object(item)) {
        souk_valid_error(v, field, "must be an object with product_id and quantity");
        return false;
    }
    size_t before = json_array_size(v->errors);
    const char *id = NULL;
    char f_id[80], f_qty[80];
    snprintf(f_id, sizeof(f_id), "%s.product_id", field);
    snprintf(f_qty, sizeof(f_qty), "%s.quantity", field);
    const char *key;
    json_t *value;
    json_object_foreach(item, key, value) if (strcmp(key, "product_id") && strcmp(key, "quantity"))
        souk_valid_error(v, field, "has an unknown field \"%s\"", key);
    if (souk_valid_string(v, item, "product_id", SOUK_FIELD_REQUIRED, 1, 64, &id) &&
        !souk_uuid_valid(id, strlen(id)))
        souk_valid_error(v, "product_id", "must be a UUID");
    souk_valid_integer(v, item, "quantity", SOUK_FIELD_REQUIRED, 1, ORDER_MAX_QUANTITY,
                       &out->quantity);
    /* souk_valid_* name the bare field; qualify the new errors with the line. */
    for (size_t e = before; e < json_array_size(v->errors); e++) {
        json_t *err = json_array_get(v->errors, e);
        const char *f = json_string_value(json_object_get(err, "field"));
        if (strcmp(f, "product_id") == 0)
            json_object_set_new(err, "field", json_string(f_id));
        else if (strcmp(f, "quantity") == 0)
            json_object_set_new(err, "field", json_string(f_qty));
    }
    if (json_array_size(v->errors) != before)
        return false;
    snprintf(out->product_id, sizeof(out->product_id), "%s", id);
    for (char *p = out->product_id; *p; p++) /* one spelling per product */
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    return true;
}

size_t order_parse_lines(souk_valid_t *v, json_t *body, order_line_t lines[ORDER_MAX_ITEMS])
{
    souk_valid_known(v, body, (const char *const[]){"items", NULL});
    json_t *items = json_object_get(body, "items");
    if (!json_is_array(items) || json_array_size(items) == 0 ||
        json_array_size(items) > ORDER_MAX_ITEMS) {
        souk_valid_error(v, "items", "must be an array of 1 to %d lines", ORDER_MAX_ITEMS);
        return 0;
    }
    size_t n = 0, i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        order_line_t line;
        if (!parse_line(v, item, i, &line))
            continue;
        size_t j = 0;
        while (j < n && strcmp(lines[j].product_id, line.product_id) != 0)
            j++;
        if (j == n)
            lines[n++] = line;
        else if ((lines[j].quantity += line.quantity) > ORDER_MAX_QUANTITY)
            souk_valid_error(v, "items", "product %s is ordered more than %d times in total",
                             line.product_id, ORDER_MAX_QUANTITY);
    }
    return souk_valid_ok(v) ? n : 0;
}

static int by_product(const void *a, const void *b)
{
    return strcmp(((const order_line_t *)a)->product_id, ((const order_line_t *)b)->product_id);
}

void order_lines_hash(const order_line_t *lines, size_t n, char out[65])
{
    order_line_t sorted[ORDER_MAX_ITEMS];
    memcpy(sorted, lines, n * sizeof(*lines));
    qsort(sorted, n, sizeof(*sorted), by_product);
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    for (size_t i = 0; i < n; i++) {
        char q[24];
        int len = snprintf(q, sizeof(q), ":%lld;", sorted[i].quantity);
        crypto_generichash_update(&st, (const uint8_t *)sorted[i].product_id, SOUK_UUID_STRLEN);
        crypto_generichash_update(&st, (const uint8_t *)q, (size_t)len);
    }
    uint8_t h[32];
    crypto_generichash_final(&st, h, sizeof(h));
    souk_hex(h, sizeof(h), out);
}
