/* validate.c: the validation rules of spec section 5 that are checked while
 * walking each operation and fragment definition with the type it applies to,
 * as graphql-js's TypeInfo walks it: FieldsOnCorrectType, ScalarLeafs,
 * KnownArgumentNames, UniqueArgumentNames, ProvidedRequiredArguments,
 * ValuesOfCorrectType, UniqueInputFieldNames, KnownDirectives,
 * UniqueDirectivesPerLocation, KnownTypeNames, FragmentsOnCompositeTypes,
 * PossibleFragmentSpreads, KnownFragmentNames, VariablesAreInputTypes,
 * UniqueVariableNames. The walk also records variable usages and fragment
 * spreads for the document-wide rules of validate_doc.c. The messages are
 * graphql-js's. Entry point: souk_gql__validate_rules. */
#include "validate_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void souk_gql__report(gql_vctx_t *v, gql_loc_t l1, const gql_loc_t *l2, const char *fmt, ...)
{
    char msg[GQL_MAX_MESSAGE];
    gql_loc_t locs[2] = {l1, l2 ? *l2 : l1};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    souk_gql__diag(v->d, locs, l2 ? 2 : 1, msg);
}

/* Reports a message built in a buffer. */
static void report_buf(gql_vctx_t *v, gql_loc_t loc, souk_buf_t *b)
{
    souk_gql__diag(v->d, &loc, 1, b->data ? b->data : "");
    souk_buf_cleanup(b);
}

static void type_str(const gql_tref_t *t, char *out, size_t cap)
{
    souk_buf_t b;
    souk_buf_init(&b, cap - 1);
    souk_gql__print_tref(&b, t);
    snprintf(out, cap, "%s", b.data ? b.data : "");
    souk_buf_cleanup(&b);
}

/* ---- values: ValuesOfCorrectType, UniqueInputFieldNames, variable usages ------------- */

static void valid_value_node(gql_vctx_t *v, const gql_value_t *val, const gql_tref_t *loc_type)
{
    if (!loc_type)
        return;
    const gql_type_t *named = gql_named(loc_type);
    souk_buf_t b;
    souk_buf_init(&b, GQL_MAX_MESSAGE);
    if (!gql_is_leaf(named)) {
        souk_gql__put(&b, "Expected value of type \"");
        souk_gql__print_tref(&b, loc_type);
        souk_gql__put(&b, "\", found ");
        souk_gql__print_value(&b, val);
        souk_gql__put(&b, ".");
        report_buf(v, val->loc, &b);
    } else if (!souk_gql__literal_ok(named, val, &b)) {
        report_buf(v, val->loc, &b);
    } else {
        souk_buf_cleanup(&b);
    }
}

