/* gql_int.h: what the files of libs/graphql share and nobody else sees: the
 * syntax tree (one shape for executable documents and for the type-system
 * SDL), the schema model built from it, and the internal entry points of the
 * lexer, parser, printer, value coercion, validation and execution.
 *
 * Memory: every node, name and string lives in an arena (the document's or the
 * schema's); nothing here is freed on its own. Names are NUL-terminated copies;
 * string values carry their length because `\u0000` is a legal escape. */
#ifndef SOUK_GQL_INT_H
#define SOUK_GQL_INT_H

#include <souk/graphql.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Nesting of braces and brackets the parser accepts (selection sets, lists,
 * objects, list types). Far above what a valid souk query can use (depth 10)
 * and what introspection needs (~12); it bounds the C stack on hostile input. */
#define GQL_MAX_NESTING 64
/* Messages are cut at this many bytes (names in them are bounded by input). */
#define GQL_MAX_MESSAGE 2048

/* ---- source locations ------------------------------------------------------ */

typedef struct {
    uint32_t line, col; /* 1-based; col counts code points */
} gql_loc_t;

/* ---- syntax tree ----------------------------------------------------------- */

typedef enum {
    GQL_V_VAR,
    GQL_V_INT,
    GQL_V_FLOAT,
    GQL_V_STRING,
    GQL_V_BOOL,
    GQL_V_NULL,
    GQL_V_ENUM,
    GQL_V_LIST,
    GQL_V_OBJECT
} gql_vkind_t;

typedef struct gql_value gql_value_t;
struct gql_value {
    gql_vkind_t kind;
    gql_loc_t loc;
    const char *str; /* int/float text, decoded string, enum or variable name */
    size_t len;      /* bytes in str */
    bool boolean;
    bool block;         /* a """block string""" */
    gql_value_t *items; /* list items, or object fields (each with a name) */
    size_t count;
    const char *name; /* object field: its name */
    gql_value_t *next;
};

typedef enum { GQL_T_NAMED, GQL_T_LIST, GQL_T_NONNULL } gql_tkind_t;

/* A type as written: Int, [Int!]!, ... */
typedef struct gql_typeref {
    gql_tkind_t kind;
    const char *name; /* GQL_T_NAMED */
    struct gql_typeref *of;
    gql_loc_t loc;
} gql_typeref_t;

typedef struct gql_arg {
    const char *name;
    gql_loc_t loc;
    gql_value_t *value;
    struct gql_arg *next;
} gql_arg_t;

typedef struct gql_directive {
    const char *name;
    gql_loc_t loc;
    gql_arg_t *args;
    struct gql_directive *next;
} gql_directive_t;

typedef enum { GQL_SEL_FIELD, GQL_SEL_SPREAD, GQL_SEL_INLINE } gql_selkind_t;

typedef struct gql_selection gql_selection_t;
typedef struct gql_selset {
    gql_selection_t *first;
    size_t count;
    gql_loc_t loc;
    void *overlap_cache; /* owned by overlap.c during validation */
} gql_selset_t;

struct gql_selection {
    gql_selkind_t kind;
    gql_loc_t loc;
    const char *alias; /* field: NULL when none */
    const char *name;  /* field name or fragment name */
    gql_loc_t name_loc;
    gql_arg_t *args;
    gql_directive_t *directives;
    const char *type_cond; /* inline fragment: NULL when none */
    gql_loc_t type_loc;
    gql_selset_t *selset; /* NULL for a leaf field and for a spread */
    gql_selection_t *next;
};

static inline const char *gql_response_key(const gql_selection_t *s)
{
    return s->alias ? s->alias : s->name;
}

typedef struct gql_vardef {
    const char *name;
    gql_loc_t loc;
    gql_typeref_t *type;
    gql_value_t *defval; /* NULL when none */
    gql_directive_t *directives;
    struct gql_vardef *next;
} gql_vardef_t;

/* Argument definitions and input fields of the SDL. */
typedef struct gql_inputdef {
    const char *desc, *name;
    gql_loc_t loc;
    gql_typeref_t *type;
    gql_value_t *defval;
    gql_directive_t *directives;
    struct gql_inputdef *next;
} gql_inputdef_t;

typedef struct gql_fielddef {
    const char *desc, *name;
    gql_loc_t loc;
    gql_inputdef_t *args;
    gql_typeref_t *type;
    gql_directive_t *directives;
    struct gql_fielddef *next;
} gql_fielddef_t;

