/* souk/core.h: the ground every other module stands on: error codes, checked
 * allocation, a per-request arena, environment configuration, the JSON-lines
 * logger, UUIDs and time. It knows nothing of HTTP, SQL or Kafka.
 *
 * Thread-safety: everything here is thread-safe except souk_log_init() and
 * souk_arena_* (an arena belongs to one request, hence one thread). */
#ifndef SOUK_CORE_H
#define SOUK_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define SOUK_MUST_CHECK   __attribute__((warn_unused_result))
#define SOUK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SOUK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- errors --------------------------------------------------------------- */

typedef enum {
    SOUK_OK = 0,
    SOUK_ENOMEM,     /* allocation failed */
    SOUK_EINVAL,     /* invalid argument or input */
    SOUK_ENOTFOUND,  /* no such thing */
    SOUK_ECONFLICT,  /* unique constraint or state conflict */
    SOUK_EAUTH,      /* missing or bad credentials */
    SOUK_EFORBIDDEN, /* authenticated, not allowed */
    SOUK_ELIMIT,     /* a bound was exceeded (size, count, rate) */
    SOUK_ETIMEOUT,   /* a deadline passed */
    SOUK_EUNAVAIL,   /* a dependency is unreachable */
    SOUK_EUPSTREAM,  /* a dependency answered badly */
    SOUK_EDB,        /* database error */
    SOUK_EIO,        /* operating system I/O error */
    SOUK_EINTERNAL,  /* a bug or an impossible state */
    SOUK_ERR__COUNT
} souk_err_t;

/* Returns a static, human-readable name for err (never NULL). */
const char *souk_strerror(souk_err_t err);

/* ---- allocation ----------------------------------------------------------- */
/* Every allocation in souk goes through these. On exhaustion they log and abort:
 * a service that cannot allocate is restarted by its supervisor, and the outbox
 * and inbox make that safe. They never return NULL for a non-zero size. */

void *souk_malloc(size_t n);
void *souk_calloc(size_t count, size_t n);
void *souk_realloc(void *p, size_t n);
char *souk_strdup(const char *s);
/* Logs "out of memory" for a request of n bytes and aborts. */
_Noreturn void souk_die_oom(size_t n);
char *souk_strndup(const char *s, size_t n);
void souk_free(void *p);

/* ---- per-request arena ---------------------------------------------------- */
/* A bump allocator freed in one go. Deferred destructors (json_decref, PQclear)
 * run when the arena is freed, so a handler cannot leak on an error path. */

typedef struct souk_arena souk_arena_t;

souk_arena_t *souk_arena_new(void);
/* Runs deferred destructors in reverse order, then frees all memory. NULL ok. */
void souk_arena_free(souk_arena_t *a);
/* Memory lives until souk_arena_free(); aligned for any type. A size no
 * allocator could satisfy (one that would overflow) aborts like exhaustion. */
void *souk_arena_alloc(souk_arena_t *a, size_t n);
char *souk_arena_strndup(souk_arena_t *a, const char *s, size_t n);
char *souk_arena_strdup(souk_arena_t *a, const char *s);
char *souk_arena_printf(souk_arena_t *a, const char *fmt, ...) SOUK_PRINTF(2, 3);
/* Registers fn(ptr) to run at souk_arena_free(); ptr NULL is ignored. */
void souk_arena_defer(souk_arena_t *a, void (*fn)(void *), void *ptr);
/* Convenience: json_decref(j) at arena free; returns j. */
json_t *souk_arena_json(souk_arena_t *a, json_t *j);

/* ---- bounded growable buffer --------------------------------------------- */
/* Embedded in the caller's struct: souk_buf_init() / souk_buf_cleanup(). Every
 * buffer has a maximum; appends past it fail with SOUK_ELIMIT and leave the
 * contents as they were. data is always NUL-terminated after an append. */

typedef struct {
    char *data;
    size_t len, cap, max;
} souk_buf_t;

void souk_buf_init(souk_buf_t *b, size_t max);
void souk_buf_cleanup(souk_buf_t *b);
souk_err_t souk_buf_append(souk_buf_t *b, const void *p, size_t n) SOUK_MUST_CHECK;
souk_err_t souk_buf_appendf(souk_buf_t *b, const char *fmt, ...) SOUK_PRINTF(2, 3) SOUK_MUST_CHECK;
/* Hands the (NUL-terminated, souk_free-able) data to the caller; b is reset. */
char *souk_buf_steal(souk_buf_t *b, size_t *len);

