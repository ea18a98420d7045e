/* souk/http.h: the HTTP edge of every souk process. A server wrapper on ulfius
 * that owns routing and the middleware chain (request id, trace context, body
 * limit -> 413, content type -> 415, problem+json for every error, access log,
 * metrics), JSON body and field validation helpers, the /healthz /readyz
 * /metrics endpoints, and an HTTP client on libcurl that reuses connections.
 *
 * It deliberately does not know about users, tokens or databases: auth checks
 * live in souk/auth.h, readiness is a callback.
 *
 * Threading: handlers run on a pool of server threads, concurrently; a
 * handler that blocks holds its thread (and the connections it serves).
 * A souk_http_ctx_t belongs to one request and must not outlive the handler. */
#ifndef SOUK_HTTP_H
#define SOUK_HTTP_H

#include <souk/core.h>
#include <souk/obs.h>

#define SOUK_HTTP_DEFAULT_BODY_LIMIT (1024 * 1024)
#define SOUK_HTTP_MAX_PARAMS         8

typedef struct souk_http_server souk_http_server_t;

/* The request being served. Strings are owned by the request (arena or the
 * underlying server) and valid until the handler returns. method is one of
 * GET HEAD POST PUT PATCH DELETE OPTIONS (anything else is answered 501
 * before any hook or handler runs). */
typedef struct souk_http_ctx {
    souk_arena_t *arena;    /* per-request allocations, freed after the reply */
    const char *method;     /* "GET", "POST", ... */
    const char *path;       /* decoded path without the query string */
    const char *url;        /* path and query string as received */
    const char *route;      /* matched template ("/users/:id") or "unmatched" */
    const char *request_id; /* X-Request-Id, received or generated */
    const char *client_ip;  /* the client: the peer, or what trusted proxies say */
    souk_trace_t trace;     /* this request's span */
    const char *body;       /* raw body (not NUL-terminated), NULL when empty */
    size_t body_len;
    void *user;         /* for middleware to pass data (e.g. token claims) */
    json_t *log_fields; /* extra fields for the access log line (owned) */
    /* private */
    const void *ureq;
    void *ures;
    souk_http_server_t *srv;
    size_t nparams;
    const char *param_names[SOUK_HTTP_MAX_PARAMS];
    const char *param_values[SOUK_HTTP_MAX_PARAMS];
    int status;
    bool replied;
    souk_span_t span; /* the server span whose context trace is */
} souk_http_ctx_t;

typedef void (*souk_http_handler_fn)(souk_http_ctx_t *ctx, void *ud);
/* Runs before routing; returns false when it has replied and the request ends. */
typedef bool (*souk_http_hook_fn)(souk_http_ctx_t *ctx, void *ud);
/* Readiness probe for /readyz: true when dependencies answer. */
typedef bool (*souk_http_ready_fn)(void *ud);

typedef struct {
    const char *service;     /* service.name in logs and the service label */
    const char *bind;        /* listen address, default "127.0.0.1" */
    int port;                /* 0: an ephemeral port (see souk_http_server_port) */
    size_t body_limit;       /* bytes; default SOUK_HTTP_DEFAULT_BODY_LIMIT */
    unsigned idle_timeout_s; /* close idle keep-alive connections; default 60 */
    unsigned threads; /* request threads (handlers may block); 0: souk_http_default_threads() */
    /* Comma-separated addresses or CIDR blocks of proxies whose
     * X-Forwarded-For is believed (ctx->client_ip is then the right-most
     * address they did not add); NULL or "": the peer address is the client. */
    const char *trusted_proxies;
    souk_metrics_t *metrics; /* required, borrowed */
} souk_http_config_t;

/* max(16, 4 x cores): handlers block on the database or upstreams. */
unsigned souk_http_default_threads(void);

/* Creates a stopped server with /healthz, /readyz and /metrics routed.
 * Returns SOUK_EINVAL on a bad config. Free with souk_http_server_free(). */
souk_err_t souk_http_server_new(const souk_http_config_t *cfg,
                                souk_http_server_t **out) SOUK_MUST_CHECK;
/* Stops the server if running and frees it. NULL ok. */
void souk_http_server_free(souk_http_server_t *srv);

