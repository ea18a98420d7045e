/* resolvers.c: the host's table of resolvers per (object type, field), with
 * the introspection resolvers already in it, and "unavailable" entries that
 * answer a fixed error (partial data while a service does not exist yet).
 * Built once at start; read-only (and so shareable by threads) afterwards. */
#include "gql_int.h"

#include <string.h>

souk_gql_resolvers_t *souk_gql_resolvers_new(const souk_gql_schema_t *schema)
{
    souk_gql_resolvers_t *r = souk_calloc(1, sizeof(*r));
    r->arena = souk_arena_new();
    r->schema = schema;
    r->by_type = souk_arena_alloc(r->arena, (schema->ntypes + 1) * sizeof(*r->by_type));
    for (size_t i = 0; i < schema->ntypes; i++) {
        size_t n = schema->types[i]->nfields;
        r->by_type[i] = souk_arena_alloc(r->arena, (n + 1) * sizeof(gql_resolver_t));
        memset(r->by_type[i], 0, (n + 1) * sizeof(gql_resolver_t));
    }
    souk_gql__introspection_register(r);
    return r;
}

void souk_gql_resolvers_free(souk_gql_resolvers_t *r)
{
    if (!r)
        return;
    souk_arena_free(r->arena);
    souk_free(r);
}

static gql_resolver_t *slot(souk_gql_resolvers_t *r, const char *type, const char *field)
{
    const gql_type_t *t = souk_gql__type(r->schema, type);
    if (!t || t->kind != GQL_OBJECT)
        return NULL;
    const gql_field_t *f = souk_gql__field(t, field);
    return f ? &r->by_type[t->index][f->index] : NULL;
}

souk_err_t souk_gql_resolvers_add(souk_gql_resolvers_t *r, const char *type, const char *field,
                                  souk_gql_resolve_fn fn, void *udata)
{
    gql_resolver_t *s = slot(r, type, field);
    if (!s)
        return SOUK_ENOTFOUND;
    *s = (gql_resolver_t){.fn = fn, .udata = udata};
    return SOUK_OK;
}

souk_err_t souk_gql_resolvers_unavailable(souk_gql_resolvers_t *r, const char *type,
                                          const char *field, souk_gql_code_t code,
                                          const char *message)
{
    const gql_type_t *t = souk_gql__type(r->schema, type);
    if (!t || t->kind != GQL_OBJECT)
        return SOUK_ENOTFOUND;
    const char *msg = souk_arena_strdup(r->arena, message ? message : "unavailable");
    bool any = false;
    for (size_t i = 0; i < t->nfields; i++) {
        if (field && strcmp(t->fields[i].name, field) != 0)
            continue;
        r->by_type[t->index][i] =
            (gql_resolver_t){.unavailable = true, .code = code, .message = msg};
        any = true;
    }
    return any ? SOUK_OK : SOUK_ENOTFOUND;
}
