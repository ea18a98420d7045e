/* validate_doc.c: the validation rules over the whole document, run after
 * validate.c walked every definition: ExecutableDefinitions,
 * UniqueOperationNames, LoneAnonymousOperation, UniqueFragmentNames,
 * NoFragmentCycles, NoUnusedFragments, NoUndefinedVariables,
 * NoUnusedVariables, VariablesInAllowedPosition, graphql-js's recommended
 * MaxIntrospectionDepthRule, and souk's refusal of subscriptions (and of any
 * operation type the schema has no root for). Messages are graphql-js's. */
#include "validate_int.h"

#include <stdint.h>
#include <string.h>

static void executable_definitions(gql_vctx_t *v)
{
    for (const gql_def_t *d = v->doc->defs; d; d = d->next) {
        if (d->kind == GQL_D_OPERATION || d->kind == GQL_D_FRAGMENT)
            continue;
        if (d->kind == GQL_D_SCHEMA)
            souk_gql__report(v, d->loc, NULL, "The schema definition is not executable.");
        else
            souk_gql__report(v, d->loc, NULL, "The \"%s\" definition is not executable.", d->name);
    }
}

static void operation_names(gql_vctx_t *v)
{
    size_t ops = 0;
    gql_map_t seen;
    souk_gql__map_init(&seen, v->a);
    for (const gql_def_t *d = v->doc->defs; d; d = d->next)
        ops += d->kind == GQL_D_OPERATION;
    for (const gql_def_t *d = v->doc->defs; d; d = d->next) {
        if (d->kind != GQL_D_OPERATION)
            continue;
        if (!d->name) {
            if (ops > 1)
                souk_gql__report(v, d->loc, NULL,
                                 "This anonymous operation must be the only defined operation.");
            continue;
        }
        const gql_def_t *first = souk_gql__map_get(&seen, d->name);
        if (first)
            souk_gql__report(v, first->name_loc, &d->name_loc,
                             "There can be only one operation named \"%s\".", d->name);
        else
            souk_gql__map_put(&seen, d->name, (void *)d);
    }
}

static void fragment_names(gql_vctx_t *v)
{
    gql_map_t seen;
    souk_gql__map_init(&seen, v->a);
    for (const gql_def_t *d = v->doc->defs; d; d = d->next) {
        if (d->kind != GQL_D_FRAGMENT)
            continue;
        const gql_def_t *first = souk_gql__map_get(&seen, d->name);
        if (first)
            souk_gql__report(v, first->name_loc, &d->name_loc,
                             "There can be only one fragment named \"%s\".", d->name);
        else
            souk_gql__map_put(&seen, d->name, (void *)d);
    }
}

/* ---- NoFragmentCycles ------------------------------------------------------------------- */

typedef struct {
    gql_vctx_t *v;
    gql_map_t visited;
    gql_map_t index; /* fragment -> position in path + 1 */
    const gql_selection_t **path;
    size_t len;
} cycles_t;

static void report_cycle(cycles_t *c, size_t from, const char *name)
{
    souk_buf_t b;
    souk_buf_init(&b, GQL_MAX_MESSAGE);
    souk_gql__putf(&b, "Cannot spread fragment \"%s\" within itself", name);
    for (size_t i = from; i + 1 < c->len; i++)
        souk_gql__putf(&b, "%s\"%s\"", i == from ? " via " : ", ", c->path[i]->name);
    souk_gql__put(&b, ".");
    gql_loc_t loc = c->path[from]->loc;
    souk_gql__diag(c->v->d, &loc, 1, b.data);
    souk_buf_cleanup(&b);
}

static void detect_cycle(cycles_t *c, const gql_defuse_t *frag)
{
    const char *name = frag->def->name;
    if (souk_gql__map_get(&c->visited, name))
        return;
    souk_gql__map_put(&c->visited, name, (void *)frag);
    if (frag->nspreads == 0)
        return;
    souk_gql__map_put(&c->index, name, (void *)(uintptr_t)(c->len + 1));
    for (size_t i = 0; i < frag->nspreads && !c->v->d->aborted; i++) {
        const gql_selection_t *s = frag->spreads[i];
        uintptr_t at = (uintptr_t)souk_gql__map_get(&c->index, s->name);
        c->path[c->len++] = s;
        if (!at) {
            const gql_defuse_t *next = souk_gql__map_get(&c->v->uses, s->name);
            if (next)
                detect_cycle(c, next);
        } else {
            report_cycle(c, at - 1, s->name);
        }
        c->len--;
    }
    souk_gql__map_put(&c->index, name, NULL);
}