static const gql_value_t *object_member(const gql_value_t *obj, const char *name)
{
    for (const gql_value_t *f = obj->items; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static void check_value(gql_vctx_t *v, const gql_value_t *val, const gql_tref_t *type);

static void check_object(gql_vctx_t *v, const gql_value_t *val, const gql_tref_t *type)
{
    const gql_type_t *t = gql_named(type);
    if (!t || t->kind != GQL_INPUT) {
        valid_value_node(v, val, type);
        return;
    }
    for (size_t i = 0; i < t->ninputs; i++) {
        const gql_ivalue_t *f = &t->inputs[i];
        if (f->type->kind == GQL_T_NONNULL && !f->defval && !object_member(val, f->name)) {
            char ts[256];
            type_str(f->type, ts, sizeof(ts));
            souk_gql__report(v, val->loc, NULL,
                             "Field \"%s.%s\" of required type \"%s\" was not provided.", t->name,
                             f->name, ts);
        }
    }
    for (const gql_value_t *f = val->items; f && !v->d->aborted; f = f->next) {
        const gql_ivalue_t *def = souk_gql__arg(t->inputs, t->ninputs, f->name);
        if (!def) {
            souk_buf_t b;
            souk_buf_init(&b, GQL_MAX_MESSAGE);
            souk_gql__putf(&b, "Field \"%s\" is not defined by type \"%s\".", f->name, t->name);
            const char **names = souk_arena_alloc(v->a, (t->ninputs + 1) * sizeof(*names));
            for (size_t i = 0; i < t->ninputs; i++)
                names[i] = t->inputs[i].name;
            souk_gql__did_you_mean(&b, f->name, names, t->ninputs, NULL);
            report_buf(v, f->loc, &b);
        }
        check_value(v, f, def ? def->type : NULL);
    }
}

static void check_value(gql_vctx_t *v, const gql_value_t *val, const gql_tref_t *type)
{
    const gql_tref_t *nt;
    switch (val->kind) {
    case GQL_V_VAR:
        return;
    case GQL_V_NULL:
        if (type && type->kind == GQL_T_NONNULL) {
            char ts[256];
            type_str(type, ts, sizeof(ts));
            souk_gql__report(v, val->loc, NULL, "Expected value of type \"%s\", found null.", ts);
        }
        return;
    case GQL_V_LIST:
        nt = gql_nullable(type);
        if (!nt || nt->kind != GQL_T_LIST) {
            valid_value_node(v, val, nt);
            return;
        }
        for (const gql_value_t *i = val->items; i; i = i->next)
            check_value(v, i, nt->of);
        return;
    case GQL_V_OBJECT:
        check_object(v, val, type);
        return;
    default:
        valid_value_node(v, val, type);
    }
}

static void unique_input_fields(gql_vctx_t *v, const gql_value_t *val)
{
    if (val->kind != GQL_V_LIST && val->kind != GQL_V_OBJECT)
        return;
    gql_map_t seen;
    souk_gql__map_init(&seen, v->a);
    for (const gql_value_t *i = val->items; i; i = i->next) {
        if (val->kind == GQL_V_OBJECT) {
            const gql_value_t *first = souk_gql__map_get(&seen, i->name);
            if (first)
                souk_gql__report(v, first->loc, &i->loc,
                                 "There can be only one input field named \"%s\".", i->name);
            else
                souk_gql__map_put(&seen, i->name, (void *)i);
        }
        unique_input_fields(v, i);
    }
}

/* TypeInfo's view of where each variable is used. */
static void collect_usages(gql_vctx_t *v, const gql_value_t *val, const gql_tref_t *type,
                           bool location_default)
{
    if (val->kind == GQL_V_VAR && v->cur) {
        gql_usage_t *u = souk_arena_alloc(v->a, sizeof(*u));
        *u = (gql_usage_t){val->str, val->loc, type, location_default, NULL};
        gql_usage_t **tail = &v->cur->usages;
        while (*tail)
            tail = &(*tail)->next;
        *tail = u;
    } else if (val->kind == GQL_V_LIST) {
        const gql_tref_t *nt = gql_nullable(type);
        const gql_tref_t *item = nt && nt->kind == GQL_T_LIST ? nt->of : nt;
        for (const gql_value_t *i = val->items; i; i = i->next)
            collect_usages(v, i, item, false);
    } else if (val->kind == GQL_V_OBJECT) {
        const gql_type_t *t = gql_named(type);
        for (const gql_value_t *i = val->items; i; i = i->next) {
            const gql_ivalue_t *f =
                t && t->kind == GQL_INPUT ? souk_gql__arg(t->inputs, t->ninputs, i->name) : NULL;
            collect_usages(v, i, f ? f->type : NULL, f && f->defval);
        }
    }
}

static void value_rules(gql_vctx_t *v, const gql_value_t *val, const gql_ivalue_t *def)
{
    check_value(v, val, def ? def->type : NULL);
    unique_input_fields(v, val);
    collect_usages(v, val, def ? def->type : NULL, def && def->defval);
}

/* ---- arguments ------------------------------------------------------------------------ */

static void unique_arguments(gql_vctx_t *v, const gql_arg_t *args)
{
    for (const gql_arg_t *a = args; a; a = a->next) {
        const gql_arg_t *first = args;
        while (first != a && strcmp(first->name, a->name) != 0)
            first = first->next;
        if (first == a) {
            bool dup = false;
            for (const gql_arg_t *b = a->next; b; b = b->next)
                dup = dup || strcmp(b->name, a->name) == 0;
            if (dup)
                souk_gql__report(v, a->loc, NULL, "There can be only one argument named \"%s\".",
                                 a->name);
        }
    }
}

static bool has_arg(const gql_arg_t *args, const char *name)
{
    for (; args; args = args->next)
        if (strcmp(args->name, name) == 0)
            return true;
    return false;
}

static void unknown_argument(gql_vctx_t *v, const gql_arg_t *a, const gql_ivalue_t *defs, size_t n,
                             const char *owner, bool directive)
{
    souk_buf_t b;
    souk_buf_init(&b, GQL_MAX_MESSAGE);
    souk_gql__putf(&b, "Unknown argument \"%s\" on %s \"%s\".", a->name,
                   directive ? "directive" : "field", owner);
    const char **names = souk_arena_alloc(v->a, (n + 1) * sizeof(*names));
    for (size_t i = 0; i < n; i++)
        names[i] = defs[i].name;
    souk_gql__did_you_mean(&b, a->name, names, n, NULL);
    report_buf(v, a->loc, &b);
}

static void required_arguments(gql_vctx_t *v, gql_loc_t loc, const gql_arg_t *args,
                               const gql_ivalue_t *defs, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        if (defs[i].type->kind != GQL_T_NONNULL || defs[i].defval || has_arg(args, defs[i].name))
            continue;
        char ts[256];
        type_str(defs[i].type, ts, sizeof(ts));
        souk_gql__report(v, loc, NULL,
                         "%s argument \"%s\" of type \"%s\" is required, but it was not provided.",
                         what, defs[i].name, ts);
    }
}

/* Arguments of a known field or directive (defs), or of an unknown one (NULL). */
static void arguments(gql_vctx_t *v, const gql_arg_t *args, const gql_ivalue_t *defs, size_t n,
                      bool known, const char *owner, bool directive)
{
    unique_arguments(v, args);
    for (const gql_arg_t *a = args; a && !v->d->aborted; a = a->next) {
        const gql_ivalue_t *def = known ? souk_gql__arg(defs, n, a->name) : NULL;
        if (known && !def)
            unknown_argument(v, a, defs, n, owner, directive);
        value_rules(v, a->value, def);
    }
}

/* ---- directives --------------------------------------------------------------------------- */

static void directives(gql_vctx_t *v, const gql_directive_t *dirs, gql_dirloc_t where)
{
    for (const gql_directive_t *d = dirs; d && !v->d->aborted; d = d->next) {
        const gql_dirdef_t *def = souk_gql__directive(v->s, d->name);
        if (!def)
            souk_gql__report(v, d->loc, NULL, "Unknown directive \"@%s\".", d->name);
        else if (!(def->locations & (1u << where)))
            souk_gql__report(v, d->loc, NULL, "Directive \"@%s\" may not be used on %s.", d->name,
                             souk_gql__dirloc_name(where));
        for (const gql_directive_t *e = dirs; def && !def->repeatable && e != d; e = e->next) {
            if (strcmp(e->name, d->name) == 0) {
                souk_gql__report(v, e->loc, &d->loc,
                                 "The directive \"@%s\" can only be used once at this location.",
                                 d->name);
                break;
            }
        }
        char owner[160];
        snprintf(owner, sizeof(owner), "@%s", d->name);
        arguments(v, d->args, def ? def->args : NULL, def ? def->nargs : 0, def != NULL, owner,
                  true);
        if (def) {
            snprintf(owner, sizeof(owner), "Directive \"@%s\"", d->name);
            required_arguments(v, d->loc, d->args, def->args, def->nargs, owner);
        }
    }
}

/* ---- selections ------------------------------------------------------------------------------ */

static void selset(gql_vctx_t *v, const gql_type_t *parent, const gql_selset_t *set);

/* getSuggestedTypeNames: types of an abstract parent that do have the field. */
static size_t suggested_types(gql_vctx_t *v, const gql_type_t *parent, const char *name,
                              const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; gql_is_abstract(parent) && i < parent->npossible && n < cap; i++) {
        const gql_type_t *t = parent->possible[i];
        if (!souk_gql__field(t, name))
            continue;
        for (size_t j = 0; j < t->nifaces && n < cap; j++) {
            bool dup = false;
            for (size_t k = 0; k < n; k++)
                dup = dup || strcmp(out[k], t->ifaces[j]->name) == 0;
            if (!dup && souk_gql__field(t->ifaces[j], name))
                out[n++] = t->ifaces[j]->name;
        }
        if (n < cap)
            out[n++] = t->name;
    }
    (void)v;
    return n;
}

