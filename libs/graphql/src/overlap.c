/* overlap.c: OverlappingFieldsCanBeMerged (spec 5.3.2, "Field Selection
 * Merging"), ported from graphql-js 16 with its caches: the fields and
 * fragment names of each selection set are collected once, and pairs of
 * (fields, fragment) and (fragment, fragment) are compared once per
 * exclusivity. It runs only on documents that passed every other rule, so
 * every fragment exists, none is cyclic and every field is known. A budget of
 * field comparisons bounds the time hostile documents can take; past it the
 * document is refused as too complex (graphql-js has no such bound). */
#include "gql_int.h"

#include <stdio.h>
#include <string.h>

#define COMPARISON_BUDGET 1000000ul
#define MAX_CONFLICT_LOCS 8

typedef struct {
    const gql_type_t *parent;
    const gql_selection_t *node;
    const gql_field_t *def; /* NULL for __typename */
} fnd_t;

typedef struct {
    const char *key;
    fnd_t *items;
    size_t n, cap;
} group_t;

typedef struct {
    group_t *groups;
    size_t n, cap;
    gql_map_t index; /* response key -> group index + 1 */
    const char **frags;
    size_t nfrags, fcap;
    gql_map_t fragset;
} fieldmap_t;

typedef struct {
    const char *key;
    char *reason;
    gql_loc_t locs[MAX_CONFLICT_LOCS];
    size_t nlocs;
} conflict_t;

typedef struct {
    conflict_t *items;
    size_t n, cap;
} clist_t;

typedef struct {
    const souk_gql_schema_t *s;
    souk_arena_t *a;
    gql_map_t frags;
    gql_map_t field_frag_pairs; /* "%p|name" -> 1 (not exclusive) or 2 */
    gql_map_t frag_pairs;       /* "a|b" (a < b) -> 1 or 2 */
    unsigned long budget;
    bool exhausted;
} ov_t;

static void *grow(ov_t *o, void *old, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return old;
    *cap = *cap ? *cap * 2 : 4;
    void *p = souk_arena_alloc(o->a, *cap * size);
    if (n)
        memcpy(p, old, n * size);
    return p;
}

/* ---- collecting fields ------------------------------------------------------------------- */

static void add_field(ov_t *o, fieldmap_t *fm, const gql_type_t *parent, const gql_selection_t *s)
{
    const char *key = gql_response_key(s);
    uintptr_t at = (uintptr_t)souk_gql__map_get(&fm->index, key);
    if (!at) {
        fm->groups = grow(o, fm->groups, fm->n, &fm->cap, sizeof(*fm->groups));
        fm->groups[fm->n] = (group_t){.key = key};
        at = ++fm->n;
        souk_gql__map_put(&fm->index, key, (void *)at);
    }
    group_t *g = &fm->groups[at - 1];
    const gql_field_t *def = NULL;
    if (parent && (parent->kind == GQL_OBJECT || parent->kind == GQL_INTERFACE))
        def = souk_gql__field(parent, s->name);
    g->items = grow(o, g->items, g->n, &g->cap, sizeof(*g->items));
    g->items[g->n++] = (fnd_t){parent, s, def};
}

static void collect(ov_t *o, fieldmap_t *fm, const gql_type_t *parent, const gql_selset_t *set)
{
    for (const gql_selection_t *s = set->first; s; s = s->next) {
        if (s->kind == GQL_SEL_FIELD) {
            add_field(o, fm, parent, s);
        } else if (s->kind == GQL_SEL_SPREAD) {
            if (souk_gql__map_get(&fm->fragset, s->name))
                continue;
            souk_gql__map_put(&fm->fragset, s->name, (void *)s);
            fm->frags = grow(o, fm->frags, fm->nfrags, &fm->fcap, sizeof(*fm->frags));
            fm->frags[fm->nfrags++] = s->name;
        } else {
            collect(o, fm, s->type_cond ? souk_gql__type(o->s, s->type_cond) : parent, s->selset);
        }
    }
}

static fieldmap_t *fields_of(ov_t *o, const gql_type_t *parent, const gql_selset_t *set)
{
    gql_selset_t *mset = (gql_selset_t *)set; /* the cache slot is ours during validation */
    if (mset->overlap_cache)
        return mset->overlap_cache;
    fieldmap_t *fm = souk_arena_alloc(o->a, sizeof(*fm));
    memset(fm, 0, sizeof(*fm));
    souk_gql__map_init(&fm->index, o->a);
    souk_gql__map_init(&fm->fragset, o->a);
    collect(o, fm, parent, set);
    mset->overlap_cache = fm;
    return fm;
}

