/* ids.c: randomness from the kernel (getrandom), UUIDs, hex encoding and
 * UTF-8 validation. */
#include <souk/core.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void kernel_random(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            souk_log_error("getrandom failed");
            abort();
        }
        p += got;
        n -= (size_t)got;
    }
}

/* Every request takes a few ids (request, trace, span); a small per-thread
 * reserve of kernel randomness turns three syscalls a request into one per
 * dozens. Bytes are wiped as they are handed out. */
#define RESERVE 512
static _Thread_local struct {
    unsigned char bytes[RESERVE];
    size_t pos;
} reserve = {.pos = RESERVE};

void souk_random(void *buf, size_t n)
{
    if (n > RESERVE / 4) {
        kernel_random(buf, n);
        return;
    }
    if (reserve.pos + n > RESERVE) {
        kernel_random(reserve.bytes, RESERVE);
        reserve.pos = 0;
    }
    memcpy(buf, reserve.bytes + reserve.pos, n);
    memset(reserve.bytes + reserve.pos, 0, n);
    reserve.pos += n;
}

void souk_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void souk_uuid_v4(char out[SOUK_UUID_STRLEN + 1])
{
    uint8_t b[16];
    char hex[33];
    souk_random(b, sizeof(b));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    souk_hex(b, sizeof(b), hex);
    size_t o = 0;
    for (size_t i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        out[o++] = hex[i];
    }
    out[o] = '\0';
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool souk_uuid_valid(const char *s, size_t len)
{
    if (!s || len != SOUK_UUID_STRLEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

bool souk_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (c == 0 || len == 0 || i + len > n)
            return false;
        unsigned cp = len == 1 ? c : c & (0x7f >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}
