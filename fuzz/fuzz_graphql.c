/* fuzz_graphql: the gateway's GraphQL front door on arbitrary query text:
 * souk_gql_document_parse (lexer, parser, every validation rule, field
 * merging, souk's limits) against souk's real schema (docs/schema.graphql,
 * embedded in the library), then, for a document that passes, its execution
 * with no resolvers of the host's (introspection, __typename, default
 * resolvers on null) through the wave loop. It must never crash and must keep
 * its promises: a document is either accepted without errors or refused with
 * a non-empty array of errors, each {message, locations?, extensions.code};
 * past 16 KiB the answer is SOUK_ELIMIT; an execution ends with a result
 * that serializes. Time is bounded by the limits themselves (nesting, depth,
 * aliases, cost, introspection depth, the merging budget). */
#include "fuzz_common.h"

#include <souk/graphql.h>

static souk_gql_schema_t *schema;
static souk_gql_resolvers_t *resolvers;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    json_t *errors = NULL;
    json_object_seed(1); /* reproducible hashing across runs */
    if (souk_gql_schema_new(souk_gql_sdl, strlen(souk_gql_sdl), &schema, &errors) != SOUK_OK) {
        fprintf(stderr, "fuzz_graphql: docs/schema.graphql does not build\n");
        abort();
    }
    resolvers = souk_gql_resolvers_new(schema);
    return 0;
}

static void check_errors(json_t *errors, const char *code)
{
    size_t i;
    json_t *e;
    FUZZ_CHECK(json_is_array(errors) && json_array_size(errors) > 0);
    json_array_foreach(errors, i, e)
    {
        FUZZ_CHECK(json_is_string(json_object_get(e, "message")));
        json_t *locs = json_object_get(e, "locations");
        FUZZ_CHECK(!locs || json_is_array(locs));
        const char *c =
            json_string_value(json_object_get(json_object_get(e, "extensions"), "code"));
        FUZZ_CHECK(c && (!code || strcmp(c, code) == 0 || strcmp(c, "GRAPHQL_PARSE_FAILED") == 0));
    }
    char *text = json_dumps(errors, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    free(text);
}

static void execute(const souk_gql_doc_t *doc)
{
    souk_gql_exec_t *ex = NULL;
    json_t *errors = NULL;
    souk_err_t err = souk_gql_exec_new(doc, resolvers, NULL, NULL, NULL, NULL, &ex, &errors);
    if (err != SOUK_OK) {
        /* several operations and no name, or required variables not given */
        FUZZ_CHECK(err == SOUK_EINVAL && ex == NULL);
        check_errors(errors, NULL);
        json_decref(errors);
        return;
    }
    /* no host resolvers: nothing ever waits for a load */
    FUZZ_CHECK(souk_gql_exec_run(ex) == SOUK_GQL_DONE);
    FUZZ_CHECK(souk_gql_exec_batch_count(ex) == 0);
    json_t *result = souk_gql_exec_result(ex);
    FUZZ_CHECK(json_is_object(result) && json_object_get(result, "data"));
    char *text = json_dumps(result, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    free(text);
    json_decref(result);
    souk_gql_exec_free(ex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    souk_gql_doc_t *doc = NULL;
    json_t *errors = NULL;
    souk_err_t err = souk_gql_document_parse(schema, (const char *)data, size, NULL, &doc, &errors);
    FUZZ_CHECK(err == SOUK_OK || err == SOUK_EINVAL || err == SOUK_ELIMIT);
    FUZZ_CHECK((err == SOUK_ELIMIT) == (size > SOUK_GQL_MAX_DOCUMENT));
    if (err == SOUK_OK) {
        FUZZ_CHECK(doc != NULL && errors == NULL);
        souk_gql_op_t type;
        if (souk_gql_doc_operation(doc, NULL, &type, NULL) == SOUK_OK)
            FUZZ_CHECK(type == SOUK_GQL_QUERY || type == SOUK_GQL_MUTATION);
        execute(doc);
    } else {
        FUZZ_CHECK(doc == NULL);
        check_errors(errors, "GRAPHQL_VALIDATION_FAILED");
    }
    json_decref(errors);
    souk_gql_doc_free(doc);
    return 0;
}
