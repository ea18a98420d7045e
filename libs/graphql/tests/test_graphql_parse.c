/* Unit tests of the GraphQL lexer and parser (libs/graphql/src/lexer.c,
 * parser.c): the spec's examples of executable documents and SDL parse into
 * the expected tree, and invalid documents fail with graphql-js's message at
 * the right line and column. Also the schema builder's own checks. */
#include "gql_test.h"

#include "gql_int.h"

typedef struct {
    souk_arena_t *a;
    gql_document_t doc;
    gql_syntax_error_t err;
} parsed_t;

static souk_err_t parse(parsed_t *p, const char *text)
{
    p->a = souk_arena_new();
    return souk_gql__parse(p->a, text, strlen(text), &p->doc, &p->err);
}

static void done(parsed_t *p)
{
    souk_arena_free(p->a);
}

/* ---- executable documents ------------------------------------------------------------- */

static const char kitchen_sink[] =
    "# a comment\n"
    "query queryName($foo: ComplexType, $site: Site = MOBILE, $list: [Int!]! = [1, 2]) "
    "@onQuery {\n"
    "  whoever123is: node(id: [123, 456]) {\n"
    "    id ,\n"
    "    ... on User @onInlineFragment {\n"
    "      field2 {\n"
    "        id ,\n"
    "        alias: field1(first:10, after:$foo,) @include(if: $foo) {\n"
    "          id,\n"
    "          ...frag @onFragmentSpread\n"
    "        }\n"
    "      }\n"
    "    }\n"
    "    ... @skip(unless: $foo) {\n"
    "      id\n"
    "    }\n"
    "    ... {\n"
    "      id\n"
    "    }\n"
    "  }\n"
    "}\n"
    "\n"
    "mutation likeStory @onMutation {\n"
    "  like(story: 123) @onField {\n"
    "    story {\n"
    "      id @onField\n"
    "    }\n"
    "  }\n"
    "}\n"
    "\n"
    "subscription StoryLikeSubscription($input: StoryLikeSubscribeInput @onVariableDefinition) "
    "@onSubscription {\n"
    "  storyLikeSubscribe(input: $input) {\n"
    "    story { likers { count } likeSentence { text } }\n"
    "  }\n"
    "}\n"
    "\n"
    "fragment frag on Friend @onFragmentDefinition {\n"
    "  foo(size: $size, bar: $b, obj: {key: \"value\", block: \"\"\"\n"
    "      block string uses \\\"\"\"\n"
    "  \"\"\"})\n"
    "}\n"
    "\n"
    "{\n"
    "  unnamed(truthy: true, falsy: false, nullish: null),\n"
    "  query\n"
    "}\n"
    "\n"
    "query { __typename }\n";

