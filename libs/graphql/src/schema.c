/* schema.c: builds the schema model from SDL text: the prelude (built-in
 * scalars, introspection types and directives) and the host's definitions and
 * extensions, resolved into types that point at each other, with default values
 * coerced once. It checks what would make execution ill-defined (unknown or
 * misplaced types, duplicate names, interfaces not honoured, missing root), the
 * main part of graphql-js's validateSchema; it does not run graphql-js's SDL
 * validation rules on directive usages in the SDL beyond @deprecated and
 * @specifiedBy, which it reads. Also here: type lookups and the type relations
 * validation needs (isSubType, isTypeSubTypeOf, doTypesOverlap). */
#include "gql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

extern const char souk_gql__prelude[];

typedef struct {
    souk_gql_schema_t *s;
    souk_arena_t *a;
    gql_map_t all;  /* every declared type, built-in scalars included */
    gql_map_t defs; /* type name -> its defining gql_def_t */
    json_t *errors;
    gql_type_t **list; /* declaration order */
    size_t n, cap;
    const gql_def_t *schema_def;
} builder_t;

static void err(builder_t *b, gql_loc_t loc, const char *fmt, ...) SOUK_PRINTF(3, 4);

static void err(builder_t *b, gql_loc_t loc, const char *fmt, ...)
{
    char msg[GQL_MAX_MESSAGE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (json_array_size(b->errors) < SOUK_GQL_MAX_ERRORS)
        json_array_append_new(b->errors, souk_gql__error_json(msg, &loc, 1, NULL));
}

static void *zalloc(builder_t *b, size_t n)
{
    void *p = souk_arena_alloc(b->a, n ? n : 1);
    memset(p, 0, n ? n : 1);
    return p;
}

static const char *builtin_scalars[] = {"String", "Int", "Float", "Boolean", "ID"};

static gql_scalar_t scalar_id(const char *name)
{
    static const gql_scalar_t ids[] = {GQL_SC_STRING, GQL_SC_INT, GQL_SC_FLOAT, GQL_SC_BOOLEAN,
                                       GQL_SC_ID};
    for (size_t i = 0; i < SOUK_ARRAY_LEN(builtin_scalars); i++)
        if (strcmp(name, builtin_scalars[i]) == 0)
            return ids[i];
    return GQL_SC_CUSTOM;
}

/* ---- pass 1: declare ------------------------------------------------------------ */

static gql_kind_t kind_of(gql_dkind_t k)
{
    switch (k) {
    case GQL_D_SCALAR:
        return GQL_SCALAR;
    case GQL_D_OBJECT:
        return GQL_OBJECT;
    case GQL_D_INTERFACE:
        return GQL_INTERFACE;
    case GQL_D_UNION:
        return GQL_UNION;
    case GQL_D_ENUM:
        return GQL_ENUM;
    default:
        return GQL_INPUT;
    }
}

static bool is_type_def(const gql_def_t *d)
{
    return d->kind >= GQL_D_SCALAR && d->kind <= GQL_D_INPUT;
}

static void declare(builder_t *b, const gql_def_t *d, bool prelude)
{
    gql_type_t *old = souk_gql__map_get(&b->all, d->name);
    if (old && !prelude && old->scalar != GQL_SC_CUSTOM && d->kind == GQL_D_SCALAR) {
        old->referenced = true; /* `scalar Int` in the SDL: the built-in is kept */
        return;
    }
    if (!prelude && strncmp(d->name, "__", 2) == 0) {
        err(b, d->name_loc,
            "Name \"%s\" must not begin with \"__\", which is reserved by GraphQL introspection.",
            d->name);
        return;
    }
    if (old) {
        err(b, d->name_loc, "There can be only one type named \"%s\".", d->name);
        return;
    }
    gql_type_t *t = zalloc(b, sizeof(*t));
    t->kind = kind_of(d->kind);
    t->name = d->name;
    t->desc = d->desc;
    t->introspection = prelude && strncmp(d->name, "__", 2) == 0;
    t->scalar = prelude ? scalar_id(d->name) : GQL_SC_CUSTOM;
    t->referenced = !prelude || t->introspection;
    souk_gql__map_put(&b->all, d->name, t);
    souk_gql__map_put(&b->defs, d->name, (void *)d);
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->list = souk_realloc(b->list, b->cap * sizeof(*b->list));
    }
    b->list[b->n++] = t;
}

