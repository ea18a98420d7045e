/* parser.c: recursive-descent parser for GraphQL documents (spec section 2
 * and the type-system grammar of section 3), one grammar for executable
 * documents and SDL as graphql-js 16 has it, with its syntax error messages.
 * Whether a document may contain type-system definitions is validation's
 * business (ExecutableDefinitions), not the parser's.
 *
 * Errors unwind with longjmp to souk_gql__parse: every node lives in the
 * caller's arena, so nothing leaks on the way. Nesting (selection sets, lists,
 * objects, list types) is bounded by GQL_MAX_NESTING so hostile input cannot
 * exhaust the stack. */
#include "gql_int.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    gql_lexer_t lx;
    souk_arena_t *a;
    gql_syntax_error_t *err;
    unsigned depth;
    jmp_buf jb;
} parser_t;

#define TOK(p) (&(p)->lx.token)

static _Noreturn void bail(parser_t *p)
{
    longjmp(p->jb, 1);
}

static _Noreturn void fail_at(parser_t *p, size_t offset, const char *what)
{
    snprintf(p->err->message, sizeof(p->err->message), "Syntax Error: %s", what);
    p->err->loc = souk_gql__loc_at(p->lx.src, p->lx.len, offset);
    bail(p);
}

static void token_desc(const gql_token_t *t, char *out, size_t cap)
{
    const char *kind = souk_gql__token_kind_desc(t->kind);
    if (t->value)
        snprintf(out, cap, "%s \"%.*s\"", kind, (int)(t->len > 200 ? 200 : t->len), t->value);
    else
        snprintf(out, cap, "%s", kind);
}

static _Noreturn void unexpected(parser_t *p, const gql_token_t *t)
{
    char desc[256], msg[300];
    if (!t)
        t = TOK(p);
    token_desc(t, desc, sizeof(desc));
    snprintf(msg, sizeof(msg), "Unexpected %s.", desc);
    fail_at(p, t->start, msg);
}

static void advance(parser_t *p)
{
    if (!souk_gql__lexer_advance(&p->lx))
        bail(p);
}

static bool peek(parser_t *p, gql_tokkind_t kind)
{
    return TOK(p)->kind == kind;
}

static gql_token_t expect(parser_t *p, gql_tokkind_t kind)
{
    gql_token_t t = *TOK(p);
    if (t.kind != kind) {
        char desc[256], msg[320];
        token_desc(&t, desc, sizeof(desc));
        snprintf(msg, sizeof(msg), "Expected %s, found %s.", souk_gql__token_kind_desc(kind), desc);
        fail_at(p, t.start, msg);
    }
    advance(p);
    return t;
}

static bool expect_optional(parser_t *p, gql_tokkind_t kind)
{
    if (!peek(p, kind))
        return false;
    advance(p);
    return true;
}

static bool is_keyword(parser_t *p, const char *kw)
{
    return peek(p, GQL_TOK_NAME) && strcmp(TOK(p)->value, kw) == 0;
}

static void expect_keyword(parser_t *p, const char *kw)
{
    if (!is_keyword(p, kw)) {
        char desc[256], msg[320];
        token_desc(TOK(p), desc, sizeof(desc));
        snprintf(msg, sizeof(msg), "Expected \"%s\", found %s.", kw, desc);
        fail_at(p, TOK(p)->start, msg);
    }
    advance(p);
}

static bool expect_optional_keyword(parser_t *p, const char *kw)
{
    if (!is_keyword(p, kw))
        return false;
    advance(p);
    return true;
}

static void enter(parser_t *p)
{
    if (++p->depth > GQL_MAX_NESTING) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Document nesting exceeds %d levels.", GQL_MAX_NESTING);
        fail_at(p, TOK(p)->start, msg);
    }
}

static void leave(parser_t *p)
{
    p->depth--;
}

static void *node(parser_t *p, size_t size)
{
    void *n = souk_arena_alloc(p->a, size);
    memset(n, 0, size);
    return n;
}

