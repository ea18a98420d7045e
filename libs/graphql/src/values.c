/* values.c: input and result coercion (spec 3.5, 3.9, 5.6, 6.1.2, 6.4.1): the
 * built-in scalars' parseLiteral/parseValue/serialize as graphql-js has them,
 * enums, lists and input objects; literals with variables (valueFromAST),
 * variable values from JSON (coerceInputValue) and field arguments
 * (CoerceArgumentValues). Custom scalars accept any value and return what the
 * resolver gave. One souk rule beyond the spec: a result enum value may be the
 * REST spelling of the enum value name (ASCII case ignored, '-' for '_'), so
 * "co-purchase" serializes as CO_PURCHASE. */
#include "gql_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT_MAX32 2147483647.0
#define INT_MIN32 (-2147483648.0)

/* ---- literals (validation) ---------------------------------------------------------- */

static const char **enum_names(const gql_type_t *t)
{
    const char **names = souk_calloc(t->nvalues ? t->nvalues : 1, sizeof(*names));
    for (size_t i = 0; i < t->nvalues; i++)
        names[i] = t->values[i].name;
    return names;
}

static void suggest_enum(souk_buf_t *msg, const gql_type_t *t, const char *input)
{
    const char **names = enum_names(t);
    souk_gql__did_you_mean(msg, input, names, t->nvalues, "the enum value");
    souk_free(names);
}

static const gql_enumval_t *enum_value(const gql_type_t *t, const char *name)
{
    for (size_t i = 0; i < t->nvalues; i++)
        if (strcmp(t->values[i].name, name) == 0)
            return &t->values[i];
    return NULL;
}

static bool enum_literal_ok(const gql_type_t *t, const gql_value_t *v, souk_buf_t *msg)
{
    souk_buf_t printed;
    souk_buf_init(&printed, GQL_MAX_MESSAGE);
    souk_gql__print_value(&printed, v);
    const char *p = printed.data ? printed.data : "";
    bool ok = v->kind == GQL_V_ENUM && enum_value(t, v->str);
    if (v->kind != GQL_V_ENUM) {
        souk_gql__putf(msg, "Enum \"%s\" cannot represent non-enum value: %s.", t->name, p);
        suggest_enum(msg, t, p);
    } else if (!ok) {
        souk_gql__putf(msg, "Value \"%s\" does not exist in \"%s\" enum.", p, t->name);
        suggest_enum(msg, t, p);
    }
    souk_buf_cleanup(&printed);
    return ok;
}

static bool int_text_ok(const gql_value_t *v, souk_buf_t *msg)
{
    double d = strtod(v->str, NULL);
    if (d > INT_MAX32 || d < INT_MIN32) {
        souk_gql__putf(msg, "Int cannot represent non 32-bit signed integer value: %s", v->str);
        return false;
    }
    return true;
}

static bool scalar_literal_ok(const gql_type_t *t, const gql_value_t *v, souk_buf_t *msg)
{
    bool ok = true;
    const char *what = NULL;
    switch (t->scalar) {
    case GQL_SC_INT:
        if (v->kind == GQL_V_INT)
            return int_text_ok(v, msg);
        ok = false;
        what = "Int cannot represent non-integer value: ";
        break;
    case GQL_SC_FLOAT:
        ok = v->kind == GQL_V_INT || v->kind == GQL_V_FLOAT;
        what = "Float cannot represent non numeric value: ";
        break;
    case GQL_SC_STRING:
        ok = v->kind == GQL_V_STRING;
        what = "String cannot represent a non string value: ";
        break;
    case GQL_SC_BOOLEAN:
        ok = v->kind == GQL_V_BOOL;
        what = "Boolean cannot represent a non boolean value: ";
        break;
    case GQL_SC_ID:
        ok = v->kind == GQL_V_STRING || v->kind == GQL_V_INT;
        what = "ID cannot represent a non-string and non-integer value: ";
        break;
    case GQL_SC_CUSTOM:
        return true; /* valueFromASTUntyped accepts any literal */
    }
    if (!ok) {
        souk_gql__put(msg, what);
        souk_gql__print_value(msg, v);
    }
    return ok;
}

