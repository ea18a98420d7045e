/* Unit tests of introspection (libs/graphql/src/introspect.c): GraphiQL's
 * standard introspection query (tests/graphql/corpus/introspection-graphiql.
 * graphql, embedded) on docs/schema.graphql answers without errors and lists
 * every type of the SDL with its kind, fields, arguments, enum values, input
 * fields, interfaces, possible types and directives; includeDeprecated and
 * __type work. scripts/graphql-conformance also compares the whole answer
 * with graphql-js's. */
#include "gql_test.h"

#include "gql_int.h"

extern const char introspection_query[];

static json_t *run(const souk_gql_schema_t *s, const char *query)
{
    souk_gql_resolvers_t *r = souk_gql_resolvers_new(s);
    souk_gql_doc_t *doc;
    json_t *errors = NULL;
    if (souk_gql_document_parse(s, query, strlen(query), NULL, &doc, &errors) != SOUK_OK)
        print_json("errors", errors);
    assert_null(errors);
    souk_gql_exec_t *ex;
    assert_int_equal(souk_gql_exec_new(doc, r, NULL, NULL, NULL, NULL, &ex, &errors), SOUK_OK);
    assert_int_equal(souk_gql_exec_run(ex), SOUK_GQL_DONE);
    json_t *result = souk_gql_exec_result(ex);
    souk_gql_exec_free(ex);
    souk_gql_doc_free(doc);
    souk_gql_resolvers_free(r);
    return result;
}

static json_t *find(json_t *list, const char *name)
{
    size_t i;
    json_t *x;
    json_array_foreach(
        list, i, x) if (!strcmp(json_string_value(json_object_get(x, "name")), name)) return x;
    return NULL;
}

static const char *kind_of_def(gql_dkind_t k)
{
    switch (k) {
    case GQL_D_SCALAR:
        return "SCALAR";
    case GQL_D_OBJECT:
        return "OBJECT";
    case GQL_D_INTERFACE:
        return "INTERFACE";
    case GQL_D_UNION:
        return "UNION";
    case GQL_D_ENUM:
        return "ENUM";
    default:
        return "INPUT_OBJECT";
    }
}

/* Every type the SDL defines is listed, with its kind and all its members. */
static void check_every_sdl_type(json_t *types)
{
    souk_arena_t *a = souk_arena_new();
    gql_document_t doc;
    gql_syntax_error_t err;
    assert_int_equal(souk_gql__parse(a, souk_gql_sdl, strlen(souk_gql_sdl), &doc, &err), SOUK_OK);
    size_t n = 0;
    for (const gql_def_t *d = doc.defs; d; d = d->next) {
        if (d->kind < GQL_D_SCALAR || d->kind > GQL_D_INPUT)
            continue;
        n++;
        json_t *t = find(types, d->name);
        if (!t)
            fprintf(stderr, "type %s is not listed\n", d->name);
        assert_non_null(t);
        assert_string_equal(json_string_value(json_object_get(t, "kind")), kind_of_def(d->kind));
        assert_true(json_is_string(json_object_get(t, "description")));
        for (const gql_fielddef_t *f = d->fields; f; f = f->next)
            assert_non_null(find(json_object_get(t, "fields"), f->name));
        for (const gql_inputdef_t *f = d->inputs; f; f = f->next)
            assert_non_null(find(json_object_get(t, "inputFields"), f->name));
        for (const gql_enumdef_t *e = d->values; e; e = e->next)
            assert_non_null(find(json_object_get(t, "enumValues"), e->name));
    }
    assert_true(n >= 25);
    /* theirs, the built-in scalars the schema uses, and the 8 introspection types */
    assert_int_equal(json_array_size(types), n + 4 + 8);
    assert_non_null(find(types, "__Schema"));
    assert_null(find(types, "Float"));
    souk_arena_free(a);
}

