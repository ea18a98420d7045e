/* souk/graphql.h: souk's GraphQL engine (spec October 2021): parsing,
 * validation and execution of documents against a schema built from SDL text.
 * It has no network code and no threads: execution proceeds in waves, and
 * between waves the host performs the data loads the resolvers asked for,
 * grouped per loader, however it likes (one HTTP call per loader, all loaders
 * in parallel). Subscriptions are not supported.
 *
 * At start: the schema from souk's SDL, and a table of resolvers that load:
 *
 *   souk_gql_schema_new(souk_gql_sdl, strlen(souk_gql_sdl), &schema, &errors);
 *   resolvers = souk_gql_resolvers_new(schema);
 *   souk_gql_resolvers_add(resolvers, "OrderItem", "product", item_product, NULL);
 *
 *   static void item_product(const souk_gql_info_t *info, souk_gql_answer_t *ans)
 *   {   // all OrderItem.product of a wave become one "product" batch
 *       const char *id = json_string_value(json_object_get(info->parent, "product_id"));
 *       souk_gql_answer_load(ans, "product", id, NULL);
 *   }
 *
 * A request, as the gateway drives it:
 *
 *   souk_gql_doc_t *doc; json_t *errors;
 *   if (souk_gql_document_parse(schema, body, len, NULL, &doc, &errors))
 *       -> 400 {"errors": errors}
 *   souk_gql_doc_operation(doc, op_name, &type, &name);   // metric labels
 *   souk_gql_exec_t *ex;
 *   if (souk_gql_exec_new(doc, resolvers, op_name, variables, ctx, NULL, &ex, &errors))
 *       -> 400 {"errors": errors}
 *   while (souk_gql_exec_run(ex) == SOUK_GQL_PENDING)
 *       for each batch b of souk_gql_exec_batch(ex, i), i < souk_gql_exec_batch_count(ex):
 *           fetch its keys (one call per loader; the loaders in parallel), then
 *           souk_gql_batch_resolve(b, k, value) or souk_gql_batch_fail(b, k, code, ...)
 *   json_t *reply = souk_gql_exec_result(ex);  -> 200
 *   souk_gql_exec_free(ex); souk_gql_doc_free(doc);
 *
 * Lifetimes: the schema outlives resolver tables and documents; a document
 * outlives its executions. Thread-safety: a schema and a resolver table are
 * read-only once built and may be shared by threads, and so is a document
 * once parsed (an execution only reads its document, so executions on
 * several threads may share one, as the gateway's cache of parsed documents
 * does); an execution belongs to one thread at a time. */
#ifndef SOUK_GRAPHQL_H
#define SOUK_GRAPHQL_H

#include <souk/core.h>

/* ---- limits ----------------------------------------------------------------- */

#define SOUK_GQL_MAX_DOCUMENT 16384 /* bytes of query text */
#define SOUK_GQL_MAX_DEPTH    10    /* nesting of fields */
#define SOUK_GQL_MAX_ALIASES  50    /* aliased fields in a document */
#define SOUK_GQL_MAX_COST     5000  /* estimated fields resolved */
#define SOUK_GQL_LIST_SIZE    20    /* a list's assumed length without limit/first */
#define SOUK_GQL_MAX_ERRORS   100   /* validation stops after this many */

/* souk's limits, checked after the spec's validation rules and before any
 * resolver runs. Introspection (__schema, __type and what is below them) is
 * bounded by the schema itself and graphql-js's MaxIntrospectionDepthRule: it
 * is left out of depth, and costs a flat 1000 per __schema and 100 per __type
 * (GraphiQL's query fits, fifty aliased copies of it do not); __typename costs
 * nothing.
 *
 * Cost: every field costs 1; the fields below a list field are multiplied by
 * its `limit` (or `first`) argument, or, for a list without one, by the
 * argument of the field holding it (a page's `items` take the page's limit),
 * else by default_list_size. A variable counts as its value when known (at
 * souk_gql_exec_new), else its default, else default_list_size. */
typedef struct {
    size_t max_document;
    unsigned max_depth;
    unsigned max_aliases;
    unsigned long max_cost;
    unsigned default_list_size;
} souk_gql_limits_t;

/* Fills l with the defaults above. */
void souk_gql_limits_default(souk_gql_limits_t *l);

/* ---- schema ------------------------------------------------------------------- */

typedef struct souk_gql_schema souk_gql_schema_t;

/* Builds a schema from SDL text (schema, scalar, type, interface, union, enum,
 * input, directive definitions with descriptions, and extend). The built-in
 * scalars, the introspection types and @include, @skip, @deprecated and
 * @specifiedBy are added. On an invalid SDL returns SOUK_EINVAL and, when
 * errors is not NULL, a new array of {message, locations} in *errors. */
souk_err_t souk_gql_schema_new(const char *sdl, size_t len, souk_gql_schema_t **out,
                               json_t **errors) SOUK_MUST_CHECK;
