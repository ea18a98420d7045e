/* Unit tests of validation (libs/graphql/src/validate*.c, overlap.c,
 * limits.c): every rule of spec section 5 with a document it accepts and one
 * it refuses (the message telling which rule), against docs/schema.graphql and
 * against graphql-js's test schema of pets (interfaces and unions), then souk's
 * limits (depth, aliases, cost) and the shape of validation errors.
 * tests/graphql/ compares many more documents with graphql-js itself. */
#include "gql_test.h"

static const char pets_sdl[] =
    "interface Being { name(surname: Boolean): String }\n"
    "interface Pet implements Being { name(surname: Boolean): String }\n"
    "interface Canine implements Being { name(surname: Boolean): String barkVolume: Int }\n"
    "enum DogCommand { SIT HEEL DOWN }\n"
    "type Dog implements Being & Pet & Canine {\n"
    "  name(surname: Boolean): String nickname: String barkVolume: Int barks: Boolean\n"
    "  doesKnowCommand(dogCommand: DogCommand): Boolean\n"
    "  isHouseTrained(atOtherHomes: Boolean = true): Boolean\n"
    "  isAtLocation(x: Int, y: Int): Boolean\n"
    "}\n"
    "type Cat implements Being & Pet {\n"
    "  name(surname: Boolean): String meows: Boolean meowVolume: Int furColor: FurColor\n"
    "}\n"
    "union CatOrDog = Cat | Dog\n"
    "union DogOrHuman = Dog | Human\n"
    "type Human implements Being { name(surname: Boolean): String pets: [Pet] relatives: "
    "[Human!]! }\n"
    "enum FurColor { BROWN BLACK TAN SPOTTED }\n"
    "input ComplexInput { requiredField: Boolean! nonNullField: Boolean! = false intField: Int\n"
    "  stringField: String stringListField: [String] }\n"
    "type ComplicatedArgs {\n"
    "  intArgField(intArg: Int): String\n"
    "  nonNullIntArgField(nonNullIntArg: Int!): String\n"
    "  stringArgField(stringArg: String): String\n"
    "  enumArgField(enumArg: FurColor): String\n"
    "  floatArgField(floatArg: Float): String\n"
    "  idArgField(idArg: ID): String\n"
    "  stringListArgField(stringListArg: [String]): String\n"
    "  complexArgField(complexArg: ComplexInput): String\n"
    "  multipleReqs(req1: Int!, req2: Int!): String\n"
    "  nonNullFieldWithDefault(arg: Int! = 0): String\n"
    "}\n"
    "type Query { human(id: ID): Human dog: Dog cat: Cat pet: Pet catOrDog: CatOrDog\n"
    "  dogOrHuman: DogOrHuman complicatedArgs: ComplicatedArgs being: Being }\n";

typedef struct {
    bool pets; /* against the pets schema, else docs/schema.graphql */
    const char *doc;
    const char *error; /* NULL: valid; else a part of the expected message */
} vcase_t;