static fieldmap_t *fragment_fields(ov_t *o, const gql_def_t *frag)
{
    return fields_of(o, souk_gql__type(o->s, frag->type_cond), frag->selset);
}

/* ---- pair memos ------------------------------------------------------------------------------ */

static bool pair_seen(ov_t *o, gql_map_t *m, const char *key, bool exclusive)
{
    uintptr_t v = (uintptr_t)souk_gql__map_get(m, key);
    if (!v)
        return false;
    return exclusive ? true : v == 1;
}

static void pair_add(ov_t *o, gql_map_t *m, const char *key, bool exclusive)
{
    souk_gql__map_put(m, key, (void *)(uintptr_t)(exclusive ? 2 : 1));
}

/* ---- conflicts ---------------------------------------------------------------------------------
 */

static void push(ov_t *o, clist_t *out, conflict_t c)
{
    out->items = grow(o, out->items, out->n, &out->cap, sizeof(*out->items));
    out->items[out->n++] = c;
}

static void add_loc(conflict_t *c, gql_loc_t l)
{
    if (c->nlocs < MAX_CONFLICT_LOCS)
        c->locs[c->nlocs++] = l;
}

static bool conflict_simple(ov_t *o, clist_t *out, const char *key, const fnd_t *a, const fnd_t *b,
                            const char *reason)
{
    conflict_t c = {.key = key, .reason = souk_arena_strdup(o->a, reason)};
    add_loc(&c, a->node->loc);
    add_loc(&c, b->node->loc);
    push(o, out, c);
    return true;
}

static bool same_arguments(ov_t *o, const gql_selection_t *x, const gql_selection_t *y)
{
    size_t nx = 0, ny = 0;
    for (const gql_arg_t *a = x->args; a; a = a->next)
        nx++;
    for (const gql_arg_t *a = y->args; a; a = a->next)
        ny++;
    if (nx != ny)
        return false;
    for (const gql_arg_t *a = x->args; a; a = a->next) {
        const gql_arg_t *match = NULL;
        for (const gql_arg_t *b = y->args; b; b = b->next)
            if (strcmp(a->name, b->name) == 0)
                match = b;
        if (!match)
            return false;
        souk_buf_t p1, p2;
        souk_buf_init(&p1, 1u << 16);
        souk_buf_init(&p2, 1u << 16);
        souk_gql__print_value_sorted(&p1, a->value);
        souk_gql__print_value_sorted(&p2, match->value);
        bool same = p1.len == p2.len && (p1.len == 0 || memcmp(p1.data, p2.data, p1.len) == 0);
        souk_buf_cleanup(&p1);
        souk_buf_cleanup(&p2);
        if (!same)
            return false;
    }
    (void)o;
    return true;
}

static bool types_conflict(const gql_tref_t *a, const gql_tref_t *b)
{
    if (a->kind == GQL_T_LIST)
        return b->kind == GQL_T_LIST ? types_conflict(a->of, b->of) : true;
    if (b->kind == GQL_T_LIST)
        return true;
    if (a->kind == GQL_T_NONNULL)
        return b->kind == GQL_T_NONNULL ? types_conflict(a->of, b->of) : true;
    if (b->kind == GQL_T_NONNULL)
        return true;
    if (gql_is_leaf(a->named) || gql_is_leaf(b->named))
        return a->named != b->named;
    return false;
}

static void between_fields_and_fragment(ov_t *o, clist_t *out, bool excl, fieldmap_t *fm,
                                        const char *frag);
static void between_fragments(ov_t *o, clist_t *out, bool excl, const char *f1, const char *f2);
static bool find_conflict(ov_t *o, clist_t *out, bool parent_excl, const char *key, const fnd_t *a,
                          const fnd_t *b);

static void collect_between(ov_t *o, clist_t *out, bool excl, fieldmap_t *m1, fieldmap_t *m2)
{
    for (size_t i = 0; i < m1->n && !o->exhausted; i++) {
        group_t *g1 = &m1->groups[i];
        uintptr_t at = (uintptr_t)souk_gql__map_get(&m2->index, g1->key);
        if (!at)
            continue;
        group_t *g2 = &m2->groups[at - 1];
        for (size_t x = 0; x < g1->n; x++)
            for (size_t y = 0; y < g2->n && !o->exhausted; y++)
                find_conflict(o, out, excl, g1->key, &g1->items[x], &g2->items[y]);
    }
}

