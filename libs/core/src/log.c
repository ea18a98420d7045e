/* log.c: the process-wide JSON-lines logger (ECS field names). Each record is
 * built in memory and written with one fwrite under a lock, so lines from
 * different threads never interleave. It does not rotate or ship logs: stdout
 * is collected by whatever runs the process. */
#include <souk/core.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static struct {
    const char *service;
    souk_log_level_t level;
    pthread_mutex_t lock;
} logger = {"souk", SOUK_LOG_INFO, PTHREAD_MUTEX_INITIALIZER};

static const char *const level_names[] = {"debug", "info", "warn", "error"};

souk_err_t souk_log_init(const char *service, const char *level_name)
{
    logger.service = service;
    if (!level_name || !*level_name)
        return SOUK_OK;
    for (size_t i = 0; i < SOUK_ARRAY_LEN(level_names); i++) {
        if (strcasecmp(level_name, level_names[i]) == 0) {
            logger.level = (souk_log_level_t)i;
            return SOUK_OK;
        }
    }
    return SOUK_EINVAL;
}

bool souk_log_enabled(souk_log_level_t level)
{
    return level >= logger.level;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

void souk_log_json(souk_log_level_t level, const souk_log_ctx_t *ctx, const char *msg,
                   json_t *fields)
{
    if (!souk_log_enabled(level))
        return;
    char ts[SOUK_RFC3339_LEN];
    souk_time_rfc3339(souk_now_unix_ms(), ts);
    json_t *o = json_object();
    json_object_set_new(o, "@timestamp", json_string(ts));
    json_object_set_new(o, "log.level", json_string(level_names[level]));
    json_object_set_new(o, "service.name", json_string(logger.service));
    json_object_set_new(o, "message", json_string(msg ? msg : ""));
    if (ctx) {
        set_str(o, "http.request.id", ctx->request_id);
        set_str(o, "trace.id", ctx->trace_id);
        set_str(o, "span.id", ctx->span_id);
    }
    if (fields)
        json_object_update(o, fields);
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!line)
        return;
    pthread_mutex_lock(&logger.lock);
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&logger.lock);
    free(line);
}

void souk_log(souk_log_level_t level, const char *fmt, ...)
{
    if (!souk_log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    souk_log_json(level, NULL, msg, NULL);
}
