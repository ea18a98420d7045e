/* limits.c: souk's limits on valid documents, refused before any resolver
 * runs: nesting depth of fields, number of aliases, and an estimated cost in
 * which every field costs 1 and the fields below a list are multiplied by its
 * `limit`/`first` argument (see souk/graphql.h for the exact rule). Fragments
 * are costed once per entry context, so a document cannot make this work
 * exponential. Introspection is bounded by the schema, not by data: __schema
 * and __type cost a flat amount whatever is below them (which is left out of
 * depth), __typename nothing. It runs only on documents without fragment
 * cycles. */
#include "gql_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COST_CAP 1e15 /* saturation: far above any budget, far below overflow */

typedef struct {
    const souk_gql_schema_t *s;
    souk_arena_t *a;
    gql_map_t frags;
    const gql_def_t *op;
    const json_t *vars;
    const souk_gql_limits_t *lim;
    gql_map_t depth_memo; /* fragment -> depth + 1 */
    gql_map_t cost_memo;  /* "fragment#pending" -> double* */
} lim_t;

/* Flat costs of introspection: a whole schema, one type. */
#define COST_SCHEMA 1000
#define COST_TYPE   100

static double meta_cost(const char *name)
{
    return !strcmp(name, "__schema") ? COST_SCHEMA : !strcmp(name, "__type") ? COST_TYPE : 0;
}

static bool is_meta(const char *name)
{
    return name[0] == '_' && name[1] == '_' &&
           (!strcmp(name, "__typename") || !strcmp(name, "__schema") || !strcmp(name, "__type"));
}

static unsigned count_aliases(const gql_selset_t *set)
{
    unsigned n = 0;
    for (const gql_selection_t *s = set ? set->first : NULL; s; s = s->next)
        n += (s->alias != NULL) + count_aliases(s->selset);
    return n;
}

/* ---- depth --------------------------------------------------------------------------------- */

static unsigned depth(lim_t *l, const gql_selset_t *set);

static unsigned fragment_depth(lim_t *l, const char *name)
{
    uintptr_t m = (uintptr_t)souk_gql__map_get(&l->depth_memo, name);
    if (m)
        return (unsigned)(m - 1);
    const gql_def_t *f = souk_gql__map_get(&l->frags, name);
    unsigned d = f ? depth(l, f->selset) : 0;
    souk_gql__map_put(&l->depth_memo, name, (void *)(uintptr_t)(d + 1));
    return d;
}

static unsigned depth(lim_t *l, const gql_selset_t *set)
{
    unsigned max = 0, d = 0;
    for (const gql_selection_t *s = set->first; s; s = s->next) {
        if (s->kind == GQL_SEL_FIELD)
            d = is_meta(s->name) ? 0 : 1 + (s->selset ? depth(l, s->selset) : 0);
        else if (s->kind == GQL_SEL_INLINE)
            d = depth(l, s->selset);
        else
            d = fragment_depth(l, s->name);
        max = d > max ? d : max;
    }
    return max;
}

/* ---- cost ---------------------------------------------------------------------------------- */

