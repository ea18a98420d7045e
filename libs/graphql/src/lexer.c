/* lexer.c: GraphQL tokens from UTF-8 source bytes (spec 2.1, October 2021),
 * token by token as graphql-js 16 reads them, with its error messages. Strings
 * are decoded (escapes, block-string indentation) into the parser's arena.
 * It does not build any tree, and it rejects invalid UTF-8 rather than
 * replacing it. Column numbers count code points. */
#include "gql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define STRING_MAX (1u << 20) /* decoded string bytes (documents are smaller) */

static int at(const gql_lexer_t *lx, size_t pos)
{
    return pos < lx->len ? (unsigned char)lx->src[pos] : -1;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_start(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_continue(int c)
{
    return is_name_start(c) || is_digit(c);
}

static bool is_scalar_value(long cp)
{
    return (cp >= 0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0x10ffff);
}

/* Decodes the UTF-8 sequence at pos: the code point, or -1 when invalid
 * (truncated, overlong, a surrogate, above U+10FFFF). *size: bytes used. */
static long decode_utf8(const gql_lexer_t *lx, size_t pos, size_t *size)
{
    int c = at(lx, pos);
    size_t n = c < 0x80 ? 1 : c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    *size = 1;
    if (c < 0 || n == 0 || (c >= 0x80 && c < 0xc2) || c > 0xf4)
        return -1;
    if (n == 1)
        return c;
    long cp = c & (0xff >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        int d = at(lx, pos + i);
        if (d < 0 || (d & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (d & 0x3f);
    }
    static const long min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || !is_scalar_value(cp))
        return -1;
    *size = n;
    return cp;
}

gql_loc_t souk_gql__loc_at(const char *src, size_t len, size_t offset)
{
    gql_loc_t loc = {1, 1};
    for (size_t i = 0; i < offset && i < len; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == '\n' || (c == '\r' && (i + 1 >= len || src[i + 1] != '\n'))) {
            loc.line++;
            loc.col = 1;
        } else if (c != '\r' && (c & 0xc0) != 0x80) {
            loc.col++;
        }
    }
    return loc;
}

/* printCodePointAt: "\"x\"" for printable ASCII, U+XXXX otherwise, <EOF>. */
static void print_code_point(const gql_lexer_t *lx, size_t pos, char *out, size_t cap)
{
    size_t size;
    long cp = decode_utf8(lx, pos, &size);
    if (pos >= lx->len)
        snprintf(out, cap, "<EOF>");
    else if (cp == '"')
        snprintf(out, cap, "'\"'");
    else if (cp >= 0x20 && cp <= 0x7e)
        snprintf(out, cap, "\"%c\"", (char)cp);
    else if (cp < 0)
        snprintf(out, cap, "U+%04X (invalid UTF-8)", (unsigned)at(lx, pos));
    else
        snprintf(out, cap, "U+%04lX", cp);
}

static bool fail(gql_lexer_t *lx, size_t offset, const char *fmt, ...) SOUK_PRINTF(3, 4);

static bool fail(gql_lexer_t *lx, size_t offset, const char *fmt, ...)
{
    char msg[GQL_MAX_MESSAGE - 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(lx->err->message, sizeof(lx->err->message), "Syntax Error: %s", msg);
    lx->err->loc = souk_gql__loc_at(lx->src, lx->len, offset);
    lx->failed = true;
    return false;
}

/* A quoted slice of the source for messages, cut at the end of the input. */
static void slice(const gql_lexer_t *lx, size_t from, size_t n, char *out, size_t cap)
{
    if (from > lx->len)
        from = lx->len;
    if (n > lx->len - from)
        n = lx->len - from;
    if (n > cap - 1)
        n = cap - 1;
    memcpy(out, lx->src + from, n);
    out[n] = '\0';
}

static bool emit(gql_lexer_t *lx, gql_tokkind_t kind, size_t start, size_t end, const char *value,
                 size_t len)
{
    gql_token_t *t = &lx->token;
    t->kind = kind;
    t->start = start;
    t->end = end;
    t->loc.line = lx->line;
    if (lx->col_pos < lx->line_start || lx->col_pos > start) {
        lx->col_pos = lx->line_start;
        lx->col = 1;
    }
    for (; lx->col_pos < start; lx->col_pos++)
        if (((unsigned char)lx->src[lx->col_pos] & 0xc0) != 0x80)
            lx->col++;
    t->loc.col = lx->col;
    t->value = value;
    t->len = len;
    lx->pos = end;
    return true;
}

static bool emit_text(gql_lexer_t *lx, gql_tokkind_t kind, size_t start, size_t end)
{
    char *v = souk_arena_strndup(lx->arena, lx->src + start, end - start);
    return emit(lx, kind, start, end, v, end - start);
}

/* ---- numbers ---------------------------------------------------------------- */

static bool read_digits(gql_lexer_t *lx, size_t *pos)
{
    char cp[48];
    if (!is_digit(at(lx, *pos))) {
        print_code_point(lx, *pos, cp, sizeof(cp));
        return fail(lx, *pos, "Invalid number, expected digit but got: %s.", cp);
    }
    while (is_digit(at(lx, *pos)))
        (*pos)++;
    return true;
}

static bool read_number(gql_lexer_t *lx, size_t start)
{
    size_t pos = start;
    bool is_float = false;
    char cp[48];
    if (at(lx, pos) == '-')
        pos++;
    if (at(lx, pos) == '0') {
        pos++;
        if (is_digit(at(lx, pos))) {
            print_code_point(lx, pos, cp, sizeof(cp));
            return fail(lx, pos, "Invalid number, unexpected digit after 0: %s.", cp);
        }
    } else if (!read_digits(lx, &pos)) {
        return false;
    }
    if (at(lx, pos) == '.') {
        is_float = true;
        pos++;
        if (!read_digits(lx, &pos))
            return false;
    }
    if (at(lx, pos) == 'e' || at(lx, pos) == 'E') {
        is_float = true;
        pos++;
        if (at(lx, pos) == '+' || at(lx, pos) == '-')
            pos++;
        if (!read_digits(lx, &pos))
            return false;
    }
    if (at(lx, pos) == '.' || is_name_start(at(lx, pos))) {
        print_code_point(lx, pos, cp, sizeof(cp));
        return fail(lx, pos, "Invalid number, expected digit but got: %s.", cp);
    }
    return emit_text(lx, is_float ? GQL_TOK_FLOAT : GQL_TOK_INT, start, pos);
}

/* ---- strings ---------------------------------------------------------------- */

static void put_utf8(souk_buf_t *b, long cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | (cp >> 18));
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    souk_gql__putn(b, (const char *)u, n);
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static long read_hex4(const gql_lexer_t *lx, size_t pos)
{
    long v = 0;
    for (size_t i = 0; i < 4; i++) {
        int h = hex_digit(at(lx, pos + i));
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

/* \u{...}: *size set to the escape's length. */
static long escape_variable(gql_lexer_t *lx, size_t pos, size_t *size)
{
    long point = 0;
    size_t n = 3;
    char text[16];
    while (n < 12) {
        int c = at(lx, pos + n++);
        if (c == '}') {
            if (n < 5 || !is_scalar_value(point))
                break;
            *size = n;
            return point;
        }
        int h = hex_digit(c);
        if (h < 0 || point > 0x7ffffff)
            break;
        point = (point << 4) | h;
    }
    slice(lx, pos, n, text, sizeof(text));
    fail(lx, pos, "Invalid Unicode escape sequence: \"%s\".", text);
    return -1;
}

/* \uXXXX, or a surrogate pair \uD83D\uDE00. */
static long escape_fixed(gql_lexer_t *lx, size_t pos, size_t *size)
{
    long code = read_hex4(lx, pos + 2);
    char text[16];
    *size = 6;
    if (is_scalar_value(code))
        return code;
    if (code >= 0xd800 && code <= 0xdbff && at(lx, pos + 6) == '\\' && at(lx, pos + 7) == 'u') {
        long trail = read_hex4(lx, pos + 8);
        if (trail >= 0xdc00 && trail <= 0xdfff) {
            *size = 12;
            return 0x10000 + ((code - 0xd800) << 10) + (trail - 0xdc00);
        }
    }
    slice(lx, pos, 6, text, sizeof(text));
    fail(lx, pos, "Invalid Unicode escape sequence: \"%s\".", text);
    return -1;
}

static long escape_char(gql_lexer_t *lx, size_t pos, size_t *size)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    int c = at(lx, pos + 1);
    const char *p = c > 0 ? strchr(from, c) : NULL;
    char text[16];
    *size = 2;
    if (p && *p)
        return to[p - from];
    slice(lx, pos, 2, text, sizeof(text));
    fail(lx, pos, "Invalid character escape sequence: \"%s\".", text);
    return -1;
}

static bool finish_string(gql_lexer_t *lx, gql_tokkind_t kind, size_t start, size_t end,
                          souk_buf_t *b)
{
    size_t n = b->len;
    char *v = souk_arena_strndup(lx->arena, b->data ? b->data : "", n);
    souk_buf_cleanup(b);
    return emit(lx, kind, start, end, v, n);
}

static bool string_char(gql_lexer_t *lx, size_t *pos, souk_buf_t *b)
{
    size_t size;
    char cp[48];
    long c = decode_utf8(lx, *pos, &size);
    if (c < 0) {
        print_code_point(lx, *pos, cp, sizeof(cp));
        return fail(lx, *pos, "Invalid character within String: %s.", cp);
    }
    souk_gql__putn(b, lx->src + *pos, size);
    *pos += size;
    return true;
}

static bool read_string(gql_lexer_t *lx, size_t start)
{
    souk_buf_t b;
    souk_buf_init(&b, STRING_MAX);
    size_t pos = start + 1;
    while (pos < lx->len) {
        int c = at(lx, pos);
        if (c == '"')
            return finish_string(lx, GQL_TOK_STRING, start, pos + 1, &b);
        if (c == '\n' || c == '\r')
            break;
        if (c == '\\') {
            size_t size;
            long cp = at(lx, pos + 1) != 'u'   ? escape_char(lx, pos, &size)
                      : at(lx, pos + 2) == '{' ? escape_variable(lx, pos, &size)
                                               : escape_fixed(lx, pos, &size);
            if (cp < 0)
                goto error;
            put_utf8(&b, cp);
            pos += size;
        } else if (!string_char(lx, &pos, &b)) {
            goto error;
        }
    }
    fail(lx, pos, "Unterminated string.");
error:
    souk_buf_cleanup(&b);
    return false;
}

/* ---- block strings ------------------------------------------------------------ */

static size_t leading_ws(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

typedef struct {
    const char *p;
    size_t n;
} line_t;

/* dedentBlockStringLines, joined with \n, into out. */
static void dedent(const char *raw, size_t n, souk_buf_t *out)
{
    size_t nlines = 1;
    for (size_t i = 0; i < n; i++)
        if (raw[i] == '\n' || (raw[i] == '\r' && (i + 1 >= n || raw[i + 1] != '\n')))
            nlines++;
    line_t *lines = souk_calloc(nlines, sizeof(*lines));
    size_t k = 0, from = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || raw[i] == '\n' || raw[i] == '\r') {
            lines[k].p = raw + from;
            lines[k++].n = i - from;
            if (i < n && raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n')
                i++;
            from = i + 1;
        }
    }
    size_t common = SIZE_MAX, first = SIZE_MAX, last = 0;
    bool any = false;
    for (size_t i = 0; i < k; i++) {
        size_t ind = leading_ws(lines[i].p, lines[i].n);
        if (ind == lines[i].n)
            continue;
        if (first == SIZE_MAX)
            first = i;
        last = i;
        any = true;
        if (i != 0 && ind < common)
            common = ind;
    }
    if (!any) {
        souk_free(lines);
        return;
    }
    for (size_t i = first; i <= last; i++) {
        const char *p = lines[i].p;
        size_t len = lines[i].n;
        if (i != 0) {
            size_t cut = common < len ? common : len;
            p += cut;
            len -= cut;
        }
        if (i != first)
            souk_gql__putn(out, "\n", 1);
        souk_gql__putn(out, p, len);
    }
    souk_free(lines);
}

static bool read_block_string(gql_lexer_t *lx, size_t start)
{
    souk_buf_t raw, val;
    souk_buf_init(&raw, STRING_MAX);
    souk_buf_init(&val, STRING_MAX);
    size_t pos = start + 3, line_start = lx->line_start;
    uint32_t lines = 0;
    while (pos < lx->len) {
        int c = at(lx, pos);
        if (c == '"' && at(lx, pos + 1) == '"' && at(lx, pos + 2) == '"') {
            dedent(raw.data ? raw.data : "", raw.len, &val);
            souk_buf_cleanup(&raw);
            bool ok = finish_string(lx, GQL_TOK_BLOCK_STRING, start, pos + 3, &val);
            lx->line += lines;
            lx->line_start = line_start;
            return ok;
        }
        if (c == '\\' && at(lx, pos + 1) == '"' && at(lx, pos + 2) == '"' &&
            at(lx, pos + 3) == '"') {
            souk_gql__putn(&raw, "\"\"\"", 3);
            pos += 4;
        } else if (c == '\n' || c == '\r') {
            souk_gql__putn(&raw, "\n", 1);
            pos += (c == '\r' && at(lx, pos + 1) == '\n') ? 2 : 1;
            lines++;
            line_start = pos;
        } else if (!string_char(lx, &pos, &raw)) {
            goto error;
        }
    }
    fail(lx, pos, "Unterminated string.");
error:
    souk_buf_cleanup(&raw);
    souk_buf_cleanup(&val);
    return false;
}

/* ---- tokens ---------------------------------------------------------------- */

static gql_tokkind_t punctuator(int c)
{
    switch (c) {
    case '!':
        return GQL_TOK_BANG;
    case '$':
        return GQL_TOK_DOLLAR;
    case '&':
        return GQL_TOK_AMP;
    case '(':
        return GQL_TOK_PAREN_L;
    case ')':
        return GQL_TOK_PAREN_R;
    case ':':
        return GQL_TOK_COLON;
    case '=':
        return GQL_TOK_EQUALS;
    case '@':
        return GQL_TOK_AT;
    case '[':
        return GQL_TOK_BRACKET_L;
    case ']':
        return GQL_TOK_BRACKET_R;
    case '{':
        return GQL_TOK_BRACE_L;
    case '|':
        return GQL_TOK_PIPE;
    case '}':
        return GQL_TOK_BRACE_R;
    default:
        return GQL_TOK_SOF; /* not a punctuator */
    }
}

/* Skips a comment; false on invalid UTF-8 inside it. */
static bool skip_comment(gql_lexer_t *lx, size_t *pos)
{
    char cp[48];
    (*pos)++;
    while (*pos < lx->len && at(lx, *pos) != '\n' && at(lx, *pos) != '\r') {
        size_t size;
        if (decode_utf8(lx, *pos, &size) < 0) {
            print_code_point(lx, *pos, cp, sizeof(cp));
            return fail(lx, *pos, "Invalid character: %s.", cp);
        }
        *pos += size;
    }
    return true;
}

/* Skips ignored tokens; true when pos is at a token (or the end). */
static bool skip_ignored(gql_lexer_t *lx, size_t *pos)
{
    while (*pos < lx->len) {
        int c = at(lx, *pos);
        if (c == ' ' || c == '\t' || c == ',') {
            (*pos)++;
        } else if (c == 0xef && at(lx, *pos + 1) == 0xbb && at(lx, *pos + 2) == 0xbf) {
            *pos += 3; /* U+FEFF byte order mark */
        } else if (c == '\n' || c == '\r') {
            *pos += (c == '\r' && at(lx, *pos + 1) == '\n') ? 2 : 1;
            lx->line++;
            lx->line_start = *pos;
        } else if (c == '#') {
            if (!skip_comment(lx, pos))
                return false;
        } else {
            return true;
        }
    }
    return true;
}

static bool unexpected_char(gql_lexer_t *lx, size_t pos)
{
    char cp[48];
    size_t size;
    if (at(lx, pos) == '\'')
        return fail(lx, pos,
                    "Unexpected single quote character ('), did you mean to use a double "
                    "quote (\")?");
    print_code_point(lx, pos, cp, sizeof(cp));
    if (decode_utf8(lx, pos, &size) < 0)
        return fail(lx, pos, "Invalid character: %s.", cp);
    return fail(lx, pos, "Unexpected character: %s.", cp);
}

bool souk_gql__lexer_advance(gql_lexer_t *lx)
{
    size_t pos = lx->token.kind == GQL_TOK_SOF ? 0 : lx->token.end;
    if (lx->token.kind == GQL_TOK_EOF)
        return true;
    if (!skip_ignored(lx, &pos))
        return false;
    if (pos >= lx->len)
        return emit(lx, GQL_TOK_EOF, lx->len, lx->len, NULL, 0);
    int c = at(lx, pos);
    gql_tokkind_t p = punctuator(c);
    if (p != GQL_TOK_SOF)
        return emit(lx, p, pos, pos + 1, NULL, 0);
    if (c == '.' && at(lx, pos + 1) == '.' && at(lx, pos + 2) == '.')
        return emit(lx, GQL_TOK_SPREAD, pos, pos + 3, NULL, 0);
    if (c == '"')
        return at(lx, pos + 1) == '"' && at(lx, pos + 2) == '"' ? read_block_string(lx, pos)
                                                                : read_string(lx, pos);
    if (is_digit(c) || c == '-')
        return read_number(lx, pos);
    if (is_name_start(c)) {
        size_t end = pos + 1;
        while (is_name_continue(at(lx, end)))
            end++;
        return emit_text(lx, GQL_TOK_NAME, pos, end);
    }
    return unexpected_char(lx, pos);
}

bool souk_gql__lexer_lookahead(gql_lexer_t *lx, gql_token_t *out)
{
    gql_lexer_t saved = *lx;
    bool ok = souk_gql__lexer_advance(lx);
    *out = lx->token;
    if (ok)
        *lx = saved; /* on failure the error stays recorded in lx */
    return ok;
}

void souk_gql__lexer_init(gql_lexer_t *lx, souk_arena_t *a, const char *src, size_t len,
                          gql_syntax_error_t *err)
{
    memset(lx, 0, sizeof(*lx));
    lx->src = src;
    lx->len = len;
    lx->line = 1;
    lx->col = 1;
    lx->arena = a;
    lx->err = err;
    lx->token.kind = GQL_TOK_SOF;
}

const char *souk_gql__token_kind_desc(gql_tokkind_t kind)
{
    static const char *const names[] = {
        [GQL_TOK_SOF] = "<SOF>",
        [GQL_TOK_EOF] = "<EOF>",
        [GQL_TOK_BANG] = "\"!\"",
        [GQL_TOK_DOLLAR] = "\"$\"",
        [GQL_TOK_AMP] = "\"&\"",
        [GQL_TOK_PAREN_L] = "\"(\"",
        [GQL_TOK_PAREN_R] = "\")\"",
        [GQL_TOK_SPREAD] = "\"...\"",
        [GQL_TOK_COLON] = "\":\"",
        [GQL_TOK_EQUALS] = "\"=\"",
        [GQL_TOK_AT] = "\"@\"",
        [GQL_TOK_BRACKET_L] = "\"[\"",
        [GQL_TOK_BRACKET_R] = "\"]\"",
        [GQL_TOK_BRACE_L] = "\"{\"",
        [GQL_TOK_PIPE] = "\"|\"",
        [GQL_TOK_BRACE_R] = "\"}\"",
        [GQL_TOK_NAME] = "Name",
        [GQL_TOK_INT] = "Int",
        [GQL_TOK_FLOAT] = "Float",
        [GQL_TOK_STRING] = "String",
        [GQL_TOK_BLOCK_STRING] = "BlockString",
    };
    return (unsigned)kind < SOUK_ARRAY_LEN(names) ? names[kind] : "?";
}