bool souk_gql__literal_ok(const gql_type_t *leaf, const gql_value_t *v, souk_buf_t *msg)
{
    return leaf->kind == GQL_ENUM ? enum_literal_ok(leaf, v, msg) : scalar_literal_ok(leaf, v, msg);
}

/* ---- literals to JSON (valueFromAST) ------------------------------------------------- */

static json_t *number(const char *text, bool is_float)
{
    if (!is_float) {
        errno = 0;
        long long n = strtoll(text, NULL, 10);
        if (errno == 0)
            return json_integer(n);
    }
    return json_real(strtod(text, NULL));
}

static bool var_missing(const gql_value_t *v, const json_t *vars)
{
    return v->kind == GQL_V_VAR && (!vars || !json_object_get(vars, v->str));
}

static json_t *untyped(const gql_value_t *v, const json_t *vars)
{
    json_t *j;
    switch (v->kind) {
    case GQL_V_VAR: {
        json_t *x = vars ? json_object_get(vars, v->str) : NULL;
        return x ? json_incref(x) : json_null();
    }
    case GQL_V_INT:
    case GQL_V_FLOAT:
        return number(v->str, v->kind == GQL_V_FLOAT);
    case GQL_V_STRING:
    case GQL_V_ENUM:
        return json_stringn(v->str, v->len);
    case GQL_V_BOOL:
        return json_boolean(v->boolean);
    case GQL_V_NULL:
        return json_null();
    case GQL_V_LIST:
        j = json_array();
        for (const gql_value_t *i = v->items; i; i = i->next)
            json_array_append_new(j, untyped(i, vars));
        return j;
    case GQL_V_OBJECT:
        j = json_object();
        for (const gql_value_t *i = v->items; i; i = i->next)
            json_object_set_new(j, i->name, untyped(i, vars));
        return j;
    }
    return json_null();
}

static gql_valres_t leaf_from_ast(const gql_value_t *v, const gql_type_t *t, const json_t *vars,
                                  json_t **out)
{
    souk_buf_t msg;
    souk_buf_init(&msg, GQL_MAX_MESSAGE);
    bool ok = souk_gql__literal_ok(t, v, &msg);
    souk_buf_cleanup(&msg);
    if (!ok)
        return GQL_VAL_INVALID;
    if (t->kind == GQL_ENUM || t->scalar == GQL_SC_STRING || t->scalar == GQL_SC_ID)
        *out = json_stringn(v->str, v->len);
    else if (t->scalar == GQL_SC_BOOLEAN)
        *out = json_boolean(v->boolean);
    else if (t->scalar == GQL_SC_INT || t->scalar == GQL_SC_FLOAT)
        *out = t->scalar == GQL_SC_FLOAT ? json_real(strtod(v->str, NULL)) : number(v->str, false);
    else
        *out = untyped(v, vars);
    return *out ? GQL_VAL_OK : GQL_VAL_INVALID;
}

static const gql_value_t *object_field(const gql_value_t *obj, const char *name)
{
    const gql_value_t *found = NULL;
    for (const gql_value_t *f = obj->items; f; f = f->next)
        if (strcmp(f->name, name) == 0)
            found = f; /* keyMap: the last one counts */
    return found;
}

static gql_valres_t list_from_ast(const gql_value_t *v, const gql_tref_t *type, const json_t *vars,
                                  json_t **out)
{
    const gql_tref_t *item = type->of;
    json_t *j;
    if (v->kind != GQL_V_LIST) {
        if (souk_gql__value_from_ast(v, item, vars, &j) != GQL_VAL_OK)
            return GQL_VAL_INVALID;
        *out = json_array();
        json_array_append_new(*out, j);
        return GQL_VAL_OK;
    }
    *out = json_array();
    for (const gql_value_t *i = v->items; i; i = i->next) {
        if (var_missing(i, vars)) {
            if (item->kind == GQL_T_NONNULL)
                goto invalid;
            json_array_append_new(*out, json_null());
        } else if (souk_gql__value_from_ast(i, item, vars, &j) == GQL_VAL_OK) {
            json_array_append_new(*out, j);
        } else {
            goto invalid;
        }
    }
    return GQL_VAL_OK;
invalid:
    json_decref(*out);
    *out = NULL;
    return GQL_VAL_INVALID;
}

