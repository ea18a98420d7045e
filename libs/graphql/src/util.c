/* util.c: small pieces every part of libs/graphql uses: the string map in an
 * arena, GraphQL error objects ({message, locations, extensions}), the names
 * of error codes and directive locations, and the default limits. */
#include "gql_int.h"

#include <string.h>

/* ---- string map ---------------------------------------------------------------- */

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void souk_gql__map_init(gql_map_t *m, souk_arena_t *a)
{
    memset(m, 0, sizeof(*m));
    m->arena = a;
}

static size_t slot(const gql_map_t *m, const char *key)
{
    size_t i = hash(key) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], key) != 0)
        i = (i + 1) & (m->cap - 1);
    return i;
}

void *souk_gql__map_get(const gql_map_t *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t i = slot(m, key);
    return m->keys[i] ? m->vals[i] : NULL;
}

static void grow(gql_map_t *m)
{
    gql_map_t old = *m;
    m->cap = old.cap ? old.cap * 2 : 16;
    m->keys = souk_arena_alloc(m->arena, m->cap * sizeof(*m->keys));
    m->vals = souk_arena_alloc(m->arena, m->cap * sizeof(*m->vals));
    memset(m->keys, 0, m->cap * sizeof(*m->keys));
    m->count = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            souk_gql__map_put(m, old.keys[i], old.vals[i]);
}

void souk_gql__map_put(gql_map_t *m, const char *key, void *val)
{
    if ((m->count + 1) * 2 > m->cap)
        grow(m);
    size_t i = slot(m, key);
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->count++;
    }
    m->vals[i] = val;
}

/* ---- errors ----------------------------------------------------------------------- */

/* A JSON string of s with any invalid UTF-8 replaced by '?': messages quote
 * input, and jansson refuses invalid strings. */
static json_t *safe_string(const char *s)
{
    size_t n = strlen(s);
    if (souk_utf8_valid(s, n))
        return json_stringn(s, n);
    char *copy = souk_strndup(s, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)copy[i] >= 0x80)
            copy[i] = '?';
    json_t *j = json_stringn(copy, n);
    souk_free(copy);
    return j;
}

json_t *souk_gql__error_json(const char *message, const gql_loc_t *locs, size_t nlocs,
                             const char *code)
{
    json_t *e = json_object();
    json_object_set_new(e, "message", safe_string(message));
    if (nlocs) {
        json_t *l = json_array();
        for (size_t i = 0; i < nlocs; i++)
            json_array_append_new(l, json_pack("{s:I,s:I}", "line", (json_int_t)locs[i].line,
                                               "column", (json_int_t)locs[i].col));
        json_object_set_new(e, "locations", l);
    }
    if (code)
        json_object_set_new(e, "extensions", json_pack("{s:s}", "code", code));
    return e;
}

void souk_gql__diag(gql_diag_t *d, const gql_loc_t *locs, size_t nlocs, const char *message)
{
    if (d->aborted)
        return;
    if (json_array_size(d->errors) >= d->max) {
        json_array_append_new(d->errors,
                              souk_gql__error_json("Too many validation errors, error limit "
                                                   "reached. Validation aborted.",
                                                   NULL, 0, d->code));
        d->aborted = true;
        return;
    }
    json_array_append_new(d->errors, souk_gql__error_json(message, locs, nlocs, d->code));
}

const char *souk_gql_code_name(souk_gql_code_t code)
{
    switch (code) {
    case SOUK_GQL_UNAUTHENTICATED:
        return "UNAUTHENTICATED";
    case SOUK_GQL_FORBIDDEN:
        return "FORBIDDEN";
    case SOUK_GQL_NOT_FOUND:
        return "NOT_FOUND";
    case SOUK_GQL_BAD_USER_INPUT:
        return "BAD_USER_INPUT";
    case SOUK_GQL_INTERNAL:
    default:
        return "INTERNAL";
    }
}

void souk_gql_limits_default(souk_gql_limits_t *l)
{
    l->max_document = SOUK_GQL_MAX_DOCUMENT;
    l->max_depth = SOUK_GQL_MAX_DEPTH;
    l->max_aliases = SOUK_GQL_MAX_ALIASES;
    l->max_cost = SOUK_GQL_MAX_COST;
    l->default_list_size = SOUK_GQL_LIST_SIZE;
}

/* ---- directive locations --------------------------------------------------------------- */

static const char *const dirloc_names[GQL_LOC__COUNT] = {
    "QUERY",
    "MUTATION",
    "SUBSCRIPTION",
    "FIELD",
    "FRAGMENT_DEFINITION",
    "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION",
    "SCHEMA",
    "SCALAR",
    "OBJECT",
    "FIELD_DEFINITION",
    "ARGUMENT_DEFINITION",
    "INTERFACE",
    "UNION",
    "ENUM",
    "ENUM_VALUE",
    "INPUT_OBJECT",
    "INPUT_FIELD_DEFINITION",
};

const char *souk_gql__dirloc_name(gql_dirloc_t loc)
{
    return (unsigned)loc < GQL_LOC__COUNT ? dirloc_names[loc] : "?";
}

int souk_gql__dirloc_parse(const char *name)
{
    for (int i = 0; i < GQL_LOC__COUNT; i++)
        if (strcmp(dirloc_names[i], name) == 0)
            return i;
    return -1;
}