static void test_graphiql_query(void **state)
{
    souk_gql_schema_t *s = schema_from(souk_gql_sdl);
    json_t *r = run(s, introspection_query);
    assert_null(json_object_get(r, "errors"));
    json_t *schema = json_object_get(json_object_get(r, "data"), "__schema");
    assert_true(json_is_string(json_object_get(schema, "description")));
    assert_json(json_object_get(schema, "queryType"),
                "{\"name\": \"Query\", \"kind\": \"OBJECT\"}");
    assert_json(json_object_get(schema, "mutationType"),
                "{\"name\": \"Mutation\", \"kind\": \"OBJECT\"}");
    assert_true(json_is_null(json_object_get(schema, "subscriptionType")));
    json_t *types = json_object_get(schema, "types");
    check_every_sdl_type(types);

    json_t *product = find(types, "Product");
    assert_json(json_object_get(product, "interfaces"),
                "[{\"kind\": \"INTERFACE\", \"name\": \"Node\", \"ofType\": null}]");
    json_t *price = find(json_object_get(product, "fields"), "priceCents");
    assert_json(json_object_get(price, "type"),
                "{\"kind\": \"NON_NULL\", \"name\": null, \"ofType\": {\"kind\": \"SCALAR\","
                " \"name\": \"Cents\", \"ofType\": null}}");
    json_t *recs = find(json_object_get(product, "fields"), "recommendations");
    assert_json(json_object_get(recs, "args"),
                "[{\"name\": \"limit\", \"description\": \"How many, 1..20.\", \"type\": "
                "{\"kind\": \"SCALAR\", \"name\": \"Int\", \"ofType\": null}, \"defaultValue\":"
                " \"5\", \"isDeprecated\": false, \"deprecationReason\": null}]");
    json_t *items = find(json_object_get(find(types, "ProductPage"), "fields"), "items");
    assert_json(json_object_get(items, "type"),
                "{\"kind\": \"NON_NULL\", \"name\": null, \"ofType\": {\"kind\": \"LIST\", "
                "\"name\": null, \"ofType\": {\"kind\": \"NON_NULL\", \"name\": null, \"ofType\":"
                " {\"kind\": \"OBJECT\", \"name\": \"Product\", \"ofType\": null}}}}");
    json_t *node = find(types, "Node");
    assert_int_equal(json_array_size(json_object_get(node, "possibleTypes")), 4);
    assert_non_null(find(json_object_get(node, "possibleTypes"), "Order"));
    json_t *input = find(types, "CreateProductInput");
    assert_json(
        json_object_get(find(json_object_get(input, "inputFields"), "currency"), "defaultValue"),
        "\"\\\"USD\\\"\"");
    assert_json(json_object_get(input, "isOneOf"), "false");
    assert_json(json_object_get(find(types, "DateTime"), "specifiedByURL"),
                "\"https://datatracker.ietf.org/doc/html/rfc3339\"");
    json_t *sort = find(types, "ProductSort");
    assert_int_equal(json_array_size(json_object_get(sort, "enumValues")), 4);
    assert_true(json_is_null(json_object_get(sort, "fields")));

    json_t *dirs = json_object_get(schema, "directives");
    assert_int_equal(json_array_size(dirs), 4);
    json_t *skip = find(dirs, "skip");
    assert_json(json_object_get(skip, "locations"),
                "[\"FIELD\", \"FRAGMENT_SPREAD\", \"INLINE_FRAGMENT\"]");
    assert_json(json_object_get(json_array_get(json_object_get(skip, "args"), 0), "type"),
                "{\"kind\": \"NON_NULL\", \"name\": null, \"ofType\": {\"kind\": \"SCALAR\","
                " \"name\": \"Boolean\", \"ofType\": null}}");
    assert_json(json_object_get(find(dirs, "deprecated"), "isRepeatable"), "false");
    assert_json(json_object_get(find(json_object_get(find(dirs, "deprecated"), "args"), "reason"),
                                "defaultValue"),
                "\"\\\"No longer supported\\\"\"");
    json_decref(r);
    souk_gql_schema_free(s);
}

static void test_deprecation_and_type_lookup(void **state)
{
    souk_gql_schema_t *s =
        schema_from("type Query { a: Int old: Int @deprecated(reason: \"use a\") f(x: Int, y: Int "
                    "@deprecated): Int e: E i(in: In): Int }\n"
                    "enum E { ON OFF @deprecated }\n"
                    "input In { keep: Int drop: Int @deprecated(reason: \"gone\") }\n");
    json_t *r = run(s, "{ __type(name: \"Query\") { fields { name } all: fields(includeDeprecated:"
                       " true) { name isDeprecated deprecationReason args(includeDeprecated: "
                       "true) { name isDeprecated } } }"
                       " e: __type(name: \"E\") { enumValues { name } all: "
                       "enumValues(includeDeprecated: true) { name deprecationReason } }"
                       " in: __type(name: \"In\") { inputFields { name } all: "
                       "inputFields(includeDeprecated: true) { name deprecationReason } }"
                       " none: __type(name: \"Nope\") { name } }");
    json_t *data = json_object_get(r, "data");
    assert_null(json_object_get(r, "errors"));
    json_t *q = json_object_get(data, "__type");
    assert_json(json_object_get(q, "fields"),
                "[{\"name\": \"a\"}, {\"name\": \"f\"}, {\"name\": \"e\"}, {\"name\": \"i\"}]");
    json_t *old = find(json_object_get(q, "all"), "old");
    assert_json(old, "{\"name\": \"old\", \"isDeprecated\": true, \"deprecationReason\": \"use a\","
                     " \"args\": []}");
    assert_json(json_object_get(find(json_object_get(q, "all"), "f"), "args"),
                "[{\"name\": \"x\", \"isDeprecated\": false}, {\"name\": \"y\", \"isDeprecated\":"
                " true}]");
    assert_json(json_object_get(data, "e"),
                "{\"enumValues\": [{\"name\": \"ON\"}], \"all\": [{\"name\": \"ON\","
                " \"deprecationReason\": null}, {\"name\": \"OFF\", \"deprecationReason\": \"No "
                "longer supported\"}]}");
    assert_json(json_object_get(data, "in"),
                "{\"inputFields\": [{\"name\": \"keep\"}], \"all\": [{\"name\": \"keep\","
                " \"deprecationReason\": null}, {\"name\": \"drop\", \"deprecationReason\": "
                "\"gone\"}]}");
    assert_true(json_is_null(json_object_get(data, "none")));
    json_decref(r);
    /* __Field.args hides deprecated arguments unless asked */
    r = run(s, "{ __type(name: \"Query\") { fields { name args { name } } } }");
    json_t *f =
        find(json_object_get(json_object_get(json_object_get(r, "data"), "__type"), "fields"), "f");
    assert_json(json_object_get(f, "args"), "[{\"name\": \"x\"}]");
    json_decref(r);
    souk_gql_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graphiql_query),
        cmocka_unit_test(test_deprecation_and_type_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
