/* fuzz_product_input: product-service's create/patch body validation
 * (product_parse_input) on arbitrary JSON, as POST /products and
 * PATCH /products/{id} receive it. Beyond "no crash, no leak", a body the
 * rules accept must satisfy what the store relies on. */
#include "fuzz_common.h"
#include "product.h"

static const char *const known[] = {"name",  "description", "price_cents", "currency",
                                    "stock", "category",    "sku",         NULL};

static bool is_known(const char *key)
{
    for (size_t i = 0; known[i]; i++)
        if (strcmp(key, known[i]) == 0)
            return true;
    return false;
}

/* s borrows from the member field of body, is NUL-free and within bounds. */
static void check_text(json_t *body, const char *field, const char *s, size_t max_chars)
{
    if (!s)
        return;
    json_t *m = json_object_get(body, field);
    FUZZ_CHECK(json_is_string(m) && json_string_value(m) == s);
    FUZZ_CHECK(strlen(s) == json_string_length(m));
    FUZZ_CHECK(souk_utf8_chars(s) <= max_chars);
}

static void check_accepted(json_t *body, bool patch, const product_input_t *in)
{
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value) FUZZ_CHECK(is_known(key));
    if (patch) {
        FUZZ_CHECK(json_object_size(body) > 0);
    } else {
        FUZZ_CHECK(in->name && *in->name);
        FUZZ_CHECK(in->has_price && in->has_stock);
        FUZZ_CHECK(in->currency && strlen(in->currency) == 3);
    }
    check_text(body, "name", in->name, PRODUCT_NAME_MAX);
    if (in->name)
        FUZZ_CHECK(in->name[strspn(in->name, " \t\r\n")] != '\0');
    check_text(body, "description", in->description, PRODUCT_DESCRIPTION_MAX);
    check_text(body, "category", in->category, PRODUCT_CATEGORY_MAX);
    check_text(body, "sku", in->sku, PRODUCT_SKU_MAX);
    if (in->currency && json_object_get(body, "currency"))
        check_text(body, "currency", in->currency, 3);
    if (in->currency)
        for (int i = 0; i < 3; i++)
            FUZZ_CHECK(in->currency[i] >= 'A' && in->currency[i] <= 'Z');
    if (in->has_price)
        FUZZ_CHECK(in->price_cents >= 0 && in->price_cents <= PRODUCT_PRICE_MAX);
    if (in->has_stock)
        FUZZ_CHECK(in->stock >= 0 && in->stock <= PRODUCT_STOCK_MAX);
    FUZZ_CHECK(in->has_category == (json_object_get(body, "category") != NULL));
    FUZZ_CHECK(in->has_sku == (json_object_get(body, "sku") != NULL));
    FUZZ_CHECK(in->has_description == (json_object_get(body, "description") != NULL));
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
    for (int patch = 0; patch <= 1; patch++) {
        souk_valid_t v;
        product_input_t in;
        souk_valid_init(&v);
        product_parse_input(&v, body, patch, &in);
        fuzz_check_errors(v.errors);
        if (souk_valid_ok(&v))
            check_accepted(body, patch, &in);
        souk_valid_cleanup(&v);
    }
    json_decref(body);
    return 0;
}