typedef struct gql_enumdef {
    const char *desc, *name;
    gql_loc_t loc;
    gql_directive_t *directives;
    struct gql_enumdef *next;
} gql_enumdef_t;

typedef struct gql_namelist {
    const char *name;
    gql_loc_t loc;
    int op; /* schema operation types: the operation of this entry */
    struct gql_namelist *next;
} gql_namelist_t;

typedef enum {
    GQL_D_OPERATION,
    GQL_D_FRAGMENT,
    GQL_D_SCHEMA,
    GQL_D_SCALAR,
    GQL_D_OBJECT,
    GQL_D_INTERFACE,
    GQL_D_UNION,
    GQL_D_ENUM,
    GQL_D_INPUT,
    GQL_D_DIRECTIVE
} gql_dkind_t;

typedef struct gql_def {
    gql_dkind_t kind;
    bool extension; /* extend type ... */
    gql_loc_t loc;
    const char *desc;
    const char *name; /* NULL for anonymous operations and schema */
    gql_loc_t name_loc;
    souk_gql_op_t op;   /* operation */
    gql_vardef_t *vars; /* operation */
    gql_directive_t *directives;
    gql_selset_t *selset;  /* operation, fragment */
    const char *type_cond; /* fragment */
    gql_loc_t type_loc;
    gql_namelist_t *names;  /* implements / union members / directive locations / schema ops */
    gql_fielddef_t *fields; /* object, interface */
    gql_inputdef_t *inputs; /* input object fields, directive arguments */
    gql_enumdef_t *values;  /* enum */
    bool repeatable;        /* directive */
    struct gql_def *next;
} gql_def_t;

typedef struct {
    gql_def_t *defs;
    size_t ndefs;
} gql_document_t;

typedef struct {
    char message[GQL_MAX_MESSAGE]; /* "Syntax Error: ..." */
    gql_loc_t loc;
} gql_syntax_error_t;

/* Parses [text, text+len) into *out, allocating from a. On a syntax error
 * returns SOUK_EINVAL and fills *err. */
souk_err_t souk_gql__parse(souk_arena_t *a, const char *text, size_t len, gql_document_t *out,
                           gql_syntax_error_t *err) SOUK_MUST_CHECK;

/* ---- lexer (lexer.c, used by parser.c) -------------------------------------- */

typedef enum {
    GQL_TOK_SOF,
    GQL_TOK_EOF,
    GQL_TOK_BANG,
    GQL_TOK_DOLLAR,
    GQL_TOK_AMP,
    GQL_TOK_PAREN_L,
    GQL_TOK_PAREN_R,
    GQL_TOK_SPREAD,
    GQL_TOK_COLON,
    GQL_TOK_EQUALS,
    GQL_TOK_AT,
    GQL_TOK_BRACKET_L,
    GQL_TOK_BRACKET_R,
    GQL_TOK_BRACE_L,
    GQL_TOK_PIPE,
    GQL_TOK_BRACE_R,
    GQL_TOK_NAME,
    GQL_TOK_INT,
    GQL_TOK_FLOAT,
    GQL_TOK_STRING,
    GQL_TOK_BLOCK_STRING
} gql_tokkind_t;

typedef struct {
    gql_tokkind_t kind;
    size_t start, end; /* byte offsets */
    gql_loc_t loc;
    const char *value; /* name, number text or decoded string (arena) */
    size_t len;
} gql_token_t;

typedef struct {
    const char *src;
    size_t len;
    size_t pos;        /* next byte to lex */
    uint32_t line;     /* line of pos */
    size_t line_start; /* byte offset where that line starts */
    size_t col_pos;    /* a position on the current line ... */
    uint32_t col;      /* ... and its column (so columns cost O(n) in all) */
    souk_arena_t *arena;
    gql_token_t token; /* current token */
    /* error: set when lexing failed */
    bool failed;
    gql_syntax_error_t *err;
} gql_lexer_t;

void souk_gql__lexer_init(gql_lexer_t *lx, souk_arena_t *a, const char *src, size_t len,
                          gql_syntax_error_t *err);
/* Lexes the next token into lx->token; false on a lexical error (err set). */
bool souk_gql__lexer_advance(gql_lexer_t *lx);
/* The token after the current one, without consuming it. */
bool souk_gql__lexer_lookahead(gql_lexer_t *lx, gql_token_t *out);
/* "Name", "\"{\"", "<EOF>", ... as graphql-js names token kinds. */
const char *souk_gql__token_kind_desc(gql_tokkind_t kind);
/* Line/column of a byte offset (columns count code points). */
gql_loc_t souk_gql__loc_at(const char *src, size_t len, size_t offset);