/* ---- routing -------------------------------------------------------------- */
/* The one path matcher: method + template, first match in registration
 * order. Templates are literal segments and ":name" segments (one non-empty
 * path segment each); one trailing slash on a path is ignored, an empty
 * segment inside it never matches. HEAD is served by a GET route. Not
 * thread-safe while adding; matching is. */

typedef struct souk_router souk_router_t;

typedef struct {
    const char *tmpl; /* the matched template: the route label */
    void *data;       /* what was registered with it */
    size_t nparams;
    const char *names[SOUK_HTTP_MAX_PARAMS];
    const char *values[SOUK_HTTP_MAX_PARAMS]; /* in the arena passed to match */
    bool path_known;                          /* no match, but other methods have the path */
    char allow[128];                          /* those methods, "GET, HEAD, POST" */
} souk_route_match_t;

souk_router_t *souk_router_new(void);
void souk_router_free(souk_router_t *r); /* NULL ok */
/* method NULL matches every method. data is borrowed. */
void souk_router_add(souk_router_t *r, const char *method, const char *tmpl, void *data);
/* True and *m filled when a route matches; otherwise false with
 * m->path_known and m->allow set. Captured values live in arena (NULL: none
 * are captured). */
bool souk_router_match(const souk_router_t *r, const char *method, const char *path,
                       souk_arena_t *arena, souk_route_match_t *m);

/* Routes method + template to fn on the server (see the router above).
 * Register before start. */
void souk_http_route(souk_http_server_t *srv, const char *method, const char *tmpl,
                     souk_http_handler_fn fn, void *ud);
/* Handles what no route matches instead of 404/405 (the gateway's proxy). */
void souk_http_set_fallback(souk_http_server_t *srv, souk_http_handler_fn fn, void *ud);
void souk_http_set_hook(souk_http_server_t *srv, souk_http_hook_fn fn, void *ud);
void souk_http_set_ready(souk_http_server_t *srv, souk_http_ready_fn fn, void *ud);

/* Starts listening (returns once the socket is bound). SOUK_EIO if it cannot. */
souk_err_t souk_http_server_start(souk_http_server_t *srv) SOUK_MUST_CHECK;
/* Starts the server, then blocks until SIGINT or SIGTERM (see
 * souk_signals_block) and logs the shutdown. The caller then frees it. */
souk_err_t souk_http_serve(souk_http_server_t *srv) SOUK_MUST_CHECK;
/* Stops accepting, waits for in-flight requests, closes connections. */
void souk_http_server_stop(souk_http_server_t *srv);
/* The port the running server listens on (the one chosen by the system when
 * the config asked for port 0); 0 when it is not running. */
int souk_http_server_port(const souk_http_server_t *srv);

/* ---- request accessors (NULL when absent) --------------------------------- */
const char *souk_http_param(const souk_http_ctx_t *ctx, const char *name);
const char *souk_http_query(const souk_http_ctx_t *ctx, const char *name);
const char *souk_http_header(const souk_http_ctx_t *ctx, const char *name);
/* Calls fn for every request header; stops early when fn returns false. */
void souk_http_each_header(const souk_http_ctx_t *ctx,
                           bool (*fn)(const char *name, const char *value, void *ud), void *ud);
/* The bearer token of the Authorization header, or NULL. */
const char *souk_http_bearer(const souk_http_ctx_t *ctx);
/* The token of an Authorization header value ("Bearer <token>", the scheme
 * in any case), or NULL; for every engine. */
const char *souk_http_bearer_of(const char *authorization);

/* ---- replies: exactly one per request ------------------------------------- */
void souk_http_set_header(souk_http_ctx_t *ctx, const char *name, const char *value);
/* Sends body (stolen, may be NULL for an empty body) as application/json. */
void souk_http_reply_json(souk_http_ctx_t *ctx, int status, json_t *body);
void souk_http_reply_raw(souk_http_ctx_t *ctx, int status, const char *content_type,
                         const void *data, size_t len);
void souk_http_reply_empty(souk_http_ctx_t *ctx, int status);
/* RFC 9457 problem+json: type about:blank, title from the status, detail,
 * instance (the path), request_id; 401 adds WWW-Authenticate: Bearer. */