static const vcase_t cases[] = {
    /* ExecutableDefinitions */
    {false, "{ me { id } } fragment F on User { id }", "Fragment \"F\" is never used."},
    {false, "{ me { id } } type T { a: Int }", "The \"T\" definition is not executable."},
    {false, "{ me { id } } schema { query: Query }", "The schema definition is not executable."},
    /* UniqueOperationNames */
    {false, "query A { me { id } } query B { me { email } }", NULL},
    {false, "query A { me { id } } mutation A { deleteProduct(id: 1) }",
     "There can be only one operation named \"A\"."},
    /* LoneAnonymousOperation */
    {false, "{ me { id } } query B { me { id } }",
     "This anonymous operation must be the only defined operation."},
    /* KnownTypeNames */
    {false, "query ($s: ProductSort) { products(sort: $s) { total } }", NULL},
    {false, "query ($s: ProductSorts) { products(sort: $s) { total } }",
     "Unknown type \"ProductSorts\". Did you mean \"ProductSort\", \"Product\", or "
     "\"ProductPage\"?"},
    {false, "query ($x: Float) { products(minPrice: $x) { total } }", "Unknown type \"Float\"."},
    /* FragmentsOnCompositeTypes */
    {true, "{ dog { ... on Canine { barkVolume } } }", NULL},
    {true, "{ dog { ... on Boolean { x } } }",
     "Fragment cannot condition on non composite type \"Boolean\"."},
    {true, "{ dog { ...F } } fragment F on FurColor { x }",
     "Fragment \"F\" cannot condition on non composite type \"FurColor\"."},
    /* VariablesAreInputTypes */
    {true, "query ($c: ComplexInput) { complicatedArgs { complexArgField(complexArg: $c) } }",
     NULL},
    {true, "query ($d: Dog) { dog { name } }", "Variable \"$d\" cannot be non-input type \"Dog\"."},
    /* ScalarLeafs */
    {true, "{ dog { barks } }", NULL},
    {true, "{ dog }", "Field \"dog\" of type \"Dog\" must have a selection of subfields."},
    {true, "{ dog { barks { x } } }",
     "Field \"barks\" must not have a selection since type \"Boolean\" has no subfields."},
    /* FieldsOnCorrectType */
    {true, "{ pet { __typename name ... on Dog { barks } } }", NULL},
    {true, "{ dog { meowVolume } }", "Cannot query field \"meowVolume\" on type \"Dog\"."},
    {true, "{ pet { barks } }",
     "Cannot query field \"barks\" on type \"Pet\". Did you mean to use an inline fragment on"},
    {true, "{ catOrDog { name } }", "Cannot query field \"name\" on type \"CatOrDog\"."},
    {true, "{ dog { __schema { types { name } } } }",
     "Cannot query field \"__schema\" on type \"Dog\"."},
    {false, "{ product(id: 1) { nam } }",
     "Cannot query field \"nam\" on type \"Product\". Did you mean \"name\"?"},
    /* UniqueFragmentNames, KnownFragmentNames, NoUnusedFragments */
    {true, "{ dog { ...A } } fragment A on Dog { name } fragment A on Dog { barks }",
     "There can be only one fragment named \"A\"."},
    {true, "{ dog { ...Nope } }", "Unknown fragment \"Nope\"."},
    {true, "{ dog { ...A } } fragment A on Dog { ...B } fragment B on Dog { name }", NULL},
    {true, "{ dog { name } } fragment A on Dog { name }", "Fragment \"A\" is never used."},
    /* PossibleFragmentSpreads */
    {true, "{ pet { ... on Dog { barks } ... on Canine { barkVolume } } }", NULL},
    {true, "{ catOrDog { ... on Being { name } } }", NULL},
    {true, "{ dog { ... on Cat { meows } } }",
     "Fragment cannot be spread here as objects of type \"Dog\" can never be of type \"Cat\"."},
    {true, "{ human { ...D } } fragment D on Dog { barks }",
     "Fragment \"D\" cannot be spread here as objects of type \"Human\" can never be of type "
     "\"Dog\"."},
    {true, "{ catOrDog { ... on DogOrHuman { __typename } } }", NULL},
    {true, "{ cat { ... on DogOrHuman { __typename } } }", "can never be of type \"DogOrHuman\""},
    /* NoFragmentCycles */
    {true, "{ dog { ...A } } fragment A on Dog { ...B } fragment B on Dog { ...A }",
     "Cannot spread fragment \"A\" within itself via \"B\"."},
    {true, "{ dog { ...A } } fragment A on Dog { name ...A }",
     "Cannot spread fragment \"A\" within itself."},
    /* UniqueVariableNames, NoUndefinedVariables, NoUnusedVariables */
    {true, "query ($a: Int, $a: Int) { complicatedArgs { intArgField(intArg: $a) } }",
     "There can be only one variable named \"$a\"."},
    {true, "query Q { complicatedArgs { intArgField(intArg: $a) } }",
     "Variable \"$a\" is not defined by operation \"Q\"."},
    {true, "query Q($a: Int) { dog { name } }",
     "Variable \"$a\" is never used in operation \"Q\"."},
    {true, "query Q($a: Int) { dog { ...F } } fragment F on Dog { isAtLocation(x: $a) }", NULL},
    /* KnownDirectives, UniqueDirectivesPerLocation */
    {true, "query ($b: Boolean!) { dog @include(if: $b) { name @skip(if: $b) } }", NULL},
    {true, "{ dog @nope { name } }", "Unknown directive \"@nope\"."},
    {true, "query @skip(if: true) { dog { name } }",
     "Directive \"@skip\" may not be used on QUERY."},
    {true, "{ dog { name @skip(if: true) @skip(if: false) } }",
     "The directive \"@skip\" can only be used once at this location."},
    /* KnownArgumentNames, UniqueArgumentNames, ProvidedRequiredArguments */
    {true, "{ dog { doesKnowCommand(dogCommand: SIT) } }", NULL},
    {true, "{ dog { doesKnowCommand(command: SIT) } }",
     "Unknown argument \"command\" on field \"Dog.doesKnowCommand\". Did you mean \"dogCommand\"?"},
    {true, "{ dog @skip(unless: true) { name } }",
     "Unknown argument \"unless\" on directive \"@skip\"."},
    {true, "{ dog { isAtLocation(x: 1, x: 2) } }", "There can be only one argument named \"x\"."},
    {true, "{ complicatedArgs { multipleReqs(req1: 1) } }",
     "Field \"multipleReqs\" argument \"req2\" of type \"Int!\" is required, but it was not "
     "provided."},
    {true, "{ complicatedArgs { nonNullFieldWithDefault } }", NULL},
    {true, "{ dog @include { name } }",
     "Directive \"@include\" argument \"if\" of type \"Boolean!\" is required"},
    /* ValuesOfCorrectType */
    {true, "{ complicatedArgs { intArgField(intArg: 2) idArgField(idArg: 1) } }", NULL},
    {true, "{ complicatedArgs { intArgField(intArg: \"2\") } }",
     "Int cannot represent non-integer value: \"2\""},
    {true, "{ complicatedArgs { intArgField(intArg: 3000000000) } }",
     "Int cannot represent non 32-bit signed integer value: 3000000000"},
    {true, "{ complicatedArgs { floatArgField(floatArg: 1) stringArgField(stringArg: null) } }",
     NULL},
    {true, "{ complicatedArgs { nonNullIntArgField(nonNullIntArg: null) } }",
     "Expected value of type \"Int!\", found null."},
    {true, "{ complicatedArgs { enumArgField(enumArg: \"BROWN\") } }",
     "Enum \"FurColor\" cannot represent non-enum value: \"BROWN\". Did you mean the enum value"},
    {true, "{ complicatedArgs { enumArgField(enumArg: BROWNN) } }",
     "Value \"BROWNN\" does not exist in \"FurColor\" enum. Did you mean the enum value"},
    {true, "{ complicatedArgs { stringListArgField(stringListArg: \"one\") } }", NULL},
    {true, "{ complicatedArgs { stringListArgField(stringListArg: [\"one\", 2]) } }",
     "String cannot represent a non string value: 2"},
    {true, "{ complicatedArgs { complexArgField(complexArg: {intField: 4}) } }",
     "Field \"ComplexInput.requiredField\" of required type \"Boolean!\" was not provided."},
    {true, "{ complicatedArgs { complexArgField(complexArg: {requiredField: true, nope: 1}) } }",
     "Field \"nope\" is not defined by type \"ComplexInput\"."},
    {true, "{ complicatedArgs { complexArgField(complexArg: [1]) } }",
     "Expected value of type \"ComplexInput\", found [1]."},
    {true, "query ($a: Int = \"x\") { complicatedArgs { intArgField(intArg: $a) } }",
     "Int cannot represent non-integer value: \"x\""},
    /* VariablesInAllowedPosition */
    {true, "query ($a: Int!) { complicatedArgs { nonNullIntArgField(nonNullIntArg: $a) } }", NULL},
    {true, "query ($a: Int) { complicatedArgs { nonNullIntArgField(nonNullIntArg: $a) } }",
     "Variable \"$a\" of type \"Int\" used in position expecting type \"Int!\"."},
    {true, "query ($a: Int = 1) { complicatedArgs { nonNullIntArgField(nonNullIntArg: $a) } }",
     NULL},
    {true, "query ($a: Int) { complicatedArgs { nonNullFieldWithDefault(arg: $a) } }", NULL},
    {true, "query ($a: String) { complicatedArgs { stringListArgField(stringListArg: $a) } }",
     "Variable \"$a\" of type \"String\" used in position expecting type \"[String]\"."},
    {true, "query ($a: [String!]) { complicatedArgs { stringListArgField(stringListArg: $a) } }",
     NULL},
    /* OverlappingFieldsCanBeMerged */
    {true, "{ dog { name name } }", NULL},
    {true, "{ dog { name: nickname name } }",
     "Fields \"name\" conflict because \"nickname\" and \"name\" are different fields."},
    {true, "{ dog { isAtLocation(x: 1) isAtLocation(x: 2) } }",
     "Fields \"isAtLocation\" conflict because they have differing arguments."},
    {true, "{ pet { ... on Dog { v: barkVolume } ... on Cat { v: meowVolume } } }", NULL},
    {true, "{ pet { ... on Dog { v: barks } ... on Cat { v: meowVolume } } }",
     "they return conflicting types \"Boolean\" and \"Int\""},
    {true, "{ dog { ...A } human { name } } fragment A on Dog { x: name x: nickname }",
     "Fields \"x\" conflict"},
    {true, "{ human { relatives { name } } human { relatives { name: __typename } } }",
     "Fields \"human\" conflict because subfields \"relatives\" conflict because subfields "
     "\"name\" conflict"},
    /* UniqueInputFieldNames */
    {true,
     "{ complicatedArgs { complexArgField(complexArg: {requiredField: true, "
     "requiredField: false}) } }",
     "There can be only one input field named \"requiredField\"."},
    /* MaxIntrospectionDepth */
    {true, "{ __schema { types { fields { type { fields { type { name } } } } } } }", NULL},
    {true, "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }",
     "Maximum introspection depth exceeded"},
    /* souk: operations without a root */
    {false, "subscription { me { id } }", "The subscription operation is not supported"},
    {true, "mutation { dog { name } }", "The mutation operation is not supported"},
};