static void collect_within(ov_t *o, clist_t *out, fieldmap_t *fm)
{
    for (size_t i = 0; i < fm->n && !o->exhausted; i++) {
        group_t *g = &fm->groups[i];
        for (size_t x = 0; x < g->n; x++)
            for (size_t y = x + 1; y < g->n && !o->exhausted; y++)
                find_conflict(o, out, false, g->key, &g->items[x], &g->items[y]);
    }
}

static void between_fields_and_fragment(ov_t *o, clist_t *out, bool excl, fieldmap_t *fm,
                                        const char *frag)
{
    const char *key = souk_arena_printf(o->a, "%p|%s", (void *)fm, frag);
    if (pair_seen(o, &o->field_frag_pairs, key, excl))
        return;
    pair_add(o, &o->field_frag_pairs, key, excl);
    const gql_def_t *f = souk_gql__map_get(&o->frags, frag);
    if (!f)
        return;
    fieldmap_t *fm2 = fragment_fields(o, f);
    if (fm == fm2)
        return;
    collect_between(o, out, excl, fm, fm2);
    for (size_t i = 0; i < fm2->nfrags && !o->exhausted; i++)
        between_fields_and_fragment(o, out, excl, fm, fm2->frags[i]);
}

static void between_fragments(ov_t *o, clist_t *out, bool excl, const char *n1, const char *n2)
{
    if (strcmp(n1, n2) == 0)
        return;
    bool ordered = strcmp(n1, n2) < 0;
    const char *key = souk_arena_printf(o->a, "%s|%s", ordered ? n1 : n2, ordered ? n2 : n1);
    if (pair_seen(o, &o->frag_pairs, key, excl))
        return;
    pair_add(o, &o->frag_pairs, key, excl);
    const gql_def_t *f1 = souk_gql__map_get(&o->frags, n1);
    const gql_def_t *f2 = souk_gql__map_get(&o->frags, n2);
    if (!f1 || !f2)
        return;
    fieldmap_t *m1 = fragment_fields(o, f1), *m2 = fragment_fields(o, f2);
    collect_between(o, out, excl, m1, m2);
    for (size_t i = 0; i < m2->nfrags && !o->exhausted; i++)
        between_fragments(o, out, excl, n1, m2->frags[i]);
    for (size_t i = 0; i < m1->nfrags && !o->exhausted; i++)
        between_fragments(o, out, excl, m1->frags[i], n2);
}

static void between_subselections(ov_t *o, clist_t *out, bool excl, const gql_type_t *t1,
                                  const gql_selset_t *s1, const gql_type_t *t2,
                                  const gql_selset_t *s2)
{
    fieldmap_t *m1 = fields_of(o, t1, s1), *m2 = fields_of(o, t2, s2);
    collect_between(o, out, excl, m1, m2);
    for (size_t j = 0; j < m2->nfrags; j++)
        between_fields_and_fragment(o, out, excl, m1, m2->frags[j]);
    for (size_t i = 0; i < m1->nfrags; i++)
        between_fields_and_fragment(o, out, excl, m2, m1->frags[i]);
    for (size_t i = 0; i < m1->nfrags; i++)
        for (size_t j = 0; j < m2->nfrags && !o->exhausted; j++)
            between_fragments(o, out, excl, m1->frags[i], m2->frags[j]);
}

/* subfieldConflicts: one conflict whose reason lists the sub-conflicts. */
static bool conflict_nested(ov_t *o, clist_t *out, const char *key, const fnd_t *a, const fnd_t *b,
                            const clist_t *sub)
{
    souk_buf_t r;
    souk_buf_init(&r, GQL_MAX_MESSAGE);
    conflict_t c = {.key = key};
    add_loc(&c, a->node->loc);
    add_loc(&c, b->node->loc);
    for (size_t i = 0; i < sub->n; i++) {
        souk_gql__putf(&r, "%ssubfields \"%s\" conflict because %s", i ? " and " : "",
                       sub->items[i].key, sub->items[i].reason);
        for (size_t k = 0; k < sub->items[i].nlocs; k++)
            add_loc(&c, sub->items[i].locs[k]);
    }
    c.reason = souk_arena_strdup(o->a, r.data ? r.data : "");
    souk_buf_cleanup(&r);
    push(o, out, c);
    return true;
}

