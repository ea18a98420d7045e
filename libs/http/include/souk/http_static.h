/* souk/http_static.h: static files at the HTTP edge, as a single-page
 * application needs them: a directory (the front end's build) loaded into
 * memory once at start, served by exact path with its content type, a
 * strong ETag (304 on If-None-Match), a precompressed ".gz" sibling when the
 * client accepts gzip, long immutable caching for fingerprinted files and
 * no-cache for the rest, and index.html for page paths the application
 * routes itself. Nothing is read from disk per request, so no request path
 * can reach outside the directory.
 *
 * Thread-safe after souk_http_static_new(); read-only from then on. */
#ifndef SOUK_HTTP_STATIC_H
#define SOUK_HTTP_STATIC_H

#include <souk/http.h>

typedef struct souk_http_static souk_http_static_t;

typedef struct {
    const char *root;             /* the directory, e.g. web/dist */
    const char *immutable_prefix; /* paths under it never change ("/assets/"); may be NULL */
    const char *html_policy;      /* Content-Security-Policy of HTML answers; may be NULL */
    size_t max_total;             /* bytes loaded at most; 0: 64 MiB */
} souk_http_static_config_t;

/* Loads every regular file under cfg->root (at most 8 directories deep).
 * SOUK_ENOTFOUND when root is missing or holds no index.html (the caller
 * then serves without it), SOUK_ELIMIT past max_total, SOUK_EIO on a read
 * error. Free with souk_http_static_free() (NULL ok). */
souk_err_t souk_http_static_new(const souk_http_static_config_t *cfg,
                                souk_http_static_t **out) SOUK_MUST_CHECK;
void souk_http_static_free(souk_http_static_t *st);

/* Answers GET/HEAD ctx->path with the file of that path ("/" is
 * index.html) and returns true; false (nothing sent) when there is none. */
bool souk_http_static_file(souk_http_ctx_t *ctx, const souk_http_static_t *st);
/* Answers with index.html when the request is a GET/HEAD that asks for HTML
 * and its last segment has no extension (a page of the application) and
 * returns true; false otherwise. */
bool souk_http_static_page(souk_http_ctx_t *ctx, const souk_http_static_t *st);

#endif
