/* introspect.c: the introspection system (spec section 4) as ordinary
 * resolvers on __Schema, __Type, __Field and __Directive, registered in every
 * resolver table. A __Type value is a small JSON object: {"kind","name"} for a
 * named type, {"kind":"LIST"|"NON_NULL","ofType":...} for a wrapper, so kind,
 * name and ofType resolve by default and the other fields look the named type
 * up in the schema. __Field, __InputValue and __EnumValue values carry their
 * members directly. Nothing here is cached: introspection is rare and small. */
#include "gql_int.h"

#include <string.h>

static const char *kind_name(gql_kind_t k)
{
    static const char *const names[] = {"SCALAR", "OBJECT", "INTERFACE",
                                        "UNION",  "ENUM",   "INPUT_OBJECT"};
    return names[k];
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *named_json(const gql_type_t *t)
{
    return json_pack("{s:s,s:s}", "kind", kind_name(t->kind), "name", t->name);
}

static json_t *tref_json(const gql_tref_t *t)
{
    if (t->kind == GQL_T_NAMED)
        return named_json(t->named);
    return json_pack("{s:s,s:o}", "kind", t->kind == GQL_T_LIST ? "LIST" : "NON_NULL", "ofType",
                     tref_json(t->of));
}

static json_t *deprecation(json_t *o, bool deprecated, const char *reason)
{
    json_object_set_new(o, "isDeprecated", json_boolean(deprecated));
    json_object_set_new(o, "deprecationReason", deprecated ? str_or_null(reason) : json_null());
    return o;
}

static json_t *input_value_json(const gql_ivalue_t *v)
{
    json_t *o = json_pack("{s:s,s:o,s:o}", "name", v->name, "description", str_or_null(v->desc),
                          "type", tref_json(v->type));
    if (v->defval) {
        souk_buf_t b;
        souk_buf_init(&b, 1u << 16);
        souk_gql__print_value(&b, v->defval);
        json_object_set_new(o, "defaultValue", json_string(b.data ? b.data : ""));
        souk_buf_cleanup(&b);
    } else {
        json_object_set_new(o, "defaultValue", json_null());
    }
    return deprecation(o, v->deprecated, v->reason);
}

static json_t *inputs_json(const gql_ivalue_t *v, size_t n, bool include_deprecated)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        if (include_deprecated || !v[i].deprecated)
            json_array_append_new(a, input_value_json(&v[i]));
    return a;
}

static json_t *field_json(const gql_field_t *f)
{
    json_t *o = json_pack("{s:s,s:o,s:o,s:o}", "name", f->name, "description", str_or_null(f->desc),
                          "args", inputs_json(f->args, f->nargs, true), "type", tref_json(f->type));
    return deprecation(o, f->deprecated, f->reason);
}

static json_t *directive_json(const gql_dirdef_t *d)
{
    json_t *locs = json_array();
    for (size_t i = 0; i < d->nlocations; i++)
        json_array_append_new(locs, json_string(souk_gql__dirloc_name((gql_dirloc_t)d->order[i])));
    return json_pack("{s:s,s:o,s:b,s:o,s:o}", "name", d->name, "description", str_or_null(d->desc),
                     "isRepeatable", d->repeatable, "locations", locs, "args",
                     inputs_json(d->args, d->nargs, true));
}

json_t *souk_gql__introspect_schema(void)
{
    return json_object();
}

json_t *souk_gql__introspect_type_named(const souk_gql_schema_t *s, const char *name)
{
    const gql_type_t *t = name ? souk_gql__type(s, name) : NULL;
    return t ? named_json(t) : json_null();
}

/* ---- __Schema ------------------------------------------------------------------------------- */

static void schema_field(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    const souk_gql_schema_t *s = info->udata;
    const char *f = info->field;
    json_t *v = json_null();
    if (!strcmp(f, "description")) {
        v = str_or_null(s->description);
    } else if (!strcmp(f, "types")) {
        v = json_array();
        for (size_t i = 0; i < s->ntypes; i++)
            json_array_append_new(v, named_json(s->types[i]));
    } else if (!strcmp(f, "queryType")) {
        v = named_json(s->query);
    } else if (!strcmp(f, "mutationType") && s->mutation) {
        v = named_json(s->mutation);
    } else if (!strcmp(f, "subscriptionType") && s->subscription) {
        v = named_json(s->subscription);
    } else if (!strcmp(f, "directives")) {
        v = json_array();
        for (size_t i = 0; i < s->ndirectives; i++)
            json_array_append_new(v, directive_json(&s->directives[i]));
    }
    souk_gql_answer_value(ans, v);
}

