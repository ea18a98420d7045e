/* config.c: typed, range-checked environment variables. Reading happens once
 * in main; nothing here caches or mutates process state. */
#include <souk/core.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *souk_env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

char **souk_list_split(const char *s)
{
    size_t n = 1, i = 0;
    for (const char *p = s; p && *p; p++)
        n += *p == ',';
    char **list = souk_calloc(n + 1, sizeof(char *));
    for (const char *p = s; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *b = p, *e = p + len;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (e > b)
            list[i++] = souk_strndup(b, (size_t)(e - b));
        p += len + (p[len] == ',');
    }
    return list;
}

void souk_list_free(char **list)
{
    for (char **p = list; p && *p; p++)
        souk_free(*p);
    souk_free(list);
}

souk_err_t souk_parse_long(const char *s, size_t len, long min, long max, long *out)
{
    char buf[32];
    if (!s || len == 0 || len >= sizeof(buf))
        return SOUK_EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* strtol accepts leading blanks and '+'; configuration and query strings
     * should not, so require a digit or a minus sign up front. */
    if (!((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '-'))
        return SOUK_EINVAL;
    errno = 0;
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    if (errno || end != buf + len || v < min || v > max)
        return SOUK_EINVAL;
    *out = v;
    return SOUK_OK;
}

souk_err_t souk_env_long(const char *name, long def, long min, long max, long *out)
{
    const char *v = souk_env_str(name, NULL);
    if (!v) {
        *out = def;
        return SOUK_OK;
    }
    if (souk_parse_long(v, strlen(v), min, max, out) != SOUK_OK) {
        souk_log_error("invalid %s=\"%s\": expected an integer in [%ld, %ld]", name, v, min, max);
        return SOUK_EINVAL;
    }
    return SOUK_OK;
}

souk_err_t souk_env_bool(const char *name, bool def, bool *out)
{
    const char *v = souk_env_str(name, NULL);
    if (!v) {
        *out = def;
        return SOUK_OK;
    }
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return SOUK_OK;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return SOUK_OK;
        }
    }
    souk_log_error("invalid %s=\"%s\": expected true or false", name, v);
    return SOUK_EINVAL;
}

souk_err_t souk_env_port(const char *name, int def, int *out)
{
    long v;
    souk_err_t err = souk_env_long(name, def, 1, 65535, &v);
    if (err == SOUK_OK)
        *out = (int)v;
    return err;
}
