/* err.c: names of souk_err_t codes, for logs and diagnostics only; replies to
 * clients are built from HTTP statuses, never from these strings. */
#include <souk/core.h>

static const char *const names[SOUK_ERR__COUNT] = {
    [SOUK_OK] = "ok",
    [SOUK_ENOMEM] = "out of memory",
    [SOUK_EINVAL] = "invalid argument",
    [SOUK_ENOTFOUND] = "not found",
    [SOUK_ECONFLICT] = "conflict",
    [SOUK_EAUTH] = "authentication failed",
    [SOUK_EFORBIDDEN] = "forbidden",
    [SOUK_ELIMIT] = "limit exceeded",
    [SOUK_ETIMEOUT] = "timed out",
    [SOUK_EUNAVAIL] = "unavailable",
    [SOUK_EUPSTREAM] = "bad upstream reply",
    [SOUK_EDB] = "database error",
    [SOUK_EIO] = "i/o error",
    [SOUK_EINTERNAL] = "internal error",
};

const char *souk_strerror(souk_err_t err)
{
    if ((unsigned)err >= SOUK_ERR__COUNT)
        return "unknown error";
    return names[err];
}