static gql_valres_t object_from_ast(const gql_value_t *v, const gql_type_t *t, const json_t *vars,
                                    json_t **out)
{
    if (v->kind != GQL_V_OBJECT)
        return GQL_VAL_INVALID;
    *out = json_object();
    for (size_t i = 0; i < t->ninputs; i++) {
        const gql_ivalue_t *f = &t->inputs[i];
        const gql_value_t *node = object_field(v, f->name);
        json_t *j;
        if (!node || var_missing(node, vars)) {
            if (f->default_json)
                json_object_set(*out, f->name, f->default_json);
            else if (f->type->kind == GQL_T_NONNULL)
                goto invalid;
            continue;
        }
        if (souk_gql__value_from_ast(node, f->type, vars, &j) != GQL_VAL_OK)
            goto invalid;
        json_object_set_new(*out, f->name, j);
    }
    return GQL_VAL_OK;
invalid:
    json_decref(*out);
    *out = NULL;
    return GQL_VAL_INVALID;
}

gql_valres_t souk_gql__value_from_ast(const gql_value_t *v, const gql_tref_t *type,
                                      const json_t *vars, json_t **out)
{
    *out = NULL;
    if (v->kind == GQL_V_VAR) {
        json_t *x = vars ? json_object_get(vars, v->str) : NULL;
        if (!x)
            return GQL_VAL_ABSENT;
        if (json_is_null(x) && type->kind == GQL_T_NONNULL)
            return GQL_VAL_INVALID;
        *out = json_incref(x);
        return GQL_VAL_OK;
    }
    if (type->kind == GQL_T_NONNULL)
        return v->kind == GQL_V_NULL ? GQL_VAL_INVALID
                                     : souk_gql__value_from_ast(v, type->of, vars, out);
    if (v->kind == GQL_V_NULL) {
        *out = json_null();
        return GQL_VAL_OK;
    }
    if (type->kind == GQL_T_LIST)
        return list_from_ast(v, type, vars, out);
    if (type->named->kind == GQL_INPUT)
        return object_from_ast(v, type->named, vars, out);
    return leaf_from_ast(v, type->named, vars, out);
}

/* ---- variables (coerceInputValue) ---------------------------------------------------- */

typedef struct {
    const char *var;
    json_t *errors;
    char path[512]; /* ".field[0]..." */
} coerce_t;

static void coerce_error(coerce_t *c, const json_t *invalid, const char *what)
{
    souk_buf_t b;
    souk_buf_init(&b, GQL_MAX_MESSAGE);
    souk_gql__putf(&b, "Variable \"$%s\" got invalid value ", c->var);
    souk_gql__inspect_json(&b, invalid);
    if (c->path[0])
        souk_gql__putf(&b, " at \"%s%s\"", c->var, c->path);
    souk_gql__putf(&b, "; %s", what);
    json_array_append_new(c->errors, json_string(b.data ? b.data : "invalid value"));
    souk_buf_cleanup(&b);
}

static json_t *coerce(coerce_t *c, const json_t *in, const gql_tref_t *type);

static bool integral(const json_t *in, double *d)
{
    if (json_is_integer(in)) {
        *d = (double)json_integer_value(in);
        return true;
    }
    *d = json_is_real(in) ? json_real_value(in) : NAN;
    return json_is_real(in) && isfinite(*d) && floor(*d) == *d;
}

