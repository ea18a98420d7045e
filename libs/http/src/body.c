/* body.c: JSON request bodies, field validation and paging parameters. Every
 * check records a {field, message} pair so one 400 lists every problem. */
#include "http_int.h"

#include <stdio.h>
#include <string.h>

json_t *souk_http_body_object(souk_http_ctx_t *ctx)
{
    if (!ctx->body || ctx->body_len == 0) {
        souk_http_problem(ctx, 400, "a JSON object body is required");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(ctx->body, ctx->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        char detail[128];
        /* position only: the parser's own wording names library internals */
        snprintf(detail, sizeof(detail), "the body is not valid JSON (line %d, column %d)",
                 jerr.line, jerr.column);
        souk_http_problem(ctx, 400, detail);
        return NULL;
    }
    souk_arena_json(ctx->arena, j);
    if (!json_is_object(j)) {
        souk_http_problem(ctx, 400, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

void souk_valid_init(souk_valid_t *v)
{
    v->errors = json_array();
}

void souk_valid_cleanup(souk_valid_t *v)
{
    json_decref(v->errors);
    v->errors = NULL;
}

void souk_valid_error(souk_valid_t *v, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* A message cut short may end inside a UTF-8 character (it quotes input);
     * drop the partial character, or the JSON string would be refused and the
     * error lost. */
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
    while (len > 0 && !souk_utf8_valid(msg, len))
        len--;
    msg[len] = '\0';
    json_t *e = json_pack("{s:s, s:s}", "field", field, "message", msg);
    if (!e) /* never lose an error: fall back to a fixed text */
        e = json_pack("{s:s, s:s}", "field", "body", "message", "has an invalid field");
    json_array_append_new(v->errors, e);
}

bool souk_valid_ok(const souk_valid_t *v)
{
    return json_array_size(v->errors) == 0;
}

void souk_valid_reply(souk_http_ctx_t *ctx, souk_valid_t *v)
{
    json_t *errors = v->errors;
    v->errors = json_array();
    souk_http_problem_errors(ctx, 400, "the request has invalid fields", errors);
}

size_t souk_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Shared prologue: returns the member, or NULL when absent/null (recording an
 * error if it was required). */
static json_t *member(souk_valid_t *v, json_t *obj, const char *field, int flags)
{
    json_t *m = json_object_get(obj, field);
    if (m && !(json_is_null(m) && (flags & SOUK_FIELD_NULLABLE)))
        return m;
    if (flags & SOUK_FIELD_REQUIRED)
        souk_valid_error(v, field, "is required");
    return NULL;
}

bool souk_valid_string(souk_valid_t *v, json_t *obj, const char *field, int flags, size_t min_chars,
                       size_t max_chars, const char **out)
{
    json_t *m = member(v, obj, field, flags);
    if (!m)
        return false;
    if (!json_is_string(m)) {
        souk_valid_error(v, field, "must be a string");
        return false;
    }
    const char *s = json_string_value(m);
    if (strlen(s) != json_string_length(m)) {
        souk_valid_error(v, field, "must not contain NUL characters");
        return false;
    }
    size_t n = souk_utf8_chars(s);
    if (n < min_chars || n > max_chars) {
        if (min_chars > 0 && n == 0)
            souk_valid_error(v, field, "must not be empty");
        else
            souk_valid_error(v, field, "must be %zu to %zu characters long", min_chars, max_chars);
        return false;
    }
    *out = s;
    return true;
}

bool souk_valid_integer(souk_valid_t *v, json_t *obj, const char *field, int flags, long long min,
                        long long max, long long *out)
{
    json_t *m = member(v, obj, field, flags);
    if (!m)
        return false;
    if (!json_is_integer(m)) {
        souk_valid_error(v, field, "must be an integer");
        return false;
    }
    long long x = json_integer_value(m);
    if (x < min || x > max) {
        souk_valid_error(v, field, "must be between %lld and %lld", min, max);
        return false;
    }
    *out = x;
    return true;
}

bool souk_valid_boolean(souk_valid_t *v, json_t *obj, const char *field, int flags, bool *out)
{
    json_t *m = member(v, obj, field, flags);
    if (!m)
        return false;
    if (!json_is_boolean(m)) {
        souk_valid_error(v, field, "must be true or false");
        return false;
    }
    *out = json_is_true(m);
    return true;
}

void souk_valid_known(souk_valid_t *v, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known)
            souk_valid_error(v, key, "is not a known field");
    }
}

static bool parse_bounded(souk_valid_t *v, const char *name, const char *s, long def, long min,
                          long max, long *out)
{
    *out = def;
    if (!s)
        return true;
    if (souk_parse_long(s, strlen(s), min, max, out) != SOUK_OK) {
        souk_valid_error(v, name, "must be an integer between %ld and %ld", min, max);
        return false;
    }
    return true;
}

bool souk_page_parse(souk_valid_t *v, const char *page, const char *limit, souk_page_t *out)
{
    bool ok = parse_bounded(v, "page", page, 1, 1, 1000000, &out->page);
    ok &= parse_bounded(v, "limit", limit, 20, 1, 100, &out->limit);
    return ok;
}

bool souk_http_page(const souk_http_ctx_t *ctx, souk_valid_t *v, souk_page_t *out)
{
    return souk_page_parse(v, souk_http_query(ctx, "page"), souk_http_query(ctx, "limit"), out);
}

json_t *souk_http_page_body(json_t *items, const souk_page_t *p, long long total)
{
    return json_pack("{s:o, s:i, s:i, s:I}", "items", items, "page", (int)p->page, "limit",
                     (int)p->limit, "total", (json_int_t)total);
}