static void fragment_cycles(gql_vctx_t *v)
{
    size_t total = 0;
    for (size_t i = 0; i < v->nall; i++)
        total += v->all[i].nspreads;
    cycles_t c = {.v = v};
    c.path = souk_arena_alloc(v->a, (total + 1) * sizeof(*c.path));
    souk_gql__map_init(&c.visited, v->a);
    souk_gql__map_init(&c.index, v->a);
    for (size_t i = 0; i < v->nall; i++)
        if (v->all[i].def->kind == GQL_D_FRAGMENT)
            detect_cycle(&c, &v->all[i]);
}

/* ---- fragments reached from an operation --------------------------------------------------- */

/* getRecursivelyReferencedFragments: into out (capacity v->nall). */
static size_t referenced(gql_vctx_t *v, const gql_defuse_t *op, const gql_defuse_t **out,
                         gql_map_t *collected)
{
    const gql_defuse_t **stack = souk_arena_alloc(v->a, (v->nall + 1) * sizeof(*stack));
    size_t n = 0, top = 0;
    stack[top++] = op;
    while (top) {
        const gql_defuse_t *u = stack[--top];
        for (size_t i = 0; i < u->nspreads; i++) {
            const char *name = u->spreads[i]->name;
            if (souk_gql__map_get(collected, name))
                continue;
            souk_gql__map_put(collected, name, (void *)u);
            const gql_defuse_t *f = souk_gql__map_get(&v->uses, name);
            if (f) {
                out[n++] = f;
                stack[top++] = f;
            }
        }
    }
    return n;
}

static void unused_fragments(gql_vctx_t *v)
{
    gql_map_t used;
    const gql_defuse_t **frags = souk_arena_alloc(v->a, (v->nall + 1) * sizeof(*frags));
    souk_gql__map_init(&used, v->a);
    for (size_t i = 0; i < v->nall; i++)
        if (v->all[i].def->kind == GQL_D_OPERATION)
            referenced(v, &v->all[i], frags, &used);
    for (size_t i = 0; i < v->nall; i++) {
        const gql_def_t *d = v->all[i].def;
        if (d->kind == GQL_D_FRAGMENT && !souk_gql__map_get(&used, d->name))
            souk_gql__report(v, d->loc, NULL, "Fragment \"%s\" is never used.", d->name);
    }
}

/* ---- variables --------------------------------------------------------------------------------
 */

static bool allowed_usage(const gql_tref_t *var_type, const gql_value_t *var_default,
                          const gql_usage_t *u)
{
    const gql_tref_t *loc = u->type;
    if (loc->kind == GQL_T_NONNULL && var_type->kind != GQL_T_NONNULL) {
        bool nonnull_default = var_default && var_default->kind != GQL_V_NULL;
        if (!nonnull_default && !u->location_default)
            return false;
        return souk_gql__is_subtype(var_type, loc->of);
    }
    return souk_gql__is_subtype(var_type, loc);
}