static json_t *parse_scalar(coerce_t *c, const json_t *in, const gql_type_t *t)
{
    souk_buf_t msg;
    souk_buf_init(&msg, GQL_MAX_MESSAGE);
    json_t *out = NULL;
    double d;
    switch (t->scalar) {
    case GQL_SC_INT:
        if (integral(in, &d) && d <= INT_MAX32 && d >= INT_MIN32)
            out = json_integer((json_int_t)d);
        else if (integral(in, &d))
            souk_gql__putf(&msg, "Int cannot represent non 32-bit signed integer value: %.0f", d);
        else
            souk_gql__put(&msg, "Int cannot represent non-integer value: ");
        break;
    case GQL_SC_FLOAT:
        if (json_is_number(in) && isfinite(json_number_value(in)))
            out = json_incref((json_t *)in);
        else
            souk_gql__put(&msg, "Float cannot represent non numeric value: ");
        break;
    case GQL_SC_STRING:
        if (json_is_string(in))
            out = json_incref((json_t *)in);
        else
            souk_gql__put(&msg, "String cannot represent a non string value: ");
        break;
    case GQL_SC_BOOLEAN:
        if (json_is_boolean(in))
            out = json_incref((json_t *)in);
        else
            souk_gql__put(&msg, "Boolean cannot represent a non boolean value: ");
        break;
    case GQL_SC_ID:
        if (json_is_string(in))
            out = json_incref((json_t *)in);
        else if (json_is_integer(in))
            out = json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(in));
        else
            souk_gql__put(&msg, "ID cannot represent value: ");
        break;
    case GQL_SC_CUSTOM:
        out = json_incref((json_t *)in);
        break;
    }
    if (!out) {
        if (msg.len && msg.data[msg.len - 1] == ' ')
            souk_gql__inspect_json(&msg, in);
        coerce_error(c, in, msg.data ? msg.data : "invalid");
    }
    souk_buf_cleanup(&msg);
    return out;
}

static json_t *parse_enum(coerce_t *c, const json_t *in, const gql_type_t *t)
{
    souk_buf_t msg;
    souk_buf_init(&msg, GQL_MAX_MESSAGE);
    json_t *out = NULL;
    if (!json_is_string(in)) {
        souk_gql__putf(&msg, "Enum \"%s\" cannot represent non-string value: ", t->name);
        souk_gql__inspect_json(&msg, in);
        souk_gql__put(&msg, ".");
    } else if (!enum_value(t, json_string_value(in))) {
        souk_gql__putf(&msg, "Value \"%s\" does not exist in \"%s\" enum.", json_string_value(in),
                       t->name);
        suggest_enum(&msg, t, json_string_value(in));
    } else {
        out = json_incref((json_t *)in);
    }
    if (!out)
        coerce_error(c, in, msg.data);
    souk_buf_cleanup(&msg);
    return out;
}

static json_t *coerce_object(coerce_t *c, const json_t *in, const gql_type_t *t)
{
    char what[GQL_MAX_MESSAGE];
    size_t plen = strlen(c->path);
    if (!json_is_object(in)) {
        snprintf(what, sizeof(what), "Expected type \"%s\" to be an object.", t->name);
        coerce_error(c, in, what);
        return NULL;
    }
    json_t *out = json_object();
    for (size_t i = 0; i < t->ninputs; i++) {
        const gql_ivalue_t *f = &t->inputs[i];
        json_t *v = json_object_get(in, f->name);
        if (!v) {
            souk_buf_t b;
            souk_buf_init(&b, GQL_MAX_MESSAGE);
            souk_gql__putf(&b, "Field \"%s\" of required type \"", f->name);
            souk_gql__print_tref(&b, f->type);
            souk_gql__put(&b, "\" was not provided.");
            if (f->default_json)
                json_object_set(out, f->name, f->default_json);
            else if (f->type->kind == GQL_T_NONNULL)
                coerce_error(c, in, b.data);
            souk_buf_cleanup(&b);
            continue;
        }
        snprintf(c->path + plen, sizeof(c->path) - plen, ".%s", f->name);
        json_t *x = coerce(c, v, f->type);
        c->path[plen] = '\0';
        json_object_set_new(out, f->name, x ? x : json_null());
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        if (souk_gql__arg(t->inputs, t->ninputs, key))
            continue;
        souk_buf_t b;
        souk_buf_init(&b, GQL_MAX_MESSAGE);
        souk_gql__putf(&b, "Field \"%s\" is not defined by type \"%s\".", key, t->name);
        const char **names = souk_calloc(t->ninputs ? t->ninputs : 1, sizeof(*names));
        for (size_t i = 0; i < t->ninputs; i++)
            names[i] = t->inputs[i].name;
        souk_gql__did_you_mean(&b, key, names, t->ninputs, NULL);
        souk_free(names);
        coerce_error(c, in, b.data);
        souk_buf_cleanup(&b);
    }
    return out;
}

