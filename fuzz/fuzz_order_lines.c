/* fuzz_order_lines: order-service's POST /orders body rules
 * (order_parse_lines, then order_lines_hash on what they accept) on
 * arbitrary JSON. Accepted lines must be what order.h promises: 1 to
 * ORDER_MAX_ITEMS distinct lower-case UUIDs with quantities in range, from a
 * body with no unknown fields; the hash must not depend on line order. */
#include "fuzz_common.h"
#include "order.h"

static bool is_hex64(const char *s)
{
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[64] == '\0';
}

static void check_accepted(json_t *body, const order_line_t *lines, size_t n)
{
    FUZZ_CHECK(n >= 1 && n <= ORDER_MAX_ITEMS);
    FUZZ_CHECK(json_object_size(body) == 1);
    json_t *items = json_object_get(body, "items");
    FUZZ_CHECK(json_is_array(items) && json_array_size(items) >= n);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *key;
        json_t *value;
        FUZZ_CHECK(json_is_object(item));
        json_object_foreach(item, key, value)
            FUZZ_CHECK(strcmp(key, "product_id") == 0 || strcmp(key, "quantity") == 0);
    }
    long long total = 0;
    for (size_t a = 0; a < n; a++) {
        const char *id = lines[a].product_id;
        FUZZ_CHECK(strlen(id) == SOUK_UUID_STRLEN && souk_uuid_valid(id, SOUK_UUID_STRLEN));
        for (const char *p = id; *p; p++)
            FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
        FUZZ_CHECK(lines[a].quantity >= 1 && lines[a].quantity <= ORDER_MAX_QUANTITY);
        for (size_t b = 0; b < a; b++)
            FUZZ_CHECK(strcmp(lines[a].product_id, lines[b].product_id) != 0);
        total += lines[a].quantity;
    }
    FUZZ_CHECK(total >= (long long)n);

    char hash[65], again[65];
    order_line_t reversed[ORDER_MAX_ITEMS];
    for (size_t a = 0; a < n; a++)
        reversed[a] = lines[n - 1 - a];
    order_lines_hash(lines, n, hash);
    order_lines_hash(reversed, n, again);
    FUZZ_CHECK(is_hex64(hash));
    FUZZ_CHECK(strcmp(hash, again) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    json_object_seed(1); /* reproducible hashing across runs */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The flags souk_http_body_object() parses request bodies with. */
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(body)) {
        json_decref(body);
        return 0;
    }
    souk_valid_t v;
    order_line_t lines[ORDER_MAX_ITEMS];
    souk_valid_init(&v);
    size_t n = order_parse_lines(&v, body, lines);
    fuzz_check_errors(v.errors);
    if (souk_valid_ok(&v))
        check_accepted(body, lines, n);
    else
        FUZZ_CHECK(n == 0);
    souk_valid_cleanup(&v);
    json_decref(body);
    return 0;
}