static bool find_conflict(ov_t *o, clist_t *out, bool parent_excl, const char *key, const fnd_t *a,
                          const fnd_t *b)
{
    if (++o->budget > COMPARISON_BUDGET) {
        o->exhausted = true;
        return false;
    }
    bool excl = parent_excl || (a->parent != b->parent && a->parent && b->parent &&
                                a->parent->kind == GQL_OBJECT && b->parent->kind == GQL_OBJECT);
    char reason[600];
    if (!excl && strcmp(a->node->name, b->node->name) != 0) {
        snprintf(reason, sizeof(reason), "\"%s\" and \"%s\" are different fields", a->node->name,
                 b->node->name);
        return conflict_simple(o, out, key, a, b, reason);
    }
    if (!excl && !same_arguments(o, a->node, b->node))
        return conflict_simple(o, out, key, a, b, "they have differing arguments");
    const gql_tref_t *t1 = a->def ? a->def->type : NULL, *t2 = b->def ? b->def->type : NULL;
    if (t1 && t2 && types_conflict(t1, t2)) {
        souk_buf_t r;
        souk_buf_init(&r, sizeof(reason) - 1);
        souk_gql__put(&r, "they return conflicting types \"");
        souk_gql__print_tref(&r, t1);
        souk_gql__put(&r, "\" and \"");
        souk_gql__print_tref(&r, t2);
        souk_gql__put(&r, "\"");
        snprintf(reason, sizeof(reason), "%s", r.data);
        souk_buf_cleanup(&r);
        return conflict_simple(o, out, key, a, b, reason);
    }
    if (!a->node->selset || !b->node->selset)
        return false;
    clist_t sub = {0};
    between_subselections(o, &sub, excl, gql_named(t1), a->node->selset, gql_named(t2),
                          b->node->selset);
    return sub.n > 0 && conflict_nested(o, out, key, a, b, &sub);
}

/* ---- the walk over every selection set ------------------------------------------------------ */

static void report(ov_t *o, gql_diag_t *d, const clist_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        char msg[GQL_MAX_MESSAGE];
        snprintf(msg, sizeof(msg),
                 "Fields \"%s\" conflict because %s. Use different aliases on the fields to fetch "
                 "both if this was intentional.",
                 c->items[i].key, c->items[i].reason);
        souk_gql__diag(d, c->items[i].locs, c->items[i].nlocs, msg);
    }
    (void)o;
}

static void within(ov_t *o, gql_diag_t *d, const gql_type_t *parent, const gql_selset_t *set)
{
    clist_t out = {0};
    fieldmap_t *fm = fields_of(o, parent, set);
    collect_within(o, &out, fm);
    for (size_t i = 0; i < fm->nfrags && !o->exhausted; i++) {
        between_fields_and_fragment(o, &out, false, fm, fm->frags[i]);
        for (size_t j = i + 1; j < fm->nfrags && !o->exhausted; j++)
            between_fragments(o, &out, false, fm->frags[i], fm->frags[j]);
    }
    report(o, d, &out);
}

static void walk(ov_t *o, gql_diag_t *d, const gql_type_t *parent, const gql_selset_t *set)
{
    within(o, d, parent, set);
    for (const gql_selection_t *s = set->first; s && !o->exhausted && !d->aborted; s = s->next) {
        if (s->kind == GQL_SEL_FIELD && s->selset) {
            const gql_field_t *f = souk_gql__field_def(o->s, parent, s->name);
            const gql_type_t *t = f ? gql_named(f->type) : NULL;
            walk(o, d, gql_is_composite(t) ? t : NULL, s->selset);
        } else if (s->kind == GQL_SEL_INLINE) {
            walk(o, d, s->type_cond ? souk_gql__type(o->s, s->type_cond) : parent, s->selset);
        }
    }
}

void souk_gql__validate_overlap(const souk_gql_schema_t *s, souk_arena_t *a,
                                const gql_document_t *doc, gql_diag_t *d)
{
    ov_t o = {.s = s, .a = a};
    souk_gql__map_init(&o.frags, a);
    souk_gql__map_init(&o.field_frag_pairs, a);
    souk_gql__map_init(&o.frag_pairs, a);
    for (const gql_def_t *def = doc->defs; def; def = def->next)
        if (def->kind == GQL_D_FRAGMENT)
            souk_gql__map_put(&o.frags, def->name, (void *)def);
    for (const gql_def_t *def = doc->defs; def && !o.exhausted; def = def->next) {
        if (def->kind == GQL_D_OPERATION) {
            const gql_type_t *root = def->op == SOUK_GQL_QUERY ? s->query : s->mutation;
            walk(&o, d, root, def->selset);
        } else if (def->kind == GQL_D_FRAGMENT) {
            walk(&o, d, souk_gql__type(s, def->type_cond), def->selset);
        }
    }
    if (o.exhausted) {
        gql_loc_t loc = {1, 1};
        souk_gql__diag(d, &loc, 1,
                       "The document is too complex to validate (its fields need more than "
                       "1000000 comparisons to merge).");
    }
}