static void test_kitchen_sink(void **state)
{
    parsed_t p;
    assert_int_equal(parse(&p, kitchen_sink), SOUK_OK);
    assert_int_equal(p.doc.ndefs, 6);
    const gql_def_t *q = p.doc.defs;
    assert_int_equal(q->kind, GQL_D_OPERATION);
    assert_int_equal(q->op, SOUK_GQL_QUERY);
    assert_string_equal(q->name, "queryName");
    assert_string_equal(q->vars->name, "foo");
    assert_string_equal(q->vars->next->defval->str, "MOBILE");
    assert_int_equal(q->vars->next->defval->kind, GQL_V_ENUM);
    const gql_vardef_t *list = q->vars->next->next;
    assert_int_equal(list->type->kind, GQL_T_NONNULL);
    assert_int_equal(list->type->of->kind, GQL_T_LIST);
    assert_int_equal(list->type->of->of->kind, GQL_T_NONNULL);
    assert_string_equal(list->type->of->of->of->name, "Int");
    assert_int_equal(list->defval->count, 2);
    assert_string_equal(q->directives->name, "onQuery");
    const gql_selection_t *node = q->selset->first;
    assert_string_equal(node->alias, "whoever123is");
    assert_string_equal(node->name, "node");
    assert_int_equal(node->args->value->kind, GQL_V_LIST);
    assert_int_equal(node->loc.line, 3);
    assert_int_equal(node->loc.col, 3);
    const gql_selection_t *inl = node->selset->first->next;
    assert_int_equal(inl->kind, GQL_SEL_INLINE);
    assert_string_equal(inl->type_cond, "User");
    const gql_selection_t *alias = inl->selset->first->selset->first->next;
    assert_string_equal(alias->alias, "alias");
    assert_string_equal(alias->args->next->value->str, "foo");
    assert_int_equal(alias->args->next->value->kind, GQL_V_VAR);
    assert_int_equal(alias->selset->first->next->kind, GQL_SEL_SPREAD);
    assert_null(inl->next->type_cond);
    assert_string_equal(inl->next->directives->name, "skip");

    const gql_def_t *m = q->next;
    assert_int_equal(m->op, SOUK_GQL_MUTATION);
    const gql_def_t *sub = m->next;
    assert_int_equal(sub->op, SOUK_GQL_SUBSCRIPTION);
    assert_string_equal(sub->vars->directives->name, "onVariableDefinition");
    const gql_def_t *frag = sub->next;
    assert_int_equal(frag->kind, GQL_D_FRAGMENT);
    assert_string_equal(frag->type_cond, "Friend");
    const gql_value_t *obj = frag->selset->first->args->next->next->value;
    assert_int_equal(obj->kind, GQL_V_OBJECT);
    assert_string_equal(obj->items->name, "key");
    assert_string_equal(obj->items->next->str, "block string uses \"\"\"");
    assert_true(obj->items->next->block);
    const gql_def_t *anon = frag->next;
    assert_null(anon->name);
    assert_true(anon->selset->first->args->value->boolean);
    assert_int_equal(anon->selset->first->args->next->next->value->kind, GQL_V_NULL);
    done(&p);
}

static void test_values(void **state)
{
    parsed_t p;
    assert_int_equal(parse(&p,
                           "{ f(a: -0, b: 1.5e-3, c: \"\\u00e9\\u{1F600}\\uD83D\\uDE00\\n\\\"\", "
                           "d: \"\"\"\n    one\n      two\n\n  \"\"\", e: [], f: {}, g: ENUM) }"),
                     SOUK_OK);
    const gql_arg_t *a = p.doc.defs->selset->first->args;
    assert_int_equal(a->value->kind, GQL_V_INT);
    assert_string_equal(a->value->str, "-0");
    assert_int_equal(a->next->value->kind, GQL_V_FLOAT);
    assert_string_equal(a->next->value->str, "1.5e-3");
    const gql_value_t *c = a->next->next->value;
    assert_int_equal(c->len, strlen("é😀😀\n\""));
    assert_memory_equal(c->str, "é😀😀\n\"", c->len);
    assert_string_equal(a->next->next->next->value->str, "one\n  two");
    assert_int_equal(a->next->next->next->next->value->count, 0);
    assert_int_equal(a->next->next->next->next->next->value->kind, GQL_V_OBJECT);
    assert_int_equal(a->next->next->next->next->next->next->value->kind, GQL_V_ENUM);
    done(&p);
}

static void test_nul_escape_keeps_length(void **state)
{
    parsed_t p;
    assert_int_equal(parse(&p, "{ f(a: \"x\\u0000y\") }"), SOUK_OK);
    const gql_value_t *v = p.doc.defs->selset->first->args->value;
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->str, "x\0y", 3);
    done(&p);
}

/* ---- SDL ----------------------------------------------------------------------------------- */

static const char sdl_sink[] =
    "\"\"\"The schema\"\"\"\n"
    "schema @onSchema { query: QueryType mutation: MutationType }\n"
    "\"\"\"\nThis is a description\nof the `Foo` type.\n\"\"\"\n"
    "type Foo implements Bar & Baz & Two @onObject {\n"
    "  \"Description of the `one` field.\"\n"
    "  one: Type\n"
    "  two(\"arg desc\" argument: InputType!): Type\n"
    "  three(argument: InputType, other: String): Int\n"
    "  four(argument: String = \"string\"): String\n"
    "  five(argument: [String] = [\"string\", \"string\"]): String\n"
    "  six(argument: InputType = {key: \"value\"}): Type\n"
    "  seven(argument: Int = null): Type @deprecated(reason: \"gone\")\n"
    "}\n"
    "interface Bar implements Two { one: Type four(argument: String = \"string\"): String }\n"
    "union Feed @onUnion = | Story | Article | Advert\n"
    "union Empty\n"
    "scalar CustomScalar @onScalar\n"
    "enum Site { DESKTOP \"mobile\" MOBILE WEB @deprecated }\n"
    "input InputType { key: String! answer: Int = 42 }\n"
    "extend type Foo { seven(argument: [String]): Type }\n"
    "extend schema @onSchema\n"
    "extend union Feed = Photo\n"
    "extend enum Site { VR }\n"
    "extend input InputType { other: Float = 1.23e4 @onInputFieldDefinition }\n"
    "extend scalar CustomScalar @onScalar\n"
    "extend interface Bar @onInterface\n"
    "\"\"\"directive desc\"\"\"\n"
    "directive @include2(if: Boolean!) repeatable on\n"
    "  | FIELD\n  | FRAGMENT_SPREAD\n  | INLINE_FRAGMENT\n";