static const char *parse_name(parser_t *p, gql_loc_t *loc)
{
    gql_token_t t = expect(p, GQL_TOK_NAME);
    if (loc)
        *loc = t.loc;
    return t.value;
}

/* ---- values ----------------------------------------------------------------- */

static gql_value_t *parse_value(parser_t *p, bool is_const);

static gql_value_t *parse_list(parser_t *p, bool is_const, gql_value_t *v)
{
    gql_value_t **tail = &v->items;
    enter(p);
    expect(p, GQL_TOK_BRACKET_L);
    while (!expect_optional(p, GQL_TOK_BRACKET_R)) {
        *tail = parse_value(p, is_const);
        tail = &(*tail)->next;
        v->count++;
    }
    leave(p);
    return v;
}

static gql_value_t *parse_object(parser_t *p, bool is_const, gql_value_t *v)
{
    gql_value_t **tail = &v->items;
    enter(p);
    expect(p, GQL_TOK_BRACE_L);
    while (!expect_optional(p, GQL_TOK_BRACE_R)) {
        const char *name = parse_name(p, NULL);
        expect(p, GQL_TOK_COLON);
        *tail = parse_value(p, is_const);
        (*tail)->name = name;
        tail = &(*tail)->next;
        v->count++;
    }
    leave(p);
    return v;
}

static void parse_variable_in_const(parser_t *p)
{
    gql_token_t dollar = expect(p, GQL_TOK_DOLLAR);
    if (peek(p, GQL_TOK_NAME)) {
        char msg[300];
        snprintf(msg, sizeof(msg), "Unexpected variable \"$%.200s\" in constant value.",
                 TOK(p)->value);
        fail_at(p, dollar.start, msg);
    }
    unexpected(p, &dollar);
}

static gql_value_t *parse_value(parser_t *p, bool is_const)
{
    gql_token_t t = *TOK(p);
    gql_value_t *v = node(p, sizeof(*v));
    v->loc = t.loc;
    switch (t.kind) {
    case GQL_TOK_BRACKET_L:
        v->kind = GQL_V_LIST;
        return parse_list(p, is_const, v);
    case GQL_TOK_BRACE_L:
        v->kind = GQL_V_OBJECT;
        return parse_object(p, is_const, v);
    case GQL_TOK_INT:
    case GQL_TOK_FLOAT:
        v->kind = t.kind == GQL_TOK_INT ? GQL_V_INT : GQL_V_FLOAT;
        break;
    case GQL_TOK_STRING:
    case GQL_TOK_BLOCK_STRING:
        v->kind = GQL_V_STRING;
        v->block = t.kind == GQL_TOK_BLOCK_STRING;
        break;
    case GQL_TOK_NAME:
        v->kind = strcmp(t.value, "true") == 0 || strcmp(t.value, "false") == 0 ? GQL_V_BOOL
                  : strcmp(t.value, "null") == 0                                ? GQL_V_NULL
                                                                                : GQL_V_ENUM;
        v->boolean = strcmp(t.value, "true") == 0;
        break;
    case GQL_TOK_DOLLAR:
        if (is_const)
            parse_variable_in_const(p);
        advance(p);
        v->kind = GQL_V_VAR;
        v->str = parse_name(p, NULL);
        v->len = strlen(v->str);
        return v;
    default:
        unexpected(p, NULL);
    }
    v->str = t.value;
    v->len = t.len;
    advance(p);
    return v;
}

/* ---- directives, arguments, types ---------------------------------------------- */

static gql_arg_t *parse_arguments(parser_t *p, bool is_const)
{
    gql_arg_t *first = NULL, **tail = &first;
    if (!expect_optional(p, GQL_TOK_PAREN_L))
        return NULL;
    do {
        gql_arg_t *a = node(p, sizeof(*a));
        a->name = parse_name(p, &a->loc);
        expect(p, GQL_TOK_COLON);
        a->value = parse_value(p, is_const);
        *tail = a;
        tail = &a->next;
    } while (!expect_optional(p, GQL_TOK_PAREN_R));
    return first;
}