void souk_http_problem(souk_http_ctx_t *ctx, int status, const char *detail);
/* Same with "errors": [{field, message}] (stolen, may be NULL). */
void souk_http_problem_errors(souk_http_ctx_t *ctx, int status, const char *detail, json_t *errors);
/* The reason phrase of a status ("Not Found"); "Error" for unknown codes. */
const char *souk_http_status_title(int status);
/* The problem+json object every souk HTTP engine sends (new reference):
 * {type: "about:blank", title, status, detail (the title when NULL), instance
 * (the request path; "/" when NULL or not UTF-8), request_id ("" when NULL)}
 * plus "errors" when errors is not NULL (stolen). Headers that go with some
 * statuses (WWW-Authenticate on 401, Retry-After) are the caller's. */
json_t *souk_http_problem_body(int status, const char *detail, const char *instance,
                               const char *request_id, json_t *errors);

/* ---- shared request rules ------------------------------------------------- */
/* The rules every souk HTTP engine applies the same way. */

/* The method as one of the served set GET HEAD POST PUT PATCH DELETE OPTIONS
 * (a static string), or SOUK_METRIC_OTHER for anything else: such a request
 * is answered 501 and counted as OTHER. [m, m+len) need not be NUL-terminated. */
const char *souk_http_method_label(const char *m, size_t len);
/* True when an X-Request-Id value may be echoed and passed on: 1 to 128 of
 * [A-Za-z0-9-_.:]. */
bool souk_http_request_id_ok(const char *s, size_t len);
/* The request id of a request that brought `received` (X-Request-Id, NULL
 * when absent): received when usable, else a new UUID in arena. */
const char *souk_http_request_id(const char *received, souk_arena_t *arena);
/* True when a Content-Type (NULL: none) names JSON: application/json or
 * application/...+json, parameters allowed. A request with a body of any
 * other type is answered 415. */
bool souk_http_content_type_json(const char *ct);

/* ---- JSON bodies and validation ------------------------------------------- */

/* Parses the body as a JSON object (arena-owned). On failure replies 400 and
 * returns NULL; the handler then just returns. */
json_t *souk_http_body_object(souk_http_ctx_t *ctx);

/* Collects field errors for one 400 reply. Embedded: init/cleanup. */
typedef struct {
    json_t *errors;
} souk_valid_t;

void souk_valid_init(souk_valid_t *v);
void souk_valid_cleanup(souk_valid_t *v);
void souk_valid_error(souk_valid_t *v, const char *field, const char *fmt, ...) SOUK_PRINTF(3, 4);
bool souk_valid_ok(const souk_valid_t *v);
/* Replies 400 with the collected errors (they move into the reply). */
void souk_valid_reply(souk_http_ctx_t *ctx, souk_valid_t *v);

/* Field checks. Each returns true when the field is present and valid, false
 * when absent (an error only if required) or invalid (error recorded). */
enum { SOUK_FIELD_OPTIONAL = 0, SOUK_FIELD_REQUIRED = 1, SOUK_FIELD_NULLABLE = 2 };
/* Length bounds count Unicode code points. *out borrows from obj. */
bool souk_valid_string(souk_valid_t *v, json_t *obj, const char *field, int flags, size_t min_chars,
                       size_t max_chars, const char **out);
bool souk_valid_integer(souk_valid_t *v, json_t *obj, const char *field, int flags, long long min,
                        long long max, long long *out);
bool souk_valid_boolean(souk_valid_t *v, json_t *obj, const char *field, int flags, bool *out);
/* Records an error for each member of obj not in allowed (NULL-terminated). */
void souk_valid_known(souk_valid_t *v, json_t *obj, const char *const *allowed);
/* Number of Unicode code points in a valid UTF-8 string. */
size_t souk_utf8_chars(const char *s);

/* Paging of list endpoints: ?page=1&limit=20, page >= 1, limit 1..100.
 * Records errors in v on bad values. */
typedef struct {
    long page, limit;
} souk_page_t;
bool souk_http_page(const souk_http_ctx_t *ctx, souk_valid_t *v, souk_page_t *out);
/* The same from the raw values (NULL when absent). */
bool souk_page_parse(souk_valid_t *v, const char *page, const char *limit, souk_page_t *out);
/* {"items": items (stolen), "page", "limit", "total"} */
json_t *souk_http_page_body(json_t *items, const souk_page_t *p, long long total);