/* ---- __Type --------------------------------------------------------------------------------- */

static json_t *type_list(gql_type_t *const *types, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, named_json(types[i]));
    return a;
}

static json_t *fields_json(const gql_type_t *t, bool include_deprecated)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->nfields; i++)
        if (include_deprecated || !t->fields[i].deprecated)
            json_array_append_new(a, field_json(&t->fields[i]));
    return a;
}

static json_t *enum_values_json(const gql_type_t *t, bool include_deprecated)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->nvalues; i++) {
        const gql_enumval_t *e = &t->values[i];
        if (!include_deprecated && e->deprecated)
            continue;
        json_t *o = json_pack("{s:s,s:o}", "name", e->name, "description", str_or_null(e->desc));
        json_array_append_new(a, deprecation(o, e->deprecated, e->reason));
    }
    return a;
}

static json_t *type_member(const gql_type_t *t, const char *f, bool incl)
{
    bool fields = t->kind == GQL_OBJECT || t->kind == GQL_INTERFACE;
    if (!strcmp(f, "description"))
        return str_or_null(t->desc);
    if (!strcmp(f, "specifiedByURL"))
        return str_or_null(t->specified_by);
    if (!strcmp(f, "fields") && fields)
        return fields_json(t, incl);
    if (!strcmp(f, "interfaces") && fields)
        return type_list(t->ifaces, t->nifaces);
    if (!strcmp(f, "possibleTypes") && gql_is_abstract(t))
        return type_list(t->possible, t->npossible);
    if (!strcmp(f, "enumValues") && t->kind == GQL_ENUM)
        return enum_values_json(t, incl);
    if (!strcmp(f, "inputFields") && t->kind == GQL_INPUT)
        return inputs_json(t->inputs, t->ninputs, incl);
    if (!strcmp(f, "isOneOf") && t->kind == GQL_INPUT)
        return json_false();
    return json_null();
}

static void type_field(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    const char *name = json_string_value(json_object_get(info->parent, "name"));
    const gql_type_t *t = name ? souk_gql__type(info->udata, name) : NULL;
    bool incl = json_is_true(json_object_get(info->args, "includeDeprecated"));
    souk_gql_answer_value(ans, t ? type_member(t, info->field, incl) : json_null());
}

/* __Field.args and __Directive.args: the parent carries all of them. */
static void args_field(const souk_gql_info_t *info, souk_gql_answer_t *ans)
{
    bool incl = json_is_true(json_object_get(info->args, "includeDeprecated"));
    json_t *all = json_object_get(info->parent, "args"), *out = json_array(), *a;
    size_t i;
    json_array_foreach(all, i, a) if (incl || !json_is_true(json_object_get(a, "isDeprecated")))
        json_array_append(out, a);
    souk_gql_answer_value(ans, out);
}

static void add(souk_gql_resolvers_t *r, const char *type, const char *field,
                souk_gql_resolve_fn fn)
{
    if (souk_gql_resolvers_add(r, type, field, fn, (void *)r->schema) != SOUK_OK)
        souk_log_error("graphql: introspection field %s.%s missing", type, field);
}

void souk_gql__introspection_register(souk_gql_resolvers_t *r)
{
    static const char *const schema_fields[] = {
        "description", "types", "queryType", "mutationType", "subscriptionType", "directives"};
    static const char *const type_fields[] = {"description", "specifiedByURL", "fields",
                                              "interfaces",  "possibleTypes",  "enumValues",
                                              "inputFields", "isOneOf"};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(schema_fields); i++)
        add(r, "__Schema", schema_fields[i], schema_field);
    for (size_t i = 0; i < SOUK_ARRAY_LEN(type_fields); i++)
        add(r, "__Type", type_fields[i], type_field);
    add(r, "__Field", "args", args_field);
    add(r, "__Directive", "args", args_field);
}