/* ---- schema model ---------------------------------------------------------- */

typedef enum { GQL_SCALAR, GQL_OBJECT, GQL_INTERFACE, GQL_UNION, GQL_ENUM, GQL_INPUT } gql_kind_t;

typedef enum {
    GQL_SC_CUSTOM,
    GQL_SC_INT,
    GQL_SC_FLOAT,
    GQL_SC_STRING,
    GQL_SC_BOOLEAN,
    GQL_SC_ID
} gql_scalar_t;

typedef struct gql_type gql_type_t;

/* A resolved type: a named type or a List/NonNull wrapper. */
typedef struct gql_tref {
    gql_tkind_t kind;
    gql_type_t *named; /* GQL_T_NAMED */
    struct gql_tref *of;
} gql_tref_t;

/* An argument or an input field. */
typedef struct {
    const char *name, *desc;
    gql_tref_t *type;
    const gql_value_t *defval; /* as written; NULL when none */
    json_t *default_json;      /* coerced default (schema-owned); NULL when none */
    bool deprecated;
    const char *reason;
} gql_ivalue_t;

typedef struct {
    const char *name, *desc;
    gql_tref_t *type;
    gql_ivalue_t *args;
    size_t nargs;
    bool deprecated;
    const char *reason;
    size_t index; /* within its type; resolvers are indexed by it */
} gql_field_t;

typedef struct {
    const char *name, *desc;
    bool deprecated;
    const char *reason;
} gql_enumval_t;

struct gql_type {
    gql_kind_t kind;
    const char *name, *desc;
    const char *specified_by; /* scalars */
    gql_scalar_t scalar;
    bool introspection; /* __Schema, __Type, ... */
    bool referenced;    /* built-in scalars are listed only when used */
    gql_field_t *fields;
    size_t nfields;
    gql_type_t **ifaces; /* object, interface: what it implements */
    size_t nifaces;
    gql_type_t **possible; /* union members; objects implementing an interface */
    size_t npossible;
    gql_type_t **sub_ifaces; /* interface: interfaces implementing it */
    size_t nsub_ifaces;
    gql_enumval_t *values;
    size_t nvalues;
    gql_ivalue_t *inputs; /* input object fields */
    size_t ninputs;
    size_t index; /* in the schema's type list */
};

/* Directive locations, one bit each (graphql-js's DirectiveLocation order). */
typedef enum {
    GQL_LOC_QUERY,
    GQL_LOC_MUTATION,
    GQL_LOC_SUBSCRIPTION,
    GQL_LOC_FIELD,
    GQL_LOC_FRAGMENT_DEFINITION,
    GQL_LOC_FRAGMENT_SPREAD,
    GQL_LOC_INLINE_FRAGMENT,
    GQL_LOC_VARIABLE_DEFINITION,
    GQL_LOC_SCHEMA,
    GQL_LOC_SCALAR,
    GQL_LOC_OBJECT,
    GQL_LOC_FIELD_DEFINITION,
    GQL_LOC_ARGUMENT_DEFINITION,
    GQL_LOC_INTERFACE,
    GQL_LOC_UNION,
    GQL_LOC_ENUM,
    GQL_LOC_ENUM_VALUE,
    GQL_LOC_INPUT_OBJECT,
    GQL_LOC_INPUT_FIELD_DEFINITION,
    GQL_LOC__COUNT
} gql_dirloc_t;

const char *souk_gql__dirloc_name(gql_dirloc_t loc);
/* -1 when name is not a directive location. */
int souk_gql__dirloc_parse(const char *name);

typedef struct {
    const char *name, *desc;
    gql_ivalue_t *args;
    size_t nargs;
    uint32_t locations;            /* bit per gql_dirloc_t */
    uint8_t order[GQL_LOC__COUNT]; /* the locations as declared (introspection) */
    size_t nlocations;
    bool repeatable;
} gql_dirdef_t;

/* String -> pointer map in an arena (open addressing). */
typedef struct {
    souk_arena_t *arena;
    const char **keys;
    void **vals;
    size_t cap, count;
} gql_map_t;

void souk_gql__map_init(gql_map_t *m, souk_arena_t *a);
void *souk_gql__map_get(const gql_map_t *m, const char *key);
/* Sets key (replacing an earlier value); key must outlive the map. */
void souk_gql__map_put(gql_map_t *m, const char *key, void *val);