/* Appends s percent-encoded (RFC 3986: all but the unreserved characters
 * A-Z a-z 0-9 - . _ ~), for a query parameter or a form field. */
souk_err_t souk_http_url_encode(souk_buf_t *b, const char *s) SOUK_MUST_CHECK;

/* ---- client addresses behind trusted proxies -------------------------------- */
/* The rule of the server above (TRUSTED_PROXIES), for engines other than the
 * souk/http.h server that face clients (the gateway's edge). */
struct sockaddr;
typedef struct souk_http_proxies souk_http_proxies_t;
/* Parses a comma-separated list of addresses and CIDR blocks (NULL or "":
 * none). SOUK_EINVAL (logged) on a bad entry, then *out is NULL. Free with
 * souk_http_proxies_free (NULL ok). Read-only once built: thread-safe. */
souk_err_t souk_http_proxies_new(const char *list, souk_http_proxies_t **out) SOUK_MUST_CHECK;
void souk_http_proxies_free(souk_http_proxies_t *p);
/* True when p holds at least one proxy (X-Forwarded-For is worth reading). */
bool souk_http_proxies_any(const souk_http_proxies_t *p);
/* The client of a request from peer carrying X-Forwarded-For xff (NULL: none)
 * when the proxies in p (NULL: none) are trusted: the right-most address no
 * trusted proxy added, else the peer. Written into out[INET6_ADDRSTRLEN]. */
void souk_http_client_ip(const souk_http_proxies_t *p, const struct sockaddr *peer, const char *xff,
                         char *out);

/* ---- client --------------------------------------------------------------- */
/* Requests to other services, over a pool of curl handles whose keep-alive
 * connections are reused by whichever thread calls next. Thread-safe. */

typedef struct souk_http_client souk_http_client_t;

typedef struct {
    const char *method;
    const char *url;
    const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
    const void *body;
    size_t body_len;
    bool path_as_is;         /* send the path exactly as given (no dot-segment removal) */
    long timeout_ms;         /* whole exchange; default 10000 */
    long connect_timeout_ms; /* default 2000 */
    size_t max_response;     /* default 8 MiB */
} souk_http_request_t;

typedef struct {
    long status;
    souk_buf_t body;
    souk_buf_t headers; /* raw "Name: value\r\n" lines of the final response */
} souk_http_response_t;

souk_http_client_t *souk_http_client_new(void);
void souk_http_client_free(souk_http_client_t *c);
/* Performs the request. On SOUK_OK resp holds status, headers and body, to be
 * released with souk_http_response_cleanup() (also safe after an error).
 * Errors: SOUK_EUNAVAIL (refused/unresolvable), SOUK_ETIMEOUT, SOUK_ELIMIT
 * (response too large), SOUK_EUPSTREAM (other transport failure). */
souk_err_t souk_http_fetch(souk_http_client_t *c, const souk_http_request_t *req,
                           souk_http_response_t *resp) SOUK_MUST_CHECK;
/* Performs n requests at once (libcurl's multi interface on the calling
 * thread: no thread per request) and returns when all have finished, each
 * within its own timeout. errs[i] and resps[i] are what souk_http_fetch
 * would have given for reqs[i]; every resps[i] is to be cleaned up. */
void souk_http_fetch_all(souk_http_client_t *c, const souk_http_request_t *reqs,
                         souk_http_response_t *resps, souk_err_t *errs, size_t n);
void souk_http_response_cleanup(souk_http_response_t *resp);
/* Copies the value of response header name (case-insensitive) into out;
 * returns false when absent. */
bool souk_http_response_header(const souk_http_response_t *resp, const char *name, char *out,
                               size_t cap);

/* ---- process lifecycle ---------------------------------------------------- */
/* Blocks SIGINT/SIGTERM (and ignores SIGPIPE) in the calling thread; call in
 * main before starting any thread so every thread inherits the mask. */
void souk_signals_block(void);
/* Waits for SIGINT or SIGTERM; returns the signal number. */
int souk_signals_wait(void);

#endif
