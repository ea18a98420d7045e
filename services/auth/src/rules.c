/* rules.c: auth-service's input rules and token helpers, free of HTTP and SQL
 * so the unit tests can call them directly. */
#include "app.h"

#include <sodium.h>
#include <string.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char *auth_trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    size_t start = 0;
    while (is_space(s[start]))
        start++;
    memmove(s, s + start, n - start + 1);
    return s;
}

static bool domain_valid(const char *d)
{
    size_t label = 0, labels = 0;
    for (const char *p = d;; p++) {
        char c = *p;
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || p[-1] == '-')
                return false;
            labels++;
            label = 0;
            if (c == '\0')
                break;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c == '-' && label > 0) || (unsigned char)c >= 0x80;
        if (!ok)
            return false;
        label++;
    }
    return labels >= 2;
}

bool auth_email_valid(const char *email)
{
    size_t n = strlen(email);
    const char *at = strchr(email, '@');
    if (n < 3 || n > AUTH_EMAIL_MAX || !at || strchr(at + 1, '@'))
        return false;
    size_t local = (size_t)(at - email);
    if (local == 0 || local > 64 || email[0] == '.' || at[-1] == '.')
        return false;
    for (const char *p = email; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == '"' || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' ||
            c == '<' || c == '>' || c == '[' || c == ']' || c == '\\' || c == 0x7f ||
            (c == '.' && p[1] == '.'))
            return false;
    }
    return domain_valid(at + 1);
}

bool auth_password_valid(const char *pw)
{
    size_t n = souk_utf8_chars(pw);
    return n >= AUTH_PASSWORD_MIN && n <= AUTH_PASSWORD_MAX;
}

void auth_token_hash(const char *token, char out[65])
{
    uint8_t h[32];
    crypto_generichash(h, sizeof(h), (const uint8_t *)token, strlen(token), NULL, 0);
    souk_hex(h, sizeof(h), out);
}

void auth_new_refresh_token(char out[44])
{
    uint8_t raw[32];
    souk_random(raw, sizeof(raw));
    sodium_bin2base64(out, 44, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}
