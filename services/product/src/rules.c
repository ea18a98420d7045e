/* rules.c: product input and list-query rules, free of HTTP and SQL. */
#include "product.h"

#include <string.h>

/* Active ISO 4217 codes (funds and metals excluded). */
static const char iso4217[] =
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY "
    "KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP "
    "MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR "
    "RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS "
    "TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV WST XAF XCD XOF XPF YER "
    "ZAR ZMW ZWL";

static bool currency_valid(const char *c)
{
    if (strlen(c) != 3)
        return false;
    for (int i = 0; i < 3; i++)
        if (c[i] < 'A' || c[i] > 'Z')
            return false;
    for (const char *p = iso4217;; p += 4) {
        if (strncmp(p, c, 3) == 0)
            return true;
        if (p[3] == '\0')
            return false;
    }
}

static bool blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

/* sku and category may be null in a patch (cleared) but not empty. */
static void nullable_text(souk_valid_t *v, json_t *body, const char *field, size_t max, bool *has,
                          const char **out)
{
    json_t *m = json_object_get(body, field);
    *has = m != NULL;
    *out = NULL;
    if (m && !json_is_null(m) && souk_valid_string(v, body, field, 0, 1, max, out) && blank(*out))
        souk_valid_error(v, field, "must not be blank");
}

void product_parse_input(souk_valid_t *v, json_t *body, bool patch, product_input_t *in)
{
    static const char *const known[] = {"name",  "description", "price_cents", "currency",
                                        "stock", "category",    "sku",         NULL};
    int req = patch ? 0 : SOUK_FIELD_REQUIRED;
    memset(in, 0, sizeof(*in));
    souk_valid_known(v, body, known);
    if (patch && json_object_size(body) == 0)
        souk_valid_error(v, "body", "must change at least one field");
    if (souk_valid_string(v, body, "name", req, 1, PRODUCT_NAME_MAX, &in->name) && blank(in->name))
        souk_valid_error(v, "name", "must not be blank");
    /* null clears the description (stored as "") */
    in->has_description = json_object_get(body, "description") != NULL;
    souk_valid_string(v, body, "description", SOUK_FIELD_NULLABLE, 0, PRODUCT_DESCRIPTION_MAX,
                      &in->description);
    in->has_price =
        souk_valid_integer(v, body, "price_cents", req, 0, PRODUCT_PRICE_MAX, &in->price_cents);
    in->has_stock = souk_valid_integer(v, body, "stock", req, 0, PRODUCT_STOCK_MAX, &in->stock);
    if (souk_valid_string(v, body, "currency", 0, 3, 3, &in->currency) &&
        !currency_valid(in->currency))
        souk_valid_error(v, "currency", "must be an ISO 4217 code in upper case, like USD");
    else if (!json_object_get(body, "currency") && !patch)
        in->currency = "USD";
    nullable_text(v, body, "category", PRODUCT_CATEGORY_MAX, &in->has_category, &in->category);
    nullable_text(v, body, "sku", PRODUCT_SKU_MAX, &in->has_sku, &in->sku);
}

static void parse_price(souk_valid_t *v, product_param_fn get, const void *src, const char *name,
                        bool *has, long long *out)
{
    const char *s = get(src, name);
    long value;
    *has = s != NULL;
    if (s && souk_parse_long(s, strlen(s), 0, PRODUCT_PRICE_MAX, &value) != SOUK_OK)
        souk_valid_error(v, name, "must be an integer between 0 and %lld", PRODUCT_PRICE_MAX);
    else if (s)
        *out = value;
}

void product_parse_query(souk_valid_t *v, product_param_fn get, const void *src,
                         product_query_t *out)
{
    static const struct {
        const char *name;
        product_sort_t sort;
    } sorts[] = {{"-created_at", SORT_CREATED_DESC},
                 {"price", SORT_PRICE_ASC},
                 {"-price", SORT_PRICE_DESC},
                 {"name", SORT_NAME_ASC}};
    memset(out, 0, sizeof(*out));
    out->q = get(src, "q");
    if (out->q && !*out->q)
        out->q = NULL;
    if (out->q && souk_utf8_chars(out->q) > PRODUCT_NAME_MAX)
        souk_valid_error(v, "q", "must be at most %d characters", PRODUCT_NAME_MAX);
    out->category = get(src, "category");
    if (out->category && (!*out->category || strlen(out->category) > PRODUCT_CATEGORY_MAX))
        souk_valid_error(v, "category", "must be 1 to %d characters", PRODUCT_CATEGORY_MAX);
    parse_price(v, get, src, "min_price", &out->has_min, &out->min_price);
    parse_price(v, get, src, "max_price", &out->has_max, &out->max_price);
    if (out->has_min && out->has_max && out->min_price > out->max_price)
        souk_valid_error(v, "min_price", "must not exceed max_price");
    const char *sort = get(src, "sort");
    bool known = !sort;
    for (size_t i = 0; sort && i < SOUK_ARRAY_LEN(sorts); i++)
        if (strcmp(sort, sorts[i].name) == 0) {
            out->sort = sorts[i].sort;
            known = true;
        }
    if (!known)
        souk_valid_error(v, "sort", "must be one of price, -price, name, -created_at");
    souk_page_parse(v, get(src, "page"), get(src, "limit"), &out->page);
}