/* ---- configuration (environment) ------------------------------------------ */
/* 12-factor configuration: typed getters with defaults and range checks. An
 * invalid value is logged with the variable's name and yields SOUK_EINVAL, so
 * main can refuse to start on a bad configuration instead of guessing. */

/* Returns the variable's value, or def when unset or empty. */
const char *souk_env_str(const char *name, const char *def);
souk_err_t souk_env_long(const char *name, long def, long min, long max, long *out) SOUK_MUST_CHECK;
souk_err_t souk_env_bool(const char *name, bool def, bool *out) SOUK_MUST_CHECK;
/* A TCP port 1..65535. */
souk_err_t souk_env_port(const char *name, int def, int *out) SOUK_MUST_CHECK;

/* A comma-separated list ("a, b,,c") as a NULL-terminated array of its
 * entries, blanks around them trimmed and empty ones skipped; NULL or ""
 * gives an empty array. Free with souk_list_free (NULL ok). */
char **souk_list_split(const char *s);
void souk_list_free(char **list);

/* Parses the whole of [s, s+len) as a base-10 integer within [min, max]. */
souk_err_t souk_parse_long(const char *s, size_t len, long min, long max,
                           long *out) SOUK_MUST_CHECK;

/* ---- logging -------------------------------------------------------------- */
/* One JSON object per line on stdout, with Elastic Common Schema names:
 * @timestamp, log.level, service.name, message, http.request.id, trace.id,
 * span.id, plus event fields. The logger is process-wide, set up in main. */

typedef enum { SOUK_LOG_DEBUG, SOUK_LOG_INFO, SOUK_LOG_WARN, SOUK_LOG_ERROR } souk_log_level_t;

/* Context of the work being logged; any member may be NULL. */
typedef struct {
    const char *request_id;
    const char *trace_id;
    const char *span_id;
} souk_log_ctx_t;

/* Call once in main before threads start. level_name: debug|info|warn|error. */
souk_err_t souk_log_init(const char *service, const char *level_name) SOUK_MUST_CHECK;
bool souk_log_enabled(souk_log_level_t level);
/* Logs msg with ctx (NULL ok) and the members of fields (borrowed, NULL ok). */
void souk_log_json(souk_log_level_t level, const souk_log_ctx_t *ctx, const char *msg,
                   json_t *fields);
void souk_log(souk_log_level_t level, const char *fmt, ...) SOUK_PRINTF(2, 3);
#define souk_log_debug(...) souk_log(SOUK_LOG_DEBUG, __VA_ARGS__)
#define souk_log_info(...)  souk_log(SOUK_LOG_INFO, __VA_ARGS__)
#define souk_log_warn(...)  souk_log(SOUK_LOG_WARN, __VA_ARGS__)
#define souk_log_error(...) souk_log(SOUK_LOG_ERROR, __VA_ARGS__)

/* ---- ids, randomness, encoding -------------------------------------------- */

#define SOUK_UUID_STRLEN 36
/* Writes a random (version 4) UUID and a NUL into out[37]. */
void souk_uuid_v4(char out[SOUK_UUID_STRLEN + 1]);
/* True if [s, s+len) is a canonical 8-4-4-4-12 hex UUID. */
bool souk_uuid_valid(const char *s, size_t len);
/* Fills buf with n cryptographically random bytes (aborts if the OS can't). */
void souk_random(void *buf, size_t n);
/* True if [s, s+n) is well-formed UTF-8 (no overlongs, surrogates or NULs). */
bool souk_utf8_valid(const char *s, size_t n);
/* Lower-case hex of n bytes into out[2n+1]. */
void souk_hex(const uint8_t *in, size_t n, char *out);

/* ---- time ----------------------------------------------------------------- */

/* Monotonic clock, for durations and deadlines. */
uint64_t souk_now_mono_ns(void);
/* Wall clock, seconds and milliseconds since the epoch. */
int64_t souk_now_unix(void);
int64_t souk_now_unix_ms(void);
#define SOUK_RFC3339_LEN 32
/* Formats ms since the epoch as RFC 3339 UTC with milliseconds
 * ("2026-01-02T03:04:05.678Z") into out[SOUK_RFC3339_LEN]. */
void souk_time_rfc3339(int64_t unix_ms, char out[SOUK_RFC3339_LEN]);

#endif