/* NULL is a no-op. */
void souk_gql_schema_free(souk_gql_schema_t *s);

/* souk's own schema: the text of docs/schema.graphql, embedded at build time
 * (NUL-terminated), for souk_gql_schema_new and GET /graphql/schema.graphql. */
extern const char souk_gql_sdl[];

/* ---- errors ------------------------------------------------------------------- */

/* extensions.code of a field error. */
typedef enum {
    SOUK_GQL_UNAUTHENTICATED,
    SOUK_GQL_FORBIDDEN,
    SOUK_GQL_NOT_FOUND,
    SOUK_GQL_BAD_USER_INPUT,
    SOUK_GQL_INTERNAL,
} souk_gql_code_t;

/* "UNAUTHENTICATED", ... (static; "INTERNAL" for an unknown code). */
const char *souk_gql_code_name(souk_gql_code_t code);

/* ---- documents: parse and validate ---------------------------------------------- */

typedef struct souk_gql_doc souk_gql_doc_t;

typedef enum { SOUK_GQL_QUERY, SOUK_GQL_MUTATION, SOUK_GQL_SUBSCRIPTION } souk_gql_op_t;

/* Parses text (not NUL-terminated; UTF-8) and validates it against schema with
 * every rule of the spec's section 5 and souk's limits (lim NULL = defaults).
 * Returns SOUK_OK with *out, or:
 *   SOUK_ELIMIT  the text is longer than lim->max_document;
 *   SOUK_EINVAL  a syntax error or validation errors.
 * On failure *errors is a new JSON array of {message, locations:[{line,column}],
 * extensions:{code}} (code GRAPHQL_PARSE_FAILED or GRAPHQL_VALIDATION_FAILED)
 * and *out is NULL. Free the document with souk_gql_doc_free (NULL ok). */
souk_err_t souk_gql_document_parse(const souk_gql_schema_t *schema, const char *text, size_t len,
                                   const souk_gql_limits_t *lim, souk_gql_doc_t **out,
                                   json_t **errors) SOUK_MUST_CHECK;
void souk_gql_doc_free(souk_gql_doc_t *doc);

/* The operation a request with operation_name (NULL when none given) runs: its
 * type and name (NULL when anonymous; valid while doc lives), for metrics.
 * SOUK_ENOTFOUND when no operation can be chosen (no such name, or several
 * operations and no name). Either out pointer may be NULL. */
souk_err_t souk_gql_doc_operation(const souk_gql_doc_t *doc, const char *operation_name,
                                  souk_gql_op_t *type, const char **name);

/* ---- resolvers ------------------------------------------------------------------ */

/* What a resolver is called with (all borrowed, valid during the call). */
typedef struct {
    const char *type;  /* parent object type, e.g. "Query" */
    const char *field; /* field name, e.g. "product" */
    json_t *parent;    /* the parent's value (JSON null for a root field) */
    json_t *args;      /* coerced arguments: every argument given or defaulted */
    void *host;        /* the host pointer of souk_gql_exec_new */
    void *udata;       /* the pointer registered with the resolver */
} souk_gql_info_t;

/* A resolver's answer; give exactly one with the functions below (the last
 * one counts). No answer is a null value. */
typedef struct souk_gql_answer souk_gql_answer_t;

typedef void (*souk_gql_resolve_fn)(const souk_gql_info_t *info, souk_gql_answer_t *ans);
/* Called when the load of souk_gql_answer_load_then completes: info is the
 * field's, loaded the loaded value (borrowed; JSON null for a null result); it
 * answers like a resolver (a value, an error, or another load). A failed load
 * does not call it: the field gets the load's error. */
typedef void (*souk_gql_then_fn)(const souk_gql_info_t *info, json_t *loaded,
                                 souk_gql_answer_t *ans);

/* The value, now. Steals the reference; NULL means null. An object is
 * descended into (its fields resolve on it), a list item by item. */
void souk_gql_answer_value(souk_gql_answer_t *ans, json_t *value);
/* A field error with code and message (printf format). */
void souk_gql_answer_error(souk_gql_answer_t *ans, souk_gql_code_t code, const char *fmt, ...)
    SOUK_PRINTF(3, 4);
/* Asks the host to load key with loader (both copied). arg: an optional JSON
 * argument for this request (stolen; NULL ok). Equal (key, arg) pairs of one
 * wave are one entry of the batch. The loaded value becomes the field's value. */
void souk_gql_answer_load(souk_gql_answer_t *ans, const char *loader, const char *key, json_t *arg);
/* As souk_gql_answer_load, then computes the field with then(info, loaded). */
void souk_gql_answer_load_then(souk_gql_answer_t *ans, const char *loader, const char *key,
                               json_t *arg, souk_gql_then_fn then);