static const gql_arg_t *arg_node(const gql_selection_t *f, const char *name)
{
    const gql_arg_t *found = NULL;
    for (const gql_arg_t *a = f->args; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            found = a;
    return found;
}

static const gql_vardef_t *vardef(const gql_def_t *op, const char *name)
{
    const gql_vardef_t *found = NULL;
    for (const gql_vardef_t *d = op ? op->vars : NULL; d; d = d->next)
        if (strcmp(d->name, name) == 0)
            found = d;
    return found;
}

static bool int_of_value(lim_t *l, const gql_value_t *v, double *out)
{
    if (v->kind == GQL_V_INT) {
        *out = strtod(v->str, NULL);
        return true;
    }
    if (v->kind != GQL_V_VAR)
        return false;
    if (l->vars) {
        json_t *x = json_object_get(l->vars, v->str);
        if (json_is_number(x)) {
            *out = json_number_value(x);
            return true;
        }
        return false;
    }
    const gql_vardef_t *d = vardef(l->op, v->str);
    return d && d->defval && int_of_value(l, d->defval, out);
}

/* The field's limit/first argument as it will be (-1: it has none). */
static double list_size(lim_t *l, const gql_field_t *def, const gql_selection_t *f)
{
    static const char *const names[] = {"limit", "first"};
    for (size_t i = 0; def && i < SOUK_ARRAY_LEN(names); i++) {
        const gql_ivalue_t *ad = souk_gql__arg(def->args, def->nargs, names[i]);
        if (!ad)
            continue;
        const gql_arg_t *given = arg_node(f, names[i]);
        double n;
        if (given && int_of_value(l, given->value, &n))
            return n < 0 ? 0 : n;
        if (json_is_integer(ad->default_json))
            return (double)json_integer_value(ad->default_json);
        return l->lim->default_list_size;
    }
    return -1;
}

static double cost(lim_t *l, const gql_type_t *parent, const gql_selset_t *set, double pending);

static double fragment_cost(lim_t *l, const char *name, double pending)
{
    const char *key = souk_arena_printf(l->a, "%s#%.0f", name, pending);
    double *m = souk_gql__map_get(&l->cost_memo, key);
    if (m)
        return *m;
    const gql_def_t *f = souk_gql__map_get(&l->frags, name);
    m = souk_arena_alloc(l->a, sizeof(*m));
    *m = f ? cost(l, souk_gql__type(l->s, f->type_cond), f->selset, pending) : 0;
    souk_gql__map_put(&l->cost_memo, key, m);
    return *m;
}

static double field_cost(lim_t *l, const gql_type_t *parent, const gql_selection_t *f,
                         double pending)
{
    const gql_field_t *def = souk_gql__field_def(l->s, parent, f->name);
    if (!f->selset || !def)
        return 1;
    double n = list_size(l, def, f), mult = 1, below = 0;
    if (gql_nullable(def->type)->kind == GQL_T_LIST)
        mult = n >= 0 ? n : pending > 0 ? pending : l->lim->default_list_size;
    else
        below = n >= 0 ? n : 0;
    double c = 1 + mult * cost(l, gql_named(def->type), f->selset, below);
    return c > COST_CAP ? COST_CAP : c;
}

static double cost(lim_t *l, const gql_type_t *parent, const gql_selset_t *set, double pending)
{
    double total = 0;
    for (const gql_selection_t *s = set->first; s; s = s->next) {
        if (s->kind == GQL_SEL_FIELD && is_meta(s->name))
            total += meta_cost(s->name);
        else if (s->kind == GQL_SEL_FIELD)
            total += field_cost(l, parent, s, pending);
        else if (s->kind == GQL_SEL_INLINE)
            total += cost(l, s->type_cond ? souk_gql__type(l->s, s->type_cond) : parent, s->selset,
                          pending);
        else if (s->kind == GQL_SEL_SPREAD)
            total += fragment_cost(l, s->name, pending);
        if (total > COST_CAP)
            total = COST_CAP;
    }
    return total;
}

/* ---- entry point ------------------------------------------------------------------------------
 */

static void check_operation(lim_t *l, const gql_def_t *op, gql_diag_t *d)
{
    char msg[256];
    const gql_type_t *root = op->op == SOUK_GQL_MUTATION ? l->s->mutation : l->s->query;
    l->op = op;
    souk_gql__map_init(&l->cost_memo, l->a);
    unsigned dep = depth(l, op->selset);
    if (dep > l->lim->max_depth) {
        snprintf(msg, sizeof(msg), "The query is nested %u fields deep; the limit is %u.", dep,
                 l->lim->max_depth);
        souk_gql__diag(d, &op->loc, 1, msg);
    }
    double c = cost(l, root, op->selset, 0);
    if (c > (double)l->lim->max_cost) {
        snprintf(msg, sizeof(msg), "The query's estimated cost is %.0f; the limit is %lu.", c,
                 l->lim->max_cost);
        souk_gql__diag(d, &op->loc, 1, msg);
    }
}

void souk_gql__check_limits(const souk_gql_schema_t *s, souk_arena_t *a, const gql_document_t *doc,
                            const gql_def_t *only_op, const json_t *vars,
                            const souk_gql_limits_t *lim, gql_diag_t *d)
{
    lim_t l = {.s = s, .a = a, .vars = vars, .lim = lim};
    unsigned aliases = 0;
    souk_gql__map_init(&l.frags, a);
    souk_gql__map_init(&l.depth_memo, a);
    for (const gql_def_t *def = doc->defs; def; def = def->next) {
        if (def->kind == GQL_D_FRAGMENT)
            souk_gql__map_put(&l.frags, def->name, (void *)def);
        if (def->kind == GQL_D_FRAGMENT || def->kind == GQL_D_OPERATION)
            aliases += count_aliases(def->selset);
    }
    if (!only_op && aliases > lim->max_aliases) {
        char msg[128];
        gql_loc_t loc = {1, 1};
        snprintf(msg, sizeof(msg), "The document has %u aliases; the limit is %u.", aliases,
                 lim->max_aliases);
        souk_gql__diag(d, &loc, 1, msg);
    }
    for (const gql_def_t *def = doc->defs; def; def = def->next)
        if (def->kind == GQL_D_OPERATION && (!only_op || def == only_op))
            check_operation(&l, def, d);
}