static gql_directive_t *parse_directives(parser_t *p, bool is_const)
{
    gql_directive_t *first = NULL, **tail = &first;
    while (peek(p, GQL_TOK_AT)) {
        gql_directive_t *d = node(p, sizeof(*d));
        d->loc = TOK(p)->loc;
        advance(p);
        d->name = parse_name(p, NULL);
        d->args = parse_arguments(p, is_const);
        *tail = d;
        tail = &d->next;
    }
    return first;
}

static gql_typeref_t *parse_type(parser_t *p)
{
    gql_typeref_t *t = node(p, sizeof(*t));
    t->loc = TOK(p)->loc;
    if (expect_optional(p, GQL_TOK_BRACKET_L)) {
        enter(p);
        t->kind = GQL_T_LIST;
        t->of = parse_type(p);
        expect(p, GQL_TOK_BRACKET_R);
        leave(p);
    } else {
        t->kind = GQL_T_NAMED;
        t->name = parse_name(p, NULL);
    }
    if (expect_optional(p, GQL_TOK_BANG)) {
        gql_typeref_t *nn = node(p, sizeof(*nn));
        nn->kind = GQL_T_NONNULL;
        nn->loc = t->loc;
        nn->of = t;
        return nn;
    }
    return t;
}

/* ---- operations and fragments --------------------------------------------------- */

static gql_selset_t *parse_selset(parser_t *p);

static gql_selection_t *parse_field(parser_t *p)
{
    gql_selection_t *s = node(p, sizeof(*s));
    s->kind = GQL_SEL_FIELD;
    s->loc = TOK(p)->loc;
    const char *name = parse_name(p, &s->name_loc);
    if (expect_optional(p, GQL_TOK_COLON)) {
        s->alias = name;
        name = parse_name(p, &s->name_loc);
    }
    s->name = name;
    s->args = parse_arguments(p, false);
    s->directives = parse_directives(p, false);
    if (peek(p, GQL_TOK_BRACE_L))
        s->selset = parse_selset(p);
    return s;
}

static gql_selection_t *parse_fragment(parser_t *p)
{
    gql_selection_t *s = node(p, sizeof(*s));
    s->loc = TOK(p)->loc;
    expect(p, GQL_TOK_SPREAD);
    bool has_cond = expect_optional_keyword(p, "on");
    if (!has_cond && peek(p, GQL_TOK_NAME)) {
        s->kind = GQL_SEL_SPREAD;
        if (is_keyword(p, "on"))
            unexpected(p, NULL);
        s->name = parse_name(p, &s->name_loc);
        s->directives = parse_directives(p, false);
        return s;
    }
    s->kind = GQL_SEL_INLINE;
    if (has_cond)
        s->type_cond = parse_name(p, &s->type_loc);
    s->directives = parse_directives(p, false);
    s->selset = parse_selset(p);
    return s;
}

static gql_selset_t *parse_selset(parser_t *p)
{
    gql_selset_t *set = node(p, sizeof(*set));
    gql_selection_t **tail = &set->first;
    set->loc = TOK(p)->loc;
    enter(p);
    expect(p, GQL_TOK_BRACE_L);
    do {
        *tail = peek(p, GQL_TOK_SPREAD) ? parse_fragment(p) : parse_field(p);
        tail = &(*tail)->next;
        set->count++;
    } while (!expect_optional(p, GQL_TOK_BRACE_R));
    leave(p);
    return set;
}

static souk_gql_op_t parse_op_type(parser_t *p)
{
    gql_token_t t = expect(p, GQL_TOK_NAME);
    if (strcmp(t.value, "query") == 0)
        return SOUK_GQL_QUERY;
    if (strcmp(t.value, "mutation") == 0)
        return SOUK_GQL_MUTATION;
    if (strcmp(t.value, "subscription") == 0)
        return SOUK_GQL_SUBSCRIPTION;
    unexpected(p, &t);
}