static void unknown_field(gql_vctx_t *v, const gql_type_t *parent, const gql_selection_t *f)
{
    souk_buf_t b;
    const char *types[16];
    souk_buf_init(&b, GQL_MAX_MESSAGE);
    souk_gql__putf(&b, "Cannot query field \"%s\" on type \"%s\".", f->name, parent->name);
    size_t n = suggested_types(v, parent, f->name, types, SOUK_ARRAY_LEN(types));
    if (n) {
        souk_gql__did_you_mean(&b, NULL, types, n, "to use an inline fragment on");
    } else if (parent->kind != GQL_UNION) {
        const char **names = souk_arena_alloc(v->a, (parent->nfields + 1) * sizeof(*names));
        for (size_t i = 0; i < parent->nfields; i++)
            names[i] = parent->fields[i].name;
        souk_gql__did_you_mean(&b, f->name, names, parent->nfields, NULL);
    }
    report_buf(v, f->loc, &b);
}

static void leaf_rules(gql_vctx_t *v, const gql_selection_t *f, const gql_tref_t *type)
{
    char ts[256];
    type_str(type, ts, sizeof(ts));
    if (gql_is_leaf(gql_named(type))) {
        if (f->selset)
            souk_gql__report(v, f->selset->loc, NULL,
                             "Field \"%s\" must not have a selection since type \"%s\" has no "
                             "subfields.",
                             f->name, ts);
    } else if (!f->selset) {
        souk_gql__report(v, f->loc, NULL,
                         "Field \"%s\" of type \"%s\" must have a selection of subfields. Did you "
                         "mean \"%s { ... }\"?",
                         f->name, ts, f->name);
    }
}

