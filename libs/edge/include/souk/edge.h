/* souk/edge.h: a lean HTTP/1.1 reverse-proxy engine for the gateway. One
 * event-loop thread per core, each with its own SO_REUSEPORT listening
 * socket and an edge-triggered epoll whose registrations are made once per
 * socket and never changed; requests parsed with http-parser; keep-alive and
 * pipelined requests answered in order; idle upstream connections kept per
 * loop thread and per upstream, still registered, and reused.
 *
 * For every request a handler runs on the loop thread with a view of it and
 * decides at once: reply now, or forward to one of the configured upstreams.
 * The engine does the rest the way libs/http's server does: request id and
 * trace context (received or made, echoed, passed upstream), problem+json
 * for every error it answers itself (souk_http_problem_body), the access log
 * line and the http_requests_* metrics, and the request-smuggling defences.
 *
 * Bounded everything: the request line (414), header bytes and count (431),
 * the body (413; buffered, forwarded with Content-Length, chunked bodies
 * de-chunked), slow request heads and bodies (408), idle keep-alive, slow
 * readers of a response, upstream connect and exchange (504). Refused with
 * 400: duplicate or conflicting Content-Length, Transfer-Encoding with
 * Content-Length, any Transfer-Encoding but chunked, folded (obs-fold)
 * header lines, bytes not allowed in header names or values, NUL, bare CR or
 * LF. Methods outside GET HEAD POST PUT PATCH DELETE OPTIONS get 501.
 *
 * It deliberately does not do TLS, HTTP/2, upgrades (WebSocket), request
 * streaming (bodies are buffered) or anything blocking: a handler must not
 * wait on the network or a lock held across I/O. Work that blocks belongs on
 * another server the edge forwards to (the gateway's internal souk/http.h
 * server). */
#ifndef SOUK_EDGE_H
#define SOUK_EDGE_H

#include <souk/core.h>
#include <souk/obs.h>

typedef struct souk_edge souk_edge_t;
typedef struct souk_edge__exchange souk_edge__exchange_t;

/* A request header; both strings NUL-terminated, owned by the request. */
typedef struct {
    const char *name;
    const char *value;
} souk_edge_header_t;

/* The request a handler sees. Everything is owned by the request and valid
 * until the handler returns (arena allocations until the request ends). */
typedef struct souk_edge_req {
    souk_arena_t *arena; /* per-request allocations */
    const char *method;  /* one of the served set (static string) */
    const char *url;     /* request target as received: path and query */
    const char *path;    /* the target up to '?', not decoded */
    const char *query;   /* after '?', or NULL */
    const souk_edge_header_t *headers;
    size_t nheaders;
    const char *client_ip;  /* the peer's address */
    const char *request_id; /* X-Request-Id received (when usable) or made */
    souk_trace_t trace;     /* this request's span */
    const char *body;       /* the whole body (de-chunked), NULL when empty */
    size_t body_len;
    /* Set by the handler: the route label of metrics and logs, from a closed
     * set (a template, or a name such as "rate_limited"); "unmatched" until
     * set. Static or arena storage. */
    const char *route;
    souk_edge__exchange_t *x; /* private */
} souk_edge_req_t;

/* Decides what happens to req; must call exactly one of souk_edge_reply,
 * souk_edge_problem or souk_edge_forward before returning (a handler that
 * does not is answered 500). Runs on a loop thread: never blocks. */
typedef void (*souk_edge_handler_fn)(souk_edge_req_t *req, void *ud);

typedef struct {
    const char *name; /* the label in logs and metrics ("auth") */
    const char *host; /* an address or a name, resolved once at start */
    int port;
    /* The upstream logs and counts the requests it serves itself (the
     * process's own internal server): the edge writes no access line and
     * counts no http_requests_* for those it forwards there and gets an
     * answer for. Upstream failures are still the edge's. */
    bool accounted;
} souk_edge_upstream_t;

#define SOUK_EDGE_MAX_UPSTREAMS 16