static gql_vardef_t *parse_vardefs(parser_t *p)
{
    gql_vardef_t *first = NULL, **tail = &first;
    if (!expect_optional(p, GQL_TOK_PAREN_L))
        return NULL;
    do {
        gql_vardef_t *v = node(p, sizeof(*v));
        v->loc = TOK(p)->loc;
        expect(p, GQL_TOK_DOLLAR);
        v->name = parse_name(p, NULL);
        expect(p, GQL_TOK_COLON);
        v->type = parse_type(p);
        if (expect_optional(p, GQL_TOK_EQUALS))
            v->defval = parse_value(p, true);
        v->directives = parse_directives(p, true);
        *tail = v;
        tail = &v->next;
    } while (!expect_optional(p, GQL_TOK_PAREN_R));
    return first;
}

static void parse_operation(parser_t *p, gql_def_t *d)
{
    d->kind = GQL_D_OPERATION;
    if (peek(p, GQL_TOK_BRACE_L)) {
        d->op = SOUK_GQL_QUERY;
        d->selset = parse_selset(p);
        return;
    }
    d->op = parse_op_type(p);
    if (peek(p, GQL_TOK_NAME))
        d->name = parse_name(p, &d->name_loc);
    d->vars = parse_vardefs(p);
    d->directives = parse_directives(p, false);
    d->selset = parse_selset(p);
}

static void parse_fragment_def(parser_t *p, gql_def_t *d)
{
    d->kind = GQL_D_FRAGMENT;
    expect_keyword(p, "fragment");
    if (is_keyword(p, "on"))
        unexpected(p, NULL);
    d->name = parse_name(p, &d->name_loc);
    expect_keyword(p, "on");
    d->type_cond = parse_name(p, &d->type_loc);
    d->directives = parse_directives(p, false);
    d->selset = parse_selset(p);
}

/* ---- type system ------------------------------------------------------------------ */

static const char *parse_description(parser_t *p)
{
    if (!peek(p, GQL_TOK_STRING) && !peek(p, GQL_TOK_BLOCK_STRING))
        return NULL;
    const char *v = TOK(p)->value;
    advance(p);
    return v;
}

static gql_inputdef_t *parse_input_value(parser_t *p)
{
    gql_inputdef_t *i = node(p, sizeof(*i));
    i->loc = TOK(p)->loc;
    i->desc = parse_description(p);
    i->name = parse_name(p, &i->loc);
    expect(p, GQL_TOK_COLON);
    i->type = parse_type(p);
    if (expect_optional(p, GQL_TOK_EQUALS))
        i->defval = parse_value(p, true);
    i->directives = parse_directives(p, true);
    return i;
}

static gql_inputdef_t *parse_input_values(parser_t *p, gql_tokkind_t open, gql_tokkind_t close)
{
    gql_inputdef_t *first = NULL, **tail = &first;
    if (!expect_optional(p, open))
        return NULL;
    do {
        *tail = parse_input_value(p);
        tail = &(*tail)->next;
    } while (!expect_optional(p, close));
    return first;
}

static gql_fielddef_t *parse_fields(parser_t *p)
{
    gql_fielddef_t *first = NULL, **tail = &first;
    if (!expect_optional(p, GQL_TOK_BRACE_L))
        return NULL;
    do {
        gql_fielddef_t *f = node(p, sizeof(*f));
        f->loc = TOK(p)->loc;
        f->desc = parse_description(p);
        f->name = parse_name(p, &f->loc);
        f->args = parse_input_values(p, GQL_TOK_PAREN_L, GQL_TOK_PAREN_R);
        expect(p, GQL_TOK_COLON);
        f->type = parse_type(p);
        f->directives = parse_directives(p, true);
        *tail = f;
        tail = &f->next;
    } while (!expect_optional(p, GQL_TOK_BRACE_R));
    return first;
}

static gql_namelist_t *parse_name_list(parser_t *p, gql_tokkind_t delimiter)
{
    gql_namelist_t *first = NULL, **tail = &first;
    expect_optional(p, delimiter);
    do {
        gql_namelist_t *n = node(p, sizeof(*n));
        n->name = parse_name(p, &n->loc);
        *tail = n;
        tail = &n->next;
    } while (expect_optional(p, delimiter));
    return first;
}