static json_t *coerce_list(coerce_t *c, const json_t *in, const gql_tref_t *type)
{
    json_t *out = json_array();
    if (!json_is_array(in)) {
        json_t *x = coerce(c, in, type->of);
        json_array_append_new(out, x ? x : json_null());
        return out;
    }
    size_t plen = strlen(c->path), i;
    json_t *item;
    json_array_foreach((json_t *)in, i, item)
    {
        snprintf(c->path + plen, sizeof(c->path) - plen, "[%zu]", i);
        json_t *x = coerce(c, item, type->of);
        json_array_append_new(out, x ? x : json_null());
    }
    c->path[plen] = '\0';
    return out;
}

static json_t *coerce(coerce_t *c, const json_t *in, const gql_tref_t *type)
{
    if (type->kind == GQL_T_NONNULL) {
        if (in && !json_is_null(in))
            return coerce(c, in, type->of);
        souk_buf_t b;
        souk_buf_init(&b, GQL_MAX_MESSAGE);
        souk_gql__put(&b, "Expected non-nullable type \"");
        souk_gql__print_tref(&b, type);
        souk_gql__put(&b, "\" not to be null.");
        coerce_error(c, in ? in : json_null(), b.data);
        souk_buf_cleanup(&b);
        return NULL;
    }
    if (!in || json_is_null(in))
        return json_null();
    if (type->kind == GQL_T_LIST)
        return coerce_list(c, in, type);
    if (type->named->kind == GQL_INPUT)
        return coerce_object(c, in, type->named);
    if (type->named->kind == GQL_ENUM)
        return parse_enum(c, in, type->named);
    return parse_scalar(c, in, type->named);
}

json_t *souk_gql__coerce_variable(const char *var, const json_t *in, const gql_tref_t *type,
                                  json_t *errors)
{
    coerce_t c = {.var = var, .errors = errors};
    size_t before = json_array_size(errors);
    json_t *out = coerce(&c, in, type);
    if (json_array_size(errors) > before) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- arguments (CoerceArgumentValues) -------------------------------------------------- */

static const gql_arg_t *find_arg(const gql_arg_t *args, const char *name)
{
    const gql_arg_t *found = NULL;
    for (; args; args = args->next)
        if (strcmp(args->name, name) == 0)
            found = args;
    return found;
}

static bool argument_value(const gql_ivalue_t *def, const gql_arg_t *arg, const json_t *vars,
                           json_t *out, souk_buf_t *msg)
{
    const gql_value_t *v = arg->value;
    bool nonnull = def->type->kind == GQL_T_NONNULL;
    if (v->kind == GQL_V_VAR && !(vars && json_object_get(vars, v->str))) {
        if (def->default_json)
            json_object_set(out, def->name, def->default_json);
        else if (nonnull)
            souk_gql__putf(msg,
                           "Argument \"%s\" was provided the variable \"$%s\" which was not "
                           "provided a runtime value.",
                           def->name, v->str);
        return !nonnull || def->default_json;
    }
    bool is_null = v->kind == GQL_V_NULL ||
                   (v->kind == GQL_V_VAR && json_is_null(json_object_get(vars, v->str)));
    if (is_null && nonnull) {
        souk_gql__putf(msg, "Argument \"%s\" of non-null type \"", def->name);
        souk_gql__print_tref(msg, def->type);
        souk_gql__put(msg, "\" must not be null.");
        return false;
    }
    json_t *j;
    if (souk_gql__value_from_ast(v, def->type, vars, &j) != GQL_VAL_OK) {
        souk_gql__putf(msg, "Argument \"%s\" has invalid value ", def->name);
        souk_gql__print_value(msg, v);
        souk_gql__put(msg, ".");
        return false;
    }
    json_object_set_new(out, def->name, j);
    return true;
}

bool souk_gql__argument_values(const gql_ivalue_t *defs, size_t ndefs, const gql_arg_t *args,
                               const json_t *vars, json_t **out, souk_buf_t *msg)
{
    *out = json_object();
    for (size_t i = 0; i < ndefs; i++) {
        const gql_ivalue_t *def = &defs[i];
        const gql_arg_t *arg = find_arg(args, def->name);
        if (arg) {
            if (!argument_value(def, arg, vars, *out, msg))
                goto fail;
        } else if (def->default_json) {
            json_object_set(*out, def->name, def->default_json);
        } else if (def->type->kind == GQL_T_NONNULL) {
            souk_gql__putf(msg, "Argument \"%s\" of required type \"", def->name);
            souk_gql__print_tref(msg, def->type);
            souk_gql__put(msg, "\" was not provided.");
            goto fail;
        }
    }
    return true;
fail:
    json_decref(*out);
    *out = NULL;
    return false;
}

/* ---- results (serialize) ------------------------------------------------------------- */

static bool number_of(const json_t *in, double *d)
{
    if (json_is_boolean(in)) {
        *d = json_is_true(in) ? 1 : 0;
        return true;
    }
    if (json_is_number(in)) {
        *d = json_number_value(in);
        return true;
    }
    if (json_is_string(in) && json_string_length(in) > 0) {
        char *end;
        const char *s = json_string_value(in);
        *d = strtod(s, &end);
        return *end == '\0';
    }
    return false;
}

static json_t *number_string(const json_t *in)
{
    if (json_is_integer(in))
        return json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(in));
    char buf[40];
    double d = json_real_value(in);
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return json_string(buf);
}