static void test_sdl_kitchen_sink(void **state)
{
    parsed_t p;
    assert_int_equal(parse(&p, sdl_sink), SOUK_OK);
    const gql_def_t *d = p.doc.defs;
    assert_int_equal(d->kind, GQL_D_SCHEMA);
    assert_string_equal(d->desc, "The schema");
    assert_int_equal(d->names->op, SOUK_GQL_QUERY);
    assert_string_equal(d->names->next->name, "MutationType");
    d = d->next;
    assert_int_equal(d->kind, GQL_D_OBJECT);
    assert_string_equal(d->desc, "This is a description\nof the `Foo` type.");
    assert_string_equal(d->names->next->next->name, "Two");
    assert_string_equal(d->fields->desc, "Description of the `one` field.");
    assert_string_equal(d->fields->next->args->desc, "arg desc");
    assert_int_equal(d->fields->next->args->type->kind, GQL_T_NONNULL);
    d = d->next->next;
    assert_int_equal(d->kind, GQL_D_UNION);
    assert_string_equal(d->names->next->next->name, "Advert");
    d = d->next;
    assert_null(d->names); /* union Empty */
    d = d->next->next;
    assert_int_equal(d->kind, GQL_D_ENUM);
    assert_string_equal(d->values->next->desc, "mobile");
    d = d->next;
    assert_int_equal(d->kind, GQL_D_INPUT);
    assert_string_equal(d->inputs->next->defval->str, "42");
    d = d->next;
    assert_true(d->extension);
    size_t n = 0;
    for (; d; d = d->next)
        n++;
    assert_int_equal(n, 8);
    done(&p);
}

/* ---- errors -------------------------------------------------------------------------------- */

typedef struct {
    const char *text, *message;
    uint32_t line, col;
} bad_t;