static gql_namelist_t *parse_implements(parser_t *p)
{
    return expect_optional_keyword(p, "implements") ? parse_name_list(p, GQL_TOK_AMP) : NULL;
}

static gql_enumdef_t *parse_enum_values(parser_t *p)
{
    gql_enumdef_t *first = NULL, **tail = &first;
    if (!expect_optional(p, GQL_TOK_BRACE_L))
        return NULL;
    do {
        gql_enumdef_t *e = node(p, sizeof(*e));
        e->loc = TOK(p)->loc;
        e->desc = parse_description(p);
        if (is_keyword(p, "true") || is_keyword(p, "false") || is_keyword(p, "null")) {
            char msg[300];
            snprintf(msg, sizeof(msg),
                     "Name \"%s\" is reserved and cannot be used for an enum value.",
                     TOK(p)->value);
            fail_at(p, TOK(p)->start, msg);
        }
        e->name = parse_name(p, &e->loc);
        e->directives = parse_directives(p, true);
        *tail = e;
        tail = &e->next;
    } while (!expect_optional(p, GQL_TOK_BRACE_R));
    return first;
}

static gql_namelist_t *parse_schema_ops(parser_t *p, bool required)
{
    gql_namelist_t *first = NULL, **tail = &first;
    if (required)
        expect(p, GQL_TOK_BRACE_L);
    else if (!expect_optional(p, GQL_TOK_BRACE_L))
        return NULL;
    do {
        gql_namelist_t *n = node(p, sizeof(*n));
        n->op = (int)parse_op_type(p);
        expect(p, GQL_TOK_COLON);
        n->name = parse_name(p, &n->loc);
        *tail = n;
        tail = &n->next;
    } while (!expect_optional(p, GQL_TOK_BRACE_R));
    return first;
}

static gql_namelist_t *parse_directive_locations(parser_t *p)
{
    gql_namelist_t *first = NULL, **tail = &first;
    expect_optional(p, GQL_TOK_PIPE);
    do {
        gql_token_t t = *TOK(p);
        gql_namelist_t *n = node(p, sizeof(*n));
        n->name = parse_name(p, &n->loc);
        if (souk_gql__dirloc_parse(n->name) < 0)
            unexpected(p, &t);
        *tail = n;
        tail = &n->next;
    } while (expect_optional(p, GQL_TOK_PIPE));
    return first;
}

static void parse_directive_def(parser_t *p, gql_def_t *d)
{
    d->kind = GQL_D_DIRECTIVE;
    expect_keyword(p, "directive");
    expect(p, GQL_TOK_AT);
    d->name = parse_name(p, &d->name_loc);
    d->inputs = parse_input_values(p, GQL_TOK_PAREN_L, GQL_TOK_PAREN_R);
    d->repeatable = expect_optional_keyword(p, "repeatable");
    expect_keyword(p, "on");
    d->names = parse_directive_locations(p);
}

/* The body of a type definition or extension after its keyword. */
static void parse_type_body(parser_t *p, gql_def_t *d)
{
    if (d->kind == GQL_D_SCHEMA) {
        d->directives = parse_directives(p, true);
        d->names = parse_schema_ops(p, !d->extension);
        return;
    }
    d->name = parse_name(p, &d->name_loc);
    if (d->kind == GQL_D_OBJECT || d->kind == GQL_D_INTERFACE)
        d->names = parse_implements(p);
    d->directives = parse_directives(p, true);
    if (d->kind == GQL_D_OBJECT || d->kind == GQL_D_INTERFACE)
        d->fields = parse_fields(p);
    else if (d->kind == GQL_D_UNION && expect_optional(p, GQL_TOK_EQUALS))
        d->names = parse_name_list(p, GQL_TOK_PIPE);
    else if (d->kind == GQL_D_ENUM)
        d->values = parse_enum_values(p);
    else if (d->kind == GQL_D_INPUT)
        d->inputs = parse_input_values(p, GQL_TOK_BRACE_L, GQL_TOK_BRACE_R);
}