struct souk_gql_schema {
    souk_arena_t *arena;
    const char *description;
    gql_type_t **types; /* listed order: SDL types, used built-ins, introspection */
    size_t ntypes;
    gql_map_t by_name;
    gql_dirdef_t *directives;
    size_t ndirectives;
    gql_type_t *query, *mutation, *subscription;
    gql_field_t typename_field, schema_field, type_field; /* meta fields */
    gql_type_t *t_string, *t_boolean;
};

gql_type_t *souk_gql__type(const souk_gql_schema_t *s, const char *name);
const gql_field_t *souk_gql__field(const gql_type_t *t, const char *name);
const gql_dirdef_t *souk_gql__directive(const souk_gql_schema_t *s, const char *name);
const gql_ivalue_t *souk_gql__arg(const gql_ivalue_t *args, size_t nargs, const char *name);
/* The field definition a selection of `name` on parent means, including the
 * meta fields __typename (any composite) and __schema/__type (query root). */
const gql_field_t *souk_gql__field_def(const souk_gql_schema_t *s, const gql_type_t *parent,
                                       const char *name);
/* typeFromAST: NULL when a named type is unknown. Allocates from a. */
gql_tref_t *souk_gql__tref_from_ast(const souk_gql_schema_t *s, souk_arena_t *a,
                                    const gql_typeref_t *t);

static inline const gql_type_t *gql_named(const gql_tref_t *t)
{
    while (t && t->kind != GQL_T_NAMED)
        t = t->of;
    return t ? t->named : NULL;
}
static inline const gql_tref_t *gql_nullable(const gql_tref_t *t)
{
    return t && t->kind == GQL_T_NONNULL ? t->of : t;
}
static inline bool gql_is_leaf(const gql_type_t *t)
{
    return t && (t->kind == GQL_SCALAR || t->kind == GQL_ENUM);
}
static inline bool gql_is_composite(const gql_type_t *t)
{
    return t && (t->kind == GQL_OBJECT || t->kind == GQL_INTERFACE || t->kind == GQL_UNION);
}
static inline bool gql_is_abstract(const gql_type_t *t)
{
    return t && (t->kind == GQL_INTERFACE || t->kind == GQL_UNION);
}
static inline bool gql_is_input(const gql_tref_t *t)
{
    const gql_type_t *n = gql_named(t);
    return n && (n->kind == GQL_SCALAR || n->kind == GQL_ENUM || n->kind == GQL_INPUT);
}
static inline bool gql_is_output(const gql_tref_t *t)
{
    const gql_type_t *n = gql_named(t);
    return n && n->kind != GQL_INPUT;
}

/* schema.isSubType(abstract, maybe): maybe is a member/implementation. */
bool souk_gql__is_possible(const gql_type_t *abstract, const gql_type_t *maybe);
/* isTypeSubTypeOf, doTypesOverlap, isEqualType. */
bool souk_gql__is_subtype(const gql_tref_t *sub, const gql_tref_t *super);
bool souk_gql__types_overlap(const gql_type_t *a, const gql_type_t *b);
bool souk_gql__types_equal(const gql_tref_t *a, const gql_tref_t *b);

/* ---- printing (print.c) ------------------------------------------------------ */

/* Appends, silently stopping at the buffer's maximum (messages are cut). */
void souk_gql__put(souk_buf_t *b, const char *s);
void souk_gql__putn(souk_buf_t *b, const char *s, size_t n);
void souk_gql__putf(souk_buf_t *b, const char *fmt, ...) SOUK_PRINTF(2, 3);
void souk_gql__print_tref(souk_buf_t *b, const gql_tref_t *t);
void souk_gql__print_typeref(souk_buf_t *b, const gql_typeref_t *t);
/* graphql-js print() of a value literal. */
void souk_gql__print_value(souk_buf_t *b, const gql_value_t *v);
/* A canonical form for comparing argument values (object fields sorted). */
void souk_gql__print_value_sorted(souk_buf_t *b, const gql_value_t *v);
/* graphql-js inspect() of a JSON value (for variable errors). */
void souk_gql__inspect_json(souk_buf_t *b, const json_t *j);
/* JSON-style quoted string. */
void souk_gql__print_string(souk_buf_t *b, const char *s, size_t n);

/* suggestionList + didYouMean: appends " Did you mean [prefix] ...?" when any
 * of the n options is close to input; input NULL: suggests the options as they
 * are. prefix: NULL, "the enum value", "to use an inline fragment on". */