/* A deep copy of v whose object keys are in snake_case (priceCents ->
 * price_cents): GraphQL input objects as REST bodies. New reference; NULL
 * when v is NULL. */
json_t *souk_gql_snake_keys(const json_t *v);

/* A table of resolvers per (type, field). Fields without one use the default
 * resolver: the parent object's member named like the field, else the member
 * named in snake_case (priceCents -> price_cents), else null. So a REST JSON
 * object can be returned as it is, and a loaded object's fields resolve on it. */
typedef struct souk_gql_resolvers souk_gql_resolvers_t;

/* A new table for schema (with the introspection resolvers). Free with
 * souk_gql_resolvers_free (NULL ok). */
souk_gql_resolvers_t *souk_gql_resolvers_new(const souk_gql_schema_t *schema);
void souk_gql_resolvers_free(souk_gql_resolvers_t *r);
/* Registers fn for type.field (replacing an earlier one). SOUK_ENOTFOUND when
 * the schema has no such object type or field. */
souk_err_t souk_gql_resolvers_add(souk_gql_resolvers_t *r, const char *type, const char *field,
                                  souk_gql_resolve_fn fn, void *udata) SOUK_MUST_CHECK;
/* Makes type.field (every field of type when field is NULL) answer the error
 * code and message (copied), e.g. for a service that does not exist yet: the
 * rest of the response is still served (partial data). SOUK_ENOTFOUND as above. */
souk_err_t souk_gql_resolvers_unavailable(souk_gql_resolvers_t *r, const char *type,
                                          const char *field, souk_gql_code_t code,
                                          const char *message) SOUK_MUST_CHECK;

/* ---- execution ----------------------------------------------------------------- */

typedef struct souk_gql_exec souk_gql_exec_t;
typedef struct souk_gql_batch souk_gql_batch_t;

typedef enum { SOUK_GQL_DONE, SOUK_GQL_PENDING } souk_gql_status_t;

/* Prepares the execution of doc's operation operation_name (NULL when not
 * given) with variables (a JSON object, borrowed; NULL = none) and host (passed
 * to every resolver). Returns SOUK_EINVAL with *errors (a new array; codes
 * BAD_USER_INPUT) when no operation can be chosen, the operation is a
 * subscription, or the variables do not coerce; SOUK_ELIMIT with *errors (code
 * GRAPHQL_VALIDATION_FAILED) when the cost with these variables is over the
 * limit of lim (NULL = defaults). Then *out is NULL and there is no data:
 * answer 400. errors may be NULL. */
souk_err_t souk_gql_exec_new(const souk_gql_doc_t *doc, const souk_gql_resolvers_t *resolvers,
                             const char *operation_name, const json_t *variables, void *host,
                             const souk_gql_limits_t *lim, souk_gql_exec_t **out,
                             json_t **errors) SOUK_MUST_CHECK;
/* NULL is a no-op. */
void souk_gql_exec_free(souk_gql_exec_t *ex);

/* Runs every resolver it can, on the calling thread. SOUK_GQL_PENDING: the
 * loads of this wave wait in the batches below; answer each key, then call
 * again. SOUK_GQL_DONE: the result is ready (and stays so). Root fields of a
 * query start in the first wave together; those of a mutation one after the
 * other, each with all that is below it. */
souk_gql_status_t souk_gql_exec_run(souk_gql_exec_t *ex);
/* Waves run so far (a wave is one round of batches handed to the host). */
unsigned souk_gql_exec_waves(const souk_gql_exec_t *ex);

/* The batches of the current wave, one per loader, in the order of their
 * first request (valid until the next run; NULL past the count). */
size_t souk_gql_exec_batch_count(const souk_gql_exec_t *ex);
souk_gql_batch_t *souk_gql_exec_batch(souk_gql_exec_t *ex, size_t i);
const char *souk_gql_batch_loader(const souk_gql_batch_t *b);
/* Distinct (key, arg) entries of the batch. */
size_t souk_gql_batch_size(const souk_gql_batch_t *b);
const char *souk_gql_batch_key(const souk_gql_batch_t *b, size_t i);
/* The entry's JSON argument (borrowed) or NULL. */
json_t *souk_gql_batch_arg(const souk_gql_batch_t *b, size_t i);
/* Answers entry i with value (stolen; NULL = null) or with an error. An entry
 * left unanswered becomes an INTERNAL error. */
void souk_gql_batch_resolve(souk_gql_batch_t *b, size_t i, json_t *value);
void souk_gql_batch_fail(souk_gql_batch_t *b, size_t i, souk_gql_code_t code, const char *fmt, ...)
    SOUK_PRINTF(4, 5);

/* After SOUK_GQL_DONE: a new reference to {"errors":[...],"data":...}, errors
 * left out when there are none; each error is {message, locations, path,
 * extensions:{code}}. NULL before SOUK_GQL_DONE. */
json_t *souk_gql_exec_result(souk_gql_exec_t *ex);

#endif
