/* static.c: see souk/http_static.h. Files live in one sorted array, looked
 * up by binary search on the exact request path; a file's gzip sibling
 * ("x.js.gz") is attached to it instead of being a path of its own. */
#define _GNU_SOURCE /* strcasestr */
#include "http_int.h"

#include <souk/http_static.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_DEPTH   8
#define DEFAULT_MAX (64u << 20)

typedef struct {
    char *path; /* "/assets/index-abc.js" */
    char *data, *gz;
    size_t len, gz_len;
    char etag[20];
    const char *type;
    bool immutable;
} file_t;

struct souk_http_static {
    file_t *files;
    size_t n, cap, total, max_total;
    char *prefix, *policy;
    const file_t *index;
};

static const char *type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".woff", "font/woff"},
        {".txt", "text/plain; charset=utf-8"},
        {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < SOUK_ARRAY_LEN(types); i++)
        if (strcasecmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static souk_err_t read_all(const char *file, size_t size, char **out)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return SOUK_EIO;
    char *buf = souk_malloc(size ? size : 1);
    bool ok = fread(buf, 1, size, f) == size;
    fclose(f);
    if (!ok) {
        souk_free(buf);
        return SOUK_EIO;
    }
    *out = buf;
    return SOUK_OK;
}

static souk_err_t add_file(souk_http_static_t *st, const char *file, const char *path, size_t size)
{
    if (size > st->max_total || st->total + size > st->max_total)
        return SOUK_ELIMIT;
    char *data;
    souk_err_t err = read_all(file, size, &data);
    if (err)
        return err;
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 64;
        st->files = souk_realloc(st->files, st->cap * sizeof(file_t));
    }
    file_t *f = &st->files[st->n++];
    memset(f, 0, sizeof(*f));
    f->path = souk_strdup(path);
    f->data = data;
    f->len = size;
    st->total += size;
    return SOUK_OK;
}

/* Loads dir (whose request path is prefix) and below. */
static souk_err_t load_dir(souk_http_static_t *st, const char *dir, const char *prefix, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return depth == 0 ? SOUK_ENOTFOUND : SOUK_EIO;
    souk_err_t err = SOUK_OK;
    struct dirent *e;
    char file[4096], path[4096];
    while (err == SOUK_OK && (e = readdir(d)) != NULL) {
        struct stat sb;
        if (e->d_name[0] == '.')
            continue;
        snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
        snprintf(path, sizeof(path), "%s/%s", prefix, e->d_name);
        if (stat(file, &sb) != 0)
            err = SOUK_EIO;
        else if (S_ISDIR(sb.st_mode) && depth < MAX_DEPTH)
            err = load_dir(st, file, path, depth + 1);
        else if (S_ISREG(sb.st_mode))
            err = add_file(st, file, path, (size_t)sb.st_size);
    }
    closedir(d);
    return err;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const file_t *)a)->path, ((const file_t *)b)->path);
}

static file_t *find(const souk_http_static_t *st, const char *path)
{
    file_t key = {.path = (char *)path};
    return st->n ? bsearch(&key, st->files, st->n, sizeof(file_t), by_path) : NULL;
}

/* Moves every "x.gz" onto its "x" (the pair answers one path) and gives
 * each file its type, ETag and caching. */
static void finish(souk_http_static_t *st)
{
    qsort(st->files, st->n, sizeof(file_t), by_path);
    for (size_t i = 0; i < st->n; i++) {
        file_t *f = &st->files[i];
        size_t len = strlen(f->path);
        if (len > 3 && strcmp(f->path + len - 3, ".gz") == 0) {
            char *name = souk_strndup(f->path, len - 3);
            file_t *plain = find(st, name);
            souk_free(name);
            if (plain && !plain->gz) {
                plain->gz = f->data;
                plain->gz_len = f->len;
                f->data = NULL; /* now owned by plain; f stays as a path of its own */
            }
        }
    }
    for (size_t i = 0; i < st->n; i++) {
        file_t *f = &st->files[i];
        if (!f->data) { /* a sibling that moved: answer nothing under its own name */
            f->type = NULL;
            continue;
        }
        /* FNV-1a over the bytes: files change only with a new build */
        uint64_t h = 1469598103934665603ull;
        for (size_t b = 0; b < f->len; b++)
            h = (h ^ (uint8_t)f->data[b]) * 1099511628211ull;
        snprintf(f->etag, sizeof(f->etag), "\"%016llx\"", (unsigned long long)h);
        f->type = type_of(f->path);
        f->immutable = st->prefix && strncmp(f->path, st->prefix, strlen(st->prefix)) == 0;
    }
    st->index = find(st, "/index.html");
}

