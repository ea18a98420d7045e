/* validate_int.h: what validate.c (rules checked while walking each
 * definition's selections) and validate_doc.c (rules over the whole document:
 * fragments, operations, variables) share: the walk's results per definition. */
#ifndef SOUK_GQL_VALIDATE_INT_H
#define SOUK_GQL_VALIDATE_INT_H

#include "gql_int.h"

/* A use of a variable, with the type and default of where it is used. */
typedef struct gql_usage {
    const char *name;
    gql_loc_t loc;
    const gql_tref_t *type; /* NULL when unknown */
    bool location_default;
    struct gql_usage *next;
} gql_usage_t;

/* What the walk learned of one operation or fragment definition. */
typedef struct {
    const gql_def_t *def;
    gql_usage_t *usages;             /* in order of appearance */
    const gql_selection_t **spreads; /* every fragment spread inside it */
    size_t nspreads, cap;
} gql_defuse_t;

typedef struct {
    const souk_gql_schema_t *s;
    souk_arena_t *a;
    const gql_document_t *doc;
    gql_diag_t *d;
    gql_map_t frags;   /* fragment name -> gql_def_t (the last of that name) */
    gql_map_t uses;    /* fragment name -> gql_defuse_t */
    gql_defuse_t *all; /* one per executable definition, in document order */
    size_t nall;
    gql_defuse_t *cur;   /* the definition being walked */
    unsigned intro_skip; /* inside a field MaxIntrospectionDepth already reported */
    gql_map_t intro_checked, intro_exceeded; /* fragment -> entry depth + 1 */
} gql_vctx_t;

void souk_gql__report(gql_vctx_t *v, gql_loc_t l1, const gql_loc_t *l2, const char *fmt, ...)
    SOUK_PRINTF(4, 5);
/* Rules over the whole document, after every definition was walked. */
void souk_gql__document_rules(gql_vctx_t *v);
/* MaxIntrospectionDepthRule from a __schema or __type field: true when over. */
bool souk_gql__introspection_too_deep(gql_vctx_t *v, const gql_selection_t *field);

#endif