static void test_rules(void **state)
{
    souk_gql_schema_t *docs = schema_from(souk_gql_sdl), *pets = schema_from(pets_sdl);
    for (size_t i = 0; i < SOUK_ARRAY_LEN(cases); i++) {
        const vcase_t *c = &cases[i];
        json_t *errors = check_doc(c->pets ? pets : docs, c->doc, NULL);
        bool ok = c->error ? errors && has_message(errors, c->error) : errors == NULL;
        if (!ok) {
            fprintf(stderr, "case %zu: %s\n  expected %s\n", i, c->doc,
                    c->error ? c->error : "valid");
            print_json("errors", errors);
        }
        assert_true(ok);
        json_decref(errors);
    }
    souk_gql_schema_free(docs);
    souk_gql_schema_free(pets);
}

static void test_error_shape(void **state)
{
    souk_gql_schema_t *s = schema_from(souk_gql_sdl);
    json_t *errors = check_doc(s, "{\n  me {\n    id\n    nickname\n  }\n}", NULL);
    assert_json(errors,
                "[{\"message\": \"Cannot query field \\\"nickname\\\" on type \\\"User\\\". "
                "Did you mean \\\"name\\\"?\","
                " \"locations\": [{\"line\": 4, \"column\": 5}],"
                " \"extensions\": {\"code\": \"GRAPHQL_VALIDATION_FAILED\"}}]");
    json_decref(errors);
    errors = check_doc(s, "query ($a: ID) { product(id: $a) { id } }", NULL);
    assert_json(json_object_get(json_array_get(errors, 0), "locations"),
                "[{\"line\": 1, \"column\": 8}, {\"line\": 1, \"column\": 30}]");
    json_decref(errors);
    souk_gql_schema_free(s);
}

