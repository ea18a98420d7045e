/* trace.c: W3C Trace Context (traceparent, version 00). Only propagation and
 * id generation; recording and exporting spans is someone else's job. */
#include <souk/obs.h>

#include <stdio.h>
#include <string.h>

static bool hex_field(const char *s, size_t n)
{
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
        nonzero |= c != '0';
    }
    return nonzero;
}

bool souk_trace_parse(const char *s, size_t len, souk_trace_t *out)
{
    /* 00-<32 hex>-<16 hex>-<2 hex>; later versions may append fields. */
    if (!s || len < SOUK_TRACEPARENT_LEN)
        return false;
    if (s[0] != '0' || s[1] != '0' || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return false;
    if (len > SOUK_TRACEPARENT_LEN)
        return false;
    if (!hex_field(s + 3, 32) || !hex_field(s + 36, 16))
        return false;
    unsigned flags;
    char fl[3] = {s[53], s[54], 0};
    if (sscanf(fl, "%2x", &flags) != 1 ||
        !((fl[0] >= '0' && fl[0] <= '9') || (fl[0] >= 'a' && fl[0] <= 'f')) ||
        !((fl[1] >= '0' && fl[1] <= '9') || (fl[1] >= 'a' && fl[1] <= 'f')))
        return false;
    memcpy(out->trace_id, s + 3, 32);
    out->trace_id[32] = '\0';
    memcpy(out->parent_id, s + 36, 16);
    out->parent_id[16] = '\0';
    out->span_id[0] = '\0';
    out->flags = (uint8_t)flags;
    return true;
}

static void random_hex(char *out, size_t nbytes)
{
    uint8_t b[16];
    souk_random(b, nbytes);
    b[0] |= 1; /* an all-zero id is invalid in trace context */
    souk_hex(b, nbytes, out);
}

void souk_trace_begin(souk_trace_t *t, const char *header)
{
    if (!header || !souk_trace_parse(header, strlen(header), t)) {
        random_hex(t->trace_id, 16);
        t->parent_id[0] = '\0';
        t->flags = 1;
    }
    random_hex(t->span_id, 8);
}

void souk_trace_child(souk_trace_t *t, const souk_trace_t *parent)
{
    memcpy(t->trace_id, parent->trace_id, sizeof(t->trace_id));
    memcpy(t->parent_id, parent->span_id, sizeof(t->parent_id));
    t->flags = parent->flags;
    random_hex(t->span_id, 8);
}

void souk_trace_format(const souk_trace_t *t, char out[SOUK_TRACEPARENT_LEN + 1])
{
    snprintf(out, SOUK_TRACEPARENT_LEN + 1, "00-%s-%s-%02x", t->trace_id, t->span_id, t->flags);
}