typedef struct {
    const char *service;          /* service.name label of the metrics ("gateway") */
    const char *bind;             /* default "127.0.0.1" */
    int port;                     /* 0: an ephemeral port (souk_edge_port) */
    unsigned threads;             /* loop threads; 0: one per core */
    size_t body_limit;            /* default 1 MiB -> 413 */
    size_t url_limit;             /* request target bytes; default 8 KiB -> 414 */
    size_t header_limit;          /* bytes of all header lines; default 32 KiB -> 431 */
    unsigned max_headers;         /* default 100 -> 431 */
    unsigned read_timeout_ms;     /* a request's head and body; default 10000 -> 408 */
    unsigned idle_timeout_ms;     /* between keep-alive requests; default 60000 */
    unsigned send_timeout_ms;     /* a client that takes no byte this long is dropped; 60000 */
    unsigned upstream_timeout_ms; /* a whole upstream exchange; default 10000 -> 504 */
    unsigned connect_timeout_ms;  /* default 1000 -> 504 */
    unsigned pool_idle_ms;        /* pooled upstream connections closed after; default 30000 */
    unsigned drain_timeout_ms;    /* souk_edge_stop waits this long at most; default 10000 */
    const souk_edge_upstream_t *upstreams; /* copied; at most SOUK_EDGE_MAX_UPSTREAMS */
    size_t nupstreams;
    souk_edge_handler_fn handler; /* required */
    void *handler_ud;
    souk_metrics_t *metrics; /* required, borrowed: http_requests_total and friends */
    /* Optional, borrowed families: a counter labelled {upstream, outcome}
     * (outcome ok, 5xx, timeout, refused, error) and a histogram labelled
     * {upstream} of exchange seconds. */
    souk_metric_t *upstream_requests;
    souk_metric_t *upstream_seconds;
} souk_edge_config_t;

/* Resolves the upstreams, binds the listening sockets and starts the loop
 * threads. SOUK_EINVAL for a bad config or an upstream that does not
 * resolve, SOUK_EIO when the port cannot be bound (logged). On success
 * *out runs until souk_edge_stop(). */
souk_err_t souk_edge_start(const souk_edge_config_t *cfg, souk_edge_t **out) SOUK_MUST_CHECK;
/* The port the edge listens on. */
int souk_edge_port(const souk_edge_t *e);
/* Graceful stop: stops accepting, closes idle connections, lets requests in
 * flight finish (answered with Connection: close) for at most
 * drain_timeout_ms, then closes everything, joins the threads and frees e.
 * NULL ok. Not to be called from a handler. */
void souk_edge_stop(souk_edge_t *e);

/* ---- inside a handler ------------------------------------------------------ */

/* The value of the first header called name (case-insensitive), or NULL. */
const char *souk_edge_header(const souk_edge_req_t *req, const char *name);
/* The bearer token of the Authorization header, or NULL. */
const char *souk_edge_bearer(const souk_edge_req_t *req);
/* Adds a header to what the client gets, a reply or a forwarded response
 * (CORS, Retry-After). Copied. At most 32 per request; more are dropped. */
void souk_edge_set_header(souk_edge_req_t *req, const char *name, const char *value);
/* Replies status with body (copied; NULL for none) of content_type (NULL:
 * no Content-Type). */
void souk_edge_reply(souk_edge_req_t *req, int status, const char *content_type, const void *body,
                     size_t len);
/* Replies problem+json (souk_http_problem_body); 401 adds
 * WWW-Authenticate: Bearer. */
void souk_edge_problem(souk_edge_req_t *req, int status, const char *detail);
/* Forwards the request to upstreams[upstream] of the config: the target as
 * received, end-to-end headers (hop-by-hop ones dropped), X-Request-Id,
 * traceparent (this request's span), X-Forwarded-For (the client) and
 * X-Forwarded-Proto; the body with Content-Length. The response comes back
 * with its end-to-end headers plus X-Request-Id, traceparent and the
 * handler's own; failures become 502 (broken), 503 (refused; Retry-After)
 * or 504 (timed out). A request with an idempotent method is sent once more
 * on a fresh connection when a pooled connection turns out closed before any
 * byte of a response. */
void souk_edge_forward(souk_edge_req_t *req, size_t upstream);

#endif
