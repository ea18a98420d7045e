/* gql_check.c: souk-gql-check, a command-line validity check of GraphQL
 * documents against a schema, for the conformance comparison with graphql-js
 * (scripts/graphql-conformance) and for trying queries by hand:
 *
 *   souk-gql-check docs/schema.graphql query.graphql ...
 *
 * prints one line per document: "<file>\tVALID" or "<file>\tINVALID\t<messages>"
 * (souk's limits included, defaults). With --execute first, it executes the one
 * document given with no resolvers of the host's (introspection answers) and
 * prints the result as JSON. Exit status: 0 when every document was read (and
 * executed), 1 on a bad schema or an unreadable file. Not part of the library. */
#include <souk/graphql.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_MAX (1u << 22)

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = souk_malloc(FILE_MAX);
    *len = fread(buf, 1, FILE_MAX, f);
    fclose(f);
    return buf;
}

static void print_messages(json_t *errors)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "message"));
        printf("%s%s", i ? " | " : "\t", m ? m : "?");
    }
}

static int check(const souk_gql_schema_t *schema, const char *path)
{
    size_t len;
    char *text = slurp(path, &len);
    if (!text) {
        fprintf(stderr, "souk-gql-check: cannot read %s\n", path);
        return 1;
    }
    souk_gql_doc_t *doc;
    json_t *errors;
    souk_err_t err = souk_gql_document_parse(schema, text, len, NULL, &doc, &errors);
    printf("%s\t%s", path, err == SOUK_OK ? "VALID" : "INVALID");
    if (err != SOUK_OK)
        print_messages(errors);
    printf("\n");
    json_decref(errors);
    souk_gql_doc_free(doc);
    souk_free(text);
    return 0;
}

static int execute(const souk_gql_schema_t *schema, const char *path)
{
    size_t len;
    char *text = slurp(path, &len);
    souk_gql_doc_t *doc = NULL;
    souk_gql_exec_t *ex = NULL;
    souk_gql_resolvers_t *r = souk_gql_resolvers_new(schema);
    json_t *errors = NULL, *result = NULL;
    if (!text)
        fprintf(stderr, "souk-gql-check: cannot read %s\n", path);
    else if (souk_gql_document_parse(schema, text, len, NULL, &doc, &errors) == SOUK_OK &&
             souk_gql_exec_new(doc, r, NULL, NULL, NULL, NULL, &ex, &errors) == SOUK_OK &&
             souk_gql_exec_run(ex) == SOUK_GQL_DONE)
        result = souk_gql_exec_result(ex);
    else if (errors)
        result = json_pack("{s:O}", "errors", errors);
    char *out = result ? json_dumps(result, JSON_COMPACT) : NULL;
    if (out)
        printf("%s\n", out);
    free(out);
    json_decref(result);
    json_decref(errors);
    souk_gql_exec_free(ex);
    souk_gql_doc_free(doc);
    souk_gql_resolvers_free(r);
    souk_free(text);
    return result ? 0 : 1;
}

int main(int argc, char **argv)
{
    bool exec = argc > 1 && strcmp(argv[1], "--execute") == 0;
    argv += exec;
    argc -= exec;
    if (argc < 2 || (exec && argc != 3)) {
        fprintf(stderr, "usage: souk-gql-check SCHEMA.graphql [DOCUMENT.graphql ...]\n"
                        "       souk-gql-check --execute SCHEMA.graphql DOCUMENT.graphql\n");
        return 2;
    }
    size_t len;
    char *sdl = slurp(argv[1], &len);
    souk_gql_schema_t *schema;
    json_t *errors;
    if (!sdl) {
        fprintf(stderr, "souk-gql-check: cannot read %s\n", argv[1]);
        return 1;
    }
    if (souk_gql_schema_new(sdl, len, &schema, &errors) != SOUK_OK) {
        char *text = json_dumps(errors, JSON_INDENT(2));
        fprintf(stderr, "souk-gql-check: invalid schema %s: %s\n", argv[1], text);
        free(text);
        json_decref(errors);
        souk_free(sdl);
        return 1;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++)
        rc |= exec ? execute(schema, argv[i]) : check(schema, argv[i]);
    souk_gql_schema_free(schema);
    souk_free(sdl);
    return rc;
}
