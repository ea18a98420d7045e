/* document.c: the caller-facing entry for a query text: size bound, parse,
 * the spec's validation rules, field merging, souk's limits, in that order,
 * each stage only on what passed the one before (a document that fails a rule
 * is invalid whatever the later stages would say). Also operation selection
 * (GetOperation, spec 6.1) for the host's metrics and for execution. */
#include "gql_int.h"

#include <stdio.h>
#include <string.h>

static json_t *one_error(const char *message, const gql_loc_t *loc, const char *code)
{
    json_t *a = json_array();
    json_array_append_new(a, souk_gql__error_json(message, loc, loc ? 1 : 0, code));
    return a;
}

static void set_errors(json_t **errors, json_t *e)
{
    if (errors)
        *errors = e;
    else
        json_decref(e);
}

souk_err_t souk_gql_document_parse(const souk_gql_schema_t *schema, const char *text, size_t len,
                                   const souk_gql_limits_t *lim, souk_gql_doc_t **out,
                                   json_t **errors)
{
    souk_gql_limits_t defaults;
    gql_syntax_error_t serr;
    if (!lim) {
        souk_gql_limits_default(&defaults);
        lim = &defaults;
    }
    *out = NULL;
    if (errors)
        *errors = NULL;
    if (len > lim->max_document) {
        char msg[128];
        snprintf(msg, sizeof(msg), "The document is %zu bytes long; the limit is %zu.", len,
                 lim->max_document);
        set_errors(errors, one_error(msg, NULL, "GRAPHQL_PARSE_FAILED"));
        return SOUK_ELIMIT;
    }
    souk_gql_doc_t *doc = souk_calloc(1, sizeof(*doc));
    doc->arena = souk_arena_new();
    doc->schema = schema;
    if (souk_gql__parse(doc->arena, text, len, &doc->ast, &serr) != SOUK_OK) {
        set_errors(errors, one_error(serr.message, &serr.loc, "GRAPHQL_PARSE_FAILED"));
        souk_gql_doc_free(doc);
        return SOUK_EINVAL;
    }
    gql_diag_t d = {
        .errors = json_array(), .max = SOUK_GQL_MAX_ERRORS, .code = "GRAPHQL_VALIDATION_FAILED"};
    souk_gql__validate_rules(schema, doc->arena, &doc->ast, &d);
    if (json_array_size(d.errors) == 0)
        souk_gql__validate_overlap(schema, doc->arena, &doc->ast, &d);
    if (json_array_size(d.errors) == 0)
        souk_gql__check_limits(schema, doc->arena, &doc->ast, NULL, NULL, lim, &d);
    if (json_array_size(d.errors) > 0) {
        set_errors(errors, d.errors);
        souk_gql_doc_free(doc);
        return SOUK_EINVAL;
    }
    json_decref(d.errors);
    souk_gql__map_init(&doc->fragments, doc->arena);
    for (const gql_def_t *def = doc->ast.defs; def; def = def->next)
        if (def->kind == GQL_D_FRAGMENT)
            souk_gql__map_put(&doc->fragments, def->name, (void *)def);
    *out = doc;
    return SOUK_OK;
}

void souk_gql_doc_free(souk_gql_doc_t *doc)
{
    if (!doc)
        return;
    souk_arena_free(doc->arena);
    souk_free(doc);
}

/* GetOperation: NULL when none can be chosen. */
const gql_def_t *souk_gql__operation(const souk_gql_doc_t *doc, const char *name)
{
    const gql_def_t *found = NULL;
    size_t n = 0;
    for (const gql_def_t *d = doc->ast.defs; d; d = d->next) {
        if (d->kind != GQL_D_OPERATION)
            continue;
        n++;
        if (!name)
            found = d;
        else if (d->name && strcmp(d->name, name) == 0)
            return d;
    }
    return !name && n == 1 ? found : NULL;
}

souk_err_t souk_gql_doc_operation(const souk_gql_doc_t *doc, const char *operation_name,
                                  souk_gql_op_t *type, const char **name)
{
    const gql_def_t *op = souk_gql__operation(doc, operation_name);
    if (!op)
        return SOUK_ENOTFOUND;
    if (type)
        *type = op->op;
    if (name)
        *name = op->name;
    return SOUK_OK;
}