static const struct {
    const char *kw;
    gql_dkind_t kind;
} type_keywords[] = {
    {"schema", GQL_D_SCHEMA},       {"scalar", GQL_D_SCALAR}, {"type", GQL_D_OBJECT},
    {"interface", GQL_D_INTERFACE}, {"union", GQL_D_UNION},   {"enum", GQL_D_ENUM},
    {"input", GQL_D_INPUT},
};

static int type_keyword(const gql_token_t *t)
{
    if (t->kind != GQL_TOK_NAME)
        return -1;
    for (size_t i = 0; i < SOUK_ARRAY_LEN(type_keywords); i++)
        if (strcmp(t->value, type_keywords[i].kw) == 0)
            return (int)i;
    return -1;
}

static void parse_extension(parser_t *p, gql_def_t *d)
{
    gql_token_t kw;
    if (!souk_gql__lexer_lookahead(&p->lx, &kw))
        bail(p);
    int k = type_keyword(&kw);
    if (k < 0)
        unexpected(p, &kw);
    expect_keyword(p, "extend");
    advance(p);
    d->kind = type_keywords[k].kind;
    d->extension = true;
    parse_type_body(p, d);
    bool empty = !d->directives && !d->names && !d->fields && !d->values && !d->inputs;
    if (empty)
        unexpected(p, NULL);
}

static void parse_type_system(parser_t *p, gql_def_t *d, int k)
{
    d->desc = parse_description(p);
    advance(p); /* the keyword */
    d->kind = type_keywords[k].kind;
    parse_type_body(p, d);
}

static gql_def_t *parse_definition(parser_t *p)
{
    gql_def_t *d = node(p, sizeof(*d));
    d->loc = TOK(p)->loc;
    if (peek(p, GQL_TOK_BRACE_L)) {
        parse_operation(p, d);
        return d;
    }
    bool has_desc = peek(p, GQL_TOK_STRING) || peek(p, GQL_TOK_BLOCK_STRING);
    gql_token_t kw = *TOK(p);
    if (has_desc && !souk_gql__lexer_lookahead(&p->lx, &kw))
        bail(p);
    if (kw.kind == GQL_TOK_NAME) {
        int k = type_keyword(&kw);
        if (k >= 0) {
            parse_type_system(p, d, k);
            return d;
        }
        if (strcmp(kw.value, "directive") == 0) {
            d->desc = parse_description(p);
            parse_directive_def(p, d);
            return d;
        }
        if (has_desc)
            fail_at(p, TOK(p)->start,
                    "Unexpected description, descriptions are supported only on type definitions.");
        if (!strcmp(kw.value, "query") || !strcmp(kw.value, "mutation") ||
            !strcmp(kw.value, "subscription")) {
            parse_operation(p, d);
            return d;
        }
        if (strcmp(kw.value, "fragment") == 0) {
            parse_fragment_def(p, d);
            return d;
        }
        if (strcmp(kw.value, "extend") == 0) {
            parse_extension(p, d);
            return d;
        }
    }
    unexpected(p, &kw);
}

static void parse_document(parser_t *p, gql_document_t *doc)
{
    gql_def_t **tail = &doc->defs;
    advance(p); /* <SOF> */
    do {
        *tail = parse_definition(p);
        tail = &(*tail)->next;
        doc->ndefs++;
    } while (!expect_optional(p, GQL_TOK_EOF));
}

souk_err_t souk_gql__parse(souk_arena_t *a, const char *text, size_t len, gql_document_t *out,
                           gql_syntax_error_t *err)
{
    /* volatile: read after a longjmp back here */
    parser_t *volatile p = souk_calloc(1, sizeof(parser_t));
    souk_err_t rc = SOUK_OK;
    memset(out, 0, sizeof(*out));
    p->a = a;
    p->err = err;
    souk_gql__lexer_init(&p->lx, a, text, len, err);
    if (setjmp(p->jb) == 0) {
        parse_document(p, out);
    } else {
        memset(out, 0, sizeof(*out));
        rc = SOUK_EINVAL;
    }
    souk_free(p);
    return rc;
}