static const bad_t bad[] = {
    {"", "Syntax Error: Unexpected <EOF>.", 1, 1},
    {"{ products { items { id } }", "Syntax Error: Expected Name, found <EOF>.", 1, 28},
    {"query {\n  me {\n    id\n  }\n", "Syntax Error: Expected Name, found <EOF>.", 5, 1},
    {"{ f(a: \"abc) }", "Syntax Error: Unterminated string.", 1, 15},
    {"\n\n  { me { id } } %", "Syntax Error: Unexpected character: \"%\".", 3, 17},
    {"{ f(q: \"é\") } ?", "Syntax Error: Unexpected character: \"?\".", 1, 15},
    {"{ f(a: 01) }", "Syntax Error: Invalid number, unexpected digit after 0: \"1\".", 1, 9},
    {"{ f(a: 1.) }", "Syntax Error: Invalid number, expected digit but got: \")\".", 1, 10},
    {"{ f(a: 1x) }", "Syntax Error: Invalid number, expected digit but got: \"x\".", 1, 9},
    {"{ f(a: \"\\q\") }", "Syntax Error: Invalid character escape sequence: \"\\q\".", 1, 9},
    {"{ f(a: \"\\uDEAD\") }", "Syntax Error: Invalid Unicode escape sequence: \"\\uDEAD\".", 1, 9},
    {"{ f(a: \"\\u{}\") }", "Syntax Error: Invalid Unicode escape sequence: \"\\u{}\".", 1, 9},
    {"{ f() }", "Syntax Error: Expected Name, found \")\".", 1, 5},
    {"{ f }}", "Syntax Error: Unexpected \"}\".", 1, 6},
    {"query Q($a: Int = $b) { f }", "Syntax Error: Unexpected variable \"$b\" in constant value.",
     1, 19},
    {"fragment on on T { f }", "Syntax Error: Unexpected Name \"on\".", 1, 10},
    {"\"desc\" query { f }",
     "Syntax Error: Unexpected description, descriptions are supported only on type definitions.",
     1, 1},
    {"{ f(a: 'x') }",
     "Syntax Error: Unexpected single quote character ('), did you mean to use a double quote "
     "(\")?",
     1, 8},
    {"{ f(a: \"\"\"x) }", "Syntax Error: Unterminated string.", 1, 15},
    {"{ f(a: \"x\ny\") }", "Syntax Error: Unterminated string.", 1, 10},
    {"{ f \x01 }", "Syntax Error: Unexpected character: U+0001.", 1, 5},
    {"{ f(a: \"\xff\") }", "Syntax Error: Invalid character within String: U+00FF (invalid UTF-8).",
     1, 9},
    {"enum E { true }",
     "Syntax Error: Name \"true\" is reserved and cannot be used for an enum value.", 1, 10},
    {"directive @d on FIELD | NOWHERE", "Syntax Error: Unexpected Name \"NOWHERE\".", 1, 25},
    {"extend type T", "Syntax Error: Unexpected <EOF>.", 1, 14},
    {"type T {}", "Syntax Error: Expected Name, found \"}\".", 1, 9},
    {"\n\n\"\"\"\nblock\n\"\"\" query { f }",
     "Syntax Error: Unexpected description, descriptions are supported only on type definitions.",
     3, 1},
    {"\"\"\"\nblock\nstring\n\"\"\" %", "Syntax Error: Unexpected character: \"%\".", 4, 5},
};

static void test_syntax_errors(void **state)
{
    for (size_t i = 0; i < SOUK_ARRAY_LEN(bad); i++) {
        parsed_t p;
        souk_err_t err = parse(&p, bad[i].text);
        if (err != SOUK_EINVAL || strcmp(p.err.message, bad[i].message) != 0 ||
            p.err.loc.line != bad[i].line || p.err.loc.col != bad[i].col)
            fprintf(stderr, "case %zu: %s: got %s at %u:%u\n", i, bad[i].text, p.err.message,
                    p.err.loc.line, p.err.loc.col);
        assert_int_equal(err, SOUK_EINVAL);
        assert_string_equal(p.err.message, bad[i].message);
        assert_int_equal(p.err.loc.line, bad[i].line);
        assert_int_equal(p.err.loc.col, bad[i].col);
        assert_null(p.doc.defs);
        done(&p);
    }
}

static void test_nesting_bound(void **state)
{
    char text[400];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof(text) - n, "{ f(a: ");
    for (int i = 0; i < GQL_MAX_NESTING + 1; i++)
        text[n++] = '[';
    text[n] = '\0';
    parsed_t p;
    assert_int_equal(parse(&p, text), SOUK_EINVAL);
    assert_string_equal(p.err.message, "Syntax Error: Document nesting exceeds 64 levels.");
    done(&p);
    /* 64 levels of selection sets are fine */
    n = 0;
    for (int i = 0; i < GQL_MAX_NESTING; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "{a");
    for (int i = 0; i < GQL_MAX_NESTING; i++)
        text[n++] = '}';
    text[n] = '\0';
    assert_int_equal(parse(&p, text), SOUK_OK);
    done(&p);
}