static const gql_vardef_t *vardef(const gql_def_t *op, const char *name)
{
    const gql_vardef_t *found = NULL;
    for (const gql_vardef_t *d = op->vars; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            found = d; /* graphql-js keeps the last one */
    return found;
}

static void check_usage(gql_vctx_t *v, const gql_def_t *op, const gql_usage_t *u)
{
    const gql_vardef_t *d = vardef(op, u->name);
    if (!d) {
        if (op->name)
            souk_gql__report(v, u->loc, &op->loc,
                             "Variable \"$%s\" is not defined by operation \"%s\".", u->name,
                             op->name);
        else
            souk_gql__report(v, u->loc, &op->loc, "Variable \"$%s\" is not defined.", u->name);
        return;
    }
    const gql_tref_t *t = u->type ? souk_gql__tref_from_ast(v->s, v->a, d->type) : NULL;
    if (!t || allowed_usage(t, d->defval, u))
        return;
    souk_buf_t b;
    souk_buf_init(&b, GQL_MAX_MESSAGE);
    souk_gql__putf(&b, "Variable \"$%s\" of type \"", u->name);
    souk_gql__print_tref(&b, t);
    souk_gql__put(&b, "\" used in position expecting type \"");
    souk_gql__print_tref(&b, u->type);
    souk_gql__put(&b, "\".");
    gql_loc_t locs[2] = {d->loc, u->loc};
    souk_gql__diag(v->d, locs, 2, b.data);
    souk_buf_cleanup(&b);
}

static void operation_variables(gql_vctx_t *v, const gql_defuse_t *op)
{
    gql_map_t collected, used;
    const gql_defuse_t **frags = souk_arena_alloc(v->a, (v->nall + 1) * sizeof(*frags));
    souk_gql__map_init(&collected, v->a);
    souk_gql__map_init(&used, v->a);
    size_t n = referenced(v, op, frags, &collected);
    for (size_t i = 0; i <= n; i++) {
        const gql_defuse_t *u = i == 0 ? op : frags[i - 1];
        for (const gql_usage_t *x = u->usages; x && !v->d->aborted; x = x->next) {
            souk_gql__map_put(&used, x->name, (void *)x);
            check_usage(v, op->def, x);
        }
    }
    for (const gql_vardef_t *d = op->def->vars; d; d = d->next) {
        if (souk_gql__map_get(&used, d->name))
            continue;
        if (op->def->name)
            souk_gql__report(v, d->loc, NULL, "Variable \"$%s\" is never used in operation \"%s\".",
                             d->name, op->def->name);
        else
            souk_gql__report(v, d->loc, NULL, "Variable \"$%s\" is never used.", d->name);
    }
}

/* ---- souk: what is not executed ------------------------------------------------------------- */

static void unsupported_operations(gql_vctx_t *v)
{
    static const char *const names[] = {"query", "mutation", "subscription"};
    for (const gql_def_t *d = v->doc->defs; d; d = d->next) {
        if (d->kind != GQL_D_OPERATION)
            continue;
        const gql_type_t *root = d->op == SOUK_GQL_QUERY      ? v->s->query
                                 : d->op == SOUK_GQL_MUTATION ? v->s->mutation
                                                              : NULL;
        if (!root)
            souk_gql__report(v, d->loc, NULL, "The %s operation is not supported by the schema.",
                             names[d->op]);
    }
}

void souk_gql__document_rules(gql_vctx_t *v)
{
    executable_definitions(v);
    operation_names(v);
    fragment_names(v);
    fragment_cycles(v);
    unused_fragments(v);
    for (size_t i = 0; i < v->nall && !v->d->aborted; i++)
        if (v->all[i].def->kind == GQL_D_OPERATION)
            operation_variables(v, &v->all[i]);
    unsupported_operations(v);
}

/* ---- MaxIntrospectionDepthRule ------------------------------------------------------------- */

#define INTROSPECTION_MAX_LISTS 3

static bool intro_selset(gql_vctx_t *v, const gql_selset_t *set, gql_map_t *visited,
                         unsigned depth);

static bool intro_spread(gql_vctx_t *v, const gql_selection_t *s, gql_map_t *visited,
                         unsigned depth)
{
    uintptr_t ex = (uintptr_t)souk_gql__map_get(&v->intro_exceeded, s->name);
    if (ex && ex - 1 <= depth)
        return true;
    uintptr_t vis = (uintptr_t)souk_gql__map_get(visited, s->name);
    uintptr_t chk = (uintptr_t)souk_gql__map_get(&v->intro_checked, s->name);
    if ((vis && vis - 1 >= depth) || (chk && chk - 1 >= depth))
        return false;
    const gql_def_t *frag = souk_gql__map_get(&v->frags, s->name);
    if (!frag)
        return false;
    souk_gql__map_put(visited, s->name, (void *)(uintptr_t)(depth + 1));
    if (intro_selset(v, frag->selset, visited, depth)) {
        souk_gql__map_put(&v->intro_exceeded, s->name, (void *)(uintptr_t)(depth + 1));
        return true;
    }
    souk_gql__map_put(&v->intro_checked, s->name, (void *)(uintptr_t)(depth + 1));
    return false;
}

static bool intro_node(gql_vctx_t *v, const gql_selection_t *s, gql_map_t *visited, unsigned depth)
{
    if (s->kind == GQL_SEL_SPREAD)
        return intro_spread(v, s, visited, depth);
    if (s->kind == GQL_SEL_FIELD &&
        (!strcmp(s->name, "fields") || !strcmp(s->name, "interfaces") ||
         !strcmp(s->name, "possibleTypes") || !strcmp(s->name, "inputFields"))) {
        if (++depth >= INTROSPECTION_MAX_LISTS)
            return true;
    }
    return s->selset && intro_selset(v, s->selset, visited, depth);
}

static bool intro_selset(gql_vctx_t *v, const gql_selset_t *set, gql_map_t *visited, unsigned depth)
{
    for (const gql_selection_t *s = set->first; s; s = s->next)
        if (intro_node(v, s, visited, depth))
            return true;
    return false;
}

bool souk_gql__introspection_too_deep(gql_vctx_t *v, const gql_selection_t *field)
{
    gql_map_t visited;
    souk_gql__map_init(&visited, v->a);
    return intro_node(v, field, &visited, 0);
}
