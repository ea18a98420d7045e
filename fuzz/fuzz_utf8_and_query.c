/* fuzz_utf8_and_query: the small parsers under every request, each checked
 * against a plain reference written from its contract:
 *   souk_utf8_valid   on the whole input (RFC 3629: no overlongs, surrogates,
 *                     code points above U+10FFFF, or NULs);
 *   souk_parse_long   on each '&'/'=' separated slice, as query values reach it;
 *   souk_uuid_valid   on each slice (path ids);
 *   souk_trace_parse  on the whole input and on each slice (traceparent). */
#include "fuzz_common.h"

#include <limits.h>
#include <souk/core.h>
#include <souk/obs.h>

static bool ref_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint8_t lo = 0x80, hi = 0xBF; /* bounds of the second byte */
        if (c == 0x00)
            return false;
        if (c < 0x80)
            len = 1;
        else if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c == 0xE0)
            len = 3, lo = 0xA0;
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
            len = 3;
        else if (c == 0xED)
            len = 3, hi = 0x9F;
        else if (c == 0xF0)
            len = 4, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3)
            len = 4;
        else if (c == 0xF4)
            len = 4, hi = 0x8F;
        else
            return false;
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            uint8_t b = s[i + k];
            if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
                return false;
        }
        i += len;
    }
    return true;
}

/* -?[0-9]+ and within [min, max]; *out gets the value. */
static bool ref_long(const char *s, size_t len, long min, long max, long *out)
{
    size_t i = 0;
    bool neg = len > 0 && s[0] == '-';
    i = neg;
    if (i == len)
        return false;
    __int128 v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
        if (v > (__int128)LONG_MAX + 1)
            v = (__int128)LONG_MAX + 2; /* saturate: out of every range */
    }
    if (neg)
        v = -v;
    if (v < min || v > max)
        return false;
    *out = (long)v;
    return true;
}

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool ref_hex_id(const char *s, size_t n)
{
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        if (!is_lower_hex(s[i]))
            return false;
        nonzero |= s[i] != '0';
    }
    return nonzero;
}

/* W3C Trace Context, version 00: exactly 00-<32 hex>-<16 hex>-<2 hex>. */
static bool ref_trace(const char *s, size_t len)
{
    return len == SOUK_TRACEPARENT_LEN && memcmp(s, "00-", 3) == 0 && ref_hex_id(s + 3, 32) &&
           s[35] == '-' && ref_hex_id(s + 36, 16) && s[52] == '-' && is_lower_hex(s[53]) &&
           is_lower_hex(s[54]);
}

static bool ref_uuid(const char *s, size_t len)
{
    if (len != SOUK_UUID_STRLEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-'
                 : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
                     (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    }
    return true;
}

static void check_trace(const char *s, size_t len)
{
    souk_trace_t t;
    memset(&t, 0, sizeof(t));
    bool ok = souk_trace_parse(s, len, &t);
    FUZZ_CHECK(ok == ref_trace(s, len));
    if (!ok)
        return;
    FUZZ_CHECK(memcmp(t.trace_id, s + 3, 32) == 0 && t.trace_id[32] == '\0');
    FUZZ_CHECK(memcmp(t.parent_id, s + 36, 16) == 0 && t.parent_id[16] == '\0');
    FUZZ_CHECK(t.span_id[0] == '\0');
    unsigned flags = (unsigned)strtoul((char[]){s[53], s[54], 0}, NULL, 16);
    FUZZ_CHECK(t.flags == flags);

    /* Continuing the trace keeps its id and gives a fresh span. */
    char header[SOUK_TRACEPARENT_LEN + 1], out[SOUK_TRACEPARENT_LEN + 1];
    memcpy(header, s, len);
    header[len] = '\0';
    souk_trace_begin(&t, header);
    souk_trace_format(&t, out);
    FUZZ_CHECK(strlen(out) == SOUK_TRACEPARENT_LEN && memcmp(out, s, 35) == 0);
    FUZZ_CHECK(ref_trace(out, SOUK_TRACEPARENT_LEN));
}

static void check_long(const char *s, size_t len, long min, long max)
{
    long got = 0, want = 0;
    bool ok = souk_parse_long(s, len, min, max, &got) == SOUK_OK;
    bool ref = ref_long(s, len, min, max, &want);
    if (ok)
        FUZZ_CHECK(ref && got == want);
    /* Beyond 31 bytes the parser gives up (no integer needs more). */
    if (ref && len < 32)
        FUZZ_CHECK(ok);
}

static void check_slice(const char *s, size_t len)
{
    check_long(s, len, LONG_MIN, LONG_MAX);
    check_long(s, len, 0, 999999999999L);
    check_long(s, len, 1, 100);
    check_long(s, len, -5, 5);
    FUZZ_CHECK(souk_uuid_valid(s, len) == ref_uuid(s, len));
    check_trace(s, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy, so ASan sees any read past the end. */
    char *s = malloc(size ? size : 1);
    if (!s)
        abort();
    memcpy(s, data, size);

    FUZZ_CHECK(souk_utf8_valid(s, size) == ref_utf8((const uint8_t *)s, size));
    check_trace(s, size);
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || s[i] == '&' || s[i] == '=') {
            check_slice(s + start, i - start);
            start = i + 1;
        }
    }
    free(s);
    return 0;
}