void souk_gql__did_you_mean(souk_buf_t *b, const char *input, const char *const *options, size_t n,
                            const char *prefix);
/* graphql-js naturalCompare. */
int souk_gql__natural_compare(const char *a, const char *b);

/* ---- values (values.c) ------------------------------------------------------- */

/* parseLiteral of a leaf type for validation: true when v is acceptable;
 * otherwise msg gets the scalar's or enum's own error message. */
bool souk_gql__literal_ok(const gql_type_t *leaf, const gql_value_t *v, souk_buf_t *msg);

typedef enum { GQL_VAL_OK, GQL_VAL_ABSENT, GQL_VAL_INVALID } gql_valres_t;
/* valueFromAST: coerces a literal (with variables from vars, NULL = none). On
 * GQL_VAL_OK *out is a new reference (json null for null). */
gql_valres_t souk_gql__value_from_ast(const gql_value_t *v, const gql_tref_t *type,
                                      const json_t *vars, json_t **out);

/* coerceInputValue for variables; errors are appended to errors (a JSON array
 * of messages) prefixed as graphql-js does. Returns a new reference or NULL. */
json_t *souk_gql__coerce_variable(const char *var, const json_t *in, const gql_tref_t *type,
                                  json_t *errors);

/* CoerceArgumentValues: *out is a new object of every provided or defaulted
 * argument. On failure returns false with msg set. */
bool souk_gql__argument_values(const gql_ivalue_t *defs, size_t ndefs, const gql_arg_t *args,
                               const json_t *vars, json_t **out, souk_buf_t *msg);

/* Result coercion of a leaf: *out is a new reference; false with msg set when
 * the value cannot be represented. */
bool souk_gql__serialize_leaf(const gql_type_t *t, const json_t *in, json_t **out, souk_buf_t *msg);

/* ---- validation (validate*.c, overlap.c, limits.c) ---------------------------- */

typedef struct {
    json_t *errors; /* array of GraphQL error objects */
    size_t max;
    bool aborted;
    const char *code; /* extensions.code for every error */
} gql_diag_t;

/* Records an error at up to nlocs locations. */
void souk_gql__diag(gql_diag_t *d, const gql_loc_t *locs, size_t nlocs, const char *message);
json_t *souk_gql__error_json(const char *message, const gql_loc_t *locs, size_t nlocs,
                             const char *code);

typedef struct gql_validation gql_validation_t;

/* The spec's validation rules (section 5) plus graphql-js's
 * MaxIntrospectionDepthRule; errors go to d. */
void souk_gql__validate_rules(const souk_gql_schema_t *s, souk_arena_t *a,
                              const gql_document_t *doc, gql_diag_t *d);
/* OverlappingFieldsCanBeMerged on a document that passed every other rule. */
void souk_gql__validate_overlap(const souk_gql_schema_t *s, souk_arena_t *a,
                                const gql_document_t *doc, gql_diag_t *d);
/* souk's limits (depth, aliases, cost) on a valid document. vars: coerced
 * variables, or NULL at validation time (then a variable counts as its
 * default, else as the default list size). */
void souk_gql__check_limits(const souk_gql_schema_t *s, souk_arena_t *a, const gql_document_t *doc,
                            const gql_def_t *only_op, const json_t *vars,
                            const souk_gql_limits_t *lim, gql_diag_t *d);

/* GetOperation (spec 6.1): NULL when none can be chosen. */
const gql_def_t *souk_gql__operation(const souk_gql_doc_t *doc, const char *name);

/* ---- documents, resolvers, introspection --------------------------------------- */

struct souk_gql_doc {
    souk_arena_t *arena;
    const souk_gql_schema_t *schema;
    gql_document_t ast;
    gql_map_t fragments;
};

typedef struct {
    souk_gql_resolve_fn fn;
    void *udata;
    bool unavailable;
    souk_gql_code_t code;
    const char *message;
} gql_resolver_t;

struct souk_gql_resolvers {
    souk_arena_t *arena;
    const souk_gql_schema_t *schema;
    gql_resolver_t **by_type; /* [type index][field index] */
};

/* Registers the resolvers of the introspection types. */
void souk_gql__introspection_register(souk_gql_resolvers_t *r);
/* The value of __schema, and of __type(name) (json null when unknown). */
json_t *souk_gql__introspect_schema(void);
json_t *souk_gql__introspect_type_named(const souk_gql_schema_t *s, const char *name);

#endif