static void test_error_cap(void **state)
{
    souk_gql_schema_t *s = schema_from(souk_gql_sdl);
    souk_buf_t b;
    souk_buf_init(&b, 1 << 20);
    assert_int_equal(souk_buf_append(&b, "{ me { ", 7), SOUK_OK);
    for (int i = 0; i < 150; i++)
        assert_int_equal(souk_buf_appendf(&b, "f%d ", i), SOUK_OK);
    assert_int_equal(souk_buf_append(&b, "} }", 3), SOUK_OK);
    json_t *errors = check_doc(s, b.data, NULL);
    assert_int_equal(json_array_size(errors), SOUK_GQL_MAX_ERRORS + 1);
    assert_true(has_message(errors, "Too many validation errors, error limit reached."));
    json_decref(errors);
    souk_buf_cleanup(&b);
    souk_gql_schema_free(s);
}

/* ---- souk's limits ---------------------------------------------------------------------- */

/* Query.product > recommendations > items > product > ...: n fields deep. */
static char *chain(int n)
{
    static const char *const links[] = {"recommendations", "items", "product"};
    souk_buf_t b;
    souk_buf_init(&b, 4096);
    assert_int_equal(souk_buf_append(&b, "{ product(id: 1) { ", 19), SOUK_OK);
    for (int i = 0; i < n - 2; i++)
        assert_int_equal(souk_buf_appendf(&b, "%s { ", links[i % 3]), SOUK_OK);
    assert_int_equal(souk_buf_append(&b, "__typename name", 15), SOUK_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(souk_buf_append(&b, " }", 2), SOUK_OK);
    return souk_buf_steal(&b, NULL);
}

static void test_depth_limit(void **state)
{
    souk_gql_schema_t *s = schema_from(souk_gql_sdl);
    char *ten = chain(10), *eleven = chain(11);
    json_t *errors = check_doc(s, ten, NULL);
    if (errors)
        print_json("ten", errors);
    assert_null(errors);
    errors = check_doc(s, eleven, NULL);
    assert_non_null(errors);
    assert_true(has_message(errors, "The query is nested 11 fields deep; the limit is 10."));
    json_decref(errors);
    souk_gql_limits_t lim;
    souk_gql_limits_default(&lim);
    lim.max_depth = 11;
    assert_null(check_doc(s, eleven, &lim));
    lim.max_depth = 3;
    errors = check_doc(s, "{ me { id } } ", &lim);
    assert_null(errors);
    errors = check_doc(s, "{ products { items { recommendations { strategy } } } }", &lim);
    assert_true(has_message(errors, "nested 4 fields deep; the limit is 3"));
    json_decref(errors);
    souk_free(ten);
    souk_free(eleven);
    souk_gql_schema_free(s);
}

static void test_alias_limit(void **state)
{
    souk_gql_schema_t *s = schema_from(souk_gql_sdl);
    souk_buf_t b;
    souk_buf_init(&b, 1 << 16);
    assert_int_equal(souk_buf_append(&b, "{ me { ", 7), SOUK_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(souk_buf_appendf(&b, "a%d: id ", i), SOUK_OK);
    assert_int_equal(souk_buf_append(&b, "} }", 3), SOUK_OK);
    json_t *errors = check_doc(s, b.data, NULL);
    assert_true(has_message(errors, "The document has 100 aliases; the limit is 50."));
    json_decref(errors);
    souk_gql_limits_t lim;
    souk_gql_limits_default(&lim);
    lim.max_aliases = 100;
    assert_null(check_doc(s, b.data, &lim));
    souk_buf_cleanup(&b);
    souk_gql_schema_free(s);
}

static void test_cost_limit(void **state)
{
    souk_gql_schema_t *s = schema_from(souk_gql_sdl);
    /* 1 + 1 + 100 x (id + items: 1 + 20 x (name + product: 1 + name)) = 6202 */
    const char *q = "{ orders(limit: 100) { items { id items { name product { name } } } } }";
    json_t *errors = check_doc(s, q, NULL);
    assert_true(has_message(errors, "The query's estimated cost is 6202; the limit is 5000."));
    json_decref(errors);
    /* the page's limit reaches its items: 1 + 1 + 10 x 2 */
    souk_gql_limits_t lim;
    souk_gql_limits_default(&lim);
    lim.max_cost = 21;
    errors = check_doc(s, "{ products(limit: 10) { items { id name } } }", &lim);
    assert_true(has_message(errors, "estimated cost is 22; the limit is 21"));
    json_decref(errors);
    lim.max_cost = 22;
    assert_null(check_doc(s, "{ products(limit: 10) { items { id name } } }", &lim));
    /* no limit argument: 20; the argument's own default counts too (5) */
    lim.max_cost = 1;
    errors = check_doc(s,
                       "{ products { items { id } } recommendations(productId: 1) { items "
                       "{ id } } }",
                       &lim);
    assert_true(has_message(errors, "estimated cost is 29;"));
    json_decref(errors);
    /* introspection costs a flat amount whatever is below it, __typename nothing */
    lim.max_cost = 1100;
    assert_null(check_doc(s,
                          "{ __typename __schema { types { name fields { name } } } "
                          "__type(name: \"Product\") { fields { name } } }",
                          &lim));
    errors = check_doc(s,
                       "{ a: __schema { queryType { name } } b: __schema { queryType { name } "
                       "} }",
                       &lim);
    assert_true(has_message(errors, "estimated cost is 2000; the limit is 1100"));
    json_decref(errors);
    souk_gql_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),       cmocka_unit_test(test_error_shape),
        cmocka_unit_test(test_error_cap),   cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_alias_limit), cmocka_unit_test(test_cost_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
