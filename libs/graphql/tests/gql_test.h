/* gql_test.h: helpers shared by the unit tests of libs/graphql: loading a
 * schema, checking a document, and comparing JSON with a readable failure.
 * docs/schema.graphql is the library's souk_gql_sdl. */
#ifndef SOUK_GQL_TEST_H
#define SOUK_GQL_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <souk/graphql.h>

static inline souk_gql_schema_t *schema_from(const char *sdl)
{
    souk_gql_schema_t *s = NULL;
    json_t *errors = NULL;
    souk_err_t err = souk_gql_schema_new(sdl, strlen(sdl), &s, &errors);
    if (err != SOUK_OK) {
        char *text = json_dumps(errors, JSON_INDENT(2));
        fprintf(stderr, "schema errors: %s\n", text);
        free(text);
    }
    assert_int_equal(err, SOUK_OK);
    assert_non_null(s);
    assert_null(errors);
    return s;
}

/* The errors of text (a new array), or NULL when it is valid. */
static inline json_t *check_doc(const souk_gql_schema_t *s, const char *text,
                                const souk_gql_limits_t *lim)
{
    souk_gql_doc_t *doc = NULL;
    json_t *errors = NULL;
    souk_err_t err = souk_gql_document_parse(s, text, strlen(text), lim, &doc, &errors);
    if (err == SOUK_OK) {
        assert_non_null(doc);
        assert_null(errors);
        souk_gql_doc_free(doc);
        return NULL;
    }
    assert_null(doc);
    assert_true(json_is_array(errors));
    assert_true(json_array_size(errors) > 0);
    return errors;
}

/* True when one of errors' messages contains needle. */
static inline bool has_message(json_t *errors, const char *needle)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "message"));
        if (m && strstr(m, needle))
            return true;
    }
    return false;
}

static inline void print_json(const char *label, const json_t *j)
{
    char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fprintf(stderr, "%s: %s\n", label, text ? text : "(null)");
    free(text);
}

/* got equals the JSON text want (object member order ignored). */
static inline void assert_json(const json_t *got, const char *want)
{
    json_error_t jerr;
    json_t *w = json_loads(want, JSON_DECODE_ANY, &jerr);
    if (!w)
        fprintf(stderr, "bad expected JSON: %s: %s\n", jerr.text, want);
    assert_non_null(w);
    if (!json_equal(got, w)) {
        print_json("got", got);
        print_json("want", w);
    }
    assert_true(json_equal(got, w));
    json_decref(w);
}

#endif