/* The public entry: syntax errors become GraphQL errors, documents are bounded. */
static void test_document_errors(void **state)
{
    souk_gql_schema_t *s = schema_from(souk_gql_sdl);
    json_t *errors = check_doc(s, "{ me { id }", NULL);
    assert_json(errors, "[{\"message\": \"Syntax Error: Expected Name, found <EOF>.\","
                        " \"locations\": [{\"line\": 1, \"column\": 12}],"
                        " \"extensions\": {\"code\": \"GRAPHQL_PARSE_FAILED\"}}]");
    json_decref(errors);
    souk_gql_limits_t lim;
    souk_gql_limits_default(&lim);
    lim.max_document = 10;
    souk_gql_doc_t *doc;
    assert_int_equal(souk_gql_document_parse(s, "{ me { id } }", 13, &lim, &doc, &errors),
                     SOUK_ELIMIT);
    assert_null(doc);
    assert_true(has_message(errors, "13 bytes long; the limit is 10"));
    json_decref(errors);
    /* 16 KiB by default */
    size_t len = SOUK_GQL_MAX_DOCUMENT + 1;
    char *big = souk_malloc(len);
    memset(big, ' ', len);
    memcpy(big, "{ me { id } }", 13);
    assert_int_equal(souk_gql_document_parse(s, big, len, NULL, &doc, &errors), SOUK_ELIMIT);
    json_decref(errors);
    assert_int_equal(souk_gql_document_parse(s, big, len - 1, NULL, &doc, &errors), SOUK_OK);
    souk_gql_doc_free(doc);
    souk_free(big);
    souk_gql_schema_free(s);
}

/* ---- schema building ------------------------------------------------------------------------ */

static void schema_fails(const char *sdl, const char *message)
{
    souk_gql_schema_t *s = NULL;
    json_t *errors = NULL;
    assert_int_equal(souk_gql_schema_new(sdl, strlen(sdl), &s, &errors), SOUK_EINVAL);
    assert_null(s);
    if (!has_message(errors, message))
        print_json("errors", errors);
    assert_true(has_message(errors, message));
    json_decref(errors);
}

static void test_schema_checks(void **state)
{
    schema_fails("type Query { a: Missing }", "Unknown type \"Missing\".");
    schema_fails("type Query { a: Int } type Query { b: Int }",
                 "There can be only one type named \"Query\".");
    schema_fails("type Other { a: Int }", "Query root type must be provided.");
    schema_fails("type Query { a: In }\ninput In { x: Int }",
                 "The type of Query.a must be Output Type but got: In.");
    schema_fails("type Query { a(x: Query): Int }",
                 "The type of Query.a.x must be Input Type but got: Query.");
    schema_fails("interface I { id: ID! } type Query implements I { a: Int }",
                 "Interface field I.id expected but Query does not provide it.");
    schema_fails("union U = Query | Int type Query { u: U }",
                 "Union type U can only include Object types, it cannot include Int.");
    schema_fails("type Query { __a: Int } type __Mine { a: Int }",
                 "Name \"__Mine\" must not begin with \"__\"");
    schema_fails("type Query { a(x: Int = \"no\"): Int }", "has an invalid default value");
    schema_fails("type Query { a: Int }\n{ a }", "A schema cannot contain executable definitions.");
    schema_fails("type Query { a: Int } extend type Nope { b: Int }",
                 "Cannot extend type \"Nope\" because it is not defined.");
    schema_fails("type Query { a: Int", "Syntax Error: Expected Name, found <EOF>.");
    schema_fails("type Query { a: Int } directive @skip on FIELD",
                 "Directive \"@skip\" already exists in the schema.");
    schema_fails("type Query { a: Int a: Int }", "Field \"Query.a\" can only be defined once.");
}

static void test_schema_extensions(void **state)
{
    souk_gql_schema_t *s = schema_from("type Query { a: Int }\n"
                                       "extend type Query { b: Color }\n"
                                       "enum Color { RED }\n"
                                       "extend enum Color { GREEN @deprecated(reason: \"no\") }\n"
                                       "scalar Int\n");
    const gql_type_t *q = souk_gql__type(s, "Query");
    assert_int_equal(q->nfields, 2);
    const gql_type_t *c = souk_gql__type(s, "Color");
    assert_int_equal(c->nvalues, 2);
    assert_true(c->values[1].deprecated);
    assert_string_equal(c->values[1].reason, "no");
    assert_null(souk_gql__type(s, "Float")); /* built-ins are listed only when used */
    assert_non_null(souk_gql__type(s, "Int"));
    assert_non_null(souk_gql__type(s, "__Schema"));
    souk_gql_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kitchen_sink),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_nul_escape_keeps_length),
        cmocka_unit_test(test_sdl_kitchen_sink),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_nesting_bound),
        cmocka_unit_test(test_document_errors),
        cmocka_unit_test(test_schema_checks),
        cmocka_unit_test(test_schema_extensions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