static bool rest_enum_equal(const char *name, const char *s)
{
    for (; *name && *s; name++, s++) {
        char c = *s == '-' ? '_' : (*s >= 'a' && *s <= 'z') ? (char)(*s - 32) : *s;
        if (c != *name)
            return false;
    }
    return *name == *s;
}

static json_t *serialize_enum(const gql_type_t *t, const json_t *in)
{
    const char *s = json_string_value(in);
    for (size_t i = 0; s && i < t->nvalues; i++)
        if (strcmp(t->values[i].name, s) == 0)
            return json_string(s);
    for (size_t i = 0; s && i < t->nvalues; i++)
        if (rest_enum_equal(t->values[i].name, s))
            return json_string(t->values[i].name);
    return NULL;
}

static json_t *serialize_scalar(const gql_type_t *t, const json_t *in, const char **what)
{
    double d;
    switch (t->scalar) {
    case GQL_SC_INT:
        *what = "Int cannot represent non-integer value: ";
        if (!number_of(in, &d) || !isfinite(d) || floor(d) != d)
            return NULL;
        *what = "Int cannot represent non 32-bit signed integer value: ";
        if (d > INT_MAX32 || d < INT_MIN32)
            return NULL;
        return json_is_integer(in) ? json_incref((json_t *)in) : json_integer((json_int_t)d);
    case GQL_SC_FLOAT:
        *what = "Float cannot represent non numeric value: ";
        if (json_is_number(in))
            return isfinite(json_number_value(in)) ? json_incref((json_t *)in) : NULL;
        return number_of(in, &d) && isfinite(d) ? json_real(d) : NULL;
    case GQL_SC_STRING:
        *what = "String cannot represent value: ";
        if (json_is_string(in))
            return json_incref((json_t *)in);
        if (json_is_boolean(in))
            return json_string(json_is_true(in) ? "true" : "false");
        return json_is_number(in) ? number_string(in) : NULL;
    case GQL_SC_BOOLEAN:
        *what = "Boolean cannot represent a non boolean value: ";
        if (json_is_boolean(in))
            return json_incref((json_t *)in);
        return json_is_number(in) ? json_boolean(json_number_value(in) != 0) : NULL;
    case GQL_SC_ID:
        *what = "ID cannot represent value: ";
        if (json_is_string(in))
            return json_incref((json_t *)in);
        return json_is_integer(in) ? number_string(in) : NULL;
    case GQL_SC_CUSTOM:
        return json_incref((json_t *)in);
    }
    return NULL;
}

bool souk_gql__serialize_leaf(const gql_type_t *t, const json_t *in, json_t **out, souk_buf_t *msg)
{
    const char *what = "";
    if (t->kind == GQL_ENUM) {
        *out = serialize_enum(t, in);
        if (!*out)
            souk_gql__putf(msg, "Enum \"%s\" cannot represent value: ", t->name);
    } else {
        *out = serialize_scalar(t, in, &what);
        if (!*out)
            souk_gql__put(msg, what);
    }
    if (!*out)
        souk_gql__inspect_json(msg, in);
    return *out != NULL;
}
