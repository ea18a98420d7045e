/* template.c: the small template language of the email templates (a subset
 * of Mustache: variables, sections over lists or values, inverted sections).
 * Values come from a JSON model, never from the template, and are
 * HTML-escaped in HTML templates, so a product called "<script>" stays text.
 * It has no partials, lambdas, comments or custom delimiters. */
#include "notify.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    json_t *frames[NOTIFY_TEMPLATE_MAX_DEPTH + 1]; /* innermost last */
    int depth;
    bool html;
    souk_buf_t *out;
} render_t;

static json_t *lookup(const render_t *r, const char *key, size_t len)
{
    char name[128];
    if (len >= sizeof(name))
        return NULL;
    memcpy(name, key, len);
    name[len] = '\0';
    for (int i = r->depth; i >= 0; i--) {
        json_t *v = json_is_object(r->frames[i]) ? json_object_get(r->frames[i], name) : NULL;
        if (v)
            return v;
    }
    return NULL;
}

static souk_err_t put_escaped(render_t *r, const char *s, size_t n)
{
    souk_err_t err = SOUK_OK;
    size_t start = 0;
    for (size_t i = 0; i < n && !err; i++) {
        const char *rep = s[i] == '<'    ? "&lt;"
                          : s[i] == '>'  ? "&gt;"
                          : s[i] == '&'  ? "&amp;"
                          : s[i] == '"'  ? "&quot;"
                          : s[i] == '\'' ? "&#39;"
                                         : NULL;
        if (!rep)
            continue;
        err = souk_buf_append(r->out, s + start, i - start);
        if (!err)
            err = souk_buf_append(r->out, rep, strlen(rep));
        start = i + 1;
    }
    return err ? err : souk_buf_append(r->out, s + start, n - start);
}

static souk_err_t put_value(render_t *r, json_t *v)
{
    char num[32];
    const char *s = NULL;
    size_t n = 0;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v)) {
        n = (size_t)snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        s = num;
    }
    if (!s)
        return SOUK_OK;
    return r->html ? put_escaped(r, s, n) : souk_buf_append(r->out, s, n);
}

static bool truthy(json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    return true;
}

/* The end of the section named [name, name+len) that starts at p: *body_end
 * gets where its closing tag begins, the return value where it ends; NULL
 * when it is not closed. Sections of the same name may nest. */
static const char *section_end(const char *p, const char *name, size_t len, const char **body_end)
{
    int nested = 0;
    for (const char *t = strstr(p, "{{"); t; t = strstr(t + 2, "{{")) {
        char sigil = t[2];
        const char *close = strstr(t + 2, "}}");
        if (!close)
            return NULL;
        const char *n = t + 3;
        bool same = (size_t)(close - n) == len && memcmp(n, name, len) == 0;
        if ((sigil == '#' || sigil == '^') && same)
            nested++;
        else if (sigil == '/' && same && nested-- == 0) {
            *body_end = t;
            return close + 2;
        }
    }
    return NULL;
}

static souk_err_t render_span(render_t *r, const char *p, const char *end);

static souk_err_t render_section(render_t *r, char sigil, const char *name, size_t len,
                                 const char *body, const char *body_end)
{
    json_t *v = lookup(r, name, len);
    if (sigil == '^')
        return truthy(v) ? SOUK_OK : render_span(r, body, body_end);
    if (!truthy(v))
        return SOUK_OK;
    if (r->depth >= NOTIFY_TEMPLATE_MAX_DEPTH)
        return SOUK_EINVAL;
    souk_err_t err = SOUK_OK;
    r->depth++;
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            r->frames[r->depth] = item;
            if ((err = render_span(r, body, body_end)) != SOUK_OK)
                break;
        }
    } else {
        r->frames[r->depth] = v;
        err = render_span(r, body, body_end);
    }
    r->depth--;
    return err;
}

static souk_err_t render_span(render_t *r, const char *p, const char *end)
{
    while (p < end) {
        const char *t = strstr(p, "{{");
        if (!t || t >= end)
            return souk_buf_append(r->out, p, (size_t)(end - p));
        souk_err_t err = souk_buf_append(r->out, p, (size_t)(t - p));
        const char *close = strstr(t + 2, "}}");
        if (err)
            return err;
        if (!close || close + 2 > end)
            return SOUK_EINVAL;
        char sigil = t[2];
        const char *name = t + 2 + (sigil == '#' || sigil == '^' || sigil == '/');
        size_t len = (size_t)(close - name);
        if (len == 0 || sigil == '/')
            return SOUK_EINVAL; /* an empty tag, or a close without its open */
        if (sigil == '#' || sigil == '^') {
            const char *body_end, *after = section_end(close + 2, name, len, &body_end);
            if (!after || after > end)
                return SOUK_EINVAL;
            if ((err = render_section(r, sigil, name, len, close + 2, body_end)) != SOUK_OK)
                return err;
            p = after;
        } else {
            if ((err = put_value(r, lookup(r, name, len))) != SOUK_OK)
                return err;
            p = close + 2;
        }
    }
    return SOUK_OK;
}

souk_err_t notify_template_render(const char *tmpl, json_t *model, bool html, souk_buf_t *out)
{
    render_t r = {.frames = {model}, .depth = 0, .html = html, .out = out};
    return render_span(&r, tmpl, tmpl + strlen(tmpl));
}