souk_err_t souk_http_static_new(const souk_http_static_config_t *cfg, souk_http_static_t **out)
{
    *out = NULL;
    souk_http_static_t *st = souk_calloc(1, sizeof(*st));
    st->max_total = cfg->max_total ? cfg->max_total : DEFAULT_MAX;
    st->prefix = cfg->immutable_prefix ? souk_strdup(cfg->immutable_prefix) : NULL;
    st->policy = cfg->html_policy ? souk_strdup(cfg->html_policy) : NULL;
    souk_err_t err = cfg->root ? load_dir(st, cfg->root, "", 0) : SOUK_ENOTFOUND;
    if (err == SOUK_OK) {
        finish(st);
        if (!st->index || !st->index->data)
            err = SOUK_ENOTFOUND;
    }
    if (err) {
        souk_http_static_free(st);
        return err;
    }
    *out = st;
    return SOUK_OK;
}

void souk_http_static_free(souk_http_static_t *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        souk_free(st->files[i].path);
        souk_free(st->files[i].data);
        souk_free(st->files[i].gz);
    }
    souk_free(st->files);
    souk_free(st->prefix);
    souk_free(st->policy);
    souk_free(st);
}

static bool accepts(const souk_http_ctx_t *ctx, const char *header, const char *what)
{
    const char *v = souk_http_header(ctx, header);
    return v && strcasestr(v, what);
}

static bool is_read(const souk_http_ctx_t *ctx)
{
    return strcmp(ctx->method, "GET") == 0 || strcmp(ctx->method, "HEAD") == 0;
}

static void send_file(souk_http_ctx_t *ctx, const souk_http_static_t *st, const file_t *f)
{
    const char *inm = souk_http_header(ctx, "If-None-Match");
    souk_http_set_header(ctx, "ETag", f->etag);
    souk_http_set_header(ctx, "Cache-Control",
                         f->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    souk_http_set_header(ctx, "X-Content-Type-Options", "nosniff");
    if (f->gz)
        souk_http_set_header(ctx, "Vary", "Accept-Encoding");
    if (st->policy && strncmp(f->type, "text/html", 9) == 0)
        souk_http_set_header(ctx, "Content-Security-Policy", st->policy);
    if (inm && strstr(inm, f->etag)) {
        souk_http_reply_empty(ctx, 304);
        return;
    }
    bool gzip = f->gz && accepts(ctx, "Accept-Encoding", "gzip");
    if (gzip)
        souk_http_set_header(ctx, "Content-Encoding", "gzip");
    souk_http_reply_raw(ctx, 200, f->type, gzip ? f->gz : f->data, gzip ? f->gz_len : f->len);
}

bool souk_http_static_file(souk_http_ctx_t *ctx, const souk_http_static_t *st)
{
    if (!st || !is_read(ctx))
        return false;
    const file_t *f = strcmp(ctx->path, "/") == 0 ? st->index : find(st, ctx->path);
    if (!f || !f->type)
        return false;
    send_file(ctx, st, f);
    return true;
}

/* A path whose last segment names a file ("/assets/x.js") is a missing
 * file, not a page: answering it with HTML would hide the 404. */
static bool names_file(const char *path)
{
    const char *last = strrchr(path, '/');
    return strchr(last ? last : path, '.') != NULL;
}

bool souk_http_static_page(souk_http_ctx_t *ctx, const souk_http_static_t *st)
{
    if (!st || !is_read(ctx) || !accepts(ctx, "Accept", "text/html") || names_file(ctx->path))
        return false;
    send_file(ctx, st, st->index);
    return true;
}