static void field(gql_vctx_t *v, const gql_type_t *parent, const gql_selection_t *f)
{
    const gql_field_t *def = souk_gql__field_def(v->s, parent, f->name);
    if (parent && !def)
        unknown_field(v, parent, f);
    char owner[300];
    snprintf(owner, sizeof(owner), "%s.%s", parent ? parent->name : "", f->name);
    arguments(v, f->args, def ? def->args : NULL, def ? def->nargs : 0, def && parent, owner,
              false);
    if (def) {
        snprintf(owner, sizeof(owner), "Field \"%s\"", def->name);
        required_arguments(v, f->loc, f->args, def->args, def->nargs, owner);
    }
    directives(v, f->directives, GQL_LOC_FIELD);
    if (def)
        leaf_rules(v, f, def->type);
    bool intro = strcmp(f->name, "__schema") == 0 || strcmp(f->name, "__type") == 0;
    bool skip = intro && !v->intro_skip && souk_gql__introspection_too_deep(v, f);
    if (skip)
        souk_gql__report(v, f->loc, NULL, "Maximum introspection depth exceeded");
    v->intro_skip += skip;
    if (f->selset) {
        const gql_type_t *t = def ? gql_named(def->type) : NULL;
        selset(v, gql_is_composite(t) ? t : NULL, f->selset);
    }
    v->intro_skip -= skip;
}