/* ---- type references ---------------------------------------------------------------- */

static gql_tref_t *resolve(builder_t *b, const gql_typeref_t *r)
{
    gql_tref_t *t = zalloc(b, sizeof(*t));
    t->kind = r->kind;
    if (r->kind != GQL_T_NAMED) {
        t->of = resolve(b, r->of);
        return t->of ? t : NULL;
    }
    t->named = souk_gql__map_get(&b->all, r->name);
    if (!t->named) {
        err(b, r->loc, "Unknown type \"%s\".", r->name);
        return NULL;
    }
    t->named->referenced = true;
    return t;
}

static const gql_directive_t *find_directive(const gql_directive_t *d, const char *name)
{
    for (; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

static const gql_value_t *directive_arg(const gql_directive_t *d, const char *name)
{
    for (const gql_arg_t *a = d ? d->args : NULL; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a->value;
    return NULL;
}

static void deprecation(const gql_directive_t *dirs, bool *deprecated, const char **reason)
{
    const gql_directive_t *d = find_directive(dirs, "deprecated");
    const gql_value_t *r = directive_arg(d, "reason");
    *deprecated = d != NULL;
    *reason = !d ? NULL : r && r->kind == GQL_V_STRING ? r->str : "No longer supported";
}

/* ---- pass 2: fill ------------------------------------------------------------------ */

static size_t count_inputs(const gql_inputdef_t *i)
{
    size_t n = 0;
    for (; i; i = i->next)
        n++;
    return n;
}

static gql_ivalue_t *build_inputs(builder_t *b, const gql_inputdef_t *defs, size_t *n,
                                  const char *owner, const char *kind)
{
    gql_ivalue_t *v = zalloc(b, count_inputs(defs) * sizeof(*v));
    size_t k = 0;
    for (const gql_inputdef_t *i = defs; i; i = i->next) {
        if (souk_gql__arg(v, k, i->name)) {
            err(b, i->loc, "%s \"%s.%s\" can only be defined once.", kind, owner, i->name);
            continue;
        }
        gql_ivalue_t *x = &v[k++];
        x->name = i->name;
        x->desc = i->desc;
        x->defval = i->defval;
        x->type = resolve(b, i->type);
        deprecation(i->directives, &x->deprecated, &x->reason);
        if (x->type && !gql_is_input(x->type))
            err(b, i->loc, "The type of %s.%s must be Input Type but got: %s.", owner, i->name,
                gql_named(x->type)->name);
        if (x->deprecated && x->type && x->type->kind == GQL_T_NONNULL && !x->defval)
            err(b, i->loc, "Required %s %s.%s cannot be deprecated.", kind, owner, i->name);
    }
    *n = k;
    return v;
}

static void add_fields(builder_t *b, gql_type_t *t, const gql_fielddef_t *defs)
{
    size_t n = 0;
    for (const gql_fielddef_t *f = defs; f; f = f->next)
        n++;
    gql_field_t *fields = zalloc(b, (t->nfields + n) * sizeof(*fields));
    if (t->nfields)
        memcpy(fields, t->fields, t->nfields * sizeof(*fields));
    t->fields = fields;
    for (const gql_fielddef_t *f = defs; f; f = f->next) {
        if (souk_gql__field(t, f->name)) {
            err(b, f->loc, "Field \"%s.%s\" can only be defined once.", t->name, f->name);
            continue;
        }
        gql_field_t *x = &t->fields[t->nfields];
        x->name = f->name;
        x->desc = f->desc;
        x->index = t->nfields++;
        x->type = resolve(b, f->type);
        char owner[300];
        snprintf(owner, sizeof(owner), "%s.%s", t->name, f->name);
        x->args = build_inputs(b, f->args, &x->nargs, souk_arena_strdup(b->a, owner), "Argument");
        deprecation(f->directives, &x->deprecated, &x->reason);
        if (x->type && !gql_is_output(x->type))
            err(b, f->loc, "The type of %s must be Output Type but got: %s.", owner,
                gql_named(x->type)->name);
    }
}

static void add_types(builder_t *b, gql_type_t ***list, size_t *n, const gql_namelist_t *names)
{
    size_t k = 0;
    for (const gql_namelist_t *m = names; m; m = m->next)
        k++;
    gql_type_t **out = zalloc(b, (*n + k) * sizeof(*out));
    if (*n)
        memcpy(out, *list, *n * sizeof(*out));
    for (const gql_namelist_t *m = names; m; m = m->next) {
        gql_type_t *t = souk_gql__map_get(&b->all, m->name);
        if (!t) {
            err(b, m->loc, "Unknown type \"%s\".", m->name);
            continue;
        }
        t->referenced = true;
        out[(*n)++] = t;
    }
    *list = out;
}

static void add_enum_values(builder_t *b, gql_type_t *t, const gql_enumdef_t *defs)
{
    size_t n = 0;
    for (const gql_enumdef_t *e = defs; e; e = e->next)
        n++;
    gql_enumval_t *v = zalloc(b, (t->nvalues + n) * sizeof(*v));
    if (t->nvalues)
        memcpy(v, t->values, t->nvalues * sizeof(*v));
    t->values = v;
    for (const gql_enumdef_t *e = defs; e; e = e->next) {
        bool dup = false;
        for (size_t i = 0; i < t->nvalues; i++)
            dup = dup || strcmp(t->values[i].name, e->name) == 0;
        if (dup) {
            err(b, e->loc, "Enum value \"%s.%s\" can only be defined once.", t->name, e->name);
            continue;
        }
        gql_enumval_t *x = &t->values[t->nvalues++];
        x->name = e->name;
        x->desc = e->desc;
        deprecation(e->directives, &x->deprecated, &x->reason);
    }
}

static void add_inputs(builder_t *b, gql_type_t *t, const gql_def_t *d)
{
    const gql_inputdef_t *defs = d->inputs;
    size_t n;
    gql_ivalue_t *more = build_inputs(b, defs, &n, t->name, "Input field");
    gql_ivalue_t *all = zalloc(b, (t->ninputs + n) * sizeof(*all));
    if (t->ninputs)
        memcpy(all, t->inputs, t->ninputs * sizeof(*all));
    for (size_t i = 0; i < n; i++) {
        if (souk_gql__arg(all, t->ninputs, more[i].name))
            err(b, d->name_loc, "Input field \"%s.%s\" can only be defined once.", t->name,
                more[i].name);
        else
            all[t->ninputs++] = more[i];
    }
    t->inputs = all;
}

static void apply_directives(gql_type_t *t, const gql_directive_t *dirs)
{
    const gql_value_t *url = directive_arg(find_directive(dirs, "specifiedBy"), "url");
    if (url && url->kind == GQL_V_STRING)
        t->specified_by = url->str;
}

static void fill(builder_t *b, gql_type_t *t, const gql_def_t *d)
{
    if (d->desc && !t->desc)
        t->desc = d->desc;
    apply_directives(t, d->directives);
    switch (t->kind) {
    case GQL_OBJECT:
    case GQL_INTERFACE:
        add_types(b, &t->ifaces, &t->nifaces, d->names);
        add_fields(b, t, d->fields);
        break;
    case GQL_UNION:
        add_types(b, &t->possible, &t->npossible, d->names);
        break;
    case GQL_ENUM:
        add_enum_values(b, t, d->values);
        break;
    case GQL_INPUT:
        add_inputs(b, t, d);
        break;
    case GQL_SCALAR:
        break;
    }
}

static void extend(builder_t *b, const gql_def_t *d)
{
    if (d->kind == GQL_D_SCHEMA)
        return; /* root operation types are read in roots() */
    gql_type_t *t = souk_gql__map_get(&b->all, d->name);
    if (!t) {
        err(b, d->name_loc, "Cannot extend type \"%s\" because it is not defined.", d->name);
        return;
    }
    if (t->kind != kind_of(d->kind)) {
        err(b, d->name_loc, "Cannot extend type \"%s\" with a definition of another kind.",
            t->name);
        return;
    }
    fill(b, t, d);
}

/* ---- directives ------------------------------------------------------------------- */

static void add_directive(builder_t *b, const gql_def_t *d, bool prelude)
{
    souk_gql_schema_t *s = b->s;
    if (souk_gql__directive(s, d->name)) {
        err(b, d->name_loc,
            prelude ? "There can be only one directive named \"@%s\"."
                    : "Directive \"@%s\" already exists in the schema. It cannot be "
                      "redefined.",
            d->name);
        return;
    }
    if (!prelude && strncmp(d->name, "__", 2) == 0) {
        err(b, d->name_loc,
            "Name \"%s\" must not begin with \"__\", which is reserved by GraphQL introspection.",
            d->name);
        return;
    }
    gql_dirdef_t *x = &s->directives[s->ndirectives++];
    x->name = d->name;
    x->desc = d->desc;
    x->repeatable = d->repeatable;
    x->args =
        build_inputs(b, d->inputs, &x->nargs, souk_arena_printf(b->a, "@%s", d->name), "Argument");
    for (const gql_namelist_t *l = d->names; l; l = l->next) {
        int loc = souk_gql__dirloc_parse(l->name);
        if (!(x->locations & (1u << loc)))
            x->order[x->nlocations++] = (uint8_t)loc;
        x->locations |= 1u << loc;
    }
}

/* ---- checks ----------------------------------------------------------------------- */

static gql_loc_t def_loc(builder_t *b, const gql_type_t *t)
{
    const gql_def_t *d = souk_gql__map_get(&b->defs, t->name);
    return d ? d->name_loc : (gql_loc_t){1, 1};
}

static bool implements(const gql_type_t *t, const gql_type_t *iface)
{
    for (size_t i = 0; i < t->nifaces; i++)
        if (t->ifaces[i] == iface)
            return true;
    return false;
}

static void check_field_args(builder_t *b, const gql_type_t *t, const gql_field_t *f,
                             const gql_type_t *iface, const gql_field_t *ifield)
{
    for (size_t k = 0; k < ifield->nargs; k++) {
        const gql_ivalue_t *ia = &ifield->args[k];
        const gql_ivalue_t *a = souk_gql__arg(f->args, f->nargs, ia->name);
        if (!a)
            err(b, def_loc(b, t),
                "Interface field argument %s.%s(%s:) expected but %s.%s does not provide it.",
                iface->name, ifield->name, ia->name, t->name, f->name);
        else if (a->type && ia->type && !souk_gql__types_equal(a->type, ia->type))
            err(b, def_loc(b, t), "Interface field argument %s.%s(%s:) expects a different type.",
                iface->name, ifield->name, ia->name);
    }
    for (size_t k = 0; k < f->nargs; k++) {
        const gql_ivalue_t *a = &f->args[k];
        bool required = a->type && a->type->kind == GQL_T_NONNULL && !a->defval;
        if (required && !souk_gql__arg(ifield->args, ifield->nargs, a->name))
            err(b, def_loc(b, t),
                "Object field %s.%s includes required argument %s that is missing from the "
                "Interface field %s.%s.",
                t->name, f->name, a->name, iface->name, ifield->name);
    }
}

static void check_implementation(builder_t *b, const gql_type_t *t, const gql_type_t *iface)
{
    if (iface->kind != GQL_INTERFACE) {
        err(b, def_loc(b, t),
            "Type %s must only implement Interface types, it cannot implement %s.", t->name,
            iface->name);
        return;
    }
    if (iface == t) {
        err(b, def_loc(b, t),
            "Type %s cannot implement itself because it would create a circular "
            "reference.",
            t->name);
        return;
    }
    for (size_t j = 0; j < iface->nifaces; j++)
        if (!implements(t, iface->ifaces[j]))
            err(b, def_loc(b, t), "Type %s must implement %s because it is implemented by %s.",
                t->name, iface->ifaces[j]->name, iface->name);
    for (size_t k = 0; k < iface->nfields; k++) {
        const gql_field_t *ifield = &iface->fields[k];
        const gql_field_t *f = souk_gql__field(t, ifield->name);
        if (!f) {
            err(b, def_loc(b, t), "Interface field %s.%s expected but %s does not provide it.",
                iface->name, ifield->name, t->name);
            continue;
        }
        if (f->type && ifield->type && !souk_gql__is_subtype(f->type, ifield->type))
            err(b, def_loc(b, t), "Interface field %s.%s expects a type that %s.%s does not match.",
                iface->name, ifield->name, t->name, f->name);
        check_field_args(b, t, f, iface, ifield);
    }
}

static void check_type(builder_t *b, gql_type_t *t)
{
    if (t->introspection || (t->kind == GQL_SCALAR))
        return;
    if ((t->kind == GQL_OBJECT || t->kind == GQL_INTERFACE) && t->nfields == 0)
        err(b, def_loc(b, t), "Type %s must define one or more fields.", t->name);
    if (t->kind == GQL_ENUM && t->nvalues == 0)
        err(b, def_loc(b, t), "Enum type %s must define one or more values.", t->name);
    if (t->kind == GQL_INPUT && t->ninputs == 0)
        err(b, def_loc(b, t), "Input Object type %s must define one or more fields.", t->name);
    if (t->kind == GQL_UNION && t->npossible == 0)
        err(b, def_loc(b, t), "Union type %s must define one or more member types.", t->name);
    for (size_t i = 0; t->kind == GQL_UNION && i < t->npossible; i++)
        if (t->possible[i]->kind != GQL_OBJECT)
            err(b, def_loc(b, t),
                "Union type %s can only include Object types, it cannot include %s.", t->name,
                t->possible[i]->name);
    for (size_t i = 0; i < t->nifaces; i++)
        check_implementation(b, t, t->ifaces[i]);
}

static void append_type(builder_t *b, gql_type_t ***list, size_t *n, gql_type_t *t)
{
    gql_type_t **out = zalloc(b, (*n + 1) * sizeof(*out));
    if (*n)
        memcpy(out, *list, *n * sizeof(*out));
    out[(*n)++] = t;
    *list = out;
}

/* Interfaces learn who implements them (objects: possible types). */
static void link_implementations(builder_t *b)
{
    for (size_t i = 0; i < b->n; i++) {
        gql_type_t *t = b->list[i];
        for (size_t j = 0; j < t->nifaces; j++) {
            gql_type_t *iface = t->ifaces[j];
            if (iface->kind != GQL_INTERFACE)
                continue;
            if (t->kind == GQL_OBJECT)
                append_type(b, &iface->possible, &iface->npossible, t);
            else
                append_type(b, &iface->sub_ifaces, &iface->nsub_ifaces, t);
        }
    }
}

static gql_type_t *root(builder_t *b, const char *name, gql_loc_t loc, const char *what)
{
    gql_type_t *t = souk_gql__map_get(&b->all, name);
    if (!t)
        err(b, loc, "Unknown type \"%s\".", name);
    else if (t->kind != GQL_OBJECT)
        err(b, loc, "%s root type must be Object type, it cannot be %s.", what, name);
    return t && t->kind == GQL_OBJECT ? t : NULL;
}

static void roots(builder_t *b, const gql_document_t *doc)
{
    souk_gql_schema_t *s = b->s;
    static const char *const what[] = {"Query", "Mutation", "Subscription"};
    gql_type_t **slots[] = {&s->query, &s->mutation, &s->subscription};
    bool explicit = false;
    for (const gql_def_t *d = doc->defs; d; d = d->next) {
        if (d->kind != GQL_D_SCHEMA)
            continue;
        if (!d->extension && b->schema_def)
            err(b, d->loc, "Must provide only one schema definition.");
        if (!d->extension) {
            b->schema_def = d;
            s->description = d->desc;
        }
        explicit = true;
        for (const gql_namelist_t *n = d->names; n; n = n->next) {
            if (*slots[n->op])
                err(b, n->loc, "There can be only one %s type in schema.", what[n->op]);
            *slots[n->op] = root(b, n->name, n->loc, what[n->op]);
        }
    }
    for (int op = 0; !explicit && op < 3; op++) {
        gql_type_t *t = souk_gql__map_get(&b->all, what[op]);
        *slots[op] = t && t->kind == GQL_OBJECT && !t->introspection ? t : NULL;
    }
    if (!s->query)
        err(b, (gql_loc_t){1, 1}, "Query root type must be provided.");
}

/* ---- defaults and meta fields ------------------------------------------------------- */

static void coerce_defaults(builder_t *b, gql_ivalue_t *v, size_t n, const char *owner)
{
    for (size_t i = 0; i < n; i++) {
        if (!v[i].defval || !v[i].type)
            continue;
        json_t *j = NULL;
        if (souk_gql__value_from_ast(v[i].defval, v[i].type, NULL, &j) != GQL_VAL_OK) {
            err(b, v[i].defval->loc, "%s.%s has an invalid default value.", owner, v[i].name);
            continue;
        }
        v[i].default_json = souk_arena_json(b->a, j);
    }
}

static void all_defaults(builder_t *b)
{
    souk_gql_schema_t *s = b->s;
    for (size_t i = 0; i < b->n; i++) {
        gql_type_t *t = b->list[i];
        for (size_t k = 0; k < t->nfields; k++)
            coerce_defaults(b, t->fields[k].args, t->fields[k].nargs, t->name);
        coerce_defaults(b, t->inputs, t->ninputs, t->name);
    }
    for (size_t k = 0; k < s->ndirectives; k++)
        coerce_defaults(b, s->directives[k].args, s->directives[k].nargs, s->directives[k].name);
}

static gql_tref_t *named(builder_t *b, const char *name, bool nonnull)
{
    gql_tref_t *t = zalloc(b, sizeof(*t));
    t->kind = GQL_T_NAMED;
    t->named = souk_gql__map_get(&b->all, name);
    if (!nonnull)
        return t;
    gql_tref_t *nn = zalloc(b, sizeof(*nn));
    nn->kind = GQL_T_NONNULL;
    nn->of = t;
    return nn;
}

static void meta_fields(builder_t *b)
{
    souk_gql_schema_t *s = b->s;
    s->typename_field = (gql_field_t){.name = "__typename",
                                      .desc = "The name of the current Object type at runtime.",
                                      .type = named(b, "String", true)};
    s->schema_field = (gql_field_t){.name = "__schema",
                                    .desc = "Access the current type schema of this server.",
                                    .type = named(b, "__Schema", true)};
    gql_ivalue_t *arg = zalloc(b, sizeof(*arg));
    arg->name = "name";
    arg->type = named(b, "String", true);
    s->type_field = (gql_field_t){.name = "__type",
                                  .desc = "Request the type information of a single type.",
                                  .type = named(b, "__Type", false),
                                  .args = arg,
                                  .nargs = 1};
    s->t_string = souk_gql__map_get(&b->all, "String");
    s->t_boolean = souk_gql__map_get(&b->all, "Boolean");
}

/* The listed types: the host's, the built-in scalars in use, introspection. */
static void finish_types(builder_t *b)
{
    souk_gql_schema_t *s = b->s;
    s->types = zalloc(b, b->n * sizeof(*s->types));
    souk_gql__map_init(&s->by_name, s->arena);
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < b->n; i++) {
            gql_type_t *t = b->list[i];
            int group = t->introspection ? 2 : t->scalar != GQL_SC_CUSTOM ? 1 : 0;
            if (group != pass || !t->referenced)
                continue;
            t->index = s->ntypes;
            s->types[s->ntypes++] = t;
            souk_gql__map_put(&s->by_name, t->name, t);
        }
    }
}

/* ---- entry points ----------------------------------------------------------------- */

static void build(builder_t *b, const gql_document_t *prelude, const gql_document_t *doc)
{
    size_t ndirs = 0;
    for (int pass = 0; pass < 2; pass++)
        for (const gql_def_t *d = pass ? doc->defs : prelude->defs; d; d = d->next) {
            if (is_type_def(d) && !d->extension)
                declare(b, d, pass == 0);
            ndirs += d->kind == GQL_D_DIRECTIVE;
            if (d->kind == GQL_D_OPERATION || d->kind == GQL_D_FRAGMENT)
                err(b, d->loc, "A schema cannot contain executable definitions.");
        }
    b->s->directives = zalloc(b, ndirs * sizeof(*b->s->directives));
    for (int pass = 0; pass < 2; pass++)
        for (const gql_def_t *d = pass ? doc->defs : prelude->defs; d; d = d->next) {
            gql_type_t *t =
                is_type_def(d) && !d->extension ? souk_gql__map_get(&b->all, d->name) : NULL;
            if (t && souk_gql__map_get(&b->defs, d->name) == d)
                fill(b, t, d);
            if (d->kind == GQL_D_DIRECTIVE)
                add_directive(b, d, pass == 0);
        }
    for (const gql_def_t *d = doc->defs; d; d = d->next)
        if (d->extension)
            extend(b, d);
    roots(b, doc);
    link_implementations(b);
    for (size_t i = 0; i < b->n; i++)
        check_type(b, b->list[i]);
    meta_fields(b);
    if (json_array_size(b->errors) == 0)
        all_defaults(b);
    finish_types(b);
}

static json_t *syntax_errors(const gql_syntax_error_t *e)
{
    json_t *a = json_array();
    json_array_append_new(a, souk_gql__error_json(e->message, &e->loc, 1, NULL));
    return a;
}

souk_err_t souk_gql_schema_new(const char *sdl, size_t len, souk_gql_schema_t **out,
                               json_t **errors)
{
    souk_gql_schema_t *s = souk_calloc(1, sizeof(*s));
    gql_document_t prelude, doc;
    gql_syntax_error_t serr;
    builder_t b = {.s = s};
    json_t *errs = NULL;
    s->arena = b.a = souk_arena_new();
    souk_gql__map_init(&b.all, b.a);
    souk_gql__map_init(&b.defs, b.a);
    *out = NULL;
    if (souk_gql__parse(b.a, souk_gql__prelude, strlen(souk_gql__prelude), &prelude, &serr)) {
        errs = syntax_errors(&serr); /* cannot happen: the prelude is ours */
        goto out;
    }
    if (souk_gql__parse(b.a, sdl, len, &doc, &serr)) {
        errs = syntax_errors(&serr);
        goto out;
    }
    b.errors = errs = json_array();
    build(&b, &prelude, &doc);
out:
    souk_free(b.list);
    if (errs && json_array_size(errs) > 0) {
        if (errors)
            *errors = errs;
        else
            json_decref(errs);
        souk_gql_schema_free(s);
        return SOUK_EINVAL;
    }
    json_decref(errs);
    if (errors)
        *errors = NULL;
    *out = s;
    return SOUK_OK;
}

void souk_gql_schema_free(souk_gql_schema_t *s)
{
    if (!s)
        return;
    souk_arena_free(s->arena);
    souk_free(s);
}

/* ---- lookups and relations ------------------------------------------------------------- */

gql_type_t *souk_gql__type(const souk_gql_schema_t *s, const char *name)
{
    return souk_gql__map_get(&s->by_name, name);
}

const gql_field_t *souk_gql__field(const gql_type_t *t, const char *name)
{
    for (size_t i = 0; t && i < t->nfields; i++)
        if (strcmp(t->fields[i].name, name) == 0)
            return &t->fields[i];
    return NULL;
}

const gql_dirdef_t *souk_gql__directive(const souk_gql_schema_t *s, const char *name)
{
    for (size_t i = 0; i < s->ndirectives; i++)
        if (strcmp(s->directives[i].name, name) == 0)
            return &s->directives[i];
    return NULL;
}

const gql_ivalue_t *souk_gql__arg(const gql_ivalue_t *args, size_t nargs, const char *name)
{
    for (size_t i = 0; i < nargs; i++)
        if (strcmp(args[i].name, name) == 0)
            return &args[i];
    return NULL;
}

const gql_field_t *souk_gql__field_def(const souk_gql_schema_t *s, const gql_type_t *parent,
                                       const char *name)
{
    if (!parent)
        return NULL;
    if (name[0] == '_' && name[1] == '_') {
        if (parent == s->query && strcmp(name, "__schema") == 0)
            return &s->schema_field;
        if (parent == s->query && strcmp(name, "__type") == 0)
            return &s->type_field;
        if (gql_is_composite(parent) && strcmp(name, "__typename") == 0)
            return &s->typename_field;
    }
    if (parent->kind == GQL_OBJECT || parent->kind == GQL_INTERFACE)
        return souk_gql__field(parent, name);
    return NULL;
}

gql_tref_t *souk_gql__tref_from_ast(const souk_gql_schema_t *s, souk_arena_t *a,
                                    const gql_typeref_t *r)
{
    if (!r)
        return NULL;
    gql_tref_t *t = souk_arena_alloc(a, sizeof(*t));
    memset(t, 0, sizeof(*t));
    t->kind = r->kind;
    if (r->kind == GQL_T_NAMED) {
        t->named = souk_gql__type(s, r->name);
        return t->named ? t : NULL;
    }
    t->of = souk_gql__tref_from_ast(s, a, r->of);
    return t->of ? t : NULL;
}

bool souk_gql__is_possible(const gql_type_t *abstract, const gql_type_t *maybe)
{
    for (size_t i = 0; i < abstract->npossible; i++)
        if (abstract->possible[i] == maybe)
            return true;
    for (size_t i = 0; abstract->kind == GQL_INTERFACE && i < abstract->nsub_ifaces; i++)
        if (abstract->sub_ifaces[i] == maybe)
            return true;
    return false;
}

bool souk_gql__types_equal(const gql_tref_t *a, const gql_tref_t *b)
{
    if (a->kind != b->kind)
        return false;
    return a->kind == GQL_T_NAMED ? a->named == b->named : souk_gql__types_equal(a->of, b->of);
}

bool souk_gql__is_subtype(const gql_tref_t *sub, const gql_tref_t *super)
{
    if (super->kind == GQL_T_NONNULL)
        return sub->kind == GQL_T_NONNULL && souk_gql__is_subtype(sub->of, super->of);
    if (sub->kind == GQL_T_NONNULL)
        return souk_gql__is_subtype(sub->of, super);
    if (super->kind == GQL_T_LIST)
        return sub->kind == GQL_T_LIST && souk_gql__is_subtype(sub->of, super->of);
    if (sub->kind == GQL_T_LIST)
        return false;
    if (sub->named == super->named)
        return true;
    return gql_is_abstract(super->named) &&
           (sub->named->kind == GQL_INTERFACE || sub->named->kind == GQL_OBJECT) &&
           souk_gql__is_possible(super->named, sub->named);
}

bool souk_gql__types_overlap(const gql_type_t *a, const gql_type_t *b)
{
    if (a == b)
        return true;
    if (gql_is_abstract(a)) {
        if (gql_is_abstract(b)) {
            for (size_t i = 0; i < a->npossible; i++)
                if (souk_gql__is_possible(b, a->possible[i]))
                    return true;
            return false;
        }
        return souk_gql__is_possible(a, b);
    }
    return gql_is_abstract(b) && souk_gql__is_possible(b, a);
}
