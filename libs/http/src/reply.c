/* reply.c: the only place responses are written. Every error leaves through
 * souk_http_problem_errors(), whose body comes from souk_http_problem_body(),
 * the one builder of problem+json that every HTTP engine of souk (this
 * server and the gateway's edge) uses, so all of them share one shape. */
#include "http_int.h"

#include <string.h>

static const struct {
    int status;
    const char *title;
} titles[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char *souk_http_status_title(int status)
{
    for (size_t i = 0; i < SOUK_ARRAY_LEN(titles); i++)
        if (titles[i].status == status)
            return titles[i].title;
    return "Error";
}

void souk_http_set_header(souk_http_ctx_t *ctx, const char *name, const char *value)
{
    ulfius_add_header_to_response(ctx->ures, name, value);
}

static bool claim_reply(souk_http_ctx_t *ctx, int status)
{
    if (ctx->replied) {
        souk_log_error("second reply (%d) to %s %s ignored", status, ctx->method, ctx->route);
        return false;
    }
    ctx->replied = true;
    ctx->status = status;
    return true;
}

void souk_http_reply_raw(souk_http_ctx_t *ctx, int status, const char *content_type,
                         const void *data, size_t len)
{
    if (!claim_reply(ctx, status))
        return;
    if (content_type)
        souk_http_set_header(ctx, "Content-Type", content_type);
    struct _u_response *res = ctx->ures;
    res->status = status;
    if (len > 0) /* ulfius refuses an empty body and would leave the status alone */
        ulfius_set_binary_body_response(res, (unsigned)status, data, len);
}

static void reply_json_as(souk_http_ctx_t *ctx, int status, const char *type, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (body && !text) {
        souk_http_reply_raw(ctx, 500, NULL, NULL, 0);
        return;
    }
    souk_http_reply_raw(ctx, status, type, text, text ? strlen(text) : 0);
    free(text);
}

void souk_http_reply_json(souk_http_ctx_t *ctx, int status, json_t *body)
{
    reply_json_as(ctx, status, "application/json", body);
}

void souk_http_reply_empty(souk_http_ctx_t *ctx, int status)
{
    souk_http_reply_raw(ctx, status, NULL, NULL, 0);
}

/* A JSON string of s, or of fallback when s is NULL or not UTF-8 (a path
 * is client input: jansson refuses bytes that are not UTF-8). */
static json_t *text_or(const char *s, const char *fallback)
{
    return json_string(s && souk_utf8_valid(s, strlen(s)) ? s : fallback);
}

json_t *souk_http_problem_body(int status, const char *detail, const char *instance,
                               const char *request_id, json_t *errors)
{
    const char *title = souk_http_status_title(status);
    json_t *p = json_object();
    json_object_set_new(p, "type", json_string("about:blank"));
    json_object_set_new(p, "title", json_string(title));
    json_object_set_new(p, "status", json_integer(status));
    json_object_set_new(p, "detail", text_or(detail, title));
    json_object_set_new(p, "instance", text_or(instance, "/"));
    json_object_set_new(p, "request_id", text_or(request_id, ""));
    if (errors)
        json_object_set_new(p, "errors", errors);
    return p;
}

void souk_http_problem_errors(souk_http_ctx_t *ctx, int status, const char *detail, json_t *errors)
{
    json_t *p = souk_http_problem_body(status, detail, ctx->path, ctx->request_id, errors);
    if (status == 401)
        souk_http_set_header(ctx, "WWW-Authenticate", "Bearer realm=\"souk\"");
    reply_json_as(ctx, status, "application/problem+json", p);
}

void souk_http_problem(souk_http_ctx_t *ctx, int status, const char *detail)
{
    souk_http_problem_errors(ctx, status, detail, NULL);
}