static void record_spread(gql_vctx_t *v, const gql_selection_t *s)
{
    gql_defuse_t *u = v->cur;
    if (u->nspreads == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 8;
        const gql_selection_t **grown = souk_arena_alloc(v->a, u->cap * sizeof(*grown));
        if (u->nspreads)
            memcpy(grown, u->spreads, u->nspreads * sizeof(*grown));
        u->spreads = grown;
    }
    u->spreads[u->nspreads++] = s;
}

static void spread(gql_vctx_t *v, const gql_type_t *parent, const gql_selection_t *s)
{
    const gql_def_t *frag = souk_gql__map_get(&v->frags, s->name);
    record_spread(v, s);
    if (!frag) {
        souk_gql__report(v, s->name_loc, NULL, "Unknown fragment \"%s\".", s->name);
    } else {
        const gql_type_t *ft = souk_gql__type(v->s, frag->type_cond);
        if (gql_is_composite(ft) && parent && !souk_gql__types_overlap(ft, parent))
            souk_gql__report(v, s->loc, NULL,
                             "Fragment \"%s\" cannot be spread here as objects of type \"%s\" can "
                             "never be of type \"%s\".",
                             s->name, parent->name, ft->name);
    }
    directives(v, s->directives, GQL_LOC_FRAGMENT_SPREAD);
}

static void unknown_type(gql_vctx_t *v, const char *name, gql_loc_t loc)
{
    souk_buf_t b;
    souk_buf_init(&b, GQL_MAX_MESSAGE);
    souk_gql__putf(&b, "Unknown type \"%s\".", name);
    const char **names = souk_arena_alloc(v->a, (v->s->ntypes + 1) * sizeof(*names));
    for (size_t i = 0; i < v->s->ntypes; i++)
        names[i] = v->s->types[i]->name;
    souk_gql__did_you_mean(&b, name, names, v->s->ntypes, NULL);
    report_buf(v, loc, &b);
}

static void inline_fragment(gql_vctx_t *v, const gql_type_t *parent, const gql_selection_t *s)
{
    const gql_type_t *t = parent;
    if (s->type_cond) {
        t = souk_gql__type(v->s, s->type_cond);
        if (!t)
            unknown_type(v, s->type_cond, s->type_loc);
        else if (!gql_is_composite(t))
            souk_gql__report(v, s->type_loc, NULL,
                             "Fragment cannot condition on non composite type \"%s\".", t->name);
        else if (parent && !souk_gql__types_overlap(t, parent))
            souk_gql__report(v, s->loc, NULL,
                             "Fragment cannot be spread here as objects of type \"%s\" can never "
                             "be of type \"%s\".",
                             parent->name, t->name);
    }
    directives(v, s->directives, GQL_LOC_INLINE_FRAGMENT);
    selset(v, gql_is_composite(t) ? t : NULL, s->selset);
}

static void selset(gql_vctx_t *v, const gql_type_t *parent, const gql_selset_t *set)
{
    /* past the error limit nothing more is reported: stop working */
    for (const gql_selection_t *s = set->first; s && !v->d->aborted; s = s->next) {
        if (s->kind == GQL_SEL_FIELD)
            field(v, parent, s);
        else if (s->kind == GQL_SEL_SPREAD)
            spread(v, parent, s);
        else
            inline_fragment(v, parent, s);
    }
}

/* ---- definitions ------------------------------------------------------------------------------
 */

static const gql_typeref_t *innermost(const gql_typeref_t *t)
{
    while (t->kind != GQL_T_NAMED)
        t = t->of;
    return t;
}

static void variable_definitions(gql_vctx_t *v, const gql_def_t *op)
{
    for (const gql_vardef_t *d = op->vars; d && !v->d->aborted; d = d->next) {
        const gql_vardef_t *e = op->vars;
        while (e != d && strcmp(e->name, d->name) != 0)
            e = e->next;
        if (e != d)
            souk_gql__report(v, e->loc, &d->loc, "There can be only one variable named \"$%s\".",
                             d->name);
        const gql_typeref_t *n = innermost(d->type);
        if (!souk_gql__type(v->s, n->name))
            unknown_type(v, n->name, n->loc);
        gql_tref_t *t = souk_gql__tref_from_ast(v->s, v->a, d->type);
        if (t && !gql_is_input(t)) {
            souk_buf_t b;
            souk_buf_init(&b, GQL_MAX_MESSAGE);
            souk_gql__putf(&b, "Variable \"$%s\" cannot be non-input type \"", d->name);
            souk_gql__print_typeref(&b, d->type);
            souk_gql__put(&b, "\".");
            report_buf(v, d->type->loc, &b);
        }
        if (d->defval) {
            check_value(v, d->defval, t && gql_is_input(t) ? t : NULL);
            unique_input_fields(v, d->defval);
        }
        directives(v, d->directives, GQL_LOC_VARIABLE_DEFINITION);
    }
}

static void operation(gql_vctx_t *v, const gql_def_t *op)
{
    static const gql_dirloc_t where[] = {GQL_LOC_QUERY, GQL_LOC_MUTATION, GQL_LOC_SUBSCRIPTION};
    const gql_type_t *root = op->op == SOUK_GQL_QUERY      ? v->s->query
                             : op->op == SOUK_GQL_MUTATION ? v->s->mutation
                                                           : v->s->subscription;
    variable_definitions(v, op);
    directives(v, op->directives, where[op->op]);
    selset(v, root, op->selset);
}

static void fragment(gql_vctx_t *v, const gql_def_t *f)
{
    const gql_type_t *t = souk_gql__type(v->s, f->type_cond);
    if (!t)
        unknown_type(v, f->type_cond, f->type_loc);
    else if (!gql_is_composite(t))
        souk_gql__report(v, f->type_loc, NULL,
                         "Fragment \"%s\" cannot condition on non composite type \"%s\".", f->name,
                         t->name);
    directives(v, f->directives, GQL_LOC_FRAGMENT_DEFINITION);
    selset(v, gql_is_composite(t) ? t : NULL, f->selset);
}

void souk_gql__validate_rules(const souk_gql_schema_t *s, souk_arena_t *a,
                              const gql_document_t *doc, gql_diag_t *d)
{
    gql_vctx_t v = {.s = s, .a = a, .doc = doc, .d = d};
    souk_gql__map_init(&v.frags, a);
    souk_gql__map_init(&v.uses, a);
    souk_gql__map_init(&v.intro_checked, a);
    souk_gql__map_init(&v.intro_exceeded, a);
    v.all = souk_arena_alloc(a, (doc->ndefs + 1) * sizeof(*v.all));
    memset(v.all, 0, (doc->ndefs + 1) * sizeof(*v.all));
    for (const gql_def_t *def = doc->defs; def; def = def->next)
        if (def->kind == GQL_D_FRAGMENT)
            souk_gql__map_put(&v.frags, def->name, (void *)def);
    for (const gql_def_t *def = doc->defs; def && !d->aborted; def = def->next) {
        if (def->kind != GQL_D_OPERATION && def->kind != GQL_D_FRAGMENT)
            continue;
        v.cur = &v.all[v.nall++];
        v.cur->def = def;
        if (def->kind == GQL_D_FRAGMENT) {
            souk_gql__map_put(&v.uses, def->name, v.cur);
            fragment(&v, def);
        } else {
            operation(&v, def);
        }
    }
    v.cur = NULL;
    if (!d->aborted)
        souk_gql__document_rules(&v);
}
